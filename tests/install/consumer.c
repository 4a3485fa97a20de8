/* A downstream program as a user would write it: only <mccache.h> and the
 * installed library. Exits non-zero, naming the step, on any failure. */
#include <mccache.h>
#include <stdio.h>
#include <string.h>

static int check(int rc, const char *what) {
    if (rc != MCCACHE_OK) {
        fprintf(stderr, "consumer: %s: %s (%s)\n", what, mccache_err_name(rc), mccache_last_error());
    }
    return rc;
}

int main(void) {
    mccache_config_t *config = NULL;
    mccache_t *node = NULL;
    mccache_cache_t *cache = NULL;
    char buf[16];
    size_t len = sizeof buf;
    int failed = 0;

    if (mccache_version() != MCCACHE_VERSION_NUMBER) {
        fprintf(stderr, "consumer: header %u, library %u\n", (unsigned)MCCACHE_VERSION_NUMBER,
                mccache_version());
        return 1;
    }
    if (check(mccache_config_new(&config), "config_new") != MCCACHE_OK) return 1;
    if (check(mccache_open(config, &node), "open") != MCCACHE_OK) {
        mccache_config_free(config);
        return 1;
    }
    mccache_config_free(config);

    failed |= check(mccache_cache_open(node, "consumer", &cache), "cache_open") != MCCACHE_OK;
    if (!failed) {
        failed |= check(mccache_put(cache, "k", 1, "value", 5, MCCACHE_TTL_DEFAULT), "put") != MCCACHE_OK;
        failed |= check(mccache_get_copy(cache, "k", 1, buf, &len), "get_copy") != MCCACHE_OK;
        if (!failed && (len != 5 || memcmp(buf, "value", 5) != 0)) {
            fprintf(stderr, "consumer: got %zu bytes, not \"value\"\n", len);
            failed = 1;
        }
    }
    failed |= check(mccache_close(node), "close") != MCCACHE_OK;
    if (!failed) printf("consumer: OK, libmccache %s\n", mccache_version_string());
    return failed;
}
