// kv_latency: what one get and one set cost the application, libmccache
// against memcached and Redis, in one run (bench/README.md, "kv_latency").
//
// libmccache answers from the application's own memory; memcached and Redis
// answer over a loopback TCP round trip to a server this bench starts on
// 127.0.0.1 (a free port, no persistence, memcached's UDP off) and stops.
// Clients: libmemcached and hiredis, Debian's, each on one connection with
// TCP_NODELAY. Same keys (16 bytes), same values, same random order; the
// three are interleaved in batches so that a load change on a shared
// machine hits all alike. Each operation is timed on its own
// (steady_clock), and the report is the latency distribution: a Markdown
// table of percentiles and, with --json FILE, 200 quantiles per case for
// bench/report's CDF plot.
//
//   build/bench/kv_latency [--samples N] [--value BYTES] [--keys N] [--json FILE]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>
#include <libmemcached/memcached.h>

#include "mccache.h"

extern char** environ;

namespace {

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "kv_latency: %s\n", what.c_str());
    std::exit(1);
}

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        die("no free port on 127.0.0.1");
    close(fd);
    return ntohs(a.sin_port);
}

bool accepts(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

// A server process of this run, stopped (SIGTERM, then SIGKILL) on exit.
struct Server {
    pid_t pid = -1;
    int port = 0;
    std::string name;

    void start(const std::string& program, std::vector<std::string> args) {
        name = program;
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(program.c_str()));
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv.data(), environ) != 0)
            die(program + " not found: apt-get install memcached redis-server");
        posix_spawn_file_actions_destroy(&fa);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!accepts(port)) {
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) die(program + " exited at start");
            if (std::chrono::steady_clock::now() > deadline) die(program + " did not listen within 10 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    ~Server() {
        if (pid <= 0) return;
        kill(pid, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            if (waitpid(pid, nullptr, WNOHANG) == pid) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
};

using Clock = std::chrono::steady_clock;

struct Case {
    std::string system, op;
    std::vector<double> us;  // one sample per operation
};

double quantile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    size_t samples = 50000, keys = 10000, value_size = 100;
    const char* json_path = nullptr;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> const char* {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--samples") samples = std::strtoull(next(), nullptr, 10);
        else if (a == "--keys") keys = std::strtoull(next(), nullptr, 10);
        else if (a == "--value") value_size = std::strtoull(next(), nullptr, 10);
        else if (a == "--json") json_path = next();
        else {
            std::printf("usage: kv_latency [--samples N (50000)] [--keys N (10000)] [--value BYTES (100)] "
                        "[--json FILE]\n");
            return a == "-h" || a == "--help" ? 0 : 2;
        }
    }
    if (samples < 100 || keys < 1 || value_size < 1 || value_size > 1 << 20) die("bad --samples/--keys/--value");
    signal(SIGPIPE, SIG_IGN);

    Server mc, rd;
    mc.port = free_port();
    std::vector<std::string> mc_args = {"-l", "127.0.0.1", "-p", std::to_string(mc.port), "-U", "0", "-m", "256",
                                        "-t", "1"};
    if (geteuid() == 0) mc_args.insert(mc_args.end(), {"-u", "nobody"});  // memcached refuses root
    mc.start("memcached", mc_args);
    rd.port = free_port();
    rd.start("redis-server", {"--bind", "127.0.0.1", "--port", std::to_string(rd.port), "--save", "",
                              "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"});

    memcached_st* memc = memcached_create(nullptr);
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    if (memcached_server_add(memc, "127.0.0.1", static_cast<in_port_t>(mc.port)) != MEMCACHED_SUCCESS)
        die("memcached_server_add failed");
    redisContext* redis = redisConnect("127.0.0.1", rd.port);
    if (!redis || redis->err) die(std::string("redisConnect: ") + (redis ? redis->errstr : "out of memory"));

    mccache_config_t* cfg = nullptr;
    mccache_t* node = nullptr;
    mccache_cache_t* cache = nullptr;
    if (mccache_config_new(&cfg) != MCCACHE_OK || mccache_config_set(cfg, "transport", "none") != MCCACHE_OK ||
        mccache_config_set(cfg, "log_level", "error") != MCCACHE_OK || mccache_open(cfg, &node) != MCCACHE_OK ||
        mccache_cache_open(node, "bench", &cache) != MCCACHE_OK)
        die(std::string("libmccache: ") + mccache_last_error());
    mccache_config_free(cfg);

    std::vector<std::string> names(keys);
    for (size_t k = 0; k < keys; ++k) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "key:%012zu", k);  // 16 bytes
        names[k] = buf;
    }
    std::string value(value_size, 'v');
    for (auto& k : names) {
        if (mccache_put(cache, k.data(), k.size(), value.data(), value.size(), MCCACHE_TTL_NEVER) != MCCACHE_OK)
            die("mccache_put");
        if (memcached_set(memc, k.data(), k.size(), value.data(), value.size(), 0, 0) != MEMCACHED_SUCCESS)
            die("memcached_set");
        auto* r = static_cast<redisReply*>(redisCommand(redis, "SET %b %b", k.data(), k.size(), value.data(),
                                                        value.size()));
        if (!r || r->type == REDIS_REPLY_ERROR) die("redis SET");
        freeReplyObject(r);
    }

    std::vector<Case> cases = {{"libmccache", "get", {}}, {"memcached", "get", {}}, {"Redis", "get", {}},
                               {"libmccache", "set", {}}, {"memcached", "set", {}}, {"Redis", "set", {}}};
    std::mt19937_64 rng(42);
    std::vector<char> buf(value_size + 64);
    const size_t batch = 500, warm = std::min<size_t>(2000, samples / 10);
    auto one = [&](size_t c, const std::string& k) {
        auto t0 = Clock::now();
        bool ok = true;
        switch (c) {
            case 0: {
                size_t len = buf.size();
                ok = mccache_get_copy(cache, k.data(), k.size(), buf.data(), &len) == MCCACHE_OK && len == value_size;
                break;
            }
            case 1: {
                size_t len = 0;
                uint32_t flags = 0;
                memcached_return_t rc;
                char* v = memcached_get(memc, k.data(), k.size(), &len, &flags, &rc);
                ok = v && rc == MEMCACHED_SUCCESS && len == value_size;
                free(v);
                break;
            }
            case 2: {
                auto* r = static_cast<redisReply*>(redisCommand(redis, "GET %b", k.data(), k.size()));
                ok = r && r->type == REDIS_REPLY_STRING && r->len == value_size;
                if (r) freeReplyObject(r);
                break;
            }
            case 3:
                ok = mccache_put(cache, k.data(), k.size(), value.data(), value.size(), MCCACHE_TTL_NEVER) ==
                     MCCACHE_OK;
                break;
            case 4:
                ok = memcached_set(memc, k.data(), k.size(), value.data(), value.size(), 0, 0) == MEMCACHED_SUCCESS;
                break;
            case 5: {
                auto* r = static_cast<redisReply*>(redisCommand(redis, "SET %b %b", k.data(), k.size(),
                                                                value.data(), value.size()));
                ok = r && r->type == REDIS_REPLY_STATUS;
                if (r) freeReplyObject(r);
                break;
            }
        }
        double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
        if (!ok) die(cases[c].system + " " + cases[c].op + " failed on " + k);
        return us;
    };
    for (size_t done = 0; done < samples + warm; done += batch) {
        for (size_t c = 0; c < cases.size(); ++c) {
            for (size_t i = 0; i < batch; ++i) {
                double us = one(c, names[rng() % keys]);
                if (done >= warm) cases[c].us.push_back(us);
            }
        }
    }

    utsname u{};
    uname(&u);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("### Machine\n\n- CPU: %u online (hardware_concurrency)\n- Kernel: %s %s; libmccache %s\n"
                "- Load average after: %.2f %.2f %.2f\n- Run: %zu operations per case after %zu warm-up, %zu keys "
                "of 16 bytes, %zu-byte values, batches of %zu interleaved\n\n",
                std::thread::hardware_concurrency(), u.sysname, u.release, mccache_version_string(), load[0],
                load[1], load[2], samples, warm, keys, value_size, batch);
    std::printf("### One operation, as the application sees it (µs)\n\n"
                "| system | op | p50 | p90 | p99 | p99.9 | max | p50 / libmccache's |\n"
                "|---|---|---:|---:|---:|---:|---:|---:|\n");
    FILE* js = json_path ? std::fopen(json_path, "w") : nullptr;
    if (json_path && !js) die(std::string("cannot write ") + json_path);
    if (js)
        std::fprintf(js, "{\"bench\": \"kv_latency\", \"samples\": %zu, \"value_bytes\": %zu, \"load\": [%.2f, %.2f, "
                         "%.2f], \"cases\": [", samples, value_size, load[0], load[1], load[2]);
    double base[2] = {0, 0};
    for (size_t c = 0; c < cases.size(); ++c) {
        auto& s = cases[c].us;
        std::sort(s.begin(), s.end());
        double p50 = quantile(s, 0.5);
        if (c % 3 == 0) base[c / 3] = p50;
        std::printf("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.0fx |\n", cases[c].system.c_str(),
                    cases[c].op.c_str(), p50, quantile(s, 0.9), quantile(s, 0.99), quantile(s, 0.999), s.back(),
                    p50 / base[c / 3]);
        if (js) {
            std::fprintf(js, "%s{\"system\": \"%s\", \"op\": \"%s\", \"quantiles_us\": [", c ? ", " : "",
                         cases[c].system.c_str(), cases[c].op.c_str());
            for (int q = 0; q < 200; ++q)  // q/200 .. 0.995, then p99.9 and max
                std::fprintf(js, "%s[%.4f, %.3f]", q ? ", " : "", q / 200.0, quantile(s, q / 200.0));
            std::fprintf(js, ", [0.999, %.3f], [1.0, %.3f]]}", quantile(s, 0.999), s.back());
        }
    }
    if (js) {
        std::fprintf(js, "]}\n");
        std::fclose(js);
    }
    redisFree(redis);
    memcached_free(memc);
    mccache_close(node);
    return 0;
}
