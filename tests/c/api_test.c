/*
 * C API: version, error reporting, and the semantics of single-entry calls
 * (put, get, get_copy, delete, contains, len, clear, metadata, TTL).
 */
#include "harness.h"

#include <limits.h>
#include <pthread.h>

static void test_version(void) {
    CHECK(mccache_version() == MCCACHE_VERSION_NUMBER);
    CHECK(mccache_version_string() != NULL);
    CHECK(strcmp(mccache_version_string(), MCCACHE_VERSION_STRING) == 0);
    CHECK(MCCACHE_VERSION_CHECK(0, 1, 0));
    CHECK(!MCCACHE_VERSION_CHECK(MCCACHE_VERSION_MAJOR + 1, 0, 0));

    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", MCCACHE_VERSION_MAJOR, MCCACHE_VERSION_MINOR,
             MCCACHE_VERSION_PATCH);
    CHECK(strcmp(MCCACHE_VERSION_STRING, expect) == 0);
}

struct code_name {
    int code;
    const char *name;
};

#define CODE(c) {c, #c}
static const struct code_name k_codes[] = {
    CODE(MCCACHE_OK),        CODE(MCCACHE_EINVAL),    CODE(MCCACHE_ENOMEM),
    CODE(MCCACHE_ENOTFOUND), CODE(MCCACHE_EEXISTS),   CODE(MCCACHE_EBUFS),
    CODE(MCCACHE_ETOOBIG),   CODE(MCCACHE_ECLOSED),   CODE(MCCACHE_ETIMEDOUT),
    CODE(MCCACHE_ECANCELED), CODE(MCCACHE_EBUSY),     CODE(MCCACHE_ECONFIG),
    CODE(MCCACHE_EIO),       CODE(MCCACHE_ESTALE),    CODE(MCCACHE_EUSER),
    CODE(MCCACHE_ENOTSUP),   CODE(MCCACHE_EINTERNAL),
};
#undef CODE
#define N_CODES (sizeof k_codes / sizeof k_codes[0])

static void test_error_strings(void) {
    /* Codes are part of the ABI: a renumbering must fail loudly here. */
    for (size_t i = 0; i < N_CODES; i++) CHECK(k_codes[i].code == -(int)i);

    for (size_t i = 0; i < N_CODES; i++) {
        const char *msg = mccache_strerror(k_codes[i].code);
        const char *name = mccache_err_name(k_codes[i].code);
        REQUIRE(msg != NULL && name != NULL);
        CHECK(msg[0] != '\0');
        CHECK(strcmp(msg, "unknown error") != 0);
        if (strcmp(name, k_codes[i].name) != 0) {
            fprintf(stderr, "  err_name(%d) = \"%s\", want \"%s\"\n", k_codes[i].code, name,
                    k_codes[i].name);
        }
        CHECK(strcmp(name, k_codes[i].name) == 0);
        for (size_t j = 0; j < i; j++) CHECK(strcmp(msg, mccache_strerror(k_codes[j].code)) != 0);
    }

    const int unknown[] = {1, 42, -17, -1000, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *msg = mccache_strerror(unknown[i]);
        const char *name = mccache_err_name(unknown[i]);
        REQUIRE(msg != NULL && name != NULL);
        CHECK(strcmp(msg, "unknown error") == 0);
        CHECK(strcmp(name, "MCCACHE_EUNKNOWN") == 0);
    }
    mccache_free(NULL);
}

static void *read_last_error(void *arg) {
    const char **out = (const char **)arg;
    /* Copy: the string is thread-local and dies with this thread. */
    *out = strdup(mccache_last_error());
    return NULL;
}

static void test_last_error_is_thread_local(void) {
    CHECK_RC(mccache_config_new(NULL), MCCACHE_EINVAL);
    const char *mine = mccache_last_error();
    REQUIRE(mine != NULL);
    CHECK(mine[0] != '\0');

    pthread_t t;
    const char *theirs = NULL;
    REQUIRE(pthread_create(&t, NULL, read_last_error, &theirs) == 0);
    pthread_join(t, NULL);
    REQUIRE(theirs != NULL);
    CHECK(strcmp(theirs, "") == 0);
    free((void *)theirs);

    /* A success leaves the previous message alone. */
    char *saved = strdup(mccache_last_error());
    CHECK(mccache_version() == MCCACHE_VERSION_NUMBER);
    mccache_config_t *cfg = NULL;
    CHECK_RC(mccache_config_new(&cfg), MCCACHE_OK);
    mccache_config_free(cfg);
    CHECK(strcmp(saved, mccache_last_error()) == 0);
    free(saved);
}

static void test_node_and_cache_handles(void) {
    const char *settings[] = {"node_id", "4242", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);

    uint64_t id = 0;
    CHECK_RC(mccache_node_id(node, &id), MCCACHE_OK);
    CHECK(id == 4242);

    mccache_cache_t *a = th_open_cache(node, "alpha");
    mccache_cache_t *a2 = th_open_cache(node, "alpha");
    mccache_cache_t *b = th_open_cache(node, "beta");
    REQUIRE(a != NULL && b != NULL);
    CHECK(a == a2);
    CHECK(a != b);
    CHECK(strcmp(mccache_cache_name(a), "alpha") == 0);
    CHECK(strcmp(mccache_cache_name(b), "beta") == 0);

    /* Names: 1 to 255 bytes, no '.' (it separates `NAME.key` settings). */
    mccache_cache_t *c = NULL;
    CHECK_RC(mccache_cache_open(node, "", &c), MCCACHE_EINVAL);
    CHECK_RC(mccache_cache_open(node, "a.b", &c), MCCACHE_EINVAL);
    char name[300];
    memset(name, 'n', sizeof name);
    name[256] = '\0';
    CHECK_RC(mccache_cache_open(node, name, &c), MCCACHE_EINVAL);
    name[255] = '\0';
    CHECK_RC(mccache_cache_open(node, name, &c), MCCACHE_OK);
    CHECK(c != NULL && strlen(mccache_cache_name(c)) == 255);

    /* Caches of one node are separate key spaces. */
    CHECK_RC(mccache_put(a, TH_STR("k"), TH_STR("in-alpha"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_contains(b, TH_STR("k")), MCCACHE_ENOTFOUND);

    /* A node with node_id 0 (the default) draws a random, non-zero id. */
    mccache_t *other = th_open_node(NULL);
    REQUIRE(other != NULL);
    uint64_t other_id = 0;
    CHECK_RC(mccache_node_id(other, &other_id), MCCACHE_OK);
    CHECK(other_id != 0);
    CHECK_RC(mccache_close(other), MCCACHE_OK);

    CHECK_RC(mccache_close(node), MCCACHE_OK);
}

static void test_roundtrip(mccache_cache_t *c) {
    /* Keys and values are bytes, NULs included; "k\0ey" and "k" differ. */
    static const char key[] = {'k', '\0', 'e', 'y'};
    static const char val[] = {'\0', 'v', '\0', '\xff', 'a', '\0'};
    CHECK_RC(mccache_put(c, key, sizeof key, val, sizeof val, MCCACHE_TTL_NEVER), MCCACHE_OK);

    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, key, sizeof key, &v), MCCACHE_OK);
    REQUIRE(v != NULL);
    CHECK(th_value_is(v, val, sizeof val));
    size_t len = 0;
    CHECK(mccache_value_data(v, NULL) != NULL);
    CHECK(mccache_value_data(v, &len) != NULL && len == sizeof val);
    /* Zero copy: two readers of an unchanged entry share its bytes. */
    mccache_value_t *v2 = NULL;
    CHECK_RC(mccache_get(c, key, sizeof key, &v2), MCCACHE_OK);
    CHECK(mccache_value_data(v2, NULL) == mccache_value_data(v, NULL));
    mccache_value_free(v2);
    mccache_value_free(v);

    v = (mccache_value_t *)&v; /* junk that a miss must overwrite */
    CHECK_RC(mccache_get(c, "k", 1, &v), MCCACHE_ENOTFOUND);
    CHECK(v == NULL);
    CHECK_RC(mccache_contains(c, "k", 1), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_contains(c, key, sizeof key), MCCACHE_OK);

    /* The store copied the caller's buffers. */
    char kbuf[] = "mutable-key";
    char vbuf[] = "mutable-value";
    CHECK_RC(mccache_put(c, kbuf, strlen(kbuf), vbuf, strlen(vbuf), MCCACHE_TTL_NEVER),
             MCCACHE_OK);
    memset(vbuf, 'X', strlen(vbuf));
    memset(kbuf, 'Y', strlen(kbuf));
    CHECK_RC(mccache_get(c, TH_STR("mutable-key"), &v), MCCACHE_OK);
    CHECK(th_value_is(v, TH_STR("mutable-value")));
    mccache_value_free(v);
}

static void test_empty_value(mccache_cache_t *c) {
    CHECK_RC(mccache_put(c, TH_STR("empty"), NULL, 0, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_contains(c, TH_STR("empty")), MCCACHE_OK);
    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, TH_STR("empty"), &v), MCCACHE_OK);
    REQUIRE(v != NULL);
    size_t len = 99;
    mccache_value_data(v, &len);
    CHECK(len == 0);
    mccache_value_free(v);

    len = 0;
    CHECK_RC(mccache_get_copy(c, TH_STR("empty"), NULL, &len), MCCACHE_OK);
    CHECK(len == 0);

    /* A non-NULL pointer with length 0 is an empty value too. */
    CHECK_RC(mccache_put(c, TH_STR("empty2"), "ignored", 0, MCCACHE_TTL_NEVER), MCCACHE_OK);
    len = 5;
    char buf[5] = "xxxx";
    CHECK_RC(mccache_get_copy(c, TH_STR("empty2"), buf, &len), MCCACHE_OK);
    CHECK(len == 0);
    CHECK(strcmp(buf, "xxxx") == 0);
}

static void test_update_and_value_immutability(mccache_cache_t *c) {
    CHECK_RC(mccache_put(c, TH_STR("upd"), TH_STR("first"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    mccache_value_t *old = NULL;
    CHECK_RC(mccache_get(c, TH_STR("upd"), &old), MCCACHE_OK);
    REQUIRE(old != NULL);

    CHECK_RC(mccache_put(c, TH_STR("upd"), TH_STR("second, longer"), MCCACHE_TTL_NEVER),
             MCCACHE_OK);
    mccache_value_t *cur = NULL;
    CHECK_RC(mccache_get(c, TH_STR("upd"), &cur), MCCACHE_OK);
    CHECK(th_value_is(cur, TH_STR("second, longer")));

    /* A held reference keeps its bytes, whatever writers do meanwhile. */
    CHECK(th_value_is(old, TH_STR("first")));
    CHECK_RC(mccache_delete(c, TH_STR("upd")), MCCACHE_OK);
    CHECK_RC(mccache_clear(c), MCCACHE_OK);
    CHECK(th_value_is(old, TH_STR("first")));
    CHECK(th_value_is(cur, TH_STR("second, longer")));

    /* ref returns the same handle; each reference is dropped on its own. */
    mccache_value_t *again = mccache_value_ref(old);
    CHECK(again == old);
    mccache_value_free(old);
    CHECK(th_value_is(again, TH_STR("first")));
    mccache_value_free(again);
    mccache_value_free(cur);

    CHECK(mccache_value_ref(NULL) == NULL);
    size_t len = 7;
    CHECK(mccache_value_data(NULL, &len) == NULL);
    mccache_value_free(NULL);
}

static void test_get_copy(mccache_cache_t *c) {
    static const char val[] = "0123456789";
    const size_t vlen = sizeof val - 1;
    CHECK_RC(mccache_put(c, TH_STR("copy"), val, vlen, MCCACHE_TTL_NEVER), MCCACHE_OK);

    char buf[32];
    size_t len;

    /* Exact fit. */
    memset(buf, '#', sizeof buf);
    len = vlen;
    CHECK_RC(mccache_get_copy(c, TH_STR("copy"), buf, &len), MCCACHE_OK);
    CHECK(len == vlen);
    CHECK(memcmp(buf, val, vlen) == 0);
    CHECK(buf[vlen] == '#');

    /* Larger: only the value's bytes are written. */
    memset(buf, '#', sizeof buf);
    len = sizeof buf;
    CHECK_RC(mccache_get_copy(c, TH_STR("copy"), buf, &len), MCCACHE_OK);
    CHECK(len == vlen);
    CHECK(memcmp(buf, val, vlen) == 0);
    CHECK(buf[vlen] == '#' && buf[sizeof buf - 1] == '#');

    /* Too small: EBUFS, the size needed, and not one byte copied. */
    memset(buf, '#', sizeof buf);
    len = vlen - 1;
    CHECK_RC(mccache_get_copy(c, TH_STR("copy"), buf, &len), MCCACHE_EBUFS);
    CHECK(len == vlen);
    for (size_t i = 0; i < sizeof buf; i++) {
        if (buf[i] != '#') {
            CHECK(!"get_copy wrote into a too-small buffer");
            break;
        }
    }

    /* Size query. */
    len = 0;
    CHECK_RC(mccache_get_copy(c, TH_STR("copy"), NULL, &len), MCCACHE_EBUFS);
    CHECK(len == vlen);

    /* A miss. */
    len = sizeof buf;
    CHECK_RC(mccache_get_copy(c, TH_STR("no-such-key"), buf, &len), MCCACHE_ENOTFOUND);
}

static void test_delete_contains_len_clear(mccache_cache_t *c) {
    CHECK_RC(mccache_clear(c), MCCACHE_OK);
    size_t n = 99;
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 0);

    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        CHECK_RC(mccache_put(c, key, strlen(key), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    }
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 10);
    /* An update does not add an entry. */
    CHECK_RC(mccache_put(c, TH_STR("key-3"), "w", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 10);

    CHECK_RC(mccache_delete(c, TH_STR("key-3")), MCCACHE_OK);
    CHECK_RC(mccache_delete(c, TH_STR("key-3")), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_delete(c, TH_STR("never-written")), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_contains(c, TH_STR("key-3")), MCCACHE_ENOTFOUND);
    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, TH_STR("key-3"), &v), MCCACHE_ENOTFOUND);
    CHECK(v == NULL);
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 9);

    /* The tombstone is older than a later write, which must win. */
    CHECK_RC(mccache_put(c, TH_STR("key-3"), "again", 5, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_get(c, TH_STR("key-3"), &v), MCCACHE_OK);
    CHECK(th_value_is(v, "again", 5));
    mccache_value_free(v);
    /* So must a write after deleting a key that never existed. */
    CHECK_RC(mccache_put(c, TH_STR("never-written"), "now", 3, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_contains(c, TH_STR("never-written")), MCCACHE_OK);

    CHECK_RC(mccache_clear(c), MCCACHE_OK);
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 0);
    CHECK_RC(mccache_contains(c, TH_STR("key-0")), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_contains(c, TH_STR("key-3")), MCCACHE_ENOTFOUND);

    /* Writes after a clear are newer than it, so they stay. */
    CHECK_RC(mccache_put(c, TH_STR("key-0"), "post", 4, MCCACHE_TTL_NEVER), MCCACHE_OK);
    CHECK_RC(mccache_contains(c, TH_STR("key-0")), MCCACHE_OK);
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 1);
}

static mccache_metadata_t meta_of(mccache_cache_t *c, const char *key, int *rc) {
    mccache_metadata_t md;
    memset(&md, 0xAB, sizeof md);
    md.struct_size = sizeof md;
    *rc = mccache_metadata(c, key, strlen(key), &md);
    return md;
}

static void test_metadata(mccache_t *node, mccache_cache_t *c) {
    uint64_t node_id = 0;
    CHECK_RC(mccache_node_id(node, &node_id), MCCACHE_OK);
    int rc;

    int64_t before = th_now_ms();
    CHECK_RC(mccache_put(c, TH_STR("meta"), TH_STR("twelve bytes"), 60000), MCCACHE_OK);
    int64_t after = th_now_ms();

    mccache_metadata_t md = meta_of(c, "meta", &rc);
    CHECK_RC(rc, MCCACHE_OK);
    CHECK(md.struct_size == sizeof md);
    CHECK(md.version_node == node_id);
    CHECK(md.version_hlc != 0);
    /* The HLC's physical part is wall-clock milliseconds (48 bits). */
    int64_t hlc_ms = (int64_t)(md.version_hlc >> 16);
    CHECK(hlc_ms >= before - 1000 && hlc_ms <= after + 1000);
    /* Write times come from the library's coarse clock (a millisecond
     * ticker; see docs/ARCHITECTURE.md), so allow it to lag a little. */
    CHECK(md.created_ms >= before - 100 && md.created_ms <= after + 1);
    CHECK(md.updated_ms >= md.created_ms && md.updated_ms <= after + 1);
    CHECK(md.expires_ms == md.updated_ms + 60000);
    CHECK(md.last_lookup_ms == 0);
    CHECK(md.lookups == 0);
    CHECK(md.key_size == 4);
    CHECK(md.value_size == 12);
    CHECK(md.charged_bytes >= 4 + 12);
    uint64_t ks = 0;
    CHECK_RC(mccache_key_checksum(c, TH_STR("meta"), &ks), MCCACHE_OK);
    CHECK(md.checksum == ks);

    /* Gets count as lookups; contains, metadata, get_copy's EBUFS do not. */
    mccache_value_t *v = NULL;
    int64_t t0 = th_now_ms();
    for (int i = 0; i < 2; i++) {
        CHECK_RC(mccache_get(c, TH_STR("meta"), &v), MCCACHE_OK);
        mccache_value_free(v);
    }
    CHECK_RC(mccache_contains(c, TH_STR("meta")), MCCACHE_OK);
    (void)meta_of(c, "meta", &rc);
    md = meta_of(c, "meta", &rc);
    CHECK_RC(rc, MCCACHE_OK);
    CHECK(md.lookups == 2);
    CHECK(md.last_lookup_ms >= t0 - TH_CLOCK_SLACK_MS && md.last_lookup_ms <= th_now_ms() + 1);

    char buf[64];
    size_t len = sizeof buf;
    CHECK_RC(mccache_get_copy(c, TH_STR("meta"), buf, &len), MCCACHE_OK);
    md = meta_of(c, "meta", &rc);
    CHECK(md.lookups == 3);

    /* An update: new version, same creation time, new expiry. */
    mccache_metadata_t first = md;
    CHECK_RC(mccache_put(c, TH_STR("meta"), TH_STR("v2"), MCCACHE_TTL_NEVER), MCCACHE_OK);
    md = meta_of(c, "meta", &rc);
    CHECK_RC(rc, MCCACHE_OK);
    CHECK(md.version_hlc > first.version_hlc);
    CHECK(md.created_ms == first.created_ms);
    CHECK(md.updated_ms >= first.updated_ms);
    CHECK(md.expires_ms == -1);
    CHECK(md.value_size == 2);
    CHECK(md.checksum != first.checksum);

    /* Versions grow strictly, even within one millisecond. */
    uint64_t prev = md.version_hlc;
    int monotonic = 1;
    for (int i = 0; i < 50; i++) {
        CHECK_RC(mccache_put(c, TH_STR("meta"), "x", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
        md = meta_of(c, "meta", &rc);
        if (md.version_hlc <= prev) monotonic = 0;
        prev = md.version_hlc;
    }
    CHECK(monotonic);

    /* A size below the first published layout is refused, not half filled. */
    mccache_metadata_t bad;
    memset(&bad, 0, sizeof bad);
    bad.struct_size = 0;
    CHECK_RC(mccache_metadata(c, TH_STR("meta"), &bad), MCCACHE_EINVAL);
    CHECK_MSG("struct_size");
    bad.struct_size = sizeof bad - 8;
    CHECK_RC(mccache_metadata(c, TH_STR("meta"), &bad), MCCACHE_EINVAL);
    CHECK(bad.version_hlc == 0);
    /* A caller built against a longer, later layout gets the fields this
     * library knows, and not a byte more: struct_size says how far it wrote. */
    struct {
        mccache_metadata_t md;
        unsigned char later[16];
    } newer;
    memset(&newer, 0xAB, sizeof newer);
    newer.md.struct_size = sizeof newer;
    CHECK_RC(mccache_metadata(c, TH_STR("meta"), &newer.md), MCCACHE_OK);
    CHECK(newer.md.struct_size == sizeof newer.md);
    CHECK(newer.md.version_node == node_id);
    CHECK(newer.later[0] == 0xAB && newer.later[15] == 0xAB);

    md = meta_of(c, "absent", &rc);
    CHECK_RC(rc, MCCACHE_ENOTFOUND);
}

static void test_ttl(mccache_t *node) {
    /* The per-cache default TTL applies when a put passes TTL_DEFAULT. */
    mccache_cache_t *c = th_open_cache(node, "ttl");
    REQUIRE(c != NULL);
    int rc;

    CHECK_RC(mccache_put(c, TH_STR("default"), "v", 1, MCCACHE_TTL_DEFAULT), MCCACHE_OK);
    mccache_metadata_t md = meta_of(c, "default", &rc);
    CHECK_RC(rc, MCCACHE_OK);
    CHECK(md.expires_ms == md.updated_ms + 7200 * 1000);

    CHECK_RC(mccache_put(c, TH_STR("never"), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    md = meta_of(c, "never", &rc);
    CHECK(md.expires_ms == -1);

    /* cache_ttl 0: the default is "never expires". */
    mccache_cache_t *forever = th_open_cache(node, "forever");
    REQUIRE(forever != NULL);
    CHECK_RC(mccache_put(forever, TH_STR("k"), "v", 1, MCCACHE_TTL_DEFAULT), MCCACHE_OK);
    md = meta_of(forever, "k", &rc);
    CHECK_RC(rc, MCCACHE_OK);
    CHECK(md.expires_ms == -1);

    CHECK_RC(mccache_put(c, TH_STR("bad-ttl"), "v", 1, -2), MCCACHE_EINVAL);
    CHECK_MSG("ttl");
    CHECK_RC(mccache_put(c, TH_STR("bad-ttl"), "v", 1, INT64_MIN), MCCACHE_EINVAL);
    CHECK_RC(mccache_contains(c, TH_STR("bad-ttl")), MCCACHE_ENOTFOUND);

    /* A short TTL: the entry disappears for readers once it is due... */
    CHECK_RC(mccache_put(c, TH_STR("short"), "v", 1, 150), MCCACHE_OK);
    md = meta_of(c, "short", &rc);
    CHECK(md.expires_ms == md.updated_ms + 150);
    WAIT_UNTIL(mccache_contains(c, TH_STR("short")) == MCCACHE_ENOTFOUND, TH_DEADLINE_MS);
    CHECK_RC(mccache_contains(c, TH_STR("short")), MCCACHE_ENOTFOUND);
    /* ...and is never returned past its expiry, not even once. */
    CHECK(th_now_ms() >= md.expires_ms);
    mccache_value_t *v = NULL;
    CHECK_RC(mccache_get(c, TH_STR("short"), &v), MCCACHE_ENOTFOUND);

    /* Eager expiry: memory comes back without anyone reading the key. */
    CHECK_RC(mccache_put(c, TH_STR("unread"), "v", 1, 100), MCCACHE_OK);
    md = meta_of(c, "unread", &rc);
    WAIT_UNTIL(th_now_ms() > md.expires_ms, TH_DEADLINE_MS);
    CHECK_RC(mccache_housekeep(node), MCCACHE_OK);
    size_t n = 99;
    CHECK_RC(mccache_len(c, &n), MCCACHE_OK);
    CHECK(n == 2); /* "default" and "never" */

    /* A put with a new TTL resets the expiry: an update is a new write. */
    CHECK_RC(mccache_put(c, TH_STR("renew"), "v", 1, 100), MCCACHE_OK);
    CHECK_RC(mccache_put(c, TH_STR("renew"), "v", 1, MCCACHE_TTL_NEVER), MCCACHE_OK);
    md = meta_of(c, "renew", &rc);
    CHECK(md.expires_ms == -1);
}

int main(void) {
    test_version();
    test_error_strings();
    test_last_error_is_thread_local();
    test_node_and_cache_handles();

    const char *settings[] = {"ttl.cache_ttl", "7200", "forever.cache_ttl", "0", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "entries");
    REQUIRE(c != NULL);

    test_roundtrip(c);
    test_empty_value(c);
    test_update_and_value_immutability(c);
    test_get_copy(c);
    test_delete_contains_len_clear(c);
    test_metadata(node, c);
    test_ttl(node);

    CHECK_RC(mccache_close(node), MCCACHE_OK);
    return th_finish();
}
