/*
 * One member of the multi-process stress cluster (driven by run_stress.py).
 *
 * It writes McCache's operation mix until an absolute wall-clock time shared
 * by every member, so that no member is still writing while others verify.
 * Then it waits for quiescence: first with the reliable stream alone, then
 * with forced anti-entropy rounds, until every member reports the same
 * checksum. Finally it dumps its whole map, its own writes (from the change
 * callback, which carries each write's exact version) and its metrics, and
 * waits at a file barrier so that it keeps answering the others' queries
 * until they are done too.
 *
 * Only the public API is used; it links the shared libmccache.so.
 */
#define _POSIX_C_SOURCE 200809L

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif

#include "mccache.h"
#include "stress_value.h"

#define CACHE_NAME "stress"
#define MAX_VALUE (256 * 1024)

/* Exit codes: the orchestrator reports them by name. */
enum { EXIT_SETUP = 1, EXIT_NOT_CONVERGED = 2, EXIT_INTEGRITY = 3, EXIT_BARRIER = 4 };

typedef struct {
    int index, nodes;
    const char *cluster, *out_dir;
    uint64_t seed;
    int64_t start_at, burst_at, stop_at; /* Unix ms */
    int pause_us;
    int shared_keys, private_keys;
    int stream_grace_ms, quiesce_ms, barrier_ms;
    int mix[3]; /* per mille of medium, large (> MTU) and huge values; the rest are small */
    const char *sets[64];
    int nsets;
} options_t;

typedef struct {
    uint64_t gets, hits, misses, inserts, updates, deletes, deletes_absent, contains, metadata;
    uint64_t errors, integrity_failures;
} counts_t;

/* ---- time ---------------------------------------------------------------- */

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(int64_t us) {
    if (us <= 0) return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- logging ------------------------------------------------------------- */

static int g_index;

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[node%d %lld] ", g_index, (long long)wall_ms());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- randomness ---------------------------------------------------------- */

static uint64_t g_rng;

static uint64_t rnd(void) { return stress_splitmix(&g_rng); }
static int rnd_below(int n) { return (int)(rnd() % (uint64_t)n); }
static int rnd_range(int lo, int hi) { return lo + rnd_below(hi - lo + 1); }

/* ---- keys and values ----------------------------------------------------- */

static const options_t *g_opt;

/* Most traffic goes to keys every member writes (conflicts); some to keys
 * only this member writes (pure replication). */
static size_t pick_key(char *buf, size_t cap) {
    if (g_opt->private_keys > 0 && rnd_below(100) < 15)
        return (size_t)snprintf(buf, cap, "p%d-%05d", g_opt->index, rnd_below(g_opt->private_keys));
    return (size_t)snprintf(buf, cap, "s-%05d", rnd_below(g_opt->shared_keys));
}

/* Small (most), medium, larger than the MTU (fragmented), and a few huge. */
static size_t pick_size(void) {
    int r = rnd_below(1000);
    int medium = g_opt->mix[0], large = g_opt->mix[1], huge = g_opt->mix[2];
    if (r < huge) return (size_t)rnd_range(200 * 1024, 210 * 1024);
    if (r < huge + large) return (size_t)rnd_range(5 * 1024, 50 * 1024);
    if (r < huge + large + medium) return (size_t)rnd_range(1024, 4096);
    return (size_t)rnd_range(STRESS_HEADER_SIZE, 200);
}

/* ---- the write log, fed by the change callback --------------------------- */

/* Local changes carry the exact version the engine gave each write; the
 * orchestrator merges every member's log into the expected final map. Only
 * the loop thread appends; the main thread reads once `local_events` says
 * every write has been seen (release/acquire on that counter). */
typedef struct {
    char *buf;
    size_t len, cap;
    atomic_ulong local_events, remote_events, repair_events, anomalies;
    int oom;
} write_log_t;

static void log_append(write_log_t *w, const char *line, size_t n) {
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1 << 20;
        while (cap < w->len + n) cap *= 2;
        char *p = realloc(w->buf, cap);
        if (!p) {
            w->oom = 1;
            return;
        }
        w->buf = p;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, line, n);
    w->len += n;
}

static void hex_of(const void *data, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; ++i) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = 0;
}

static void on_change(const mccache_event_t *e, void *opaque) {
    write_log_t *w = opaque;
    if (e->origin == MCCACHE_ORIGIN_REMOTE) {
        atomic_fetch_add(&w->remote_events, 1);
        return;
    }
    if (e->origin == MCCACHE_ORIGIN_REPAIR) {
        atomic_fetch_add(&w->repair_events, 1);
        return;
    }
    /* Evictions and expiries would make members differ by design; the
     * settings rule them out, so any is an anomaly of the run. */
    if (e->type == MCCACHE_EVENT_EVICT || e->type == MCCACHE_EVENT_EXPIRE) {
        atomic_fetch_add(&w->anomalies, 1);
        return;
    }
    char key_hex[2 * 64 + 1];
    char line[256];
    hex_of(e->key, e->klen < 64 ? e->klen : 64, key_hex);
    int n;
    if (e->type == MCCACHE_EVENT_DELETE) {
        n = snprintf(line, sizeof line, "D %s %016llx %016llx -\n", key_hex,
                     (unsigned long long)e->version_hlc, (unsigned long long)e->version_node);
    } else {
        size_t vlen = 0;
        const void *v = mccache_value_data(e->value, &vlen);
        uint64_t sum = stress_entry_checksum(e->key, e->klen, e->version_hlc, e->version_node,
                                             XXH3_64bits(v, vlen));
        n = snprintf(line, sizeof line, "P %s %016llx %016llx %016llx\n", key_hex,
                     (unsigned long long)e->version_hlc, (unsigned long long)e->version_node,
                     (unsigned long long)sum);
    }
    log_append(w, line, (size_t)n);
    atomic_fetch_add_explicit(&w->local_events, 1, memory_order_release);
}

/* ---- the operation mix --------------------------------------------------- */

static void check_value(mccache_value_t *v, const char *key, size_t klen, counts_t *c) {
    size_t len = 0;
    const void *data = mccache_value_data(v, &len);
    const char *why = stress_value_check(data, len, key, klen, NULL, NULL);
    if (why) {
        c->integrity_failures++;
        if (c->integrity_failures <= 10) say("corrupt value under key %.*s: %s", (int)klen, key, why);
    }
}

static int present(mccache_cache_t *cache, const char *key, size_t klen) {
    return mccache_contains(cache, key, klen) == MCCACHE_OK;
}

/* Up to four picks to find a key in the wanted state, as McCache's test
 * effectively does by drawing many times; else use the last pick anyway. */
static size_t pick_key_where(mccache_cache_t *cache, char *key, size_t cap, int want_present) {
    size_t klen = 0;
    for (int i = 0; i < 4; ++i) {
        klen = pick_key(key, cap);
        if (present(cache, key, klen) == want_present) break;
    }
    return klen;
}

static void write_value(mccache_cache_t *cache, const char *key, size_t klen, unsigned char *buf,
                        uint32_t *counter, counts_t *c, uint64_t *writes_expected) {
    size_t vlen = pick_size();
    stress_value_fill(buf, vlen, (uint8_t)g_opt->index, ++*counter, key, klen);
    int rc = mccache_put(cache, key, klen, buf, vlen, MCCACHE_TTL_NEVER);
    if (rc != MCCACHE_OK) {
        if (++c->errors <= 10)
            say("put %.*s (%zu bytes): %s: %s", (int)klen, key, vlen, mccache_err_name(rc),
            mccache_last_error());
        return;
    }
    ++*writes_expected;
}

static void one_op(mccache_cache_t *cache, unsigned char *buf, uint32_t *counter, counts_t *c,
                   uint64_t *writes_expected, FILE *ambiguous) {
    char key[64];
    size_t klen;
    int r = rnd_below(100);
    if (r < 50) {
        klen = pick_key(key, sizeof key);
        mccache_value_t *v = NULL;
        c->gets++;
        int rc = mccache_get(cache, key, klen, &v);
        if (rc == MCCACHE_OK) {
            c->hits++;
            check_value(v, key, klen, c);
            mccache_value_free(v);
        } else if (rc == MCCACHE_ENOTFOUND) {
            c->misses++;
        } else {
            c->errors++;
        }
    } else if (r < 70) {
        klen = pick_key_where(cache, key, sizeof key, 0);
        c->inserts++;
        write_value(cache, key, klen, buf, counter, c, writes_expected);
    } else if (r < 90) {
        klen = pick_key_where(cache, key, sizeof key, 1);
        c->updates++;
        write_value(cache, key, klen, buf, counter, c, writes_expected);
    } else if (r < 95) {
        klen = pick_key_where(cache, key, sizeof key, 1);
        c->deletes++;
        int rc = mccache_delete(cache, key, klen);
        if (rc == MCCACHE_OK) {
            ++*writes_expected;
        } else if (rc == MCCACHE_ENOTFOUND) {
            /* A tombstone was written, but no event tells its version: the
             * orchestrator cannot predict this key's final state exactly. */
            c->deletes_absent++;
            char hex[2 * 64 + 1];
            hex_of(key, klen, hex);
            fprintf(ambiguous, "X %s\n", hex);
        } else {
            c->errors++;
        }
    } else if (r < 98) {
        klen = pick_key(key, sizeof key);
        c->contains++;
        (void)present(cache, key, klen);
    } else {
        klen = pick_key(key, sizeof key);
        mccache_metadata_t m;
        memset(&m, 0, sizeof m);
        m.struct_size = sizeof m;
        c->metadata++;
        int rc = mccache_metadata(cache, key, klen, &m);
        if (rc != MCCACHE_OK && rc != MCCACHE_ENOTFOUND) c->errors++;
    }
}

/* ---- JSON helpers -------------------------------------------------------- */

static cJSON *metrics_now(mccache_t *node) {
    char *j = NULL;
    if (mccache_metrics_json(node, &j) != MCCACHE_OK) return cJSON_CreateNull();
    cJSON *m = cJSON_Parse(j);
    mccache_free(j);
    return m ? m : cJSON_CreateNull();
}

static double cluster_metric(cJSON *metrics, const char *name) {
    cJSON *c = cJSON_GetObjectItemCaseSensitive(metrics, "cluster");
    cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* ---- quiescence ---------------------------------------------------------- */

/* The latest checksum each member reported. Queries are single datagrams and
 * the loss is injected on them too, so one collect rarely hears everyone:
 * answers accumulate over a sliding window instead. */
typedef struct {
    char id[32];
    char checksum[32];
    double entries;
    int64_t at_ms;
} answer_t;

typedef struct {
    answer_t a[64];
    int n;
    int collects, complete_collects;
} answers_t;

static void record_answers(answers_t *as, const char *json, int64_t now, int nodes,
                           int *members_out) {
    cJSON *root = cJSON_Parse(json);
    if (!root) return;
    cJSON *members = cJSON_GetObjectItemCaseSensitive(root, "members");
    *members_out = cJSON_IsNumber(members) ? members->valueint : -1;
    cJSON *replies = cJSON_GetObjectItemCaseSensitive(root, "replies");
    int count = 0;
    cJSON *r;
    cJSON_ArrayForEach(r, replies) {
        cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "caches"), CACHE_NAME);
        cJSON *sum = cJSON_GetObjectItemCaseSensitive(c, "checksum");
        cJSON *entries = cJSON_GetObjectItemCaseSensitive(c, "entries");
        answer_t cur;
        memset(&cur, 0, sizeof cur);
        snprintf(cur.id, sizeof cur.id, "%s", r->string ? r->string : "?");
        /* A member that has not opened the cache yet reports nothing for it. */
        snprintf(cur.checksum, sizeof cur.checksum, "%s",
                 cJSON_IsString(sum) ? sum->valuestring : "none");
        cur.entries = cJSON_IsNumber(entries) ? entries->valuedouble : 0;
        cur.at_ms = now;
        ++count;
        int i;
        for (i = 0; i < as->n; ++i)
            if (strcmp(as->a[i].id, cur.id) == 0) break;
        if (i == as->n) {
            if (as->n == (int)(sizeof as->a / sizeof as->a[0])) continue;
            as->n++;
        }
        as->a[i] = cur;
    }
    as->collects++;
    if (count == nodes) as->complete_collects++;
    cJSON_Delete(root);
}

/* Converged when every expected member answered within the window, all with
 * the same checksum and size as this member's own, which itself did not
 * change during the window. */
static int agreed(const answers_t *as, int nodes, int members, const char *mine, double my_entries,
                  int64_t stable_since, int64_t now, int64_t window) {
    if (members != nodes || as->n != nodes || now - stable_since < window) return 0;
    for (int i = 0; i < as->n; ++i) {
        if (now - as->a[i].at_ms > window) return 0;
        if (as->a[i].at_ms < stable_since) return 0;
        if (strcmp(as->a[i].checksum, mine) != 0 || as->a[i].entries != my_entries) return 0;
    }
    return 1;
}

/* Returns the ms it took, or -1 if it did not converge by the deadline. */
static int64_t wait_converged(mccache_t *node, mccache_cache_t *cache, int64_t until_mono,
                              int force_sync, answers_t *as) {
    const int64_t window = 1500;
    int64_t begin = mono_ms(), last_sync = 0, stable_since = begin;
    char last_mine[32] = "";
    while (mono_ms() < until_mono) {
        int64_t now = mono_ms();
        if (force_sync && now - last_sync >= 1000) {
            mccache_sync(node);
            last_sync = now;
        }
        uint64_t sum = 0;
        size_t len = 0;
        mccache_checksum(cache, &sum);
        mccache_len(cache, &len);
        char mine[32];
        snprintf(mine, sizeof mine, "%016llx", (unsigned long long)sum);
        if (strcmp(mine, last_mine) != 0) {
            snprintf(last_mine, sizeof last_mine, "%s", mine);
            stable_since = now;
        }
        char *out = NULL;
        int members = -1;
        if (mccache_cluster_collect(node, MCCACHE_QUERY_CHECKSUMS, CACHE_NAME, 500, &out) == MCCACHE_OK) {
            record_answers(as, out, mono_ms(), g_opt->nodes, &members);
            mccache_free(out);
        }
        now = mono_ms();
        if (agreed(as, g_opt->nodes, members, mine, (double)len, stable_since, now, window))
            return now - begin;
        sleep_us(100 * 1000);
    }
    return -1;
}

/* ---- the dump ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per live entry: key, version, the engine's checksum, our own
 * recomputation of it from the bytes we read, the size and a verdict on the
 * value's integrity. Sorted, so two dumps can be diffed by hand. */
static int write_dump(mccache_cache_t *cache, const char *path, uint64_t *bad) {
    mccache_iter_t *it = NULL;
    if (mccache_iter_new(cache, &it) != MCCACHE_OK) return -1;
    size_t n = 0, cap = 1024;
    char **lines = malloc(cap * sizeof *lines);
    const void *key;
    size_t klen;
    mccache_value_t *v;
    while (lines && mccache_iter_next(it, &key, &klen, &v) == MCCACHE_OK) {
        mccache_metadata_t m;
        memset(&m, 0, sizeof m);
        m.struct_size = sizeof m;
        int rc = mccache_metadata(cache, key, klen, &m);
        size_t vlen = 0;
        const void *data = mccache_value_data(v, &vlen);
        uint8_t writer = 0;
        uint32_t counter = 0;
        const char *why = stress_value_check(data, vlen, key, klen, &writer, &counter);
        uint64_t mine = stress_entry_checksum(key, klen, m.version_hlc, m.version_node, XXH3_64bits(data, vlen));
        const char *verdict = "ok";
        if (rc != MCCACHE_OK) verdict = "no-metadata";
        else if (why) verdict = "corrupt";
        else if (m.checksum != mine) verdict = "checksum-mismatch";
        else if (m.version_node != (uint64_t)writer + 1) verdict = "version-not-writer";
        else if (m.value_size != vlen) verdict = "size-mismatch";
        if (strcmp(verdict, "ok") != 0) ++*bad;
        char key_hex[2 * 64 + 1];
        hex_of(key, klen < 64 ? klen : 64, key_hex);
        char line[320];
        snprintf(line, sizeof line, "%s %016llx %016llx %016llx %016llx %zu %u:%u %s", key_hex,
                 (unsigned long long)m.version_hlc, (unsigned long long)m.version_node,
                 (unsigned long long)m.checksum, (unsigned long long)mine, vlen, writer, counter,
                 verdict);
        mccache_value_free(v);
        if (n == cap) {
            cap *= 2;
            char **p = realloc(lines, cap * sizeof *lines);
            if (!p) break;
            lines = p;
        }
        lines[n++] = strdup(line);
    }
    mccache_iter_free(it);
    if (!lines) return -1;
    qsort(lines, n, sizeof *lines, cmp_str);
    FILE *f = fopen(path, "w");
    for (size_t i = 0; i < n; ++i) {
        if (f && lines[i]) fprintf(f, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    return f && fclose(f) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t cap, const char *suffix) {
    snprintf(buf, cap, "%s/node%d.%s", g_opt->out_dir, g_opt->index, suffix);
}

static int write_text(const char *suffix, const char *text, size_t len) {
    char path[4096];
    path_of(path, sizeof path, suffix);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fwrite(text, 1, len, f);
    return fclose(f);
}

/* Every member stays open (and answers queries) until all have dumped. */
static int barrier(int64_t until_mono) {
    while (mono_ms() < until_mono) {
        int done = 0;
        for (int i = 0; i < g_opt->nodes; ++i) {
            char path[4096];
            snprintf(path, sizeof path, "%s/node%d.done", g_opt->out_dir, i);
            FILE *f = fopen(path, "r");
            if (f) {
                ++done;
                fclose(f);
            }
        }
        if (done == g_opt->nodes) return 0;
        sleep_us(50 * 1000);
    }
    return -1;
}

/* ---- options ------------------------------------------------------------- */

static void usage(void) {
    fprintf(stderr,
            "usage: stress_node --index I --nodes N --cluster NAME --out DIR --start-at MS\n"
            "         --stop-at MS [--burst-at MS] [--pause-us US] [--seed S]\n"
            "         [--shared-keys K] [--private-keys P] [--stream-grace-ms T]\n"
            "         [--quiesce-ms T] [--barrier-ms T] [--set key=value]...\n"
            "         [--size-mix MEDIUM,LARGE,HUGE] (per mille; default 200,90,10)\n");
}

static int parse_options(int argc, char **argv, options_t *o) {
    static const struct option longs[] = {
        {"index", required_argument, 0, 'i'},      {"nodes", required_argument, 0, 'n'},
        {"cluster", required_argument, 0, 'c'},    {"out", required_argument, 0, 'o'},
        {"seed", required_argument, 0, 's'},       {"start-at", required_argument, 0, 'a'},
        {"burst-at", required_argument, 0, 'b'},   {"stop-at", required_argument, 0, 'z'},
        {"pause-us", required_argument, 0, 'p'},   {"shared-keys", required_argument, 0, 'k'},
        {"private-keys", required_argument, 0, 'K'}, {"stream-grace-ms", required_argument, 0, 'g'},
        {"quiesce-ms", required_argument, 0, 'q'}, {"barrier-ms", required_argument, 0, 'B'},
        {"set", required_argument, 0, 'S'},        {"size-mix", required_argument, 0, 'm'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->index = -1;
    o->seed = 1;
    o->pause_us = 10000;
    o->shared_keys = 500;
    o->private_keys = 100;
    o->stream_grace_ms = 3000;
    o->quiesce_ms = 60000;
    o->barrier_ms = 30000;
    o->mix[0] = 200;
    o->mix[1] = 90;
    o->mix[2] = 10;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
            case 'i': o->index = atoi(optarg); break;
            case 'n': o->nodes = atoi(optarg); break;
            case 'c': o->cluster = optarg; break;
            case 'o': o->out_dir = optarg; break;
            case 's': o->seed = strtoull(optarg, NULL, 10); break;
            case 'a': o->start_at = strtoll(optarg, NULL, 10); break;
            case 'b': o->burst_at = strtoll(optarg, NULL, 10); break;
            case 'z': o->stop_at = strtoll(optarg, NULL, 10); break;
            case 'p': o->pause_us = atoi(optarg); break;
            case 'k': o->shared_keys = atoi(optarg); break;
            case 'K': o->private_keys = atoi(optarg); break;
            case 'g': o->stream_grace_ms = atoi(optarg); break;
            case 'q': o->quiesce_ms = atoi(optarg); break;
            case 'B': o->barrier_ms = atoi(optarg); break;
            case 'm':
                if (sscanf(optarg, "%d,%d,%d", &o->mix[0], &o->mix[1], &o->mix[2]) != 3) return -1;
                break;
            case 'S':
                if (o->nsets == (int)(sizeof o->sets / sizeof o->sets[0])) return -1;
                o->sets[o->nsets++] = optarg;
                break;
            default: return -1;
        }
    }
    if (o->index < 0 || o->nodes < 1 || o->index >= o->nodes || o->nodes > 64 || !o->cluster ||
        !o->out_dir || !o->start_at || !o->stop_at || o->shared_keys < 1 || o->private_keys < 0 || o->mix[0] < 0 ||
        o->mix[1] < 0 || o->mix[2] < 0 || o->mix[0] + o->mix[1] + o->mix[2] > 1000)
        return -1;
    if (!o->burst_at || o->burst_at > o->stop_at) o->burst_at = o->stop_at;
    return 0;
}

static int open_node(const options_t *o, mccache_t **node) {
    mccache_config_t *cfg = NULL;
    if (mccache_config_new(&cfg) != MCCACHE_OK) return -1;
    char id[32];
    snprintf(id, sizeof id, "%d", o->index + 1);
    /* Readable versions (node i writes with node id i+1), and limits far above
     * what the run stores: an eviction would make members differ by design. */
    const char *fixed[][2] = {{"cluster_name", o->cluster}, {"interface", "127.0.0.1"},
                              {"node_id", id},              {"log_level", "warn"},
                              {"cache_max", "10000000"},    {"cache_size", "4GiB"},
                              {"cache_ttl", "0"},           {"event_queue_max", "16777216"}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i) {
        if (mccache_config_set(cfg, fixed[i][0], fixed[i][1]) != MCCACHE_OK) {
            say("config %s: %s", fixed[i][0], mccache_last_error());
            mccache_config_free(cfg);
            return -1;
        }
    }
    for (int i = 0; i < o->nsets; ++i) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s", o->sets[i]);
        char *eq = strchr(kv, '=');
        if (!eq) {
            say("--set %s: expected key=value", o->sets[i]);
            mccache_config_free(cfg);
            return -1;
        }
        *eq = 0;
        if (mccache_config_set(cfg, kv, eq + 1) != MCCACHE_OK) {
            say("--set %s: %s", o->sets[i], mccache_last_error());
            mccache_config_free(cfg);
            return -1;
        }
    }
    int rc = mccache_open(cfg, node);
    mccache_config_free(cfg);
    if (rc != MCCACHE_OK) say("open: %s: %s", mccache_err_name(rc), mccache_last_error());
    return rc == MCCACHE_OK ? 0 : -1;
}

static void add_counts(cJSON *o, const counts_t *c) {
    cJSON_AddNumberToObject(o, "gets", (double)c->gets);
    cJSON_AddNumberToObject(o, "hits", (double)c->hits);
    cJSON_AddNumberToObject(o, "misses", (double)c->misses);
    cJSON_AddNumberToObject(o, "inserts", (double)c->inserts);
    cJSON_AddNumberToObject(o, "updates", (double)c->updates);
    cJSON_AddNumberToObject(o, "deletes", (double)c->deletes);
    cJSON_AddNumberToObject(o, "deletes_absent", (double)c->deletes_absent);
    cJSON_AddNumberToObject(o, "contains", (double)c->contains);
    cJSON_AddNumberToObject(o, "metadata", (double)c->metadata);
    cJSON_AddNumberToObject(o, "errors", (double)c->errors);
    cJSON_AddNumberToObject(o, "integrity_failures", (double)c->integrity_failures);
}

static uint64_t total_ops(const counts_t *c) {
    return c->gets + c->inserts + c->updates + c->deletes + c->contains + c->metadata;
}

int main(int argc, char **argv) {
    options_t opt;
    if (parse_options(argc, argv, &opt) != 0) {
        usage();
        return EXIT_SETUP;
    }
    g_opt = &opt;
    g_index = opt.index;
#ifdef __linux__
    /* If the orchestrator is killed (a CI timeout), its members go with it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    uint64_t seed = opt.seed * 0x9E3779B97F4A7C15ull + (uint64_t)opt.index + 1;
    g_rng = seed;

    mccache_t *node = NULL;
    mccache_cache_t *cache = NULL;
    if (open_node(&opt, &node) != 0) return EXIT_SETUP;
    if (mccache_cache_open(node, CACHE_NAME, &cache) != MCCACHE_OK) {
        say("cache_open: %s", mccache_last_error());
        mccache_close(node);
        return EXIT_SETUP;
    }
    static write_log_t wlog; /* lives until exit: the callback may outlive main's frame */
    if (mccache_on_change(cache, on_change, &wlog, NULL) != MCCACHE_OK) {
        say("on_change: %s", mccache_last_error());
        mccache_close(node);
        return EXIT_SETUP;
    }
    char path[4096];
    path_of(path, sizeof path, "ambiguous");
    FILE *ambiguous = fopen(path, "w");
    unsigned char *buf = malloc(MAX_VALUE);
    if (!ambiguous || !buf) {
        say("cannot create %s", path);
        mccache_close(node);
        return EXIT_SETUP;
    }

    /* Writes before everyone has met are legal but reach late members only by
     * anti-entropy; wait for the full membership, up to the common start. */
    int members = 0;
    while (wall_ms() < opt.start_at) {
        cJSON *m = metrics_now(node);
        members = (int)cluster_metric(m, "members_alive") + 1;
        cJSON_Delete(m);
        if (members == opt.nodes) break;
        sleep_us(20 * 1000);
    }
    if (members != opt.nodes) say("starting with %d of %d members", members, opt.nodes);
    while (wall_ms() < opt.start_at) sleep_us(1000);

    counts_t paced, burst;
    memset(&paced, 0, sizeof paced);
    memset(&burst, 0, sizeof burst);
    uint32_t counter = 0;
    uint64_t writes_expected = 0;
    int64_t t0 = mono_ms();
    int64_t now_wall;
    while ((now_wall = wall_ms()) < opt.burst_at) {
        one_op(cache, buf, &counter, &paced, &writes_expected, ambiguous);
        /* McCache's aperture: about `pause` with a +-30% skew. */
        if (opt.pause_us > 0) sleep_us(opt.pause_us * (70 + rnd_below(61)) / 100);
    }
    int64_t t1 = mono_ms();
    while ((now_wall = wall_ms()) < opt.stop_at) {
        for (int i = 0; i < 64; ++i) one_op(cache, buf, &counter, &burst, &writes_expected, ambiguous);
    }
    int64_t t2 = mono_ms();
    fclose(ambiguous);
    say("stopped writing: %llu paced ops in %.1f s, %llu burst ops in %.1f s",
        (unsigned long long)total_ops(&paced), (t1 - t0) / 1000.0,
        (unsigned long long)total_ops(&burst), (t2 - t1) / 1000.0);
    cJSON *at_stop = metrics_now(node);

    /* First the reliable stream alone (NACK, retransmit, heartbeat tails),
     * then forced anti-entropy rounds, each against one overall deadline. */
    answers_t as;
    memset(&as, 0, sizeof as);
    int64_t deadline = mono_ms() + opt.quiesce_ms;
    int64_t grace_end = mono_ms() + opt.stream_grace_ms;
    int64_t stream_ms = wait_converged(node, cache, grace_end < deadline ? grace_end : deadline, 0, &as);
    cJSON *before_sync = metrics_now(node);
    int64_t sync_ms = stream_ms >= 0 ? 0 : wait_converged(node, cache, deadline, 1, &as);
    int converged = stream_ms >= 0 || sync_ms >= 0;
    if (converged && stream_ms >= 0) {
        /* Quiescence plus one forced anti-entropy round, as the oracle says. */
        mccache_sync(node);
        converged = wait_converged(node, cache, deadline, 0, &as) >= 0;
    }
    say(converged ? "converged (stream %lld ms, with anti-entropy %lld ms)"
                  : "NOT converged by the deadline (stream %lld ms, with anti-entropy %lld ms)",
        (long long)stream_ms, (long long)sync_ms);

    /* Every applied local write produces one local change event. A put that
     * a racing remote write had already superseded returns OK without one
     * (it is not the newest write of its key, so the log loses nothing the
     * oracle needs): wait for the count to reach the writes, or to stop
     * moving with the node's event queue drained. */
    int64_t ev_deadline = mono_ms() + 10000, last_move = mono_ms();
    unsigned long local_events = 0;
    while (mono_ms() < ev_deadline) {
        unsigned long n = atomic_load_explicit(&wlog.local_events, memory_order_acquire);
        if (n != local_events) last_move = mono_ms();
        local_events = n;
        if (n >= writes_expected || mono_ms() - last_move > 2000) break;
        sleep_us(10 * 1000);
    }

    uint64_t bad_entries = 0;
    path_of(path, sizeof path, "dump");
    int dump_rc = write_dump(cache, path, &bad_entries);
    int log_rc = write_text("writes", wlog.buf ? wlog.buf : "", wlog.len);

    cJSON *summary = cJSON_CreateObject();
    uint64_t node_id = 0;
    mccache_node_id(node, &node_id);
    char hex[32];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)node_id);
    cJSON_AddNumberToObject(summary, "index", opt.index);
    cJSON_AddStringToObject(summary, "node_id", hex);
    cJSON_AddNumberToObject(summary, "members_at_start", members);
    cJSON_AddNumberToObject(summary, "paced_seconds", (t1 - t0) / 1000.0);
    cJSON_AddNumberToObject(summary, "burst_seconds", (t2 - t1) / 1000.0);
    add_counts(cJSON_AddObjectToObject(summary, "paced"), &paced);
    add_counts(cJSON_AddObjectToObject(summary, "burst"), &burst);
    cJSON_AddNumberToObject(summary, "writes_expected", (double)writes_expected);
    cJSON_AddNumberToObject(summary, "local_events", (double)local_events);
    cJSON_AddNumberToObject(summary, "remote_events", (double)atomic_load(&wlog.remote_events));
    cJSON_AddNumberToObject(summary, "repair_events", (double)atomic_load(&wlog.repair_events));
    cJSON_AddNumberToObject(summary, "anomalies", (double)atomic_load(&wlog.anomalies));
    cJSON_AddBoolToObject(summary, "write_log_complete", local_events <= writes_expected && !wlog.oom);
    cJSON_AddBoolToObject(summary, "converged", converged);
    cJSON_AddNumberToObject(summary, "stream_converge_ms", (double)stream_ms);
    cJSON_AddNumberToObject(summary, "sync_converge_ms", (double)sync_ms);
    cJSON_AddNumberToObject(summary, "collects", as.collects);
    cJSON_AddNumberToObject(summary, "complete_collects", as.complete_collects);
    cJSON_AddNumberToObject(summary, "bad_entries", (double)bad_entries);
    cJSON_AddItemToObject(summary, "metrics_at_stop", at_stop);
    cJSON_AddItemToObject(summary, "metrics_before_sync", before_sync);
    cJSON_AddItemToObject(summary, "metrics_final", metrics_now(node));
    char *text = cJSON_Print(summary);
    int sum_rc = text ? write_text("json", text, strlen(text)) : -1;
    cJSON_free(text);
    cJSON_Delete(summary);
    write_text("done", "", 0);

    int barrier_rc = barrier(mono_ms() + opt.barrier_ms);
    if (barrier_rc != 0) say("barrier: not every member finished in time");
    mccache_close(node);
    free(buf);
    free(wlog.buf);

    if (dump_rc != 0 || log_rc != 0 || sum_rc != 0) return EXIT_SETUP;
    if (!converged) return EXIT_NOT_CONVERGED;
    if (bad_entries || paced.integrity_failures || burst.integrity_failures) return EXIT_INTEGRITY;
    if (barrier_rc != 0) return EXIT_BARRIER;
    return 0;
}
