/* A node that serves its metrics to Prometheus: the application's side of
 * mccache_metrics_prometheus(). The library has no HTTP server; this shows
 * how little an application needs to add one. One thread, one request at a
 * time, GET /metrics only; a real service would use the HTTP server it
 * already has and call mccache_metrics_prometheus() from its handler.
 *
 *   build/examples/prometheus_exporter [ADDRESS:PORT]     (default 127.0.0.1:9464)
 *
 * The node reads $MCCACHE_CONFIG_FILE (when set) and the MCCACHE_*
 * environment, as an application's would. Caches appear as the cluster
 * writes to them. Scrape config:
 *
 *   scrape_configs:
 *     - job_name: mccache
 *       static_configs: [{targets: ["127.0.0.1:9464"]}]
 *
 * Stops on SIGINT or SIGTERM, closing the node cleanly.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mccache.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static int fail(const char *what, int rc) {
    fprintf(stderr, "prometheus_exporter: %s: %s (%s)\n", what, mccache_err_name(rc), mccache_last_error());
    return 1;
}

static void send_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0) return;
        data += n;
        len -= (size_t)n;
    }
}

static void respond(int fd, const char *status, const char *type, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
                     type, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

static void serve(int fd, mccache_t *node) {
    char req[2048];
    ssize_t n = recv(fd, req, sizeof req - 1, 0);
    if (n <= 0) return;
    req[n] = '\0';
    if (strncmp(req, "GET /metrics ", 13) != 0 && strncmp(req, "GET /metrics?", 13) != 0) {
        respond(fd, "404 Not Found", "text/plain", "only GET /metrics is served here\n");
        return;
    }
    char *text = NULL;
    int rc = mccache_metrics_prometheus(node, &text);
    if (rc != MCCACHE_OK) {
        respond(fd, "500 Internal Server Error", "text/plain", mccache_last_error());
        return;
    }
    /* The text format's media type; Prometheus asks for it in Accept. */
    respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", text);
    mccache_free(text);
}

int main(int argc, char **argv) {
    const char *listen_at = argc > 1 ? argv[1] : "127.0.0.1:9464";
    char host[64];
    const char *colon = strrchr(listen_at, ':');
    if (!colon || (size_t)(colon - listen_at) >= sizeof host) {
        fprintf(stderr, "usage: prometheus_exporter [ADDRESS:PORT]\n");
        return 2;
    }
    memcpy(host, listen_at, (size_t)(colon - listen_at));
    host[colon - listen_at] = '\0';
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "prometheus_exporter: %s is not an IPv4 address\n", host);
        return 2;
    }

    mccache_config_t *cfg = NULL;
    mccache_t *node = NULL;
    int rc = mccache_config_new(&cfg);
    const char *file = getenv("MCCACHE_CONFIG_FILE");
    if (rc == MCCACHE_OK && file && *file) rc = mccache_config_load_file(cfg, file);
    if (rc == MCCACHE_OK) rc = mccache_config_load_env(cfg);
    if (rc == MCCACHE_OK) rc = mccache_open(cfg, &node);
    mccache_config_free(cfg);
    if (rc != MCCACHE_OK) return fail("open", rc);

    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(srv, 16) != 0) {
        perror("prometheus_exporter: listen");
        mccache_close(node);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("serving http://%s/metrics\n", listen_at);
    fflush(stdout);

    while (!g_stop) {
        int fd = accept(srv, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            perror("prometheus_exporter: accept");
            break;
        }
        serve(fd, node);
        close(fd);
    }
    close(srv);
    rc = mccache_close(node);
    return rc == MCCACHE_OK ? 0 : fail("close", rc);
}
