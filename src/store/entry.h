// The store's entry: one block holding the Value header (value.h), the value
// bytes, the key and, when needed, a trailer. Layout:
//
//   [40-byte header][value: len][key: klen][trailer]
//   trailer: [value hash: 8][writer id: 8][expires: 4][created: 4][updated: 4],
//            each present only when its flag says so
//
// The header packs what McCache's metadata needs into 40 bytes:
// - the version's 64-bit HLC, whose time part the other times are told from;
// - the last lookup, 32 bits (TimeCodec: exact milliseconds within 12 days
//   of the version's time, whole seconds beyond);
// - the times an entry usually shares with its version cost no bytes: an
//   entry updated at its version's time, created when it was updated, and
//   expiring after the cache's default TTL (or the tombstone TTL) keeps none
//   of them. Others (a remote write stored later than it was made, an update
//   of an older entry, a TTL of its own) go to the trailer, 4 bytes each;
// - the writer's 64-bit node id is an 8-bit index into a per-store table
//   (the 255th writer on keeps its id in the trailer);
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
#include "store/slab.h"
#include "store/value.h"

namespace mccache::store::entry {

using Block = Value;

constexpr uint32_t kNil = 0xFFFFFF;  // no slot: 24-bit links
constexpr uint32_t kMaxSlots = kNil;  // a shard's table never reaches this

// kw: key length, writer index, flags.
constexpr unsigned kKeyBits = 21;
constexpr uint32_t kKeyMask = (1u << kKeyBits) - 1;
constexpr unsigned kWriterBits = 8;
constexpr uint32_t kWriterMask = (1u << kWriterBits) - 1;
constexpr uint32_t kWriterEscape = kWriterMask;  // id in the trailer
constexpr uint32_t kInSlab = kValueInSlab;     // bit 29
constexpr uint32_t kCreatedTrailer = 1u << 30;
constexpr uint32_t kUpdatedTrailer = 1u << 31;
static_assert(kKeyBits + kWriterBits == 29 && kInSlab == 1u << 29);

// lf: lookups and flags.
constexpr unsigned kLookupBits = 25;
constexpr uint32_t kLookupMask = (1u << kLookupBits) - 1;
constexpr uint32_t kSegShift = 25;  // 2 bits: which list the entry is on
constexpr uint32_t kSegMask = 3u << kSegShift;
constexpr uint32_t kTomb = 1u << 27;
constexpr uint32_t kHashTrailer = 1u << 28;
constexpr uint32_t kIdTrailer = 1u << 29;
constexpr uint32_t kExpShift = 30;  // 2 bits: how the expiry is kept
constexpr uint32_t kExpMask = 3u << kExpShift;
enum Expiry : uint32_t { kNever = 0, kImplicit = 1, kExpTrailer = 2 };

// Every flag that changes the block's size.
constexpr uint32_t kKwLayout = kCreatedTrailer | kUpdatedTrailer;
constexpr uint32_t kLfLayout = kHashTrailer | kIdTrailer | kExpMask;

enum Seg : uint32_t { kWindow = 0, kProbation = 1, kProtected = 2, kTombs = 3 };

// Values at least this long keep their hash in the block: XXH3 of them
// costs more than the 8 bytes.
constexpr size_t kKeepHashFrom = 256;

inline uint32_t klen(const Block* b) { return b->kw & kKeyMask; }
inline uint32_t writer_index(const Block* b) { return (b->kw >> kKeyBits) & kWriterMask; }
inline uint32_t pack_kw(size_t klen, uint32_t writer, uint32_t flags) {
    return static_cast<uint32_t>(klen) | (writer << kKeyBits) | flags;
}
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
inline Expiry expiry_kind(const Block* b) { return static_cast<Expiry>((b->lf & kExpMask) >> kExpShift); }

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

// ---- trailer ----

enum Field { kFieldHash, kFieldId, kFieldExpires, kFieldCreated, kFieldUpdated };
inline size_t trailer_size(uint32_t kw, uint32_t lf) {
    return ((lf & kHashTrailer) ? 8 : 0) + ((lf & kIdTrailer) ? 8 : 0) +
           (((lf & kExpMask) >> kExpShift) == kExpTrailer ? 4 : 0) + ((kw & kCreatedTrailer) ? 4 : 0) +
           ((kw & kUpdatedTrailer) ? 4 : 0);
}
inline size_t block_size(size_t vlen, size_t klen, uint32_t kw, uint32_t lf) {
    return sizeof(Block) + vlen + klen + trailer_size(kw, lf);
}
inline size_t block_size(const Block* b) { return block_size(b->len, klen(b), b->kw, b->lf); }
inline unsigned char* trailer(Block* b) { return key(b) + klen(b); }
inline const unsigned char* trailer(const Block* b) { return key(b) + klen(b); }
// Where a present field sits: after the present fields before it.
inline size_t field_offset(uint32_t kw, uint32_t lf, Field f) {
    size_t at = 0;
    if (f > kFieldHash && (lf & kHashTrailer)) at += 8;
    if (f > kFieldId && (lf & kIdTrailer)) at += 8;
    if (f > kFieldExpires && ((lf & kExpMask) >> kExpShift) == kExpTrailer) at += 4;
    if (f > kFieldCreated && (kw & kCreatedTrailer)) at += 4;
    return at;
}
inline uint64_t load64(const unsigned char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline uint32_t load32(const unsigned char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline uint32_t field32(const Block* b, Field f) { return load32(trailer(b) + field_offset(b->kw, b->lf, f)); }

// The hash of the value bytes (0 for a tombstone).
inline uint64_t vhash(const Block* b) {
    if (is_tomb(b)) return 0;
    if (b->lf & kHashTrailer) return load64(trailer(b));
    return value_hash(b->bytes(), b->len);
}
inline uint64_t trailer_writer_id(const Block* b) {
    return load64(trailer(b) + field_offset(b->kw, b->lf, kFieldId));
}

// Times in 32 bits, relative to the entry's version time (hlc_ms):
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
    // last lookup: 0 is never.
    static uint32_t enc_lookup(int64_t t, uint64_t hlc) { return t == 0 ? kNoTime : enc(t, hlc); }
    static int64_t dec_lookup(uint32_t code, uint64_t hlc) {
        return code == kNoTime ? 0 : dec(code, hlc);
    }
};

// The TTLs an expiry is implicit for: the cache's default, for live
// entries, and the tombstone TTL (0: none). Below 2^30 ms only, where the
// codec is exact too, so that every member gets the same expiry whichever
// way it keeps it.
struct Ttls {
    int64_t live = 0, tomb = 0;
    int64_t of(bool tomb_entry) const { return tomb_entry ? tomb : live; }
    static int64_t usable(int64_t ttl) { return ttl > 0 && ttl < TimeCodec::kHalf ? ttl : 0; }
};

inline int64_t updated(const Block* b) {
    return (b->kw & kUpdatedTrailer) ? TimeCodec::dec(field32(b, kFieldUpdated), hlc(b)) : hlc_ms(hlc(b));
}
inline int64_t created(const Block* b) {
    return (b->kw & kCreatedTrailer) ? TimeCodec::dec(field32(b, kFieldCreated), hlc(b)) : updated(b);
}
// -1: never.
inline int64_t expires(const Block* b, const Ttls& ttls) {
    switch (expiry_kind(b)) {
        case kImplicit: return hlc_ms(hlc(b)) + ttls.of(is_tomb(b));
        case kExpTrailer: return TimeCodec::dec(field32(b, kFieldExpires), hlc(b));
        default: return -1;
    }
}
inline int64_t last_lookup(const Block* b) { return TimeCodec::dec_lookup(b->t_lookup, hlc(b)); }

// What a block's header and trailer will say: chosen before the block is
// sized, written by write_meta.
struct Meta {
    uint64_t hlc;
    int64_t expires_ms, created_ms, updated_ms;
    uint64_t vhash;      // kept when the value is long
    uint64_t writer_id;  // kept when its index escapes
    uint32_t kw_flags, lf_flags;  // the layout flags (kKwLayout, kLfLayout, kTomb)

    // `times_in_trailer`: for a block built before its times are known
    // (outside the shard lock), room for both whatever they turn out to be.
    static Meta make(uint64_t hlc, int64_t expires_ms, int64_t created_ms, int64_t updated_ms,
                     size_t vlen, uint64_t vhash, uint32_t writer, uint64_t writer_id, bool tomb,
                     const Ttls& ttls, bool times_in_trailer = false) {
        Meta m{hlc, expires_ms, created_ms, updated_ms, vhash, writer_id, 0, tomb ? kTomb : 0};
        int64_t base = hlc_ms(hlc);
        if (times_in_trailer || updated_ms != base) m.kw_flags |= kUpdatedTrailer;
        if (times_in_trailer || created_ms != updated_ms) m.kw_flags |= kCreatedTrailer;
        int64_t ttl = ttls.of(tomb);
        Expiry e = expires_ms < 0 ? kNever : ttl && expires_ms == base + ttl ? kImplicit : kExpTrailer;
        m.lf_flags |= static_cast<uint32_t>(e) << kExpShift;
        if (!tomb && vlen >= kKeepHashFrom) m.lf_flags |= kHashTrailer;
        if (writer == kWriterEscape) m.lf_flags |= kIdTrailer;
        return m;
    }
    size_t block_size(size_t vlen, size_t klen) const {
        return entry::block_size(vlen, klen, kw_flags, lf_flags);
    }
};

// Writes the version, the layout flags and the trailer of a block whose
// len and key are in place. Keeps the slab flag, the list and the lookups.
inline void write_meta(Block* b, const Meta& m, uint32_t writer) {
    b->kw = pack_kw(klen(b), writer, (b->kw & kInSlab) | m.kw_flags);
    b->lf = (b->lf & (kLookupMask | kSegMask)) | m.lf_flags;
    set_hlc(b, m.hlc);
    unsigned char* t = trailer(b);
    if (m.lf_flags & kHashTrailer) {
        std::memcpy(t, &m.vhash, 8);
        t += 8;
    }
    if (m.lf_flags & kIdTrailer) {
        std::memcpy(t, &m.writer_id, 8);
        t += 8;
    }
    auto put32 = [&t](uint32_t v) {
        std::memcpy(t, &v, 4);
        t += 4;
    };
    if (((m.lf_flags & kExpMask) >> kExpShift) == kExpTrailer) put32(TimeCodec::enc(m.expires_ms, m.hlc));
    if (m.kw_flags & kCreatedTrailer) put32(TimeCodec::enc(m.created_ms, m.hlc));
    if (m.kw_flags & kUpdatedTrailer) put32(TimeCodec::enc(m.updated_ms, m.hlc));
}

// What the allocator holds for a block: its slab class, or for a big one
// the malloc chunk (usable size plus its header).
constexpr size_t kMallocHeader = 8;
inline uint64_t heap_bytes(const Block* b) {
    if (b->kw & kInSlab) return Slab::class_size(block_size(b));
    return malloc_usable_size(const_cast<Block*>(b)) + kMallocHeader;
}

}  // namespace mccache::store::entry
