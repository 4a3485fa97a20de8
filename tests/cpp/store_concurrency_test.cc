// Many threads on one store: no lost updates of the bookkeeping, bounds
// held, and every value a reader gets is intact. Runs under TSan in CI.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

using namespace mccache::store;

namespace {

// The value of key k is k repeated: a reader can check what it got.
std::string value_for(const std::string& key, unsigned round) {
    std::string v = key + "#" + std::to_string(round) + "#";
    while (v.size() < 40 + (round % 200)) v += key;
    return v;
}

bool intact(const std::string& key, const Value* v) {
    std::string s(reinterpret_cast<const char*>(v->bytes()), v->len);
    return s.rfind(key + "#", 0) == 0;
}

TEST(StoreConcurrency, MixedOperationsKeepInvariants) {
    const Clock& clock = SystemClock::instance();
    Limits limits;
    limits.max_entries = 2000;
    limits.max_bytes = 512 * 1024;
    limits.shards = 4;
    Store store("c", limits, clock);
    Hlc hlc(clock);
    std::atomic<bool> bad{false};
    std::atomic<uint64_t> ops{0};
    const int kThreads = 4;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(t * 7919 + 1);
            for (int i = 0; i < 40000; ++i) {
                std::string key = "key" + std::to_string(rng() % 5000);
                unsigned op = rng() % 100;
                if (op < 55) {
                    if (Value* v = store.get(key.data(), key.size())) {
                        if (!intact(key, v)) bad = true;
                        value_unref(v);
                    }
                } else if (op < 90) {
                    std::string val = value_for(key, static_cast<unsigned>(i));
                    store.apply(key.data(), key.size(), value_new(val.data(), val.size()),
                                Version{hlc.tick(), static_cast<uint64_t>(t + 1)},
                                i % 3 ? -1 : clock.now_ms() + (rng() % 20), Origin::Local);
                } else if (op < 98) {
                    bool live;
                    store.remove(key.data(), key.size(),
                                 Version{hlc.tick(), static_cast<uint64_t>(t + 1)}, Origin::Local,
                                 &live);
                } else {
                    store.housekeep();
                }
                ops.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    // A reader of the aggregate views while writers run.
    std::thread observer([&] {
        while (ops.load() < kThreads * 40000u) {
            (void)store.stats();
            (void)store.checksum();
            size_t n = 0;
            for (size_t i = 0; i < store.shard_count(); ++i)
                store.snapshot_shard(i, [&](std::string_view k, Value* v, int64_t) {
                    if (!intact(std::string(k), v)) bad = true;
                    value_unref(v);
                    ++n;
                });
            std::this_thread::yield();
        }
    });
    for (auto& th : threads) th.join();
    observer.join();
    EXPECT_FALSE(bad.load()) << "a reader saw a value that does not belong to its key";

    Stats st = store.stats();
    EXPECT_LE(st.entries, limits.max_entries);
    EXPECT_LE(st.bytes, limits.max_bytes);
    EXPECT_EQ(st.entries, store.size());
    // The per-shard figures must add up to what a full walk finds.
    uint64_t walked = 0, sum = 0;
    for (size_t i = 0; i < store.shard_count(); ++i)
        store.snapshot_shard(i, [&](std::string_view k, Value* v, int64_t) {
            uint64_t c;
            if (store.key_checksum(k.data(), k.size(), &c)) {
                ++walked;
                sum += c;
            }
            value_unref(v);
        });
    store.housekeep();
    // Entries that expired between the walk and now are not in either view.
    EXPECT_GE(walked, store.size());
    if (walked == store.size()) {
        EXPECT_EQ(sum, store.checksum());
    }
}

}  // namespace
