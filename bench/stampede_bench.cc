// Stampede benchmark: N members x M threads miss the same key at once, with
// a slow loader (10 ms by default). Two ways to fill the cache run in the
// same process, alternating key by key so that both see the same machine:
//   get_or_load   mccache_get_or_load: one load per key on a node, and one
//                 per cluster through the load lease (replicate mode)
//   get+put       mccache_get, and on a miss the load then mccache_put: what
//                 a cache without loaders makes its callers do
// It reports loads per key and the callers' latency (from the common start
// to their return with the value: p50, p99, max).
//
// The members are nodes of one cluster in this process, on 127.0.0.1
// (multicast on loopback, a cluster name of this process). Usage:
//   stampede_bench [--members N] [--threads M] [--keys K] [--load-ms L] [--drop P]
// Prints markdown on stdout, progress on stderr. Not a test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mccache.h"

namespace {

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "stampede_bench: %s: %s\n", what.c_str(), mccache_last_error());
    std::exit(1);
}

uint16_t free_udp_port() {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

struct Options {
    int members = 3;
    int threads = 16;
    int keys = 30;
    int load_ms = 10;
    int drop = 0;  // fault_drop: percent of datagrams dropped on send
};

std::atomic<int> g_loads{0};
int g_load_ms = 10;

// The slow backend both ways share.
void backend(std::string* out) {
    g_loads.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::sleep_for(std::chrono::milliseconds(g_load_ms));
    *out = "value-from-the-backend";
}

int loader(mccache_load_t* load, const void*, size_t, void*) {
    std::string v;
    backend(&v);
    return mccache_load_set_value(load, v.data(), v.size(), MCCACHE_TTL_DEFAULT);
}

enum class Way { GetOrLoad, GetThenPut };

// One stampede on `key`: every thread of every member at once. Returns the
// callers' latencies in microseconds.
std::vector<double> stampede(const std::vector<mccache_cache_t*>& caches, int threads, const std::string& key,
                             Way way, int* failures) {
    const size_t n = caches.size() * static_cast<size_t>(threads);
    std::vector<double> lat(n);
    std::atomic<int> ready{0}, bad{0};
    std::atomic<int64_t> start{0};
    std::vector<std::thread> ts;
    for (size_t c = 0; c < caches.size(); ++c)
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, c, t] {
                ready.fetch_add(1);
                int64_t t0;
                while ((t0 = start.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
                mccache_value_t* v = nullptr;
                int rc;
                if (way == Way::GetOrLoad) {
                    rc = mccache_get_or_load(caches[c], key.data(), key.size(), loader, nullptr, 30000, &v);
                } else {
                    rc = mccache_get(caches[c], key.data(), key.size(), &v);
                    if (rc == MCCACHE_ENOTFOUND) {
                        std::string val;
                        backend(&val);
                        rc = mccache_put(caches[c], key.data(), key.size(), val.data(), val.size(),
                                         MCCACHE_TTL_DEFAULT);
                    }
                }
                const int64_t t1 = now_ns();
                if (rc != MCCACHE_OK) bad.fetch_add(1);
                mccache_value_free(v);
                lat[c * static_cast<size_t>(threads) + static_cast<size_t>(t)] = static_cast<double>(t1 - t0) / 1e3;
            });
    while (ready.load() < static_cast<int>(n)) std::this_thread::yield();
    start.store(now_ns(), std::memory_order_release);
    for (auto& t : ts) t.join();
    *failures += bad.load();
    return lat;
}

double pct(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size()));
    if (i > 0 && p / 100.0 * static_cast<double>(v.size()) == static_cast<double>(i)) --i;  // nearest rank
    return v[std::min(i, v.size() - 1)];
}

struct Tally {
    std::vector<double> lat;
    std::vector<int> loads;  // per key
    int failures = 0;
};

void usage() {
    std::printf(
        "usage: stampede_bench [--members N] [--threads M] [--keys K] [--load-ms L] [--drop P]\n"
        "  --members  nodes in the cluster (default 3)\n"
        "  --threads  callers per node, all missing the same key at once (default 16)\n"
        "  --keys     stampedes per way (default 30)\n"
        "  --load-ms  the loader's latency (default 10)\n"
        "  --drop     percent of datagrams each node drops on send (fault_drop; default 0)\n");
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> int {
            if (i + 1 >= argc) {
                usage();
                std::exit(2);
            }
            return std::atoi(argv[++i]);
        };
        if (a == "--members") opt.members = next();
        else if (a == "--threads") opt.threads = next();
        else if (a == "--keys") opt.keys = next();
        else if (a == "--load-ms") opt.load_ms = next();
        else if (a == "--drop") opt.drop = next();
        else {
            usage();
            return a == "--help" ? 0 : 2;
        }
    }
    if (opt.members < 1 || opt.threads < 1 || opt.keys < 1 || opt.load_ms < 0 || opt.drop < 0 || opt.drop > 100) {
        usage();
        return 2;
    }
    g_load_ms = opt.load_ms;

    const std::string cluster = "stampede-bench-" + std::to_string(getpid());
    const std::string port = std::to_string(free_udp_port());
    std::vector<mccache_t*> nodes;
    std::vector<mccache_cache_t*> caches;
    for (int i = 0; i < opt.members; ++i) {
        mccache_config_t* cfg;
        if (mccache_config_new(&cfg) != MCCACHE_OK) die("config");
        const std::pair<const char*, std::string> settings[] = {
            {"cluster_name", cluster}, {"interface", "127.0.0.1"},   {"multicast_port", port},
            {"heartbeat_interval", "50ms"}, {"member_timeout", "2s"}, {"log_level", "error"},
            {"fault_drop", std::to_string(opt.drop)}};
        for (auto& [k, v] : settings)
            if (mccache_config_set(cfg, k, v.c_str()) != MCCACHE_OK) die(k);
        mccache_t* n;
        if (mccache_open(cfg, &n) != MCCACHE_OK) die("open");
        mccache_config_free(cfg);
        mccache_cache_t* c;
        if (mccache_cache_open(n, "stampede", &c) != MCCACHE_OK) die("cache_open");
        nodes.push_back(n);
        caches.push_back(c);
    }
    // Wait until every member sees every other (members_alive in the metrics).
    const int64_t deadline = now_ns() + 20'000'000'000;
    for (;;) {
        int ok = 0;
        for (auto* n : nodes) {
            char* j = nullptr;
            mccache_metrics_json(n, &j);
            const char* at = j ? std::strstr(j, "\"members_alive\":") : nullptr;
            if (at && std::atoi(at + 16) == opt.members - 1) ++ok;
            mccache_free(j);
        }
        if (ok == opt.members) break;
        if (now_ns() > deadline) die("the members never saw each other");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }

    Tally tally[2];
    const char* names[2] = {"get_or_load", "get+put"};
    for (int k = 0; k < opt.keys; ++k) {
        for (int w = 0; w < 2; ++w) {
            // Alternate which way goes first, so neither always runs on a
            // machine the other has just warmed (or loaded).
            const int way = (k % 2) ? 1 - w : w;
            const std::string key = std::string(names[way]) + "-" + std::to_string(k);
            const int before = g_loads.load();
            auto lat = stampede(caches, opt.threads, key, way == 0 ? Way::GetOrLoad : Way::GetThenPut,
                                &tally[way].failures);
            tally[way].loads.push_back(g_loads.load() - before);
            tally[way].lat.insert(tally[way].lat.end(), lat.begin(), lat.end());
        }
        std::fprintf(stderr, "\rkey %d/%d", k + 1, opt.keys);
    }
    std::fprintf(stderr, "\n");

    std::printf("### Stampede: %d members x %d threads miss one key at once, %d ms loader, %d%% drop, "
                "%d keys per way\n\n",
                opt.members, opt.threads, opt.load_ms, opt.drop, opt.keys);
    std::printf("| way | loads per key (mean) | max | callers' p50 ms | p99 ms | max ms | failed calls |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
    double p50[2], p99[2], mean_loads[2];
    for (int w = 0; w < 2; ++w) {
        const Tally& t = tally[w];
        double sum = 0;
        int mx = 0;
        for (int l : t.loads) {
            sum += l;
            mx = std::max(mx, l);
        }
        mean_loads[w] = sum / static_cast<double>(t.loads.size());
        p50[w] = pct(t.lat, 50) / 1e3;
        p99[w] = pct(t.lat, 99) / 1e3;
        std::printf("| %s | %.2f | %d | %.2f | %.2f | %.2f | %d |\n", names[w], mean_loads[w], mx, p50[w], p99[w],
                    pct(t.lat, 100) / 1e3, t.failures);
    }
    std::printf("\nget_or_load against get+put: %.3gx the loads, p50 %.2fx, p99 %.2fx.\n",
                mean_loads[0] / mean_loads[1], p50[0] / p50[1], p99[0] / p99[1]);
    for (auto* n : nodes) mccache_close(n);
    return 0;
}
