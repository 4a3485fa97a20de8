// White-box tests of the store, on a hand-driven clock.
#include "store/store.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

using namespace mccache::store;

namespace {

constexpr int64_t kStart = 1'700'000'000'000;

struct Recorder : ChangeListener {
    struct Rec {
        EventType type;
        Origin origin;
        std::string key;
        std::string value;
        Version version;
    };
    std::vector<Rec> events;
    void on_change(const Change& c) override {
        events.push_back({c.type, c.origin, std::string(c.key),
                          c.value ? std::string(reinterpret_cast<const char*>(c.value->bytes()),
                                                c.value->len)
                                  : std::string(),
                          c.version});
    }
};

class StoreTest : public ::testing::Test {
protected:
    ManualClock clock{kStart};
    Limits limits;
    uint64_t hlc = hlc_pack(kStart, 0);

    std::unique_ptr<Store> make(uint64_t max_entries = 1000, uint64_t max_bytes = 1 << 20) {
        limits.max_entries = max_entries;
        limits.max_bytes = max_bytes;
        limits.tombstone_ttl_ms = 10'000;
        return std::make_unique<Store>("t", limits, clock);
    }

    Version next(uint64_t node = 1) { return Version{++hlc, node}; }

    static Applied put(Store& s, const std::string& k, const std::string& v, Version ver,
                       int64_t expires = -1, bool only_if_present = false) {
        return s.apply(k.data(), k.size(), value_new(v.data(), v.size()), ver, expires,
                       Origin::Local, only_if_present);
    }

    static std::string get(Store& s, const std::string& k) {
        Value* v = s.get(k.data(), k.size());
        if (!v) return "<miss>";
        std::string out(reinterpret_cast<const char*>(v->bytes()), v->len);
        value_unref(v);
        return out;
    }
};

TEST_F(StoreTest, PutGetUpdate) {
    auto s = make();
    EXPECT_EQ(get(*s, "a"), "<miss>");
    EXPECT_EQ(put(*s, "a", "1", next()), Applied::Inserted);
    EXPECT_EQ(get(*s, "a"), "1");
    EXPECT_EQ(put(*s, "a", "2", next()), Applied::Updated);
    EXPECT_EQ(get(*s, "a"), "2");
    EXPECT_EQ(s->size(), 1u);
    Stats st = s->stats();
    EXPECT_EQ(st.inserts, 1u);
    EXPECT_EQ(st.updates, 1u);
    EXPECT_EQ(st.hits, 2u);
    EXPECT_EQ(st.misses, 1u);
}

TEST_F(StoreTest, BinaryKeysWithNulBytesAreDistinct) {
    auto s = make();
    std::string k1("a\0b", 3), k2("a\0c", 3), k3("a", 1);
    put(*s, k1, "1", next());
    put(*s, k2, "2", next());
    put(*s, k3, "3", next());
    EXPECT_EQ(get(*s, k1), "1");
    EXPECT_EQ(get(*s, k2), "2");
    EXPECT_EQ(get(*s, k3), "3");
}

TEST_F(StoreTest, OlderOrEqualVersionIsStale) {
    auto s = make();
    Version v5{5000, 1}, v4{4000, 9}, v5b{5000, 2}, v5a{5000, 0};
    EXPECT_EQ(put(*s, "k", "new", v5), Applied::Inserted);
    EXPECT_EQ(put(*s, "k", "old", v4), Applied::Stale);
    EXPECT_EQ(put(*s, "k", "same", v5), Applied::Stale);
    EXPECT_EQ(put(*s, "k", "lower node", v5a), Applied::Stale);
    EXPECT_EQ(get(*s, "k"), "new");
    // Equal clocks: the higher node id wins, everywhere.
    EXPECT_EQ(put(*s, "k", "tie", v5b), Applied::Updated);
    EXPECT_EQ(get(*s, "k"), "tie");
    EXPECT_EQ(s->stats().stale_writes, 3u);
}

TEST_F(StoreTest, ConvergesWhateverTheOrderOfWrites) {
    std::vector<std::tuple<std::string, std::string, Version>> writes;
    for (int i = 0; i < 200; ++i)
        writes.emplace_back("k" + std::to_string(i % 37), "v" + std::to_string(i),
                            Version{static_cast<uint64_t>(1000 + (i * 7919) % 503),
                                    static_cast<uint64_t>(i % 3 + 1)});
    auto a = make(), b = make();
    for (auto& [k, v, ver] : writes) put(*a, k, v, ver);
    std::mt19937 rng(42);
    std::shuffle(writes.begin(), writes.end(), rng);
    for (auto& [k, v, ver] : writes) put(*b, k, v, ver);
    EXPECT_EQ(a->size(), b->size());
    EXPECT_EQ(a->checksum(), b->checksum());
    for (int i = 0; i < 37; ++i) {
        std::string k = "k" + std::to_string(i);
        EXPECT_EQ(get(*a, k), get(*b, k)) << k;
    }
}

TEST_F(StoreTest, DeleteLeavesTombstoneThatBeatsDelayedOlderWrite) {
    auto s = make();
    Version put_v = next(), del_v = next();
    put(*s, "k", "v", put_v);
    bool live = false;
    EXPECT_EQ(s->remove("k", 1, del_v, Origin::Local, &live), Applied::Updated);
    EXPECT_TRUE(live);
    EXPECT_EQ(get(*s, "k"), "<miss>");
    EXPECT_EQ(s->size(), 0u);
    EXPECT_EQ(s->stats().tombstones, 1u);
    // A write issued before the delete arrives late: it must not resurrect.
    EXPECT_EQ(put(*s, "k", "late", Version{put_v.hlc + 0, 7}), Applied::Stale);
    EXPECT_EQ(get(*s, "k"), "<miss>");
    // A newer write does.
    EXPECT_EQ(put(*s, "k", "again", next()), Applied::Inserted);
    EXPECT_EQ(get(*s, "k"), "again");
}

TEST_F(StoreTest, DeleteOfAbsentKeyStillWritesTombstone) {
    auto s = make();
    Version older = next(), del = next();
    bool live = true;
    s->remove("k", 1, del, Origin::Remote, &live);
    EXPECT_FALSE(live);
    EXPECT_EQ(put(*s, "k", "v", older), Applied::Stale);
    EXPECT_EQ(s->stats().tombstones, 1u);
}

TEST_F(StoreTest, TombstonesAreCollectedAfterTheirTtl) {
    auto s = make();
    put(*s, "k", "v", next());
    bool live;
    s->remove("k", 1, next(), Origin::Local, &live);
    uint64_t bytes_with_tomb = s->stats().bytes;
    EXPECT_GT(bytes_with_tomb, 0u);
    clock.advance(limits.tombstone_ttl_ms - 1);
    EXPECT_EQ(s->housekeep(), 0u);
    clock.advance(1);
    EXPECT_EQ(s->housekeep(), 1u);
    Stats st = s->stats();
    EXPECT_EQ(st.tombstones, 0u);
    EXPECT_EQ(st.bytes, 0u);
    EXPECT_EQ(st.tombstones_collected, 1u);
}

TEST_F(StoreTest, ExpiredEntryIsNeverReturned) {
    auto s = make();
    put(*s, "k", "v", next(), kStart + 100);
    clock.advance(99);
    EXPECT_EQ(get(*s, "k"), "v");
    EXPECT_TRUE(s->contains("k", 1));
    clock.advance(1);
    EXPECT_FALSE(s->contains("k", 1));
    Metadata m;
    EXPECT_FALSE(s->metadata("k", 1, &m));
    char buf[8];
    size_t len = sizeof buf;
    EXPECT_EQ(s->get_copy("k", 1, buf, &len), MCCACHE_ENOTFOUND);
    EXPECT_EQ(get(*s, "k"), "<miss>");
    Stats st = s->stats();
    EXPECT_EQ(st.entries, 0u);
    EXPECT_EQ(st.expirations, 1u);
    EXPECT_EQ(st.bytes, 0u);
}

TEST_F(StoreTest, HousekeeperExpiresWithoutAnyRead) {
    auto s = make();
    Recorder rec;
    s->set_listener(&rec);
    s->set_events(true, 0);
    for (int i = 0; i < 100; ++i) {
        std::string k = "k" + std::to_string(i);
        put(*s, k, "v", next(), kStart + (i < 50 ? 1000 : 5000));
    }
    put(*s, "forever", "v", next(), -1);
    rec.events.clear();
    clock.advance(1000);
    EXPECT_EQ(s->housekeep(), 50u);
    EXPECT_EQ(s->size(), 51u);
    EXPECT_EQ(rec.events.size(), 50u);
    for (auto& e : rec.events) EXPECT_EQ(e.type, EventType::Expire);
    clock.advance(10'000);
    EXPECT_EQ(s->housekeep(), 50u);
    EXPECT_EQ(s->size(), 1u);
    EXPECT_EQ(get(*s, "forever"), "v");
    EXPECT_EQ(s->stats().bytes, s->stats().entries ? s->stats().bytes : 0u);
}

TEST_F(StoreTest, ReadsCountAsUseForEvictionUnderLru) {
    limits.shards = 1;
    limits.policy = EvictionPolicy::Lru;
    auto s = make(4);
    for (auto k : {"a", "b", "c", "d"}) put(*s, k, "v", next());
    EXPECT_EQ(get(*s, "a"), "v");  // a is now recently used; b is the oldest unused
    put(*s, "e", "v", next());
    EXPECT_EQ(s->size(), 4u);
    EXPECT_TRUE(s->contains("a", 1));
    EXPECT_FALSE(s->contains("b", 1));
    EXPECT_TRUE(s->contains("e", 1));
    EXPECT_EQ(s->stats().evictions_entries, 1u);
}

TEST_F(StoreTest, UpdatingAFullCacheEvictsNothing) {
    // McCache evicted an unrelated entry when updating a key in a full cache.
    limits.shards = 1;
    auto s = make(3);
    for (auto k : {"a", "b", "c"}) put(*s, k, "v", next());
    put(*s, "b", "v2", next());
    EXPECT_EQ(s->size(), 3u);
    EXPECT_EQ(s->stats().evictions_entries, 0u);
}

TEST_F(StoreTest, ByteBudgetIsHonestAndEnforced) {
    limits.shards = 1;
    auto s = make(1'000'000, 64 * 1024);
    std::string value(1000, 'x');
    for (int i = 0; i < 200; ++i) put(*s, "key" + std::to_string(i), value, next());
    Stats st = s->stats();
    EXPECT_LE(st.bytes, 64u * 1024);
    EXPECT_GT(st.evictions_bytes, 0u);
    // Each entry is charged at least its key and value, plus overhead.
    uint64_t sum = 0;
    size_t live = 0;
    for (int i = 0; i < 200; ++i) {
        std::string k = "key" + std::to_string(i);
        Metadata m;
        if (!s->metadata(k.data(), k.size(), &m)) continue;
        ++live;
        EXPECT_GE(m.charged_bytes, k.size() + value.size() + 64);
        sum += m.charged_bytes;
    }
    EXPECT_EQ(live, st.entries);
    EXPECT_EQ(sum, st.bytes);
}

TEST_F(StoreTest, ChargedBytesMatchTheHeap) {
    // The charge must reflect what the allocators really hold, within the
    // slot-table amortisation: entry blocks come from the store's slab
    // (pages in use, headers and unused tails included) or, when too big
    // for it, from malloc, as do the tables.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "sanitizer allocators bypass mallinfo2; this runs in the plain build";
#endif
    for (size_t vlen : {size_t{100}, size_t{700}, size_t{3000}}) {
        auto s = make(1'000'000, 1ull << 30);
        struct mallinfo2 before = mallinfo2();
        uint64_t slab_before = s->slab_bytes();
        std::string value(vlen, 'v');
        for (int i = 0; i < 20000; ++i) {
            char key[16];
            std::snprintf(key, sizeof key, "key-%011d", i);
            put(*s, std::string(key, 16), value, next());
        }
        struct mallinfo2 after = mallinfo2();
        double heap = static_cast<double>(after.uordblks - before.uordblks) +
                      static_cast<double>(s->slab_bytes() - slab_before);
        double charged = static_cast<double>(s->stats().bytes);
        EXPECT_GT(charged, heap * 0.8) << "value " << vlen << " heap " << heap << " charged " << charged;
        EXPECT_LT(charged, heap * 1.25) << "value " << vlen << " heap " << heap << " charged " << charged;
    }
}

TEST_F(StoreTest, ClearIsVersioned) {
    auto s = make();
    put(*s, "a", "1", next());
    put(*s, "b", "1", next());
    Version clear_v = next();
    Version newer{clear_v.hlc + 1, 1};
    put(*s, "c", "1", newer);  // written after the clear's version: survives
    s->clear(clear_v, Origin::Local);
    EXPECT_EQ(s->size(), 1u);
    EXPECT_TRUE(s->contains("c", 1));
    // A delayed write older than the clear is refused.
    EXPECT_EQ(put(*s, "a", "late", Version{clear_v.hlc - 1, 5}), Applied::Stale);
    EXPECT_FALSE(s->contains("a", 1));
    EXPECT_EQ(s->clear_floor(), clear_v);
}

TEST_F(StoreTest, OnlyIfPresentAppliesToLiveKeysOnly) {
    auto s = make();
    EXPECT_EQ(put(*s, "k", "v", next(), -1, true), Applied::Absent);
    EXPECT_FALSE(s->contains("k", 1));
    put(*s, "k", "v", next());
    EXPECT_EQ(put(*s, "k", "v2", next(), -1, true), Applied::Updated);
    EXPECT_EQ(get(*s, "k"), "v2");
}

TEST_F(StoreTest, ChecksumIsIncrementalAndOrderIndependent) {
    auto s = make();
    EXPECT_EQ(s->checksum(), 0u);
    Version va = next(), vb = next();
    put(*s, "a", "1", va);
    uint64_t only_a = s->checksum();
    put(*s, "b", "2", vb);
    uint64_t ka, kb;
    ASSERT_TRUE(s->key_checksum("a", 1, &ka));
    ASSERT_TRUE(s->key_checksum("b", 1, &kb));
    EXPECT_EQ(s->checksum(), ka + kb);
    bool live;
    s->remove("b", 1, next(), Origin::Local, &live);
    EXPECT_EQ(s->checksum(), only_a);
    // Same key and value at another version: a different checksum.
    auto t = make();
    put(*t, "a", "1", Version{va.hlc, va.node + 1});
    EXPECT_NE(t->checksum(), only_a);
}

TEST_F(StoreTest, EventsCarryTypeOriginAndValue) {
    auto s = make();
    Recorder rec;
    s->set_listener(&rec);
    s->set_events(true, 0);
    put(*s, "k", "1", next());
    put(*s, "k", "2", next());
    s->apply("k", 1, value_new("3", 1), next(2), -1, Origin::Remote);
    bool live;
    s->remove("k", 1, next(), Origin::Local, &live);
    ASSERT_EQ(rec.events.size(), 4u);
    EXPECT_EQ(rec.events[0].type, EventType::Insert);
    EXPECT_EQ(rec.events[1].type, EventType::Update);
    EXPECT_EQ(rec.events[1].value, "2");
    EXPECT_EQ(rec.events[2].origin, Origin::Remote);
    EXPECT_EQ(rec.events[2].version.node, 2u);
    EXPECT_EQ(rec.events[3].type, EventType::Delete);
    EXPECT_EQ(rec.events[3].value, "3");
}

TEST_F(StoreTest, LookupWindowFiltersEvents) {
    auto s = make();
    Recorder rec;
    s->set_listener(&rec);
    s->set_events(true, 5000);
    put(*s, "read", "1", next());
    put(*s, "unread", "1", next());
    EXPECT_TRUE(rec.events.empty());  // neither was looked up
    get(*s, "read");
    clock.advance(1000);
    put(*s, "read", "2", next());
    put(*s, "unread", "2", next());
    ASSERT_EQ(rec.events.size(), 1u);
    EXPECT_EQ(rec.events[0].key, "read");
    clock.advance(6000);  // outside the window now
    put(*s, "read", "3", next());
    EXPECT_EQ(rec.events.size(), 1u);
}

TEST_F(StoreTest, ValueHeldByReaderSurvivesOverwriteAndDelete) {
    auto s = make();
    put(*s, "k", "original", next());
    Value* held = s->get("k", 1);
    ASSERT_NE(held, nullptr);
    put(*s, "k", "replaced", next());
    bool live;
    s->remove("k", 1, next(), Origin::Local, &live);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(held->bytes()), held->len), "original");
    value_unref(held);
}

TEST_F(StoreTest, GetCopyReportsNeededSize) {
    auto s = make();
    std::string big(10000, 'z');
    put(*s, "k", big, next());
    char small[10];
    size_t len = sizeof small;
    EXPECT_EQ(s->get_copy("k", 1, small, &len), MCCACHE_EBUFS);
    EXPECT_EQ(len, big.size());
    std::string buf(len, '\0');
    EXPECT_EQ(s->get_copy("k", 1, buf.data(), &len), MCCACHE_OK);
    EXPECT_EQ(buf, big);
    EXPECT_EQ(s->stats().hits, 1u);  // the EBUFS probe counted nothing
}

TEST_F(StoreTest, MetadataTracksLookups) {
    auto s = make();
    put(*s, "k", "v", next(), kStart + 60000);
    clock.advance(10);
    get(*s, "k");
    get(*s, "k");
    Metadata m;
    ASSERT_TRUE(s->metadata("k", 1, &m));
    EXPECT_EQ(m.lookups, 2u);
    EXPECT_EQ(m.last_lookup_ms, kStart + 10);
    EXPECT_EQ(m.created_ms, kStart);
    EXPECT_EQ(m.expires_ms, kStart + 60000);
    EXPECT_EQ(m.key_size, 1u);
    EXPECT_EQ(m.value_size, 1u);
    clock.advance(10);
    put(*s, "k", "v2", next(), -1);
    ASSERT_TRUE(s->metadata("k", 1, &m));
    EXPECT_EQ(m.created_ms, kStart);  // an update keeps the creation time
    EXPECT_EQ(m.updated_ms, kStart + 20);
    EXPECT_EQ(m.expires_ms, -1);
    EXPECT_EQ(m.lookups, 2u);
}

TEST_F(StoreTest, ManyKeysAcrossShardsSurviveGrowthAndDeletes) {
    limits.shards = 8;
    auto s = make(1'000'000, 1ull << 30);
    std::map<std::string, std::string> model;
    std::mt19937 rng(7);
    for (int i = 0; i < 50000; ++i) {
        std::string k = "k" + std::to_string(rng() % 20000);
        if (rng() % 4 == 0) {
            bool live;
            s->remove(k.data(), k.size(), next(), Origin::Local, &live);
            EXPECT_EQ(live, model.erase(k) == 1);
        } else {
            std::string v = std::to_string(i);
            put(*s, k, v, next());
            model[k] = v;
        }
    }
    EXPECT_EQ(s->size(), model.size());
    for (auto& [k, v] : model) ASSERT_EQ(get(*s, k), v) << k;
    size_t seen = 0;
    for (size_t i = 0; i < s->shard_count(); ++i)
        s->snapshot_shard(i, [&](std::string_view k, Value* v, int64_t) {
            ++seen;
            EXPECT_EQ(model.count(std::string(k)), 1u);
            value_unref(v);
        });
    EXPECT_EQ(seen, model.size());
}

TEST_F(StoreTest, BucketDigestsAgreeAcrossStoresAndCoverTombstones) {
    auto a = make(), b = make();
    std::vector<std::pair<std::string, Version>> writes;
    for (int i = 0; i < 300; ++i) writes.emplace_back("k" + std::to_string(i), next());
    Version del = next();
    for (auto& [k, v] : writes) put(*a, k, "v", v);
    for (auto it = writes.rbegin(); it != writes.rend(); ++it) put(*b, it->first, "v", it->second);
    bool live;
    a->remove("k7", 2, del, Origin::Local, &live);
    std::vector<uint64_t> da(Store::kBuckets), db(Store::kBuckets);
    a->bucket_digests(da.data());
    b->bucket_digests(db.data());
    size_t bucket = Store::bucket_of("k7", 2);
    for (size_t i = 0; i < Store::kBuckets; ++i) {
        if (i == bucket) EXPECT_NE(da[i], db[i]);
        else EXPECT_EQ(da[i], db[i]) << i;
    }
    // The tombstone is listed, so the delete can be repaired elsewhere.
    bool found = false;
    for (auto& kv : a->list_bucket(bucket))
        if (kv.key == "k7") {
            found = true;
            EXPECT_TRUE(kv.tombstone);
            EXPECT_EQ(kv.version, del);
        }
    EXPECT_TRUE(found);
    b->remove("k7", 2, del, Origin::Remote, &live);
    b->bucket_digests(db.data());
    EXPECT_EQ(da, db);
    Store::Exported ex;
    ASSERT_TRUE(a->export_entry("k7", 2, &ex));
    EXPECT_EQ(ex.value, nullptr);
    EXPECT_EQ(ex.version, del);
    ASSERT_TRUE(a->export_entry("k8", 2, &ex));
    EXPECT_NE(ex.value, nullptr);
    value_unref(ex.value);
}

TEST_F(StoreTest, TombstoneExpiryIsAbsoluteFromTheDeleteVersion) {
    auto s = make();
    // A delete written 9 s ago (by its version) reaches us now: its tombstone
    // must be collected when everyone else collects it, 1 s from now.
    Version old_delete{hlc_pack(kStart - 9000, 0), 4};
    bool live;
    s->remove("k", 1, old_delete, Origin::Remote, &live);
    clock.advance(999);
    EXPECT_EQ(s->housekeep(), 0u);
    clock.advance(1);
    EXPECT_EQ(s->housekeep(), 1u);
}

TEST(HlcTest, MonotonicAndAdvancedByObservation) {
    ManualClock clock(kStart);
    Hlc hlc(clock);
    uint64_t a = hlc.tick();
    uint64_t b = hlc.tick();
    EXPECT_GT(b, a);
    EXPECT_EQ(hlc_ms(a), kStart);
    EXPECT_EQ(hlc_logical(b), 1);
    // A clock that steps back never makes versions go back.
    clock.set(kStart - 5000);
    EXPECT_GT(hlc.tick(), b);
    // A remote version from a node with a fast clock pulls ours ahead.
    uint64_t remote = hlc_pack(kStart + 60000, 3);
    hlc.observe(remote);
    EXPECT_GT(hlc.tick(), remote);
    clock.set(kStart + 120000);
    EXPECT_EQ(hlc_ms(hlc.tick()), kStart + 120000);
}

}  // namespace

TEST(ValueHash, IsXxh3AtEverySizeWhicheverLoopComputesIt) {
    // Long values go to libxxhash's AVX2/AVX-512 dispatch, short ones to the
    // inline code: both must be the XXH3-64 every member computes, or
    // checksums would differ between members on different CPUs.
    std::mt19937_64 rng(7);
    std::string data(70000, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    for (size_t n : {0, 1, 16, 17, 128, 129, 240, 241, 511, 512, 513, 1024, 4096, 65536, 70000})
        EXPECT_EQ(value_hash(data.data(), n), XXH3_64bits(data.data(), n)) << n << " bytes";
    // A known answer, so that the reference itself is pinned too.
    EXPECT_EQ(value_hash("", 0), 0x2D06800538D394C2ull);
}
