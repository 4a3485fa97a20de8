/*
 * The C member of the cross-language cluster test (driven by run_xlang.py).
 *
 * It speaks the line protocol of tests/xlang/README.md on stdin/stdout, as
 * the Go, Rust and Java node programs do: "ready", then one reply line per
 * command (members, write PHASE, sync, checksum, events, probe KEY..., quit).
 * Only the public API of libmccache.so is used. Logs and errors go to
 * stderr; stdout carries protocol lines only.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mccache.h"

#define CACHE_NAME "xlang"
#define MAX_PREFIXES 16
#define MAX_LINE 65536

typedef struct {
    uint64_t hlc, node;
} version_t;

typedef struct {
    char name[32];
    uint64_t local, remote, repair;
    unsigned char *seen; /* by key index: a remote or repair insert/update arrived */
    char from_label[MAX_PREFIXES][32];
    uint64_t from_count[MAX_PREFIXES];
    int nfrom;
} prefix_t;

typedef struct {
    pthread_mutex_t mu;
    uint64_t self;
    const char *label;
    int keys, shared, index;
    long pace_us; /* pause between write iterations, so that the four writers overlap */
    prefix_t prefixes[MAX_PREFIXES];
    int nprefixes;
    version_t *mine_own;    /* latest version of this node's own writes, by index */
    version_t *mine_shared; /* same, for the shared keys */
} state_t;

static state_t st;

static void die(const char *what, int rc) {
    fprintf(stderr, "xlang_node(c): %s: %s: %s\n", what, mccache_err_name(rc), mccache_last_error());
    exit(1);
}

static int version_less(version_t a, version_t b) {
    return a.hlc < b.hlc || (a.hlc == b.hlc && a.node < b.node);
}

/* Splits "PREFIX-INDEX"; returns the index, or -1 if the key has another shape. */
static long split_key(const char *key, size_t klen, char *prefix, size_t cap) {
    const char *dash = memchr(key, '-', klen);
    if (dash == NULL || (size_t)(dash - key) >= cap || dash + 1 == key + klen) return -1;
    memcpy(prefix, key, (size_t)(dash - key));
    prefix[dash - key] = '\0';
    long idx = 0;
    for (const char *p = dash + 1; p < key + klen; p++) {
        if (*p < '0' || *p > '9' || idx > 1000000) return -1;
        idx = idx * 10 + (*p - '0');
    }
    return idx;
}

static prefix_t *find_prefix(const char *name) {
    for (int i = 0; i < st.nprefixes; i++)
        if (strcmp(st.prefixes[i].name, name) == 0) return &st.prefixes[i];
    if (st.nprefixes == MAX_PREFIXES) return NULL;
    prefix_t *p = &st.prefixes[st.nprefixes++];
    snprintf(p->name, sizeof p->name, "%s", name);
    int cap = st.keys > st.shared ? st.keys : st.shared;
    p->seen = calloc((size_t)cap, 1);
    if (p->seen == NULL) {
        fprintf(stderr, "xlang_node(c): out of memory\n");
        exit(1);
    }
    return p;
}

static void count_from(prefix_t *p, const void *data, size_t len) {
    const char *colon = memchr(data, ':', len);
    if (colon == NULL) return;
    size_t n = (size_t)(colon - (const char *)data);
    if (n == 0 || n >= sizeof p->from_label[0]) return;
    for (int i = 0; i < p->nfrom; i++) {
        if (strlen(p->from_label[i]) == n && memcmp(p->from_label[i], data, n) == 0) {
            p->from_count[i]++;
            return;
        }
    }
    if (p->nfrom == MAX_PREFIXES) return;
    memcpy(p->from_label[p->nfrom], data, n);
    p->from_label[p->nfrom][n] = '\0';
    p->from_count[p->nfrom++] = 1;
}

/* Runs on the node's callback thread. */
static void on_change(const mccache_event_t *ev, void *opaque) {
    (void)opaque;
    char prefix[32];
    long idx = split_key(ev->key, ev->klen, prefix, sizeof prefix);
    if (idx < 0) return;
    pthread_mutex_lock(&st.mu);
    prefix_t *p = find_prefix(prefix);
    if (p != NULL) {
        int upsert = ev->type == MCCACHE_EVENT_INSERT || ev->type == MCCACHE_EVENT_UPDATE;
        int cap = st.keys > st.shared ? st.keys : st.shared;
        if (ev->origin == MCCACHE_ORIGIN_LOCAL) p->local++;
        if (ev->origin == MCCACHE_ORIGIN_REMOTE) p->remote++;
        if (ev->origin == MCCACHE_ORIGIN_REPAIR) p->repair++;
        if (ev->origin != MCCACHE_ORIGIN_LOCAL && upsert) {
            if (idx < cap) p->seen[idx] = 1;
            size_t len = 0;
            const void *data = mccache_value_data(ev->value, &len);
            if (data != NULL) count_from(p, data, len);
        }
        if (ev->version_node == st.self) {
            version_t v = {ev->version_hlc, ev->version_node};
            version_t *slot = NULL;
            if (strcmp(prefix, "shared") == 0 && idx < st.shared) slot = &st.mine_shared[idx];
            if (strcmp(prefix, st.label) == 0 && idx < st.keys) slot = &st.mine_own[idx];
            if (slot != NULL && version_less(*slot, v)) *slot = v;
        }
    }
    pthread_mutex_unlock(&st.mu);
}

static int put(mccache_cache_t *c, const char *key, const char *value) {
    return mccache_put(c, key, strlen(key), value, strlen(value), MCCACHE_TTL_NEVER);
}

/* The write phases; tests/xlang/README.md defines them for every language. */
static void write_phase(mccache_cache_t *c, int phase) {
    char key[64], value[64];
    long ops = 0, errors = 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t start_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    for (int i = 0; i < st.keys; i++) {
        /* Each writer starts the shared keys at another quarter, so that which
         * writer writes a key last (and wins it) varies from key to key. */
        int j = (i + st.index * (st.shared / 4)) % st.shared, rc;
        snprintf(value, sizeof value, "%s:%d:%d", st.label, phase, i);
        snprintf(key, sizeof key, "%s-%d", st.label, i);
        if (phase == 1) {
            rc = put(c, key, value);
            errors += rc != MCCACHE_OK;
            ops++;
        } else if (i % 5 == 0) {
            rc = mccache_delete(c, key, strlen(key));
            errors += rc != MCCACHE_OK;
            ops++;
        } else if (i % 5 == 1) {
            rc = put(c, key, value);
            errors += rc != MCCACHE_OK;
            ops++;
        }
        snprintf(key, sizeof key, "shared-%d", j);
        if (phase == 2 && j % 8 == 0) {
            if (i < st.shared && (j / 8) % 4 == st.index) {
                rc = mccache_delete(c, key, strlen(key));
                errors += rc != MCCACHE_OK;
                ops++;
            }
        } else {
            rc = put(c, key, value);
            errors += rc != MCCACHE_OK;
            ops++;
        }
        /* Pacing, not synchronisation: iteration i+1 starts pace_us * (i+1)
         * after the phase began, so the four writers keep in step. */
        int64_t at = start_ns + (int64_t)(i + 1) * st.pace_us * 1000;
        struct timespec until = {(time_t)(at / 1000000000), (long)(at % 1000000000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR) {
        }
    }
    printf("written %d %ld %ld\n", phase, ops, errors);
}

static int count_alive(mccache_t *node) {
    char *json = NULL;
    if (mccache_members_json(node, &json) != MCCACHE_OK) return -1;
    int n = 0;
    for (const char *p = json; (p = strstr(p, "\"alive\"")) != NULL; p++) n++;
    mccache_free(json);
    return n;
}

static void print_events(void) {
    pthread_mutex_lock(&st.mu);
    int cap = st.keys > st.shared ? st.keys : st.shared;
    printf("events {");
    for (int i = 0; i < st.nprefixes; i++) {
        prefix_t *p = &st.prefixes[i];
        printf("%s\"%s\":{\"local\":%" PRIu64 ",\"remote\":%" PRIu64 ",\"repair\":%" PRIu64
               ",\"seen\":[",
               i ? "," : "", p->name, p->local, p->remote, p->repair);
        int first = 1;
        for (int k = 0; k < cap; k++) {
            if (!p->seen[k]) continue;
            printf("%s%d", first ? "" : ",", k);
            first = 0;
        }
        printf("],\"from\":{");
        for (int f = 0; f < p->nfrom; f++)
            printf("%s\"%s\":%" PRIu64, f ? "," : "", p->from_label[f], p->from_count[f]);
        printf("}}");
    }
    printf("}\n");
    pthread_mutex_unlock(&st.mu);
}

static void print_probe(mccache_cache_t *c, char *keys) {
    printf("probe {");
    int first = 1;
    for (char *save = NULL, *key = strtok_r(keys, " ", &save); key != NULL;
         key = strtok_r(NULL, " ", &save)) {
        printf("%s\"%s\":{", first ? "" : ",", key);
        first = 0;
        mccache_value_t *v = NULL;
        mccache_metadata_t md;
        memset(&md, 0, sizeof md);
        md.struct_size = sizeof md;
        int rc = mccache_get(c, key, strlen(key), &v);
        if (rc == MCCACHE_OK && mccache_metadata(c, key, strlen(key), &md) == MCCACHE_OK) {
            size_t len = 0;
            const char *data = mccache_value_data(v, &len);
            /* Values are the test's own ASCII ("label:phase:index"): no escaping needed. */
            printf("\"value\":\"%.*s\",\"hlc\":\"%016" PRIx64 "\",\"node\":\"%016" PRIx64 "\"",
                   (int)len, data, md.version_hlc, md.version_node);
        } else if (rc == MCCACHE_OK || rc == MCCACHE_ENOTFOUND) {
            printf("\"value\":null");
        } else {
            die("mccache_get", rc);
        }
        mccache_value_free(v);
        char prefix[32];
        long idx = split_key(key, strlen(key), prefix, sizeof prefix);
        version_t mine = {0, 0};
        pthread_mutex_lock(&st.mu);
        if (idx >= 0 && strcmp(prefix, "shared") == 0 && idx < st.shared) mine = st.mine_shared[idx];
        if (idx >= 0 && strcmp(prefix, st.label) == 0 && idx < st.keys) mine = st.mine_own[idx];
        pthread_mutex_unlock(&st.mu);
        if (mine.node != 0)
            printf(",\"mine\":[\"%016" PRIx64 "\",\"%016" PRIx64 "\"]", mine.hlc, mine.node);
        printf("}");
    }
    printf("}\n");
}

static const char *arg(int argc, char **argv, const char *name) {
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    fprintf(stderr, "xlang_node(c): missing %s\n", name);
    exit(2);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    st.label = arg(argc, argv, "--label");
    st.index = atoi(arg(argc, argv, "--index"));
    st.keys = atoi(arg(argc, argv, "--keys"));
    st.shared = atoi(arg(argc, argv, "--shared"));
    st.pace_us = atol(arg(argc, argv, "--pace-us"));
    if (st.keys < 1 || st.shared < 1) {
        fprintf(stderr, "xlang_node(c): --keys and --shared must be positive\n");
        return 2;
    }
    pthread_mutex_init(&st.mu, NULL);
    st.mine_own = calloc((size_t)st.keys, sizeof(version_t));
    st.mine_shared = calloc((size_t)st.shared, sizeof(version_t));
    if (st.mine_own == NULL || st.mine_shared == NULL) return 1;

    mccache_config_t *cfg = NULL;
    int rc = mccache_config_new(&cfg);
    if (rc != MCCACHE_OK) die("mccache_config_new", rc);
    const char *settings[][2] = {
        {"interface", "127.0.0.1"}, /* loopback only, whatever the caller says */
        {"cluster_name", arg(argc, argv, "--cluster")},
        {"transport", "multicast"},
        {"multicast_ip", arg(argc, argv, "--group")},
        {"multicast_port", arg(argc, argv, "--port")},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        rc = mccache_config_set(cfg, settings[i][0], settings[i][1]);
        if (rc != MCCACHE_OK) die(settings[i][0], rc);
    }
    char iface[64];
    size_t iface_len = sizeof iface;
    rc = mccache_config_get(cfg, "interface", iface, &iface_len);
    if (rc != MCCACHE_OK) die("mccache_config_get", rc);
    mccache_t *node = NULL;
    rc = mccache_open(cfg, &node);
    mccache_config_free(cfg);
    if (rc != MCCACHE_OK) die("mccache_open", rc);
    rc = mccache_node_id(node, &st.self);
    if (rc != MCCACHE_OK) die("mccache_node_id", rc);
    mccache_cache_t *cache = NULL;
    rc = mccache_cache_open(node, CACHE_NAME, &cache);
    if (rc != MCCACHE_OK) die("mccache_cache_open", rc);
    rc = mccache_on_change(cache, on_change, NULL, NULL);
    if (rc != MCCACHE_OK) die("mccache_on_change", rc);
    printf("ready %016" PRIx64 " %s\n", st.self, iface);

    static char line[MAX_LINE];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "members") == 0) {
            printf("members %d\n", count_alive(node));
        } else if (strncmp(line, "write ", 6) == 0) {
            write_phase(cache, atoi(line + 6));
        } else if (strcmp(line, "sync") == 0) {
            rc = mccache_sync(node);
            if (rc != MCCACHE_OK) die("mccache_sync", rc);
            printf("synced\n");
        } else if (strcmp(line, "checksum") == 0) {
            uint64_t sum = 0;
            size_t len = 0;
            rc = mccache_checksum(cache, &sum);
            if (rc != MCCACHE_OK) die("mccache_checksum", rc);
            rc = mccache_len(cache, &len);
            if (rc != MCCACHE_OK) die("mccache_len", rc);
            printf("checksum %016" PRIx64 " %zu\n", sum, len);
        } else if (strcmp(line, "events") == 0) {
            print_events();
        } else if (strncmp(line, "probe ", 6) == 0) {
            print_probe(cache, line + 6);
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            fprintf(stderr, "xlang_node(c): unknown command \"%s\"\n", line);
            printf("error unknown command\n");
        }
    }
    rc = mccache_close(node);
    if (rc != MCCACHE_OK) die("mccache_close", rc);
    printf("bye\n");
    for (int i = 0; i < st.nprefixes; i++) free(st.prefixes[i].seen);
    free(st.mine_own);
    free(st.mine_shared);
    return 0;
}
