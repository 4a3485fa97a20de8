/*
 * C API: logging. A callback takes over a node's log lines and gives them
 * back (opaque_free exactly once per registration), log_filename and
 * log_format write lines to a file, and a log callback may call the API.
 */
#include "harness.h"

#include <pthread.h>
#include <unistd.h>

#include <cjson/cJSON.h>

struct log_sink {
    pthread_mutex_t mu;
    int lines;
    int bad_lines;
    int frees;
};

static void on_log(int level, const char *message, void *opaque) {
    struct log_sink *s = (struct log_sink *)opaque;
    pthread_mutex_lock(&s->mu);
    s->lines++;
    if (message == NULL || level < MCCACHE_LOG_ERROR || level > MCCACHE_LOG_DEBUG ||
        (message[0] != '\0' && message[strlen(message) - 1] == '\n'))
        s->bad_lines++;
    pthread_mutex_unlock(&s->mu);
}

static void log_sink_free(void *opaque) {
    struct log_sink *s = (struct log_sink *)opaque;
    pthread_mutex_lock(&s->mu);
    s->frees++;
    pthread_mutex_unlock(&s->mu);
}

static int log_frees(struct log_sink *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->frees;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void test_log_callback(void) {
    const char *settings[] = {"log_level", "debug", "log_filename", "/dev/null", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    struct log_sink s1, s2, s3;
    struct log_sink *sinks[3] = {&s1, &s2, &s3};
    for (int i = 0; i < 3; i++) {
        memset(sinks[i], 0, sizeof *sinks[i]);
        pthread_mutex_init(&sinks[i]->mu, NULL);
    }

    CHECK_RC(mccache_set_log_cb(node, on_log, &s1, log_sink_free), MCCACHE_OK);
    /* Give the node something to log about at debug level. */
    mccache_cache_t *c = th_open_cache(node, "logged");
    REQUIRE(c != NULL);
    CHECK_RC(mccache_housekeep(node), MCCACHE_OK);

    CHECK_RC(mccache_set_log_cb(node, on_log, &s2, log_sink_free), MCCACHE_OK);
    WAIT_UNTIL(log_frees(&s1) == 1, TH_DEADLINE_MS);
    CHECK(log_frees(&s1) == 1);
    /* NULL goes back to the configured file (stderr here). */
    CHECK_RC(mccache_set_log_cb(node, NULL, NULL, NULL), MCCACHE_OK);
    WAIT_UNTIL(log_frees(&s2) == 1, TH_DEADLINE_MS);
    CHECK(log_frees(&s2) == 1);

    CHECK_RC(mccache_set_log_cb(node, on_log, &s3, log_sink_free), MCCACHE_OK);
    CHECK_RC(mccache_close(node), MCCACHE_OK);
    CHECK(log_frees(&s3) == 1);
    CHECK(log_frees(&s1) == 1);
    CHECK(log_frees(&s2) == 1);

    for (int i = 0; i < 3; i++) {
        CHECK(sinks[i]->bad_lines == 0);
        pthread_mutex_destroy(&sinks[i]->mu);
    }
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

struct line_sink {
    pthread_mutex_t mu;
    char text[4096];
};

static void collect_line(int level, const char *message, void *opaque) {
    (void)level;
    struct line_sink *ls = (struct line_sink *)opaque;
    pthread_mutex_lock(&ls->mu);
    size_t used = strlen(ls->text);
    snprintf(ls->text + used, sizeof ls->text - used, "%s\n", message);
    pthread_mutex_unlock(&ls->mu);
}

/* log_filename and log_format, and a callback that takes over the file's
 * lines for a while. */
static void test_log_file(void) {
    char path[] = "/tmp/mccache_api_log_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    const char *settings[] = {"log_filename", path, "log_level", "info", "log_format", "json",
                              NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    mccache_cache_t *c = th_open_cache(node, "to-file");
    REQUIRE(c != NULL);

    static struct line_sink ls;
    memset(&ls, 0, sizeof ls);
    pthread_mutex_init(&ls.mu, NULL);
    CHECK_RC(mccache_set_log_cb(node, collect_line, &ls, NULL), MCCACHE_OK);
    c = th_open_cache(node, "to-callback");
    REQUIRE(c != NULL);
    CHECK_RC(mccache_set_log_cb(node, NULL, NULL, NULL), MCCACHE_OK);
    c = th_open_cache(node, "back-to-file");
    REQUIRE(c != NULL);
    CHECK_RC(mccache_close(node), MCCACHE_OK);

    char *text = read_file(path);
    REQUIRE(text != NULL);
    CHECK(strstr(text, "to-file") != NULL);
    CHECK(strstr(text, "back-to-file") != NULL);
    CHECK(strstr(text, "to-callback") == NULL);
    CHECK(strstr(ls.text, "to-callback") != NULL);
    CHECK(strstr(ls.text, "to-file") == NULL);

    /* log_format=json: every line of the file is one JSON object. */
    int lines = 0, objects = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        lines++;
        cJSON *obj = cJSON_Parse(line);
        if (cJSON_IsObject(obj)) objects++;
        else fprintf(stderr, "  not a JSON object: %s\n", line);
        cJSON_Delete(obj);
    }
    CHECK(lines >= 2);
    CHECK(objects == lines);
    pthread_mutex_destroy(&ls.mu);
    unlink(path);
}

/* A log callback may call the API too. It runs on the node's dispatcher
 * thread, never on the thread that logged (a cache open here), so a slow log
 * sink cannot stall the caller; this checks that no library lock is held
 * around the callback and that close() from it is refused. */
struct reentrant_log {
    mccache_t *node;
    pthread_t opener;
    int opener_set; /* __atomic; publishes `opener` */
    int entered;    /* guarded by __atomic: written in the callback */
    int on_opener;  /* the callback ran on the thread that logged */
    int metrics_rc;
    int close_rc;
    int open_rc;
    int done; /* __atomic: the callback has finished its calls */
};

static void on_log_reenter(int level, const char *message, void *opaque) {
    (void)level;
    struct reentrant_log *rl = (struct reentrant_log *)opaque;
    /* Only the line of the open below counts: the loop thread may log too
     * (a stray datagram from another test's node is rejected and logged). */
    if (!strstr(message, "\"logged-open\" open")) return;
    if (!__atomic_load_n(&rl->opener_set, __ATOMIC_ACQUIRE)) return;
    if (__atomic_exchange_n(&rl->entered, 1, __ATOMIC_SEQ_CST)) return;
    __atomic_store_n(&rl->on_opener, pthread_equal(pthread_self(), rl->opener) ? 1 : 0, __ATOMIC_SEQ_CST);
    char *json = NULL;
    __atomic_store_n(&rl->metrics_rc, mccache_metrics_json(rl->node, &json), __ATOMIC_SEQ_CST);
    mccache_free(json);
    mccache_cache_t *c = NULL;
    __atomic_store_n(&rl->open_rc, mccache_cache_open(rl->node, "from-log", &c), __ATOMIC_SEQ_CST);
    __atomic_store_n(&rl->close_rc, mccache_close(rl->node), __ATOMIC_SEQ_CST);
    __atomic_store_n(&rl->done, 1, __ATOMIC_SEQ_CST);
}

struct open_call {
    mccache_t *node;
    struct reentrant_log *rl;
    int rc;
    int done;
};

static void *open_in_thread(void *arg) {
    struct open_call *oc = (struct open_call *)arg;
    oc->rl->opener = pthread_self();
    __atomic_store_n(&oc->rl->opener_set, 1, __ATOMIC_RELEASE);
    mccache_cache_t *c = NULL;
    int rc = mccache_cache_open(oc->node, "logged-open", &c);
    __atomic_store_n(&oc->rc, rc, __ATOMIC_SEQ_CST);
    __atomic_store_n(&oc->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_log_callback_reentrancy(void) {
    const char *settings[] = {"log_level", "debug", "log_filename", "/dev/null", NULL};
    mccache_t *node = th_open_node(settings);
    REQUIRE(node != NULL);
    static struct reentrant_log rl;
    memset(&rl, 0, sizeof rl);
    rl.node = node;
    CHECK_RC(mccache_set_log_cb(node, on_log_reenter, &rl, NULL), MCCACHE_OK);

    static struct open_call oc;
    memset(&oc, 0, sizeof oc);
    oc.node = node;
    oc.rl = &rl;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, open_in_thread, &oc) == 0);
    WAIT_UNTIL(__atomic_load_n(&oc.done, __ATOMIC_SEQ_CST), 10000);
    if (!__atomic_load_n(&oc.done, __ATOMIC_SEQ_CST)) {
        CHECK(!"mccache_cache_open deadlocked: its log callback called back into the API");
        th_finish();
        exit(1);
    }
    pthread_join(t, NULL);
    CHECK_RC(oc.rc, MCCACHE_OK);
    /* The open logged at info; the line reached the callback on the
     * dispatcher thread, not on the thread that opened. */
    WAIT_UNTIL(__atomic_load_n(&rl.done, __ATOMIC_SEQ_CST), 10000);
    CHECK(__atomic_load_n(&rl.done, __ATOMIC_SEQ_CST));
    CHECK(!__atomic_load_n(&rl.on_opener, __ATOMIC_SEQ_CST));
    CHECK_RC(__atomic_load_n(&rl.metrics_rc, __ATOMIC_SEQ_CST), MCCACHE_OK);
    CHECK_RC(__atomic_load_n(&rl.open_rc, __ATOMIC_SEQ_CST), MCCACHE_OK);
    CHECK_RC(__atomic_load_n(&rl.close_rc, __ATOMIC_SEQ_CST), MCCACHE_EBUSY);
    CHECK_RC(mccache_close(node), MCCACHE_OK);
}

int main(void) {
    test_log_callback();
    test_log_file();
    /* Last: a deadlock here cannot be recovered from. */
    test_log_callback_reentrancy();
    return th_finish();
}
