// The store's entry: one malloc block holding the Value header (value.h),
// the value bytes, the key and, rarely, a trailer. Layout:
//
//   [52-byte header][value: len][key: klen][value hash: 8, if kHashTrailer][writer id: 8, if kWriterEscape]
//
// The header packs what McCache's metadata needs into 52 bytes:
// - times are 32-bit (TimeCodec): exact milliseconds within 12 days of the
//   entry's version time, whole seconds beyond;
// - the writer's 64-bit node id is an 11-bit index into a per-store table;
// - list links are 24-bit slot indices of the shard's table.
// The value hash is recomputed from the bytes when needed (on removal and
// update, for the checksum sums) unless the value is long enough that
// keeping 8 bytes is cheaper than hashing it again.
#pragma once

#include <malloc.h>

#include <cstdint>
#include <cstring>
#include <string_view>

#include "store/hlc.h"
#include "store/value.h"

namespace mccache::store::entry {

using Block = Value;

constexpr uint32_t kNil = 0xFFFFFF;  // no slot: 24-bit links
constexpr uint32_t kMaxSlots = kNil;  // a shard's table never reaches this

// kw: key length and writer index.
constexpr unsigned kKeyBits = 21;
constexpr uint32_t kKeyMask = (1u << kKeyBits) - 1;
constexpr uint32_t kWriterEscape = (1u << (32 - kKeyBits)) - 1;  // id in the trailer

// lf: lookups and flags.
constexpr unsigned kLookupBits = 26;
constexpr uint32_t kLookupMask = (1u << kLookupBits) - 1;
constexpr uint32_t kSegShift = 26;  // 2 bits: which list the entry is on
constexpr uint32_t kSegMask = 3u << kSegShift;
constexpr uint32_t kTomb = 1u << 28;
constexpr uint32_t kHashTrailer = 1u << 29;
constexpr uint32_t kIdTrailer = 1u << 30;

enum Seg : uint32_t { kWindow = 0, kProbation = 1, kProtected = 2, kTombs = 3 };

// Values at least this long keep their hash in the block: XXH3 of them
// costs more than the 8 bytes.
constexpr size_t kKeepHashFrom = 256;

inline uint32_t klen(const Block* b) { return b->kw & kKeyMask; }
inline uint32_t writer_index(const Block* b) { return b->kw >> kKeyBits; }
inline const unsigned char* key(const Block* b) { return b->bytes() + b->len; }
inline unsigned char* key(Block* b) { return b->bytes() + b->len; }
inline std::string_view key_view(const Block* b) {
    return {reinterpret_cast<const char*>(key(b)), klen(b)};
}
inline bool is_tomb(const Block* b) { return b->lf & kTomb; }
inline Seg seg(const Block* b) { return static_cast<Seg>((b->lf & kSegMask) >> kSegShift); }
inline void set_seg(Block* b, Seg s) { b->lf = (b->lf & ~kSegMask) | (static_cast<uint32_t>(s) << kSegShift); }
inline uint32_t lookups(const Block* b) { return b->lf & kLookupMask; }
inline void count_lookup(Block* b) { b->lf += (b->lf & kLookupMask) != kLookupMask; }
inline void reset_lookups(Block* b) { b->lf &= ~kLookupMask; }

inline uint64_t hlc(const Block* b) { return (static_cast<uint64_t>(b->hlc_hi) << 32) | b->hlc_lo; }
inline void set_hlc(Block* b, uint64_t h) {
    b->hlc_lo = static_cast<uint32_t>(h);
    b->hlc_hi = static_cast<uint32_t>(h >> 32);
}

// Links: 0/1 the policy list (prev, next), 2/3 the anti-entropy bucket list.
enum Link { kPrev = 0, kNext = 1, kBPrev = 2, kBNext = 3 };
inline uint32_t link(const Block* b, Link l) {
    const unsigned char* p = b->links + 3 * l;
    return p[0] | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16);
}
inline void set_link(Block* b, Link l, uint32_t v) {
    unsigned char* p = b->links + 3 * l;
    p[0] = static_cast<unsigned char>(v);
    p[1] = static_cast<unsigned char>(v >> 8);
    p[2] = static_cast<unsigned char>(v >> 16);
}

inline size_t trailer_size(uint32_t lf) {
    return ((lf & kHashTrailer) ? 8 : 0) + ((lf & kIdTrailer) ? 8 : 0);
}
inline size_t block_size(size_t vlen, size_t klen, uint32_t lf) {
    return sizeof(Block) + vlen + klen + trailer_size(lf);
}
inline unsigned char* trailer(Block* b) { return key(b) + klen(b); }
inline const unsigned char* trailer(const Block* b) { return key(b) + klen(b); }

inline uint64_t load64(const unsigned char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// The hash of the value bytes (0 for a tombstone).
inline uint64_t vhash(const Block* b) {
    if (is_tomb(b)) return 0;
    if (b->lf & kHashTrailer) return load64(trailer(b));
    return value_hash(b->bytes(), b->len);
}

// Times, 32 bits each, relative to the entry's version time (hlc_ms):
// - top bit clear: exact, base + (code - 2^30) ms, within +-12.4 days;
// - top bit set: whole seconds since 2020-01-01 (to 2088), rounded up;
// - kNoTime: no time (expires: never; last lookup: never).
// Every member encodes the same (version, expiry) the same way, so a
// rounded expiry is rounded alike everywhere.
struct TimeCodec {
    static constexpr uint32_t kNoTime = 0xFFFFFFFFu;
    static constexpr int64_t kHalf = int64_t{1} << 30;
    static constexpr int64_t kEpochMs = 1577836800000;  // 2020-01-01T00:00:00Z

    static uint32_t enc(int64_t t, uint64_t hlc) {
        int64_t d = t - hlc_ms(hlc);
        if (d >= -kHalf && d < kHalf) return static_cast<uint32_t>(d + kHalf);
        int64_t s = t - kEpochMs;
        s = s <= 0 ? 0 : (s + 999) / 1000;
        if (s > 0x7FFFFFFE) s = 0x7FFFFFFE;
        return 0x80000000u | static_cast<uint32_t>(s);
    }
    static int64_t dec(uint32_t code, uint64_t hlc) {
        if (code & 0x80000000u) return kEpochMs + static_cast<int64_t>(code & 0x7FFFFFFFu) * 1000;
        return hlc_ms(hlc) + static_cast<int64_t>(code) - kHalf;
    }
    // expires: -1 is never.
    static uint32_t enc_expiry(int64_t t, uint64_t hlc) { return t < 0 ? kNoTime : enc(t, hlc); }
    static int64_t dec_expiry(uint32_t code, uint64_t hlc) {
        return code == kNoTime ? -1 : dec(code, hlc);
    }
    // last lookup: 0 is never.
    static uint32_t enc_lookup(int64_t t, uint64_t hlc) { return t == 0 ? kNoTime : enc(t, hlc); }
    static int64_t dec_lookup(uint32_t code, uint64_t hlc) {
        return code == kNoTime ? 0 : dec(code, hlc);
    }
};

inline int64_t expires(const Block* b) { return TimeCodec::dec_expiry(b->t_expires, hlc(b)); }
inline int64_t created(const Block* b) { return TimeCodec::dec(b->t_created, hlc(b)); }
inline int64_t updated(const Block* b) { return TimeCodec::dec(b->t_updated, hlc(b)); }
inline int64_t last_lookup(const Block* b) { return TimeCodec::dec_lookup(b->t_lookup, hlc(b)); }

// Moves to a new version, keeping the absolute times the codec holds.
inline void rebase(Block* b, uint64_t new_hlc) {
    uint64_t old = hlc(b);
    int64_t c = TimeCodec::dec(b->t_created, old);
    int64_t l = TimeCodec::dec_lookup(b->t_lookup, old);
    set_hlc(b, new_hlc);
    b->t_created = TimeCodec::enc(c, new_hlc);
    b->t_lookup = TimeCodec::enc_lookup(l, new_hlc);
}

// What the allocator holds for a block: the usable size plus its chunk header.
constexpr size_t kMallocHeader = 8;
inline uint64_t heap_bytes(const Block* b) {
    return malloc_usable_size(const_cast<Block*>(b)) + kMallocHeader;
}

}  // namespace mccache::store::entry
