/*
 * C API: configuration. Setters, getters with buffer sizing, INI files, the
 * environment, precedence between sources, JSON with sources, and settings
 * that reach the node and its caches.
 */
#include "harness.h"

#include <unistd.h>

#include <cjson/cJSON.h>

/* Bytes 0..31 in base64: a valid AES-256 key. */
#define KEY32_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static mccache_config_t *new_config(void) {
    mccache_config_t *cfg = NULL;
    REQUIRE(mccache_config_new(&cfg) == MCCACHE_OK && cfg != NULL);
    return cfg;
}

/* The effective value of `key` as text, into a static buffer. */
static const char *get(const mccache_config_t *cfg, const char *key) {
    static char buf[256];
    size_t len = sizeof buf;
    int rc = mccache_config_get(cfg, key, buf, &len);
    if (rc != MCCACHE_OK) {
        snprintf(buf, sizeof buf, "<%s>", mccache_err_name(rc));
    }
    return buf;
}

/* Whether `key` still holds its built-in default in `cfg`. */
static int is_default(const mccache_config_t *cfg, const char *key) {
    mccache_config_t *pristine = new_config();
    char want[256];
    snprintf(want, sizeof want, "%s", get(pristine, key));
    mccache_config_free(pristine);
    return strcmp(get(cfg, key), want) == 0;
}

/* node.KEY.source, or caches.CACHE.KEY.source when cache is not NULL. */
static char *source_of(const char *json, const char *cache, const char *key) {
    cJSON *root = cJSON_Parse(json);
    if (root == NULL) return NULL;
    const cJSON *scope = cache == NULL
                             ? cJSON_GetObjectItemCaseSensitive(root, "node")
                             : cJSON_GetObjectItemCaseSensitive(
                                   cJSON_GetObjectItemCaseSensitive(root, "caches"), cache);
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(scope, key);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(entry, "source");
    char *out = cJSON_IsString(src) ? strdup(src->valuestring) : NULL;
    cJSON_Delete(root);
    return out;
}

static char *config_source(const mccache_config_t *cfg, const char *cache, const char *key) {
    char *json = NULL;
    if (mccache_config_to_json(cfg, &json) != MCCACHE_OK || json == NULL) return NULL;
    char *src = source_of(json, cache, key);
    mccache_free(json);
    return src;
}

#define CHECK_SOURCE(cfg, cache, key, want)                                     \
    do {                                                                        \
        char *src_ = config_source((cfg), (cache), (key));                      \
        CHECK(src_ != NULL && strcmp(src_, (want)) == 0);                       \
        if (src_ == NULL || strcmp(src_, (want)) != 0)                          \
            fprintf(stderr, "    source of %s: %s, want %s\n", (key),           \
                    src_ ? src_ : "(none)", (want));                            \
        free(src_);                                                             \
    } while (0)

static void test_set_and_get(void) {
    mccache_config_t *cfg = new_config();

    CHECK_RC(mccache_config_set(cfg, "max_key_size", "16"), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "max_key_size"), "16") == 0);
    /* Values read back in canonical form. */
    CHECK_RC(mccache_config_set(cfg, "cache_ttl", "7200"), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "cache_ttl"), "2h") == 0);
    CHECK_RC(mccache_config_set(cfg, "cache_size", "64MiB"), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "cache_size"), "64MiB") == 0);

    /* Buffer sizing: a size query, a short buffer, an exact one. */
    size_t len = 0;
    CHECK_RC(mccache_config_get(cfg, "max_key_size", NULL, &len), MCCACHE_EBUFS);
    CHECK(len == 3);
    char buf[8];
    memset(buf, '#', sizeof buf);
    len = 2;
    CHECK_RC(mccache_config_get(cfg, "max_key_size", buf, &len), MCCACHE_EBUFS);
    CHECK(len == 3);
    len = 3;
    CHECK_RC(mccache_config_get(cfg, "max_key_size", buf, &len), MCCACHE_OK);
    CHECK(len == 3 && strcmp(buf, "16") == 0);

    /* Unknown keys and bad values: ECONFIG naming the key (and the range). */
    CHECK_RC(mccache_config_set(cfg, "no_such_key", "1"), MCCACHE_ECONFIG);
    CHECK_MSG("no_such_key");
    len = sizeof buf;
    CHECK_RC(mccache_config_get(cfg, "no_such_key", buf, &len), MCCACHE_ECONFIG);
    CHECK_MSG("no_such_key");
    CHECK_RC(mccache_config_set(cfg, "mycache.no_such_key", "1"), MCCACHE_ECONFIG);
    CHECK_MSG("no_such_key");
    CHECK_RC(mccache_config_set(cfg, "max_key_size", "lots"), MCCACHE_ECONFIG);
    CHECK_MSG("max_key_size");
    CHECK_MSG("lots");
    CHECK_RC(mccache_config_set(cfg, "packet_mtu", "100"), MCCACHE_ECONFIG);
    CHECK_MSG("packet_mtu");
    CHECK_MSG("576");
    CHECK_RC(mccache_config_set(cfg, "cache_mode", "sometimes"), MCCACHE_ECONFIG);
    CHECK_MSG("cache_mode");
    /* A failed set changes nothing. */
    CHECK(strcmp(get(cfg, "max_key_size"), "16") == 0);

    /* Per-cache settings are NAME.key; the plain key is the default of all. */
    CHECK_RC(mccache_config_set(cfg, "sessions.cache_ttl", "10"), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "sessions.cache_ttl"), "10s") == 0);
    CHECK(strcmp(get(cfg, "other.cache_ttl"), "2h") == 0);
    CHECK(strcmp(get(cfg, "cache_ttl"), "2h") == 0);

    /* Secrets never read back. */
    CHECK(strcmp(get(cfg, "crypto_key"), "") == 0);
    CHECK_RC(mccache_config_set(cfg, "crypto_key", KEY32_B64), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "crypto_key"), "(set)") == 0);
    /* A key of the wrong length is refused, and the good one stays. */
    CHECK_RC(mccache_config_set(cfg, "crypto_key", "c2hvcnQ="), MCCACHE_ECONFIG);
    CHECK_MSG("crypto_key");
    CHECK(strcmp(get(cfg, "crypto_key"), "(set)") == 0);

    char *json = NULL;
    CHECK_RC(mccache_config_to_json(cfg, &json), MCCACHE_OK);
    REQUIRE(json != NULL);
    CHECK(strstr(json, KEY32_B64) == NULL);
    cJSON *root = cJSON_Parse(json);
    CHECK(root != NULL);
    cJSON_Delete(root);
    mccache_free(json);

    CHECK_SOURCE(cfg, NULL, "max_key_size", "api");
    CHECK_SOURCE(cfg, NULL, "packet_mtu", "default");
    CHECK_SOURCE(cfg, "sessions", "cache_ttl", "api");

    mccache_config_free(cfg);
}

static int write_file(char *path_template, const char *text) {
    int fd = mkstemp(path_template);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    int ok = write(fd, text, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

static void test_load_file(void) {
    char path[] = "/tmp/mccache_api_config_XXXXXX";
    REQUIRE(write_file(path,
                       "; a comment\n"
                       "[mccache]\n"
                       "max_value_size = 2MiB\n"
                       "cache_max = 200\n"
                       "\n"
                       "[sessions]\n"
                       "ttl = 10\n"
                       "cache_max = 500\n") == 0);

    mccache_config_t *cfg = new_config();
    /* An API setter outranks the file, even when it came first. */
    CHECK_RC(mccache_config_set(cfg, "cache_max", "100"), MCCACHE_OK);
    CHECK_RC(mccache_config_load_file(cfg, path), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "max_value_size"), "2MiB") == 0);
    CHECK(strcmp(get(cfg, "cache_max"), "100") == 0);
    CHECK(strcmp(get(cfg, "sessions.cache_ttl"), "10s") == 0);
    CHECK(strcmp(get(cfg, "sessions.cache_max"), "500") == 0);

    char want[128];
    snprintf(want, sizeof want, "file:%s:3", path);
    CHECK_SOURCE(cfg, NULL, "max_value_size", want);
    CHECK_SOURCE(cfg, NULL, "cache_max", "api");
    snprintf(want, sizeof want, "file:%s:7", path);
    CHECK_SOURCE(cfg, "sessions", "cache_ttl", want);
    mccache_config_free(cfg);
    unlink(path);

    /* A bad line: ECONFIG naming path:line, and nothing of the file applies. */
    char bad[] = "/tmp/mccache_api_config_XXXXXX";
    REQUIRE(write_file(bad,
                       "[mccache]\n"
                       "max_key_size = 32\n"
                       "not_a_setting = 1\n") == 0);
    cfg = new_config();
    CHECK_RC(mccache_config_load_file(cfg, bad), MCCACHE_ECONFIG);
    snprintf(want, sizeof want, "%s:3", bad);
    CHECK(strstr(mccache_last_error(), want) != NULL);
    CHECK_MSG("not_a_setting");
    CHECK(is_default(cfg, "max_key_size"));
    unlink(bad);

    char range[] = "/tmp/mccache_api_config_XXXXXX";
    REQUIRE(write_file(range, "[mccache]\npacket_mtu = 9\n") == 0);
    CHECK_RC(mccache_config_load_file(cfg, range), MCCACHE_ECONFIG);
    snprintf(want, sizeof want, "%s:2", range);
    CHECK(strstr(mccache_last_error(), want) != NULL);
    CHECK_MSG("packet_mtu");
    unlink(range);

    char syntax[] = "/tmp/mccache_api_config_XXXXXX";
    REQUIRE(write_file(syntax, "[mccache]\nthis line is not ini\n") == 0);
    CHECK_RC(mccache_config_load_file(cfg, syntax), MCCACHE_ECONFIG);
    snprintf(want, sizeof want, "%s:2", syntax);
    CHECK(strstr(mccache_last_error(), want) != NULL);
    unlink(syntax);

    CHECK_RC(mccache_config_load_file(cfg, "/nonexistent/dir/mccache.ini"), MCCACHE_EIO);
    CHECK_MSG("/nonexistent/dir/mccache.ini");
    mccache_config_free(cfg);
}

static void test_load_env(void) {
    char path[] = "/tmp/mccache_api_config_XXXXXX";
    REQUIRE(write_file(path, "[mccache]\ncache_max = 200\n") == 0);

    /* The environment outranks the file, whatever the order of loading. */
    setenv("MCCACHE_CACHE_MAX", "300", 1);
    setenv("MCCACHE_NOT_A_SETTING_AT_ALL", "1", 1); /* other tools share the prefix */
    mccache_config_t *cfg = new_config();
    CHECK_RC(mccache_config_load_env(cfg), MCCACHE_OK);
    CHECK_RC(mccache_config_load_file(cfg, path), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "cache_max"), "300") == 0);
    CHECK_SOURCE(cfg, NULL, "cache_max", "env:MCCACHE_CACHE_MAX");

    /* ...and the API outranks the environment. */
    CHECK_RC(mccache_config_set(cfg, "cache_max", "100"), MCCACHE_OK);
    CHECK_RC(mccache_config_load_env(cfg), MCCACHE_OK);
    CHECK(strcmp(get(cfg, "cache_max"), "100") == 0);
    mccache_config_free(cfg);

    /* mccache_open(NULL) means defaults plus the environment. */
    mccache_t *node = NULL;
    CHECK_RC(mccache_open(NULL, &node), MCCACHE_OK);
    if (node != NULL) {
        char *json = NULL;
        CHECK_RC(mccache_node_config_json(node, &json), MCCACHE_OK);
        char *src = json ? source_of(json, NULL, "cache_max") : NULL;
        CHECK(src != NULL && strcmp(src, "env:MCCACHE_CACHE_MAX") == 0);
        free(src);
        mccache_free(json);
        CHECK_RC(mccache_close(node), MCCACHE_OK);
    }

    /* A bad value names the variable and changes nothing. */
    setenv("MCCACHE_CACHE_TTL", "soon", 1);
    cfg = new_config();
    CHECK_RC(mccache_config_load_env(cfg), MCCACHE_ECONFIG);
    CHECK_MSG("MCCACHE_CACHE_TTL");
    CHECK(is_default(cfg, "cache_max"));
    CHECK(is_default(cfg, "cache_ttl"));
    mccache_config_free(cfg);

    unsetenv("MCCACHE_CACHE_TTL");
    unsetenv("MCCACHE_CACHE_MAX");
    unsetenv("MCCACHE_NOT_A_SETTING_AT_ALL");
    unlink(path);
}

static void test_node_uses_config(void) {
    mccache_config_t *cfg = new_config();
    CHECK_RC(mccache_config_set(cfg, "node_id", "77"), MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "lru.cache_max", "3"), MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "lru.eviction_policy", "lru"), MCCACHE_OK);
    /* One shard: eviction order is then exact, whatever the machine's CPUs. */
    CHECK_RC(mccache_config_set(cfg, "store_shards", "1"), MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "crypto_key", KEY32_B64), MCCACHE_OK);
    mccache_t *node = NULL;
    CHECK_RC(mccache_open(cfg, &node), MCCACHE_OK);
    /* The node copied the configuration. */
    mccache_config_free(cfg);
    REQUIRE(node != NULL);

    uint64_t id = 0;
    CHECK_RC(mccache_node_id(node, &id), MCCACHE_OK);
    CHECK(id == 77);

    char *json = NULL;
    CHECK_RC(mccache_node_config_json(node, &json), MCCACHE_OK);
    REQUIRE(json != NULL);
    char *src = source_of(json, NULL, "node_id");
    CHECK(src != NULL && strcmp(src, "api") == 0);
    free(src);
    src = source_of(json, "lru", "cache_max");
    CHECK(src != NULL && strcmp(src, "api") == 0);
    free(src);
    CHECK(strstr(json, KEY32_B64) == NULL);
    mccache_free(json);

    /* cache_max=3, and reads count as use. */
    mccache_cache_t *c = th_open_cache(node, "lru");
    REQUIRE(c != NULL);
    CHECK_RC(mccache_put(c, TH_STR("a"), "1", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("b"), "2", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("c"), "3", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, TH_STR("a"), &v), MCCACHE_OK);
    mccache_value_free(v);
    CHECK_RC(mccache_put(c, TH_STR("d"), "4", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    size_t n = 0;
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 3);
    CHECK_RC(mccache_contains(c, TH_STR("a")), MCCACHE_OK);
    CHECK_RC(mccache_contains(c, TH_STR("b")), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_contains(c, TH_STR("c")), MCCACHE_OK);
    CHECK_RC(mccache_contains(c, TH_STR("d")), MCCACHE_OK);

    /* Another cache of the node keeps the default bound. */
    mccache_cache_t *big = th_open_cache(node, "big");
    REQUIRE(big != NULL);
    for (int i = 0; i < 10; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        CHECK_RC(mccache_put(big, key, strlen(key), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    CHECK_RC(mccache_len(big, &n), MCCACHE_OK);
    CHECK(n == 10);

    CHECK_RC(mccache_close(node), MCCACHE_OK);
}

static void test_inconsistent_settings(void) {
    /* A tombstone must outlive a pulse, or a late write could resurrect a key. */
    mccache_config_t *cfg = new_config();
    CHECK_RC(mccache_config_set(cfg, "tombstone_ttl", "1s"), MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "cache_pulse", "1m"), MCCACHE_OK);
    mccache_t *node = (mccache_t *)&node;
    CHECK_RC(mccache_open(cfg, &node), MCCACHE_ECONFIG);
    CHECK_MSG("tombstone_ttl");
    mccache_config_free(cfg);

    /* A log file that cannot be opened fails the open, naming the file. */
    cfg = new_config();
    CHECK_RC(mccache_config_set(cfg, "log_filename", "/nonexistent/dir/mccache.log"), MCCACHE_OK);
    CHECK_RC(mccache_open(cfg, &node), MCCACHE_EIO);
    CHECK_MSG("/nonexistent/dir/mccache.log");
    mccache_config_free(cfg);
}

int main(void) {
    test_set_and_get();
    test_load_file();
    test_load_env();
    test_node_uses_config();
    test_inconsistent_settings();
    return th_finish();
}
