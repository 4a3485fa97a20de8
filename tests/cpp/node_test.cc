// The node: loop and dispatcher threads, housekeeper, events, callbacks and close.
#include "node/node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace mccache;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<node::Node> open_node(config::Config cfg = {}) {
    // These tests are about one node: keep it off the network, so tests
    // running in parallel cannot replicate into each other.
    EXPECT_TRUE(cfg.set("transport", "none", config::Source::Api, "api").ok());
    std::unique_ptr<node::Node> n;
    Status st = node::Node::open(cfg, &n);
    EXPECT_TRUE(st.ok()) << st.message;
    return n;
}

template <typename Pred>
bool wait_for(Pred pred, std::chrono::milliseconds deadline = 5000ms) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (pred()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return pred();
}

struct Collected {
    std::mutex mu;
    std::vector<int> types;
    std::vector<std::thread::id> threads;
    int freed = 0;
};

void collect(const mccache_event_t* ev, void* opaque) {
    auto* c = static_cast<Collected*>(opaque);
    std::lock_guard<std::mutex> lock(c->mu);
    c->types.push_back(ev->type);
    c->threads.push_back(std::this_thread::get_id());
}

void collect_free(void* opaque) {
    auto* c = static_cast<Collected*>(opaque);
    std::lock_guard<std::mutex> lock(c->mu);
    c->freed++;
}

store::Value* val(const char* s) { return store::value_new(s, std::strlen(s)); }

TEST(Node, OpenCacheTwiceGivesTheSameCache) {
    auto n = open_node();
    node::Cache *a, *b;
    bool created;
    ASSERT_TRUE(n->open_cache("x", &a, &created).ok());
    EXPECT_TRUE(created);
    ASSERT_TRUE(n->open_cache("x", &b, &created).ok());
    EXPECT_FALSE(created);
    EXPECT_EQ(a, b);
    n->close();
}

TEST(Node, PerCacheSettingsApply) {
    config::Config cfg;
    ASSERT_TRUE(cfg.set("small.cache_max", "3", config::Source::Api, "api").ok());
    ASSERT_TRUE(cfg.set("cache_ttl", "2s", config::Source::Api, "api").ok());
    auto n = open_node(cfg);
    node::Cache *small, *other;
    bool created;
    ASSERT_TRUE(n->open_cache("small", &small, &created).ok());
    ASSERT_TRUE(n->open_cache("other", &other, &created).ok());
    EXPECT_EQ(small->store().limits().max_entries, 3u);
    EXPECT_EQ(other->store().limits().max_entries, 65536u);
    EXPECT_EQ(small->store().limits().default_ttl_ms, 2000);
    n->close();
}

TEST(Node, EventsRunOnTheDispatcherThreadInOrder) {
    auto n = open_node();
    node::Cache* c;
    bool created;
    ASSERT_TRUE(n->open_cache("ev", &c, &created).ok());
    Collected got;
    c->set_change_callback({collect, &got, collect_free});
    auto& hlc = n->hlc();
    c->store().apply("k", 1, val("1"), {hlc.tick(), n->id()}, -1, store::Origin::Local);
    c->store().apply("k", 1, val("2"), {hlc.tick(), n->id()}, -1, store::Origin::Local);
    bool live;
    c->store().remove("k", 1, {hlc.tick(), n->id()}, store::Origin::Local, &live);
    ASSERT_TRUE(wait_for([&] {
        std::lock_guard<std::mutex> lock(got.mu);
        return got.types.size() == 3;
    }));
    {
        std::lock_guard<std::mutex> lock(got.mu);
        EXPECT_EQ(got.types, (std::vector<int>{MCCACHE_EVENT_INSERT, MCCACHE_EVENT_UPDATE,
                                                MCCACHE_EVENT_DELETE}));
        // Not the writer's thread, and not the loop that runs the cluster:
        // the dispatcher's.
        for (auto id : got.threads) {
            EXPECT_NE(id, std::this_thread::get_id());
            EXPECT_NE(id, n->loop_thread_id());
            EXPECT_EQ(id, n->dispatcher().thread_id());
        }
    }
    n->close();
    EXPECT_EQ(got.freed, 1);
}

TEST(Node, ReplacingACallbackFreesTheOldOneOnce) {
    auto n = open_node();
    node::Cache* c;
    bool created;
    ASSERT_TRUE(n->open_cache("cb", &c, &created).ok());
    Collected first, second;
    c->set_change_callback({collect, &first, collect_free});
    c->set_change_callback({collect, &second, collect_free});
    ASSERT_TRUE(wait_for([&] {
        std::lock_guard<std::mutex> lock(first.mu);
        return first.freed == 1;
    }));
    EXPECT_EQ(second.freed, 0);
    n->close();
    EXPECT_EQ(first.freed, 1);
    EXPECT_EQ(second.freed, 1);
}

TEST(Node, HousekeeperExpiresEntriesOnItsOwn) {
    config::Config cfg;
    ASSERT_TRUE(cfg.set("daemon_sleep", "20ms", config::Source::Api, "api").ok());
    auto n = open_node(cfg);
    node::Cache* c;
    bool created;
    ASSERT_TRUE(n->open_cache("ttl", &c, &created).ok());
    Collected got;
    c->set_change_callback({collect, &got, collect_free});
    int64_t expires = n->clock().now_ms() + 50;
    for (int i = 0; i < 10; ++i) {
        std::string k = "k" + std::to_string(i);
        c->store().apply(k.data(), k.size(), val("v"), {n->hlc().tick(), n->id()}, expires,
                         store::Origin::Local);
    }
    EXPECT_GT(c->store().stats().bytes, 0u);
    // Nobody reads: the memory must still come back.
    ASSERT_TRUE(wait_for([&] { return c->store().stats().bytes == 0; }));
    EXPECT_EQ(c->store().stats().expirations, 10u);
    ASSERT_TRUE(wait_for([&] {
        std::lock_guard<std::mutex> lock(got.mu);
        return std::count(got.types.begin(), got.types.end(), MCCACHE_EVENT_EXPIRE) == 10;
    }));
    n->close();
}

TEST(Node, HousekeepNowRunsAndWaits) {
    auto n = open_node();
    node::Cache* c;
    bool created;
    ASSERT_TRUE(n->open_cache("hk", &c, &created).ok());
    c->store().apply("k", 1, val("v"), {n->hlc().tick(), n->id()}, n->clock().now_ms() + 1,
                     store::Origin::Local);
    std::this_thread::sleep_for(5ms);  // let the 1 ms TTL pass (time, not a sync wait)
    ASSERT_TRUE(n->housekeep_now().ok());
    EXPECT_EQ(c->store().stats().expirations, 1u);
    n->close();
}

TEST(Node, SlowCallbackOverflowsTheQueueAndIsCounted) {
    config::Config cfg;
    ASSERT_TRUE(cfg.set("event_queue_max", "16", config::Source::Api, "api").ok());
    auto n = open_node(cfg);
    node::Cache* c;
    bool created;
    ASSERT_TRUE(n->open_cache("slow", &c, &created).ok());
    static std::mutex gate;
    gate.lock();
    c->set_change_callback({[](const mccache_event_t*, void*) { std::lock_guard<std::mutex> l(gate); },
                                nullptr, nullptr});
    for (int i = 0; i < 200; ++i) {
        std::string k = "k" + std::to_string(i);
        c->store().apply(k.data(), k.size(), val("v"), {n->hlc().tick(), n->id()}, -1,
                         store::Origin::Local);
    }
    gate.unlock();
    std::string m = n->metrics_json();
    EXPECT_NE(m.find("\"events_dropped\":"), std::string::npos);
    EXPECT_EQ(m.find("\"events_dropped\":0,"), std::string::npos) << m;
    n->close();
}

TEST(Node, CloseIsBoundedAndReleasesEverything) {
    for (int round = 0; round < 20; ++round) {
        auto n = open_node();
        node::Cache* c;
        bool created;
        ASSERT_TRUE(n->open_cache("a", &c, &created).ok());
        Collected got;
        c->set_change_callback({collect, &got, collect_free});
        for (int i = 0; i < 100; ++i) {
            std::string k = "k" + std::to_string(i);
            c->store().apply(k.data(), k.size(), val("v"), {n->hlc().tick(), n->id()}, -1,
                             store::Origin::Local);
        }
        auto t0 = std::chrono::steady_clock::now();
        n->close();
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
        EXPECT_EQ(got.freed, 1);
    }
}

TEST(Node, SeveralNodesInOneProcessAreIndependent) {
    auto a = open_node(), b = open_node();
    EXPECT_NE(a->id(), b->id());
    node::Cache *ca, *cb;
    bool created;
    ASSERT_TRUE(a->open_cache("same", &ca, &created).ok());
    ASSERT_TRUE(b->open_cache("same", &cb, &created).ok());
    ca->store().apply("k", 1, val("a"), {a->hlc().tick(), a->id()}, -1, store::Origin::Local);
    EXPECT_TRUE(ca->store().contains("k", 1));
    EXPECT_FALSE(cb->store().contains("k", 1));
    a->close();
    b->close();
}

}  // namespace

namespace {

// What reaches a log line from the network (a name, a reason) is shown,
// never obeyed: a newline cannot start a forged line, and bytes that are not
// UTF-8 cannot make a JSON log line invalid.
TEST(Log, ControlBytesAndNonUtf8AreEscaped) {
    obs::Logger log;
    ASSERT_TRUE(log.open("", MCCACHE_LOG_DEBUG, false, 1).ok());
    static std::vector<std::string> lines;
    lines.clear();
    auto old = log.set_callback([](int, const char* m, void*) { lines.emplace_back(m); }, nullptr, nullptr);
    log.log(MCCACHE_LOG_WARN, "cache \"%s\" from %s", "evil\n2026-12-06T00:00:00Z ERROR forged\r", "\xff\xfe");
    log.log(MCCACHE_LOG_WARN, "%s", "caf\xc3\xa9 \xe2\x82\xac \xc2\x85 \xed\xa0\x80 \x7f");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0], "cache \"evil\\x0a2026-12-06T00:00:00Z ERROR forged\\x0d\" from \\xff\\xfe");
    // UTF-8 stays; a C1 control (U+0085), a surrogate and DEL do not.
    EXPECT_EQ(lines[1], "caf\xc3\xa9 \xe2\x82\xac \\xc2\\x85 \\xed\\xa0\\x80 \\x7f");
}

}  // namespace
