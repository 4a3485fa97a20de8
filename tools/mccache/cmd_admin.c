/* keygen, config-check, mtu and hops: no cluster needed. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

int cmd_keygen(cli_t *cli) {
    char key[64];
    int rc = mccache_generate_key(key, sizeof key);
    if (rc != MCCACHE_OK) {
        cli_error(cli, "generate_key", rc);
        return cli_exit_of(rc);
    }
    if (cli->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "crypto_key", key);
        cli_print_json(o);
    } else {
        puts(key);
    }
    memset(key, 0, sizeof key);
    return EXIT_OK_;
}

int cmd_config_check(cli_t *cli) {
    cli->config_file = cli->args[0];
    mccache_config_t *cfg = NULL;
    int code = cli_config(cli, &cfg); /* the file, the environment and --set, as a node reads them */
    if (code != EXIT_OK_) return code;
    int rc = mccache_config_validate(cfg);
    if (rc != MCCACHE_OK) {
        fprintf(stderr, "mccache: %s\n", mccache_last_error());
        mccache_config_free(cfg);
        return rc == MCCACHE_ECONFIG ? EXIT_CONFIG : cli_exit_of(rc);
    }
    if (cli->json) {
        char *json = NULL;
        if ((rc = mccache_config_to_json(cfg, &json)) == MCCACHE_OK) {
            cli_print_json(cJSON_Parse(json));
            mccache_free(json);
        }
    } else {
        printf("%s: OK\n", cli->args[0]);
    }
    mccache_config_free(cfg);
    return cli_exit_of(rc);
}

/* Prints a probe's failure; the detail, when some probe was sent, in --json. */
static int probe_result(cli_t *cli, int rc, char *detail) {
    if (rc != MCCACHE_OK) cli_error(cli, cli->args[0], rc);
    if (cli->json && detail) cli_print_json(cJSON_Parse(detail));
    mccache_free(detail);
    return cli_exit_of(rc);
}

int cmd_mtu(cli_t *cli) {
    int mtu = 0;
    char *detail = NULL;
    int rc = mccache_path_mtu(cli->args[0], cli->timeout_ms, &mtu, &detail);
    if (!cli->json && detail) {
        cJSON *doc = cJSON_Parse(detail);
        const cJSON *p = NULL;
        int i = 0;
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "probes")) {
            const cJSON *from = cJSON_GetObjectItemCaseSensitive(p, "from");
            const cJSON *said = cJSON_GetObjectItemCaseSensitive(p, "mtu");
            printf("%2d: %5d bytes  %-16s", ++i, cJSON_GetObjectItemCaseSensitive(p, "size")->valueint,
                   cJSON_GetObjectItemCaseSensitive(p, "outcome")->valuestring);
            if (cJSON_IsString(from)) printf("  from %s", from->valuestring);
            if (cJSON_IsNumber(said)) printf("  (mtu %d)", said->valueint);
            putchar('\n');
        }
        if (rc == MCCACHE_OK)
            printf("%s (%s): path MTU %d, UDP payload %d (packet_mtu)\n", cli->args[0],
                   cJSON_GetObjectItemCaseSensitive(doc, "address")->valuestring, mtu,
                   cJSON_GetObjectItemCaseSensitive(doc, "payload")->valueint);
        cJSON_Delete(doc);
    }
    return probe_result(cli, rc, detail);
}

int cmd_hops(cli_t *cli) {
    int max = 30;
    if (cli->nargs > 1) {
        char *end = NULL;
        long v = strtol(cli->args[1], &end, 10);
        if (*end || v < 1 || v > 255) {
            fprintf(stderr, "mccache hops: MAX \"%s\" is not a number from 1 to 255\n", cli->args[1]);
            return EXIT_USAGE;
        }
        max = (int)v;
    }
    int hops = 0;
    char *detail = NULL;
    int rc = mccache_hops(cli->args[0], max, cli->timeout_ms, &hops, &detail);
    if (!cli->json && detail) {
        cJSON *doc = cJSON_Parse(detail);
        const cJSON *h = NULL;
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(doc, "route")) {
            const cJSON *from = cJSON_GetObjectItemCaseSensitive(h, "from");
            if (cJSON_IsString(from))
                printf("%2d  %-39s  %.3f ms%s\n", cJSON_GetObjectItemCaseSensitive(h, "ttl")->valueint,
                       from->valuestring, cJSON_GetObjectItemCaseSensitive(h, "rtt_ms")->valuedouble,
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "reached")) ? "  reached" : "");
            else
                printf("%2d  *\n", cJSON_GetObjectItemCaseSensitive(h, "ttl")->valueint);
        }
        if (rc == MCCACHE_OK) printf("%s: %d hop(s)\n", cli->args[0], hops);
        cJSON_Delete(doc);
    }
    return probe_result(cli, rc, detail);
}
