/* status, members, metrics and checksum: what the cluster says about itself,
 * asked with mccache_cluster_collect() (the tool's own answer left out). */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

static double num(const cJSON *obj, const char *path) {
    char part[64];
    const cJSON *at = obj;
    while (at && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part) return 0;
        memcpy(part, path, n);
        part[n] = '\0';
        at = cJSON_GetObjectItemCaseSensitive(at, part);
        path += n + (dot ? 1 : 0);
    }
    return cJSON_IsNumber(at) ? at->valuedouble : 0;
}

static const char *str(const cJSON *obj, const char *group, const char *key) {
    const cJSON *at = group ? cJSON_GetObjectItemCaseSensitive(obj, group) : obj;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(at, key);
    return cJSON_IsString(v) ? v->valuestring : "-";
}

/* Asks every member; reports a partial answer on stderr. `*code` is
 * EXIT_INCOMPLETE when someone did not answer. */
static cJSON *ask(cli_t *cli, cli_node_t *n, int kind, const char *cache, int *code) {
    char *json = NULL;
    int answered = 0, alive = 0;
    int rc = cli_collect(cli, n, kind, cache, &json, &answered, &alive);
    if (rc != MCCACHE_OK) {
        cli_error(cli, "cluster request", rc);
        *code = cli_exit_of(rc);
        return NULL;
    }
    cJSON *doc = cJSON_Parse(json);
    cJSON_free(json);
    *code = EXIT_OK_;
    if (answered < alive) {
        fprintf(stderr, "mccache %s: %d of %d members answered within %d ms\n", cli->command, answered, alive,
                cli->timeout_ms);
        *code = EXIT_INCOMPLETE;
    } else if (alive == 0) {
        fprintf(stderr, "mccache %s: no other member heard within %d ms (is the cluster up, with the same "
                        "cluster_name, transport and key?)\n", cli->command, cli->wait_ms);
        *code = EXIT_INCOMPLETE;
    }
    return doc;
}

int cmd_status(cli_t *cli) {
    cli_node_t n;
    int code = cli_open(cli, NULL, &n);
    if (code != EXIT_OK_) return code;
    cJSON *doc = ask(cli, &n, MCCACHE_QUERY_METRICS, NULL, &code);
    cli_close(&n);
    if (!doc) return code;
    const cJSON *replies = cJSON_GetObjectItemCaseSensitive(doc, "replies"), *r = NULL;
    cJSON *out = cJSON_CreateObject(), *nodes = cJSON_AddArrayToObject(out, "members");
    cJSON_AddNumberToObject(out, "alive", num(doc, "members"));
    cJSON_AddNumberToObject(out, "answered", cJSON_GetArraySize(replies));
    if (!cli->json) {
        printf("%d of %d members answered\n", cJSON_GetArraySize(replies), (int)num(doc, "members"));
        printf("%-16s  %-21s  %6s  %10s  %12s  %9s  %7s  %5s  %10s\n", "MEMBER", "ADDRESS", "CACHES", "ENTRIES",
               "BYTES", "HIT RATIO", "MEMBERS", "DOWN", "LAG AVG ms");
    }
    cJSON_ArrayForEach(r, replies) {
        double lookups = num(r, "node.lookups"), hits = num(r, "node.hits");
        double ratio = lookups > 0 ? hits / lookups : 0;
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", r->string);
        cJSON_AddStringToObject(m, "address", str(r, "cluster", "address"));
        cJSON_AddNumberToObject(m, "caches", num(r, "node.caches"));
        cJSON_AddNumberToObject(m, "entries", num(r, "node.entries"));
        cJSON_AddNumberToObject(m, "bytes", num(r, "node.bytes"));
        cJSON_AddNumberToObject(m, "hit_ratio", ratio);
        cJSON_AddNumberToObject(m, "members_alive", num(r, "cluster.members_alive"));
        cJSON_AddNumberToObject(m, "members_down", num(r, "cluster.members_down"));
        cJSON_AddNumberToObject(m, "replication_lag_avg_ms", num(r, "cluster.replication_lag_avg_ms"));
        cJSON_AddNumberToObject(m, "gaps_unrepairable", num(r, "cluster.gaps_unrepairable"));
        cJSON_AddItemToArray(nodes, m);
        if (!cli->json)
            printf("%-16s  %-21s  %6.0f  %10.0f  %12.0f  %9.3f  %7.0f  %5.0f  %10.2f\n", r->string,
                   str(r, "cluster", "address"), num(r, "node.caches"), num(r, "node.entries"),
                   num(r, "node.bytes"), ratio, num(r, "cluster.members_alive"), num(r, "cluster.members_down"),
                   num(r, "cluster.replication_lag_avg_ms"));
    }
    if (cli->json) cli_print_json(out);
    else cJSON_Delete(out);
    cJSON_Delete(doc);
    return code;
}

int cmd_members(cli_t *cli) {
    cli_node_t n;
    int code = cli_open(cli, NULL, &n);
    if (code != EXIT_OK_) return code;
    char *json = NULL;
    int rc = mccache_members_json(n.node, &json);
    cli_close(&n);
    if (rc != MCCACHE_OK) {
        cli_error(cli, "members", rc);
        return cli_exit_of(rc);
    }
    cJSON *doc = cJSON_Parse(json);
    mccache_free(json);
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "self"); /* the tool itself */
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(doc, "members"), *m = NULL;
    if (cJSON_GetArraySize(members) == 0) {
        fprintf(stderr, "mccache members: no member heard within %d ms\n", cli->wait_ms);
        code = EXIT_INCOMPLETE;
    }
    if (cli->json) {
        cli_print_json(doc);
        return code;
    }
    printf("%-16s  %-21s  %-6s  %s\n", "MEMBER", "ADDRESS", "STATE", "LAST SEEN (unix ms)");
    cJSON_ArrayForEach(m, members) {
        printf("%-16s  %-21s  %-6s  %.0f\n", str(m, NULL, "id"), str(m, NULL, "address"), str(m, NULL, "state"),
               num(m, "last_seen_ms"));
    }
    cJSON_Delete(doc);
    return code;
}

int cmd_metrics(cli_t *cli) {
    cli_node_t n;
    int code = cli_open(cli, NULL, &n);
    if (code != EXIT_OK_) return code;
    cJSON *doc = ask(cli, &n, MCCACHE_QUERY_METRICS, NULL, &code);
    cli_close(&n);
    if (!doc) return code;
    if (cli->prometheus) {
        char *json = cJSON_PrintUnformatted(doc), *text = NULL;
        cJSON_Delete(doc);
        int rc = json ? mccache_prometheus_from_json(json, &text) : MCCACHE_ENOMEM;
        cJSON_free(json);
        if (rc != MCCACHE_OK) {
            cli_error(cli, "prometheus", rc);
            return cli_exit_of(rc);
        }
        fputs(text, stdout);
        mccache_free(text);
        return code;
    }
    cli_print_json(doc);
    return code;
}

int cmd_checksum(cli_t *cli) {
    const char *only = cli->nargs > 0 ? cli->args[0] : NULL;
    cli_node_t n;
    int code = cli_open(cli, NULL, &n);
    if (code != EXIT_OK_) return code;
    cJSON *doc = ask(cli, &n, MCCACHE_QUERY_CHECKSUMS, only, &code);
    cli_close(&n);
    if (!doc) return code;
    /* Per cache: each member's checksum; coherent when they all agree. */
    cJSON *caches = cJSON_CreateObject();
    const cJSON *r = NULL, *c = NULL;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "replies")) {
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r, "caches")) {
            cJSON *entry = cJSON_GetObjectItemCaseSensitive(caches, c->string);
            if (!entry) {
                entry = cJSON_AddObjectToObject(caches, c->string);
                cJSON_AddObjectToObject(entry, "members");
                cJSON_AddTrueToObject(entry, "coherent");
            }
            cJSON *members = cJSON_GetObjectItemCaseSensitive(entry, "members");
            const cJSON *first = members->child;
            const char *sum = str(c, NULL, "checksum");
            if (first && strcmp(str(first, NULL, "checksum"), sum) != 0)
                cJSON_ReplaceItemInObjectCaseSensitive(entry, "coherent", cJSON_CreateFalse());
            cJSON_AddItemToObject(members, r->string, cJSON_Duplicate(c, 1));
        }
    }
    /* A member without a cache that others hold entries of disagrees too. */
    int answered = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "replies"));
    int incoherent = 0;
    cJSON *entry = NULL;
    cJSON_ArrayForEach(entry, caches) {
        cJSON *members = cJSON_GetObjectItemCaseSensitive(entry, "members");
        int holders = cJSON_GetArraySize(members), nonempty = 0;
        cJSON *m = NULL;
        cJSON_ArrayForEach(m, members) nonempty += num(m, "entries") > 0;
        if (holders < answered && nonempty > 0)
            cJSON_ReplaceItemInObjectCaseSensitive(entry, "coherent", cJSON_CreateFalse());
        incoherent += !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "coherent"));
    }
    if (only && !cJSON_GetObjectItemCaseSensitive(caches, only) && answered > 0) {
        fprintf(stderr, "mccache checksum: no member holds a cache \"%s\"\n", only);
        if (code == EXIT_OK_) code = EXIT_NOTFOUND;
    }
    if (cli->json) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddNumberToObject(out, "alive", num(doc, "members"));
        cJSON_AddNumberToObject(out, "answered", answered);
        cJSON_AddBoolToObject(out, "coherent", incoherent == 0);
        cJSON_AddItemToObject(out, "caches", caches);
        cli_print_json(out);
    } else {
        printf("%-24s  %-16s  %-16s  %10s\n", "CACHE", "MEMBER", "CHECKSUM", "ENTRIES");
        cJSON_ArrayForEach(entry, caches) {
            cJSON *m = NULL;
            cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(entry, "members"))
                printf("%-24s  %-16s  %-16s  %10.0f\n", entry->string, m->string, str(m, NULL, "checksum"),
                       num(m, "entries"));
            printf("%-24s  %s\n", entry->string,
                   cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(entry, "coherent")) ? "coherent" : "DIFFERS");
        }
        cJSON_Delete(caches);
    }
    cJSON_Delete(doc);
    if (incoherent && code == EXIT_OK_) code = EXIT_INCOHERENT;
    return code;
}
