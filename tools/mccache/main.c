/* mccache: the command line. Parses options, picks the command, prints help. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options each command accepts, as bits. */
enum {
    O_JSON = 1 << 0,
    O_PROM = 1 << 1,
    O_TTL = 1 << 2,
    O_COUNT = 1 << 3,
    O_FOR = 1 << 4,
    O_REPAIRS = 1 << 5,
    O_CLUSTER = 1 << 6, /* --config, --set, --no-env, --wait, --timeout, -v */
    O_TIMEOUT = 1 << 7,
    O_CONFIG = 1 << 8, /* --set, --no-env only */
};

typedef struct command {
    const char *name;
    int (*run)(cli_t *);
    int min_args, max_args;
    int options;
    const char *usage;
    const char *help;
} command_t;

static const command_t kCommands[] = {
    {"status", cmd_status, 0, 0, O_CLUSTER | O_JSON, "status",
     "One line per member: address, caches, entries, bytes, hit ratio, members it sees, members it\n"
     "declared down, replication lag. Asked of every member with a cluster request."},
    {"members", cmd_members, 0, 0, O_CLUSTER | O_JSON, "members",
     "The members heard, with their address, state (alive, down, left) and when last heard."},
    {"metrics", cmd_metrics, 0, 0, O_CLUSTER | O_JSON | O_PROM, "metrics [--prometheus]",
     "Every member's metrics (docs/METRICS.md) as JSON keyed by member id; with --prometheus,\n"
     "in Prometheus' text format with a node=\"ID\" label on every sample."},
    {"checksum", cmd_checksum, 0, 1, O_CLUSTER | O_JSON, "checksum [CACHE]",
     "Every member's checksum and entry count of every cache (or of CACHE), and whether they agree.\n"
     "Exit 6 when a cache differs between members."},
    {"get", cmd_get, 2, 2, O_CLUSTER | O_JSON, "get CACHE KEY",
     "Prints the value of KEY (raw bytes; --json for an object with version and expiry). The tool\n"
     "joins with CACHE in replicate mode and waits until anti-entropy has made its copy equal to\n"
     "every member's, so the answer is the cluster's; that transfers the cache once."},
    {"put", cmd_put, 3, 3, O_CLUSTER | O_JSON | O_TTL, "put CACHE KEY VALUE [--ttl DURATION]",
     "Stores VALUE (\"-\" reads it from stdin) under KEY, then waits until every member's checksum of\n"
     "CACHE equals this tool's: the write reached them all. --ttl: 30s, 5m, 1h, 250ms or never\n"
     "(default: the cache's cache_ttl)."},
    {"delete", cmd_delete, 2, 2, O_CLUSTER, "delete CACHE KEY",
     "Deletes KEY everywhere and waits until every member agrees. Exit 3 if there was no such key."},
    {"watch", cmd_watch, 1, 1, O_CLUSTER | O_JSON | O_COUNT | O_FOR | O_REPAIRS,
     "watch CACHE [--count N] [--for SECONDS] [--repairs]",
     "Streams the changes to CACHE as they reach this member: insert, update, delete, evict, expire,\n"
     "with their origin; one JSON object per line with --json. Repairs (anti-entropy bringing the\n"
     "tool's copy up to date) are left out unless --repairs. Ends on Ctrl-C, SIGTERM, after N events\n"
     "or after SECONDS."},
    {"keygen", cmd_keygen, 0, 0, O_JSON, "keygen",
     "Prints a new cluster key (crypto_key): 32 random bytes from the OS, as base64."},
    {"config-check", cmd_config_check, 1, 1, O_JSON | O_CONFIG, "config-check FILE",
     "Checks FILE, the MCCACHE_* environment (unless --no-env) and --set as mccache_open() would,\n"
     "with the library's own messages; --json prints the effective settings and their sources.\n"
     "Exit 5 when invalid."},
    {"mtu", cmd_mtu, 1, 1, O_JSON | O_TIMEOUT, "mtu HOST",
     "Path MTU discovery to HOST as tracepath does it (don't-fragment probes, ICMP read from the\n"
     "socket's error queue): the largest IP packet that gets there, and the packet_mtu for that path."},
    {"hops", cmd_hops, 1, 2, O_JSON | O_TIMEOUT, "hops HOST [MAX]",
     "Counts the hops to HOST with TTL-limited UDP probes, as traceroute (MAX: 1-255, default 30).\n"
     "multicast_hops must be at least this for multicast to reach HOST."},
};
#define NCOMMANDS (sizeof kCommands / sizeof kCommands[0])

static void usage(FILE *out) {
    fprintf(out,
            "usage: mccache [OPTIONS] COMMAND [ARGS]\n"
            "\n"
            "Operate a libmccache cluster from the shell. Commands that ask the cluster join it for a\n"
            "moment as a member of their own, with the application's INI file and environment.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; ++i) fprintf(out, "  %s\n", kCommands[i].usage);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -c, --config FILE  the INI file the application's nodes read (default: $MCCACHE_CONFIG_FILE)\n"
            "  --set KEY=VALUE    one more setting, over the file and the environment (repeatable)\n"
            "  --no-env           ignore the MCCACHE_* environment variables\n"
            "  --json             machine-readable output\n"
            "  --wait MS          how long to listen for members, and to wait for convergence (default 3000)\n"
            "  --timeout MS       how long a cluster request, or one probe, waits for answers (default 2000)\n"
            "  -v, --verbose      log the node's info lines to stderr\n"
            "  -h, --help         this text; `mccache COMMAND --help` for one command\n"
            "  --version          the tool's and the library's version\n"
            "\n"
            "Exit codes:\n"
            "  0  done\n"
            "  1  the library or the system failed (the message says why)\n"
            "  2  bad command line\n"
            "  3  not found: no such key, cache or host\n"
            "  4  incomplete: no member heard, a member did not answer, no convergence within --wait,\n"
            "     a write superseded, or a probe not answered\n"
            "  5  invalid configuration (the message names the key, the value, where it came from and\n"
            "     the accepted range)\n"
            "  6  incoherent: members' checksums of a cache differ\n"
            "\n"
            "Environment: every setting as MCCACHE_<KEY> (docs/CONFIG.md); MCCACHE_CONFIG_FILE.\n");
}

static void command_help(const command_t *c) {
    printf("usage: mccache [OPTIONS] %s\n\n%s\n", c->usage, c->help);
    if (c->options & O_CLUSTER)
        printf("\nIt joins the cluster as a member of its own for the time of the command (--config, --set,\n"
               "--no-env, --wait, --timeout, -v apply; see mccache --help).\n");
}

static int number(const char *opt, const char *text, double lo, double hi, double *out) {
    char *end = NULL;
    double v = text ? strtod(text, &end) : 0;
    if (!text || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "mccache: %s: \"%s\" is not a number from %g to %g\n", opt, text ? text : "", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    cli_t cli;
    memset(&cli, 0, sizeof cli);
    cli.timeout_ms = 2000;
    cli.wait_ms = 3000;
    cli.ttl_ms = MCCACHE_TTL_DEFAULT;
    int used = 0, help = 0;
    const command_t *cmd = NULL;

    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        double v = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) help = 1;
        else if (strcmp(a, "--version") == 0) {
            printf("mccache %s (libmccache %s)\n", MCCACHE_VERSION_STRING, mccache_version_string());
            return EXIT_OK_;
        } else if (strcmp(a, "--json") == 0) cli.json = 1, used |= O_JSON;
        else if (strcmp(a, "--prometheus") == 0) cli.prometheus = 1, used |= O_PROM;
        else if (strcmp(a, "--repairs") == 0) cli.repairs = 1, used |= O_REPAIRS;
        else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) cli.verbose = 1, used |= O_CLUSTER;
        else if (strcmp(a, "--no-env") == 0) cli.no_env = 1, used |= O_CONFIG;
        else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && next) cli.config_file = next, ++i,
                 used |= O_CLUSTER;
        else if (strcmp(a, "--set") == 0 && next) {
            if (cli.nsets == CLI_MAX_SETS) {
                fprintf(stderr, "mccache: at most %d --set\n", CLI_MAX_SETS);
                return EXIT_USAGE;
            }
            cli.sets[cli.nsets++] = next, ++i, used |= O_CONFIG;
        } else if (strcmp(a, "--wait") == 0) {
            if (number(a, next, 0, 600000, &v)) return EXIT_USAGE;
            cli.wait_ms = (int)v, ++i, used |= O_CLUSTER;
        } else if (strcmp(a, "--timeout") == 0) {
            if (number(a, next, 1, 60000, &v)) return EXIT_USAGE;
            cli.timeout_ms = (int)v, ++i, used |= O_TIMEOUT;
        } else if (strcmp(a, "--count") == 0) {
            if (number(a, next, 1, 1e12, &v)) return EXIT_USAGE;
            cli.count = (long)v, ++i, used |= O_COUNT;
        } else if (strcmp(a, "--for") == 0) {
            if (number(a, next, 0.001, 1e6, &v)) return EXIT_USAGE;
            cli.for_s = v, ++i, used |= O_FOR;
        } else if (strcmp(a, "--ttl") == 0) {
            if (!next || cli_parse_duration_ms(next, &cli.ttl_ms) != 0) {
                fprintf(stderr, "mccache: --ttl: \"%s\" is not a duration (30s, 5m, 1h, 250ms, never)\n",
                        next ? next : "");
                return EXIT_USAGE;
            }
            ++i, used |= O_TTL;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "mccache: unknown option %s (or it needs a value)\n", a);
            return EXIT_USAGE;
        } else if (!cli.command) {
            cli.command = a;
        } else if (cli.nargs < CLI_MAX_ARGS) {
            cli.args[cli.nargs++] = a;
        } else {
            fprintf(stderr, "mccache: too many arguments\n");
            return EXIT_USAGE;
        }
    }

    if (cli.command && strcmp(cli.command, "help") == 0) {
        help = 1;
        cli.command = cli.nargs ? cli.args[0] : NULL;
    }
    for (size_t i = 0; cli.command && i < NCOMMANDS; ++i)
        if (strcmp(kCommands[i].name, cli.command) == 0) cmd = &kCommands[i];
    if (help) {
        if (cmd) command_help(cmd);
        else usage(stdout);
        return EXIT_OK_;
    }
    if (!cli.command) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!cmd) {
        fprintf(stderr, "mccache: unknown command \"%s\" (mccache --help lists them)\n", cli.command);
        return EXIT_USAGE;
    }
    /* The cluster's options imply the configuration's; a probe's --timeout is its own. */
    int allowed = cmd->options | ((cmd->options & O_CLUSTER) ? O_CONFIG | O_TIMEOUT : 0);
    if (used & ~allowed) {
        fprintf(stderr, "mccache %s: an option given does not apply to this command\nusage: mccache %s\n",
                cmd->name, cmd->usage);
        return EXIT_USAGE;
    }
    if (cli.nargs < cmd->min_args || cli.nargs > cmd->max_args) {
        fprintf(stderr, "usage: mccache %s\n", cmd->usage);
        return EXIT_USAGE;
    }
    return cmd->run(&cli);
}
