#include "store/sketch.h"

#include <algorithm>
#include <bit>

namespace mccache::store {

namespace {
constexpr uint64_t kResetMask = 0x7777777777777777ull;
constexpr uint64_t kOneMask = 0x1111111111111111ull;
constexpr uint64_t kMinCapacity = 256;
// Counters: one 64-bit word (16 counters) per entry of capacity, as Caffeine.
constexpr unsigned kTableShrink = 0;
// Doorkeeper: 8 bits per entry of capacity, two probes. Off: on the LIRS
// traces it cost up to 7.6 points of hit ratio against the plain sketch (gli
// at 500: 0.2018 against 0.2775; ps at 1000: 0.6083 against 0.6588), and with
// the counters halved it lost 1-4 points on ten of 24 rows (bench/README.md).
constexpr uint64_t kDoorBitsPerEntry = 8;
constexpr bool kDoor = false;

uint64_t ceil_pow2(uint64_t x) { return x <= 1 ? 1 : uint64_t{1} << (64 - std::countl_zero(x - 1)); }
}  // namespace

void FrequencySketch::ensure_capacity(uint64_t capacity) {
    uint64_t maximum = std::max(std::min<uint64_t>(capacity, uint64_t{1} << 30), kMinCapacity);
    uint64_t len = std::max<uint64_t>(ceil_pow2(maximum) >> kTableShrink, 8);
    sample_ = 10 * maximum;
    if (table_ && table_len_ >= len) return;
    table_.reset(new uint64_t[len]());
    table_len_ = len;
    block_mask_ = static_cast<uint32_t>((len >> 3) - 1);
    door_words_ = kDoor ? ceil_pow2(maximum * kDoorBitsPerEntry) / 64 : 1;
    door_.reset(new uint64_t[door_words_]());
    door_mask_ = door_words_ * 64 - 1;
    size_ = 0;
}

size_t FrequencySketch::memory() const { return (table_len_ + door_words_) * sizeof(uint64_t); }

bool FrequencySketch::door_test_and_set(uint64_t h) {
    uint64_t a = h & door_mask_, b = (h >> 32) & door_mask_;
    uint64_t& wa = door_[a >> 6];
    uint64_t& wb = door_[b >> 6];
    bool seen = (wa >> (a & 63) & 1) && (wb >> (b & 63) & 1);
    wa |= uint64_t{1} << (a & 63);
    wb |= uint64_t{1} << (b & 63);
    return seen;
}

bool FrequencySketch::door_contains(uint64_t h) const {
    uint64_t a = h & door_mask_, b = (h >> 32) & door_mask_;
    return (door_[a >> 6] >> (a & 63) & 1) && (door_[b >> 6] >> (b & 63) & 1);
}

// The doorkeeper probes use the low bits of each half of `h`; the sketch
// mixes the halves again (Caffeine's spread and rehash) for its own.
namespace {
inline uint32_t spread(uint32_t x) {
    x ^= x >> 17;
    x *= 0xed5ad4bbu;
    x ^= x >> 11;
    x *= 0xac4c1b51u;
    x ^= x >> 15;
    return x;
}
inline uint32_t rehash(uint32_t x) {
    x *= 0x31848babu;
    x ^= x >> 14;
    return x;
}
}  // namespace

void FrequencySketch::increment(uint64_t h) {
    if (!table_) return;
    bool added = false;
    if (!kDoor || door_test_and_set(h)) {
        uint32_t block_hash = spread(static_cast<uint32_t>(h ^ (h >> 29)));
        uint32_t counter_hash = rehash(block_hash);
        size_t block = static_cast<size_t>(block_hash & block_mask_) << 3;
        // Unrolled and without branches: a full cache runs this on every
        // read it replays (as Caffeine unrolls its own).
#pragma GCC unroll 4
        for (unsigned i = 0; i < 4; ++i) {
            uint32_t hi = counter_hash >> (i << 3);
            unsigned shift = ((hi >> 1) & 15) << 2;
            size_t slot = block + (hi & 1) + (i << 1);
            uint64_t not_full = ((table_[slot] >> shift) & 0xf) != 0xf;
            table_[slot] += not_full << shift;
            added |= not_full;
        }
    } else {
        added = true;
    }
    if (added && ++size_ >= sample_) reset();
}

void FrequencySketch::prefetch(uint64_t h) const {
    if (!table_) return;
    uint32_t block_hash = spread(static_cast<uint32_t>(h ^ (h >> 29)));
    __builtin_prefetch(&table_[static_cast<size_t>(block_hash & block_mask_) << 3], 1);
}

int FrequencySketch::frequency(uint64_t h) const {
    if (!table_) return 0;
    uint32_t block_hash = spread(static_cast<uint32_t>(h ^ (h >> 29)));
    uint32_t counter_hash = rehash(block_hash);
    size_t block = static_cast<size_t>(block_hash & block_mask_) << 3;
    int freq = 15;
    for (unsigned i = 0; i < 4; ++i) {
        uint32_t hi = counter_hash >> (i << 3);
        unsigned index = (hi >> 1) & 15;
        size_t slot = block + (hi & 1) + (i << 1);
        freq = std::min(freq, static_cast<int>((table_[slot] >> (index << 2)) & 0xf));
    }
    return freq + (kDoor && door_contains(h) ? 1 : 0);
}

void FrequencySketch::reset() {
    uint64_t count = 0;
    for (size_t i = 0; i < table_len_; ++i) {
        count += static_cast<uint64_t>(std::popcount(table_[i] & kOneMask));
        table_[i] = (table_[i] >> 1) & kResetMask;
    }
    std::fill(door_.get(), door_.get() + door_words_, 0);
    size_ = size_ > (count >> 2) ? (size_ - (count >> 2)) >> 1 : 0;
}

}  // namespace mccache::store
