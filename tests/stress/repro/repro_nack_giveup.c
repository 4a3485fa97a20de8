/* Repro: the reliable stream gives up gaps it never asked for.
 *
 * A sends 2000 small messages a second for 10 s to B, which loses 20% of
 * what it receives (nothing else is lost: B's NACKs and A's retransmits go
 * through A's side unharmed, and B's receive loss hits each retransmit at
 * 20%). With 8 NACK tries per gap, a gap is lost with probability
 * 0.2^8 = 3e-6, so about none of the ~4000 lost messages should be given up.
 * Exit 0 when at most 1% are given up, 1 otherwise. */
#define _DEFAULT_SOURCE
#include <string.h>
#include <time.h>

#include "repro_common.h"

int main(void) {
    char cluster[64];
    snprintf(cluster, sizeof cluster, "repro-nack-%d", getpid());
    int port = 20000 + getpid() % 20000;
    mccache_t *a = repro_open(cluster, port, "1", "0"), *b = repro_open(cluster, port, "2", "20");
    mccache_cache_t *ca = NULL;
    mccache_cache_open(a, "c", &ca);
    repro_wait_members(a, b);
    struct timespec pause = {0, 500000};
    char key[32], val[100];
    memset(val, 'v', sizeof val);
    for (long i = 0; i < 20000; ++i) {
        snprintf(key, sizeof key, "k%ld", i % 5000);
        mccache_put(ca, key, strlen(key), val, sizeof val, MCCACHE_TTL_NEVER);
        nanosleep(&pause, NULL);
    }
    /* Until B holds every key or 3 s pass (the NACK tries of a gap span
     * about 1.3 s); periodic anti-entropy (30 s) does not run meanwhile. */
    mccache_cache_t *cb = NULL;
    mccache_cache_open(b, "c", &cb);
    size_t len = 0;
    for (int i = 0; i < 300 && len < 5000; ++i) {
        usleep(10000);
        mccache_len(cb, &len);
    }
    double sent = repro_metric(a, "data_messages_sent"), given_up = repro_metric(b, "gaps_unrepairable");
    double lost = sent * 0.2;
    printf("A sent %.0f messages; B lost about %.0f, sent %.0f NACKs, gave up %.0f (%.1f%% of the lost); "
           "B holds %zu of 5000 keys\n",
           sent, lost, repro_metric(b, "nacks_sent"), given_up, 100 * given_up / lost, len);
    mccache_close(b);
    mccache_close(a);
    return given_up <= lost / 100 ? 0 : 1;
}
