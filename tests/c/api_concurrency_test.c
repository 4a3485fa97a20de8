/*
 * C API under threads: several nodes in one process, and mccache_close()
 * while other threads keep calling in. Workers must only ever see OK,
 * NOTFOUND or CLOSED, once CLOSED always CLOSED, values taken before the
 * close stay readable, and every opaque_free runs exactly once. Run under
 * TSan and ASan in CI; a crash or a report is the failure.
 */
#include "harness.h"

#include <pthread.h>

#define N_WORKERS 4
#define N_KEYS 256
#define OPS_BEFORE_CLOSE 2000

static int g_change_calls; /* on_change registrations made (any result) */
static int g_change_frees; /* opaque_free calls seen */
static int g_cb_bad_rc;    /* unexpected codes seen inside callbacks */
static int g_stop;         /* set if workers never see the close: do not hang */

static void count_free(void *opaque) {
    (void)opaque;
    __atomic_fetch_add(&g_change_frees, 1, __ATOMIC_SEQ_CST);
}

/* Writes back into the cache from the loop thread, to mix re-entrant writes
 * into the close. */
static void rewrite_cb(const mccache_event_t *ev, void *opaque) {
    (void)opaque;
    if (ev->type != MCCACHE_EVENT_INSERT || ev->klen < 2 || memcmp(ev->key, "w-", 2) != 0) return;
    int rc = mccache_put(ev->cache, TH_STR("from-callback"), "x", 1, MCCACHE_TTL_NEVER);
    if (rc != MCCACHE_OK && rc != MCCACHE_ECLOSED) __atomic_fetch_add(&g_cb_bad_rc, 1, __ATOMIC_SEQ_CST);
}

struct worker {
    pthread_t thread;
    int id;
    mccache_t *node;
    mccache_cache_t *cache;
    uint32_t rng;
    int ops;            /* read by main with __atomic */
    int bad_rc;         /* a code outside OK/NOTFOUND/CLOSED */
    const char *bad_op; /* the call that returned it */
    int bad_code;
    int ok_after_closed;  /* a success after a CLOSED: close is not final */
    int held_value_bad;   /* a value taken before close changed or broke */
    int done;
};

static uint32_t next_rand(struct worker *w) {
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 17;
    w->rng ^= w->rng << 5;
    return w->rng;
}

/* Records rc; returns 1 if it was CLOSED. */
static int note(struct worker *w, int rc, const char *op, int *seen_closed) {
    if (rc != MCCACHE_OK && rc != MCCACHE_ENOTFOUND && rc != MCCACHE_ECLOSED) {
        if (w->bad_rc++ == 0) {
            w->bad_op = op;
            w->bad_code = rc;
        }
    }
    if (rc == MCCACHE_ECLOSED) *seen_closed = 1;
    else if (*seen_closed && rc == MCCACHE_OK) w->ok_after_closed++;
    return rc == MCCACHE_ECLOSED;
}

static void one_op(struct worker *w, int *closed, mccache_value_t **held, char *held_bytes,
                   size_t *held_len) {
    char key[16], val[48];
    int k = (int)(next_rand(w) % N_KEYS);
    int klen = snprintf(key, sizeof key, "w-%d", k);
    int vlen = snprintf(val, sizeof val, "value-%d-from-%d", k, w->id);
    mccache_value_t *v = NULL;
    uint64_t sum;
    size_t n;

    switch (next_rand(w) % 14) {
        case 0:
        case 1:
            note(w, mccache_put(w->cache, key, (size_t)klen, val, (size_t)vlen, MCCACHE_TTL_NEVER),
                 "put", closed);
            break;
        case 2:
        case 3: {
            int rc = mccache_get(w->cache, key, (size_t)klen, &v);
            note(w, rc, "get", closed);
            if (rc == MCCACHE_OK) {
                /* Keep the latest value, remembering its bytes, to check
                 * it survives the close untouched. */
                size_t len = 0;
                const void *data = mccache_value_data(v, &len);
                if (len > 48 || data == NULL) {
                    w->held_value_bad++;
                    mccache_value_free(v);
                } else {
                    mccache_value_free(*held);
                    *held = v;
                    memcpy(held_bytes, data, len);
                    *held_len = len;
                }
            }
            break;
        }
        case 4: {
            char buf[64];
            size_t len = sizeof buf;
            note(w, mccache_get_copy(w->cache, key, (size_t)klen, buf, &len), "get_copy", closed);
            break;
        }
        case 5:
            note(w, mccache_delete(w->cache, key, (size_t)klen), "delete", closed);
            break;
        case 6:
            note(w, mccache_contains(w->cache, key, (size_t)klen), "contains", closed);
            break;
        case 7:
            note(w, mccache_len(w->cache, &n), "len", closed);
            break;
        case 8: {
            mccache_metadata_t md;
            memset(&md, 0, sizeof md);
            md.struct_size = sizeof md;
            note(w, mccache_metadata(w->cache, key, (size_t)klen, &md), "metadata", closed);
            break;
        }
        case 9: {
            const void *keys[2] = {key, "w-0"};
            size_t klens[2] = {(size_t)klen, 3};
            const void *vals[2] = {val, "zero"};
            size_t vlens[2] = {(size_t)vlen, 4};
            mccache_value_t *values[2] = {NULL, NULL};
            if (next_rand(w) & 1) {
                note(w, mccache_put_batch(w->cache, 2, keys, klens, vals, vlens, 5000), "put_batch",
                     closed);
            } else {
                note(w, mccache_get_batch(w->cache, 2, keys, klens, values, NULL), "get_batch",
                     closed);
                mccache_value_free(values[0]);
                mccache_value_free(values[1]);
            }
            break;
        }
        case 10: {
            mccache_iter_t *it = NULL;
            int rc = mccache_iter_new(w->cache, &it);
            note(w, rc, "iter_new", closed);
            if (rc == MCCACHE_OK) {
                const void *ik;
                size_t ikl;
                for (int i = 0; i < 8; i++) {
                    mccache_value_t *iv = NULL;
                    rc = mccache_iter_next(it, &ik, &ikl, &iv);
                    mccache_value_free(iv);
                    if (rc != MCCACHE_OK) {
                        /* The end, or the node closed under the iterator. */
                        if (rc != MCCACHE_ENOTFOUND && rc != MCCACHE_ECLOSED) note(w, rc, "iter_next", closed);
                        break;
                    }
                }
                mccache_iter_free(it);
            }
            break;
        }
        case 11:
            if (next_rand(w) & 1) {
                note(w, mccache_checksum(w->cache, &sum), "checksum", closed);
            } else {
                note(w, mccache_key_checksum(w->cache, key, (size_t)klen, &sum), "key_checksum", closed);
            }
            break;
        case 12: {
            char *json = NULL;
            int rc = (next_rand(w) & 1) ? mccache_cache_metrics_json(w->cache, &json)
                                        : mccache_metrics_json(w->node, &json);
            note(w, rc, "metrics_json", closed);
            mccache_free(json);
            break;
        }
        case 13: {
            int rc;
            if (next_rand(w) & 1) {
                __atomic_fetch_add(&g_change_calls, 1, __ATOMIC_SEQ_CST);
                rc = mccache_on_change(w->cache, rewrite_cb, NULL, count_free);
                note(w, rc, "on_change", closed);
            } else {
                mccache_cache_t *c = NULL;
                rc = mccache_cache_open(w->node, "load", &c);
                note(w, rc, "cache_open", closed);
                if (rc == MCCACHE_OK && c != w->cache) w->bad_rc++;
            }
            break;
        }
    }
}

static void *worker_main(void *arg) {
    struct worker *w = (struct worker *)arg;
    int closed = 0;
    mccache_value_t *held = NULL;
    char held_bytes[48];
    size_t held_len = 0;
    int after = 0;
    /* Run until the close is seen, then a little more to check it is final. */
    while (after < 50 && !__atomic_load_n(&g_stop, __ATOMIC_SEQ_CST)) {
        one_op(w, &closed, &held, held_bytes, &held_len);
        __atomic_fetch_add(&w->ops, 1, __ATOMIC_SEQ_CST);
        if (closed) after++;
    }
    if (held != NULL) {
        if (!th_value_is(held, held_bytes, held_len)) w->held_value_bad++;
        mccache_value_free(held);
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static int all_done(struct worker *ws) {
    for (int i = 0; i < N_WORKERS; i++)
        if (!__atomic_load_n(&ws[i].done, __ATOMIC_SEQ_CST)) return 0;
    return 1;
}

static void *close_main(void *arg) {
    mccache_t *node = (mccache_t *)arg;
    return (void *)(intptr_t)mccache_close(node);
}

static int min_ops(struct worker *ws) {
    int m = -1;
    for (int i = 0; i < N_WORKERS; i++) {
        int ops = __atomic_load_n(&ws[i].ops, __ATOMIC_SEQ_CST);
        if (m < 0 || ops < m) m = ops;
    }
    return m;
}

static void close_under_load(int round) {
    const char *settings[] = {"daemon_sleep", "10ms", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *cache = th_open_cache(node, "load");
    REQUIRE(cache != NULL);
    __atomic_fetch_add(&g_change_calls, 1, __ATOMIC_SEQ_CST);
    CHECK_RC(mccache_on_change(cache, rewrite_cb, NULL, count_free), MCCACHE_OK);
    for (int k = 0; k < N_KEYS; k += 2) {
        char key[16];
        int klen = snprintf(key, sizeof key, "w-%d", k);
        /* Short TTLs too, so the housekeeper expires entries during the run. */
        CHECK_RC(mccache_put(cache, key, (size_t)klen, "seed", 4, (k % 4) ? MCCACHE_TTL_NEVER : 20),
                 MCCACHE_OK);
    }

    struct worker ws[N_WORKERS];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < N_WORKERS; i++) {
        ws[i].id = i;
        ws[i].node = node;
        ws[i].cache = cache;
        ws[i].rng = 0x9E3779B9u * (uint32_t)(i + 1) + (uint32_t)round;
        REQUIRE(pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) == 0);
    }

    WAIT_UNTIL(min_ops(ws) >= OPS_BEFORE_CLOSE, 30000);
    CHECK(min_ops(ws) >= OPS_BEFORE_CLOSE);

    /* Two closers race: exactly one wins. */
    pthread_t closers[2];
    int64_t start = th_mono_ms();
    REQUIRE(pthread_create(&closers[0], NULL, close_main, node) == 0);
    REQUIRE(pthread_create(&closers[1], NULL, close_main, node) == 0);
    void *r0, *r1;
    pthread_join(closers[0], &r0);
    pthread_join(closers[1], &r1);
    int64_t took = th_mono_ms() - start;
    int rc0 = (int)(intptr_t)r0, rc1 = (int)(intptr_t)r1;
    CHECK((rc0 == MCCACHE_OK && rc1 == MCCACHE_ECLOSED) ||
          (rc0 == MCCACHE_ECLOSED && rc1 == MCCACHE_OK));
    /* Bounded, even with calls in flight and sanitizers on. */
    CHECK(took < 10000);

    /* Workers stop on their own once they have seen the close. */
    WAIT_UNTIL(all_done(ws), 30000);
    CHECK(all_done(ws));
    __atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < N_WORKERS; i++) pthread_join(ws[i].thread, NULL);
    __atomic_store_n(&g_stop, 0, __ATOMIC_SEQ_CST);
    for (int i = 0; i < N_WORKERS; i++) {
        if (ws[i].bad_rc != 0)
            fprintf(stderr, "  worker %d: %d bad codes, first %s from %s\n", i, ws[i].bad_rc,
                    mccache_err_name(ws[i].bad_code), ws[i].bad_op ? ws[i].bad_op : "?");
        CHECK(ws[i].bad_rc == 0);
        CHECK(ws[i].ok_after_closed == 0);
        CHECK(ws[i].held_value_bad == 0);
    }

    /* Every registration, replaced, failed or live at close, freed once. */
    CHECK(__atomic_load_n(&g_change_frees, __ATOMIC_SEQ_CST) ==
          __atomic_load_n(&g_change_calls, __ATOMIC_SEQ_CST));
    CHECK(__atomic_load_n(&g_cb_bad_rc, __ATOMIC_SEQ_CST) == 0);
}

static void test_several_nodes(void) {
    /* Distinct cluster names keep them apart once replication exists. */
    const char *names[3] = {"ctest-a", "ctest-b", "ctest-c"};
    mccache_t *nodes[3];
    mccache_cache_t *caches[3];
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        const char *settings[] = {"cluster_name", names[i], NULL};
        nodes[i] = th_open_node(settings);
        REQUIRE(nodes[i] != NULL);
        caches[i] = th_open_cache(nodes[i], "same-name");
        REQUIRE(caches[i] != NULL);
        CHECK_RC(mccache_node_id(nodes[i], &ids[i]), MCCACHE_OK);
    }
    CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    CHECK(caches[0] != caches[1] && caches[1] != caches[2]);

    for (int i = 0; i < 3; i++)
        CHECK_RC(mccache_put(caches[i], TH_STR("who"), names[i], strlen(names[i]), MCCACHE_TTL_NEVER),
                 MCCACHE_OK);
    for (int i = 0; i < 3; i++) {
        mccache_value_t *v = NULL;
        CHECK_RC(mccache_get(caches[i], TH_STR("who"), &v), MCCACHE_OK);
        CHECK(th_value_is(v, names[i], strlen(names[i])));
        mccache_value_free(v);
        mccache_metadata_t md;
        memset(&md, 0, sizeof md);
        md.struct_size = sizeof md;
        CHECK_RC(mccache_metadata(caches[i], TH_STR("who"), &md), MCCACHE_OK);
        CHECK(md.version_node == ids[i]);
    }
    /* Close in an order other than the opening one. */
    CHECK_RC(mccache_close(nodes[1]), MCCACHE_OK);
    CHECK_RC(mccache_contains(caches[0], TH_STR("who")), MCCACHE_OK);
    CHECK_RC(mccache_contains(caches[2], TH_STR("who")), MCCACHE_OK);
    CHECK_RC(mccache_close(nodes[2]), MCCACHE_OK);
    CHECK_RC(mccache_close(nodes[0]), MCCACHE_OK);
}

struct opener {
    pthread_t thread;
    pthread_barrier_t *start;
    mccache_t *node;
    mccache_cache_t *got;
    int rc;
};

static void *opener_main(void *arg) {
    struct opener *o = (struct opener *)arg;
    pthread_barrier_wait(o->start);
    o->rc = mccache_cache_open(o->node, "raced", &o->got);
    return NULL;
}

/* Concurrent opens of one name yield one cache. */
static void test_concurrent_cache_open(void) {
    mccache_t *node = th_open_node(NULL);
    REQUIRE(node != NULL);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N_WORKERS);
    struct opener os[N_WORKERS];
    memset(os, 0, sizeof os);
    for (int i = 0; i < N_WORKERS; i++) {
        os[i].start = &start;
        os[i].node = node;
        REQUIRE(pthread_create(&os[i].thread, NULL, opener_main, &os[i]) == 0);
    }
    for (int i = 0; i < N_WORKERS; i++) pthread_join(os[i].thread, NULL);
    for (int i = 0; i < N_WORKERS; i++) {
        CHECK_RC(os[i].rc, MCCACHE_OK);
        CHECK(os[i].got == os[0].got);
    }
    pthread_barrier_destroy(&start);
    CHECK_RC(mccache_close(node), MCCACHE_OK);
}

struct sharer {
    pthread_t thread;
    mccache_value_t *value;
    int bad;
};

static void *sharer_main(void *arg) {
    struct sharer *s = (struct sharer *)arg;
    for (int i = 0; i < 2000; i++) {
        mccache_value_t *mine = mccache_value_ref(s->value);
        if (!th_value_is(mine, TH_STR("shared bytes"))) s->bad++;
        mccache_value_free(mine);
    }
    return NULL;
}

/* One value handle, referenced and released from many threads at once while
 * writers replace and delete its key. */
static void test_shared_value_refcount(void) {
    mccache_t *node = th_open_node(NULL);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "shared");
    REQUIRE(c != NULL);
    CHECK_RC(mccache_put(c, TH_STR("k"), TH_STR("shared bytes"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, TH_STR("k"), &v), MCCACHE_OK);
    REQUIRE(v != NULL);

    struct sharer ss[N_WORKERS];
    memset(ss, 0, sizeof ss);
    for (int i = 0; i < N_WORKERS; i++) {
        ss[i].value = v;
        REQUIRE(pthread_create(&ss[i].thread, NULL, sharer_main, &ss[i]) == 0);
    }
    for (int i = 0; i < 200; i++) {
        CHECK_RC(mccache_put(c, TH_STR("k"), TH_STR("replaced"), MCCACHE_TTL_NEVER), MCCACHE_OK);
        CHECK_RC(mccache_delete(c, TH_STR("k")), MCCACHE_OK);
    }
    for (int i = 0; i < N_WORKERS; i++) {
        pthread_join(ss[i].thread, NULL);
        CHECK(ss[i].bad == 0);
    }
    CHECK(th_value_is(v, TH_STR("shared bytes")));
    CHECK_RC(mccache_close(node), MCCACHE_OK);
    CHECK(th_value_is(v, TH_STR("shared bytes")));
    mccache_value_free(v);
}

struct hammer {
    pthread_t thread;
    pthread_barrier_t *start;
    mccache_cache_t *cache;
    int id;
    int bad_put;
    int bad_delete;
    int first_bad;
};

static void *hammer_main(void *arg) {
    struct hammer *h = (struct hammer *)arg;
    char val[16];
    int vlen = snprintf(val, sizeof val, "writer-%d", h->id);
    pthread_barrier_wait(h->start);
    for (int i = 0; i < 20000; i++) {
        int rc = mccache_put(h->cache, TH_STR("hot"), val, (size_t)vlen, MCCACHE_TTL_NEVER);
        if (rc != MCCACHE_OK && h->bad_put++ == 0) h->first_bad = rc;
        if (i % 8 == 0) {
            rc = mccache_delete(h->cache, TH_STR("hot"));
            if (rc != MCCACHE_OK && rc != MCCACHE_ENOTFOUND && h->bad_delete++ == 0)
                h->first_bad = rc;
        }
    }
    return NULL;
}

/* Local writers racing on one key: each write is atomic and the newest
 * version wins, but no local put or delete may fail because another
 * thread's write got there first. */
static void test_same_key_writers(void) {
    mccache_t *node = th_open_node(NULL);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "hot");
    REQUIRE(c != NULL);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N_WORKERS);
    struct hammer hs[N_WORKERS];
    memset(hs, 0, sizeof hs);
    for (int i = 0; i < N_WORKERS; i++) {
        hs[i].start = &start;
        hs[i].cache = c;
        hs[i].id = i;
        REQUIRE(pthread_create(&hs[i].thread, NULL, hammer_main, &hs[i]) == 0);
    }
    for (int i = 0; i < N_WORKERS; i++) pthread_join(hs[i].thread, NULL);
    for (int i = 0; i < N_WORKERS; i++) {
        if (hs[i].bad_put || hs[i].bad_delete)
            fprintf(stderr, "  writer %d: %d puts and %d deletes failed, first with %s\n", i,
                    hs[i].bad_put, hs[i].bad_delete, mccache_err_name(hs[i].first_bad));
        CHECK(hs[i].bad_put == 0);
        CHECK(hs[i].bad_delete == 0);
    }
    pthread_barrier_destroy(&start);

    /* Whatever won, the survivor is one writer's whole value. */
    mccache_value_t *v = NULL;
    int rc = mccache_get(c, TH_STR("hot"), &v);
    CHECK(rc == MCCACHE_OK || rc == MCCACHE_ENOTFOUND);
    if (rc == MCCACHE_OK) {
        size_t len = 0;
        const char *data = (const char *)mccache_value_data(v, &len);
        CHECK(len == 8 && memcmp(data, "writer-", 7) == 0);
        mccache_value_free(v);
    }
    CHECK_RC(mccache_close(node), MCCACHE_OK);
}

/* A callback that tries to close its own node while another thread is
 * closing it: the callback must get EBUSY or CLOSED, and the real close must
 * finish (not wait for a callback that waits for it). */
struct self_closer {
    mccache_t *node;
    int bad_rc;
    int calls;
    int entered;
};

static void close_from_callback(const mccache_event_t *ev, void *opaque) {
    (void)ev;
    struct self_closer *sc = (struct self_closer *)opaque;
    if (__atomic_exchange_n(&sc->entered, 1, __ATOMIC_SEQ_CST) == 0) {
        /* First call: hold the loop until the other thread's close has begun
         * (calls start answering CLOSED), so ours lands in the middle of it. */
        uint64_t id;
        int64_t deadline = th_mono_ms() + TH_DEADLINE_MS;
        while (mccache_node_id(sc->node, &id) != MCCACHE_ECLOSED && th_mono_ms() < deadline)
            th_sleep_ms(1);
    }
    int rc = mccache_close(sc->node);
    if (rc != MCCACHE_EBUSY && rc != MCCACHE_ECLOSED) __atomic_fetch_add(&sc->bad_rc, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&sc->calls, 1, __ATOMIC_SEQ_CST);
}

struct closer_arg {
    mccache_t *node;
    int rc;
    int done;
};

static void *closer_main(void *arg) {
    struct closer_arg *ca = (struct closer_arg *)arg;
    int rc = mccache_close(ca->node);
    __atomic_store_n(&ca->rc, rc, __ATOMIC_SEQ_CST);
    __atomic_store_n(&ca->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_close_while_callback_closes(void) {
    for (int round = 0; round < 3; round++) {
        mccache_t *node = th_open_node(NULL);
        REQUIRE(node != NULL);
        mccache_cache_t *c = th_open_cache(node, "self-close");
        REQUIRE(c != NULL);
        static struct self_closer sc;
        memset(&sc, 0, sizeof sc);
        sc.node = node;
        CHECK_RC(mccache_on_change(c, close_from_callback, &sc, NULL), MCCACHE_OK);
        for (int i = 0; i < 20; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            CHECK_RC(mccache_put(c, key, strlen(key), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
        }
        WAIT_UNTIL(__atomic_load_n(&sc.entered, __ATOMIC_SEQ_CST), TH_DEADLINE_MS);
        CHECK(__atomic_load_n(&sc.entered, __ATOMIC_SEQ_CST));

        static struct closer_arg ca;
        memset(&ca, 0, sizeof ca);
        ca.node = node;
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, closer_main, &ca) == 0);
        WAIT_UNTIL(__atomic_load_n(&ca.done, __ATOMIC_SEQ_CST), 10000);
        if (!__atomic_load_n(&ca.done, __ATOMIC_SEQ_CST)) {
            CHECK(!"mccache_close deadlocked with a callback calling mccache_close");
            /* The closer is stuck for good: report and leave. */
            th_finish();
            exit(1);
        }
        pthread_join(t, NULL);
        CHECK_RC(ca.rc, MCCACHE_OK);
        CHECK(__atomic_load_n(&sc.bad_rc, __ATOMIC_SEQ_CST) == 0);
    }
}

int main(void) {
    test_several_nodes();
    test_concurrent_cache_open();
    test_shared_value_refcount();
    test_same_key_writers();
    test_close_while_callback_closes();
    for (int round = 0; round < 5; round++) close_under_load(round);
    return th_finish();
}
