// One shard of a store: a hash table of entry blocks, the eviction policy's
// lists over them, and the anti-entropy bucket lists, all under one spinlock.
//
// Table: open addressing, linear probing, backward-shift deletion, at most
// 3/4 full. Its size is 4 or 6 times a power of two, so that it grows by
// 33-50 % at a time and stays 50-75 % full (a power-of-two table is 37-75 %
// full: 16.8 slot bytes per entry at a million entries against 12.6). A
// key's home slot is its tag scaled to the size (multiply and shift). A slot is 8 bytes: the block's address (4-byte aligned, below
// 2^47) and the top 19 bits of the low half of the key's keyed tag, which
// give its home slot and a filter before the key compare. Lists link blocks
// by slot index (24 bits in the block), so when deletion shifts a block to
// another slot its neighbours are patched (relink); the policy's cursors are
// too.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "store/entry.h"
#include "store/sketch.h"
#include "store/spinlock.h"
#include "store/store.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mccache::store {

using entry::Block;
using entry::kNil;

// Written only under the shard lock, read by anyone: a relaxed load and
// store instead of a locked read-modify-write keeps the hit path cheap.
struct Counter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
    uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// An entry's share of the table: 8 bytes over its fill, which runs from
// 50 or 56 % after each growth to 75 % before the next (12.6 on average).
constexpr uint64_t kSlotCharge = Store::kSlotCharge;
// The bytes an entry is charged: its block as the allocator holds it, and
// its share of the table. The one place that decides it.
inline uint64_t charge_of(const Block* b) { return entry::heap_bytes(b) + kSlotCharge; }

struct List {
    uint32_t head = kNil, tail = kNil;
    uint64_t count = 0, bytes = 0;
};

// Removes entries for the policy's evict loop; implemented by the store.
class Evictor {
public:
    virtual bool over() = 0;        // still over either budget
    virtual bool bytes_over() = 0;  // over the byte budget
    virtual void evict(uint32_t index) = 0;

protected:
    ~Evictor() = default;
};

struct alignas(64) Store::Shard {
    SpinLock lock;

    // ---- table ----
    uint64_t* slots = nullptr;
    uint32_t cap = 0;   // slots
    uint32_t used = 0;  // live entries and tombstones
    uint64_t seed = 0;  // the store's, to recompute a tag (tables over 2^19 slots)

    static constexpr unsigned kTagBits = 19;
    static constexpr uint64_t kTagMask = (uint64_t{1} << kTagBits) - 1;
    static constexpr unsigned kPtrBits = 64 - kTagBits;
    static constexpr uint64_t kPtrMask = (uint64_t{1} << kPtrBits) - 1;

    static uint64_t tag_bits(uint64_t tag) { return static_cast<uint32_t>(tag) >> (32 - kTagBits); }
    Block* at(uint32_t i) const { return reinterpret_cast<Block*>((slots[i] & kPtrMask) << 2); }
    static uint64_t slot_of(uint64_t tag, const Block* b) {
        return (tag_bits(tag) << kPtrBits) | (reinterpret_cast<uintptr_t>(b) >> 2);
    }
    // Whether this block's address fits a slot.
    static bool addressable(const void* p) {
        auto u = reinterpret_cast<uintptr_t>(p);
        return (u & 3) == 0 && (u >> (kPtrBits + 2)) == 0;
    }
    // The home slot of a tag in a table of `n` slots. Up to 2^19 slots the
    // slot's own 19 bits decide, so that deletion and growth need not
    // rehash the key.
    static uint32_t home(uint64_t tag, uint32_t n) {
        if (n <= (uint32_t{1} << kTagBits)) return static_cast<uint32_t>((tag_bits(tag) * n) >> kTagBits);
        return static_cast<uint32_t>((uint64_t{static_cast<uint32_t>(tag)} * n) >> 32);
    }
    uint32_t next(uint32_t i) const { return i + 1 == cap ? 0 : i + 1; }
    uint32_t find(uint64_t tag, const void* key, size_t klen) const;
    // Places a new block; grows the table first if needed. False when out of memory.
    bool insert(uint64_t tag, Block* b, uint32_t* index);
    void erase(uint32_t i);
    void replace(uint32_t i, Block* b) { slots[i] = (slots[i] & ~kPtrMask) | (reinterpret_cast<uintptr_t>(b) >> 2); }
    uint32_t home_of(uint32_t i) const;
    uint64_t tag_of_block(const Block* b) const;
    bool grow();
    void free_slots();

    // A block moved from slot `from` to `to`: patch its list neighbours and
    // every index the shard is holding.
    void relink(uint32_t from, uint32_t to);

    // ---- policy (policy.cc) ----
    List lists[4];  // entry::Seg: window, probation, protected, tombstones
    bool tinylfu = true;
    uint64_t cap_e = 1, cap_b = 1;    // this shard's share of the budgets
    double bytes_per_entry = 1;       // cap_b / cap_e
    int64_t window_max = 0, protected_max = 0;  // in entries; bytes pro rata
    FrequencySketch sketch;
    // The hill climber (Caffeine's ReactiveClimber).
    double step = 0, prev_hit_rate = 0;
    uint64_t sample_hits = 0, sample_misses = 0;
    int64_t adjustment = 0;
    uint32_t rng = 0x9e3779b9u;
    // Indices held across evictions; relink keeps them true.
    uint32_t cand = kNil, vict = kNil, keep = kNil;
    // Reads recorded by get() under the lock, replayed into the policy in a
    // batch by the next write, by the housekeeper, or when full. Off until
    // the shard is half full (the order of a cache far from its bound does
    // not matter yet), as in Caffeine. 16 reads, as Caffeine's ring: the
    // reader that fills it drains it while holding the shard lock, so other
    // readers of the shard wait for the batch; with 64, two threads reading
    // a full 10 000-entry cache waited 3 us a time and ran 2x slower.
    struct Read {
        uint64_t tag;
        uint32_t index;
    };
    static constexpr unsigned kReadBuffer = 16;
    bool record_reads = false;
    unsigned nreads = 0;
    Read reads[kReadBuffer];

    void policy_init(bool use_tinylfu, uint64_t entries, uint64_t bytes);
    void record_read(uint32_t index, uint64_t tag) {
        if (!record_reads) return;
        reads[nreads++] = Read{tag, index};
        if (nreads == kReadBuffer) drain_reads();
    }
    void drain_reads();
    void prefetch_reads(unsigned n) const;
    void access(uint32_t i, uint64_t tag);
    void on_insert(uint32_t i, uint64_t tag);       // a new live entry
    void on_update(uint32_t i, uint64_t tag, int64_t dbytes);  // a write over a live entry
    void on_tomb(uint32_t i);                       // a new tombstone
    void on_remove(uint32_t i);                     // leaving the table
    void evict(Evictor& ev);
    void climb();
    // Policy lists.
    void push_tail(entry::Seg seg, uint32_t i);
    void push_head(entry::Seg seg, uint32_t i);
    void unlink(uint32_t i);
    void transfer(uint32_t i, entry::Seg to);
    void move_to_tail(uint32_t i);  // within its own list

    // ---- expiry, clear, buckets, counters ----
    int64_t min_expiry = INT64_MAX;
    Version floor;  // writes at or below it lost to a clear
    // The collection horizon of each of this shard's buckets (indexed as
    // bucket_sum): the newest version of a tombstone collected there. A
    // remote write for a key the shard does not hold, at or below it, may
    // be one that collected delete superseded, so it is refused. Empty
    // until the first collection: most caches never delete.
    std::vector<Version> horizon;
    bool below_horizon(size_t bucket, Version v) const {
        return !horizon.empty() && v <= horizon[bucket >> bucket_shift];
    }
    void raise_horizon(size_t bucket, Version v) {
        if (horizon.empty()) horizon.assign(bucket_sum.size(), Version{});
        Version& h = horizon[bucket >> bucket_shift];
        if (h < v) h = v;
    }
    // Anti-entropy buckets owned by this shard (bucket b lives in shard
    // b % shards, at index b / shards): their entries and the sum of their
    // checksums, tombstones included.
    std::vector<uint32_t> bucket_head;
    std::vector<uint64_t> bucket_sum;
    unsigned bucket_shift = 0;
    void bucket_link(uint32_t i, size_t b);
    void bucket_unlink(uint32_t i, size_t b);

    Counter live, tombs, bytes, checksum;
    Counter hits, misses, inserts, updates, deletes;
    Counter evictions_entries, evictions_bytes, expirations, stale, tombs_collected, refused_horizon;
};

// Entry blocks (store.cc). Both throw std::bad_alloc.
Block* make_entry_block(Slab& slab, const void* key, size_t klen, const void* data, size_t vlen,
                        const entry::Meta& m, uint32_t writer);
Block* adopt_value(Slab& slab, Value* v, const void* key, size_t klen, const entry::Meta& m,
                   uint32_t writer);
// ---- the probe, inline in every read and write ----

inline uint64_t Store::hash_key(const void* key, size_t klen) const { return XXH3_64bits(key, klen); }

inline uint64_t Store::tag_of(uint64_t h0, uint64_t seed) {
    // A keyed bijection of the cluster-wide hash: the table's probe order
    // depends on a per-process secret, so keys sent by a remote party cannot
    // be chosen to pile up in one probe run.
    uint64_t x = h0 ^ seed;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

inline Store::Shard& Store::shard_for(uint64_t h0) const { return shards_[(h0 >> 52) & (shard_count_ - 1)]; }

namespace detail {
// Keys are usually short: compare them inline rather than call memcmp.
inline bool keys_equal(const unsigned char* a, const void* bv, size_t n) {
    const auto* b = static_cast<const unsigned char*>(bv);
    if (n <= 16) {
        if (n >= 8) {
            uint64_t a0, b0, a1, b1;
            std::memcpy(&a0, a, 8);
            std::memcpy(&b0, b, 8);
            std::memcpy(&a1, a + n - 8, 8);
            std::memcpy(&b1, b + n - 8, 8);
            return ((a0 ^ b0) | (a1 ^ b1)) == 0;
        }
        for (size_t i = 0; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    return std::memcmp(a, b, n) == 0;
}
}  // namespace detail

inline uint32_t Store::Shard::find(uint64_t tag, const void* key, size_t klen) const {
    if (!slots) return kNil;
    uint64_t want = tag_bits(tag);
    for (uint32_t i = home(tag, cap);; i = next(i)) {
        uint64_t s = slots[i];
        if (!s) return kNil;
        if ((s >> kPtrBits) == want) {
            const Block* b = at(i);
            if (entry::klen(b) == klen && detail::keys_equal(entry::key(b), key, klen)) return i;
        }
    }
}


inline int64_t Store::expires_of(const Value* b) const {
    return entry::expires(b, entry::Ttls{ttl_live_, ttl_tomb_});
}

// An entry's checksum: part of the protocol (docs/PROTOCOL.md).
uint64_t entry_checksum(uint64_t h0, Version v, uint64_t value_hash);

}  // namespace mccache::store
