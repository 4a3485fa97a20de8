// Clusters of engines in one process, on loopback: multicast and unicast
// peers, every mode, conflicts, deletes racing delayed writes, large
// values, loss, joins, queries and events. Every wait has a deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/api.h"
#include "cluster_support.h"
#include "rogue.h"
#include "wire/wire.h"
#include "mccache.h"

using namespace std::chrono_literals;

namespace {

using support::free_udp_port;
using support::unique_cluster;
using support::wait_until;

struct Node {
    mccache_t* node = nullptr;
    mccache_cache_t* cache = nullptr;
};

class Cluster : public ::testing::Test {
protected:
    std::string name = unique_cluster();
    // A multicast port of its own: tests run in parallel processes (ctest
    // -j), and on the shared default port every node would also receive,
    // and reject, every other test's traffic.
    std::string port = std::to_string(free_udp_port());
    std::vector<Node> nodes;

    void TearDown() override {
        for (auto& n : nodes) mccache_close(n.node);
    }

    Node open(std::vector<std::pair<std::string, std::string>> settings = {},
              const char* cache = "c") {
        mccache_config_t* cfg;
        EXPECT_EQ(mccache_config_new(&cfg), MCCACHE_OK);
        mccache_config_set(cfg, "cluster_name", name.c_str());
        mccache_config_set(cfg, "multicast_port", port.c_str());
        mccache_config_set(cfg, "heartbeat_interval", "50ms");
        mccache_config_set(cfg, "member_timeout", "1s");
        mccache_config_set(cfg, "log_level", "error");
        for (auto& [k, v] : settings)
            EXPECT_EQ(mccache_config_set(cfg, k.c_str(), v.c_str()), MCCACHE_OK)
                << k << ": " << mccache_last_error();
        Node n;
        EXPECT_EQ(mccache_open(cfg, &n.node), MCCACHE_OK) << mccache_last_error();
        mccache_config_free(cfg);
        EXPECT_EQ(mccache_cache_open(n.node, cache, &n.cache), MCCACHE_OK);
        nodes.push_back(n);
        return n;
    }

    void open_n(int count, std::vector<std::pair<std::string, std::string>> settings = {}) {
        for (int i = 0; i < count; ++i) open(settings);
        wait_for_members(count - 1);
    }

    void wait_for_members(int others) {
        ASSERT_TRUE(wait_until([&] {
            for (auto& n : nodes) {
                char* j = nullptr;
                mccache_metrics_json(n.node, &j);
                std::string s(j);
                mccache_free(j);
                if (s.find("\"members_alive\":" + std::to_string(others) + ",") == std::string::npos)
                    return false;
            }
            return true;
        })) << "members never saw each other";
    }

    // Tests only: change a node's injected faults while it runs.
    static void set_faults(const Node& n, int drop, int drop_recv) {
        n.node->node->set_faults(drop, drop_recv);
    }

    // Every node's members and cluster metrics, for a failure message.
    std::string dump() {
        std::string out;
        for (auto& n : nodes) {
            char* j = nullptr;
            mccache_members_json(n.node, &j);
            out += "\nmembers: " + std::string(j ? j : "?");
            mccache_free(j);
            mccache_metrics_json(n.node, &j);
            std::string m(j ? j : "?");
            mccache_free(j);
            out += "\nmetrics: " + m.substr(m.find("\"cluster\""));
        }
        return out;
    }

    static std::string get(const Node& n, const std::string& key) { return support::value_of(n.cache, key); }

    static bool has(const Node& n, const std::string& key) {
        return mccache_contains(n.cache, key.data(), key.size()) == MCCACHE_OK;
    }

    static uint64_t checksum(const Node& n) { return support::checksum_of(n.cache); }

    static size_t len(const Node& n) { return support::len_of(n.cache); }

    bool converged() {
        for (size_t i = 1; i < nodes.size(); ++i)
            if (checksum(nodes[i]) != checksum(nodes[0]) || len(nodes[i]) != len(nodes[0])) return false;
        return true;
    }

    // Until converged, forcing anti-entropy rounds on every node (quiescence
    // plus rounds: the oracle of the loss tests).
    bool converge_with_sync() {
        return wait_until([&] {
            if (converged()) return true;
            for (auto& n : nodes) mccache_sync(n.node);
            std::this_thread::sleep_for(50ms);  // let the round's repairs land before checking
            return converged();
        }, 30s);
    }

    // A counter of the node's metrics JSON, by its (unique) name.
    static uint64_t counter(const Node& n, const std::string& name) {
        char* j = nullptr;
        EXPECT_EQ(mccache_metrics_json(n.node, &j), MCCACHE_OK);
        std::string m(j);
        mccache_free(j);
        size_t at = m.find("\"" + name + "\":");
        EXPECT_NE(at, std::string::npos) << name << " not in " << m;
        return at == std::string::npos ? 0 : std::strtoull(m.c_str() + at + name.size() + 3, nullptr, 10);
    }

    static void put(const Node& n, const std::string& k, const std::string& v, int64_t ttl = 0) {
        ASSERT_EQ(mccache_put(n.cache, k.data(), k.size(), v.data(), v.size(), ttl), MCCACHE_OK)
            << mccache_last_error();
    }
};

TEST_F(Cluster, ReplicatesPutDeleteAndClearOverMulticast) {
    open_n(3);
    put(nodes[0], "k", "v1");
    ASSERT_TRUE(wait_until([&] { return get(nodes[1], "k") == "v1" && get(nodes[2], "k") == "v1"; }));
    put(nodes[1], "k", "v2");
    ASSERT_TRUE(wait_until([&] { return get(nodes[0], "k") == "v2" && get(nodes[2], "k") == "v2"; }));
    EXPECT_EQ(mccache_delete(nodes[2].cache, "k", 1), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return !has(nodes[0], "k") && !has(nodes[1], "k"); }));
    for (int i = 0; i < 20; ++i) put(nodes[i % 3], "x" + std::to_string(i), "v");
    ASSERT_TRUE(wait_until([&] { return len(nodes[0]) == 20 && len(nodes[1]) == 20 && len(nodes[2]) == 20; }));
    EXPECT_EQ(mccache_clear(nodes[1].cache), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return len(nodes[0]) == 0 && len(nodes[2]) == 0; }));
    EXPECT_TRUE(converged());
    // The loop-back of our own multicast is recognised and set aside.
    EXPECT_GT(counter(nodes[0], "own_datagrams_in"), 0u);
    EXPECT_EQ(counter(nodes[0], "malformed"), 0u);
}

TEST_F(Cluster, ReplicatesOverUnicastPeers) {
    uint16_t ports[3] = {free_udp_port(), free_udp_port(), free_udp_port()};
    std::string peers;
    for (uint16_t p : ports) peers += (peers.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(p);
    for (uint16_t p : ports) open({{"peers", peers}, {"listen_port", std::to_string(p)}});
    wait_for_members(2);
    put(nodes[2], "k", "unicast");
    ASSERT_TRUE(wait_until([&] { return get(nodes[0], "k") == "unicast" && get(nodes[1], "k") == "unicast"; }));
    EXPECT_EQ(mccache_delete(nodes[0].cache, "k", 1), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return !has(nodes[1], "k") && !has(nodes[2], "k"); }));
}

TEST_F(Cluster, UpdateModeAppliesOnlyWhereThePeerHasTheKey) {
    open_n(3, {{"cache_mode", "update"}});
    put(nodes[0], "shared", "old");
    put(nodes[1], "shared", "old");  // now present on 0 and 1 only... and replicated where present
    // Node 0's next write must be newer than node 1's: wait until node 0 has
    // applied it (its version names node 1), which also advanced node 0's
    // clock past it. Otherwise the two writes are concurrent and node 1's
    // may rightly win.
    ASSERT_TRUE(wait_until([&] {
        mccache_metadata_t a{}, b{};
        a.struct_size = b.struct_size = sizeof b;
        return mccache_metadata(nodes[0].cache, "shared", 6, &a) == MCCACHE_OK &&
               mccache_metadata(nodes[1].cache, "shared", 6, &b) == MCCACHE_OK &&
               a.version_hlc == b.version_hlc && a.version_node == b.version_node;
    }));
    // Node 2 never had it: a remote write does not create it there.
    put(nodes[0], "shared", "new");
    ASSERT_TRUE(wait_until([&] { return get(nodes[1], "shared") == "new"; }));
    EXPECT_FALSE(has(nodes[2], "shared"));
    // Deletes apply everywhere they can.
    EXPECT_EQ(mccache_delete(nodes[0].cache, "shared", 6), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return !has(nodes[1], "shared"); }));
}

// After convergence, anti-entropy must fall silent in every mode, also
// where members legitimately hold different keys: update and invalidate
// modes (a remote write does not create the key), and replicate mode when a
// full cache evicted what another kept. Before, update and invalidate kept
// thousands of packets per second going, re-comparing the same buckets and
// resending repairs the receiver refused.
TEST_F(Cluster, AntiEntropyGoesQuietOnceConvergedInEveryMode) {
    struct Case {
        const char* mode;
        const char* cache_max;
    };
    for (const Case& c : {Case{"update", "65536"}, Case{"invalidate", "65536"}, Case{"replicate", "200"}}) {
        SCOPED_TRACE(c.mode);
        for (auto& n : nodes) mccache_close(n.node);
        nodes.clear();
        name = unique_cluster();
        open_n(3, {{"cache_mode", c.mode}, {"cache_max", c.cache_max}, {"cache_pulse", "200ms"}});
        // Each member writes keys of its own, then some everyone touches.
        for (int i = 0; i < 300; ++i) put(nodes[i % 3], "own-" + std::to_string(i), std::string(64, 'a' + i % 3));
        for (int i = 0; i < 50; ++i)
            for (auto& n : nodes) put(n, "shared-" + std::to_string(i), "v");
        // Let the stream, the pulses and the repairs settle.
        for (auto& n : nodes) mccache_sync(n.node);
        // Settled: no bucket compared and no key pulled for 1.5 s (seven
        // pulses, and past the 1 s a deferred group waits).
        uint64_t last = 0;
        int quiet_looks = 0;
        ASSERT_TRUE(wait_until([&] {
            uint64_t now = 0;
            for (auto& n : nodes) now += counter(n, "ae_buckets_compared") + counter(n, "ae_keys_pulled");
            quiet_looks = now == last ? quiet_looks + 1 : 0;
            last = now;
            std::this_thread::sleep_for(500ms);
            return quiet_looks >= 3;
        }, 30s)) << "anti-entropy never settled" << dump();
        // Now quiet: over 2 s (ten pulses each), rounds go on but find
        // nothing to compare, pull or repair.
        std::vector<uint64_t> before;
        for (auto& n : nodes)
            for (const char* k : {"ae_buckets_compared", "ae_keys_pulled", "ae_keys_repaired", "packets_out", "ae_rounds"})
                before.push_back(counter(n, k));
        std::this_thread::sleep_for(2s);
        size_t i = 0;
        for (auto& n : nodes) {
            EXPECT_EQ(counter(n, "ae_buckets_compared"), before[i]) << dump();
            EXPECT_EQ(counter(n, "ae_keys_pulled"), before[i + 1]);
            EXPECT_EQ(counter(n, "ae_keys_repaired"), before[i + 2]);
            // Heartbeats (40 at 50 ms) and one DigestL1 per pulse (10): the
            // rest of the budget is slack for timer jitter, not for work.
            EXPECT_LT(counter(n, "packets_out") - before[i + 3], 2 * (40 + 10)) << dump();
            EXPECT_GT(counter(n, "ae_rounds"), before[i + 4]) << "no rounds ran: the check proves nothing";
            i += 5;
        }
    }
}

// Update mode: a member that holds a key as a tombstone refuses a newer
// Put of it (a remote write applies only where the key is live). Anti-
// entropy must not pull or send that value round after round: the netns
// idle check found five members pulling ~250 such keys a second forever.
TEST_F(Cluster, UpdateModeDoesNotRepairANewerValueOntoATombstone) {
    open_n(2, {{"cache_mode", "update"}, {"cache_pulse", "200ms"}});
    for (int i = 0; i < 20; ++i) {
        const std::string k = "k" + std::to_string(i);
        put(nodes[0], k, "a");
        put(nodes[1], k, "a");
    }
    ASSERT_TRUE(wait_until([&] { return converged() && len(nodes[0]) == 20; })) << dump();
    // Deleted everywhere, then written again on node 0 only: node 1 keeps
    // its tombstones, node 0 the newer values.
    for (int i = 0; i < 20; ++i) {
        const std::string k = "k" + std::to_string(i);
        EXPECT_EQ(mccache_delete(nodes[1].cache, k.data(), k.size()), MCCACHE_OK);
    }
    ASSERT_TRUE(wait_until([&] { return len(nodes[0]) == 0; })) << dump();
    for (int i = 0; i < 20; ++i) put(nodes[0], "k" + std::to_string(i), "b");
    // Quiet: nothing compared or pulled for 1.5 s (seven pulses).
    uint64_t last = 0;
    int quiet_looks = 0;
    ASSERT_TRUE(wait_until([&] {
        uint64_t now = 0;
        for (auto& n : nodes) now += counter(n, "ae_buckets_compared") + counter(n, "ae_keys_pulled");
        quiet_looks = now == last ? quiet_looks + 1 : 0;
        last = now;
        std::this_thread::sleep_for(500ms);
        return quiet_looks >= 3;
    }, 30s)) << "anti-entropy never settled" << dump();
    EXPECT_EQ(len(nodes[0]), 20u);
    EXPECT_EQ(len(nodes[1]), 0u);
}

TEST_F(Cluster, InvalidateModeDropsRemoteCopies) {
    open_n(3, {{"cache_mode", "invalidate"}});
    put(nodes[1], "k", "local");
    put(nodes[2], "k", "local");
    // Each put invalidated the others' copies; wait for the dust to settle.
    ASSERT_TRUE(wait_until([&] { return !has(nodes[1], "k") || !has(nodes[2], "k"); }));
    put(nodes[0], "k", "fresh");
    ASSERT_TRUE(wait_until([&] { return !has(nodes[1], "k") && !has(nodes[2], "k"); }));
    EXPECT_EQ(get(nodes[0], "k"), "fresh");
}

TEST_F(Cluster, ConcurrentWritesToOneKeyConvergeToTheHighestVersion) {
    open_n(3);
    std::vector<std::thread> writers;
    for (int t = 0; t < 3; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) put(nodes[t], "hot", "n" + std::to_string(t) + "-" + std::to_string(i));
        });
    for (auto& w : writers) w.join();
    auto version = [&](const Node& n) {
        mccache_metadata_t m{};
        m.struct_size = sizeof m;
        if (mccache_metadata(n.cache, "hot", 3, &m) != MCCACHE_OK) return std::pair<uint64_t, uint64_t>{0, 0};
        return std::pair<uint64_t, uint64_t>{m.version_hlc, m.version_node};
    };
    ASSERT_TRUE(wait_until([&] {
        return version(nodes[0]) == version(nodes[1]) && version(nodes[1]) == version(nodes[2]);
    })) << "versions differ";
    std::string winner = get(nodes[0], "hot");
    EXPECT_EQ(get(nodes[1], "hot"), winner);
    EXPECT_EQ(get(nodes[2], "hot"), winner);
    // The winner is the highest version every member saw: its writer's last write.
    EXPECT_NE(winner.find("-199"), std::string::npos) << winner;
}

TEST_F(Cluster, DeleteRacingADelayedOlderPutNeverResurrects) {
    // Node 0's datagrams are all held back up to 300 ms: its put reaches
    // node 2 only after node 1's later delete has.
    open({{"fault_delay", "100"}, {"fault_delay_max", "300ms"}, {"fault_seed", "7"}});
    open();
    open();
    wait_for_members(2);
    put(nodes[0], "k", "older");
    mccache_metadata_t put_version{};
    put_version.struct_size = sizeof put_version;
    ASSERT_EQ(mccache_metadata(nodes[0].cache, "k", 1, &put_version), MCCACHE_OK);
    // Node 1 has not seen the put (it is held back). Make its clock pass the
    // put's version, so that its delete is newer by the rules: then it must
    // win everywhere, whatever order the messages arrive in.
    ASSERT_TRUE(wait_until([&] {
        put(nodes[1], "probe", "x");
        mccache_metadata_t m{};
        m.struct_size = sizeof m;
        mccache_metadata(nodes[1].cache, "probe", 5, &m);
        return m.version_hlc > put_version.version_hlc;
    }));
    mccache_delete(nodes[1].cache, "k", 1);
    // Whatever arrives in whatever order, no member may end with the key.
    std::this_thread::sleep_for(400ms);  // the longest injected delay, so the late put has arrived
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(has(nodes[i], "k")) << "node " << i;
    ASSERT_EQ(mccache_sync(nodes[0].node), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return converged(); }));
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(has(nodes[i], "k")) << "node " << i;
}

TEST_F(Cluster, LargeValuesArriveWholeAndOversizeIsAnError) {
    open_n(3, {{"max_value_size", "1MiB"}});
    std::string v100k(100 * 1024, '\0'), v1m(1024 * 1024, '\0');
    for (size_t i = 0; i < v100k.size(); ++i) v100k[i] = static_cast<char>(i * 7);
    for (size_t i = 0; i < v1m.size(); ++i) v1m[i] = static_cast<char>(i * 13 + 1);
    put(nodes[0], "100k", v100k);
    put(nodes[1], "1m", v1m);
    ASSERT_TRUE(wait_until([&] {
        return get(nodes[2], "100k") == v100k && get(nodes[2], "1m") == v1m &&
               get(nodes[1], "100k") == v100k && get(nodes[0], "1m") == v1m;
    }));
    std::string too_big(1024 * 1024 + 1, 'x');
    EXPECT_EQ(mccache_put(nodes[0].cache, "big", 3, too_big.data(), too_big.size(), 0), MCCACHE_ETOOBIG);
    EXPECT_NE(std::string(mccache_last_error()).find("max_value_size"), std::string::npos);
    EXPECT_FALSE(has(nodes[0], "big"));
}

TEST_F(Cluster, MembersWithDifferentMtusExchangeFragmentedValues) {
    // packet_mtu is each sender's own choice (loopback allows far larger
    // datagrams than Ethernet): fragments are judged by the sender's size.
    open({{"packet_mtu", "8972"}});
    open({{"packet_mtu", "1472"}});
    open({{"packet_mtu", "576"}});
    wait_for_members(2);
    std::vector<std::string> values;
    for (int n = 0; n < 3; ++n) {
        std::string v(300 * 1024 + n, '\0');
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>(i * (n + 3));
        put(nodes[n], "from-" + std::to_string(n), v);
        values.push_back(std::move(v));
    }
    ASSERT_TRUE(wait_until([&] {
        for (auto& node : nodes)
            for (int n = 0; n < 3; ++n)
                if (get(node, "from-" + std::to_string(n)) != values[n]) return false;
        return true;
    }));
}

TEST_F(Cluster, PacketMtuZeroTakesTheInterfacesMtu) {
    // interface_addr is 127.0.0.1, on lo: its MTU less 28 bytes of IPv4 and
    // UDP headers, at most 65507. A set value is taken as it is.
    FILE* f = std::fopen("/sys/class/net/lo/mtu", "r");
    ASSERT_NE(f, nullptr);
    long lo_mtu = 0;
    ASSERT_EQ(std::fscanf(f, "%ld", &lo_mtu), 1);
    std::fclose(f);
    Node a = open();
    Node b = open({{"packet_mtu", "1472"}});
    wait_for_members(1);
    EXPECT_EQ(counter(a, "packet_mtu"), static_cast<uint64_t>(std::min(lo_mtu - 28, 65507L)));
    EXPECT_EQ(counter(b, "packet_mtu"), 1472u);
    // A value between the two MTUs travels whole from a and in fragments from b.
    std::string v(20000, 'm');
    put(a, "from-a", v);
    put(b, "from-b", v);
    ASSERT_TRUE(wait_until([&] { return get(b, "from-a") == v && get(a, "from-b") == v; }));
    EXPECT_EQ(counter(a, "fragments_sent"), 0u);
    EXPECT_GT(counter(b, "fragments_sent"), 0u);
}

TEST_F(Cluster, EqualDatagramsOfABatchLeaveAsOneSegmentedSend) {
    // At Ethernet's MTU a 1000-byte value fills a datagram: a batch of them
    // is a run of equal datagrams, which the loop hands to the kernel as one
    // UDP GSO send where it can (and one by one where the kernel refuses).
    open_n(2, {{"packet_mtu", "1472"}});
    std::vector<std::string> keys, values;
    for (int i = 0; i < 64; ++i) {
        keys.push_back("k" + std::to_string(1000 + i));
        values.push_back(std::string(1000, static_cast<char>('a' + i % 26)));
    }
    std::vector<const void*> kp, vp;
    std::vector<size_t> kl, vl;
    for (int i = 0; i < 64; ++i) {
        kp.push_back(keys[i].data());
        kl.push_back(keys[i].size());
        vp.push_back(values[i].data());
        vl.push_back(values[i].size());
    }
    // Whether the loop wakes between two puts is the scheduler's; keep
    // writing until a batch has gone out as one send (or was refused).
    ASSERT_TRUE(wait_until([&] {
        EXPECT_EQ(mccache_put_batch(nodes[0].cache, 64, kp.data(), kl.data(), vp.data(), vl.data(), 0),
                  MCCACHE_OK);
        return counter(nodes[0], "gso_sends") > 0 || counter(nodes[0], "gso_refused") > 0;
    }));
    ASSERT_TRUE(wait_until([&] { return len(nodes[1]) == 64 && converged(); }));
    for (int i = 0; i < 64; i += 7) EXPECT_EQ(get(nodes[1], keys[i]), values[i]);
    EXPECT_EQ(counter(nodes[1], "gaps_unrepairable"), 0u);
    EXPECT_EQ(counter(nodes[1], "malformed"), 0u);
}

TEST_F(Cluster, SocketBuffersAreAskedForAndACapIsReported) {
    auto sysctl = [](const char* path) {
        long v = 0;
        FILE* f = std::fopen(path, "r");
        if (f) {
            if (std::fscanf(f, "%ld", &v) != 1) v = 0;
            std::fclose(f);
        }
        return static_cast<uint64_t>(v);
    };
    const uint64_t rmem_max = sysctl("/proc/sys/net/core/rmem_max");
    const uint64_t wmem_max = sysctl("/proc/sys/net/core/wmem_max");
    ASSERT_GT(rmem_max, 0u);
    ASSERT_GT(wmem_max, 0u);
    // Granted as asked, up to the kernel's caps.
    Node a = open({{"socket_buffer", "256KiB"}});
    EXPECT_EQ(counter(a, "socket_rcvbuf"), std::min<uint64_t>(262144, rmem_max));
    EXPECT_EQ(counter(a, "socket_sndbuf"), std::min<uint64_t>(262144, wmem_max));
    // Asked the setting's largest, 1 GiB: capped by rmem_max (and the log
    // says how to raise it), unless this kernel allows that much, when it is
    // granted and nothing is said.
    const uint64_t largest = 1ull << 30;
    const bool capped = rmem_max < largest;
    char path[] = "/tmp/mccache-sockbuf-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    Node b = open({{"socket_buffer", "1GiB"}, {"log_level", "warn"}, {"log_filename", path}});
    EXPECT_EQ(counter(b, "socket_rcvbuf"), std::min(largest, rmem_max));
    mccache_close(b.node);
    FILE* f = std::fopen(path, "r");
    ASSERT_NE(f, nullptr);
    std::string log;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) log.append(buf, n);
    std::fclose(f);
    std::remove(path);
    EXPECT_EQ(log.find("socket receive buffer capped") != std::string::npos, capped) << log;
    EXPECT_EQ(log.find("net.core.rmem_max") != std::string::npos, capped) << log;
}

TEST_F(Cluster, ConvergesUnderLossDuplicationAndReordering) {
    open_n(3, {{"fault_drop", "20"}, {"fault_duplicate", "10"}, {"fault_delay", "10"},
               {"fault_delay_max", "20ms"}, {"fault_seed", "42"}, {"nack_delay", "2ms"}});
    std::vector<std::thread> writers;
    for (int t = 0; t < 3; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                std::string k = "k" + std::to_string((i * 7 + t) % 150);
                if (i % 10 == 9) mccache_delete(nodes[t].cache, k.data(), k.size());
                else put(nodes[t], k, std::string(1 + (i % 3000), static_cast<char>('a' + t)));
            }
        });
    for (auto& w : writers) w.join();
    ASSERT_TRUE(converge_with_sync()) << "checksums: " << checksum(nodes[0]) << " " << checksum(nodes[1]) << " "
                                      << checksum(nodes[2]);
    char* j;
    mccache_metrics_json(nodes[0].node, &j);
    std::string m(j);
    mccache_free(j);
    EXPECT_EQ(m.find("\"dropped_out\":0,"), std::string::npos) << "no loss was injected";
}

// send_direct: a writer whose stream is idle sends on its own thread. One
// write in flight at a time (each waited for) is that case; the stream must
// stay in order with the loop's own messages (heartbeats, batches).
TEST_F(Cluster, DirectSendsReplicateAnIdleWriterFromItsOwnThread) {
    for (bool multicast : {true, false}) {
        SCOPED_TRACE(multicast ? "multicast" : "unicast");
        for (auto& n : nodes) mccache_close(n.node);
        nodes.clear();
        name = unique_cluster();
        if (multicast) {
            open_n(3, {{"send_direct", "true"}});
        } else {
            uint16_t ports[3] = {free_udp_port(), free_udp_port(), free_udp_port()};
            std::string peers;
            for (uint16_t p : ports)
                peers += (peers.empty() ? "" : ",") + std::string("127.0.0.1:") + std::to_string(p);
            for (uint16_t p : ports)
                open({{"peers", peers}, {"listen_port", std::to_string(p)}, {"send_direct", "true"}});
            wait_for_members(2);
        }
        for (int i = 0; i < 40; ++i) {
            const Node& w = nodes[i % 3];
            std::string k = "k" + std::to_string(i % 10), v = "v" + std::to_string(i);
            if (i % 7 == 6) {
                ASSERT_NE(mccache_delete(w.cache, k.data(), k.size()), MCCACHE_EINVAL);
                ASSERT_TRUE(wait_until([&] { return !has(nodes[0], k) && !has(nodes[1], k) && !has(nodes[2], k); }));
            } else {
                put(w, k, v);
                ASSERT_TRUE(wait_until([&] { return get(nodes[0], k) == v && get(nodes[1], k) == v && get(nodes[2], k) == v; }));
            }
        }
        EXPECT_TRUE(converged());
        uint64_t direct = 0, sent = 0;
        for (auto& n : nodes) {
            direct += counter(n, "records_sent_direct");
            sent += counter(n, "records_sent");
        }
        EXPECT_GT(direct, 0u) << "no write was sent on the writer's thread";
        EXPECT_LE(direct, sent);
        EXPECT_EQ(counter(nodes[0], "gaps_unrepairable"), 0u);
    }
}

// send_direct under loss and duplication, with three writers that
// alternate between idle (direct) and bursts (the loop's batches) and some
// values that need fragments (always the loop): no write is lost and
// retransmissions of directly sent messages work. (An injected send delay
// turns direct sends off, since delayed datagrams must keep their order, so
// this test loses on send and on receive instead.)
TEST_F(Cluster, DirectSendsConvergeUnderLossWithConcurrentWriters) {
    open_n(3, {{"send_direct", "true"}, {"fault_drop", "15"}, {"fault_drop_recv", "10"},
               {"fault_duplicate", "10"}, {"fault_seed", "7"}, {"nack_delay", "2ms"}});
    std::vector<std::thread> writers;
    for (int t = 0; t < 3; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                std::string k = "k" + std::to_string((i * 7 + t) % 150);
                if (i % 10 == 9) mccache_delete(nodes[t].cache, k.data(), k.size());
                else put(nodes[t], k, std::string(i % 50 == 0 ? 5000 : 1 + (i % 300), static_cast<char>('a' + t)));
                // Pacing of the workload, not a wait: idle gaps let writes go direct.
                if (i % 4 == 0) std::this_thread::sleep_for(300us);
            }
        });
    for (auto& w : writers) w.join();
    ASSERT_TRUE(converge_with_sync()) << "checksums: " << checksum(nodes[0]) << " " << checksum(nodes[1]) << " "
                                      << checksum(nodes[2]);
    uint64_t direct = 0;
    for (auto& n : nodes) direct += counter(n, "records_sent_direct");
    EXPECT_GT(direct, 0u) << "no write was sent on the writer's thread";
    EXPECT_GT(counter(nodes[0], "dropped_out"), 0u) << "no loss was injected";
    EXPECT_GT(counter(nodes[0], "retransmits") + counter(nodes[1], "retransmits") + counter(nodes[2], "retransmits"), 0u);
}

TEST_F(Cluster, JoiningMemberReceivesTheState) {
    open_n(2);
    for (int i = 0; i < 5000; ++i) put(nodes[i % 2], "key" + std::to_string(i), "value" + std::to_string(i));
    ASSERT_TRUE(wait_until([&] { return len(nodes[0]) == 5000 && len(nodes[1]) == 5000; }));
    open();  // a late joiner, empty
    ASSERT_TRUE(wait_until([&] { return converged(); }, 30s))
        << "joiner has " << len(nodes[2]) << " of 5000" << dump();
    EXPECT_EQ(get(nodes[2], "key4321"), "value4321");
}

TEST_F(Cluster, AJoinerPullsTheStateOnceNotFromEveryMember) {
    // Every member offers a joiner its digests; the joiner takes each group
    // from one of them, so it receives about one copy of the state, not one
    // per member.
    open_n(4);
    const int kKeys = 4000;
    for (int i = 0; i < kKeys; ++i) put(nodes[i % 4], "key" + std::to_string(i), std::string(64, 'v'));
    ASSERT_TRUE(wait_until([&] {
        for (int n = 0; n < 4; ++n)
            if (len(nodes[n]) != static_cast<size_t>(kKeys)) return false;
        return true;
    }, 30s));
    Node joiner = open();
    ASSERT_TRUE(wait_until([&] { return converged(); }, 30s)) << "joiner has " << len(joiner) << " of " << kKeys;
    char* j = nullptr;
    ASSERT_EQ(mccache_metrics_json(joiner.node, &j), MCCACHE_OK);
    std::string m(j);
    mccache_free(j);
    auto field = [&](const std::string& name) {
        size_t at = m.find("\"" + name + "\":");
        return at == std::string::npos ? uint64_t{0} : std::stoull(m.substr(at + name.size() + 3));
    };
    uint64_t received = field("records_received");
    std::printf("[ join     ] %d keys, 4 members: joiner received %llu records, %llu groups deferred\n", kKeys,
                static_cast<unsigned long long>(received),
                static_cast<unsigned long long>(field("ae_groups_deferred")));
    EXPECT_GE(received, static_cast<uint64_t>(kKeys));
    // Pulling from every member gave about 3x (11 864 before claims). One
    // copy plus the repairs that overlap while the first copy is in flight
    // (the joiner's group is no longer empty, so its own rounds with other
    // members are not deferred) stays under 2x nearly always, but two
    // test processes at once on 2 CPUs reached 2.01x (8 054) about once in
    // 25 runs, before and after the transport changes of session 4: the
    // bound is 2.5x.
    EXPECT_LT(received, static_cast<uint64_t>(kKeys) * 5 / 2) << "the joiner pulled the state from several members";
}

TEST_F(Cluster, DifferentClusterNamesDoNotMix) {
    open_n(2);
    std::string mine = name;
    name = unique_cluster();
    Node other = open();
    put(other, "k", "other cluster");
    put(nodes[0], "k2", "mine");
    ASSERT_TRUE(wait_until([&] { return has(nodes[1], "k2"); }));
    std::this_thread::sleep_for(100ms);  // give a leak time to show (there is no event to wait on)
    EXPECT_FALSE(has(nodes[0], "k"));
    EXPECT_FALSE(has(other, "k2"));
    char* j;
    mccache_metrics_json(nodes[0].node, &j);
    EXPECT_EQ(std::string(j).find("\"wrong_cluster\":0"), std::string::npos);
    mccache_free(j);
}

TEST_F(Cluster, CollectsEveryMembersChecksums) {
    open_n(3);
    put(nodes[0], "a", "1");
    ASSERT_TRUE(wait_until([&] { return converged() && len(nodes[2]) == 1; }));
    char* out = nullptr;
    ASSERT_EQ(mccache_cluster_collect(nodes[1].node, MCCACHE_QUERY_CHECKSUMS, "c", 2000, &out), MCCACHE_OK);
    std::string s(out);
    mccache_free(out);
    EXPECT_NE(s.find("\"members\":3"), std::string::npos) << s;
    char want[32];
    std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(checksum(nodes[0])));
    size_t count = 0;
    for (size_t p = s.find(want); p != std::string::npos; p = s.find(want, p + 1)) ++count;
    EXPECT_EQ(count, 3u) << s;

    struct Replies {
        std::mutex mu;
        std::set<uint64_t> members;
        bool done = false;
        int freed = 0;
    } r;
    ASSERT_EQ(mccache_cluster_request(
                  nodes[0].node, MCCACHE_QUERY_METRICS, nullptr, 2000,
                  [](uint64_t member, const char* json, void* o) {
                      auto* r = static_cast<Replies*>(o);
                      std::lock_guard<std::mutex> lock(r->mu);
                      if (member == 0) r->done = true;
                      else if (json && std::strstr(json, "\"node\"")) r->members.insert(member);
                  },
                  &r,
                  [](void* o) {
                      auto* r = static_cast<Replies*>(o);
                      std::lock_guard<std::mutex> lock(r->mu);
                      r->freed++;
                  }),
              MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard<std::mutex> lock(r.mu);
        return r.done && r.freed == 1;
    }));
    EXPECT_EQ(r.members.size(), 3u);
}

TEST_F(Cluster, ARequestLostOnTheWayIsSentAgain) {
    open_n(3);
    struct Replies {
        std::mutex mu;
        std::set<uint64_t> members;
        bool done = false;
    } r;
    // Node 2 hears nothing while the request goes out: its answer can only
    // come from a resend, once it hears again.
    set_faults(nodes[2], 0, 100);
    ASSERT_EQ(mccache_cluster_request(
                  nodes[0].node, MCCACHE_QUERY_CHECKSUMS, "c", 10000,
                  [](uint64_t member, const char*, void* o) {
                      auto* r = static_cast<Replies*>(o);
                      std::lock_guard<std::mutex> lock(r->mu);
                      if (member == 0) r->done = true;
                      else r->members.insert(member);
                  },
                  &r, nullptr),
              MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return counter(nodes[0], "queries_resent") >= 1; }));
    {
        std::lock_guard<std::mutex> lock(r.mu);
        EXPECT_FALSE(r.done);
        EXPECT_EQ(r.members.size(), 2u);  // node 0 itself and node 1
    }
    set_faults(nodes[2], 0, 0);
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard<std::mutex> lock(r.mu);
        return r.done;
    }));
    std::lock_guard<std::mutex> lock(r.mu);
    EXPECT_EQ(r.members.size(), 3u);  // done early: every live member answered
}

TEST_F(Cluster, RemoteChangesAndMembershipReachCallbacks) {
    struct Seen {
        std::mutex mu;
        std::vector<std::pair<int, int>> changes;  // type, origin
        std::vector<int> member_events;
    } seen;
    open();
    ASSERT_EQ(mccache_on_member(nodes[0].node,
                                [](const mccache_member_t* m, void* o) {
                                    auto* s = static_cast<Seen*>(o);
                                    std::lock_guard<std::mutex> lock(s->mu);
                                    s->member_events.push_back(m->event);
                                },
                                &seen, nullptr),
              MCCACHE_OK);
    ASSERT_EQ(mccache_on_change(nodes[0].cache,
                                [](const mccache_event_t* e, void* o) {
                                    auto* s = static_cast<Seen*>(o);
                                    std::lock_guard<std::mutex> lock(s->mu);
                                    s->changes.emplace_back(e->type, e->origin);
                                },
                                &seen, nullptr),
              MCCACHE_OK);
    open();
    wait_for_members(1);
    put(nodes[1], "k", "remote");
    mccache_delete(nodes[1].cache, "k", 1);
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard<std::mutex> lock(seen.mu);
        return seen.changes.size() >= 2;
    }));
    {
        std::lock_guard<std::mutex> lock(seen.mu);
        EXPECT_EQ(seen.changes[0], std::make_pair(int(MCCACHE_EVENT_INSERT), int(MCCACHE_ORIGIN_REMOTE)));
        EXPECT_EQ(seen.changes[1], std::make_pair(int(MCCACHE_EVENT_DELETE), int(MCCACHE_ORIGIN_REMOTE)));
    }
    mccache_close(nodes[1].node);
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard<std::mutex> lock(seen.mu);
        return std::count(seen.member_events.begin(), seen.member_events.end(), MCCACHE_MEMBER_LEFT) == 1;
    }));
    std::lock_guard<std::mutex> lock(seen.mu);
    EXPECT_EQ(seen.member_events.front(), MCCACHE_MEMBER_JOINED);
    // The same changes, counted in the metrics.
    EXPECT_EQ(counter(nodes[0], "members_joined"), 1u);
    EXPECT_EQ(counter(nodes[0], "members_left"), 1u);
    EXPECT_EQ(counter(nodes[0], "members_down"), 0u);
}

// A callback that blocks runs on the node's dispatcher thread, not on the
// loop that sends heartbeats, NACKs and repairs: blocked for twice
// member_timeout, it must not make its node look dead, and replication keeps
// flowing both ways meanwhile.
TEST_F(Cluster, ABlockedCallbackDoesNotStallTheCluster) {
    open_n(2);  // member_timeout 1s
    struct Blocker {
        std::atomic<int> entered{0};
        std::atomic<bool> release{false};
    } blocker;
    ASSERT_EQ(mccache_on_change(nodes[1].cache,
                                [](const mccache_event_t*, void* o) {
                                    auto* b = static_cast<Blocker*>(o);
                                    if (b->entered.fetch_add(1) != 0) return;
                                    // Twice member_timeout, waiting on the test, not on a clock.
                                    auto until = std::chrono::steady_clock::now() + 2s;
                                    while (!b->release && std::chrono::steady_clock::now() < until)
                                        std::this_thread::sleep_for(1ms);
                                },
                                &blocker, nullptr),
              MCCACHE_OK);
    struct Downs {
        std::atomic<int> n{0};
    } downs[2];
    for (int i = 0; i < 2; ++i)
        ASSERT_EQ(mccache_on_member(nodes[i].node,
                                    [](const mccache_member_t* m, void* o) {
                                        if (m->event == MCCACHE_MEMBER_DOWN) static_cast<Downs*>(o)->n++;
                                    },
                                    &downs[i], nullptr),
                  MCCACHE_OK);
    put(nodes[0], "first", "blocks the callback");
    ASSERT_TRUE(wait_until([&] { return blocker.entered > 0; }));
    const auto blocked_at = std::chrono::steady_clock::now();
    // While the callback is blocked, writes replicate in both directions.
    for (int i = 0; i < 20; ++i) {
        put(nodes[0], "a" + std::to_string(i), "from a");
        put(nodes[1], "b" + std::to_string(i), "from b");
        std::this_thread::sleep_for(50ms);  // spread over one member_timeout
    }
    EXPECT_TRUE(wait_until([&] { return get(nodes[1], "a19") == "from a" && get(nodes[0], "b19") == "from b"; }, 5s));
    // Past twice member_timeout from the start of the block: neither side
    // declared the other down.
    std::this_thread::sleep_until(blocked_at + 2100ms);
    EXPECT_EQ(counter(nodes[0], "members_down"), 0u);
    EXPECT_EQ(counter(nodes[1], "members_down"), 0u);
    EXPECT_EQ(counter(nodes[0], "members_alive"), 1u);
    blocker.release = true;
    EXPECT_TRUE(wait_until([&] { return counter(nodes[1], "callbacks_pending") == 0; }));
    EXPECT_EQ(downs[0].n.load() + downs[1].n.load(), 0);
    EXPECT_EQ(counter(nodes[1], "events_dropped"), 0u);
}

TEST_F(Cluster, AntiEntropyRepairsAMemberThatMissedWritesAndReportsIt) {
    open_n(2);
    // A third member that hears nothing: it never sees the writes' stream.
    Node deaf = open({{"fault_drop_recv", "100"}});
    struct Seen {
        std::atomic<int> by_origin[3] = {0, 0, 0};
    } seen;
    ASSERT_EQ(mccache_on_change(deaf.cache,
                                [](const mccache_event_t* e, void* o) {
                                    if (e->origin <= MCCACHE_ORIGIN_REPAIR) static_cast<Seen*>(o)->by_origin[e->origin]++;
                                },
                                &seen, nullptr),
              MCCACHE_OK);
    for (int i = 0; i < 50; ++i) put(nodes[i % 2], "k" + std::to_string(i), "v" + std::to_string(i));
    ASSERT_TRUE(wait_until([&] { return len(nodes[0]) == 50 && len(nodes[1]) == 50; }));
    EXPECT_EQ(len(deaf), 0u);
    // Heal: only anti-entropy can bring the history.
    set_faults(deaf, 0, 0);
    ASSERT_EQ(mccache_sync(nodes[0].node), MCCACHE_OK);
    ASSERT_TRUE(wait_until([&] { return converged(); })) << len(deaf);
    // Events are delivered on the loop thread after the store changed, so
    // they may trail convergence a little.
    wait_until([&] { return seen.by_origin[MCCACHE_ORIGIN_REPAIR].load() >= 50; }, 5s);
    char* j = nullptr;
    ASSERT_EQ(mccache_metrics_json(deaf.node, &j), MCCACHE_OK);
    std::string metrics(j);
    mccache_free(j);
    EXPECT_EQ(seen.by_origin[MCCACHE_ORIGIN_REPAIR].load(), 50)
        << "every key the healed member lacked is a repair event; remote-origin events: "
        << seen.by_origin[MCCACHE_ORIGIN_REMOTE].load() << "; its metrics: " << metrics;
    EXPECT_EQ(seen.by_origin[MCCACHE_ORIGIN_REMOTE].load(), 0);
}

// A burst past the retransmit buffer, lost by a member: its NACK is answered
// with Gone, and that gap starts an anti-entropy round with the sender at
// once. Before, it waited for the next cache_pulse (30 s by default), with
// the member short of the burst meanwhile. Here the pulse is 10 minutes and
// the member never goes down (deaf for less than member_timeout), so only
// the gap can start the round.
TEST_F(Cluster, AGapPastTheRetransmitBufferStartsAntiEntropyAtOnce) {
    const std::vector<std::pair<std::string, std::string>> s = {
        {"cache_pulse", "10m"}, {"retransmit_buffer", "64KiB"}, {"member_timeout", "5s"}};
    Node a = open(s);
    Node b = open(s);
    wait_for_members(1);
    put(a, "before", "v");
    ASSERT_TRUE(wait_until([&] { return get(b, "before") == "v"; }));
    const uint64_t sent_before = counter(a, "packets_out");
    set_faults(b, 0, 100);
    const std::string value(200, 'x');
    for (int i = 0; i < 2000; ++i) put(a, "burst" + std::to_string(i), value);  // 400 KiB: six times the buffer
    // Writes leave on A's loop a little later, and B drops them only as it
    // reads them: heal B only once it has dropped what A sent, or B would
    // simply hear the burst.
    ASSERT_TRUE(wait_until([&] { return counter(a, "records_sent") >= 2001; }));
    const uint64_t burst_datagrams = counter(a, "packets_out") - sent_before;
    ASSERT_TRUE(wait_until([&] { return counter(b, "dropped_in") >= burst_datagrams; }))
        << "B dropped " << counter(b, "dropped_in") << " of " << burst_datagrams;
    set_faults(b, 0, 0);
    put(a, "after", "v");  // the next message shows B the gap
    ASSERT_TRUE(wait_until([&] { return len(b) == len(a) && checksum(b) == checksum(a); }, 20s))
        << "B holds " << len(b) << " of " << len(a) << " entries";
    EXPECT_GE(counter(b, "gaps_unrepairable"), 1u) << "the gap was repaired by NACKs, not the case under test";
    EXPECT_EQ(counter(b, "members_down"), 0u);
}

TEST_F(Cluster, ForgedHugeSequenceNumbersAreHarmless) {
    // Without a key anyone can claim any sequence number: a member that
    // passed the handshake and then says 2^62 messages were sent must not
    // make the node loop over them.
    Node n = open();
    rogue::Rogue forger(mccache::wire::cluster_id(name), 0xBADBADBAD, 1);
    char* j = nullptr;
    ASSERT_EQ(mccache_metrics_json(n.node, &j), MCCACHE_OK);
    std::string m(j);
    mccache_free(j);
    size_t at = m.find("\"address\":\"") + 11;
    std::string addr = m.substr(at, m.find('"', at) - at);
    sockaddr_in node{};
    node.sin_family = AF_INET;
    inet_pton(AF_INET, addr.substr(0, addr.rfind(':')).c_str(), &node.sin_addr);
    node.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1))));
    ASSERT_TRUE(forger.join(node, 1));
    ASSERT_TRUE(wait_until([&] { return counter(n, "members_alive") == 1; }));
    forger.send(node, mccache::wire::Type::Heartbeat, 0, mccache::wire::encode_heartbeat({uint64_t{1} << 62, 1}));
    // The node stays responsive, and gives the impossible gap up.
    ASSERT_TRUE(wait_until([&] { return counter(n, "gaps_unrepairable") > 0; }, 20s));
    put(n, "still", "alive");
    EXPECT_EQ(get(n, "still"), "alive");
}

}  // namespace
