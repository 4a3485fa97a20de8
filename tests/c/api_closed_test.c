/*
 * C API: closed handles. After mccache_close() the node and its caches stay
 * valid tokens and every call made with them returns MCCACHE_ECLOSED, while
 * values and iterators taken before stay usable until they are freed. Each
 * registered opaque_free runs exactly once.
 */
#include "harness.h"

static int g_change_frees;
static int g_log_frees;
static int g_late_frees;
static void count_change_free(void *opaque) {
    (void)opaque;
    g_change_frees++;
}
static void count_log_free(void *opaque) {
    (void)opaque;
    g_log_frees++;
}
static void count_late_free(void *opaque) {
    (void)opaque;
    g_late_frees++;
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

#define CHECK_CLOSED(call)                  \
    do {                                    \
        CHECK_RC(call, MCCACHE_ECLOSED);    \
        CHECK(mccache_last_error()[0] != '\0'); \
    } while (0)

static void check_cache_calls_closed(mccache_cache_t *c) {
    mccache_value_t *v = (mccache_value_t *)&v;
    char buf[16];
    size_t len = sizeof buf;
    uint64_t sum = 0;
    size_t n = 0;
    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;

    CHECK_CLOSED(mccache_put(c, TH_STR("k"), TH_STR("v"), 0));
    CHECK_CLOSED(mccache_get(c, TH_STR("k"), &v));
    CHECK(v == NULL);
    CHECK_CLOSED(mccache_get_copy(c, TH_STR("k"), buf, &len));
    CHECK_CLOSED(mccache_delete(c, TH_STR("k")));
    CHECK_CLOSED(mccache_contains(c, TH_STR("k")));
    CHECK_CLOSED(mccache_len(c, &n));
    CHECK_CLOSED(mccache_clear(c));
    CHECK_CLOSED(mccache_metadata(c, TH_STR("k"), &md));

    const void *keys[2] = {"k", "l"};
    size_t klens[2] = {1, 1};
    const void *vals[2] = {"v", "w"};
    size_t vlens[2] = {1, 1};
    mccache_value_t *values[2];
    int statuses[2];
    CHECK_CLOSED(mccache_get_batch(c, 2, keys, klens, values, statuses));
    CHECK_CLOSED(mccache_put_batch(c, 2, keys, klens, vals, vlens, 0));
    CHECK_CLOSED(mccache_checksum(c, &sum));
    CHECK_CLOSED(mccache_key_checksum(c, TH_STR("k"), &sum));
    char *json = NULL;
    CHECK_CLOSED(mccache_cache_metrics_json(c, &json));
    CHECK(json == NULL);
    mccache_iter_t *it = NULL;
    CHECK_CLOSED(mccache_iter_new(c, &it));
    CHECK(it == NULL);

    /* A failed registration hands opaque back at once, exactly once. */
    g_late_frees = 0;
    CHECK_CLOSED(mccache_on_change(c, change_cb, &g_late_frees, count_late_free));
    CHECK(g_late_frees == 1);
    g_late_frees = 0;
    CHECK_CLOSED(mccache_on_change(c, NULL, &g_late_frees, count_late_free));
    CHECK(g_late_frees == 1);
}

static void check_node_calls_closed(mccache_t *node) {
    mccache_cache_t *c = (mccache_cache_t *)&c;
    CHECK_CLOSED(mccache_cache_open(node, "closed", &c));
    CHECK_CLOSED(mccache_cache_open(node, "never-opened", &c));
    uint64_t id = 0;
    CHECK_CLOSED(mccache_node_id(node, &id));
    char *json = NULL;
    CHECK_CLOSED(mccache_node_config_json(node, &json));
    CHECK_CLOSED(mccache_metrics_json(node, &json));
    CHECK(json == NULL);
    CHECK_CLOSED(mccache_housekeep(node));
    g_late_frees = 0;
    CHECK_CLOSED(mccache_set_log_cb(node, log_cb, &g_late_frees, count_late_free));
    CHECK(g_late_frees == 1);
    CHECK_CLOSED(mccache_close(node));
    CHECK_CLOSED(mccache_close(node));
}

static void test_close(void) {
    mccache_t *node = th_open_node(NULL);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "closed");
    mccache_cache_t *idle = th_open_cache(node, "idle");
    REQUIRE(c != NULL && idle != NULL);

    for (int i = 0; i < 5; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        CHECK_RC(mccache_put(c, key, strlen(key), key, strlen(key), MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    mccache_value_t *held = NULL;
    CHECK_RC(mccache_get(c, TH_STR("k3"), &held), MCCACHE_OK);
    mccache_iter_t *it = NULL;
    CHECK_RC(mccache_iter_new(c, &it), MCCACHE_OK);
    const void *key;
    size_t klen;
    CHECK_RC(mccache_iter_next(it, &key, &klen, NULL), MCCACHE_OK);

    g_change_frees = 0;
    g_log_frees = 0;
    CHECK_RC(mccache_on_change(c, change_cb, &g_change_frees, count_change_free), MCCACHE_OK);
    CHECK_RC(mccache_set_log_cb(node, log_cb, &g_log_frees, count_log_free), MCCACHE_OK);

    CHECK_RC(mccache_close(node), MCCACHE_OK);
    /* Close runs the pending opaque_frees on the calling thread before returning. */
    CHECK(g_change_frees == 1);
    CHECK(g_log_frees == 1);

    check_cache_calls_closed(c);
    check_cache_calls_closed(idle);
    check_node_calls_closed(node);
    CHECK(g_change_frees == 1);
    CHECK(g_log_frees == 1);

    /* The handle still knows its name. */
    CHECK(strcmp(mccache_cache_name(c), "closed") == 0);

    /* References taken before close outlive the node. */
    CHECK(th_value_is(held, "k3", 2));
    mccache_value_t *again = mccache_value_ref(held);
    mccache_value_free(held);
    CHECK(th_value_is(again, "k3", 2));
    mccache_value_free(again);

    CHECK_RC(mccache_iter_next(it, &key, &klen, NULL), MCCACHE_ECLOSED);
    mccache_iter_free(it);
}

/* Closing a node leaves other nodes alone. */
static void test_close_one_of_two(void) {
    mccache_t *a = th_open_node(NULL);
    mccache_t *b = th_open_node(NULL);
    REQUIRE(a != NULL && b != NULL);
    mccache_cache_t *ca = th_open_cache(a, "shared-name");
    mccache_cache_t *cb = th_open_cache(b, "shared-name");
    REQUIRE(ca != NULL && cb != NULL);
    CHECK(ca != cb);
    CHECK_RC(mccache_put(cb, TH_STR("k"), TH_STR("v"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_close(a), MCCACHE_OK);
    CHECK_RC(mccache_put(ca, TH_STR("k"), TH_STR("v"), 0), MCCACHE_ECLOSED);
    CHECK_RC(mccache_contains(cb, TH_STR("k")), MCCACHE_OK);
    CHECK_RC(mccache_put(cb, TH_STR("k2"), TH_STR("v"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_close(b), MCCACHE_OK);
}

/* Open and close in a loop: close must be bounded and leave nothing behind
 * (ASan's leak check sees the rest). */
static void test_open_close_cycles(void) {
    int64_t start = th_mono_ms();
    for (int i = 0; i < 20; i++) {
        mccache_t *node = th_open_node(NULL);
        REQUIRE(node != NULL);
        mccache_cache_t *c = th_open_cache(node, "cycle");
        REQUIRE(c != NULL);
        CHECK_RC(mccache_on_change(c, change_cb, &g_late_frees, NULL), MCCACHE_OK);
        CHECK_RC(mccache_put(c, TH_STR("k"), TH_STR("v"), 100), MCCACHE_OK);
        CHECK_RC(mccache_close(node), MCCACHE_OK);
    }
    /* 20 cycles in well under the per-test timeout, sanitizers included. */
    CHECK(th_mono_ms() - start < 30000);
}

int main(void) {
    test_close();
    test_close_one_of_two();
    test_open_close_cycles();
    return th_finish();
}
