// The shard's hash table and the bookkeeping that follows a block moving
// to another slot.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "store/shard.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mccache::store {

using namespace entry;

uint64_t Store::Shard::tag_of_block(const Block* b) const {
    return Store::tag_of(XXH3_64bits(entry::key(b), entry::klen(b)), seed);
}

uint32_t Store::Shard::home_of(uint32_t i) const {
    if (cap <= (uint32_t{1} << kTagBits)) return home(slots[i] >> kPtrBits << (32 - kTagBits), cap);
    return home(tag_of_block(at(i)), cap);
}

namespace {
// Big tables are mapped on their own, so that the one a growth replaces
// goes back to the system: from the heap, the old tables of every shard
// stayed behind as free chunks too small for the next (3.4 bytes per entry
// at a million entries).
constexpr size_t kMapSlotsFrom = 1024;  // 8 KiB: two pages

uint64_t* alloc_slots(size_t n) {
    if (n < kMapSlotsFrom) return static_cast<uint64_t*>(std::calloc(n, sizeof(uint64_t)));
    void* p = mmap(nullptr, n * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<uint64_t*>(p);
}
}  // namespace

void Store::Shard::free_slots() {
    if (cap < kMapSlotsFrom) std::free(slots); else munmap(slots, size_t{cap} * sizeof(uint64_t));
    slots = nullptr;
}

namespace {
// 4 then 6 times 2^k: growth by 1.5 and 1.33. With 5 and 7 as well the
// tables were fuller (11.6 slot bytes per entry on average against 12.6),
// but inserts paid for twice the growths, each a pass over every block to
// renumber its links: 1 060 ns an insert against 800 (store_bench, 2^20
// keys).
uint64_t next_capacity(uint64_t cap) {
    if (cap == 0) return 16;
    unsigned k = 0;
    while ((cap >> k) > 7) ++k;
    uint64_t m = cap >> k;
    return (m == 4 ? 6 : 8) << k;
}
}  // namespace

bool Store::Shard::grow() {
    uint64_t fresh_cap = next_capacity(cap);
    if (fresh_cap > kMaxSlots) return false;
    uint64_t* fresh = alloc_slots(fresh_cap);
    if (!fresh) return false;
    auto n = static_cast<uint32_t>(fresh_cap);
    uint32_t old_cap = cap;
    std::vector<uint32_t> moved(old_cap, kNil);
    uint64_t* old = slots;
    for (uint32_t i = 0; i < old_cap; ++i) {
        if (!old[i]) continue;
        const Block* b = reinterpret_cast<Block*>((old[i] & kPtrMask) << 2);
        uint64_t tag = n <= (uint32_t{1} << kTagBits) ? (old[i] >> kPtrBits) << (32 - kTagBits) : tag_of_block(b);
        uint32_t j = home(tag, n);
        while (fresh[j]) j = j + 1 == n ? 0 : j + 1;
        fresh[j] = old[i];
        moved[i] = j;
    }
    if (old) free_slots();
    slots = fresh;
    cap = n;
    // Every index the shard holds now names a new slot.
    auto remap = [&](uint32_t& x) {
        if (x != kNil) x = moved[x];
    };
    // Every block, in table order, so at random in memory: fetch a few
    // ahead, or the pass waits on one miss after another (a growing table
    // passes over each entry several times on its way to a million).
    constexpr uint32_t kAhead = 8;
    for (uint32_t j = 0; j < cap; ++j) {
        if (j + kAhead < cap && slots[j + kAhead]) __builtin_prefetch(at(j + kAhead), 1);
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
    if ((!slots || (uint64_t{used} + 1) * 4 > uint64_t{cap} * 3) && !grow()) return false;
    uint32_t i = home(tag, cap);
    while (slots[i]) i = next(i);
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
    for (uint32_t j = next(i); slots[j]; j = next(j)) {
        uint32_t h = home_of(j);
        bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
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
