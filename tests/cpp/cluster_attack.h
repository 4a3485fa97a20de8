// The attacker and the cluster under attack, for the security and freshness
// tests: raw UDP sockets in the test process that listen on the group,
// replay, flip bits, forge and flood, and in-process nodes on loopback, each
// test with its own cluster name and multicast port. Every wait has a
// deadline. Included by one test file per executable.
#pragma once

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "api/api.h"
#include "cluster_support.h"
#include "node/node.h"
#include "crypto/seal.h"
#include "mccache.h"
#include "wire/wire.h"

using namespace std::chrono_literals;
namespace wire = mccache::wire;
namespace crypto = mccache::crypto;

namespace attack {

constexpr const char* kGroup = "239.255.42.42";

#if defined(__SANITIZE_ADDRESS__)
#define SECURITY_TEST_ASAN 1
#elif defined(__SANITIZE_THREAD__)
#define SECURITY_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECURITY_TEST_ASAN 1
#elif __has_feature(thread_sanitizer)
#define SECURITY_TEST_TSAN 1
#endif
#endif

// How much a flood may grow the process. Sanitizers add their own memory in
// proportion to what the process touches (TSan's shadow, ASan's redzones),
// so the bound scales with them; the engine's share is what is bounded.
#if defined(SECURITY_TEST_TSAN)
constexpr int64_t kRssBoundKiB = 5 * 64 * 1024;
#elif defined(SECURITY_TEST_ASAN)
constexpr int64_t kRssBoundKiB = 2 * 64 * 1024;
#else
constexpr int64_t kRssBoundKiB = 64 * 1024;
#endif

}  // namespace

#if defined(SECURITY_TEST_ASAN)
// Freed blocks wait in ASan's quarantine (256 MiB by default) and would
// count as growth: keep it small so that RSS measures the engine.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=8"; }
#endif

namespace attack {

using support::free_udp_port;
using support::unique_cluster;
using support::wait_until;

sockaddr_in ipv4(const std::string& host_port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    size_t colon = host_port.rfind(':');
    inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &a.sin_addr);
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
    return a;
}

std::string to_string(const sockaddr_in& a) {
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
}

int64_t rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
    return -1;
}

std::string generate_key() {
    char buf[64];
    EXPECT_EQ(mccache_generate_key(buf, sizeof buf), MCCACHE_OK);
    return buf;
}

crypto::Key decode_key(const std::string& b64) {
    crypto::Key k{};
    EXPECT_TRUE(crypto::decode_key_b64(b64, &k, "test").ok());
    return k;
}

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

// ---- metrics and membership, read through the public JSON -------------------

struct Json {
    cJSON* root = nullptr;
    explicit Json(char* text) {
        root = cJSON_Parse(text);
        mccache_free(text);
    }
    ~Json() { cJSON_Delete(root); }
    const cJSON* at(const std::string& path) const {
        const cJSON* o = root;
        size_t start = 0;
        while (o && start <= path.size()) {
            size_t dot = path.find('.', start);
            std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            o = cJSON_GetObjectItemCaseSensitive(o, part.c_str());
            if (dot == std::string::npos) break;
            start = dot + 1;
        }
        return o;
    }
};

Json metrics(mccache_t* n) {
    char* j = nullptr;
    EXPECT_EQ(mccache_metrics_json(n, &j), MCCACHE_OK);
    return Json(j);
}

uint64_t metric(mccache_t* n, const std::string& path) {
    Json m = metrics(n);
    const cJSON* v = m.at(path);
    if (!cJSON_IsNumber(v)) {
        ADD_FAILURE() << "no metric " << path;
        return 0;
    }
    return static_cast<uint64_t>(v->valuedouble);
}

// Every datagram dropped by cause, all causes together.
uint64_t rejected_total(mccache_t* n) {
    Json m = metrics(n);
    uint64_t sum = 0;
    const cJSON* item;
    cJSON_ArrayForEach(item, m.at("cluster.rejected")) sum += static_cast<uint64_t>(item->valuedouble);
    return sum;
}

std::string rejected_json(mccache_t* n) {
    Json m = metrics(n);
    char* s = cJSON_PrintUnformatted(m.at("cluster.rejected"));
    std::string out = s ? s : "?";
    cJSON_free(s);
    return out;
}

std::string unicast_address(mccache_t* n) {
    Json m = metrics(n);
    const cJSON* a = m.at("cluster.address");
    return cJSON_IsString(a) ? a->valuestring : "";
}

struct MemberView {
    std::string address, state;
};

std::map<std::string, MemberView> members(mccache_t* n) {
    char* j = nullptr;
    EXPECT_EQ(mccache_members_json(n, &j), MCCACHE_OK);
    Json doc(j);
    std::map<std::string, MemberView> out;
    const cJSON* m;
    cJSON_ArrayForEach(m, doc.at("members")) {
        out[cJSON_GetObjectItemCaseSensitive(m, "id")->valuestring] = {
            cJSON_GetObjectItemCaseSensitive(m, "address")->valuestring,
            cJSON_GetObjectItemCaseSensitive(m, "state")->valuestring};
    }
    return out;
}

std::string hex_of(uint64_t id) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
    return buf;
}

// An "ip:port" as the engine's address type (for in-process injection).
mccache::transport::Address address_of(const std::string& host_port) {
    sockaddr_in a = ipv4(host_port);
    return mccache::transport::Address::from(reinterpret_cast<const sockaddr*>(&a));
}

std::string hex_id(mccache_t* n) {
    uint64_t id = 0;
    mccache_node_id(n, &id);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
    return buf;
}

// ---- the attacker's sockets -------------------------------------------------

struct Captured {
    std::string bytes;
    wire::Header h;
};

// Listens on the group (as any host on the segment can) and keeps every
// datagram whose header names `cluster`, or every datagram when `cluster` is 0.
class Sniffer {
public:
    Sniffer(uint16_t port, uint64_t cluster) : cluster_(cluster) {
        fd_ = socket(AF_INET, SOCK_DGRAM, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        int size = 8 << 20;
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        inet_pton(AF_INET, kGroup, &a.sin_addr);
        ip_mreq m{};
        inet_pton(AF_INET, kGroup, &m.imr_multiaddr);
        m.imr_interface.s_addr = htonl(INADDR_LOOPBACK);
        ok_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
              setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) == 0;
        if (ok_) thread_ = std::thread([this] { run(); });
    }
    ~Sniffer() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        if (fd_ >= 0) close(fd_);
    }
    bool ok() const { return ok_; }

    std::vector<Captured> all() const {
        std::lock_guard<std::mutex> lock(mu_);
        return got_;
    }
    size_t count() const {
        std::lock_guard<std::mutex> lock(mu_);
        return got_.size();
    }
    void clear() {
        std::lock_guard<std::mutex> lock(mu_);
        got_.clear();
    }
    // The datagrams of one sender and type, oldest first.
    std::vector<Captured> of(const std::string& sender_hex, wire::Type type) const {
        std::vector<Captured> out;
        for (auto& c : all()) {
            char buf[17];
            std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(c.h.sender));
            if (buf == sender_hex && c.h.type == type) out.push_back(c);
        }
        return out;
    }

private:
    void run() {
        std::vector<unsigned char> buf(65536);
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 20) <= 0) continue;
            ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
            if (n <= 0) continue;
            Captured c;
            c.bytes.assign(reinterpret_cast<char*>(buf.data()), static_cast<size_t>(n));
            if (wire::decode_header(buf.data(), static_cast<size_t>(n), &c.h) != wire::Error::None) continue;
            if (cluster_ && c.h.cluster != cluster_) continue;
            std::lock_guard<std::mutex> lock(mu_);
            got_.push_back(std::move(c));
        }
    }

    int fd_ = -1;
    bool ok_ = false;
    uint64_t cluster_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mu_;
    std::vector<Captured> got_;
};

// Sends whatever it is given, from its own loopback address.
class Injector {
public:
    Injector() {
        fd_ = support::loopback_socket(&self_);
        in_addr lo{};
        lo.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo);
        unsigned char loop = 1;
        setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
        int size = 4 << 20;
        setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    }
    ~Injector() { close(fd_); }
    bool send(const sockaddr_in& to, const std::string& bytes) const {
        return sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                      sizeof to) == static_cast<ssize_t>(bytes.size());
    }
    std::string address() const { return to_string(self_); }

private:
    int fd_ = -1;
    sockaddr_in self_{};
};

sockaddr_in group_address(uint16_t port) {
    return ipv4(std::string(kGroup) + ":" + std::to_string(port));
}

// ---- the cluster under attack -----------------------------------------------

struct Node {
    mccache_t* node = nullptr;
    mccache_cache_t* cache = nullptr;
};

// Hands `bytes` to the node's receive path as if they had come from `from`,
// on its loop thread, and returns once they were judged: an attacker on the
// path, who can send with any source address.
void inject(const Node& n, const std::string& bytes, const mccache::transport::Address& from) {
    n.node->node->run_on_loop([&] {
        n.node->node->cluster().receive_for_test(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                                                 from);
    });
}


using Settings = std::vector<std::pair<std::string, std::string>>;

class Security : public ::testing::Test {
protected:
    std::string name = unique_cluster();
    uint64_t cluster = wire::cluster_id(name);
    uint16_t port = free_udp_port();
    std::vector<Node> nodes;

    void TearDown() override {
        for (auto& n : nodes) mccache_close(n.node);
    }

    mccache_config_t* config(const Settings& settings) {
        mccache_config_t* cfg = nullptr;
        EXPECT_EQ(mccache_config_new(&cfg), MCCACHE_OK);
        mccache_config_set(cfg, "cluster_name", name.c_str());
        mccache_config_set(cfg, "multicast_port", std::to_string(port).c_str());
        mccache_config_set(cfg, "heartbeat_interval", "50ms");
        mccache_config_set(cfg, "member_timeout", "1s");
        mccache_config_set(cfg, "log_level", "error");
        for (auto& [k, v] : settings)
            EXPECT_EQ(mccache_config_set(cfg, k.c_str(), v.c_str()), MCCACHE_OK)
                << k << ": " << mccache_last_error();
        return cfg;
    }

    Node open(const Settings& settings = {}, const char* cache = "c") {
        mccache_config_t* cfg = config(settings);
        Node n;
        EXPECT_EQ(mccache_open(cfg, &n.node), MCCACHE_OK) << mccache_last_error();
        mccache_config_free(cfg);
        if (!n.node) return n;
        EXPECT_EQ(mccache_cache_open(n.node, cache, &n.cache), MCCACHE_OK);
        nodes.push_back(n);
        return n;
    }

    void wait_for_members(const std::vector<Node>& group, size_t others) {
        ASSERT_TRUE(wait_until([&] {
            for (auto& n : group)
                if (metric(n.node, "cluster.members_alive") != others) return false;
            return true;
        })) << "members never saw each other";
    }

    static std::string get(const Node& n, const std::string& key) { return support::value_of(n.cache, key); }

    static void put(const Node& n, const std::string& k, const std::string& v) {
        ASSERT_EQ(mccache_put(n.cache, k.data(), k.size(), v.data(), v.size(), 0), MCCACHE_OK)
            << mccache_last_error();
    }

    static uint64_t checksum(const Node& n) { return support::checksum_of(n.cache); }

    static size_t len(const Node& n) { return support::len_of(n.cache); }

    // (key -> version and entry checksum): equal maps mean equal caches.
    static std::map<std::string, std::tuple<uint64_t, uint64_t, uint64_t>> snapshot(const Node& n) {
        std::map<std::string, std::tuple<uint64_t, uint64_t, uint64_t>> out;
        mccache_iter_t* it = nullptr;
        EXPECT_EQ(mccache_iter_new(n.cache, &it), MCCACHE_OK);
        const void* k;
        size_t kl;
        while (mccache_iter_next(it, &k, &kl, nullptr) == MCCACHE_OK) {
            mccache_metadata_t md{};
            md.struct_size = sizeof md;
            if (mccache_metadata(n.cache, k, kl, &md) != MCCACHE_OK) continue;
            out[std::string(static_cast<const char*>(k), kl)] = {md.version_hlc, md.version_node, md.checksum};
        }
        mccache_iter_free(it);
        return out;
    }

    // Anti-entropy on every node until checksums and lengths agree.
    bool converge(const std::vector<Node>& group, std::chrono::milliseconds deadline = 30s) {
        auto last_sync = std::chrono::steady_clock::time_point{};
        return wait_until(
            [&] {
                if (std::chrono::steady_clock::now() - last_sync > 1s) {
                    for (auto& n : group) mccache_sync(n.node);
                    last_sync = std::chrono::steady_clock::now();
                }
                for (size_t i = 1; i < group.size(); ++i)
                    if (checksum(group[i]) != checksum(group[0]) || len(group[i]) != len(group[0]))
                        return false;
                return true;
            },
            deadline);
    }

    // Sends `datagrams` to `to` in small batches, waiting after each until
    // the victim has counted every one of them as rejected: a batch the
    // socket buffer cannot take would otherwise look like a silent accept.
    void expect_all_rejected(const Node& victim, const sockaddr_in& to,
                             const std::vector<std::string>& datagrams, const char* what) {
        Injector inj;
        size_t sent = 0;
        for (size_t i = 0; i < datagrams.size(); i += 32) {
            uint64_t before = rejected_total(victim.node);
            size_t batch = std::min<size_t>(32, datagrams.size() - i);
            for (size_t j = 0; j < batch; ++j) ASSERT_TRUE(inj.send(to, datagrams[i + j]));
            sent += batch;
            ASSERT_TRUE(wait_until([&] { return rejected_total(victim.node) >= before + batch; }, 5s))
                << what << ": after " << sent << " datagrams only "
                << rejected_total(victim.node) - before << " of the last " << batch
                << " were counted as rejected: " << rejected_json(victim.node);
        }
    }
};


std::string plain(uint64_t cluster, uint64_t sender, wire::Type type, bool sequenced, uint64_t seq,
                  const std::string& payload, uint16_t frag_index = 0, uint16_t frag_count = 1) {
    wire::Header h;
    h.type = type;
    h.flags = sequenced ? wire::kFlagSequenced : 0;
    h.cluster = cluster;
    h.sender = sender;
    h.incarnation = 0x2000;
    h.seq = seq;
    h.frag_index = frag_index;
    h.frag_count = frag_count;
    return wire::encode_plain(h, payload);
}

std::string put_record(const std::string& cache, const std::string& key, const std::string& value,
                       uint64_t node) {
    wire::Record r;
    r.op = wire::Op::Put;
    r.cache = cache;
    r.key = key;
    r.value = value;
    r.hlc = uint64_t{1} << 62;  // far in the future: it would win every conflict
    r.node = node;
    std::string out;
    wire::Writer w(out);
    wire::encode_record(w, r);
    return out;
}


}  // namespace

using namespace attack;
