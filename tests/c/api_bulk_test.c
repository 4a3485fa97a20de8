/*
 * C API: batch get/put, iteration, checksums and metrics.
 */
#include "harness.h"

#include <cjson/cJSON.h>

#define N_ITER 100

static void key_of(char *buf, size_t size, const char *prefix, int i) {
    snprintf(buf, size, "%s-%03d", prefix, i);
}

static void test_put_batch(mccache_cache_t *c) {
    const void *keys[4] = {"b0", "b1", "b2", "b3"};
    size_t klens[4] = {2, 2, 2, 2};
    const void *vals[4] = {"zero", "one", NULL, "three"};
    size_t vlens[4] = {4, 3, 0, 5};

    CHECK_RC(mccache_put_batch(c, 0, keys, klens, vals, vlens, 0), MCCACHE_OK);
    CHECK_RC(mccache_put_batch(c, 4, keys, klens, vals, vlens, 60000), MCCACHE_OK);
    mccache_value_t *v = NULL;
    for (int i = 0; i < 4; i++) {
        CHECK_RC(mccache_get(c, keys[i], klens[i], &v), MCCACHE_OK);
        CHECK(th_value_is(v, vals[i], vlens[i]));
        mccache_value_free(v);
        mccache_metadata_t md;
        memset(&md, 0, sizeof md);
        md.struct_size = sizeof md;
        CHECK_RC(mccache_metadata(c, keys[i], klens[i], &md), MCCACHE_OK);
        CHECK(md.expires_ms == md.updated_ms + 60000);
    }
    CHECK_RC(mccache_clear(c), MCCACHE_OK);

    /* One bad entry, and nothing of the batch is stored. */
    const void *bad_keys[4] = {"c0", "c1", "c2", "c3"};
    size_t bad_klens[4] = {2, 2, 2, 0};
    CHECK_RC(mccache_put_batch(c, 4, bad_keys, bad_klens, vals, vlens, 0), MCCACHE_EINVAL);
    CHECK_MSG("3");
    for (int i = 0; i < 3; i++) CHECK_RC(mccache_contains(c, bad_keys[i], 2), MCCACHE_ENOTFOUND);

    const void *bad_vals[4] = {"zero", "one", NULL, "three"};
    size_t bad_vlens[4] = {4, 3, 1, 5}; /* NULL value with a non-zero length */
    CHECK_RC(mccache_put_batch(c, 4, keys, klens, bad_vals, bad_vlens, 0), MCCACHE_EINVAL);
    CHECK_MSG("2");
    CHECK_RC(mccache_contains(c, "b0", 2), MCCACHE_ENOTFOUND);

    const void *null_key[2] = {"d0", NULL};
    size_t null_klens[2] = {2, 2};
    CHECK_RC(mccache_put_batch(c, 2, null_key, null_klens, vals, vlens, 0), MCCACHE_EINVAL);
    CHECK_MSG("1");
    CHECK_RC(mccache_contains(c, "d0", 2), MCCACHE_ENOTFOUND);

    CHECK_RC(mccache_put_batch(c, 4, keys, klens, vals, vlens, -2), MCCACHE_EINVAL);
    CHECK_RC(mccache_contains(c, "b0", 2), MCCACHE_ENOTFOUND);

    size_t n = 99;
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 0);
}

static void test_get_batch(mccache_cache_t *c) {
    CHECK_RC(mccache_put(c, TH_STR("g0"), TH_STR("v0"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("g2"), TH_STR("v2"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("g4"), NULL, 0, MCCACHE_TTL_NEVER), MCCACHE_OK);

    const void *keys[5] = {"g0", "g1", "g2", "g3", "g4"};
    size_t klens[5] = {2, 2, 2, 2, 2};
    mccache_value_t *values[5];
    int statuses[5];
    for (int i = 0; i < 5; i++) {
        values[i] = (mccache_value_t *)&values; /* junk a miss must overwrite */
        statuses[i] = 12345;
    }

    CHECK_RC(mccache_get_batch(c, 0, keys, klens, values, statuses), MCCACHE_OK);
    CHECK_RC(mccache_get_batch(c, 5, keys, klens, values, statuses), MCCACHE_OK);
    CHECK_RC(statuses[0], MCCACHE_OK);
    CHECK_RC(statuses[1], MCCACHE_ENOTFOUND);
    CHECK_RC(statuses[2], MCCACHE_OK);
    CHECK_RC(statuses[3], MCCACHE_ENOTFOUND);
    CHECK_RC(statuses[4], MCCACHE_OK);
    CHECK(th_value_is(values[0], "v0", 2));
    CHECK(values[1] == NULL);
    CHECK(th_value_is(values[2], "v2", 2));
    CHECK(values[3] == NULL);
    CHECK(values[4] != NULL && th_value_is(values[4], "", 0));
    for (int i = 0; i < 5; i++) mccache_value_free(values[i]);

    /* statuses may be NULL. */
    CHECK_RC(mccache_get_batch(c, 5, keys, klens, values, NULL), MCCACHE_OK);
    CHECK(values[0] != NULL && values[1] == NULL);
    for (int i = 0; i < 5; i++) mccache_value_free(values[i]);

    /* One invalid key: nothing is looked up and the index is named. */
    size_t bad_klens[5] = {2, 2, 2, 0, 2};
    CHECK_RC(mccache_get_batch(c, 5, keys, bad_klens, values, statuses), MCCACHE_EINVAL);
    CHECK_MSG("3");
    const void *null_keys[3] = {"g0", "g2", NULL};
    CHECK_RC(mccache_get_batch(c, 3, null_keys, klens, values, statuses), MCCACHE_EINVAL);
    CHECK_MSG("2");

    CHECK_RC(mccache_clear(c), MCCACHE_OK);
}

/* Iterates `c` and records how often each "it-NNN" key was seen. */
static int iterate(mccache_cache_t *c, int seen[N_ITER], int want_values) {
    memset(seen, 0, sizeof(int) * N_ITER);
    mccache_iter_t *it = NULL;
    if (mccache_iter_new(c, &it) != MCCACHE_OK || it == NULL) return -1;
    int total = 0, bad = 0;
    const void *key;
    size_t klen;
    mccache_value_t *v = NULL;
    int rc;
    while ((rc = mccache_iter_next(it, &key, &klen, want_values ? &v : NULL)) == MCCACHE_OK) {
        total++;
        char kbuf[32];
        int idx = -1;
        if (klen < sizeof kbuf) {
            memcpy(kbuf, key, klen);
            kbuf[klen] = '\0';
            if (sscanf(kbuf, "it-%d", &idx) != 1) idx = -1;
        }
        if (idx < 0 || idx >= N_ITER) {
            bad++;
        } else {
            seen[idx]++;
        }
        if (want_values) {
            char want[32];
            size_t vlen = 0;
            const char *data = (const char *)mccache_value_data(v, &vlen);
            /* Updated keys hold "new-N", the others "val-N". */
            snprintf(want, sizeof want, "val-%d", idx);
            int ok = vlen == strlen(want) && memcmp(data, want, vlen) == 0;
            snprintf(want, sizeof want, "new-%d", idx);
            ok = ok || (vlen == strlen(want) && memcmp(data, want, vlen) == 0);
            if (!ok) bad++;
            mccache_value_free(v);
        }
    }
    CHECK_RC(rc, MCCACHE_ENOTFOUND);
    /* The end is sticky. */
    CHECK_RC(mccache_iter_next(it, &key, &klen, NULL), MCCACHE_ENOTFOUND);
    mccache_iter_free(it);
    CHECK(bad == 0);
    return total;
}

static void test_iteration(mccache_cache_t *c) {
    int seen[N_ITER];
    CHECK(iterate(c, seen, 1) == 0);

    char key[32], val[32];
    for (int i = 0; i < N_ITER; i++) {
        key_of(key, sizeof key, "it", i);
        snprintf(val, sizeof val, "val-%d", i);
        CHECK_RC(mccache_put(c, key, strlen(key), val, strlen(val), MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    CHECK(iterate(c, seen, 1) == N_ITER);
    int once = 1;
    for (int i = 0; i < N_ITER; i++) once = once && seen[i] == 1;
    CHECK(once);

    /* Deleted keys vanish, updated keys appear once with the new value. */
    for (int i = 0; i < N_ITER; i += 10) {
        key_of(key, sizeof key, "it", i);
        CHECK_RC(mccache_delete(c, key, strlen(key)), MCCACHE_OK);
        key_of(key, sizeof key, "it", i + 1);
        snprintf(val, sizeof val, "new-%d", i + 1);
        CHECK_RC(mccache_put(c, key, strlen(key), val, strlen(val), MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    CHECK(iterate(c, seen, 1) == N_ITER - N_ITER / 10);
    once = 1;
    for (int i = 0; i < N_ITER; i++) once = once && seen[i] == (i % 10 == 0 ? 0 : 1);
    CHECK(once);
    CHECK(iterate(c, seen, 0) == N_ITER - N_ITER / 10);

    /* Iterating is not a lookup. */
    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    CHECK_RC(mccache_metadata(c, TH_STR("it-001"), &md), MCCACHE_OK);
    CHECK(md.lookups == 0);

    /* Expired entries are never returned, even before housekeeping. */
    CHECK_RC(mccache_put(c, TH_STR("it-000"), "val-0", 5, 50), MCCACHE_OK);
    CHECK_RC(mccache_metadata(c, TH_STR("it-000"), &md), MCCACHE_OK);
    WAIT_UNTIL(th_now_ms() > md.expires_ms + 1, TH_DEADLINE_MS);
    iterate(c, seen, 0);
    CHECK(seen[0] == 0);

    /* Writing through the cache while iterating it is allowed; entries live
     * for the whole walk still come back exactly once. */
    mccache_iter_t *it = NULL;
    CHECK_RC(mccache_iter_new(c, &it), MCCACHE_OK);
    REQUIRE(it != NULL);
    const void *k;
    size_t klen;
    int steps = 0, dup = 0, rc;
    int count[N_ITER];
    memset(count, 0, sizeof count);
    while ((rc = mccache_iter_next(it, &k, &klen, NULL)) == MCCACHE_OK) {
        char kb[32];
        int idx;
        if (klen < sizeof kb) {
            memcpy(kb, k, klen);
            kb[klen] = '\0';
            if (sscanf(kb, "it-%d", &idx) == 1 && idx >= 0 && idx < N_ITER && ++count[idx] > 1)
                dup++;
        }
        snprintf(key, sizeof key, "extra-%d", steps++);
        CHECK_RC(mccache_put(c, key, strlen(key), "x", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    CHECK_RC(rc, MCCACHE_ENOTFOUND);
    mccache_iter_free(it);
    CHECK(dup == 0);
    int all_live_seen = 1;
    for (int i = 1; i < N_ITER; i++) all_live_seen = all_live_seen && count[i] == (i % 10 != 0);
    CHECK(all_live_seen);

    mccache_iter_free(NULL);
    CHECK_RC(mccache_clear(c), MCCACHE_OK);
}

static uint64_t sum_of_key_checksums(mccache_cache_t *c, const char *prefix, int n) {
    uint64_t sum = 0;
    char key[32];
    for (int i = 0; i < n; i++) {
        uint64_t ks = 0;
        key_of(key, sizeof key, prefix, i);
        if (mccache_key_checksum(c, key, strlen(key), &ks) == MCCACHE_OK) sum += ks;
    }
    return sum;
}

static void test_checksums(mccache_cache_t *a, mccache_cache_t *b) {
    uint64_t ca = 1, cb = 1;
    CHECK_RC(mccache_checksum(a, &ca), MCCACHE_OK);
    CHECK(ca == 0);

    char key[32], val[32];
    for (int i = 0; i < 20; i++) {
        key_of(key, sizeof key, "ck", i);
        snprintf(val, sizeof val, "value %d", i);
        CHECK_RC(mccache_put(a, key, strlen(key), val, strlen(val), MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    for (int i = 19; i >= 0; i--) {
        key_of(key, sizeof key, "ck", i);
        snprintf(val, sizeof val, "value %d", i);
        CHECK_RC(mccache_put(b, key, strlen(key), val, strlen(val), MCCACHE_TTL_NEVER), MCCACHE_OK);
    }

    /* The cache digest is the sum of its entries' checksums, so it does not
     * depend on the order of the writes. (Two caches written separately
     * never share versions, so their digests differ; replicated members are
     * compared in the coherence tests.) */
    CHECK_RC(mccache_checksum(a, &ca), MCCACHE_OK);
    CHECK_RC(mccache_checksum(b, &cb), MCCACHE_OK);
    CHECK(ca != 0);
    CHECK(ca == sum_of_key_checksums(a, "ck", 20));
    CHECK(cb == sum_of_key_checksums(b, "ck", 20));
    uint64_t k5a = 0, k5b = 0;
    CHECK_RC(mccache_key_checksum(a, TH_STR("ck-005"), &k5a), MCCACHE_OK);
    CHECK_RC(mccache_key_checksum(b, TH_STR("ck-005"), &k5b), MCCACHE_OK);
    CHECK(k5a != k5b); /* same key and value, different version */

    /* Checksums are pure reads. */
    uint64_t again = 0;
    CHECK_RC(mccache_checksum(a, &again), MCCACHE_OK);
    CHECK(again == ca);

    /* A delete takes exactly its entry's checksum out of the digest. */
    CHECK_RC(mccache_delete(a, TH_STR("ck-005")), MCCACHE_OK);
    CHECK_RC(mccache_checksum(a, &again), MCCACHE_OK);
    CHECK(again == ca - k5a);
    uint64_t gone = 0;
    CHECK_RC(mccache_key_checksum(a, TH_STR("ck-005"), &gone), MCCACHE_ENOTFOUND);

    /* Different content, different digest; an update changes its key's checksum. */
    uint64_t k6 = 0, k6new = 0;
    CHECK_RC(mccache_key_checksum(a, TH_STR("ck-006"), &k6), MCCACHE_OK);
    CHECK_RC(mccache_put(a, TH_STR("ck-006"), TH_STR("changed"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_key_checksum(a, TH_STR("ck-006"), &k6new), MCCACHE_OK);
    CHECK(k6new != k6);
    uint64_t after = 0;
    CHECK_RC(mccache_checksum(a, &after), MCCACHE_OK);
    CHECK(after == ca - k5a - k6 + k6new);
    CHECK(after != ca);
    CHECK(after == sum_of_key_checksums(a, "ck", 20));

    CHECK_RC(mccache_clear(a), MCCACHE_OK);
    CHECK_RC(mccache_checksum(a, &after), MCCACHE_OK);
    CHECK(after == 0);
    CHECK_RC(mccache_clear(b), MCCACHE_OK);
}

/* Reads a counter of a metrics object; -1 (and a failure) if it is missing. */
static double counter(const cJSON *obj, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(item)) {
        fprintf(stderr, "  metrics: no numeric \"%s\"\n", name);
        CHECK(!"a documented counter is missing");
        return -1;
    }
    return item->valuedouble;
}

static void test_metrics(mccache_t *node, mccache_cache_t *c) {
    const char *name = mccache_cache_name(c);
    mccache_value_t *v = NULL;
    char buf[16];
    size_t len;

    CHECK_RC(mccache_put(c, TH_STR("a"), TH_STR("alpha"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("b"), TH_STR("beta"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("a"), TH_STR("alpha2"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_get(c, TH_STR("a"), &v), MCCACHE_OK); /* hit */
    mccache_value_free(v);
    len = sizeof buf;
    CHECK_RC(mccache_get_copy(c, TH_STR("a"), buf, &len), MCCACHE_OK); /* hit */
    CHECK_RC(mccache_get(c, TH_STR("zz"), &v), MCCACHE_ENOTFOUND);     /* miss */
    len = sizeof buf;
    CHECK_RC(mccache_get_copy(c, TH_STR("zz"), buf, &len), MCCACHE_ENOTFOUND); /* miss */
    CHECK_RC(mccache_contains(c, TH_STR("a")), MCCACHE_OK);                    /* no lookup */
    CHECK_RC(mccache_delete(c, TH_STR("b")), MCCACHE_OK);

    char *json = NULL;
    CHECK_RC(mccache_cache_metrics_json(c, &json), MCCACHE_OK);
    REQUIRE(json != NULL);
    cJSON *m = cJSON_Parse(json);
    CHECK(m != NULL && cJSON_IsObject(m));
    if (m == NULL) fprintf(stderr, "  unparsable metrics: %s\n", json);
    mccache_free(json);
    if (m != NULL) {
        CHECK(counter(m, "hits") == 2);
        CHECK(counter(m, "misses") == 2);
        CHECK(counter(m, "lookups") == 4);
        CHECK(counter(m, "puts") >= 2);
        CHECK(counter(m, "updates") == 1);
        CHECK(counter(m, "deletes") == 1);
        CHECK(counter(m, "entries") == 1);
        CHECK(counter(m, "bytes") >= 1 + 6);
        CHECK(counter(m, "expirations") == 0);
        int has_evictions = 0;
        for (const cJSON *it = m->child; it != NULL; it = it->next)
            if (it->string != NULL && strncmp(it->string, "evict", 5) == 0) has_evictions = 1;
        CHECK(has_evictions);
    }

    /* A too-small buffer is neither a hit nor a miss. */
    len = 1;
    CHECK_RC(mccache_get_copy(c, TH_STR("a"), buf, &len), MCCACHE_EBUFS);
    CHECK_RC(mccache_cache_metrics_json(c, &json), MCCACHE_OK);
    cJSON *m2 = cJSON_Parse(json);
    mccache_free(json);
    if (m2 != NULL) CHECK(counter(m2, "misses") == 2);
    cJSON_Delete(m2);

    /* Expiry is counted once housekeeping reclaims it. */
    CHECK_RC(mccache_put(c, TH_STR("short"), "x", 1, 30), MCCACHE_OK);
    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    CHECK_RC(mccache_metadata(c, TH_STR("short"), &md), MCCACHE_OK);
    WAIT_UNTIL(th_now_ms() > md.expires_ms + 1, TH_DEADLINE_MS);
    CHECK_RC(mccache_housekeep(node), MCCACHE_OK);

    /* The node's document nests each cache's object under caches.NAME. */
    CHECK_RC(mccache_metrics_json(node, &json), MCCACHE_OK);
    REQUIRE(json != NULL);
    cJSON *all = cJSON_Parse(json);
    CHECK(all != NULL);
    if (all == NULL) fprintf(stderr, "  unparsable metrics: %s\n", json);
    mccache_free(json);
    if (all != NULL) {
        CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(all, "node")));
        const cJSON *caches = cJSON_GetObjectItemCaseSensitive(all, "caches");
        CHECK(cJSON_IsObject(caches));
        const cJSON *mine = cJSON_GetObjectItemCaseSensitive(caches, name);
        CHECK(cJSON_IsObject(mine));
        if (mine != NULL) {
            CHECK(counter(mine, "hits") == 2);
            CHECK(counter(mine, "expirations") == 1);
            CHECK(counter(mine, "entries") == 1);
        }
    }
    cJSON_Delete(all);
    cJSON_Delete(m);
}

static double cache_counter(mccache_cache_t *c, const char *group, const char *name) {
    char *json = NULL;
    double out = -1;
    if (mccache_cache_metrics_json(c, &json) != MCCACHE_OK || json == NULL) return -1;
    cJSON *m = cJSON_Parse(json);
    mccache_free(json);
    const cJSON *obj = group ? cJSON_GetObjectItemCaseSensitive(m, group) : m;
    if (obj != NULL) out = counter(obj, name);
    cJSON_Delete(m);
    return out;
}

/* Bytes are charged honestly (key, value and overhead), the per-entry
 * charges add up to the cache's figure, and the byte budget evicts. */
static void test_byte_accounting(mccache_cache_t *fresh, mccache_cache_t *budget) {
    char key[32], val[600];
    memset(val, 'v', sizeof val);
    uint64_t sum = 0;
    int honest = 1;
    for (int i = 0; i < 10; i++) {
        key_of(key, sizeof key, "ch", i);
        size_t vlen = (size_t)(i * 50);
        CHECK_RC(mccache_put(fresh, key, strlen(key), val, vlen, MCCACHE_TTL_NEVER), MCCACHE_OK);
        mccache_metadata_t md;
        memset(&md, 0, sizeof md);
        md.struct_size = sizeof md;
        CHECK_RC(mccache_metadata(fresh, key, strlen(key), &md), MCCACHE_OK);
        if (md.charged_bytes < strlen(key) + vlen) honest = 0;
        sum += md.charged_bytes;
    }
    CHECK(honest);
    CHECK(cache_counter(fresh, NULL, "bytes") == (double)sum);

    /* 4 KiB of budget and 512-byte values: older entries make room, never
     * the entry just written (approximate LRU may pick any other). */
    int lost_own = 0;
    for (int i = 0; i < 200; i++) {
        key_of(key, sizeof key, "big", i);
        CHECK_RC(mccache_put(budget, key, strlen(key), val, 512, MCCACHE_TTL_NEVER), MCCACHE_OK);
        if (mccache_contains(budget, key, strlen(key)) != MCCACHE_OK) lost_own++;
    }
    if (lost_own) fprintf(stderr, "  %d of 200 puts were evicted by their own write\n", lost_own);
    CHECK(lost_own == 0);
    size_t n = 0;
    CHECK_RC(mccache_len(budget, &n), MCCACHE_OK);
    CHECK(n > 0 && n < 20);
    CHECK(cache_counter(budget, NULL, "bytes") <= 4096);
    CHECK(cache_counter(budget, NULL, "entries") == (double)n);
    CHECK(cache_counter(budget, "evictions", "max_bytes") == (double)(200 - n));

    /* The largest value allowed always fits the budget, and is kept. */
    char largest[1024];
    memset(largest, 'h', sizeof largest);
    CHECK_RC(mccache_put(budget, TH_STR("largest"), largest, sizeof largest, MCCACHE_TTL_NEVER),
             MCCACHE_OK);
    CHECK_RC(mccache_contains(budget, TH_STR("largest")), MCCACHE_OK);
    CHECK(cache_counter(budget, NULL, "bytes") <= 4096);
}

int main(void) {
    const char *settings[] = {"max_value_size", "1KiB", "budget.cache_size", "4KiB", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "bulk");
    mccache_cache_t *other = th_open_cache(node, "bulk2");
    mccache_cache_t *metrics = th_open_cache(node, "metrics");
    REQUIRE(c != NULL && other != NULL && metrics != NULL);

    test_put_batch(c);
    test_get_batch(c);
    test_iteration(c);
    test_checksums(c, other);
    test_metrics(node, metrics);
    mccache_cache_t *fresh = th_open_cache(node, "charged");
    mccache_cache_t *budget = th_open_cache(node, "budget");
    REQUIRE(fresh != NULL && budget != NULL);
    test_byte_accounting(fresh, budget);

    CHECK_RC(mccache_close(node), MCCACHE_OK);
    return th_finish();
}
