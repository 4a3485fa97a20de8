// Replication benchmark: how long a put on node A takes to be visible on node
// B, and how many mutations per second B applies, next to the floor of the
// same machine's loopback UDP, measured in the same run.
//
// Both nodes live in this one process. Each still has its own loop thread and
// its own sockets, so a datagram from A to B takes the same kernel path as
// between two processes; what one process adds is a single CLOCK_MONOTONIC
// for both ends and no hand-off of timestamps. (Two processes would only add
// a second scheduler entity that is already there as B's loop thread.)
//
// B observes a put in two ways: its change callback (stamped first thing on
// B's loop thread; it includes the loop turn that delivers events) and a
// writer polling mccache_contains with sched_yield between polls (the store
// itself; the poller still competes for a CPU with the loops). Throughput runs report the
// CPU time per mutation of the writer and of each loop thread, read from
// /proc/self/task/TID/schedstat, because a busy machine changes wall-clock
// rates far more than it changes CPU cost.
//
// Usage: replication_bench --help. Prints markdown on stdout, progress on
// stderr. Not a test: it exits non-zero only when a node cannot be set up.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <cjson/cJSON.h>

#include "mccache.h"

namespace {

// ---------------------------------------------------------------- helpers --

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "replication_bench: %s\n", what.c_str());
    std::exit(1);
}

struct Options {
    size_t samples = 20000;
    size_t warmup = 1000;
    double seconds = 3.0;
    int writers = 1;
    bool multicast = true;
    bool unicast = true;
    std::string only;  // "", "raw", "latency", "throughput", "paced" or "join": one part, for profiling
    size_t join_entries = 100000;  // entries a joining member pulls
    size_t value = 0;  // one value size only; 0 for 64 and 1024
    std::string mtu;   // packet_mtu of the nodes; empty for the default
    double rate = 200000;  // the paced runs' offered mutations/s (0: no paced runs)
    std::vector<bool> sealed = {false, true};  // --crypto: plain, sealed (AES-256-GCM) or both
};

// Latency distribution in microseconds (nearest-rank percentiles).
struct Dist {
    size_t n = 0;
    size_t lost = 0;
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
};

Dist summarize(std::vector<int64_t> ns, size_t lost = 0) {
    Dist d;
    d.n = ns.size();
    d.lost = lost;
    if (ns.empty()) return d;
    std::sort(ns.begin(), ns.end());
    auto rank = [&](double p) {
        size_t i = static_cast<size_t>(p * static_cast<double>(ns.size()) + 0.999999);
        return static_cast<double>(ns[std::min(ns.size(), std::max<size_t>(i, 1)) - 1]) / 1000.0;
    };
    d.p50 = rank(0.50);
    d.p99 = rank(0.99);
    d.p999 = rank(0.999);
    d.max = static_cast<double>(ns.back()) / 1000.0;
    return d;
}

// The size of the datagram that carries one Put record (docs/PROTOCOL.md:
// 48-byte header, 32-byte record header, cache name, key, value, CRC32C),
// so that the raw floor moves the same bytes as the engine.
constexpr size_t kKeyLen = 16;
constexpr const char* kCacheName = "c";
size_t engine_datagram(size_t value) { return 48 + 32 + 1 + kKeyLen + value + 4; }

uint16_t free_udp_port() {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        die(std::string("cannot find a free UDP port: ") + std::strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

// The threads of this process, to tell which ones a node's open started.
std::set<int> thread_ids() {
    std::set<int> ids;
    if (DIR* d = opendir("/proc/self/task")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ids.insert(std::atoi(e->d_name));
        closedir(d);
    }
    return ids;
}

// Nanoseconds a thread has run on a CPU (schedstat: exact, not tick-based).
int64_t thread_cpu_ns(int tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
    long long ns = 0;
    in >> ns;
    return ns;
}

int64_t threads_cpu_ns(const std::set<int>& tids) {
    int64_t sum = 0;
    for (int t : tids) sum += thread_cpu_ns(t);
    return sum;
}

int64_t self_cpu_ns() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// ------------------------------------------------------------- raw floor --

// Two UDP sockets on 127.0.0.1, connected to each other, with the engine's
// socket buffer sizes.
struct RawPair {
    int a = -1, b = -1;
    RawPair() {
        sockaddr_in addr[2]{};
        int* fds[2] = {&a, &b};
        for (int i = 0; i < 2; ++i) {
            *fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
            addr[i].sin_family = AF_INET;
            addr[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t len = sizeof addr[i];
            int buf = 4 << 20;
            setsockopt(*fds[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
            setsockopt(*fds[i], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
            timeval tv{0, 200000};  // a lost datagram must not hang the run
            setsockopt(*fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            if (*fds[i] < 0 || bind(*fds[i], reinterpret_cast<sockaddr*>(&addr[i]), len) != 0 ||
                getsockname(*fds[i], reinterpret_cast<sockaddr*>(&addr[i]), &len) != 0)
                die(std::string("raw socket: ") + std::strerror(errno));
        }
        if (connect(a, reinterpret_cast<sockaddr*>(&addr[1]), sizeof addr[1]) != 0 ||
            connect(b, reinterpret_cast<sockaddr*>(&addr[0]), sizeof addr[0]) != 0)
            die(std::string("raw connect: ") + std::strerror(errno));
    }
    ~RawPair() {
        close(a);
        close(b);
    }
};

struct RawLatency {
    Dist half_rtt;  // RTT / 2
    Dist one_way;   // send-to-receive on the echo side, same clock
};

// Blocking send/recv ping-pong between two threads: the kernel's loopback
// path plus two thread wake-ups per round trip, and nothing else.
RawLatency raw_ping_pong(size_t size, size_t samples, size_t warmup) {
    RawPair p;
    std::vector<int64_t> one_way;
    one_way.reserve(samples + warmup);
    std::thread echo([&] {
        std::vector<char> buf(65536);
        for (;;) {
            ssize_t n = recv(p.b, buf.data(), buf.size(), 0);
            int64_t t = now_ns();
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                return;
            }
            if (n == 1) return;  // stop
            int64_t sent;
            std::memcpy(&sent, buf.data(), sizeof sent);
            one_way.push_back(t - sent);
            send(p.b, buf.data(), static_cast<size_t>(n), 0);
        }
    });
    std::vector<char> buf(std::max<size_t>(size, 16), 'x');
    std::vector<char> in(65536);
    std::vector<int64_t> half;
    half.reserve(samples);
    size_t lost = 0;
    for (size_t i = 0; i < samples + warmup; ++i) {
        int64_t t0 = now_ns();
        std::memcpy(buf.data(), &t0, sizeof t0);
        send(p.a, buf.data(), buf.size(), 0);
        ssize_t n = recv(p.a, in.data(), in.size(), 0);
        int64_t t1 = now_ns();
        if (n != static_cast<ssize_t>(buf.size())) {
            ++lost;
            continue;
        }
        if (i >= warmup) half.push_back((t1 - t0) / 2);
    }
    send(p.a, "s", 1, 0);
    echo.join();
    if (one_way.size() > warmup) one_way.erase(one_way.begin(), one_way.begin() + static_cast<long>(warmup));
    return {summarize(half, lost), summarize(one_way)};
}

struct RawThroughput {
    size_t size = 0;
    double sent_per_s = 0, received_per_s = 0;
};

// One thread sends as fast as it can, one thread receives with a recv() per
// datagram (as libuv does without recvmmsg): the packets per second that the
// loopback path delivers one way.
RawThroughput raw_blast(size_t size, double seconds) {
    RawPair p;
    std::atomic<bool> done{false};
    uint64_t received = 0;
    int64_t first = 0, last = 0;
    std::thread rx([&] {
        std::vector<char> buf(65536);
        for (;;) {
            ssize_t n = recv(p.b, buf.data(), buf.size(), 0);
            if (n < 0) {
                if (done.load()) return;
                continue;
            }
            last = now_ns();
            if (received++ == 0) first = last;
        }
    });
    std::vector<char> buf(size, 'x');
    uint64_t sent = 0;
    int64_t start = now_ns();
    int64_t until = start + static_cast<int64_t>(seconds * 1e9);
    int64_t end = start;
    for (;;) {
        if (send(p.a, buf.data(), buf.size(), 0) == static_cast<ssize_t>(buf.size())) ++sent;
        if ((sent & 63) == 0 && (end = now_ns()) >= until) break;
    }
    done.store(true);
    rx.join();
    RawThroughput r;
    r.size = size;
    r.sent_per_s = static_cast<double>(sent) / (static_cast<double>(end - start) / 1e9);
    if (received > 1)
        r.received_per_s = static_cast<double>(received) / (static_cast<double>(last - first) / 1e9);
    return r;
}

// ---------------------------------------------------------------- engines --

struct Node {
    mccache_t* node = nullptr;
    mccache_cache_t* cache = nullptr;
    std::set<int> threads;  // started by mccache_open: the loop thread
};

// The counters of mccache_metrics_json() this bench reports.
struct Counters {
    double records_sent = 0, records_received = 0, overflow = 0, data_messages_sent = 0;
    double records_sent_direct = 0;  // sent on the writer's thread (0 before the engine had it)
    double nacks_sent = 0, retransmits = 0, gaps = 0;
    double members_alive = 0, ae_rounds = 0, ae_keys_repaired = 0;
    double packet_mtu = 0;  // in force
    double members_down = 0;  // a member declared down (silent for member_timeout)
};

Counters read_counters(const Node& n) {
    char* json = nullptr;
    if (mccache_metrics_json(n.node, &json) != MCCACHE_OK) die(mccache_last_error());
    cJSON* root = cJSON_Parse(json);
    mccache_free(json);
    const cJSON* c = cJSON_GetObjectItemCaseSensitive(root, "cluster");
    auto num = [&](const char* k) {
        const cJSON* v = cJSON_GetObjectItemCaseSensitive(c, k);
        return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
    };
    Counters k;
    k.records_sent = num("records_sent");
    k.records_sent_direct = num("records_sent_direct");
    k.records_received = num("records_received");
    k.overflow = num("send_queue_overflow");
    k.data_messages_sent = num("data_messages_sent");
    k.nacks_sent = num("nacks_sent");
    k.retransmits = num("retransmits");
    k.gaps = num("gaps_unrepairable");
    k.members_alive = num("members_alive");
    k.packet_mtu = num("packet_mtu");
    k.members_down = num("members_down");
    k.ae_rounds = num("ae_rounds");
    k.ae_keys_repaired = num("ae_keys_repaired");
    cJSON_Delete(root);
    return k;
}

template <class Pred>
bool wait_until(Pred pred, double seconds) {
    int64_t until = now_ns() + static_cast<int64_t>(seconds * 1e9);
    while (now_ns() < until) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
}

// Two nodes of one cluster of their own: a cluster name with the pid, and
// for multicast a port of its own too, so parallel runs never see each
// other's traffic (not even to reject it).
// --direct: send_direct of both nodes ("true"/"false"), empty for the engine's default.
std::string g_send_direct;
// --set KEY=VALUE: more settings for every node (e.g. socket_buffer=208KiB, a stock kernel's cap).
std::vector<std::pair<std::string, std::string>> g_extra;
// The packet_mtu the engines used (the last pair's, as metrics report it).
double g_packet_mtu = 0;

class Pair {
public:
    // `key`: a base64 crypto_key for sealed datagrams, or empty for plain.
    Pair(bool multicast, const std::string& tag, const std::string& mtu, const std::string& key = "") {
        static int count = 0;
        name_ = "replbench-" + std::to_string(getpid()) + "-" + tag + "-" + std::to_string(count++);
        std::vector<std::pair<std::string, std::string>> common = {
            {"cluster_name", name_},
            {"log_level", "error"},
            {"cache_max", "4194304"},
            {"cache_size", "2GiB"},
            {"cache_ttl", "0"},
        };
        if (!mtu.empty()) common.push_back({"packet_mtu", mtu});
        if (!key.empty()) common.push_back({"crypto_key", key});
        if (!g_send_direct.empty()) common.push_back({"send_direct", g_send_direct});
        for (const auto& kv : g_extra) common.push_back(kv);
        if (multicast) {
            common.push_back({"transport", "multicast"});
            common.push_back({"multicast_port", std::to_string(free_udp_port())});
            a_ = open(common);
            b_ = open(common);
        } else {
            std::string pa = std::to_string(free_udp_port()), pb = std::to_string(free_udp_port());
            std::string peers = "127.0.0.1:" + pa + ",127.0.0.1:" + pb;
            auto with = [&](const std::string& port) {
                auto s = common;
                s.push_back({"transport", "unicast"});
                s.push_back({"peers", peers});
                s.push_back({"listen_port", port});
                return s;
            };
            a_ = open(with(pa));
            b_ = open(with(pb));
        }
        if (!wait_until([&] { return read_counters(a_).members_alive >= 1 &&
                                     read_counters(b_).members_alive >= 1; },
                        10))
            die("the two nodes of " + name_ + " never saw each other");
        g_packet_mtu = read_counters(a_).packet_mtu;
    }
    ~Pair() {
        mccache_close(a_.node);
        mccache_close(b_.node);
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;

    const Node& a() const { return a_; }
    const Node& b() const { return b_; }

    static Node open(const std::vector<std::pair<std::string, std::string>>& settings) {
        mccache_config_t* cfg = nullptr;
        if (mccache_config_new(&cfg) != MCCACHE_OK) die("config_new");
        for (auto& [k, v] : settings)
            if (mccache_config_set(cfg, k.c_str(), v.c_str()) != MCCACHE_OK)
                die(k + ": " + mccache_last_error());
        Node n;
        std::set<int> before = thread_ids();
        if (mccache_open(cfg, &n.node) != MCCACHE_OK) die(std::string("open: ") + mccache_last_error());
        for (int t : thread_ids())
            if (!before.count(t)) n.threads.insert(t);
        mccache_config_free(cfg);
        if (mccache_cache_open(n.node, kCacheName, &n.cache) != MCCACHE_OK) die("cache_open");
        return n;
    }

private:
    std::string name_;
    Node a_, b_;
};

// A fresh AES-256 key for the sealed runs, from the library's own generator.
std::string generated_key() {
    char buf[64];
    if (mccache_generate_key(buf, sizeof buf) != MCCACHE_OK) die(std::string("generate_key: ") + mccache_last_error());
    return buf;
}

// ---------------------------------------------------------------- latency --

// A latency key: 4 bytes of phase tag, the sample index, zero padding.
struct Key {
    unsigned char bytes[kKeyLen] = {};
    Key(uint32_t tag, uint32_t index) {
        std::memcpy(bytes, &tag, 4);
        std::memcpy(bytes + 4, &index, 4);
    }
};

// Arrival times on B, stamped by B's change callback on B's loop thread.
// Shared with the callback registration, which may outlive a case by a
// loop turn (unregistering is asynchronous).
struct Arrivals {
    uint32_t tag = 0;
    std::vector<int64_t> at;
    std::mutex mu;
    std::condition_variable cv;
};

void on_arrival(const mccache_event_t* ev, void* opaque) {
    int64_t t = now_ns();  // first thing: the record is applied by now
    Arrivals* arr = static_cast<std::shared_ptr<Arrivals>*>(opaque)->get();
    if (ev->origin == MCCACHE_ORIGIN_LOCAL || ev->klen != kKeyLen) return;
    uint32_t tag, index;
    std::memcpy(&tag, ev->key, 4);
    std::memcpy(&index, static_cast<const char*>(ev->key) + 4, 4);
    if (tag != arr->tag || index >= arr->at.size()) return;
    {
        std::lock_guard<std::mutex> lock(arr->mu);
        if (arr->at[index] == 0) arr->at[index] = t;
    }
    arr->cv.notify_one();
}

enum class Probe { Callback, Contains };

// One put at a time, each on a fresh key: the unloaded latency from the
// writer's call to B seeing the entry.
Dist latency(const Pair& pair, size_t value_size, Probe probe, const Options& opt, double* direct_share,
             Dist* put_time) {
    const Counters before = read_counters(pair.a());
    static uint32_t next_tag = 1;
    const uint32_t tag = next_tag++;
    const size_t total = opt.samples + opt.warmup;
    std::vector<char> value(value_size, 'v');
    std::vector<int64_t> ns, put_ns;
    ns.reserve(opt.samples);
    put_ns.reserve(opt.samples);
    size_t lost = 0;
    constexpr int64_t kTimeout = 1000000000;  // 1 s: beyond NACK repair, count it lost

    auto shared = std::make_shared<Arrivals>();
    Arrivals& arr = *shared;
    arr.tag = tag;
    arr.at.assign(total, 0);
    if (probe == Probe::Callback &&
        mccache_on_change(pair.b().cache, &on_arrival, new std::shared_ptr<Arrivals>(shared),
                          [](void* p) { delete static_cast<std::shared_ptr<Arrivals>*>(p); }) != MCCACHE_OK)
        die("on_change");
    for (size_t i = 0; i < total; ++i) {
        Key k(tag, static_cast<uint32_t>(i));
        int64_t t0 = now_ns();
        if (mccache_put(pair.a().cache, k.bytes, kKeyLen, value.data(), value.size(),
                        MCCACHE_TTL_NEVER) != MCCACHE_OK)
            die(std::string("put: ") + mccache_last_error());
        const int64_t put_done = now_ns();
        int64_t t1 = 0;
        if (probe == Probe::Callback) {
            std::unique_lock<std::mutex> lock(arr.mu);
            arr.cv.wait_for(lock, std::chrono::nanoseconds(kTimeout), [&] { return arr.at[i] != 0; });
            t1 = arr.at[i];
        } else {
            for (uint64_t spins = 1;; ++spins) {
                if (mccache_contains(pair.b().cache, k.bytes, kKeyLen) == MCCACHE_OK) {
                    t1 = now_ns();
                    break;
                }
                if ((spins & 255) == 0 && now_ns() - t0 > kTimeout) break;
                // Yield, not pause: on a small machine the loop threads may
                // need this very CPU.
                std::this_thread::yield();
            }
        }
        if (t1 == 0) ++lost;
        else if (i >= opt.warmup) ns.push_back(t1 - t0);
        if (i >= opt.warmup) put_ns.push_back(put_done - t0);
    }
    if (probe == Probe::Callback) mccache_on_change(pair.b().cache, nullptr, nullptr, nullptr);
    const Counters after = read_counters(pair.a());
    const double sent = after.records_sent - before.records_sent;
    *direct_share = sent > 0 ? (after.records_sent_direct - before.records_sent_direct) / sent : 0;
    *put_time = summarize(std::move(put_ns));
    return summarize(std::move(ns), lost);
}

// ------------------------------------------------------------------- join --

struct JoinRow {
    size_t value = 0, entries = 0;
    double seconds = -1;  // from B's open until B holds A's state; -1: not within 120 s
};

// A holds `entries` entries; B opens (replicate mode) and pulls the state.
// The time runs from B's open to equal sizes and checksums, so it includes
// B meeting A (a heartbeat interval at most).
JoinRow join_transfer(size_t value_size, size_t entries, const Options& opt) {
    static int count = 0;
    const std::string name = "replbench-" + std::to_string(getpid()) + "-join-" + std::to_string(count++);
    std::vector<std::pair<std::string, std::string>> common = {
        {"cluster_name", name},        {"log_level", "error"},
        {"cache_max", "4194304"},      {"cache_size", "4GiB"},
        {"cache_ttl", "0"},            {"transport", "multicast"},
        {"multicast_port", std::to_string(free_udp_port())},
    };
    if (!opt.mtu.empty()) common.push_back({"packet_mtu", opt.mtu});
    if (!g_send_direct.empty()) common.push_back({"send_direct", g_send_direct});
    for (const auto& kv : g_extra) common.push_back(kv);
    Node a = Pair::open(common);
    std::vector<char> value(value_size, 'j');
    for (size_t i = 0; i < entries; ++i) {
        Key k(0x4a4f494e, static_cast<uint32_t>(i));
        std::memcpy(value.data(), &i, std::min(sizeof i, value.size()));  // distinct values
        if (mccache_put(a.cache, k.bytes, kKeyLen, value.data(), value.size(), MCCACHE_TTL_NEVER) != MCCACHE_OK)
            die(std::string("put: ") + mccache_last_error());
    }
    JoinRow row;
    row.value = value_size;
    row.entries = entries;
    const int64_t t0 = now_ns();
    Node b = Pair::open(common);
    auto same = [&] {
        uint64_t ca = 0, cb = 0;
        size_t la = 0, lb = 0;
        mccache_checksum(a.cache, &ca);
        mccache_checksum(b.cache, &cb);
        mccache_len(a.cache, &la);
        mccache_len(b.cache, &lb);
        return ca == cb && la == lb;
    };
    if (wait_until(same, 120)) row.seconds = static_cast<double>(now_ns() - t0) / 1e9;
    mccache_close(b.node);
    mccache_close(a.node);
    return row;
}

// ------------------------------------------------------------- throughput --

struct Throughput {
    double puts_per_s = 0, sent_per_s = 0, applied_per_s = 0;
    double records_per_message = 0, max_backlog = 0, backlog_at_stop = 0;
    double drain_ms = 0, converge_ms = -1;
    // CPU per mutation (µs) until the drain ends, and the share of the
    // window each ran: a thread near 100 % is the bottleneck.
    double writer_us = 0, a_loop_us = 0, b_loop_us = 0;
    double writer_busy = 0, a_loop_busy = 0, b_loop_busy = 0;
    Counters a, b;  // deltas over the whole run, drain included
};

Counters delta(const Counters& x, const Counters& y) {
    Counters d;
    d.records_sent = y.records_sent - x.records_sent;
    d.records_sent_direct = y.records_sent_direct - x.records_sent_direct;
    d.records_received = y.records_received - x.records_received;
    d.overflow = y.overflow - x.overflow;
    d.data_messages_sent = y.data_messages_sent - x.data_messages_sent;
    d.nacks_sent = y.nacks_sent - x.nacks_sent;
    d.retransmits = y.retransmits - x.retransmits;
    d.gaps = y.gaps - x.gaps;
    d.ae_rounds = y.ae_rounds - x.ae_rounds;
    d.ae_keys_repaired = y.ae_keys_repaired - x.ae_keys_repaired;
    d.members_down = y.members_down - x.members_down;
    return d;
}

bool converged(const Pair& p) {
    uint64_t ca = 0, cb = 0;
    size_t la = 0, lb = 0;
    mccache_checksum(p.a().cache, &ca);
    mccache_checksum(p.b().cache, &cb);
    mccache_len(p.a().cache, &la);
    mccache_len(p.b().cache, &lb);
    return ca == cb && la == lb;
}

// Writers put on A over a fixed set of keys (updates, after the first pass),
// as fast as they can or paced to `rate` in all; B's apply rate comes from
// its counters.
Throughput throughput(const Pair& pair, size_t value_size, double rate, const Options& opt) {
    constexpr uint32_t kKeys = 1 << 16;
    std::vector<Key> keys;
    keys.reserve(kKeys);
    for (uint32_t i = 0; i < kKeys; ++i) keys.emplace_back(0x7470u, i);
    std::vector<char> value(value_size, 'w');

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> puts{0};
    std::atomic<int64_t> writer_cpu{0};
    Counters a0 = read_counters(pair.a()), b0 = read_counters(pair.b());
    int64_t a_cpu0 = threads_cpu_ns(pair.a().threads), b_cpu0 = threads_cpu_ns(pair.b().threads);
    int64_t start = now_ns();
    std::vector<std::thread> writers;
    for (int w = 0; w < opt.writers; ++w)
        writers.emplace_back([&, w] {
            uint64_t n = 0;
            int64_t cpu0 = self_cpu_ns();
            const double per_ns = rate / opt.writers / 1e9;
            for (uint32_t i = static_cast<uint32_t>(w); !stop.load(std::memory_order_relaxed);
                 i += static_cast<uint32_t>(opt.writers)) {
                // Paced: sleep while ahead of schedule (bursts of ~20 µs of puts).
                while (rate > 0 && static_cast<double>(n) >= static_cast<double>(now_ns() - start) * per_ns &&
                       !stop.load(std::memory_order_relaxed))
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
                const Key& k = keys[i % kKeys];
                if (mccache_put(pair.a().cache, k.bytes, kKeyLen, value.data(), value.size(),
                                MCCACHE_TTL_NEVER) != MCCACHE_OK)
                    die(std::string("put: ") + mccache_last_error());
                ++n;
            }
            writer_cpu.fetch_add(self_cpu_ns() - cpu0);
            puts.fetch_add(n);
        });
    Throughput r;
    int64_t until = start + static_cast<int64_t>(opt.seconds * 1e9);
    while (now_ns() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        double backlog =
            std::max(0.0, read_counters(pair.a()).records_sent - read_counters(pair.b()).records_received);
        r.max_backlog = std::max(r.max_backlog, backlog);
    }
    stop.store(true);
    int64_t stopped = now_ns();
    Counters a1 = read_counters(pair.a()), b1 = read_counters(pair.b());
    int64_t a_cpu1 = threads_cpu_ns(pair.a().threads), b_cpu1 = threads_cpu_ns(pair.b().threads);
    for (auto& t : writers) t.join();
    double window = static_cast<double>(stopped - start) / 1e9;
    r.writer_busy = static_cast<double>(writer_cpu.load()) / 1e9 / window / opt.writers;
    r.a_loop_busy = static_cast<double>(a_cpu1 - a_cpu0) / 1e9 / window;
    r.b_loop_busy = static_cast<double>(b_cpu1 - b_cpu0) / 1e9 / window;
    r.puts_per_s = static_cast<double>(puts.load()) / window;
    r.sent_per_s = (a1.records_sent - a0.records_sent) / window;
    r.applied_per_s = (b1.records_received - b0.records_received) / window;
    r.backlog_at_stop = std::max(0.0, a1.records_sent - b1.records_received);

    // Drain: until B has received every record A sent, or nothing moves.
    double last = -1;
    int64_t last_move = now_ns();
    for (;;) {
        Counters a = read_counters(pair.a()), b = read_counters(pair.b());
        if (b.records_received >= a.records_sent && a.records_sent - a0.records_sent >=
                                                        static_cast<double>(puts.load()) -
                                                            (a.overflow - a0.overflow))
            break;
        if (b.records_received != last) {
            last = b.records_received;
            last_move = now_ns();
        } else if (now_ns() - last_move > 1000000000) {
            break;  // stuck: what is missing is anti-entropy's job below
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    r.drain_ms = static_cast<double>(now_ns() - stopped) / 1e6;
    {
        Counters a = read_counters(pair.a()), b = read_counters(pair.b());
        double sent = a.records_sent - a0.records_sent, got = b.records_received - b0.records_received;
        double p = static_cast<double>(puts.load());
        if (p > 0) r.writer_us = static_cast<double>(writer_cpu.load()) / 1e3 / p;
        if (sent > 0) r.a_loop_us = static_cast<double>(threads_cpu_ns(pair.a().threads) - a_cpu0) / 1e3 / sent;
        if (got > 0) r.b_loop_us = static_cast<double>(threads_cpu_ns(pair.b().threads) - b_cpu0) / 1e3 / got;
    }

    // The project's convergence oracle: sync, then equal checksums and sizes.
    int64_t sync_at = now_ns();
    mccache_sync(pair.a().node);
    mccache_sync(pair.b().node);
    if (wait_until([&] { return converged(pair); }, 30))
        r.converge_ms = static_cast<double>(now_ns() - sync_at) / 1e6;

    r.a = delta(a0, read_counters(pair.a()));
    r.b = delta(b0, read_counters(pair.b()));
    r.records_per_message = r.a.data_messages_sent > 0 ? r.a.records_sent / r.a.data_messages_sent : 0;
    return r;
}

// ----------------------------------------------------------------- report --

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) {
            size_t colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown";
}

std::string loadavg() {
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) != 3) return "unknown";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", l[0], l[1], l[2]);
    return buf;
}

std::string fmt(double v, const char* f = "%.1f") {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string rate(double per_s) { return per_s >= 1e6 ? fmt(per_s / 1e6, "%.2f M") : fmt(per_s / 1e3, "%.0f k"); }

void usage() {
    std::printf(
        "usage: replication_bench [--samples N] [--warmup N] [--seconds S] [--writers W] [--rate R]\n"
        "                         [--transport multicast|unicast|both] [--crypto plain|sealed|both]\n"
        "                         [--direct on|off]\n"
        "                         [--mtu N] [--entries N] [--set K=V] [--only PART]\n"
        "  --samples    latency samples per case (default 20000)\n"
        "  --warmup     samples discarded before each case (default 1000)\n"
        "  --seconds    duration of each throughput run (default 3)\n"
        "  --writers    threads putting on node A in the throughput runs (default 1)\n"
        "  --transport  which transports to measure (default both)\n"
        "  --crypto     plain (CRC32C), sealed (AES-256-GCM) or both, compared (default both)\n"
        "  --rate       offered mutations/s of the paced runs (default 200000; 0: none)\n"
        "  --mtu        packet_mtu of both nodes (default: the engine's, the interface's MTU:\n"
        "               65507 on loopback; 1472 is Ethernet's)\n"
        "  --direct     on or off: send_direct of both nodes, writers sending when the stream is idle\n"
        "               (default: the engine's, off)\n"
        "  --value      one value size only, in bytes (default: 64 and 1024)\n"
        "  --entries    entries the joining member pulls in the join runs (default 100000)\n"
        "  --set K=V    one more setting for every node (repeatable), e.g. socket_buffer=208KiB\n"
        "  --only       one part: raw, latency, throughput, paced (the paced runs only) or join,\n"
        "               for profiling\n");
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        auto number = [&](double lo, double hi) {
            std::string v = value();
            char* end = nullptr;
            double d = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end || d < lo || d > hi)
                die(a + ": \"" + v + "\" is not a number in [" + fmt(lo, "%g") + ", " + fmt(hi, "%g") + "]");
            return d;
        };
        if (a == "--samples") o.samples = static_cast<size_t>(number(1, 1e8));
        else if (a == "--warmup") o.warmup = static_cast<size_t>(number(0, 1e8));
        else if (a == "--seconds") o.seconds = number(0.1, 3600);
        else if (a == "--writers") o.writers = static_cast<int>(number(1, 64));
        else if (a == "--transport") {
            std::string t = value();
            if (t != "multicast" && t != "unicast" && t != "both") die("--transport: multicast, unicast or both");
            o.multicast = t != "unicast";
            o.unicast = t != "multicast";
        } else if (a == "--crypto") {
            std::string c = value();
            if (c == "plain") o.sealed = {false};
            else if (c == "sealed") o.sealed = {true};
            else if (c == "both") o.sealed = {false, true};
            else die("--crypto: plain, sealed or both");
        } else if (a == "--direct") {
            std::string d = value();
            if (d == "on") g_send_direct = "true";
            else if (d == "off") g_send_direct = "false";
            else die("--direct: on or off");
        } else if (a == "--rate") {
            o.rate = number(0, 1e8);
        } else if (a == "--value") {
            o.value = static_cast<size_t>(number(1, 1 << 20));
        } else if (a == "--mtu") {
            o.mtu = std::to_string(static_cast<int>(number(576, 65507)));
        } else if (a == "--only") {
            o.only = value();
            if (o.only != "raw" && o.only != "latency" && o.only != "throughput" && o.only != "paced" &&
                o.only != "join")
                die("--only: raw, latency, throughput, paced or join");
        } else if (a == "--set") {
            std::string kv = value();
            size_t eq = kv.find('=');
            if (eq == std::string::npos || eq == 0) die("--set: KEY=VALUE");
            g_extra.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
        } else if (a == "--entries") {
            o.join_entries = static_cast<size_t>(number(1, 4000000));
        } else if (a == "-h" || a == "--help") {
            usage();
            std::exit(0);
        } else {
            usage();
            die("unknown argument " + a);
        }
    }
    return o;
}

struct LatencyRow {
    bool sealed;
    const char* transport;
    size_t value;
    const char* probe;
    Dist d;
    double floor_us;  // raw one-way (RTT/2) p50, same datagram size, measured just before
    double direct = 0;  // share of A's records sent on the writer's thread
    double put_p50 = 0;  // µs in mccache_put on A's writer (the sendto, when sent directly)
};

struct ThroughputRow {
    bool sealed;
    const char* transport;
    size_t value;
    double rate;  // offered; 0 for as fast as possible
    Throughput t;
};

void print_floor(const std::vector<std::pair<size_t, RawLatency>>& raw, const std::vector<RawThroughput>& blasts) {
    if (raw.empty() && blasts.empty()) return;
    std::printf("### Floor: raw UDP on 127.0.0.1 (blocking send/recv, two threads)\n\n");
    std::printf("| datagram | measure | p50 µs | p99 µs | p99.9 µs | max µs | lost |\n|---|---|---:|---:|---:|---:|---:|\n");
    for (auto& [size, r] : raw) {
        std::printf("| %zu B | one-way = RTT/2 | %.1f | %.1f | %.1f | %.1f | %zu |\n", size, r.half_rtt.p50,
                    r.half_rtt.p99, r.half_rtt.p999, r.half_rtt.max, r.half_rtt.lost);
        std::printf("| %zu B | one-way, stamped at both ends | %.1f | %.1f | %.1f | %.1f | |\n", size,
                    r.one_way.p50, r.one_way.p99, r.one_way.p999, r.one_way.max);
    }
    std::printf("\n| datagram | raw one-way throughput: sent/s | received/s |\n|---|---:|---:|\n");
    for (auto& b : blasts)
        std::printf("| %zu B | %s | %s |\n", b.size, rate(b.sent_per_s).c_str(), rate(b.received_per_s).c_str());

}

void print_latency(std::vector<LatencyRow> lat, const std::vector<std::pair<size_t, RawLatency>>& raw) {
    if (lat.empty()) return;
    std::printf("\n### Replication latency: put on A until visible on B (one put in flight)\n\n");
    std::printf("- raw one-way: the lowest RTT/2 p50 of this run's raw ping-pongs with the same datagram size (one at the\n"
                "  start, one just before each case), so a noisy floor never flatters the ratio.\n\n");
    std::printf("- sent directly: the share of A's records sent on the writer's thread (the rest went through A's loop).\n");
    std::printf("- put p50: the time the writer spends in mccache_put (a direct send's sendto included).\n\n");
    std::printf("| transport | datagrams | value | B observes by | p50 µs | p99 µs | p99.9 µs | max µs | lost | raw one-way µs | p50 / raw | p50 ≤ 3× raw | p99 ≤ 250 µs | sent directly | put p50 µs |\n");
    std::printf("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|:-:|:-:|---:|---:|\n");
    for (auto& l : lat)
        for (auto& o : lat)
            if (o.value == l.value && o.floor_us > 0) l.floor_us = std::min(l.floor_us, o.floor_us);
    for (auto& [size, r] : raw)
        for (auto& l : lat)
            if (engine_datagram(l.value) == size) l.floor_us = std::min(l.floor_us, r.half_rtt.p50);
    for (auto& l : lat) {
        double ratio = l.floor_us > 0 ? l.d.p50 / l.floor_us : 0;
        std::printf("| %s | %s | %zu B | %s | %.1f | %.1f | %.1f | %.1f | %zu | %.1f | %s | %s | %s | %.0f %% | %.1f |\n", l.transport,
                    l.sealed ? "sealed" : "plain", l.value, l.probe, l.d.p50, l.d.p99, l.d.p999, l.d.max, l.d.lost, l.floor_us,
                    ratio > 0 ? (fmt(ratio) + "×").c_str() : "n/a",
                    ratio <= 0 ? "n/a" : ratio <= 3.0 ? "yes" : "**no**", l.d.p99 <= 250.0 ? "yes" : "**no**",
                    100 * l.direct, l.put_p50);
    }

}

void print_throughput(const std::vector<ThroughputRow>& tput, const Options& opt) {
    if (tput.empty()) return;
    std::printf("\n### Throughput: %d writer(s) putting on A, as fast as possible (max) or paced, %.1f s\n\n",
                opt.writers, opt.seconds);
    std::printf("- Keeps up (paced runs): applied/s on B ≥ 98 %% of offered, no send_queue_overflow, no unrepairable gap.\n");
    std::printf("- ≥ 200 k/s: max runs, applied/s on B ≥ 200 k; paced runs, keeps up at ≥ 200 k/s offered.\n");
    std::printf("- applied/s counts every record B applied, anti-entropy repairs included.\n\n");
    std::printf("| transport | datagrams | value | offered | puts/s on A | sent/s by A | applied/s on B | ≥ 200 k/s | keeps up | records/datagram | sent directly | max backlog | backlog at stop | drain ms | send_queue_overflow | nacks | retransmits | gaps_unrepairable | AE rounds | AE keys repaired | members down | converged after sync |\n");
    std::printf("|---|---|---|---|---:|---:|---:|:-:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (auto& row : tput) {
        const Throughput& t = row.t;
        bool keeps_up = t.applied_per_s >= 0.98 * row.rate && t.a.overflow == 0 && t.b.gaps == 0;
        bool meets = row.rate > 0 ? keeps_up && row.rate >= 200000 : t.applied_per_s >= 200000;
        std::printf("| %s | %s | %zu B | %s | %s | %s | %s | %s | %s | %.1f | %.0f %% | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s |\n",
                    row.transport, row.sealed ? "sealed" : "plain", row.value, row.rate > 0 ? (rate(row.rate) + "/s").c_str() : "max",
                    rate(t.puts_per_s).c_str(), rate(t.sent_per_s).c_str(),
                    rate(t.applied_per_s).c_str(), meets ? "yes" : "**no**",
                    row.rate <= 0 ? "" : keeps_up ? "yes" : "**no**",
                    t.records_per_message,
                    t.a.records_sent > 0 ? 100 * t.a.records_sent_direct / t.a.records_sent : 0.0,
                    t.max_backlog, t.backlog_at_stop, t.drain_ms, t.a.overflow,
                    t.b.nacks_sent, t.a.retransmits, t.b.gaps, t.a.ae_rounds + t.b.ae_rounds,
                    t.a.ae_keys_repaired + t.b.ae_keys_repaired, t.a.members_down + t.b.members_down,
                    t.converge_ms < 0 ? "**no** (30 s)" : ("yes, " + fmt(t.converge_ms, "%.0f") + " ms").c_str());
    }
    std::printf("\nCPU time per mutation (µs) until the drain ends (anti-entropy work included, when a run overflowed), and each thread's busy share of the write window:\n\n");
    std::printf("| transport | datagrams | value | offered | writer: put | A loop: batch + send | B loop: receive + apply | writer busy | A loop busy | B loop busy |\n");
    std::printf("|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (auto& row : tput) {
        const Throughput& t = row.t;
        std::printf("| %s | %s | %zu B | %s | %.2f | %.2f | %.2f | %.0f %% | %.0f %% | %.0f %% |\n", row.transport,
                    row.sealed ? "sealed" : "plain", row.value,
                    row.rate > 0 ? (rate(row.rate) + "/s").c_str() : "max",
                    t.writer_us, t.a_loop_us, t.b_loop_us, 100 * t.writer_busy, 100 * t.a_loop_busy,
                    100 * t.b_loop_busy);
    }
}

void print_joins(const std::vector<JoinRow>& joins) {
    if (joins.empty()) return;
    std::printf("\n### Join: a new member (replicate mode) pulls the state of a live one, multicast, plain\n\n");
    std::printf("- From the joiner's mccache_open() to equal sizes and checksums: meeting the member (up to a\n"
                "  heartbeat interval), its pull, and the repairs it receives.\n\n");
    std::printf("| value | entries | seconds | entries/s | MB/s of values |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    for (const JoinRow& j : joins) {
        if (j.seconds < 0) {
            std::printf("| %zu B | %zu | **not within 120 s** | | |\n", j.value, j.entries);
            continue;
        }
        std::printf("| %zu B | %zu | %.2f | %s | %.0f |\n", j.value, j.entries, j.seconds,
                    rate(static_cast<double>(j.entries) / j.seconds).c_str(),
                    static_cast<double>(j.entries * j.value) / j.seconds / 1e6);
    }
}

// Sealed against plain, case by case: the target is sealed
// throughput at least 75 % of plain.
void print_sealing(const std::vector<LatencyRow>& lat, const std::vector<ThroughputRow>& tput) {
    bool any = false;
    for (auto& t : tput) any |= t.sealed;
    for (auto& l : lat) any |= l.sealed;
    if (!any) return;
    std::printf("\n### Sealed (AES-256-GCM) against plain (CRC32C), same run\n\n");
    if (!tput.empty()) {
        std::printf("| transport | value | offered | plain applied/s | sealed applied/s | sealed / plain | ≥ 75 %% | A loop µs/mutation plain → sealed | B loop µs/mutation plain → sealed |\n");
        std::printf("|---|---|---|---:|---:|---:|:-:|---|---|\n");
        for (auto& s : tput) {
            if (!s.sealed) continue;
            for (auto& p : tput) {
                if (p.sealed || p.value != s.value || p.rate != s.rate || std::string(p.transport) != s.transport)
                    continue;
                double r = p.t.applied_per_s > 0 ? s.t.applied_per_s / p.t.applied_per_s : 0;
                std::printf("| %s | %zu B | %s | %s | %s | %.0f %% | %s | %.2f → %.2f | %.2f → %.2f |\n", s.transport,
                            s.value, s.rate > 0 ? (rate(s.rate) + "/s").c_str() : "max",
                            rate(p.t.applied_per_s).c_str(), rate(s.t.applied_per_s).c_str(), 100 * r,
                            r >= 0.75 ? "yes" : "**no**", p.t.a_loop_us, s.t.a_loop_us, p.t.b_loop_us, s.t.b_loop_us);
            }
        }
    }
    if (!lat.empty()) {
        std::printf("\n| transport | value | B observes by | p50 µs plain → sealed | p99 µs plain → sealed | p99.9 µs plain → sealed |\n");
        std::printf("|---|---|---|---|---|---|\n");
        for (auto& s : lat) {
            if (!s.sealed) continue;
            for (auto& p : lat) {
                if (p.sealed || p.value != s.value || std::string(p.probe) != s.probe ||
                    std::string(p.transport) != s.transport)
                    continue;
                std::printf("| %s | %zu B | %s | %.1f → %.1f | %.1f → %.1f | %.1f → %.1f |\n", s.transport, s.value,
                            s.probe, p.d.p50, s.d.p50, p.d.p99, s.d.p99, p.d.p999, s.d.p999);
            }
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);
    std::vector<size_t> sizes = {64, 1024};
    if (opt.value) sizes = {opt.value};
    std::vector<const char*> transports;
    if (opt.multicast) transports.push_back("multicast");
    if (opt.unicast) transports.push_back("unicast");
    std::string load_before = loadavg();
    int64_t began = now_ns();

    auto part = [&](const char* p) { return opt.only.empty() || opt.only == p; };

    // 1. The floor.
    std::vector<std::pair<size_t, RawLatency>> raw;
    std::vector<RawThroughput> blasts;
    for (size_t v : sizes) {
        if (!part("raw")) break;
        std::fprintf(stderr, "raw UDP ping-pong, %zu-byte datagrams...\n", engine_datagram(v));
        raw.emplace_back(engine_datagram(v), raw_ping_pong(engine_datagram(v), opt.samples, opt.warmup));
    }
    for (size_t s : {engine_datagram(64), size_t{1472}}) {
        if (!part("raw")) break;
        std::fprintf(stderr, "raw UDP one-way blast, %zu-byte datagrams...\n", s);
        blasts.push_back(raw_blast(s, std::min(opt.seconds, 1.0)));
    }

    // 2. Latency, one put at a time.
    // Sealed and plain cases alternate within each (transport, size), so a
    // burst of load on the machine hits both sides of the comparison alike.
    const std::string key = generated_key();
    std::vector<LatencyRow> lat;
    for (const char* tr : transports) {
        if (!part("latency")) break;
        std::vector<std::unique_ptr<Pair>> pairs;
        for (bool sealed : opt.sealed)
            pairs.push_back(std::make_unique<Pair>(std::string(tr) == "multicast", sealed ? "lat-sealed" : "lat",
                                                   opt.mtu, sealed ? key : ""));
        // Each case gets a ping-pong of its own just before it, so that a
        // burst of load on the machine cannot make the floor look low and the
        // engine high; the ratio then uses the lowest floor of the run.
        auto floor = [&](size_t v) { return raw_ping_pong(engine_datagram(v), opt.samples, opt.warmup).half_rtt.p50; };
        for (size_t v : sizes)
            for (Probe probe : {Probe::Callback, Probe::Contains})
                for (size_t i = 0; i < pairs.size(); ++i) {
                    bool sealed = opt.sealed[i];
                    const char* how = probe == Probe::Callback ? "change callback" : "polling contains";
                    std::fprintf(stderr, "latency %s %s %zu B: %s...\n", tr, sealed ? "sealed" : "plain", v, how);
                    double f = floor(v);
                    double direct = 0;
                    Dist put;
                    Dist d = latency(*pairs[i], v, probe, opt, &direct, &put);
                    lat.push_back({sealed, tr, v, how, d, f, direct, put.p50});
                }
    }

    // 3. Throughput: a fresh pair per run, so no run inherits a backlog.
    std::vector<ThroughputRow> tput;
    std::vector<double> rates;
    if (opt.only != "paced") rates.push_back(0);
    if (opt.rate > 0) rates.push_back(opt.rate);
    for (const char* tr : transports)
        for (size_t v : sizes)
            for (double rt : rates)
                for (bool sealed : opt.sealed) {
                    if (!part("throughput") && opt.only != "paced") break;
                    std::fprintf(stderr, "throughput %s %s %zu B, %d writer(s), %s, %.1f s...\n", tr,
                                 sealed ? "sealed" : "plain", v, opt.writers,
                                 rt > 0 ? (rate(rt) + "/s").c_str() : "max", opt.seconds);
                    Pair pair(std::string(tr) == "multicast", sealed ? "tput-sealed" : "tput", opt.mtu,
                              sealed ? key : "");
                    tput.push_back({sealed, tr, v, rt, throughput(pair, v, rt, opt)});
                }

    // 4. Join: a new member pulls A's state (multicast, plain or sealed as
    // the first --crypto choice).
    std::vector<JoinRow> joins;
    if (part("join"))
        for (size_t v : sizes) {
            std::fprintf(stderr, "join: %zu entries of %zu B...\n", opt.join_entries, v);
            joins.push_back(join_transfer(v, opt.join_entries, opt));
        }

    // Report.
    utsname u{};
    uname(&u);
    std::printf("### Machine\n\n");
    std::printf("- CPU: %s, %ld online (nproc)\n", cpu_model().c_str(), sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("- Kernel: %s %s; libmccache %s\n", u.sysname, u.release, mccache_version_string());
    std::printf("- Load average before / after: %s / %s\n", load_before.c_str(), loadavg().c_str());
    std::printf("- Run: %zu samples (+%zu warm-up) per latency case, %.1f s per throughput run, %d writer(s), "
                "send_direct %s, packet_mtu %s%.0f; %.0f s in all\n\n",
                opt.samples, opt.warmup, opt.seconds, opt.writers,
                g_send_direct.empty() ? "default (off)" : g_send_direct.c_str(),
                opt.mtu.empty() ? "default, the interface's: " : "", g_packet_mtu,
                static_cast<double>(now_ns() - began) / 1e9);

    print_floor(raw, blasts);
    print_latency(lat, raw);
    print_throughput(tput, opt);
    print_sealing(lat, tput);
    print_joins(joins);
    std::printf("\n");
    return 0;
}
