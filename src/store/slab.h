// The store's allocator for entry blocks of up to kMaxBlock bytes: size
// classes 4 bytes apart (8 and 16 higher up) in 16 KiB pages, with no header
// per block. A 40-byte entry header with a 16-byte key and a 100-byte value
// takes 156 bytes here, where malloc would take a 176-byte chunk.
//
// One Slab per store, shared by its shards. A block is freed from whatever
// thread drops the last reference to it (a reader may hold a value after
// the store is gone), so a page finds its slab from the block's address
// (pages are aligned to their size), and the slab lives until the store
// and its last block are gone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "store/spinlock.h"

namespace mccache::store {

// Size classes: 4-byte steps to 256, 8-byte to 512, 16-byte to 1024.
constexpr size_t slab_class_of(size_t n) {
    if (n <= 256) return (n + 3) / 4;
    if (n <= 512) return 64 + (n - 256 + 7) / 8;
    return 96 + (n - 512 + 15) / 16;
}
constexpr size_t slab_size_of(size_t c) {
    if (c <= 64) return c * 4;
    if (c <= 96) return 256 + (c - 64) * 8;
    return 512 + (c - 96) * 16;
}

class Slab {
public:
    static constexpr size_t kPageBytes = 16384;
    static constexpr size_t kMaxBlock = 1024;

    // The store's reference; release() drops it.
    static Slab* create();
    void release() { unref(); }

    static constexpr bool fits(size_t n) { return n <= kMaxBlock; }
    // What a block of n bytes (n <= kMaxBlock) really occupies.
    static constexpr size_t class_size(size_t n) { return size_of(class_of(n)); }

    // A block of class_size(n) bytes, 4-byte aligned, or nullptr when out of memory.
    void* alloc(size_t n);
    // From any thread.
    static void free(void* p);

    // Bytes of pages that hold at least one block: what the slab keeps
    // from the system for its blocks, headers and unused tails included.
    uint64_t page_bytes() const {
        return pages_in_use_.load(std::memory_order_relaxed) * uint64_t{kPageBytes};
    }

private:
    struct Page;
    struct alignas(64) Class {
        SpinLock lock;
        Page* partial = nullptr;  // pages with a free block
    };
    static constexpr size_t class_of(size_t n) { return slab_class_of(n); }
    static constexpr size_t size_of(size_t c) { return slab_size_of(c); }
    static constexpr size_t kClasses = slab_class_of(kMaxBlock) + 1;

    Slab() = default;
    ~Slab();
    void unref();
    Page* take_page(uint16_t cls);
    void give_page(Page* p);

    Class classes_[kClasses];
    SpinLock pages_lock_;
    Page* empty_ = nullptr;  // pages without blocks, kept for reuse
    size_t empty_count_ = 0;
    char* carve_ = nullptr;  // the rest of the newest segment
    char* carve_end_ = nullptr;
    std::vector<void*> segments_;
    std::atomic<uint64_t> pages_in_use_{0};
    // The store's reference and one per live block.
    std::atomic<uint64_t> refs_{1};
};

}  // namespace mccache::store
