/* get, put, delete and watch: entries of one cache. The tool joins with
 * that cache in replicate mode and lets anti-entropy bring it up to date
 * before it reads or writes (cli_converge), so a read is the cluster's
 * value, and a write carries a version newer than what the cluster holds
 * and is confirmed by equal checksums on every member. That costs one
 * transfer of the cache, which is the price of asking a cluster that keeps
 * no server. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* Opens the node, the cache, and waits for convergence. */
static int prepare(cli_t *cli, cli_node_t *n, mccache_cache_t **cache, int need_members) {
    int code = cli_open(cli, cli->args[0], n);
    if (code != EXIT_OK_) return code;
    int rc = mccache_cache_open(n->node, cli->args[0], cache);
    if (rc != MCCACHE_OK) {
        cli_error(cli, "cache", rc);
        cli_close(n);
        return cli_exit_of(rc);
    }
    if (n->members == 0) {
        fprintf(stderr, "mccache %s: no other member heard within %d ms (is the cluster up, with the same "
                        "cluster_name, transport and key?)\n", cli->command, cli->wait_ms);
        if (need_members) cli_close(n);
        return EXIT_INCOMPLETE;
    }
    return cli_converge(cli, n, *cache);
}

static void print_entry(cli_t *cli, mccache_cache_t *cache, const char *key, const void *data, size_t len) {
    if (!cli->json) {
        fwrite(data, 1, len, stdout);
        if (isatty(STDOUT_FILENO)) putchar('\n');
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cache", mccache_cache_name(cache));
    cJSON_AddStringToObject(o, "key", key);
    cli_json_bytes(o, "value", data, len);
    mccache_metadata_t md;
    memset(&md, 0, sizeof md);
    md.struct_size = sizeof md;
    if (mccache_metadata(cache, key, strlen(key), &md) == MCCACHE_OK) {
        char v[40];
        snprintf(v, sizeof v, "%" PRIu64 ".%016" PRIx64, md.version_hlc, md.version_node);
        cJSON_AddStringToObject(o, "version", v);
        cJSON_AddNumberToObject(o, "updated_ms", (double)md.updated_ms);
        cJSON_AddNumberToObject(o, "expires_ms", (double)md.expires_ms);
    }
    cli_print_json(o);
}

int cmd_get(cli_t *cli) {
    cli_node_t n;
    mccache_cache_t *cache = NULL;
    int code = prepare(cli, &n, &cache, 0);
    if (!n.node) return code;
    const char *key = cli->args[1];
    mccache_value_t *v = NULL;
    int rc = mccache_get(cache, key, strlen(key), &v);
    if (rc == MCCACHE_OK) {
        size_t len = 0;
        const void *data = mccache_value_data(v, &len);
        print_entry(cli, cache, key, data, len);
        mccache_value_free(v);
        if (code != EXIT_OK_) fprintf(stderr, "mccache get: the value may be stale (not converged)\n");
    } else if (rc == MCCACHE_ENOTFOUND) {
        fprintf(stderr, "mccache get: %s: no key \"%s\"\n", cli->args[0], key);
        if (code == EXIT_OK_) code = EXIT_NOTFOUND;
    } else {
        cli_error(cli, "get", rc);
        code = cli_exit_of(rc);
    }
    cli_close(&n);
    return code;
}

/* Reads the value of put from stdin when it is "-". */
static char *read_all(FILE *in, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, in);
        if (n < cap) break;
        char *more = realloc(buf, cap *= 2);
        if (!more) free(buf);
        buf = more;
    }
    *len = n;
    return buf;
}

/* After a write: wait until every member holds it, then check it won. */
static int confirm(cli_t *cli, cli_node_t *n, mccache_cache_t *cache, const char *key, const void *want,
                   size_t want_len, int deleted) {
    int code = cli_converge(cli, n, cache);
    if (code != EXIT_OK_) return code;
    mccache_value_t *v = NULL;
    int rc = mccache_get(cache, key, strlen(key), &v);
    int won = deleted ? rc == MCCACHE_ENOTFOUND : rc == MCCACHE_OK;
    if (rc == MCCACHE_OK) {
        size_t len = 0;
        const void *data = mccache_value_data(v, &len);
        if (!deleted) won = len == want_len && memcmp(data, want, len) == 0;
        mccache_value_free(v);
    }
    if (!won) {
        fprintf(stderr, "mccache %s: a newer write to \"%s\" superseded this one\n", cli->command, key);
        return EXIT_INCOMPLETE;
    }
    return EXIT_OK_;
}

int cmd_put(cli_t *cli) {
    size_t len = 0;
    char *owned = NULL;
    const char *value = cli->args[2];
    if (strcmp(value, "-") == 0) {
        if (!(owned = read_all(stdin, &len))) return EXIT_FAIL;
        value = owned;
    } else {
        len = strlen(value);
    }
    cli_node_t n;
    mccache_cache_t *cache = NULL;
    int code = prepare(cli, &n, &cache, 1);
    if (code == EXIT_OK_) {
        const char *key = cli->args[1];
        int rc = mccache_put(cache, key, strlen(key), value, len, cli->ttl_ms);
        if (rc != MCCACHE_OK) {
            cli_error(cli, "put", rc);
            code = cli_exit_of(rc);
        } else {
            code = confirm(cli, &n, cache, key, value, len, 0);
            if (code == EXIT_OK_ && !cli->json) fprintf(stderr, "stored on %d member(s)\n", n.members);
        }
    }
    if (n.node) cli_close(&n);
    free(owned);
    return code;
}

int cmd_delete(cli_t *cli) {
    cli_node_t n;
    mccache_cache_t *cache = NULL;
    int code = prepare(cli, &n, &cache, 1);
    if (code == EXIT_OK_) {
        const char *key = cli->args[1];
        int rc = mccache_delete(cache, key, strlen(key));
        if (rc == MCCACHE_ENOTFOUND) {
            fprintf(stderr, "mccache delete: %s: no key \"%s\"\n", cli->args[0], key);
            code = EXIT_NOTFOUND;
        } else if (rc != MCCACHE_OK) {
            cli_error(cli, "delete", rc);
            code = cli_exit_of(rc);
        } else {
            code = confirm(cli, &n, cache, key, NULL, 0, 1);
        }
    }
    if (n.node) cli_close(&n);
    return code;
}

/* ---- watch ---- */

static int g_wake[2] = {-1, -1}; /* written by signals and by the callback to end the wait */

static void on_signal(int sig) {
    (void)sig;
    ssize_t ignored = write(g_wake[1], "s", 1);
    (void)ignored;
}

typedef struct watch {
    cli_t *cli;
    long printed;
} watch_t;

static const char *type_name(int t) {
    static const char *names[] = {"?", "insert", "update", "delete", "evict", "expire"};
    return t >= 1 && t <= 5 ? names[t] : "?";
}

static const char *origin_name(int o) {
    return o == MCCACHE_ORIGIN_LOCAL ? "local" : o == MCCACHE_ORIGIN_REMOTE ? "remote" : "repair";
}

/* Runs on the node's dispatcher thread, one event at a time. */
static void on_change(const mccache_event_t *e, void *opaque) {
    watch_t *w = opaque;
    if (e->origin == MCCACHE_ORIGIN_REPAIR && !w->cli->repairs) return;
    if (w->cli->count > 0 && w->printed >= w->cli->count) return;
    size_t len = 0;
    const void *data = e->value && e->type != MCCACHE_EVENT_DELETE ? mccache_value_data(e->value, &len) : NULL;
    if (w->cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "time_ms", (double)e->time_ms);
        cJSON_AddStringToObject(o, "type", type_name(e->type));
        cJSON_AddStringToObject(o, "origin", origin_name(e->origin));
        cJSON_AddStringToObject(o, "cache", mccache_cache_name(e->cache));
        cli_json_bytes(o, "key", e->key, e->klen);
        if (data) cli_json_bytes(o, "value", data, len);
        char v[40];
        snprintf(v, sizeof v, "%" PRIu64 ".%016" PRIx64, e->version_hlc, e->version_node);
        cJSON_AddStringToObject(o, "version", v);
        char *text = cJSON_PrintUnformatted(o);
        if (text) puts(text);
        cJSON_free(text);
        cJSON_Delete(o);
    } else {
        printf("%" PRId64 "  %-6s  %-6s  ", e->time_ms, type_name(e->type), origin_name(e->origin));
        cli_print_escaped(e->key, e->klen, 256);
        if (data) {
            fputs("  ", stdout);
            cli_print_escaped(data, len, 256);
        }
        putchar('\n');
    }
    fflush(stdout);
    if (++w->printed == w->cli->count) on_signal(0);
}

int cmd_watch(cli_t *cli) {
    if (pipe(g_wake) != 0) return EXIT_FAIL;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    cli_node_t n;
    int code = cli_open(cli, cli->args[0], &n);
    if (code != EXIT_OK_) return code;
    mccache_cache_t *cache = NULL;
    watch_t w = {cli, 0};
    int rc = mccache_cache_open(n.node, cli->args[0], &cache);
    if (rc == MCCACHE_OK) rc = mccache_on_change(cache, on_change, &w, NULL);
    if (rc != MCCACHE_OK) {
        cli_error(cli, "watch", rc);
        cli_close(&n);
        return cli_exit_of(rc);
    }
    if (n.members == 0)
        fprintf(stderr, "mccache watch: no other member heard yet; watching anyway\n");
    mccache_sync(n.node);
    fprintf(stderr, "watching \"%s\" (%d other member(s)); Ctrl-C to stop\n", cli->args[0], n.members);
    struct pollfd p = {g_wake[0], POLLIN, 0};
    int timeout = cli->for_s > 0 ? (int)(cli->for_s * 1000) : -1;
    while (poll(&p, 1, timeout) < 0 && errno == EINTR) {
    }
    cli_close(&n); /* waits for the callback in progress; none runs after it */
    return EXIT_OK_;
}
