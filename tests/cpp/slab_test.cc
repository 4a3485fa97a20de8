// The store's slab: size classes, reuse, pages given back, blocks freed on
// other threads and after the store is gone.
#include "store/slab.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

using namespace mccache::store;

namespace {

struct SlabHandle {
    Slab* slab = Slab::create();
    ~SlabHandle() { slab->release(); }
};

TEST(Slab, EverySizeGetsAnAlignedBlockOfItsClass) {
    SlabHandle h;
    std::vector<std::pair<void*, size_t>> blocks;
    for (size_t n = 1; n <= Slab::kMaxBlock; ++n) {
        size_t c = Slab::class_size(n);
        ASSERT_GE(c, n);
        ASSERT_LT(c - n, n <= 256 ? 4u : n <= 512 ? 8u : 16u) << n;
        void* p = h.slab->alloc(n);
        ASSERT_NE(p, nullptr);
        ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 4, 0u);
        std::memset(p, static_cast<int>(n & 0xff), c);  // the whole class is the caller's
        blocks.emplace_back(p, n);
    }
    // No block overlaps another: each still holds its own pattern.
    for (auto& [p, n] : blocks) {
        auto* b = static_cast<unsigned char*>(p);
        for (size_t i = 0; i < Slab::class_size(n); ++i) ASSERT_EQ(b[i], n & 0xff) << n;
    }
    EXPECT_GT(h.slab->page_bytes(), 0u);
    for (auto& [p, n] : blocks) Slab::free(p);
    EXPECT_EQ(h.slab->page_bytes(), 0u);
}

TEST(Slab, FreedBlocksAreReusedAndEmptyPagesGoBack) {
    SlabHandle h;
    // Enough 156-byte blocks for many pages, so that emptying them passes
    // the few the slab keeps warm.
    std::vector<void*> blocks;
    for (int i = 0; i < 20000; ++i) blocks.push_back(h.slab->alloc(156));
    uint64_t full = h.slab->page_bytes();
    EXPECT_GE(full, 20000u * 156);
    EXPECT_LT(full, 20000u * 156 * 103 / 100) << "page headers and tails cost more than 3 %";
    for (size_t i = 0; i < blocks.size(); i += 2) Slab::free(blocks[i]);
    EXPECT_EQ(h.slab->page_bytes(), full) << "every page still holds a block";
    for (size_t i = 0; i < blocks.size(); i += 2) blocks[i] = h.slab->alloc(156);
    EXPECT_EQ(h.slab->page_bytes(), full) << "the freed blocks were not reused";
    for (void* p : blocks) Slab::free(p);
    EXPECT_EQ(h.slab->page_bytes(), 0u);
    // Pages given back (some of them to the system) serve again.
    for (int i = 0; i < 20000; ++i) blocks[static_cast<size_t>(i)] = h.slab->alloc(156);
    EXPECT_EQ(h.slab->page_bytes(), full);
    for (void* p : blocks) Slab::free(p);
}

TEST(Slab, BlocksFreedOnOtherThreadsWhileOthersAllocate) {
    SlabHandle h;
    constexpr int kThreads = 4, kRounds = 20000;
    std::atomic<bool> bad{false};
    std::vector<std::thread> threads;
    // Each thread hands blocks to the next, which checks and frees them.
    std::vector<std::vector<std::atomic<void*>>> mailbox(kThreads);
    for (auto& m : mailbox) m = std::vector<std::atomic<void*>>(64);
    auto check_and_free = [&](void* block) {
        auto* q = static_cast<unsigned char*>(block);
        size_t m = q[0];
        if (q[1] < 1 || q[1] > kThreads) bad = true;
        for (size_t i = 2; i < m; ++i)
            if (q[i] != q[1]) bad = true;
        Slab::free(block);
    };
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t) + 1);
            auto& inbox = mailbox[static_cast<size_t>(t)];
            auto& outbox = mailbox[static_cast<size_t>((t + 1) % kThreads)];
            for (int r = 0; r < kRounds; ++r) {
                size_t n = 40 + rng() % 200;
                auto* p = static_cast<unsigned char*>(h.slab->alloc(n));
                std::memset(p, t + 1, n);
                p[0] = static_cast<unsigned char>(n);
                if (void* prev = outbox[rng() % 64].exchange(p)) check_and_free(prev);
                if (void* got = inbox[rng() % 64].exchange(nullptr)) check_and_free(got);
            }
        });
    }
    for (auto& th : threads) th.join();
    for (auto& m : mailbox)
        for (auto& slot : m)
            if (void* p = slot.exchange(nullptr)) check_and_free(p);
    EXPECT_FALSE(bad.load()) << "a block was handed out twice";
    EXPECT_EQ(h.slab->page_bytes(), 0u);
}

TEST(Slab, MemoryMappedAgainWhereASlabWasIsClean) {
    // A slab poisons free blocks for ASan; once it is gone, whatever the
    // system maps at its addresses next (a thread's stack, say) must not
    // read as poisoned.
    Slab* slab = Slab::create();
    void* p = slab->alloc(100);
    ASSERT_NE(p, nullptr);
    Slab::free(p);
    slab->release();
    auto page = reinterpret_cast<uintptr_t>(p) & ~(uintptr_t{Slab::kPageBytes} - 1);
    void* again = mmap(reinterpret_cast<void*>(page), Slab::kPageBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ASSERT_EQ(again, reinterpret_cast<void*>(page)) << "the slab's range was not unmapped";
    std::memset(again, 1, Slab::kPageBytes);
    EXPECT_EQ(static_cast<unsigned char*>(again)[Slab::kPageBytes - 1], 1);
    munmap(again, Slab::kPageBytes);
}

TEST(Slab, AValueOutlivesItsStore) {
    ManualClock clock{1'700'000'000'000};
    Limits limits;
    limits.max_entries = 1000;
    auto store = std::make_unique<Store>("s", limits, clock);
    uint64_t hlc = hlc_pack(1'700'000'000'000, 0);
    std::string big(5000, 'b');  // from malloc, not the slab
    store->put("small", 5, "a value", 7, Version{++hlc, 1}, -1, -1);
    store->put("big", 3, big.data(), big.size(), Version{++hlc, 1}, -1, -1);
    Value* small = store->get("small", 5);
    Value* large = store->get("big", 3);
    ASSERT_NE(small, nullptr);
    ASSERT_NE(large, nullptr);
    store.reset();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(small->bytes()), small->len), "a value");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(large->bytes()), large->len), big);
    // Released on another thread, as a reader might; the slab goes with it
    // (ASan's leak check fails the test otherwise).
    std::thread([&] {
        value_unref(small);
        value_unref(large);
    }).join();
}

}  // namespace
