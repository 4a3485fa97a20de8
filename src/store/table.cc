// The shard's hash table and the bookkeeping that follows a block moving
// to another slot.
#include <cstdlib>
#include <cstring>

#include "store/shard.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mccache::store {

using namespace entry;

namespace {
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
}  // namespace

uint32_t Store::Shard::find(uint64_t tag, const void* key, size_t klen) const {
    if (!slots) return kNil;
    uint64_t want = tag & kTagMask;
    for (uint32_t i = static_cast<uint32_t>(tag) & mask;; i = (i + 1) & mask) {
        uint64_t s = slots[i];
        if (!s) return kNil;
        if ((s >> kPtrBits) == want) {
            const Block* b = at(i);
            if (entry::klen(b) == klen && keys_equal(entry::key(b), key, klen)) return i;
        }
    }
}

uint64_t Store::Shard::tag_of_block(const Block* b) const {
    return Store::tag_of(XXH3_64bits(entry::key(b), entry::klen(b)), seed);
}

uint32_t Store::Shard::home_of(uint32_t i) const {
    // The slot holds 20 bits of the tag: enough for tables up to 2^20 slots.
    if (mask <= kTagMask) return static_cast<uint32_t>(slots[i] >> kPtrBits) & mask;
    return static_cast<uint32_t>(tag_of_block(at(i))) & mask;
}

bool Store::Shard::grow() {
    uint64_t cap = slots ? (uint64_t{mask} + 1) * 2 : 16;
    if (cap > kMaxSlots) return false;
    auto* fresh = static_cast<uint64_t*>(std::calloc(cap, sizeof(uint64_t)));
    if (!fresh) return false;
    uint32_t old_cap = slots ? mask + 1 : 0;
    std::vector<uint32_t> moved(old_cap, kNil);
    uint64_t* old = slots;
    uint32_t new_mask = static_cast<uint32_t>(cap - 1);
    for (uint32_t i = 0; i < old_cap; ++i) {
        if (!old[i]) continue;
        const Block* b = reinterpret_cast<Block*>((old[i] & ((uint64_t{1} << kPtrBits) - 1)) << 4);
        uint64_t tag = new_mask <= kTagMask ? (old[i] >> kPtrBits) : tag_of_block(b);
        uint32_t j = static_cast<uint32_t>(tag) & new_mask;
        while (fresh[j]) j = (j + 1) & new_mask;
        fresh[j] = old[i];
        moved[i] = j;
    }
    slots = fresh;
    mask = new_mask;
    std::free(old);
    // Every index the shard holds now names a new slot.
    auto remap = [&](uint32_t& x) {
        if (x != kNil) x = moved[x];
    };
    for (uint32_t j = 0; j <= mask; ++j) {
        if (!slots[j]) continue;
        Block* b = at(j);
        for (Link l : {kPrev, kNext, kBPrev, kBNext}) {
            uint32_t x = link(b, l);
            remap(x);
            set_link(b, l, x);
        }
    }
    for (List& l : lists) {
        remap(l.head);
        remap(l.tail);
    }
    for (uint32_t& h : bucket_head) remap(h);
    remap(cand);
    remap(vict);
    remap(keep);
    nreads = 0;  // recorded slots are stale: drop them
    return true;
}

bool Store::Shard::insert(uint64_t tag, Block* b, uint32_t* index) {
    if ((!slots || (uint64_t{used} + 1) * 4 > (uint64_t{mask} + 1) * 3) && !grow()) return false;
    uint32_t i = static_cast<uint32_t>(tag) & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = slot_of(tag, b);
    ++used;
    *index = i;
    return true;
}

// Backward-shift deletion: pull later members of the probe run into the
// hole so that lookups never need deleted markers.
void Store::Shard::erase(uint32_t i) {
    slots[i] = 0;
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; slots[j]; j = (j + 1) & mask) {
        uint32_t home = home_of(j);
        bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (!stays) {
            slots[hole] = slots[j];
            slots[j] = 0;
            relink(j, hole);
            hole = j;
        }
    }
    --used;
}

void Store::Shard::relink(uint32_t from, uint32_t to) {
    Block* b = at(to);
    uint32_t p = link(b, kPrev), n = link(b, kNext);
    List& l = lists[seg(b)];
    if (p != kNil) set_link(at(p), kNext, to); else if (l.head == from) l.head = to;
    if (n != kNil) set_link(at(n), kPrev, to); else if (l.tail == from) l.tail = to;
    uint32_t bp = link(b, kBPrev), bn = link(b, kBNext);
    if (bp != kNil) {
        set_link(at(bp), kBNext, to);
    } else {
        uint64_t h0 = XXH3_64bits(entry::key(b), entry::klen(b));
        uint32_t& head = bucket_head[static_cast<size_t>(h0 >> 52) >> bucket_shift];
        if (head == from) head = to;
    }
    if (bn != kNil) set_link(at(bn), kBPrev, to);
    if (cand == from) cand = to;
    if (vict == from) vict = to;
    if (keep == from) keep = to;
    for (unsigned r = 0; r < nreads; ++r)
        if (reads[r].index == from) reads[r].index = to;
}

void Store::Shard::bucket_link(uint32_t i, size_t b) {
    Block* e = at(i);
    uint32_t& head = bucket_head[b >> bucket_shift];
    set_link(e, kBPrev, kNil);
    set_link(e, kBNext, head);
    if (head != kNil) set_link(at(head), kBPrev, i);
    head = i;
}

void Store::Shard::bucket_unlink(uint32_t i, size_t b) {
    Block* e = at(i);
    uint32_t p = link(e, kBPrev), n = link(e, kBNext);
    if (p != kNil) set_link(at(p), kBNext, n); else bucket_head[b >> bucket_shift] = n;
    if (n != kNil) set_link(at(n), kBPrev, p);
}

}  // namespace mccache::store
