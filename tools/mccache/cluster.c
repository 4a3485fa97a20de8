/* The tool as a member: its configuration, discovery of the other members,
 * cluster requests without its own answer, and convergence of one cache. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* Discovery ends when the live members have not changed for this long. */
#define STABLE_MS 750
#define POLL_MS 50

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int set(mccache_config_t *cfg, const char *key, const char *value) {
    int rc = mccache_config_set(cfg, key, value);
    if (rc != MCCACHE_OK) fprintf(stderr, "mccache: %s\n", mccache_last_error());
    return rc;
}

int cli_config(const cli_t *cli, mccache_config_t **out) {
    mccache_config_t *cfg = NULL;
    int rc = mccache_config_new(&cfg);
    if (rc != MCCACHE_OK) return cli_exit_of(rc);
    const char *file = cli->config_file ? cli->config_file : getenv("MCCACHE_CONFIG_FILE");
    if (file && *file && (rc = mccache_config_load_file(cfg, file)) != MCCACHE_OK) goto bad;
    if (!cli->no_env && (rc = mccache_config_load_env(cfg)) != MCCACHE_OK) goto bad;
    for (int i = 0; i < cli->nsets; ++i) {
        char key[256];
        const char *eq = strchr(cli->sets[i], '=');
        size_t klen = eq ? (size_t)(eq - cli->sets[i]) : 0;
        if (!eq || klen == 0 || klen >= sizeof key) {
            fprintf(stderr, "mccache: --set \"%s\": expected KEY=VALUE\n", cli->sets[i]);
            mccache_config_free(cfg);
            return EXIT_USAGE;
        }
        memcpy(key, cli->sets[i], klen);
        key[klen] = '\0';
        if ((rc = mccache_config_set(cfg, key, eq + 1)) != MCCACHE_OK) goto bad;
    }
    *out = cfg;
    return EXIT_OK_;
bad:
    fprintf(stderr, "mccache: %s\n", mccache_last_error());
    mccache_config_free(cfg);
    return rc == MCCACHE_ECONFIG ? EXIT_CONFIG : cli_exit_of(rc);
}

/* Every cache the configuration names, in update mode: the tool must not
 * pull a replicated cache just by joining. */
static int quiet_caches(mccache_config_t *cfg) {
    char *json = NULL;
    int rc = mccache_config_to_json(cfg, &json);
    if (rc != MCCACHE_OK) return rc;
    cJSON *doc = cJSON_Parse(json);
    mccache_free(json);
    const cJSON *c = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "caches")) {
        char key[320];
        snprintf(key, sizeof key, "%s.cache_mode", c->string);
        if ((rc = set(cfg, key, "update")) != MCCACHE_OK) break;
    }
    cJSON_Delete(doc);
    return rc;
}

static int alive_members(mccache_t *node) {
    char *json = NULL;
    if (mccache_members_json(node, &json) != MCCACHE_OK) return -1;
    cJSON *doc = cJSON_Parse(json);
    mccache_free(json);
    int alive = 0;
    const cJSON *m = NULL;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(doc, "members")) {
        const cJSON *state = cJSON_GetObjectItemCaseSensitive(m, "state");
        alive += cJSON_IsString(state) && strcmp(state->valuestring, "alive") == 0;
    }
    cJSON_Delete(doc);
    return alive;
}

int cli_open(const cli_t *cli, const char *replicate_cache, cli_node_t *out) {
    memset(out, 0, sizeof *out);
    mccache_config_t *cfg = NULL;
    int code = cli_config(cli, &cfg);
    if (code != EXIT_OK_) return code;
    /* A member of its own: a random id and a free port (never the
     * application's), quiet unless asked, and no state it did not ask for. */
    int rc = set(cfg, "node_id", "0");
    if (rc == MCCACHE_OK) rc = set(cfg, "listen_port", "0");
    if (rc == MCCACHE_OK) rc = set(cfg, "log_filename", "");
    if (rc == MCCACHE_OK) rc = set(cfg, "log_level", cli->verbose ? "info" : "error");
    if (rc == MCCACHE_OK) rc = set(cfg, "cache_mode", "update");
    if (rc == MCCACHE_OK) rc = quiet_caches(cfg);
    if (rc == MCCACHE_OK && replicate_cache) {
        char key[320];
        snprintf(key, sizeof key, "%s.cache_mode", replicate_cache);
        rc = set(cfg, key, "replicate");
    }
    if (rc == MCCACHE_OK && (rc = mccache_open(cfg, &out->node)) != MCCACHE_OK)
        fprintf(stderr, "mccache: %s\n", mccache_last_error());
    mccache_config_free(cfg);
    if (rc != MCCACHE_OK) return rc == MCCACHE_ECONFIG ? EXIT_CONFIG : cli_exit_of(rc);
    mccache_node_id(out->node, &out->id);

    const int64_t start = now_ms(), deadline = start + cli->wait_ms;
    int64_t stable_since = start;
    int last = -1;
    for (;;) {
        int alive = alive_members(out->node);
        int64_t now = now_ms();
        if (alive != last) {
            last = alive;
            stable_since = now;
        }
        if (now - stable_since >= STABLE_MS || now >= deadline) break;
        sleep_ms(POLL_MS);
    }
    out->members = last < 0 ? 0 : last;
    if (cli->verbose) fprintf(stderr, "mccache: %d other member(s) heard\n", out->members);
    return EXIT_OK_;
}

void cli_close(cli_node_t *n) {
    if (n->node) mccache_close(n->node);
    n->node = NULL;
}

int cli_collect(const cli_t *cli, cli_node_t *n, int kind, const char *cache, char **json, int *answered,
                int *alive) {
    char *raw = NULL;
    int rc = mccache_cluster_collect(n->node, kind, cache, cli->timeout_ms, &raw);
    if (rc != MCCACHE_OK) return rc;
    cJSON *doc = cJSON_Parse(raw);
    mccache_free(raw);
    if (!doc) return MCCACHE_ENOMEM;
    char self[17];
    snprintf(self, sizeof self, "%016" PRIx64, n->id);
    cJSON *replies = cJSON_GetObjectItemCaseSensitive(doc, "replies");
    cJSON_DeleteItemFromObjectCaseSensitive(replies, self);
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(doc, "members");
    *alive = cJSON_IsNumber(members) ? members->valueint - 1 : 0;
    *answered = cJSON_GetArraySize(replies);
    cJSON_ReplaceItemInObjectCaseSensitive(doc, "members", cJSON_CreateNumber(*alive));
    cJSON_AddNumberToObject(doc, "answered", *answered);
    *json = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return *json ? MCCACHE_OK : MCCACHE_ENOMEM;
}

/* Whether every answer holds `name` with checksum `own`. */
static int all_equal(const char *json, const char *name, const char *own, size_t own_entries) {
    cJSON *doc = cJSON_Parse(json);
    int equal = 1;
    const cJSON *r = NULL;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "replies")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "caches"), name);
        const cJSON *sum = cJSON_GetObjectItemCaseSensitive(c, "checksum");
        if (!c) equal &= own_entries == 0; /* it never had the cache; nor do we */
        else equal &= cJSON_IsString(sum) && strcmp(sum->valuestring, own) == 0;
    }
    cJSON_Delete(doc);
    return equal;
}

int cli_converge(const cli_t *cli, cli_node_t *n, mccache_cache_t *cache) {
    const char *name = mccache_cache_name(cache);
    const int64_t deadline = now_ms() + cli->wait_ms;
    int64_t next_sync = 0;
    for (;;) {
        int64_t now = now_ms();
        if (now >= next_sync) {
            mccache_sync(n->node); /* anti-entropy now, not at the next cache_pulse */
            next_sync = now + 1000;
        }
        uint64_t sum = 0;
        size_t entries = 0;
        char own[17], *json = NULL;
        int answered = 0, alive = 0;
        if (mccache_checksum(cache, &sum) != MCCACHE_OK || mccache_len(cache, &entries) != MCCACHE_OK)
            return EXIT_FAIL;
        snprintf(own, sizeof own, "%016" PRIx64, sum);
        int rc = cli_collect(cli, n, MCCACHE_QUERY_CHECKSUMS, name, &json, &answered, &alive);
        if (rc != MCCACHE_OK) {
            cli_error(cli, "checksums", rc);
            return cli_exit_of(rc);
        }
        int equal = all_equal(json, name, own, entries);
        cJSON_free(json);
        if (equal && answered >= alive) return EXIT_OK_;
        if (now_ms() >= deadline) {
            fprintf(stderr, "mccache: cache \"%s\" did not converge with the other members within %d ms "
                            "(%d of %d answered)\n", name, cli->wait_ms, answered, alive);
            return EXIT_INCOMPLETE;
        }
        sleep_ms(100);
    }
}
