/* Shared helpers of the stress repros: a node on loopback with receive loss,
 * and one metric read from mccache_metrics_json(). */
#ifndef REPRO_COMMON_H
#define REPRO_COMMON_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mccache.h"

static inline mccache_t *repro_open(const char *cluster, int port, const char *id, const char *drop_recv) {
    mccache_config_t *c = NULL;
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    if (mccache_config_new(&c) != MCCACHE_OK || mccache_config_set(c, "cluster_name", cluster) ||
        mccache_config_set(c, "multicast_port", p) || mccache_config_set(c, "node_id", id) ||
        mccache_config_set(c, "log_level", "error") || mccache_config_set(c, "fault_seed", id) ||
        mccache_config_set(c, "fault_drop_recv", drop_recv)) {
        fprintf(stderr, "config: %s\n", mccache_last_error());
        exit(2);
    }
    mccache_t *n = NULL;
    if (mccache_open(c, &n) != MCCACHE_OK) {
        fprintf(stderr, "open: %s\n", mccache_last_error());
        exit(2);
    }
    mccache_config_free(c);
    return n;
}

static inline double repro_metric(mccache_t *n, const char *name) {
    char *j = NULL;
    if (mccache_metrics_json(n, &j) != MCCACHE_OK) return -1;
    cJSON *root = cJSON_Parse(j);
    mccache_free(j);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "cluster"), name);
    double out = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(root);
    return out;
}

static inline void repro_wait_members(mccache_t *a, mccache_t *b) {
    for (int i = 0; i < 500; ++i) {
        if (repro_metric(a, "members_alive") >= 1 && repro_metric(b, "members_alive") >= 1) return;
        usleep(10000);
    }
    fprintf(stderr, "the two nodes never met\n");
    exit(2);
}

#endif
