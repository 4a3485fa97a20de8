/*
 * A tiny assertion harness for the plain-C API tests.
 *
 * Failures are counted, not fatal, so one run reports every broken promise.
 * Each test file ends with `return th_finish();`, which prints the summary
 * line `N passed, N failed` that CI greps.
 */
#ifndef MCCACHE_TESTS_C_HARNESS_H
#define MCCACHE_TESTS_C_HARNESS_H

/* nanosleep, clock_gettime, setenv, mkstemp are POSIX, not C99. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mccache.h>

/* Counters are only touched by the main thread; worker threads report back
 * through their own state and the main thread checks it. */
static int th_passed_;
static int th_failed_;

static inline void th_report_(int ok, const char *file, int line, const char *expr) {
    if (ok) {
        th_passed_++;
        return;
    }
    th_failed_++;
    fprintf(stderr, "%s:%d: FAILED: %s\n    last_error: \"%s\"\n", file, line, expr,
            mccache_last_error());
}

#define CHECK(cond) th_report_((cond) ? 1 : 0, __FILE__, __LINE__, #cond)

/* Compares a return code and prints both names, which beats a bare `==`. */
static inline void th_check_rc_(int got, int want, const char *file, int line, const char *expr) {
    if (got == want) {
        th_passed_++;
        return;
    }
    th_failed_++;
    fprintf(stderr, "%s:%d: FAILED: %s\n    got %s (%d), want %s (%d)\n    last_error: \"%s\"\n",
            file, line, expr, mccache_err_name(got), got, mccache_err_name(want), want,
            mccache_last_error());
}

#define CHECK_RC(call, want) th_check_rc_((call), (want), __FILE__, __LINE__, #call)

/* The last error must name what was wrong (an argument, a key, an index). */
#define CHECK_MSG(needle)                                                           \
    th_report_(strstr(mccache_last_error(), (needle)) != NULL, __FILE__, __LINE__, \
               "mccache_last_error() mentions \"" needle "\"")

/* Fatal precondition: later checks would only crash or cascade. The
 * condition is evaluated once (it may have side effects). */
#define REQUIRE(cond)                                                            \
    do {                                                                         \
        int th_ok_ = (cond) ? 1 : 0;                                             \
        th_report_(th_ok_, __FILE__, __LINE__, #cond);                           \
        if (!th_ok_) {                                                           \
            fprintf(stderr, "%s:%d: aborting this test\n", __FILE__, __LINE__); \
            exit(th_finish());                                                   \
        }                                                                        \
    } while (0)

static inline int th_finish(void) {
    printf("%d passed, %d failed\n", th_passed_, th_failed_);
    fflush(stdout);
    return th_failed_ == 0 ? 0 : 1;
}

static inline int64_t th_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t th_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void th_sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Lookup times may come from a coarse clock (one kernel tick behind). */
#define TH_CLOCK_SLACK_MS 50

/* Generous, so a loaded CI machine under TSan does not flake. */
#define TH_DEADLINE_MS 5000

/* Polls `cond` every millisecond until it holds or the deadline passes; the
 * caller then CHECKs `cond`, so a timeout is reported as a failure. */
#define WAIT_UNTIL(cond, timeout_ms)                                  \
    do {                                                              \
        int64_t th_deadline_ = th_mono_ms() + (timeout_ms);           \
        while (!(cond) && th_mono_ms() < th_deadline_) th_sleep_ms(1); \
    } while (0)

/* Opens a node from "key", "value", ... pairs terminated by NULL. Unless
 * told otherwise, each test process gets a cluster of its own, so test
 * binaries that CTest runs side by side never hear each other once nodes
 * talk over the network. */
static inline mccache_t *th_open_node(const char *const *settings) {
    mccache_config_t *cfg = NULL;
    mccache_t *node = NULL;
    if (mccache_config_new(&cfg) != MCCACHE_OK) return NULL;
    char cluster[32];
    snprintf(cluster, sizeof cluster, "ctest-%ld", (long)getpid());
    if (mccache_config_set(cfg, "cluster_name", cluster) != MCCACHE_OK) {
        mccache_config_free(cfg);
        return NULL;
    }
    for (size_t i = 0; settings != NULL && settings[i] != NULL; i += 2) {
        int rc = mccache_config_set(cfg, settings[i], settings[i + 1]);
        if (rc != MCCACHE_OK) {
            fprintf(stderr, "config_set(%s, %s): %s: %s\n", settings[i], settings[i + 1],
                    mccache_err_name(rc), mccache_last_error());
            mccache_config_free(cfg);
            return NULL;
        }
    }
    int rc = mccache_open(cfg, &node);
    mccache_config_free(cfg);
    if (rc != MCCACHE_OK) {
        fprintf(stderr, "mccache_open: %s: %s\n", mccache_err_name(rc), mccache_last_error());
        return NULL;
    }
    return node;
}

static inline mccache_cache_t *th_open_cache(mccache_t *node, const char *name) {
    mccache_cache_t *cache = NULL;
    int rc = mccache_cache_open(node, name, &cache);
    if (rc != MCCACHE_OK) {
        fprintf(stderr, "mccache_cache_open(%s): %s: %s\n", name, mccache_err_name(rc),
                mccache_last_error());
        return NULL;
    }
    return cache;
}

/* Whether `value` holds exactly the `len` bytes at `want`. */
static inline int th_value_is(const mccache_value_t *value, const void *want, size_t len) {
    size_t got_len = (size_t)-1;
    const void *got = mccache_value_data(value, &got_len);
    if (got_len != len) return 0;
    if (len == 0) return 1;
    return got != NULL && memcmp(got, want, len) == 0;
}

#define TH_STR(s) (s), strlen(s)

#endif /* MCCACHE_TESTS_C_HARNESS_H */
