/*
 * libmccache quick-start demo.
 *
 * Opens a node on the default interface (127.0.0.1), opens a cache named
 * "demo" with a change callback, and walks through the API: put, get,
 * get_copy, metadata, TTL expiry, delete, batches, iteration, checksums and
 * metrics. Then it opens three nodes in one process.
 *
 * Build and run: see README.md ("Quick start").
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mccache.h>

/* Any failure ends the demo with the library's own explanation. */
#define TRY(call)                                                                     \
    do {                                                                              \
        int rc_ = (call);                                                             \
        if (rc_ != MCCACHE_OK) {                                                      \
            fprintf(stderr, "demo: %s failed: %s (%s)\n", #call, mccache_err_name(rc_), \
                    mccache_last_error());                                            \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Unix milliseconds as a readable UTC time. */
static const char *fmt_time(int64_t ms, char *buf, size_t size) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03d UTC", (int)(ms % 1000));
    return buf;
}

static void section(const char *title) { printf("\n== %s ==\n", title); }

/* ------------------------------------------------------------------------ */
/* Change events arrive on the node's loop thread. The callback only records
 * them; main() prints them, so the output stays in order. */

#define MAX_EVENTS 64

struct event_log {
    pthread_mutex_t mu;
    int count;
    int shown;
    char lines[MAX_EVENTS][96];
};

static const char *event_name(int type) {
    switch (type) {
        case MCCACHE_EVENT_INSERT: return "insert";
        case MCCACHE_EVENT_UPDATE: return "update";
        case MCCACHE_EVENT_DELETE: return "delete";
        case MCCACHE_EVENT_EVICT: return "evict";
        case MCCACHE_EVENT_EXPIRE: return "expire";
        default: return "?";
    }
}

static void on_change(const mccache_event_t *ev, void *opaque) {
    struct event_log *log = (struct event_log *)opaque;
    pthread_mutex_lock(&log->mu);
    if (log->count < MAX_EVENTS) {
        snprintf(log->lines[log->count], sizeof log->lines[0], "%-6s %.*s (%s)",
                 event_name(ev->type), (int)ev->klen, (const char *)ev->key,
                 ev->origin == MCCACHE_ORIGIN_LOCAL ? "local" : "remote");
    }
    log->count++;
    pthread_mutex_unlock(&log->mu);
}

static void on_change_free(void *opaque) {
    struct event_log *log = (struct event_log *)opaque;
    pthread_mutex_destroy(&log->mu);
    free(log);
}

static int event_count(struct event_log *log) {
    pthread_mutex_lock(&log->mu);
    int n = log->count;
    pthread_mutex_unlock(&log->mu);
    return n;
}

/* Waits (up to 2 s) for `expected` events in all, then prints the new ones. */
static void show_events(struct event_log *log, int expected) {
    int64_t deadline = now_ms() + 2000;
    while (event_count(log) < expected && now_ms() < deadline) sleep_ms(5);
    pthread_mutex_lock(&log->mu);
    for (; log->shown < log->count && log->shown < MAX_EVENTS; log->shown++)
        printf("   event: %s\n", log->lines[log->shown]);
    pthread_mutex_unlock(&log->mu);
}

/* ------------------------------------------------------------------------ */

static void print_value(const char *label, const mccache_value_t *v) {
    size_t len = 0;
    const char *data = (const char *)mccache_value_data(v, &len);
    printf("%s\"%.*s\" (%zu bytes)\n", label, (int)len, data, len);
}

static void basics(mccache_cache_t *cache) {
    section("put / get / get_copy");
    TRY(mccache_put(cache, "greeting", 8, "hello, world", 12, MCCACHE_TTL_DEFAULT));
    printf("put  greeting = \"hello, world\" (TTL: the cache default)\n");

    /* Zero copy: a reference to the stored bytes, valid until we free it. */
    mccache_value_t *v = NULL;
    TRY(mccache_get(cache, "greeting", 8, &v));
    print_value("get  greeting -> ", v);

    /* Writers never change bytes under a reader. */
    TRY(mccache_put(cache, "greeting", 8, "hello again", 11, MCCACHE_TTL_DEFAULT));
    print_value("     the reference we hold still reads ", v);
    mccache_value_free(v);

    /* Copy into our own buffer: ask for the size first, then copy. */
    size_t len = 0;
    int rc = mccache_get_copy(cache, "greeting", 8, NULL, &len);
    printf("get_copy with no buffer -> %s, needs %zu bytes\n", mccache_err_name(rc), len);
    char *buf = malloc(len + 1);
    if (buf == NULL) exit(1);
    TRY(mccache_get_copy(cache, "greeting", 8, buf, &len));
    buf[len] = '\0';
    printf("get_copy into %zu bytes -> \"%s\"\n", len, buf);
    free(buf);

    rc = mccache_get(cache, "nobody", 6, &v);
    printf("get  nobody -> %s: %s\n", mccache_err_name(rc), mccache_strerror(rc));
}

static void metadata(mccache_cache_t *cache) {
    section("metadata");
    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    TRY(mccache_metadata(cache, "greeting", 8, &md));
    char t1[40], t2[40];
    printf("greeting: version %llu.%u (HLC milliseconds.counter) written by node %016llx\n",
           (unsigned long long)(md.version_hlc >> 16), (unsigned)(md.version_hlc & 0xffff),
           (unsigned long long)md.version_node);
    printf("          created %s, updated %s\n", fmt_time(md.created_ms, t1, sizeof t1),
           fmt_time(md.updated_ms, t2, sizeof t2));
    printf("          expires in %lld s (the cache's 2 h default TTL)\n",
           (long long)((md.expires_ms - now_ms() + 500) / 1000));
    printf("          %llu lookups; key %llu bytes, value %llu bytes, %llu bytes charged\n",
           (unsigned long long)md.lookups, (unsigned long long)md.key_size,
           (unsigned long long)md.value_size, (unsigned long long)md.charged_bytes);
}

static void ttl(mccache_cache_t *cache) {
    section("TTL");
    TRY(mccache_put(cache, "flash", 5, "gone soon", 9, 300));
    printf("put  flash with a 300 ms TTL; waiting for it to expire...\n");
    int64_t start = now_ms();
    while (mccache_contains(cache, "flash", 5) == MCCACHE_OK && now_ms() - start < 5000)
        sleep_ms(10);
    int rc = mccache_contains(cache, "flash", 5);
    printf("contains flash after %lld ms -> %s\n", (long long)(now_ms() - start),
           mccache_err_name(rc));
    if (rc != MCCACHE_ENOTFOUND) {
        fprintf(stderr, "demo: flash did not expire\n");
        exit(1);
    }

    TRY(mccache_put(cache, "forever", 7, "stays", 5, MCCACHE_TTL_NEVER));
    printf("put  forever with MCCACHE_TTL_NEVER\n");
}

static void delete_entry(mccache_cache_t *cache) {
    section("delete");
    TRY(mccache_delete(cache, "forever", 7));
    printf("delete forever -> OK\n");
    int rc = mccache_delete(cache, "forever", 7);
    printf("delete forever again -> %s\n", mccache_err_name(rc));
}

static void batches(mccache_cache_t *cache) {
    section("batches");
    const void *keys[3] = {"apple", "banana", "cherry"};
    size_t klens[3] = {5, 6, 6};
    const void *vals[3] = {"red", "yellow", "dark red"};
    size_t vlens[3] = {3, 6, 8};
    TRY(mccache_put_batch(cache, 3, keys, klens, vals, vlens, MCCACHE_TTL_DEFAULT));
    printf("put_batch apple, banana, cherry\n");

    const void *want[3] = {"apple", "durian", "cherry"};
    size_t wlens[3] = {5, 6, 6};
    mccache_value_t *values[3];
    int statuses[3];
    TRY(mccache_get_batch(cache, 3, want, wlens, values, statuses));
    for (int i = 0; i < 3; i++) {
        if (statuses[i] == MCCACHE_OK) {
            size_t len = 0;
            const char *data = (const char *)mccache_value_data(values[i], &len);
            printf("get_batch %-7.*s -> \"%.*s\"\n", (int)wlens[i], (const char *)want[i],
                   (int)len, data);
        } else {
            printf("get_batch %-7.*s -> %s\n", (int)wlens[i], (const char *)want[i],
                   mccache_err_name(statuses[i]));
        }
        mccache_value_free(values[i]);
    }
}

static void iterate(mccache_cache_t *cache) {
    section("iteration");
    size_t n = 0;
    TRY(mccache_len(cache, &n));
    printf("%zu entries:\n", n);
    mccache_iter_t *it = NULL;
    TRY(mccache_iter_new(cache, &it));
    const void *key;
    size_t klen;
    mccache_value_t *v;
    while (mccache_iter_next(it, &key, &klen, &v) == MCCACHE_OK) {
        size_t vlen = 0;
        const char *data = (const char *)mccache_value_data(v, &vlen);
        printf("   %-10.*s = \"%.*s\"\n", (int)klen, (const char *)key, (int)vlen, data);
        mccache_value_free(v);
    }
    mccache_iter_free(it);
}

static void checksums(mccache_cache_t *cache) {
    section("checksums");
    uint64_t sum = 0, one = 0;
    TRY(mccache_checksum(cache, &sum));
    TRY(mccache_key_checksum(cache, "apple", 5, &one));
    printf("cache checksum %016llx (the sum of every entry's checksum)\n",
           (unsigned long long)sum);
    printf("apple checksum %016llx\n", (unsigned long long)one);
}

static void metrics(mccache_cache_t *cache) {
    section("metrics (JSON)");
    /* mccache_metrics_json() gives the same for the whole node, every cache
     * and the cluster. */
    char *json = NULL;
    TRY(mccache_cache_metrics_json(cache, &json));
    printf("%s\n", json);
    mccache_free(json);
}

/* Every node of the demo shares these settings: a cluster of its own and a
 * key, so its traffic on the loopback interface is sealed. */
static mccache_config_t *demo_config(void) {
    mccache_config_t *cfg = NULL;
    TRY(mccache_config_new(&cfg));
    /* A cluster of its own (per process), so two demos never mix. */
    char name[64];
    snprintf(name, sizeof name, "mccache-demo-%ld", (long)getpid());
    TRY(mccache_config_set(cfg, "cluster_name", name));
    /* A demo key: make your own with `openssl rand -base64 32`. */
    TRY(mccache_config_set(cfg, "crypto_key", "ZGVtby1rZXktZGVtby1rZXktZGVtby1rZXktZGVtbyE="));
    /* A 2 h default TTL for the "demo" cache. */
    TRY(mccache_config_set(cfg, "demo.cache_ttl", "2h"));
    return cfg;
}

/* Waits up to 3 s for `pred` on every peer; returns the milliseconds it took, or -1. */
static long long wait_all(mccache_cache_t **caches, int n, int (*pred)(mccache_cache_t *, const void *),
                          const void *arg) {
    int64_t start = now_ms();
    for (;;) {
        int ok = 1;
        for (int i = 0; i < n; i++) ok &= pred(caches[i], arg);
        if (ok) return (long long)(now_ms() - start);
        if (now_ms() - start > 3000) return -1;
        sleep_ms(2);
    }
}

static int has_key(mccache_cache_t *c, const void *key) {
    return mccache_contains(c, key, strlen(key)) == MCCACHE_OK;
}
static int lacks_key(mccache_cache_t *c, const void *key) { return !has_key(c, key); }

static void version_of(mccache_cache_t *c, const char *key, mccache_metadata_t *m) {
    memset(m, 0, sizeof *m);
    m->struct_size = sizeof *m;
    (void)mccache_metadata(c, key, strlen(key), m);
}

static int same_version_everywhere(mccache_cache_t **caches, int n, const char *key) {
    mccache_metadata_t first, m;
    version_of(caches[0], key, &first);
    for (int i = 1; i < n; i++) {
        version_of(caches[i], key, &m);
        if (m.version_hlc != first.version_hlc || m.version_node != first.version_node) return 0;
    }
    return first.version_hlc != 0;
}

static void three_nodes(void) {
    section("a three-node cluster on loopback");
    mccache_config_t *cfg = demo_config();
    mccache_t *nodes[3];
    mccache_cache_t *caches[3];
    for (int i = 0; i < 3; i++) {
        TRY(mccache_open(cfg, &nodes[i]));
        TRY(mccache_cache_open(nodes[i], "demo", &caches[i]));
        uint64_t id = 0;
        TRY(mccache_node_id(nodes[i], &id));
        printf("node %d: id %016llx\n", i + 1, (unsigned long long)id);
    }
    mccache_config_free(cfg);

    /* 1. A put on one node appears on the others. */
    TRY(mccache_put(caches[0], "greeting", 8, "hello from node 1", 17, MCCACHE_TTL_DEFAULT));
    long long ms = wait_all(caches, 3, has_key, "greeting");
    printf("put greeting on node 1: %s\n",
           ms >= 0 ? "visible on nodes 2 and 3" : "NOT replicated within 3 s");
    if (ms >= 0) printf("   (after %lld ms)\n", ms);

    /* 2. A delete on another node removes it everywhere. */
    TRY(mccache_delete(caches[1], "greeting", 8));
    ms = wait_all(caches, 3, lacks_key, "greeting");
    printf("delete greeting on node 2: %s\n", ms >= 0 ? "gone from every node" : "NOT replicated");

    /* 3. A conflict: nodes 1 and 3 write the same key at the same moment.
     * Every node keeps the highest version (hybrid logical clock, then node
     * id), so they agree without synchronised clocks. */
    TRY(mccache_put(caches[0], "color", 5, "red", 3, MCCACHE_TTL_DEFAULT));
    TRY(mccache_put(caches[2], "color", 5, "blue", 4, MCCACHE_TTL_DEFAULT));
    int64_t start = now_ms();
    while (!same_version_everywhere(caches, 3, "color") && now_ms() - start < 3000) sleep_ms(2);
    printf("conflict: node 1 wrote color=red, node 3 wrote color=blue at once\n");
    for (int i = 0; i < 3; i++) {
        char buf[16];
        size_t len = sizeof buf;
        mccache_metadata_t m;
        version_of(caches[i], "color", &m);
        int rc = mccache_get_copy(caches[i], "color", 5, buf, &len);
        printf("   node %d: color=%.*s (version %llx from node %016llx)\n", i + 1,
               rc == MCCACHE_OK ? (int)len : 1, rc == MCCACHE_OK ? buf : "?",
               (unsigned long long)m.version_hlc, (unsigned long long)m.version_node);
    }

    /* 4. Checksums: every member answers, and they match. */
    for (int i = 0; i < 20; i++) {
        char key[16], value[32];
        snprintf(key, sizeof key, "item-%02d", i);
        snprintf(value, sizeof value, "value %d", i);
        TRY(mccache_put(caches[i % 3], key, strlen(key), value, strlen(value), MCCACHE_TTL_DEFAULT));
    }
    size_t lens[3] = {0, 0, 0};
    start = now_ms();
    while (now_ms() - start < 3000) {
        for (int i = 0; i < 3; i++) TRY(mccache_len(caches[i], &lens[i]));
        if (lens[0] == 21 && lens[1] == 21 && lens[2] == 21) break;
        sleep_ms(2);
    }
    char *json = NULL;
    TRY(mccache_cluster_collect(nodes[1], MCCACHE_QUERY_CHECKSUMS, "demo", 1000, &json));
    printf("cluster-wide checksums, asked from node 2:\n   %s\n", json);
    mccache_free(json);
    uint64_t sums[3];
    for (int i = 0; i < 3; i++) TRY(mccache_checksum(caches[i], &sums[i]));
    printf("checksums %s: %016llx %016llx %016llx\n",
           sums[0] == sums[1] && sums[1] == sums[2] ? "match" : "DIFFER",
           (unsigned long long)sums[0], (unsigned long long)sums[1], (unsigned long long)sums[2]);
    for (int i = 0; i < 3; i++) TRY(mccache_close(nodes[i]));
    if (!(sums[0] == sums[1] && sums[1] == sums[2])) exit(1);
}

int main(void) {
    printf("libmccache %s demo\n", mccache_version_string());
    if (mccache_version() != MCCACHE_VERSION_NUMBER) {
        fprintf(stderr, "demo: built against %s but running %s\n", MCCACHE_VERSION_STRING,
                mccache_version_string());
        return 1;
    }

    /* The default interface is 127.0.0.1: nothing leaves this host. */
    mccache_config_t *cfg = demo_config();
    mccache_t *node = NULL;
    TRY(mccache_open(cfg, &node));
    mccache_config_free(cfg); /* the node keeps its own copy */

    uint64_t id = 0;
    TRY(mccache_node_id(node, &id));
    printf("node %016llx is open on the loopback interface\n", (unsigned long long)id);

    mccache_cache_t *cache = NULL;
    TRY(mccache_cache_open(node, "demo", &cache));
    struct event_log *log = calloc(1, sizeof *log);
    if (log == NULL) return 1;
    pthread_mutex_init(&log->mu, NULL);
    /* The library frees `log` through on_change_free when the node closes. */
    TRY(mccache_on_change(cache, on_change, log, on_change_free));

    basics(cache);
    show_events(log, 2);
    metadata(cache);
    ttl(cache);
    show_events(log, 5);
    delete_entry(cache);
    show_events(log, 6);
    batches(cache);
    show_events(log, 9);
    iterate(cache);
    checksums(cache);
    metrics(cache);

    TRY(mccache_close(node));
    printf("\nnode closed\n");

    three_nodes();
    printf("\ndone\n");
    return 0;
}
