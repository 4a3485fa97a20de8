/*
 * C API: change callbacks. Events arrive on the node's loop thread, in
 * order per key, with the documented fields; opaque_free runs exactly once
 * (on replacement, unregistration, failure or close); a callback may call
 * the API, but not close or housekeep its own node; a slow callback makes
 * the queue drop and count events, never block writers.
 */
#include "harness.h"

#include <pthread.h>

#include <cjson/cJSON.h>

#define MAX_EVENTS 256

struct event_copy {
    int32_t type;
    int32_t origin;
    uint32_t struct_size;
    char key[32];
    size_t klen;
    int has_value;
    char value[32];
    size_t vlen;
    uint64_t hlc;
    uint64_t node;
    int64_t last_lookup_ms;
    int64_t time_ms;
    mccache_cache_t *cache;
    int on_main_thread;
};

/* Everything the callback sees, guarded by one mutex: it runs on the loop
 * thread while the main thread reads. */
struct recorder {
    pthread_mutex_t mu;
    struct event_copy ev[MAX_EVENTS];
    int n;
    int frees;
    int calls_after_free;
    int calls_after_close;
    int closed; /* set by the test once mccache_close() returned */
    /* Re-entrancy probe: what the API returned when called from the callback. */
    mccache_t *node;
    int reentrant_close_rc;
    int reentrant_housekeep_rc;
    int reentrant_put_rc;
    int reentrant_get_rc;
    int reentered;
    mccache_value_t *kept;
};

static pthread_t g_main_thread;

static void recorder_init(struct recorder *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
}

static void recorder_destroy(struct recorder *r) {
    mccache_value_free(r->kept);
    pthread_mutex_destroy(&r->mu);
}

static int recorder_count(struct recorder *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int recorder_frees(struct recorder *r) {
    pthread_mutex_lock(&r->mu);
    int n = r->frees;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Index of the first event for `key` of `type` at or after `from`, or -1. */
static int find_event(struct recorder *r, int from, const char *key, int type) {
    int found = -1;
    pthread_mutex_lock(&r->mu);
    for (int i = from; i < r->n && found < 0; i++) {
        if (r->ev[i].type == type && r->ev[i].klen == strlen(key) &&
            memcmp(r->ev[i].key, key, r->ev[i].klen) == 0)
            found = i;
    }
    pthread_mutex_unlock(&r->mu);
    return found;
}

static int count_key_events(struct recorder *r, const char *key) {
    int n = 0;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->n; i++)
        if (r->ev[i].klen == strlen(key) && memcmp(r->ev[i].key, key, r->ev[i].klen) == 0) n++;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static struct event_copy event_at(struct recorder *r, int i) {
    pthread_mutex_lock(&r->mu);
    struct event_copy e = r->ev[i];
    pthread_mutex_unlock(&r->mu);
    return e;
}

static void on_change(const mccache_event_t *ev, void *opaque) {
    struct recorder *r = (struct recorder *)opaque;
    int reenter = ev->klen == 7 && memcmp(ev->key, "reenter", 7) == 0 &&
                  ev->type == MCCACHE_EVENT_INSERT;
    int keep = ev->klen == 4 && memcmp(ev->key, "keep", 4) == 0 &&
               ev->type == MCCACHE_EVENT_INSERT;

    pthread_mutex_lock(&r->mu);
    if (r->frees > 0) r->calls_after_free++;
    if (r->closed) r->calls_after_close++;
    if (r->n < MAX_EVENTS) {
        struct event_copy *e = &r->ev[r->n++];
        memset(e, 0, sizeof *e);
        e->type = ev->type;
        e->origin = ev->origin;
        e->struct_size = ev->struct_size;
        e->klen = ev->klen;
        memcpy(e->key, ev->key, ev->klen < sizeof e->key ? ev->klen : sizeof e->key);
        if (ev->value != NULL) {
            const void *data = mccache_value_data(ev->value, &e->vlen);
            e->has_value = 1;
            memcpy(e->value, data, e->vlen < sizeof e->value ? e->vlen : sizeof e->value);
        }
        e->hlc = ev->version_hlc;
        e->node = ev->version_node;
        e->last_lookup_ms = ev->last_lookup_ms;
        e->time_ms = ev->time_ms;
        e->cache = ev->cache;
        e->on_main_thread = pthread_equal(pthread_self(), g_main_thread);
    }
    if (keep && r->kept == NULL) r->kept = mccache_value_ref(ev->value);
    mccache_t *node = r->node;
    pthread_mutex_unlock(&r->mu);

    if (reenter && node != NULL) {
        /* Outside our lock: these calls may take the library's. */
        int close_rc = mccache_close(node);
        int hk_rc = mccache_housekeep(node);
        int put_rc = mccache_put(ev->cache, TH_STR("written-by-callback"), "cb", 2,
                                 MCCACHE_TTL_NEVER);
        mccache_value_t *v = NULL;
        int get_rc = mccache_get(ev->cache, TH_STR("reenter"), &v);
        mccache_value_free(v);
        pthread_mutex_lock(&r->mu);
        r->reentrant_close_rc = close_rc;
        r->reentrant_housekeep_rc = hk_rc;
        r->reentrant_put_rc = put_rc;
        r->reentrant_get_rc = get_rc;
        r->reentered = 1;
        pthread_mutex_unlock(&r->mu);
    }
}

static void recorder_free(void *opaque) {
    struct recorder *r = (struct recorder *)opaque;
    pthread_mutex_lock(&r->mu);
    r->frees++;
    pthread_mutex_unlock(&r->mu);
}

static void mark_closed(struct recorder *r) {
    pthread_mutex_lock(&r->mu);
    r->closed = 1;
    pthread_mutex_unlock(&r->mu);
}

static void test_insert_update_delete(mccache_t *node, uint64_t node_id) {
    struct recorder r;
    recorder_init(&r);
    mccache_cache_t *c = th_open_cache(node, "events");
    REQUIRE(c != NULL);
    CHECK_RC(mccache_on_change(c, on_change, &r, recorder_free), MCCACHE_OK);

    int64_t before = th_now_ms();
    CHECK_RC(mccache_put(c, TH_STR("k1"), TH_STR("v1"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("k1"), TH_STR("v2"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_delete(c, TH_STR("k1")), MCCACHE_OK);
    WAIT_UNTIL(recorder_count(&r) >= 3, TH_DEADLINE_MS);
    REQUIRE(recorder_count(&r) >= 3);
    int64_t after = th_now_ms();

    /* In order for one key: insert, update, delete. */
    struct event_copy ins = event_at(&r, 0), upd = event_at(&r, 1), del = event_at(&r, 2);
    CHECK(ins.type == MCCACHE_EVENT_INSERT);
    CHECK(upd.type == MCCACHE_EVENT_UPDATE);
    CHECK(del.type == MCCACHE_EVENT_DELETE);
    const struct event_copy *all[3] = {&ins, &upd, &del};
    for (int i = 0; i < 3; i++) {
        const struct event_copy *e = all[i];
        CHECK(e->origin == MCCACHE_ORIGIN_LOCAL);
        CHECK(e->struct_size >= sizeof(mccache_event_t));
        CHECK(e->klen == 2 && memcmp(e->key, "k1", 2) == 0);
        CHECK(e->cache == c);
        CHECK(e->node == node_id);
        /* Event times come from the library's coarse millisecond clock. */
        CHECK(e->time_ms >= before - 100 && e->time_ms <= after + 1);
        CHECK(!e->on_main_thread);
    }
    CHECK(ins.has_value && ins.vlen == 2 && memcmp(ins.value, "v1", 2) == 0);
    CHECK(upd.has_value && upd.vlen == 2 && memcmp(upd.value, "v2", 2) == 0);
    /* A delete carries the old value, or none. */
    CHECK(!del.has_value || (del.vlen == 2 && memcmp(del.value, "v2", 2) == 0));
    CHECK(ins.hlc < upd.hlc && upd.hlc < del.hlc);
    CHECK(ins.last_lookup_ms == 0);

    /* last_lookup_ms reports the get that came before the change. */
    CHECK_RC(mccache_put(c, TH_STR("looked"), TH_STR("a"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    int64_t t_get = th_now_ms();
    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, TH_STR("looked"), &v), MCCACHE_OK);
    mccache_value_free(v);
    CHECK_RC(mccache_put(c, TH_STR("looked"), TH_STR("b"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(find_event(&r, 0, "looked", MCCACHE_EVENT_UPDATE) >= 0, TH_DEADLINE_MS);
    int i = find_event(&r, 0, "looked", MCCACHE_EVENT_UPDATE);
    CHECK(i >= 0);
    if (i >= 0) {
        struct event_copy e = event_at(&r, i);
        CHECK(e.last_lookup_ms >= t_get - TH_CLOCK_SLACK_MS && e.last_lookup_ms <= th_now_ms() + 1);
    }

    /* A clear reports a delete per entry. */
    CHECK_RC(mccache_put(c, TH_STR("c1"), TH_STR("x"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("c2"), TH_STR("y"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_clear(c), MCCACHE_OK);
    WAIT_UNTIL(find_event(&r, 0, "c1", MCCACHE_EVENT_DELETE) >= 0 &&
                   find_event(&r, 0, "c2", MCCACHE_EVENT_DELETE) >= 0 &&
                   find_event(&r, 0, "looked", MCCACHE_EVENT_DELETE) >= 0,
               TH_DEADLINE_MS);
    CHECK(find_event(&r, 0, "c1", MCCACHE_EVENT_DELETE) >= 0);
    CHECK(find_event(&r, 0, "c2", MCCACHE_EVENT_DELETE) >= 0);
    CHECK(find_event(&r, 0, "looked", MCCACHE_EVENT_DELETE) >= 0);

    /* Expiry, reclaimed by the housekeeper with nobody reading the key. */
    CHECK_RC(mccache_put(c, TH_STR("brief"), TH_STR("z"), 30), MCCACHE_OK);
    WAIT_UNTIL(find_event(&r, 0, "brief", MCCACHE_EVENT_EXPIRE) >= 0, TH_DEADLINE_MS);
    CHECK(find_event(&r, 0, "brief", MCCACHE_EVENT_EXPIRE) >= 0);

    /* Failed writes report nothing: check after a later write's event. */
    CHECK_RC(mccache_put(c, TH_STR("bad"), "v", 1, -5), MCCACHE_EINVAL);
    CHECK_RC(mccache_put(c, TH_STR("sentinel"), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(find_event(&r, 0, "sentinel", MCCACHE_EVENT_INSERT) >= 0, TH_DEADLINE_MS);
    CHECK(find_event(&r, 0, "sentinel", MCCACHE_EVENT_INSERT) >= 0);
    CHECK(count_key_events(&r, "bad") == 0);

    /* Unregistering frees opaque once, after the last call. */
    CHECK_RC(mccache_on_change(c, NULL, NULL, NULL), MCCACHE_OK);
    WAIT_UNTIL(recorder_frees(&r) == 1, TH_DEADLINE_MS);
    CHECK(recorder_frees(&r) == 1);
    CHECK_RC(mccache_put(c, TH_STR("unheard"), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_housekeep(node), MCCACHE_OK);
    pthread_mutex_lock(&r.mu);
    CHECK(r.calls_after_free == 0);
    pthread_mutex_unlock(&r.mu);
    recorder_destroy(&r);
}

static void test_evict_event(mccache_t *node) {
    struct recorder r;
    recorder_init(&r);
    mccache_cache_t *c = th_open_cache(node, "tiny");
    REQUIRE(c != NULL);
    CHECK_RC(mccache_on_change(c, on_change, &r, recorder_free), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("e1"), "1", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("e2"), "2", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("e3"), "3", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(find_event(&r, 0, "e1", MCCACHE_EVENT_EVICT) >= 0, TH_DEADLINE_MS);
    CHECK(find_event(&r, 0, "e1", MCCACHE_EVENT_EVICT) >= 0);
    CHECK_RC(mccache_contains(c, TH_STR("e1")), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_on_change(c, NULL, NULL, NULL), MCCACHE_OK);
    WAIT_UNTIL(recorder_frees(&r) == 1, TH_DEADLINE_MS);
    CHECK(recorder_frees(&r) == 1);
    recorder_destroy(&r);
}

static void test_replacement_and_close(void) {
    const char *settings[] = {"daemon_sleep", "20ms", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "replace");
    REQUIRE(c != NULL);

    struct recorder a, b, last;
    recorder_init(&a);
    recorder_init(&b);
    recorder_init(&last);

    CHECK_RC(mccache_on_change(c, on_change, &a, recorder_free), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("first"), "1", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(recorder_count(&a) >= 1, TH_DEADLINE_MS);
    CHECK(recorder_count(&a) == 1);

    /* Replacing frees the old opaque once; new events go to the new one only. */
    CHECK_RC(mccache_on_change(c, on_change, &b, recorder_free), MCCACHE_OK);
    WAIT_UNTIL(recorder_frees(&a) == 1, TH_DEADLINE_MS);
    CHECK(recorder_frees(&a) == 1);
    CHECK_RC(mccache_put(c, TH_STR("second"), "2", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(find_event(&b, 0, "second", MCCACHE_EVENT_INSERT) >= 0, TH_DEADLINE_MS);
    CHECK(find_event(&b, 0, "second", MCCACHE_EVENT_INSERT) >= 0);
    CHECK(find_event(&a, 0, "second", MCCACHE_EVENT_INSERT) < 0);

    /* A NULL opaque_free is allowed. */
    CHECK_RC(mccache_on_change(c, on_change, &last, NULL), MCCACHE_OK);
    WAIT_UNTIL(recorder_frees(&b) == 1, TH_DEADLINE_MS);
    CHECK(recorder_frees(&b) == 1);
    CHECK_RC(mccache_on_change(c, on_change, &last, recorder_free), MCCACHE_OK);
    CHECK(recorder_frees(&last) == 0);

    /* Keep a value handed to a callback past the callback. */
    CHECK_RC(mccache_put(c, TH_STR("keep"), TH_STR("kept value"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(find_event(&last, 0, "keep", MCCACHE_EVENT_INSERT) >= 0, TH_DEADLINE_MS);
    CHECK_RC(mccache_delete(c, TH_STR("keep")), MCCACHE_OK);

    /* A flood of events pending at close: close drops them, frees opaque
     * exactly once before it returns, and no callback runs afterwards. */
    for (int i = 0; i < 2000; i++) {
        char key[16];
        snprintf(key, sizeof key, "flood-%d", i);
        CHECK_RC(mccache_put(c, key, strlen(key), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    CHECK_RC(mccache_close(node), MCCACHE_OK);
    mark_closed(&last);
    CHECK(recorder_frees(&last) == 1);
    CHECK(recorder_frees(&a) == 1);
    CHECK(recorder_frees(&b) == 1);

    pthread_mutex_lock(&last.mu);
    CHECK(last.kept != NULL && th_value_is(last.kept, TH_STR("kept value")));
    pthread_mutex_unlock(&last.mu);

    /* Nothing more may happen after close returned: give the (joined) loop
     * no chance to prove otherwise by doing another round of public calls. */
    mccache_cache_t *again = NULL;
    CHECK_RC(mccache_cache_open(node, "replace", &again), MCCACHE_ECLOSED);
    pthread_mutex_lock(&last.mu);
    CHECK(last.calls_after_close == 0);
    CHECK(last.calls_after_free == 0);
    pthread_mutex_unlock(&last.mu);
    pthread_mutex_lock(&a.mu);
    CHECK(a.calls_after_free == 0);
    pthread_mutex_unlock(&a.mu);
    pthread_mutex_lock(&b.mu);
    CHECK(b.calls_after_free == 0);
    pthread_mutex_unlock(&b.mu);

    recorder_destroy(&a);
    recorder_destroy(&b);
    recorder_destroy(&last);
}

static void test_reentrancy(void) {
    mccache_t *node = th_open_node(NULL);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "reentrant");
    REQUIRE(c != NULL);
    struct recorder r;
    recorder_init(&r);
    r.node = node;
    CHECK_RC(mccache_on_change(c, on_change, &r, recorder_free), MCCACHE_OK);

    CHECK_RC(mccache_put(c, TH_STR("reenter"), "x", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(find_event(&r, 0, "written-by-callback", MCCACHE_EVENT_INSERT) >= 0,
               TH_DEADLINE_MS);
    CHECK(find_event(&r, 0, "written-by-callback", MCCACHE_EVENT_INSERT) >= 0);
    pthread_mutex_lock(&r.mu);
    CHECK(r.reentered);
    CHECK_RC(r.reentrant_close_rc, MCCACHE_EBUSY);
    CHECK_RC(r.reentrant_housekeep_rc, MCCACHE_EBUSY);
    CHECK_RC(r.reentrant_put_rc, MCCACHE_OK);
    CHECK_RC(r.reentrant_get_rc, MCCACHE_OK);
    pthread_mutex_unlock(&r.mu);

    /* The node survived its callback's attempt to close it. */
    CHECK_RC(mccache_contains(c, TH_STR("written-by-callback")), MCCACHE_OK);
    CHECK_RC(mccache_close(node), MCCACHE_OK);
    CHECK(recorder_frees(&r) == 1);
    recorder_destroy(&r);
}

/* callback_win: only keys looked up within the window are reported. */
static void test_lookup_window(void) {
    const char *settings[] = {"callback_win", "60s", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "window");
    REQUIRE(c != NULL);
    struct recorder r;
    recorder_init(&r);
    CHECK_RC(mccache_on_change(c, on_change, &r, recorder_free), MCCACHE_OK);

    mccache_value_t *v = NULL;
    CHECK_RC(mccache_put(c, TH_STR("seen"), "1", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("unseen"), "1", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_get(c, TH_STR("seen"), &v), MCCACHE_OK);
    mccache_value_free(v);
    CHECK_RC(mccache_put(c, TH_STR("unseen"), "2", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("seen"), "2", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(find_event(&r, 0, "seen", MCCACHE_EVENT_UPDATE) >= 0, TH_DEADLINE_MS);
    CHECK(find_event(&r, 0, "seen", MCCACHE_EVENT_UPDATE) >= 0);
    /* Events are delivered in order, and the unseen key's update came first. */
    CHECK(count_key_events(&r, "unseen") == 0);
    CHECK(find_event(&r, 0, "seen", MCCACHE_EVENT_INSERT) < 0);

    CHECK_RC(mccache_close(node), MCCACHE_OK);
    CHECK(recorder_frees(&r) == 1);
    recorder_destroy(&r);
}

/* A slow callback: the queue holds event_queue_max events, the rest are
 * dropped and counted, and nothing blocks the writers. */
struct slow {
    int entered;
    int release;
    int calls;
};

static void slow_cb(const mccache_event_t *ev, void *opaque) {
    (void)ev;
    struct slow *s = (struct slow *)opaque;
    __atomic_fetch_add(&s->calls, 1, __ATOMIC_SEQ_CST);
    if (__atomic_exchange_n(&s->entered, 1, __ATOMIC_SEQ_CST) == 0) {
        int64_t deadline = th_mono_ms() + TH_DEADLINE_MS;
        while (!__atomic_load_n(&s->release, __ATOMIC_SEQ_CST) && th_mono_ms() < deadline)
            th_sleep_ms(1);
    }
}

static double node_counter(mccache_t *node, const char *name) {
    char *json = NULL;
    double out = -1;
    if (mccache_metrics_json(node, &json) != MCCACHE_OK || json == NULL) return -1;
    cJSON *m = cJSON_Parse(json);
    mccache_free(json);
    const cJSON *item =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "node"), name);
    if (cJSON_IsNumber(item)) out = item->valuedouble;
    cJSON_Delete(m);
    return out;
}

static void test_queue_overflow(void) {
    const char *settings[] = {"event_queue_max", "16", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "slow");
    REQUIRE(c != NULL);
    static struct slow s;
    memset(&s, 0, sizeof s);
    CHECK_RC(mccache_on_change(c, slow_cb, &s, NULL), MCCACHE_OK);

    CHECK_RC(mccache_put(c, TH_STR("first"), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    WAIT_UNTIL(__atomic_load_n(&s.entered, __ATOMIC_SEQ_CST), TH_DEADLINE_MS);
    CHECK(__atomic_load_n(&s.entered, __ATOMIC_SEQ_CST));
    int64_t start = th_mono_ms();
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        CHECK_RC(mccache_put(c, key, strlen(key), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    /* The writers did not wait for the callback. */
    CHECK(th_mono_ms() - start < TH_DEADLINE_MS / 2);
    CHECK(node_counter(node, "events_dropped") >= 100 - 16);
    __atomic_store_n(&s.release, 1, __ATOMIC_SEQ_CST);

    WAIT_UNTIL(node_counter(node, "events_delivered") == node_counter(node, "events_queued"),
               TH_DEADLINE_MS);
    double queued = node_counter(node, "events_queued");
    double dropped = node_counter(node, "events_dropped");
    CHECK(node_counter(node, "events_delivered") == queued);
    CHECK(queued + dropped == 101);
    CHECK(queued <= 17);
    CHECK(__atomic_load_n(&s.calls, __ATOMIC_SEQ_CST) == (int)queued);
    CHECK_RC(mccache_close(node), MCCACHE_OK);
}

int main(void) {
    g_main_thread = pthread_self();

    /* A fast housekeeper, so expiry events come quickly; one shard, so the
     * eviction order is exact. */
    const char *settings[] = {"daemon_sleep", "20ms", "tiny.cache_max", "2", "tiny.eviction_policy", "lru", "store_shards", "1", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    uint64_t node_id = 0;
    CHECK_RC(mccache_node_id(node, &node_id), MCCACHE_OK);

    test_insert_update_delete(node, node_id);
    test_evict_event(node);
    CHECK_RC(mccache_close(node), MCCACHE_OK);

    test_replacement_and_close();
    test_reentrancy();
    test_lookup_window();
    test_queue_overflow();
    return th_finish();
}
