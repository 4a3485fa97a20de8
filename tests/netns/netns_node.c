/*
 * One cluster member for the network-namespace fault tests, driven by
 * run_netns.py through a line protocol on stdin/stdout. It uses only the
 * public C API, the way an application would.
 *
 *   netns_node --tag T KEY=VALUE...      settings passed to mccache_config_set()
 *
 * Commands (one line each; every reply is one line starting "ok" or "err"):
 *   ping                       ok <node id hex>
 *   put KEY VALUE              ok
 *   del KEY                    ok found|absent
 *   work ms=N ops=N pause_us=N seed=N shared=N [rate=N] [profile=N] [gets=N] [vmin=N] [vmax=N]
 *                              ok started  (a workload on a thread of its own)
 *        profile=0 (default): half gets, inserts of this member's own keys,
 *          updates and deletes of `shared` keys, sizes 8 B..20 KB;
 *        profile=1: shared keys only: `gets` percent gets (default 0), the
 *          rest 95% puts and 5% deletes, sizes log-uniform in [vmin, vmax]
 *          (each decade equally likely: mostly small, a few very large);
 *        rate=N: N operations per second on a fixed schedule (a late
 *          operation does not shift the ones after it); else pause_us
 *          between operations.
 *   wait                       ok done ops=.. gets=.. inserts=.. updates=.. deletes=.. large=.. errors=..
 *   sync                       ok          (mccache_sync)
 *   sum                        ok <checksum hex> <len>
 *   dump                       ok <n>, then n lines "<key hex> <hlc hex> <node hex> <vlen> <fnv1a64 hex>", then "end"
 *   metrics | members          ok <json on one line>
 *   quit                       ok bye      (mccache_close, then exit 0)
 * Membership changes and the library's log go to stderr, so that stdout
 * carries nothing but replies.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mccache.h>

#define CACHE_NAME "netns"

static mccache_t *g_node;
static mccache_cache_t *g_cache;
static const char *g_tag = "n";

/* ---- small helpers ---- */

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us) {
    if (us <= 0) return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* xorshift64*: a seeded workload replays exactly. */
static uint64_t rnd(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* An independent value hash, so the map comparison does not trust the
 * library's own checksums. */
static uint64_t fnv1a64(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void reply_err(int rc) {
    printf("err %s %s\n", mccache_err_name(rc), mccache_last_error());
}

static void print_json_line(const char *json) {
    fputs("ok ", stdout);
    for (const char *p = json; *p; ++p) putchar(*p == '\n' ? ' ' : *p);
    putchar('\n');
}

/* ---- workload ---- */

struct work {
    int64_t ms, ops, pause_us, shared, rate, profile, gets_pct, vmin, vmax;
    uint64_t seed;
    atomic_int stop;
    pthread_t thread;
    int running;
    /* results, read after join */
    int64_t done, gets, inserts, updates, deletes, large, errors;
};

static struct work g_work;

static size_t make_value(char *buf, size_t cap, uint64_t *s, int64_t counter, int *large) {
    uint64_t r = rnd(s) % 100;
    size_t size;
    *large = 0;
    if (r < 85) {
        size = 8 + rnd(s) % 248;
    } else if (r < 95) {
        size = 256 + rnd(s) % 1200;
    } else {
        size = 2000 + rnd(s) % 18000; /* over the MTU: fragmented */
        *large = 1;
    }
    if (size > cap) size = cap;
    int n = snprintf(buf, cap, "%s:%" PRId64 ":", g_tag, counter);
    for (size_t i = (size_t)n; i < size; ++i) buf[i] = (char)('a' + rnd(s) % 26);
    return size < (size_t)n ? (size_t)n : size;
}

/* Log-uniform in [lo, hi]: as many values of 10..100 B as of 10..100 KiB. */
static size_t log_uniform(uint64_t *s, int64_t lo, int64_t hi) {
    double u = (double)(rnd(s) >> 11) / (double)(1ULL << 53);
    double v = exp(log((double)lo) + u * (log((double)hi) - log((double)lo)));
    size_t n = (size_t)v;
    return n < (size_t)lo ? (size_t)lo : n > (size_t)hi ? (size_t)hi : n;
}

static size_t fill_value(char *buf, size_t size, uint64_t *s, int64_t counter) {
    int n = snprintf(buf, size + 1, "%s:%" PRId64 ":", g_tag, counter);
    if (n < 0) n = 0;
    for (size_t i = (size_t)n; i < size; ++i) buf[i] = (char)('a' + rnd(s) % 26);
    return size < (size_t)n ? (size_t)n : size;
}

/* profile=1: only the `shared` keys, at the given share of gets. */
static int shared_op(struct work *w, uint64_t *s, char *value, int64_t i) {
    char key[64];
    snprintf(key, sizeof key, "s:%" PRId64, (int64_t)(rnd(s) % (uint64_t)w->shared));
    uint64_t r = rnd(s) % 100;
    int rc;
    if ((int64_t)r < w->gets_pct) {
        mccache_value_t *v = NULL;
        rc = mccache_get(g_cache, key, strlen(key), &v);
        mccache_value_free(v);
        w->gets++;
    } else if (rnd(s) % 100 < 95) {
        size_t vlen = fill_value(value, log_uniform(s, w->vmin, w->vmax), s, i);
        w->updates++;
        w->large += vlen > 1400;
        rc = mccache_put(g_cache, key, strlen(key), value, vlen, MCCACHE_TTL_NEVER);
    } else {
        rc = mccache_delete(g_cache, key, strlen(key));
        w->deletes++;
    }
    if (rc == MCCACHE_ENOTFOUND) rc = MCCACHE_OK;
    if (rc != MCCACHE_OK && w->errors++ < 5)
        fprintf(stderr, "[%s] workload: %s on %s: %s\n", g_tag, mccache_err_name(rc), key, mccache_last_error());
    return rc;
}

static void *work_main(void *arg) {
    struct work *w = arg;
    static char value20k[20480];
    char key[128];
    uint64_t s = w->seed | 1;
    char *big = NULL;
    if (w->profile == 1 && !(big = malloc((size_t)w->vmax + 64))) {
        w->errors++;
        return NULL;
    }
    int64_t private_next = 0;
    const int64_t start = now_us(), end = start + w->ms * 1000;
    for (int64_t i = 0; i < w->ops && now_us() < end && !atomic_load(&w->stop); ++i) {
        if (w->rate > 0) sleep_us(start + i * 1000000 / w->rate - now_us());
        else if (i > 0) sleep_us(w->pause_us);
        if (w->profile == 1) {
            shared_op(w, &s, big, i);
            w->done++;
            continue;
        }
        char *value = value20k;
        uint64_t r = rnd(&s) % 100;
        int rc = MCCACHE_OK;
        if (r < 50 || r >= 95) {
            if (private_next > 0 && rnd(&s) % 2)
                snprintf(key, sizeof key, "p:%s:%" PRId64, g_tag, (int64_t)(rnd(&s) % (uint64_t)private_next));
            else
                snprintf(key, sizeof key, "s:%" PRId64, (int64_t)(rnd(&s) % (uint64_t)w->shared));
            mccache_value_t *v = NULL;
            rc = mccache_get(g_cache, key, strlen(key), &v);
            mccache_value_free(v);
            if (rc == MCCACHE_ENOTFOUND) rc = MCCACHE_OK;
            w->gets++;
        } else if (r < 90) {
            int large;
            if (r < 70) {
                snprintf(key, sizeof key, "p:%s:%" PRId64, g_tag, private_next++);
                w->inserts++;
            } else {
                /* Shared keys: every member writes them, so they conflict. */
                snprintf(key, sizeof key, "s:%" PRId64, (int64_t)(rnd(&s) % (uint64_t)w->shared));
                w->updates++;
            }
            size_t vlen = make_value(value, sizeof value20k, &s, i, &large);
            w->large += large;
            rc = mccache_put(g_cache, key, strlen(key), value, vlen, MCCACHE_TTL_NEVER);
        } else {
            if (private_next > 0 && rnd(&s) % 10 < 4)
                snprintf(key, sizeof key, "p:%s:%" PRId64, g_tag, (int64_t)(rnd(&s) % (uint64_t)private_next));
            else
                snprintf(key, sizeof key, "s:%" PRId64, (int64_t)(rnd(&s) % (uint64_t)w->shared));
            rc = mccache_delete(g_cache, key, strlen(key));
            if (rc == MCCACHE_ENOTFOUND) rc = MCCACHE_OK;
            w->deletes++;
        }
        if (rc != MCCACHE_OK) {
            if (w->errors++ < 5)
                fprintf(stderr, "[%s] workload: %s on %s: %s\n", g_tag, mccache_err_name(rc), key,
                        mccache_last_error());
        }
        w->done++;
    }
    free(big);
    return NULL;
}

static int64_t opt(const char *args, const char *name, int64_t dflt) {
    char pat[32];
    snprintf(pat, sizeof pat, "%s=", name);
    const char *p = strstr(args, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : dflt;
}

static void cmd_work(const char *args) {
    if (g_work.running) {
        printf("err busy a workload is running\n");
        return;
    }
    memset(&g_work, 0, sizeof g_work);
    g_work.ms = opt(args, "ms", 1000);
    g_work.ops = opt(args, "ops", 1000000);
    g_work.pause_us = opt(args, "pause_us", 1000);
    g_work.shared = opt(args, "shared", 50);
    g_work.seed = (uint64_t)opt(args, "seed", 1);
    g_work.rate = opt(args, "rate", 0);
    g_work.profile = opt(args, "profile", 0);
    g_work.gets_pct = opt(args, "gets", 0);
    g_work.vmin = opt(args, "vmin", 10);
    g_work.vmax = opt(args, "vmax", 204800);
    if (g_work.shared < 1) g_work.shared = 1;
    if (g_work.profile < 0 || g_work.profile > 1 || g_work.vmin < 1 || g_work.vmax < g_work.vmin ||
        g_work.vmax > (64 << 20) || g_work.rate < 0) {
        printf("err usage profile 0|1, 1 <= vmin <= vmax <= 64 MiB, rate >= 0\n");
        return;
    }
    atomic_init(&g_work.stop, 0);
    if (pthread_create(&g_work.thread, NULL, work_main, &g_work) != 0) {
        printf("err thread cannot start a thread\n");
        return;
    }
    g_work.running = 1;
    printf("ok started\n");
}

static void cmd_wait(int stop) {
    if (!g_work.running) {
        printf("err idle no workload\n");
        return;
    }
    if (stop) atomic_store(&g_work.stop, 1);
    pthread_join(g_work.thread, NULL);
    g_work.running = 0;
    printf("ok done ops=%" PRId64 " gets=%" PRId64 " inserts=%" PRId64 " updates=%" PRId64
           " deletes=%" PRId64 " large=%" PRId64 " errors=%" PRId64 "\n",
           g_work.done, g_work.gets, g_work.inserts, g_work.updates, g_work.deletes, g_work.large,
           g_work.errors);
}

/* ---- inspection ---- */

static void cmd_dump(void) {
    mccache_iter_t *it = NULL;
    int rc = mccache_iter_new(g_cache, &it);
    if (rc != MCCACHE_OK) {
        reply_err(rc);
        return;
    }
    /* Collect first: the count goes before the lines. */
    size_t cap = 1024, n = 0;
    char **lines = malloc(cap * sizeof *lines);
    const void *key;
    size_t klen;
    mccache_value_t *v;
    while (lines && mccache_iter_next(it, &key, &klen, &v) == MCCACHE_OK) {
        mccache_metadata_t md;
        memset(&md, 0, sizeof md);
        md.struct_size = sizeof md;
        size_t vlen = 0;
        const void *vd = mccache_value_data(v, &vlen);
        uint64_t vh = fnv1a64(vd, vlen);
        /* A write that races the dump shows up as a mismatch on the next
         * comparison; the orchestrator dumps only when writers are quiet. */
        if (mccache_metadata(g_cache, key, klen, &md) != MCCACHE_OK) md.version_hlc = md.version_node = 0;
        mccache_value_free(v);
        if (n == cap) {
            char **grown = realloc(lines, 2 * cap * sizeof *lines);
            if (!grown) break;
            lines = grown;
            cap *= 2;
        }
        size_t size = klen * 2 + 96;
        char *line = malloc(size);
        if (!line) break;
        for (size_t i = 0; i < klen; ++i) sprintf(line + 2 * i, "%02x", ((const unsigned char *)key)[i]);
        snprintf(line + 2 * klen, size - 2 * klen, " %016" PRIx64 " %016" PRIx64 " %zu %016" PRIx64,
                 md.version_hlc, md.version_node, vlen, vh);
        lines[n++] = line;
    }
    mccache_iter_free(it);
    printf("ok %zu\n", n);
    for (size_t i = 0; i < n; ++i) {
        puts(lines[i]);
        free(lines[i]);
    }
    free(lines);
    puts("end");
}

static void on_member(const mccache_member_t *m, void *opaque) {
    static const char *names[] = {"?", "joined", "left", "down", "recovered", "restarted"};
    (void)opaque;
    int e = m->event >= 1 && m->event <= 5 ? m->event : 0;
    fprintf(stderr, "[%s] member %016" PRIx64 " %s (%s) incarnation %016" PRIx64 "\n", g_tag,
            m->node_id, names[e], m->address ? m->address : "?", m->incarnation);
}

/* ---- main ---- */

static int open_node(int argc, char **argv) {
    mccache_config_t *cfg = NULL;
    int rc = mccache_config_new(&cfg);
    if (rc != MCCACHE_OK) return rc;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc) {
            g_tag = argv[++i];
            continue;
        }
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "netns_node: expected KEY=VALUE, got \"%s\"\n", argv[i]);
            mccache_config_free(cfg);
            return MCCACHE_EINVAL;
        }
        *eq = '\0';
        rc = mccache_config_set(cfg, argv[i], eq + 1);
        if (rc != MCCACHE_OK) {
            fprintf(stderr, "netns_node: %s\n", mccache_last_error());
            mccache_config_free(cfg);
            return rc;
        }
    }
    rc = mccache_open(cfg, &g_node);
    mccache_config_free(cfg);
    if (rc != MCCACHE_OK) {
        fprintf(stderr, "netns_node: open: %s\n", mccache_last_error());
        return rc;
    }
    mccache_on_member(g_node, on_member, NULL, NULL);
    rc = mccache_cache_open(g_node, CACHE_NAME, &g_cache);
    if (rc != MCCACHE_OK) fprintf(stderr, "netns_node: cache: %s\n", mccache_last_error());
    return rc;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (open_node(argc, argv) != MCCACHE_OK) {
        printf("err open %s\n", mccache_last_error());
        return 2;
    }
    uint64_t id = 0;
    mccache_node_id(g_node, &id);
    printf("ready %016" PRIx64 "\n", id);

    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        char *args = strchr(line, ' ');
        if (args) *args++ = '\0';
        else args = line + strlen(line);
        int rc;
        if (strcmp(line, "ping") == 0) {
            printf("ok %016" PRIx64 "\n", id);
        } else if (strcmp(line, "put") == 0) {
            char *val = strchr(args, ' ');
            if (!val) {
                printf("err usage put KEY VALUE\n");
                continue;
            }
            *val++ = '\0';
            rc = mccache_put(g_cache, args, strlen(args), val, strlen(val), MCCACHE_TTL_NEVER);
            if (rc == MCCACHE_OK) printf("ok\n");
            else reply_err(rc);
        } else if (strcmp(line, "del") == 0) {
            rc = mccache_delete(g_cache, args, strlen(args));
            if (rc == MCCACHE_OK || rc == MCCACHE_ENOTFOUND)
                printf("ok %s\n", rc == MCCACHE_OK ? "found" : "absent");
            else reply_err(rc);
        } else if (strcmp(line, "work") == 0) {
            cmd_work(args);
        } else if (strcmp(line, "wait") == 0 || strcmp(line, "stop") == 0) {
            cmd_wait(strcmp(line, "stop") == 0);
        } else if (strcmp(line, "sync") == 0) {
            rc = mccache_sync(g_node);
            if (rc == MCCACHE_OK) printf("ok\n");
            else reply_err(rc);
        } else if (strcmp(line, "sum") == 0) {
            uint64_t sum = 0;
            size_t len = 0;
            rc = mccache_checksum(g_cache, &sum);
            if (rc == MCCACHE_OK) rc = mccache_len(g_cache, &len);
            if (rc == MCCACHE_OK) printf("ok %016" PRIx64 " %zu\n", sum, len);
            else reply_err(rc);
        } else if (strcmp(line, "dump") == 0) {
            cmd_dump();
        } else if (strcmp(line, "metrics") == 0 || strcmp(line, "members") == 0) {
            char *json = NULL;
            rc = strcmp(line, "metrics") == 0 ? mccache_metrics_json(g_node, &json)
                                              : mccache_members_json(g_node, &json);
            if (rc == MCCACHE_OK) print_json_line(json);
            else reply_err(rc);
            mccache_free(json);
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            printf("err unknown command \"%s\"\n", line);
        }
    }
    free(line);
    if (g_work.running) {
        atomic_store(&g_work.stop, 1);
        pthread_join(g_work.thread, NULL);
    }
    int rc = mccache_close(g_node);
    printf(rc == MCCACHE_OK ? "ok bye\n" : "err close\n");
    return rc == MCCACHE_OK ? 0 : 1;
}
