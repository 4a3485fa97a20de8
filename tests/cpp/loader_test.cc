// Loaders (mccache_get_or_load): one load per key on a node and across a
// cluster on loopback (also under loss), a leaseholder that dies mid-load,
// errors and negative caching, refresh-ahead, stale windows, namespaces.
// Every wait has a deadline; no timing is asserted beyond the calls' own
// timeouts.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/api.h"
#include "cluster_support.h"
#include "mccache.h"

using namespace std::chrono_literals;

namespace {

using support::free_udp_port;
using support::unique_cluster;
using support::wait_until;

// A gate the test opens: loaders block on it to hold a load in flight.
struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    void release() {
        std::lock_guard<std::mutex> l(mu);
        open = true;
        cv.notify_all();
    }
    bool wait(std::chrono::milliseconds max = 30s) {
        std::unique_lock<std::mutex> l(mu);
        return cv.wait_for(l, max, [&] { return open; });
    }
};

// A loader shared by every node of a test: it counts its runs cluster-wide.
struct Loader {
    std::atomic<int> calls{0};
    std::atomic<int> running{0};
    std::function<int(mccache_load_t*, const std::string&)> body;

    static int cb(mccache_load_t* load, const void* key, size_t klen, void* opaque) {
        auto* self = static_cast<Loader*>(opaque);
        self->calls++;
        self->running++;
        int rc = self->body(load, std::string(static_cast<const char*>(key), klen));
        self->running--;
        return rc;
    }
    static int value(mccache_load_t* load, const std::string& v, int64_t ttl = MCCACHE_TTL_DEFAULT) {
        return mccache_load_set_value(load, v.data(), v.size(), ttl);
    }
};

struct Node {
    mccache_t* node = nullptr;
    mccache_cache_t* cache = nullptr;
};

struct Result {
    int rc = MCCACHE_EINTERNAL;
    std::string value, error;
};

class Loaders : public ::testing::Test {
protected:
    std::string name = unique_cluster();
    std::string port = std::to_string(free_udp_port());
    std::vector<Node> nodes;

    void TearDown() override {
        for (auto& n : nodes) mccache_close(n.node);
    }

    Node open(std::vector<std::pair<std::string, std::string>> settings = {}, const char* cache = "c") {
        mccache_config_t* cfg;
        EXPECT_EQ(mccache_config_new(&cfg), MCCACHE_OK);
        mccache_config_set(cfg, "cluster_name", name.c_str());
        mccache_config_set(cfg, "multicast_port", port.c_str());
        mccache_config_set(cfg, "heartbeat_interval", "50ms");
        mccache_config_set(cfg, "member_timeout", "1s");
        mccache_config_set(cfg, "log_level", "error");
        for (auto& [k, v] : settings)
            EXPECT_EQ(mccache_config_set(cfg, k.c_str(), v.c_str()), MCCACHE_OK) << k << ": " << mccache_last_error();
        Node n;
        EXPECT_EQ(mccache_open(cfg, &n.node), MCCACHE_OK) << mccache_last_error();
        mccache_config_free(cfg);
        EXPECT_EQ(mccache_cache_open(n.node, cache, &n.cache), MCCACHE_OK);
        nodes.push_back(n);
        return n;
    }

    void open_n(int count, std::vector<std::pair<std::string, std::string>> settings = {}) {
        for (int i = 0; i < count; ++i) open(settings);
        ASSERT_TRUE(wait_until([&] {
            for (auto& n : nodes)
                if (metric(n, "members_alive") != static_cast<uint64_t>(count - 1)) return false;
            return true;
        })) << "members never saw each other";
    }

    // A metric of the node's JSON, by its (unique) last path component.
    static uint64_t metric(const Node& n, const std::string& name) {
        char* j = nullptr;
        EXPECT_EQ(mccache_metrics_json(n.node, &j), MCCACHE_OK);
        std::string m(j);
        mccache_free(j);
        size_t at = m.find("\"" + name + "\":");
        EXPECT_NE(at, std::string::npos) << name << " not in " << m;
        return at == std::string::npos ? 0 : std::strtoull(m.c_str() + at + name.size() + 3, nullptr, 10);
    }
    uint64_t total(const std::string& name) {
        uint64_t t = 0;
        for (auto& n : nodes) t += metric(n, name);
        return t;
    }

    static Result load(const Node& n, const std::string& key, Loader* l, int64_t timeout_ms = 20000) {
        Result r;
        mccache_value_t* v = nullptr;
        r.rc = mccache_get_or_load(n.cache, key.data(), key.size(), l ? &Loader::cb : nullptr, l, timeout_ms, &v);
        if (r.rc == MCCACHE_OK) {
            size_t len;
            const void* d = mccache_value_data(v, &len);
            r.value.assign(static_cast<const char*>(d), len);
            mccache_value_free(v);
        } else {
            r.error = mccache_last_error();
            EXPECT_EQ(v, nullptr);
        }
        return r;
    }

    static std::string get(const Node& n, const std::string& key) { return support::value_of(n.cache, key); }

    // How long ago `key` was written (its version's wall-clock time).
    static int64_t age_ms(const Node& n, const std::string& key) {
        mccache_metadata_t md{};
        md.struct_size = sizeof md;
        if (mccache_metadata(n.cache, key.data(), key.size(), &md) != MCCACHE_OK) return -1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - md.updated_ms;
    }

    static void put(const Node& n, const std::string& k, const std::string& v, int64_t ttl = 0) {
        ASSERT_EQ(mccache_put(n.cache, k.data(), k.size(), v.data(), v.size(), ttl), MCCACHE_OK)
            << mccache_last_error();
    }

    // `threads` callers on each node, released together, each loading `key`.
    std::vector<Result> stampede(int threads, const std::string& key, Loader& l, int64_t timeout_ms = 30000) {
        std::vector<Result> out(nodes.size() * threads);
        std::atomic<int> ready{0};
        std::atomic<bool> go{false};
        std::vector<std::thread> ts;
        for (size_t n = 0; n < nodes.size(); ++n)
            for (int t = 0; t < threads; ++t)
                ts.emplace_back([&, n, t] {
                    ready++;
                    while (!go.load()) std::this_thread::yield();
                    out[n * threads + t] = load(nodes[n], key, &l, timeout_ms);
                });
        while (ready.load() < static_cast<int>(ts.size())) std::this_thread::yield();
        go = true;
        for (auto& t : ts) t.join();
        return out;
    }
};

// ---- one node ----

TEST_F(Loaders, ConcurrentCallersOfOneKeyWaitForOneLoad) {
    open({{"transport", "none"}});
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string& key) {
        std::this_thread::sleep_for(100ms);  // long enough for every caller to arrive
        return Loader::value(load, "v-" + key);
    };
    auto results = stampede(16, "k", l);
    EXPECT_EQ(l.calls.load(), 1);
    for (auto& r : results) {
        EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
        EXPECT_EQ(r.value, "v-k");
    }
    EXPECT_EQ(get(nodes[0], "k"), "v-k");
    EXPECT_EQ(metric(nodes[0], "loads"), 1u);
    EXPECT_EQ(metric(nodes[0], "successes"), 1u);
    EXPECT_GE(metric(nodes[0], "waits"), 1u);
    // Present: no load.
    EXPECT_EQ(load(nodes[0], "k", &l).value, "v-k");
    EXPECT_EQ(l.calls.load(), 1);
}

TEST_F(Loaders, KeysLoadIndependently) {
    // Locking is per key: a slow load of one key does not hold up another.
    open({{"transport", "none"}});
    Gate gate;
    Loader slow, fast;
    slow.body = [&](mccache_load_t* load, const std::string&) {
        gate.wait();
        return Loader::value(load, "slow");
    };
    fast.body = [&](mccache_load_t* load, const std::string&) { return Loader::value(load, "fast"); };
    std::thread t([&] { EXPECT_EQ(load(nodes[0], "a", &slow).value, "slow"); });
    ASSERT_TRUE(wait_until([&] { return slow.running.load() == 1; }));
    Result r = load(nodes[0], "b", &fast, 5000);
    EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
    EXPECT_EQ(r.value, "fast");
    gate.release();
    t.join();
}

TEST_F(Loaders, WaiterTimesOutWhileTheLoadRuns) {
    open({{"transport", "none"}});
    Gate gate;
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        gate.wait();
        return Loader::value(load, "late");
    };
    std::thread t([&] { EXPECT_EQ(load(nodes[0], "k", &l).value, "late"); });
    ASSERT_TRUE(wait_until([&] { return l.running.load() == 1; }));
    Result r = load(nodes[0], "k", &l, 100);
    EXPECT_EQ(r.rc, MCCACHE_ETIMEDOUT) << r.error;
    gate.release();
    t.join();
    EXPECT_EQ(l.calls.load(), 1);
}

TEST_F(Loaders, ArgumentsAndLoaderContract) {
    Node n = open({{"transport", "none"}});
    mccache_value_t* v = reinterpret_cast<mccache_value_t*>(1);
    EXPECT_EQ(mccache_get_or_load(n.cache, "k", 1, nullptr, nullptr, 0, &v), MCCACHE_EINVAL);
    EXPECT_EQ(v, nullptr);
    EXPECT_NE(std::string(mccache_last_error()).find("no registered loader"), std::string::npos);
    Loader l;
    l.body = [&](mccache_load_t*, const std::string&) { return MCCACHE_OK; };  // no value set
    EXPECT_EQ(mccache_get_or_load(n.cache, "k", 1, &Loader::cb, &l, -2, &v), MCCACHE_EINVAL);
    EXPECT_EQ(mccache_get_or_load(n.cache, nullptr, 1, &Loader::cb, &l, 0, &v), MCCACHE_EINVAL);
    EXPECT_EQ(mccache_get_or_load(n.cache, "k", 0, &Loader::cb, &l, 0, &v), MCCACHE_EINVAL);
    EXPECT_EQ(mccache_get_or_load(n.cache, "k", 1, &Loader::cb, &l, 0, nullptr), MCCACHE_EINVAL);
    EXPECT_EQ(mccache_get_or_load(nullptr, "k", 1, &Loader::cb, &l, 0, &v), MCCACHE_EINVAL);
    Result r = load(n, "k", &l);
    EXPECT_EQ(r.rc, MCCACHE_EINVAL);
    EXPECT_NE(r.error.find("without mccache_load_set_value"), std::string::npos) << r.error;
    l.body = [&](mccache_load_t*, const std::string&) { return 7; };  // positive: EUSER
    EXPECT_EQ(load(n, "k", &l).rc, MCCACHE_EUSER);
    EXPECT_EQ(mccache_load_set_value(nullptr, "x", 1, 0), MCCACHE_EINVAL);
    EXPECT_EQ(mccache_load_set_error(nullptr, "x"), MCCACHE_EINVAL);
    l.body = [&](mccache_load_t* load, const std::string&) {
        EXPECT_EQ(mccache_load_set_value(load, nullptr, 1, 0), MCCACHE_EINVAL);
        EXPECT_EQ(mccache_load_set_value(load, "x", 1, -2), MCCACHE_EINVAL);
        EXPECT_EQ(mccache_load_set_error(load, nullptr), MCCACHE_EINVAL);
        return Loader::value(load, "short", 60000);
    };
    r = load(n, "k", &l);
    EXPECT_EQ(r.value, "short");
    mccache_metadata_t md{};
    md.struct_size = sizeof md;
    ASSERT_EQ(mccache_metadata(n.cache, "k", 1, &md), MCCACHE_OK);
    EXPECT_EQ(md.expires_ms - md.updated_ms, 60000);  // the loader's TTL
    EXPECT_EQ(mccache_cache_open(n.node, "mccache:namespaces", &n.cache), MCCACHE_EINVAL);
}

TEST_F(Loaders, RegisteredLoaderIsUsedWhenNoneIsGivenAndFreedOnce) {
    Node n = open({{"transport", "none"}});
    static std::atomic<int> freed{0};
    freed = 0;
    auto* l = new Loader;
    l->body = [](mccache_load_t* load, const std::string& key) { return Loader::value(load, "reg-" + key); };
    ASSERT_EQ(mccache_set_loader(n.cache, &Loader::cb, l, [](void* p) {
                  delete static_cast<Loader*>(p);
                  freed++;
              }),
              MCCACHE_OK);
    EXPECT_EQ(load(n, "x", nullptr).value, "reg-x");
    ASSERT_EQ(mccache_set_loader(n.cache, nullptr, nullptr, nullptr), MCCACHE_OK);
    EXPECT_TRUE(wait_until([] { return freed.load() == 1; }));
    EXPECT_EQ(load(n, "y", nullptr).rc, MCCACHE_EINVAL);
}

// ---- a cluster ----

TEST_F(Loaders, SixteenThreadsOnThreeMembersLoadOnceInTheCluster) {
    open_n(3);
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string& key) {
        std::this_thread::sleep_for(200ms);
        return Loader::value(load, "v-" + key);
    };
    auto results = stampede(16, "hot", l);
    EXPECT_EQ(l.calls.load(), 1);
    for (auto& r : results) {
        EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
        EXPECT_EQ(r.value, "v-hot");
    }
    EXPECT_EQ(total("won"), 1u);
    EXPECT_EQ(total("loads"), 1u);
    EXPECT_GE(total("remote_waits"), 2u);  // both other members waited for the one load
}

TEST_F(Loaders, OneLoadPerKeyUnderTwentyPercentLoss) {
    open_n(3, {{"fault_drop", "20"}});
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string& key) {
        std::this_thread::sleep_for(200ms);
        return Loader::value(load, "v-" + key);
    };
    for (const char* key : {"a", "b", "c"}) {
        const int before = l.calls.load();
        auto results = stampede(16, key, l);
        EXPECT_EQ(l.calls.load() - before, 1) << key;
        for (auto& r : results) {
            EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
            EXPECT_EQ(r.value, std::string("v-") + key);
        }
    }
    EXPECT_GT(total("claims_resent") + total("polls_sent") + total("dropped_out"), 0u);
}

// The leaseholder goes silent in the middle of its load (as a crash looks to
// the others): another member loads, and every caller has the value within
// load_lease plus one load (their timeout).
class HolderDies : public Loaders {
protected:
    void run(int lease_ms) {
        Gate gate;
        Loader l;
        l.body = [&](mccache_load_t* load, const std::string& key) {
            if (l.calls.load() == 1) gate.wait();  // the first load hangs until the end of the test
            return Loader::value(load, "v-" + key);
        };
        std::thread first([&] { load(nodes[0], "k", &l, 60000); });
        ASSERT_TRUE(wait_until([&] { return l.running.load() == 1; }));
        // Members 1 and 2 now wait for member 0's load...
        std::vector<Result> results(8);
        std::vector<std::thread> ts;
        const int64_t load_ms = 50;
        for (int i = 0; i < 8; ++i)
            ts.emplace_back([&, i] { results[i] = load(nodes[1 + i % 2], "k", &l, lease_ms + load_ms + 3000); });
        ASSERT_TRUE(wait_until(
            [&] { return metric(nodes[1], "remote_waits") + metric(nodes[2], "remote_waits") == 2; }));
        // ...and it goes silent.
        nodes[0].node->node->set_faults(100, 100);
        for (auto& t : ts) t.join();
        for (auto& r : results) {
            EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
            EXPECT_EQ(r.value, "v-k");
        }
        EXPECT_EQ(l.calls.load(), 2);  // the hung one and one takeover
        EXPECT_GE(metric(nodes[1], "takeovers") + metric(nodes[2], "takeovers"), 1u);
        gate.release();
        first.join();
    }
};

TEST_F(HolderDies, AnotherMemberLoadsWhenTheHolderGoesDown) {
    // member_timeout (1 s) before the lease (10 s) runs out.
    open_n(3, {{"load_lease", "10s"}});
    run(1000);
}

TEST_F(HolderDies, AnotherMemberLoadsWhenTheLeaseRunsOut) {
    // The lease (400 ms) runs out before member_timeout (30 s).
    open_n(3, {{"load_lease", "400ms"}, {"member_timeout", "30s"}});
    run(400);
}

TEST_F(Loaders, LoaderErrorReachesEveryWaiterOnEveryMember) {
    open_n(3);
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        std::this_thread::sleep_for(200ms);
        mccache_load_set_error(load, "database down");
        return MCCACHE_EUSER;
    };
    auto results = stampede(4, "k", l);
    EXPECT_EQ(l.calls.load(), 1);
    for (auto& r : results) {
        EXPECT_EQ(r.rc, MCCACHE_EUSER);
        EXPECT_NE(r.error.find("database down"), std::string::npos) << r.error;
    }
    EXPECT_EQ(total("failures"), 1u);
    // Not cached (negative_ttl 0): the next call loads again.
    l.body = [&](mccache_load_t* load, const std::string&) { return Loader::value(load, "back"); };
    Result again = load(nodes[1], "k", &l);
    EXPECT_EQ(again.rc, MCCACHE_OK) << again.error;
    EXPECT_EQ(again.value, "back");
    EXPECT_EQ(l.calls.load(), 2);
}

TEST_F(Loaders, NegativeCachingKeepsTheFailureOnEveryMember) {
    open_n(3, {{"negative_ttl", "1h"}});
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        std::this_thread::sleep_for(100ms);
        mccache_load_set_error(load, "no such user");
        return MCCACHE_ENOTFOUND;
    };
    auto results = stampede(4, "ghost", l);
    for (auto& r : results) EXPECT_EQ(r.rc, MCCACHE_ENOTFOUND) << r.error;
    EXPECT_EQ(l.calls.load(), 1);
    // Every member remembers it: no load anywhere (the notice may still be
    // on its way to a member, which then asks and is told).
    for (auto& n : nodes) {
        Result r = load(n, "ghost", &l);
        EXPECT_EQ(r.rc, MCCACHE_ENOTFOUND);
        EXPECT_NE(r.error.find("no such user"), std::string::npos) << r.error;
    }
    EXPECT_EQ(l.calls.load(), 1);
    EXPECT_GE(total("negative_hits"), 2u);
    // A put of the key wins over the cached failure.
    put(nodes[0], "ghost", "found");
    EXPECT_TRUE(wait_until([&] { return get(nodes[2], "ghost") == "found"; }));
    EXPECT_EQ(load(nodes[2], "ghost", &l).value, "found");
}

TEST_F(Loaders, RefreshAheadServesTheOldValueWhileOneReloadRuns) {
    open_n(3, {{"refresh_after", "300ms"}});
    Gate gate;
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        gate.wait();
        return Loader::value(load, "v2");
    };
    for (auto& n : nodes) ASSERT_EQ(mccache_set_loader(n.cache, &Loader::cb, &l, nullptr), MCCACHE_OK);
    put(nodes[0], "k", "v1");
    ASSERT_TRUE(wait_until([&] { return get(nodes[1], "k") == "v1" && get(nodes[2], "k") == "v1"; }));
    ASSERT_TRUE(wait_until([&] { return age_ms(nodes[0], "k") > 350; }));  // old enough to be refreshed
    // Many callers on every member, while the reload is held: all get v1.
    for (int round = 0; round < 5; ++round) {
        auto results = stampede(4, "k", l, 5000);
        for (auto& r : results) {
            EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
            EXPECT_EQ(r.value, "v1");
        }
    }
    EXPECT_TRUE(wait_until([&] { return l.calls.load() == 1; }));
    EXPECT_EQ(l.calls.load(), 1);  // one reload in the cluster
    gate.release();
    for (auto& n : nodes) EXPECT_TRUE(wait_until([&] { return get(n, "k") == "v2"; }));
    EXPECT_EQ(l.calls.load(), 1);
    EXPECT_EQ(total("refreshes"), 1u);
    for (auto& n : nodes) mccache_set_loader(n.cache, nullptr, nullptr, nullptr);
}

TEST_F(Loaders, RefreshWithoutRegisteredLoaderIsRunByTheCallerThatWinsIt) {
    open_n(3, {{"refresh_after", "200ms"}});
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        std::this_thread::sleep_for(300ms);
        return Loader::value(load, "v2");
    };
    put(nodes[0], "k", "v1");
    ASSERT_TRUE(wait_until([&] { return get(nodes[1], "k") == "v1" && get(nodes[2], "k") == "v1"; }));
    ASSERT_TRUE(wait_until([&] { return age_ms(nodes[0], "k") > 250; }));  // past refresh_after
    auto results = stampede(4, "k", l, 5000);
    int v2 = 0;
    for (auto& r : results) {
        EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
        EXPECT_TRUE(r.value == "v1" || r.value == "v2") << r.value;
        v2 += r.value == "v2";
    }
    EXPECT_EQ(l.calls.load(), 1);
    EXPECT_EQ(v2, 1);  // the one that reloaded; the others were served v1
    for (auto& n : nodes) EXPECT_TRUE(wait_until([&] { return get(n, "k") == "v2"; }));
}

TEST_F(Loaders, StaleWhileRevalidateAndStaleIfError) {
    open({{"transport", "none"}, {"cache_ttl", "200ms"}, {"stale_while_revalidate", "0"}, {"stale_if_error", "1h"}});
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) { return Loader::value(load, "v1"); };
    EXPECT_EQ(load(nodes[0], "k", &l).value, "v1");
    ASSERT_TRUE(wait_until([&] { return get(nodes[0], "k") == "<miss>"; }));  // past its TTL for plain gets
    EXPECT_NE(mccache_contains(nodes[0].cache, "k", 1), MCCACHE_OK);
    const void* keys[] = {"k"};
    const size_t klens[] = {1};
    mccache_value_t* values[1] = {nullptr};
    int statuses[1] = {MCCACHE_OK};
    ASSERT_EQ(mccache_get_batch(nodes[0].cache, 1, keys, klens, values, statuses), MCCACHE_OK);
    EXPECT_EQ(statuses[0], MCCACHE_ENOTFOUND);
    EXPECT_EQ(values[0], nullptr);
    l.body = [&](mccache_load_t* load, const std::string&) {
        mccache_load_set_error(load, "backend down");
        return MCCACHE_EUSER;
    };
    Result r = load(nodes[0], "k", &l);
    EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
    EXPECT_EQ(r.value, "v1");  // served stale: the reload failed
    EXPECT_EQ(l.calls.load(), 2);
    EXPECT_EQ(metric(nodes[0], "stale_served"), 1u);
    // A key never loaded has nothing stale to serve.
    EXPECT_EQ(load(nodes[0], "other", &l).rc, MCCACHE_EUSER);
}

TEST_F(Loaders, StaleWhileRevalidateServesAtOnceAndReloadsOnce) {
    open_n(2, {{"cache_ttl", "200ms"}, {"stale_while_revalidate", "1h"}});
    Gate gate;
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        if (l.calls.load() > 1) gate.wait();
        return Loader::value(load, "v" + std::to_string(l.calls.load()));
    };
    for (auto& n : nodes) ASSERT_EQ(mccache_set_loader(n.cache, &Loader::cb, &l, nullptr), MCCACHE_OK);
    EXPECT_EQ(load(nodes[0], "k", nullptr).value, "v1");
    ASSERT_TRUE(wait_until([&] { return get(nodes[1], "k") == "v1"; }));
    ASSERT_TRUE(wait_until([&] { return get(nodes[0], "k") == "<miss>" && get(nodes[1], "k") == "<miss>"; }));
    auto results = stampede(4, "k", l, 5000);
    for (auto& r : results) EXPECT_EQ(r.value, "v1") << r.error;
    EXPECT_TRUE(wait_until([&] { return l.calls.load() == 2; }));
    gate.release();
    for (auto& n : nodes) EXPECT_TRUE(wait_until([&] { return get(n, "k") == "v2"; }));
    EXPECT_EQ(l.calls.load(), 2);
    for (auto& n : nodes) mccache_set_loader(n.cache, nullptr, nullptr, nullptr);
}

TEST_F(Loaders, GenerationBumpInvalidatesEveryMember) {
    open_n(3, {{"key_prefix", "app:"}, {"key_version", "2"}});
    put(nodes[0], "k", "old");
    for (auto& n : nodes) ASSERT_TRUE(wait_until([&] { return get(n, "k") == "old"; }));
    // Stored under the namespace.
    mccache_iter_t* it = nullptr;
    ASSERT_EQ(mccache_iter_new(nodes[0].cache, &it), MCCACHE_OK);
    const void* key;
    size_t klen;
    mccache_value_t* v;
    ASSERT_EQ(mccache_iter_next(it, &key, &klen, &v), MCCACHE_OK);
    EXPECT_EQ(std::string(static_cast<const char*>(key), klen), "app:2.0:k");
    mccache_value_free(v);
    mccache_iter_free(it);

    uint64_t g = 0;
    ASSERT_EQ(mccache_namespace_bump(nodes[1].cache, &g), MCCACHE_OK) << mccache_last_error();
    EXPECT_EQ(g, 1u);
    for (auto& n : nodes) {
        EXPECT_TRUE(wait_until([&] { return get(n, "k") == "<miss>"; }));
        uint64_t gen = 0;
        EXPECT_EQ(mccache_namespace_generation(n.cache, &gen), MCCACHE_OK);
        EXPECT_EQ(gen, 1u);
    }
    put(nodes[2], "k", "new");
    for (auto& n : nodes) EXPECT_TRUE(wait_until([&] { return get(n, "k") == "new"; }));
    // A member that opens the cache later starts at the cluster's generation.
    Node late = open({{"key_prefix", "app:"}, {"key_version", "2"}});
    EXPECT_TRUE(wait_until([&] {
        uint64_t gen = 0;
        mccache_namespace_generation(late.cache, &gen);
        return gen == 1 && get(late, "k") == "new";
    }, 20s));
    // A cache without a namespace cannot be bumped.
    mccache_cache_t* plain = nullptr;
    ASSERT_EQ(mccache_cache_open(nodes[0].node, "plain", &plain), MCCACHE_OK);
}

TEST_F(Loaders, AWaiterReturnsWhenItsNodeCloses) {
    // A caller waiting for another member's load gives up with ECLOSED when
    // its node closes, and the close does not wait for that load.
    open_n(2);
    Gate gate;
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        gate.wait();
        return Loader::value(load, "v");
    };
    std::thread holder([&] { EXPECT_EQ(load(nodes[0], "k", &l).value, "v"); });
    ASSERT_TRUE(wait_until([&] { return l.running.load() == 1; }));
    Result waited;
    std::thread waiter([&] { waited = load(nodes[1], "k", &l, -1); });  // no timeout of its own
    ASSERT_TRUE(wait_until([&] { return metric(nodes[1], "remote_waits") == 1; }));
    mccache_close(nodes[1].node);
    nodes.pop_back();
    waiter.join();
    EXPECT_EQ(waited.rc, MCCACHE_ECLOSED) << waited.error;
    gate.release();
    holder.join();
    EXPECT_EQ(l.calls.load(), 1);
}

TEST_F(Loaders, UpdateModeLoadsOncePerMember) {
    // A remote put does not give an update-mode member the value: each
    // member loads for itself, once for all its callers, and sends no lease.
    open_n(2, {{"cache_mode", "update"}});
    Loader l;
    l.body = [&](mccache_load_t* load, const std::string&) {
        std::this_thread::sleep_for(100ms);
        return Loader::value(load, "v");
    };
    auto results = stampede(8, "k", l);
    for (auto& r : results) {
        EXPECT_EQ(r.rc, MCCACHE_OK) << r.error;
        EXPECT_EQ(r.value, "v");
    }
    EXPECT_EQ(l.calls.load(), 2);
    EXPECT_EQ(total("claims_sent"), 0u);
}

TEST_F(Loaders, ANamespacedLoaderSeesTheCallersKey) {
    open({{"transport", "none"}, {"key_prefix", "app:"}});
    Loader l;
    std::string seen;
    l.body = [&](mccache_load_t* load, const std::string& key) {
        seen = key;
        return Loader::value(load, "v-" + key);
    };
    EXPECT_EQ(load(nodes[0], "k", &l).value, "v-k");
    EXPECT_EQ(seen, "k");
    EXPECT_EQ(get(nodes[0], "k"), "v-k");  // stored under the namespace, read through it
    ASSERT_EQ(mccache_namespace_bump(nodes[0].cache, nullptr), MCCACHE_OK);
    EXPECT_EQ(get(nodes[0], "k"), "<miss>");
    EXPECT_EQ(load(nodes[0], "k", &l).value, "v-k");
    EXPECT_EQ(l.calls.load(), 2);
}

TEST(LoadersPlain, BumpNeedsANamespace) {
    mccache_config_t* cfg;
    ASSERT_EQ(mccache_config_new(&cfg), MCCACHE_OK);
    mccache_config_set(cfg, "transport", "none");
    mccache_t* node;
    ASSERT_EQ(mccache_open(cfg, &node), MCCACHE_OK);
    mccache_config_free(cfg);
    mccache_cache_t* c;
    ASSERT_EQ(mccache_cache_open(node, "plain", &c), MCCACHE_OK);
    EXPECT_EQ(mccache_namespace_bump(c, nullptr), MCCACHE_EINVAL);
    EXPECT_NE(std::string(mccache_last_error()).find("key_prefix"), std::string::npos);
    uint64_t g = 7;
    EXPECT_EQ(mccache_namespace_generation(c, &g), MCCACHE_OK);
    EXPECT_EQ(g, 0u);
    mccache_close(node);
}

}  // namespace
