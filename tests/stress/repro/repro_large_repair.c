/* Repro: anti-entropy must deliver values that need many fragments when
 * datagrams are lost.
 *
 * A holds 20 values of 40 KB (29 fragments at the default MTU). B joins
 * with 20% receive loss and calls mccache_sync every second. Before
 * 23382b2 a Repair was a one-shot unsequenced message whose fragments were
 * not kept from one round to the next, so each round delivered a value with
 * probability 0.8^29 = 0.15% (3 of 20 after 30 s; 0 of 20 at 200 KB);
 * large repairs now travel on the reliable stream. Optional argument: the
 * value size. Exit 0 when B holds all 20 within 30 s, 1 otherwise. */
#define _DEFAULT_SOURCE
#include <string.h>

#include "repro_common.h"

int main(int argc, char **argv) {
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 40000;
    char cluster[64];
    snprintf(cluster, sizeof cluster, "repro-repair-%d", getpid());
    int port = 20000 + getpid() % 20000;
    mccache_t *a = repro_open(cluster, port, "1", "0");
    mccache_cache_t *ca = NULL, *cb = NULL;
    mccache_cache_open(a, "c", &ca);
    char *val = malloc(size);
    memset(val, 'v', size);
    for (int i = 0; i < 20; ++i) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        mccache_put(ca, k, strlen(k), val, size, MCCACHE_TTL_NEVER);
    }
    /* A's writes leave before B exists: B can get them only by anti-entropy. */
    for (int i = 0; i < 500 && repro_metric(a, "records_sent") < 20; ++i) usleep(10000);
    mccache_t *b = repro_open(cluster, port, "2", "20");
    mccache_cache_open(b, "c", &cb);
    size_t len = 0;
    int t = 0;
    for (; t < 30 && len < 20; ++t) {
        sleep(1);
        mccache_sync(b);
        mccache_len(cb, &len);
    }
    printf("%zu B values (%zu fragments): the joiner holds %zu of 20 after %d s "
           "(reassembly_dropped %.0f, ae_keys_repaired %.0f)\n",
           size, (size + 1407) / 1408, len, t, repro_metric(b, "reassembly_dropped"),
           repro_metric(b, "ae_keys_repaired"));
    mccache_close(b);
    mccache_close(a);
    free(val);
    return len == 20 ? 0 : 1;
}
