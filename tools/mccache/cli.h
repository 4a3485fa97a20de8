/*
 * mccache, the operators' command-line tool: shared declarations.
 *
 * A client of the public C API only (<mccache.h>), like any application:
 * each command that asks the cluster opens a short-lived node of its own
 * with the same INI file and environment as the application's nodes, waits
 * until it has heard the members, asks, and closes. main.c parses the
 * command line; cluster.c, the member-facing plumbing; cmd_*.c, one file
 * per group of commands.
 */
#ifndef MCCACHE_CLI_H
#define MCCACHE_CLI_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdint.h>

#include <mccache.h>

/* Exit codes: documented in `mccache --help` and docs/CLI.md. */
enum {
    EXIT_OK_ = 0,         /* done */
    EXIT_FAIL = 1,        /* the library or the system failed */
    EXIT_USAGE = 2,       /* bad command line */
    EXIT_NOTFOUND = 3,    /* no such key, or the host does not resolve */
    EXIT_INCOMPLETE = 4,  /* a deadline passed: a member did not answer, no convergence, no probe answer */
    EXIT_CONFIG = 5,      /* the configuration is invalid */
    EXIT_INCOHERENT = 6   /* members disagree (checksum) */
};

#define CLI_MAX_ARGS 8
#define CLI_MAX_SETS 32

typedef struct cli {
    const char *command;
    const char *args[CLI_MAX_ARGS];
    int nargs;
    const char *config_file; /* --config, else $MCCACHE_CONFIG_FILE */
    const char *sets[CLI_MAX_SETS]; /* --set KEY=VALUE */
    int nsets;
    int json;
    int prometheus;
    int verbose;
    int no_env;
    int repairs;      /* watch: also repair events */
    int timeout_ms;   /* one cluster request, or one probe */
    int wait_ms;      /* discovery and convergence deadline */
    int64_t ttl_ms;   /* put */
    long count;       /* watch: stop after this many events (0: never) */
    double for_s;     /* watch: stop after this long (0: never) */
} cli_t;

/* A node of the cluster the configuration names, opened for a command. */
typedef struct cli_node {
    mccache_t *node;
    uint64_t id;
    int members; /* other members alive after discovery */
} cli_node_t;

/* cluster.c */
/* Builds the configuration: file, environment, --set, then the CLI's own
 * settings. Prints the library's message and returns EXIT_CONFIG on error. */
int cli_config(const cli_t *cli, mccache_config_t **out);
/* Opens a node and waits (up to --wait) until the set of live members has
 * been stable for a while. `replicate_cache` (or NULL) is put in replicate
 * mode so that anti-entropy brings its entries; every other cache stays in
 * update mode, so the tool pulls no state it was not asked for. */
int cli_open(const cli_t *cli, const char *replicate_cache, cli_node_t *out);
void cli_close(cli_node_t *n);
/* mccache_cluster_collect, with this tool's own answer removed:
 * `*answered` and `*alive` count the other members; free `*json` with cJSON_free. */
int cli_collect(const cli_t *cli, cli_node_t *n, int kind, const char *cache, char **json, int *answered,
                int *alive);
/* Waits until every other member's checksum of `cache` equals ours (anti-
 * entropy pulls what we lack). Returns EXIT_OK_ or EXIT_INCOMPLETE. */
int cli_converge(const cli_t *cli, cli_node_t *n, mccache_cache_t *cache);

/* Output helpers. */
void cli_error(const cli_t *cli, const char *what, int rc);
int cli_exit_of(int rc); /* a library code as an exit code */
/* Prints `len` bytes as text, escaping what a terminal should not see. */
void cli_print_escaped(const void *data, size_t len, size_t max);
/* Adds a string member, or "NAME_hex" when the bytes are not printable UTF-8. */
struct cJSON;
void cli_json_bytes(struct cJSON *obj, const char *name, const void *data, size_t len);
void cli_print_json(struct cJSON *doc); /* pretty unless piped; frees doc */
int cli_parse_duration_ms(const char *text, int64_t *out);

/* Commands. */
int cmd_status(cli_t *cli);
int cmd_members(cli_t *cli);
int cmd_metrics(cli_t *cli);
int cmd_checksum(cli_t *cli);
int cmd_get(cli_t *cli);
int cmd_put(cli_t *cli);
int cmd_delete(cli_t *cli);
int cmd_watch(cli_t *cli);
int cmd_keygen(cli_t *cli);
int cmd_config_check(cli_t *cli);
int cmd_mtu(cli_t *cli);
int cmd_hops(cli_t *cli);

#endif
