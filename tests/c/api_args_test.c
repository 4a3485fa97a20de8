/*
 * C API: bad arguments. Every pointer argument given NULL, keys and values
 * over the configured limits, empty keys, TTLs out of range. Each failure
 * must return the documented code and say in mccache_last_error() what was
 * wrong, and must leave the cache untouched.
 */
#include "harness.h"

static int g_frees;
static void count_free(void *opaque) {
    (void)opaque;
    g_frees++;
}
static void change_cb(const mccache_event_t *ev, void *opaque) {
    (void)ev;
    (void)opaque;
}
static void log_cb(int level, const char *msg, void *opaque) {
    (void)level;
    (void)msg;
    (void)opaque;
}

/* A NULL argument: EINVAL and a message naming the argument. */
#define CHECK_NULL_ARG(call, argname)        \
    do {                                     \
        CHECK_RC(call, MCCACHE_EINVAL);      \
        CHECK_MSG(argname);                  \
    } while (0)

static void test_null_config_args(void) {
    mccache_config_t *cfg = NULL;
    CHECK_NULL_ARG(mccache_config_new(NULL), "out");
    REQUIRE(mccache_config_new(&cfg) == MCCACHE_OK);
    mccache_config_free(NULL);

    CHECK_NULL_ARG(mccache_config_set(NULL, "cache_ttl", "1"), "config");
    CHECK_NULL_ARG(mccache_config_set(cfg, NULL, "1"), "key");
    CHECK_NULL_ARG(mccache_config_set(cfg, "cache_ttl", NULL), "value");

    CHECK_NULL_ARG(mccache_config_load_file(NULL, "/nonexistent.ini"), "config");
    CHECK_NULL_ARG(mccache_config_load_file(cfg, NULL), "path");
    CHECK_NULL_ARG(mccache_config_load_env(NULL), "config");

    char buf[64];
    size_t len = sizeof buf;
    CHECK_NULL_ARG(mccache_config_get(NULL, "cache_ttl", buf, &len), "config");
    CHECK_NULL_ARG(mccache_config_get(cfg, NULL, buf, &len), "key");
    CHECK_NULL_ARG(mccache_config_get(cfg, "cache_ttl", buf, NULL), "len");
    len = sizeof buf;
    CHECK_NULL_ARG(mccache_config_get(cfg, "cache_ttl", NULL, &len), "buf");

    char *json = NULL;
    CHECK_NULL_ARG(mccache_config_to_json(NULL, &json), "config");
    CHECK_NULL_ARG(mccache_config_to_json(cfg, NULL), "out");

    mccache_config_free(cfg);
}

static void test_null_node_args(mccache_t *node) {
    CHECK_NULL_ARG(mccache_open(NULL, NULL), "out");
    CHECK_RC(mccache_close(NULL), MCCACHE_OK);

    uint64_t id;
    CHECK_NULL_ARG(mccache_node_id(NULL, &id), "node");
    CHECK_NULL_ARG(mccache_node_id(node, NULL), "out");
    char *json = NULL;
    CHECK_NULL_ARG(mccache_node_config_json(NULL, &json), "node");
    CHECK_NULL_ARG(mccache_node_config_json(node, NULL), "out");
    CHECK_NULL_ARG(mccache_metrics_json(NULL, &json), "node");
    CHECK_NULL_ARG(mccache_metrics_json(node, NULL), "out");
    CHECK_NULL_ARG(mccache_housekeep(NULL), "node");

    mccache_cache_t *c = NULL;
    CHECK_NULL_ARG(mccache_cache_open(NULL, "x", &c), "node");
    CHECK_NULL_ARG(mccache_cache_open(node, NULL, &c), "name");
    CHECK_NULL_ARG(mccache_cache_open(node, "x", NULL), "out");
    CHECK(mccache_cache_name(NULL) == NULL);

    /* EINVAL on the node itself: the library never owned opaque, so it must
     * not free it. */
    g_frees = 0;
    CHECK_NULL_ARG(mccache_set_log_cb(NULL, log_cb, &g_frees, count_free), "node");
    CHECK(g_frees == 0);
}

static void test_null_cache_args(mccache_cache_t *c) {
    const char *k = "key";
    mccache_value_t *v = NULL;
    char buf[8];
    size_t len = sizeof buf;

    CHECK_NULL_ARG(mccache_put(NULL, k, 3, "v", 1, 0), "cache");
    CHECK_NULL_ARG(mccache_put(c, NULL, 3, "v", 1, 0), "key");
    CHECK_NULL_ARG(mccache_put(c, k, 3, NULL, 1, 0), "value");
    CHECK_RC(mccache_contains(c, k, 3), MCCACHE_ENOTFOUND);

    CHECK_NULL_ARG(mccache_get(NULL, k, 3, &v), "cache");
    CHECK_NULL_ARG(mccache_get(c, NULL, 3, &v), "key");
    CHECK_NULL_ARG(mccache_get(c, k, 3, NULL), "out");

    CHECK_NULL_ARG(mccache_get_copy(NULL, k, 3, buf, &len), "cache");
    CHECK_NULL_ARG(mccache_get_copy(c, NULL, 3, buf, &len), "key");
    CHECK_NULL_ARG(mccache_get_copy(c, k, 3, buf, NULL), "len");
    len = sizeof buf;
    CHECK_NULL_ARG(mccache_get_copy(c, k, 3, NULL, &len), "buf");

    CHECK_NULL_ARG(mccache_delete(NULL, k, 3), "cache");
    CHECK_NULL_ARG(mccache_delete(c, NULL, 3), "key");
    CHECK_NULL_ARG(mccache_contains(NULL, k, 3), "cache");
    CHECK_NULL_ARG(mccache_contains(c, NULL, 3), "key");

    size_t n;
    CHECK_NULL_ARG(mccache_len(NULL, &n), "cache");
    CHECK_NULL_ARG(mccache_len(c, NULL), "out");
    CHECK_NULL_ARG(mccache_clear(NULL), "cache");

    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    CHECK_NULL_ARG(mccache_metadata(NULL, k, 3, &md), "cache");
    CHECK_NULL_ARG(mccache_metadata(c, NULL, 3, &md), "key");
    CHECK_NULL_ARG(mccache_metadata(c, k, 3, NULL), "out");

    const void *keys[1] = {k};
    size_t klens[1] = {3};
    const void *vals[1] = {"v"};
    size_t vlens[1] = {1};
    mccache_value_t *values[1];
    int statuses[1];
    CHECK_NULL_ARG(mccache_get_batch(NULL, 1, keys, klens, values, statuses), "cache");
    CHECK_NULL_ARG(mccache_get_batch(c, 1, NULL, klens, values, statuses), "keys");
    CHECK_NULL_ARG(mccache_get_batch(c, 1, keys, NULL, values, statuses), "klens");
    CHECK_NULL_ARG(mccache_get_batch(c, 1, keys, klens, NULL, statuses), "values");

    CHECK_NULL_ARG(mccache_put_batch(NULL, 1, keys, klens, vals, vlens, 0), "cache");
    CHECK_NULL_ARG(mccache_put_batch(c, 1, NULL, klens, vals, vlens, 0), "keys");
    CHECK_NULL_ARG(mccache_put_batch(c, 1, keys, NULL, vals, vlens, 0), "klens");
    CHECK_NULL_ARG(mccache_put_batch(c, 1, keys, klens, NULL, vlens, 0), "values");
    CHECK_NULL_ARG(mccache_put_batch(c, 1, keys, klens, vals, NULL, 0), "vlens");
    CHECK_RC(mccache_contains(c, k, 3), MCCACHE_ENOTFOUND);

    mccache_iter_t *it = NULL;
    CHECK_NULL_ARG(mccache_iter_new(NULL, &it), "cache");
    CHECK_NULL_ARG(mccache_iter_new(c, NULL), "out");
    REQUIRE(mccache_iter_new(c, &it) == MCCACHE_OK);
    const void *kp;
    size_t kl;
    CHECK_NULL_ARG(mccache_iter_next(NULL, &kp, &kl, NULL), "iter");
    CHECK_NULL_ARG(mccache_iter_next(it, NULL, &kl, NULL), "key");
    CHECK_NULL_ARG(mccache_iter_next(it, &kp, NULL, NULL), "klen");
    mccache_iter_free(it);
    mccache_iter_free(NULL);

    uint64_t sum;
    CHECK_NULL_ARG(mccache_checksum(NULL, &sum), "cache");
    CHECK_NULL_ARG(mccache_checksum(c, NULL), "out");
    CHECK_NULL_ARG(mccache_key_checksum(NULL, k, 3, &sum), "cache");
    CHECK_NULL_ARG(mccache_key_checksum(c, NULL, 3, &sum), "key");
    CHECK_NULL_ARG(mccache_key_checksum(c, k, 3, NULL), "out");

    char *json = NULL;
    CHECK_NULL_ARG(mccache_cache_metrics_json(NULL, &json), "cache");
    CHECK_NULL_ARG(mccache_cache_metrics_json(c, NULL), "out");

    g_frees = 0;
    CHECK_NULL_ARG(mccache_on_change(NULL, change_cb, &g_frees, count_free), "cache");
    CHECK(g_frees == 0);

    CHECK(mccache_value_data(NULL, NULL) == NULL);
    CHECK(mccache_value_ref(NULL) == NULL);
    mccache_value_free(NULL);
    mccache_free(NULL);
}

/* Every call taking a key refuses an empty one. */
static void test_empty_key(mccache_cache_t *c) {
    mccache_value_t *v = (mccache_value_t *)&v;
    char buf[8];
    size_t len = sizeof buf;
    uint64_t sum;
    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;

    CHECK_RC(mccache_put(c, "k", 0, "v", 1, 0), MCCACHE_EINVAL);
    CHECK_MSG("key");
    CHECK_RC(mccache_get(c, "k", 0, &v), MCCACHE_EINVAL);
    CHECK(v == NULL);
    CHECK_RC(mccache_get_copy(c, "k", 0, buf, &len), MCCACHE_EINVAL);
    CHECK_RC(mccache_delete(c, "k", 0), MCCACHE_EINVAL);
    CHECK_RC(mccache_contains(c, "k", 0), MCCACHE_EINVAL);
    CHECK_RC(mccache_metadata(c, "k", 0, &md), MCCACHE_EINVAL);
    CHECK_RC(mccache_key_checksum(c, "k", 0, &sum), MCCACHE_EINVAL);
    /* An empty key is invalid even as NULL with length 0. */
    CHECK_RC(mccache_put(c, NULL, 0, "v", 1, 0), MCCACHE_EINVAL);
    size_t n = 99;
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 0);
}

#define MAX_KEY 16
#define MAX_VALUE 64

/* With max_key_size=16: a 17-byte key is ETOOBIG everywhere, 16 is fine. */
static void test_key_too_big(mccache_cache_t *c) {
    char big[MAX_KEY + 1];
    memset(big, 'K', sizeof big);
    mccache_value_t *v = (mccache_value_t *)&v;
    char buf[8];
    size_t len = sizeof buf;
    uint64_t sum;
    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;

    CHECK_RC(mccache_put(c, big, sizeof big, "v", 1, 0), MCCACHE_ETOOBIG);
    CHECK_MSG("16");
    CHECK_RC(mccache_get(c, big, sizeof big, &v), MCCACHE_ETOOBIG);
    CHECK(v == NULL);
    CHECK_RC(mccache_get_copy(c, big, sizeof big, buf, &len), MCCACHE_ETOOBIG);
    CHECK_RC(mccache_delete(c, big, sizeof big), MCCACHE_ETOOBIG);
    CHECK_RC(mccache_contains(c, big, sizeof big), MCCACHE_ETOOBIG);
    CHECK_RC(mccache_metadata(c, big, sizeof big, &md), MCCACHE_ETOOBIG);
    CHECK_RC(mccache_key_checksum(c, big, sizeof big, &sum), MCCACHE_ETOOBIG);

    const void *keys[2] = {"ok", big};
    size_t klens[2] = {2, sizeof big};
    const void *vals[2] = {"v", "v"};
    size_t vlens[2] = {1, 1};
    mccache_value_t *values[2];
    CHECK_RC(mccache_get_batch(c, 2, keys, klens, values, NULL), MCCACHE_ETOOBIG);
    CHECK_MSG("1");
    CHECK_RC(mccache_put_batch(c, 2, keys, klens, vals, vlens, 0), MCCACHE_ETOOBIG);
    CHECK_MSG("1");
    CHECK_RC(mccache_contains(c, "ok", 2), MCCACHE_ENOTFOUND);

    /* Exactly at the limit is allowed. */
    CHECK_RC(mccache_put(c, big, MAX_KEY, "v", 1, 0), MCCACHE_OK);
    CHECK_RC(mccache_contains(c, big, MAX_KEY), MCCACHE_OK);
    CHECK_RC(mccache_delete(c, big, MAX_KEY), MCCACHE_OK);
}

/* With max_value_size=64: 65 bytes is refused and nothing is stored. */
static void test_value_too_big(mccache_cache_t *c) {
    char big[MAX_VALUE + 1];
    memset(big, 'V', sizeof big);
    size_t before = 0, after = 0;
    CHECK_RC(mccache_len(c, &before), MCCACHE_OK);

    CHECK_RC(mccache_put(c, TH_STR("fresh"), big, sizeof big, MCCACHE_TTL_NEVER), MCCACHE_ETOOBIG);
    CHECK_MSG("64");
    CHECK_RC(mccache_contains(c, TH_STR("fresh")), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_len(c, &after), MCCACHE_OK);
    CHECK(after == before);

    /* A refused update keeps the old value. */
    CHECK_RC(mccache_put(c, TH_STR("held"), TH_STR("old"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    uint64_t sum_before = 0, sum_after = 1;
    CHECK_RC(mccache_checksum(c, &sum_before), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("held"), big, sizeof big, MCCACHE_TTL_NEVER), MCCACHE_ETOOBIG);
    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, TH_STR("held"), &v), MCCACHE_OK);
    CHECK(th_value_is(v, "old", 3));
    mccache_value_free(v);
    CHECK_RC(mccache_checksum(c, &sum_after), MCCACHE_OK);
    CHECK(sum_after == sum_before);

    const void *keys[3] = {"b0", "b1", "b2"};
    size_t klens[3] = {2, 2, 2};
    const void *vals[3] = {"v", big, "v"};
    size_t vlens[3] = {1, sizeof big, 1};
    CHECK_RC(mccache_put_batch(c, 3, keys, klens, vals, vlens, 0), MCCACHE_ETOOBIG);
    CHECK_MSG("1");
    CHECK_RC(mccache_contains(c, "b0", 2), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_contains(c, "b2", 2), MCCACHE_ENOTFOUND);

    CHECK_RC(mccache_put(c, TH_STR("fits"), big, MAX_VALUE, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_contains(c, TH_STR("fits")), MCCACHE_OK);
    CHECK_RC(mccache_clear(c), MCCACHE_OK);
}

static void test_bad_ttl(mccache_cache_t *c) {
    CHECK_RC(mccache_put(c, TH_STR("t"), "v", 1, -2), MCCACHE_EINVAL);
    CHECK_MSG("ttl");
    CHECK_RC(mccache_put(c, TH_STR("t"), "v", 1, INT64_MIN), MCCACHE_EINVAL);
    CHECK_RC(mccache_contains(c, TH_STR("t")), MCCACHE_ENOTFOUND);
}

/* A cache whose byte budget cannot hold the node's largest value does not
 * fit the node: a value could be accepted and then never stored. The header
 * lets either mccache_open() or mccache_cache_open() refuse it. */
static void test_cache_settings_that_do_not_fit(void) {
    mccache_config_t *cfg = NULL;
    REQUIRE(mccache_config_new(&cfg) == MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "small.cache_size", "4KiB"), MCCACHE_OK);
    mccache_t *node = NULL;
    int rc = mccache_open(cfg, &node);
    mccache_config_free(cfg);
    if (rc == MCCACHE_ECONFIG) {
        CHECK_MSG("small");
        return;
    }
    CHECK_RC(rc, MCCACHE_OK);
    REQUIRE(node != NULL);
    mccache_cache_t *c = NULL;
    CHECK_RC(mccache_cache_open(node, "small", &c), MCCACHE_ECONFIG);
    CHECK_MSG("small");
    CHECK_RC(mccache_cache_open(node, "other", &c), MCCACHE_OK);
    CHECK_RC(mccache_close(node), MCCACHE_OK);
}

int main(void) {
    test_null_config_args();

    char max_key[16], max_value[16];
    snprintf(max_key, sizeof max_key, "%d", MAX_KEY);
    snprintf(max_value, sizeof max_value, "%d", MAX_VALUE);
    const char *settings[] = {"max_key_size", max_key, "max_value_size", max_value, NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "args");
    REQUIRE(c != NULL);

    test_null_node_args(node);
    test_null_cache_args(c);
    test_empty_key(c);
    test_key_too_big(c);
    test_value_too_big(c);
    test_bad_ttl(c);
    test_cache_settings_that_do_not_fit();

    CHECK_RC(mccache_close(node), MCCACHE_OK);
    return th_finish();
}
