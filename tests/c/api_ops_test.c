/*
 * The operators' calls from plain C: the Prometheus exposition (of a node and
 * of metrics received as JSON), mccache_config_validate, and the path
 * diagnostics on loopback (mccache_path_mtu, mccache_hops). Paths across
 * routers and smaller MTUs are tested in network namespaces (Netns::probe).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "harness.h"

static int contains(const char *text, const char *needle) { return strstr(text, needle) != NULL; }

/* The value of the first sample line that starts with `series ` (exact name and labels). */
static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') return strtod(line + n + 1, NULL);
    }
    return -1;
}

static mccache_t *open_local(void) {
    mccache_config_t *cfg = NULL;
    mccache_t *node = NULL;
    REQUIRE(mccache_config_new(&cfg) == MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "transport", "none"), MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "node_id", "48879"), MCCACHE_OK); /* 0xbeef */
    REQUIRE(mccache_open(cfg, &node) == MCCACHE_OK);
    mccache_config_free(cfg);
    return node;
}

static void test_prometheus(void) {
    mccache_t *node = open_local();
    mccache_cache_t *users = NULL, *odd = NULL;
    REQUIRE(mccache_cache_open(node, "users", &users) == MCCACHE_OK);
    /* A name that needs escaping in a label value. */
    REQUIRE(mccache_cache_open(node, "we\"ird\\name", &odd) == MCCACHE_OK);
    CHECK_RC(mccache_put(users, "a", 1, "1", 1, MCCACHE_TTL_DEFAULT), MCCACHE_OK);
    CHECK_RC(mccache_put(users, "b", 1, "2", 1, MCCACHE_TTL_DEFAULT), MCCACHE_OK);
    CHECK_RC(mccache_put(users, "c", 1, "3", 1, MCCACHE_TTL_DEFAULT), MCCACHE_OK);
    char buf[8];
    size_t len = sizeof buf;
    CHECK_RC(mccache_get_copy(users, "a", 1, buf, &len), MCCACHE_OK);
    len = sizeof buf;
    CHECK_RC(mccache_get_copy(users, "b", 1, buf, &len), MCCACHE_OK);
    len = sizeof buf;
    CHECK_RC(mccache_get_copy(users, "zz", 2, buf, &len), MCCACHE_ENOTFOUND);
    CHECK_RC(mccache_delete(users, "c", 1), MCCACHE_OK);

    char *text = NULL;
    REQUIRE(mccache_metrics_prometheus(node, &text) == MCCACHE_OK);
    CHECK(contains(text, "# TYPE mccache_cache_hits_total counter\n"));
    CHECK(contains(text, "# HELP mccache_cache_hits_total Gets that found a live entry.\n"));
    CHECK(contains(text, "# TYPE mccache_cache_entries gauge\n"));
    CHECK(sample(text, "mccache_cache_hits_total{cache=\"users\"}") == 2);
    CHECK(sample(text, "mccache_cache_misses_total{cache=\"users\"}") == 1);
    CHECK(sample(text, "mccache_cache_entries{cache=\"users\"}") == 2);
    CHECK(sample(text, "mccache_cache_deletes_total{cache=\"users\"}") == 1);
    CHECK(sample(text, "mccache_cache_entries{cache=\"we\\\"ird\\\\name\"}") == 0);
    CHECK(sample(text, "mccache_node_caches") == 2);
    CHECK(sample(text, "mccache_node_hits_total") == 2);
    /* A counter whose own name ends in "total" is not doubled. */
    CHECK(contains(text, "mccache_cache_evictions_total{cache=\"users\"} 0\n"));
    CHECK(!contains(text, "_total_total"));
    CHECK(contains(text, "mccache_node_info{id=\"000000000000beef\",sealing=\"off\"} 1\n"));
    CHECK(contains(text, "# TYPE mccache_cache_hit_ratio gauge\n"));
    /* Each family is announced once. */
    const char *first = strstr(text, "# TYPE mccache_cache_hits_total ");
    CHECK(first && !strstr(first + 1, "# TYPE mccache_cache_hits_total "));

    /* The same node through its JSON renders the same text. */
    char *json = NULL, *again = NULL;
    REQUIRE(mccache_metrics_json(node, &json) == MCCACHE_OK);
    CHECK_RC(mccache_prometheus_from_json(json, &again), MCCACHE_OK);
    if (again) CHECK(strcmp(again, text) == 0);
    mccache_free(again);

    /* A cluster answer: every sample gets the member's id as a label. */
    size_t need = strlen(json) + 64;
    char *cluster = malloc(need);
    REQUIRE(cluster != NULL);
    snprintf(cluster, need, "{\"replies\":{\"000000000000beef\":%s},\"members\":1}", json);
    CHECK_RC(mccache_prometheus_from_json(cluster, &again), MCCACHE_OK);
    if (again) {
        CHECK(sample(again, "mccache_cache_hits_total{node=\"000000000000beef\",cache=\"users\"}") == 2);
        CHECK(sample(again, "mccache_node_hits_total{node=\"000000000000beef\"}") == 2);
    }
    mccache_free(again);
    free(cluster);

    /* Bad arguments. */
    CHECK_RC(mccache_prometheus_from_json("[1,2]", &again), MCCACHE_EINVAL);
    CHECK_RC(mccache_prometheus_from_json("{\"nodes\":1}", &again), MCCACHE_EINVAL);
    CHECK_MSG("node");
    CHECK_RC(mccache_prometheus_from_json("not json", &again), MCCACHE_EINVAL);
    CHECK_RC(mccache_prometheus_from_json(NULL, &again), MCCACHE_EINVAL);
    CHECK_RC(mccache_prometheus_from_json(json, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_metrics_prometheus(node, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_metrics_prometheus(NULL, &again), MCCACHE_EINVAL);
    mccache_free(json);
    mccache_free(text);

    CHECK_RC(mccache_close(node), MCCACHE_OK);
    CHECK_RC(mccache_metrics_prometheus(node, &text), MCCACHE_ECLOSED);
}

static void test_validate(void) {
    mccache_config_t *cfg = NULL;
    REQUIRE(mccache_config_new(&cfg) == MCCACHE_OK);
    CHECK_RC(mccache_config_validate(cfg), MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "tombstone_ttl", "1s"), MCCACHE_OK);
    CHECK_RC(mccache_config_set(cfg, "cache_pulse", "1m"), MCCACHE_OK);
    CHECK_RC(mccache_config_validate(cfg), MCCACHE_ECONFIG);
    CHECK_MSG("tombstone_ttl");
    CHECK_MSG("cache_pulse");
    /* Word for word what mccache_open says. */
    char said[1024];
    snprintf(said, sizeof said, "%s", mccache_last_error());
    mccache_t *node = NULL;
    CHECK_RC(mccache_open(cfg, &node), MCCACHE_ECONFIG);
    CHECK(strcmp(said, mccache_last_error()) == 0);
    mccache_config_free(cfg);
    CHECK_RC(mccache_config_validate(NULL), MCCACHE_EINVAL);
}

static void test_path_mtu_loopback(void) {
    int mtu = -1;
    char *detail = NULL;
    /* Loopback's MTU is 65536; an IP packet holds at most 65535. */
    CHECK_RC(mccache_path_mtu("127.0.0.1", 1000, &mtu, &detail), MCCACHE_OK);
    CHECK(mtu == 65535);
    REQUIRE(detail != NULL);
    cJSON *doc = cJSON_Parse(detail);
    REQUIRE(doc != NULL);
    CHECK(cJSON_GetObjectItem(doc, "payload")->valueint == 65507);
    cJSON *probes = cJSON_GetObjectItem(doc, "probes");
    CHECK(cJSON_GetArraySize(probes) >= 1);
    cJSON *last = cJSON_GetArrayItem(probes, cJSON_GetArraySize(probes) - 1);
    CHECK(strcmp(cJSON_GetObjectItem(last, "outcome")->valuestring, "reached") == 0);
    cJSON_Delete(doc);
    mccache_free(detail);

    /* By name, and without the detail. */
    CHECK_RC(mccache_path_mtu("localhost", 1000, &mtu, NULL), MCCACHE_OK);
    CHECK(mtu == 65535);

    /* IPv6 loopback, where the machine has it. */
    int s6 = socket(AF_INET6, SOCK_DGRAM, 0);
    if (s6 >= 0) {
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof a);
        a.sin6_family = AF_INET6;
        a.sin6_addr = in6addr_loopback;
        if (bind(s6, (struct sockaddr *)&a, sizeof a) == 0) {
            CHECK_RC(mccache_path_mtu("::1", 1000, &mtu, NULL), MCCACHE_OK);
            CHECK(mtu == 65535);
        }
        close(s6);
    }
}

static void test_hops_loopback(void) {
    int hops = -1;
    char *detail = NULL;
    CHECK_RC(mccache_hops("127.0.0.1", 5, 1000, &hops, &detail), MCCACHE_OK);
    CHECK(hops == 1);
    REQUIRE(detail != NULL);
    CHECK(contains(detail, "\"reached\":true"));
    CHECK(contains(detail, "\"from\":\"127.0.0.1\""));
    mccache_free(detail);
}

/* A listener that never answers: no "port unreachable", so no answer. */
static void test_silent_host(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(33434);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "127.0.0.1:33434 is taken: the silent-host case is not run\n");
        close(fd);
        return;
    }
    int mtu = -1, hops = -1;
    char *detail = NULL;
    CHECK_RC(mccache_path_mtu("127.0.0.1", 20, &mtu, &detail), MCCACHE_ETIMEDOUT);
    CHECK_MSG("no answer");
    CHECK(mtu == 0);
    CHECK(detail != NULL && contains(detail, "no answer"));
    mccache_free(detail);
    CHECK_RC(mccache_hops("127.0.0.1", 2, 20, &hops, &detail), MCCACHE_ETIMEDOUT);
    CHECK_MSG("not reached within 2 hops");
    CHECK(hops == 0);
    CHECK(detail != NULL && contains(detail, "\"ttl\":2"));
    mccache_free(detail);
    close(fd);
}

static void test_probe_arguments(void) {
    int v = 0;
    char *detail = (char *)&v;
    CHECK_RC(mccache_path_mtu(NULL, 1000, &v, &detail), MCCACHE_EINVAL);
    CHECK(detail == NULL);
    CHECK_RC(mccache_path_mtu("", 1000, &v, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_path_mtu("127.0.0.1", 1000, NULL, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_path_mtu("127.0.0.1", 0, &v, NULL), MCCACHE_EINVAL);
    CHECK_MSG("timeout_ms");
    CHECK_RC(mccache_path_mtu("127.0.0.1", 60001, &v, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_hops(NULL, 5, 1000, &v, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_hops("127.0.0.1", 0, 1000, &v, NULL), MCCACHE_EINVAL);
    CHECK_MSG("max_hops");
    CHECK_RC(mccache_hops("127.0.0.1", 256, 1000, &v, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_hops("127.0.0.1", 5, 0, &v, NULL), MCCACHE_EINVAL);
    CHECK_RC(mccache_hops("127.0.0.1", 5, 1000, NULL, NULL), MCCACHE_EINVAL);
    /* (A name that does not resolve, MCCACHE_ENOTFOUND, is not tried here:
     * asking would send a DNS query off this machine.) */
}

int main(void) {
    test_prometheus();
    test_validate();
    test_path_mtu_loopback();
    test_hops_loopback();
    test_silent_host();
    test_probe_arguments();
    return th_finish();
}
