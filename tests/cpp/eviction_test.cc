// The eviction policies and the compact entry, on a hand-driven clock.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/entry.h"
#include "store/store.h"

using namespace mccache::store;

namespace {

constexpr int64_t kStart = 1'700'000'000'000;

struct Counter : ChangeListener {
    size_t evicts = 0, others = 0;
    void on_change(const Change& c) override { (c.type == EventType::Evict ? evicts : others)++; }
};

class EvictionTest : public ::testing::Test {
protected:
    ManualClock clock{kStart};
    uint64_t hlc = hlc_pack(kStart, 0);

    std::unique_ptr<Store> make(EvictionPolicy policy, uint64_t max_entries, uint64_t max_bytes = 1ull << 30,
                                uint32_t shards = 1) {
        Limits limits;
        limits.max_entries = max_entries;
        limits.max_bytes = max_bytes;
        limits.shards = shards;
        limits.policy = policy;
        return std::make_unique<Store>("e", limits, clock);
    }
    Version next(uint64_t node = 1) { return Version{++hlc, node}; }

    // Read-through: a hit counts, a miss inserts.
    bool access(Store& s, const std::string& k, size_t vlen = 8) {
        if (Value* v = s.get(k.data(), k.size())) {
            value_unref(v);
            return true;
        }
        std::string value(vlen, 'v');
        s.put(k.data(), k.size(), value.data(), value.size(), next(), -1, -1);
        return false;
    }
};

}  // namespace

// Expose the helper to the free function above.
class EvictionScan : public EvictionTest {
public:
    void access_public(Store& s, const std::string& k) { access(s, k); }
};

namespace {
// A hot set read over and over, then a scan of keys each read once: W-TinyLFU
// keeps the hot set (the scan loses every admission duel), LRU loses it.
size_t hot_survivors(EvictionScan& t, Store& s) {
    std::vector<std::string> hot;
    for (int i = 0; i < 50; ++i) hot.push_back("hot" + std::to_string(i));
    for (int round = 0; round < 20; ++round)
        for (auto& k : hot) t.access_public(s, k);
    for (int i = 0; i < 5000; ++i) t.access_public(s, "scan" + std::to_string(i));
    size_t kept = 0;
    for (auto& k : hot) kept += s.contains(k.data(), k.size());
    return kept;
}
}  // namespace

TEST_F(EvictionScan, TinyLfuKeepsAHotSetThroughAScanThatLruLoses) {
    auto tiny = make(EvictionPolicy::TinyLfu, 100);
    auto lru = make(EvictionPolicy::Lru, 100);
    size_t kept_tiny = hot_survivors(*this, *tiny);
    size_t kept_lru = hot_survivors(*this, *lru);
    EXPECT_GE(kept_tiny, 45u);
    EXPECT_EQ(kept_lru, 0u);
    EXPECT_EQ(tiny->size(), 100u);
    EXPECT_EQ(lru->size(), 100u);
}

TEST_F(EvictionScan, ByteBoundedTinyLfuKeepsTheHotSetAndTheBudget) {
    // 64 KiB of 1000-byte values: the byte bound decides, not the entry
    // count. The hot set fills more than half of it, so reads are counted
    // (a shard records reads once half full).
    auto s = make(EvictionPolicy::TinyLfu, 1'000'000, 64 * 1024);
    std::vector<std::string> hot;
    for (int i = 0; i < 40; ++i) hot.push_back("hot" + std::to_string(i));
    for (int round = 0; round < 30; ++round)
        for (auto& k : hot) access(*s, k, 1000);
    for (int i = 0; i < 2000; ++i) {
        access(*s, "scan" + std::to_string(i), 1000);
        ASSERT_LE(s->stats().bytes, 64u * 1024);
    }
    size_t kept = 0;
    for (auto& k : hot) kept += s->contains(k.data(), k.size());
    EXPECT_GE(kept, 36u);
    EXPECT_GT(s->stats().evictions_bytes, 0u);
}

TEST_F(EvictionTest, EveryEvictionIsReportedAndTheBoundHoldsAcrossShards) {
    auto s = make(EvictionPolicy::TinyLfu, 4096, 1ull << 30, 8);
    Counter c;
    s->set_listener(&c);
    s->set_events(true, 0);
    std::mt19937 rng(3);
    for (int i = 0; i < 40000; ++i) {
        // Zipf-like: small keys far more often.
        uint32_t k = static_cast<uint32_t>(rng() % 20000);
        k = k * k / 20000;
        access(*s, "k" + std::to_string(k));
        ASSERT_LE(s->size(), 4096u);
    }
    Stats st = s->stats();
    EXPECT_EQ(c.evicts, st.evictions_entries);
    EXPECT_GT(st.evictions_entries, 0u);
    EXPECT_EQ(st.entries, s->size());
    // What was evicted is gone, what is left is all there.
    size_t walked = 0;
    for (size_t i = 0; i < s->shard_count(); ++i)
        s->snapshot_shard(i, [&](std::string_view, Value* v, int64_t) {
            ++walked;
            value_unref(v);
        });
    EXPECT_EQ(walked, st.entries);
}

TEST_F(EvictionTest, FreeEntriesAndBytesSayWhatFitsBeforeEviction) {
    uint64_t max_bytes = 100 * Store::charge_estimate(4, 100);
    auto s = make(EvictionPolicy::TinyLfu, 50, max_bytes);
    EXPECT_EQ(s->free_entries(), 50u);
    EXPECT_EQ(s->free_bytes(), max_bytes);
    std::string v(100, 'x');
    for (int i = 0; i < 10; ++i) {
        std::string k = "k" + std::to_string(100 + i);
        s->put(k.data(), k.size(), v.data(), v.size(), next(), -1, -1);
    }
    EXPECT_EQ(s->free_entries(), 40u);
    EXPECT_EQ(s->free_bytes(), max_bytes - s->stats().bytes);
    // Exactly free_entries() more keys fit without an eviction.
    uint64_t room = s->free_entries();
    for (uint64_t i = 0; i < room; ++i) {
        std::string k = "m" + std::to_string(100 + i);
        s->put(k.data(), k.size(), v.data(), v.size(), next(), -1, -1);
    }
    EXPECT_EQ(s->stats().evictions_entries, 0u);
    EXPECT_EQ(s->free_entries(), 0u);
    s->put("one more", 8, v.data(), v.size(), next(), -1, -1);
    EXPECT_EQ(s->stats().evictions_entries, 1u);
}

TEST_F(EvictionTest, TimesAreExactNearTheVersionAndRoundedUpFarFromIt) {
    auto s = make(EvictionPolicy::TinyLfu, 100);
    // A TTL of 100 days: beyond the codec's exact range, kept in seconds.
    int64_t far = kStart + 100LL * 86'400'000 + 123;
    s->put("far", 3, "v", 1, next(), far, kStart);
    int64_t near = kStart + 5000 + 7;
    s->put("near", 4, "v", 1, next(), near, kStart);
    Metadata m;
    ASSERT_TRUE(s->metadata("near", 4, &m));
    EXPECT_EQ(m.expires_ms, near);
    EXPECT_EQ(m.created_ms, kStart);
    ASSERT_TRUE(s->metadata("far", 3, &m));
    EXPECT_GE(m.expires_ms, far);
    EXPECT_LT(m.expires_ms, far + 1000);
    EXPECT_EQ(m.expires_ms % 1000, entry::TimeCodec::kEpochMs % 1000);
    // A repair carries the exported expiry: the other member keeps the same.
    Store::Exported ex;
    ASSERT_TRUE(s->export_entry("far", 3, &ex));
    auto t = make(EvictionPolicy::TinyLfu, 100);
    t->apply("far", 3, ex.value, ex.version, ex.expires_ms, Origin::Repair);
    Metadata mt;
    ASSERT_TRUE(t->metadata("far", 3, &mt));
    EXPECT_EQ(mt.expires_ms, m.expires_ms);
}

TEST_F(EvictionTest, ManyWritersKeepTheirIdsAndChecksumsAgree) {
    // More distinct writer ids than the per-store table holds: the rest
    // keep theirs in the block.
    auto a = make(EvictionPolicy::TinyLfu, 10000);
    auto b = make(EvictionPolicy::Lru, 10000, 1ull << 30, 4);
    std::vector<std::pair<std::string, Version>> writes;
    for (uint64_t w = 0; w < 2500; ++w)
        writes.emplace_back("k" + std::to_string(w), Version{++hlc, 0x1000 + w * 7919});
    for (auto& [k, v] : writes) a->apply(k.data(), k.size(), value_new("x", 1), v, -1, Origin::Remote);
    for (auto it = writes.rbegin(); it != writes.rend(); ++it)
        b->apply(it->first.data(), it->first.size(), value_new("x", 1), it->second, -1, Origin::Remote);
    EXPECT_EQ(a->checksum(), b->checksum());
    for (auto& [k, v] : writes) {
        Metadata m;
        ASSERT_TRUE(a->metadata(k.data(), k.size(), &m)) << k;
        EXPECT_EQ(m.version, v) << k;
    }
}

TEST_F(EvictionTest, AHeldValueSurvivesEvictionAndUpdatesAreCopiedAroundIt) {
    auto s = make(EvictionPolicy::TinyLfu, 10);
    s->put("held", 4, "first", 5, next(), -1, -1);
    Value* held = s->get("held", 4);
    ASSERT_NE(held, nullptr);
    // An update while held must not touch the held bytes.
    s->put("held", 4, "other", 5, next(), -1, -1);
    for (int i = 0; i < 200; ++i) access(*s, "x" + std::to_string(i));
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(held->bytes()), held->len), "first");
    value_unref(held);
}

TEST_F(EvictionTest, AnInPlaceUpdateMovesTheKeyWithTheValueLength) {
    auto s = make(EvictionPolicy::TinyLfu, 10);
    std::string key = "a-key-of-some-length";
    for (size_t n : {40u, 44u, 36u, 47u, 33u, 40u}) {
        std::string v(n, static_cast<char>('a' + n % 26));
        s->put(key.data(), key.size(), v.data(), v.size(), next(), -1, -1);
        Value* got = s->get(key.data(), key.size());
        ASSERT_NE(got, nullptr);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(got->bytes()), got->len), v);
        value_unref(got);
        EXPECT_EQ(s->size(), 1u);
    }
}

TEST_F(EvictionTest, TimesAnEntrySharesWithItsVersionCostNoBytesAndTheOthersReadBackExactly) {
    Limits limits;
    limits.max_entries = 1000;
    limits.default_ttl_ms = 60'000;
    limits.tombstone_ttl_ms = 10'000;
    Store s("t", limits, clock);
    std::string v(100, 'v');
    // A local write: updated at its version's time, created then, expiring
    // after the default TTL. Charged exactly the estimate: no trailer.
    Version v1 = next();
    int64_t t1 = hlc_ms(v1.hlc);
    s.put("local", 5, v.data(), v.size(), v1, t1 + 60'000, t1);
    Metadata m;
    ASSERT_TRUE(s.metadata("local", 5, &m));
    EXPECT_EQ(m.created_ms, t1);
    EXPECT_EQ(m.updated_ms, t1);
    EXPECT_EQ(m.expires_ms, t1 + 60'000);
    EXPECT_EQ(m.charged_bytes, Store::charge_estimate(5, v.size()));
    // An update 30 s later: created stays, updated moves, the TTL is the key's own.
    clock.advance(30'000);
    hlc = hlc_pack(clock.now_ms(), 0);
    Version v2 = next();
    int64_t t2 = hlc_ms(v2.hlc);
    s.put("local", 5, v.data(), v.size(), v2, t2 + 1234, t2);
    ASSERT_TRUE(s.metadata("local", 5, &m));
    EXPECT_EQ(m.version, v2);
    EXPECT_EQ(m.created_ms, t1);
    EXPECT_EQ(m.updated_ms, t2);
    EXPECT_EQ(m.expires_ms, t2 + 1234);
    EXPECT_GT(m.charged_bytes, Store::charge_estimate(5, v.size()));
    // A remote write stored 250 ms after it was made, with no expiry.
    Version v3 = next(7);
    s.apply("remote", 6, value_new(v.data(), v.size()), v3, -1, Origin::Remote, false, hlc_ms(v3.hlc) + 250);
    ASSERT_TRUE(s.metadata("remote", 6, &m));
    EXPECT_EQ(m.version, v3);
    EXPECT_EQ(m.updated_ms, hlc_ms(v3.hlc) + 250);
    EXPECT_EQ(m.created_ms, hlc_ms(v3.hlc) + 250);
    EXPECT_EQ(m.expires_ms, -1);
    // Read back after other writes moved blocks about: nothing drifted.
    for (int i = 0; i < 200; ++i) {
        std::string k = "other" + std::to_string(i);
        s.put(k.data(), k.size(), v.data(), v.size(), next(), -1, -1);
    }
    ASSERT_TRUE(s.metadata("local", 5, &m));
    EXPECT_EQ(m.created_ms, t1);
    EXPECT_EQ(m.updated_ms, t2);
    EXPECT_EQ(m.expires_ms, t2 + 1234);
    // A tombstone expires the tombstone TTL after its delete's version,
    // whichever way it keeps it: the store collects it then and not before.
    bool live = false;
    Version v4 = next();
    EXPECT_EQ(s.remove("local", 5, v4, Origin::Local, &live), Applied::Updated);
    EXPECT_TRUE(live);
    clock.set(hlc_ms(v4.hlc) + 10'000 - 1);
    s.housekeep();
    EXPECT_EQ(s.stats().tombstones, 1u);
    clock.set(hlc_ms(v4.hlc) + 10'000);
    s.housekeep();
    EXPECT_EQ(s.stats().tombstones, 0u);
}

TEST_F(EvictionTest, UpdatesThatChangeTheBlockLayoutInPlaceKeepTheBytesAndTheCharge) {
    // Values and times whose trailers come and go: each write either fits
    // the block it replaces or moves to a new one; the bytes charged always
    // add up to what the entries hold.
    auto s = make(EvictionPolicy::TinyLfu, 100);
    std::mt19937 rng(11);
    std::string key = "k";
    for (int i = 0; i < 500; ++i) {
        size_t n = rng() % 400;
        std::string v(n, static_cast<char>('a' + i % 26));
        Version ver = next(rng() % 2 ? 1 : 300 + rng() % 1000);  // some writers escape the table
        int64_t now = hlc_ms(ver.hlc) + (rng() % 3 == 0 ? 500 : 0);
        int64_t exp = rng() % 2 ? -1 : now + 100'000;
        s->put(key.data(), key.size(), v.data(), v.size(), ver, exp, now);
        Value* got = s->get(key.data(), key.size());
        ASSERT_NE(got, nullptr);
        ASSERT_EQ(std::string(reinterpret_cast<const char*>(got->bytes()), got->len), v);
        value_unref(got);
        Metadata m;
        ASSERT_TRUE(s->metadata(key.data(), key.size(), &m));
        EXPECT_EQ(m.version, ver);
        EXPECT_EQ(m.updated_ms, now);
        EXPECT_EQ(m.expires_ms, exp);
        EXPECT_EQ(m.charged_bytes, s->stats().bytes);
    }
}
