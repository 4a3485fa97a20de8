#include "wire/wire.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mccache::wire {

namespace {

void put16(unsigned char* p, uint16_t v) {
    p[0] = static_cast<unsigned char>(v >> 8);
    p[1] = static_cast<unsigned char>(v);
}
void put32(unsigned char* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (24 - 8 * i));
}
void put64(unsigned char* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (56 - 8 * i));
}
uint16_t get16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const unsigned char* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | p[3];
}
uint64_t get64(const unsigned char* p) {
    return static_cast<uint64_t>(get32(p)) << 32 | get32(p + 4);
}

}  // namespace

const char* error_name(Error e) {
    switch (e) {
        case Error::None: return "ok";
        case Error::TooShort: return "too_short";
        case Error::BadMagic: return "bad_magic";
        case Error::BadVersion: return "unknown_version";
        case Error::BadType: return "unknown_type";
        case Error::BadFlags: return "bad_flags";
        case Error::BadLength: return "bad_length";
        case Error::BadFragment: return "bad_fragment";
        case Error::BadChecksum: return "bad_checksum";
        case Error::Malformed: return "malformed";
    }
    return "unknown";
}

uint32_t crc32c(const void* data, size_t len) {
    // ISA-L's crc32_iscsi is CRC32C with the init/final inversion left to us.
    uint32_t crc = 0xFFFFFFFFu;
    auto* p = static_cast<unsigned char*>(const_cast<void*>(data));
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : static_cast<int>(len);
        crc = crc32_iscsi(p, chunk, crc);
        p += chunk;
        len -= static_cast<size_t>(chunk);
    }
    return ~crc;
}

uint64_t cluster_id(std::string_view name) { return XXH3_64bits(name.data(), name.size()); }

void encode_header(const Header& h, unsigned char out[kHeaderSize]) {
    put32(out, kMagic);
    out[4] = h.version;
    out[5] = static_cast<unsigned char>(h.type);
    out[6] = h.flags;
    out[7] = h.key_id;
    put64(out + 8, h.cluster);
    put64(out + 16, h.sender);
    put64(out + 24, h.incarnation);
    put64(out + 32, h.seq);
    put16(out + 40, h.frag_index);
    put16(out + 42, h.frag_count);
    put32(out + 44, h.payload_len);
}

Error decode_header(const unsigned char* data, size_t len, Header* h) {
    if (len < kHeaderSize) return Error::TooShort;
    if (get32(data) != kMagic) return Error::BadMagic;
    h->version = data[4];
    if (h->version != kVersion) return Error::BadVersion;
    uint8_t type = data[5];
    if (type == 0 || type > kMaxType) return Error::BadType;
    h->type = static_cast<Type>(type);
    h->flags = data[6];
    if ((h->flags & ~kKnownFlags) || ((h->flags & kFlagSequenced) && (h->flags & kFlagUnicast)))
        return Error::BadFlags;
    h->key_id = data[7];
    h->cluster = get64(data + 8);
    h->sender = get64(data + 16);
    h->incarnation = get64(data + 24);
    h->seq = get64(data + 32);
    h->frag_index = get16(data + 40);
    h->frag_count = get16(data + 42);
    h->payload_len = get32(data + 44);
    if (h->frag_count == 0 || h->frag_index >= h->frag_count) return Error::BadFragment;
    size_t trailer = (h->flags & kFlagSealed) ? kTagSize : kCrcSize;
    if (len > kMaxDatagram || len < kHeaderSize + trailer ||
        h->payload_len != len - kHeaderSize - trailer)
        return Error::BadLength;
    return Error::None;
}

std::string encode_plain(const Header& h, std::string_view payload) {
    // Callers fragment to the MTU first; anything larger is a bug upstream.
    if (payload.size() > kMaxDatagram - kHeaderSize - kCrcSize) return {};
    Header copy = h;
    copy.flags = static_cast<uint8_t>(copy.flags & ~kFlagSealed);
    copy.key_id = 0;
    copy.payload_len = static_cast<uint32_t>(payload.size());
    std::string out(kHeaderSize + payload.size() + kCrcSize, '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    encode_header(copy, p);
    std::memcpy(p + kHeaderSize, payload.data(), payload.size());
    put32(p + kHeaderSize + payload.size(), crc32c(p, kHeaderSize + payload.size()));
    return out;
}

Error decode_plain(const unsigned char* data, size_t len, Header* h, std::string_view* payload) {
    Error e = decode_header(data, len, h);
    if (e != Error::None) return e;
    if (h->flags & kFlagSealed) return Error::BadFlags;
    size_t body = kHeaderSize + h->payload_len;
    if (get32(data + body) != crc32c(data, body)) return Error::BadChecksum;
    *payload = std::string_view(reinterpret_cast<const char*>(data) + kHeaderSize, h->payload_len);
    return Error::None;
}

// ---- Writer / Reader ----

void Writer::u16(uint16_t v) {
    unsigned char b[2];
    put16(b, v);
    out_.append(reinterpret_cast<char*>(b), 2);
}
void Writer::u32(uint32_t v) {
    unsigned char b[4];
    put32(b, v);
    out_.append(reinterpret_cast<char*>(b), 4);
}
void Writer::u64(uint64_t v) {
    unsigned char b[8];
    put64(b, v);
    out_.append(reinterpret_cast<char*>(b), 8);
}

uint8_t Reader::u8() {
    if (!need(1)) return 0;
    return p_[pos_++];
}
uint16_t Reader::u16() {
    if (!need(2)) return 0;
    uint16_t v = get16(p_ + pos_);
    pos_ += 2;
    return v;
}
uint32_t Reader::u32() {
    if (!need(4)) return 0;
    uint32_t v = get32(p_ + pos_);
    pos_ += 4;
    return v;
}
uint64_t Reader::u64() {
    if (!need(8)) return 0;
    uint64_t v = get64(p_ + pos_);
    pos_ += 8;
    return v;
}
std::string_view Reader::bytes(size_t n) {
    if (!need(n)) return {};
    std::string_view v(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return v;
}

// ---- records ----

void encode_record(Writer& w, const Record& r) {
    w.u8(static_cast<uint8_t>(r.op));
    w.u8(r.flags);
    w.u16(static_cast<uint16_t>(r.cache.size()));
    w.u32(static_cast<uint32_t>(r.key.size()));
    w.u32(static_cast<uint32_t>(r.value.size()));
    w.u64(r.hlc);
    w.u64(r.node);
    w.i64(r.expires_ms);
    w.bytes(r.cache);
    w.bytes(r.key);
    w.bytes(r.value);
}

Error decode_records(std::string_view payload, std::vector<Record>* out) {
    out->clear();
    Reader rd(payload);
    while (rd.ok() && rd.remaining() > 0) {
        Record r;
        uint8_t op = rd.u8();
        r.flags = rd.u8();
        uint16_t clen = rd.u16();
        uint32_t klen = rd.u32();
        uint32_t vlen = rd.u32();
        r.hlc = rd.u64();
        r.node = rd.u64();
        r.expires_ms = rd.i64();
        if (!rd.ok()) return Error::Malformed;
        if (op < 1 || op > 3 || (r.flags & ~kRecordRepair)) return Error::Malformed;
        r.op = static_cast<Op>(op);
        if (clen == 0 || (r.op != Op::Clear && klen == 0) || (r.op == Op::Clear && klen != 0) ||
            (r.op != Op::Put && vlen != 0) || r.expires_ms < -1)
            return Error::Malformed;
        // Checked against what is left before any view is taken.
        if (static_cast<uint64_t>(clen) + klen + vlen > rd.remaining()) return Error::Malformed;
        r.cache = rd.bytes(clen);
        r.key = rd.bytes(klen);
        r.value = rd.bytes(vlen);
        out->push_back(r);
    }
    return rd.ok() && !out->empty() ? Error::None : Error::Malformed;
}

// ---- control payloads ----

std::string encode_ranges(const std::vector<SeqRange>& ranges) {
    std::string out;
    Writer w(out);
    w.u16(static_cast<uint16_t>(ranges.size()));
    for (const SeqRange& r : ranges) {
        w.u64(r.from);
        w.u64(r.to);
    }
    return out;
}

Error decode_ranges(std::string_view payload, std::vector<SeqRange>* out) {
    out->clear();
    Reader rd(payload);
    uint16_t n = rd.u16();
    if (!rd.ok() || rd.remaining() != static_cast<size_t>(n) * 16 || n == 0) return Error::Malformed;
    for (uint16_t i = 0; i < n; ++i) {
        SeqRange r{rd.u64(), rd.u64()};
        if (r.from == 0 || r.from > r.to) return Error::Malformed;
        out->push_back(r);
    }
    return Error::None;
}

namespace {

constexpr size_t kMaxPartials = 64;
constexpr size_t kMaxMissingRanges = 64;
constexpr size_t kMaxDone = 4096;

void encode_partials(Writer& w, const std::vector<PartialMessage>& partial) {
    const size_t n = std::min(partial.size(), kMaxPartials);
    w.u16(static_cast<uint16_t>(n));
    for (size_t i = 0; i < n; ++i) {
        const PartialMessage& p = partial[i];
        w.u64(p.seq);
        w.u16(p.highest);
        w.u8(p.tail ? 1 : 0);
        const size_t m = std::min(p.missing.size(), kMaxMissingRanges);
        w.u16(static_cast<uint16_t>(m));
        for (size_t j = 0; j < m; ++j) {
            w.u16(p.missing[j].first);
            w.u16(p.missing[j].second);
        }
    }
}

bool decode_partials(Reader& rd, std::vector<PartialMessage>* out) {
    const uint16_t n = rd.u16();
    if (!rd.ok() || n > kMaxPartials) return false;
    out->clear();
    for (uint16_t i = 0; i < n; ++i) {
        PartialMessage p;
        p.seq = rd.u64();
        p.highest = rd.u16();
        const uint8_t tail = rd.u8();
        const uint16_t m = rd.u16();
        if (!rd.ok() || p.seq == 0 || tail > 1 || m > kMaxMissingRanges) return false;
        p.tail = tail == 1;
        for (uint16_t j = 0; j < m; ++j) {
            const uint16_t from = rd.u16(), to = rd.u16();
            if (!rd.ok() || from > to || to >= p.highest) return false;
            p.missing.emplace_back(from, to);
        }
        out->push_back(std::move(p));
    }
    return true;
}

}  // namespace

std::string encode_nack(const Nack& n) {
    std::string out = encode_ranges(n.ranges);
    Writer w(out);
    encode_partials(w, n.partial);
    return out;
}

Error decode_nack(std::string_view payload, Nack* out) {
    Reader rd(payload);
    const uint16_t count = rd.u16();
    if (!rd.ok() || count > 256 || static_cast<size_t>(count) * 16 > rd.remaining()) return Error::Malformed;
    out->ranges.clear();
    for (uint16_t i = 0; i < count; ++i) {
        SeqRange r{rd.u64(), rd.u64()};
        if (!rd.ok() || r.from == 0 || r.from > r.to) return Error::Malformed;
        out->ranges.push_back(r);
    }
    if (!decode_partials(rd, &out->partial) || !rd.done()) return Error::Malformed;
    if (out->ranges.empty() && out->partial.empty()) return Error::Malformed;
    return Error::None;
}

std::string encode_repair_ack(const RepairAck& a) {
    std::string out;
    Writer w(out);
    w.u32(a.window);
    const size_t n = std::min(a.done.size(), kMaxDone);
    w.u16(static_cast<uint16_t>(n));
    for (size_t i = 0; i < n; ++i) w.u64(a.done[i]);
    encode_partials(w, a.partial);
    return out;
}

Error decode_repair_ack(std::string_view payload, RepairAck* out) {
    Reader rd(payload);
    out->window = rd.u32();
    const uint16_t n = rd.u16();
    if (!rd.ok() || n > kMaxDone || static_cast<size_t>(n) * 8 > rd.remaining()) return Error::Malformed;
    out->done.clear();
    for (uint16_t i = 0; i < n; ++i) {
        const uint64_t seq = rd.u64();
        if (seq == 0) return Error::Malformed;
        out->done.push_back(seq);
    }
    if (!decode_partials(rd, &out->partial) || !rd.done()) return Error::Malformed;
    return Error::None;
}

std::string encode_challenge(const Challenge& c) {
    std::string out;
    Writer w(out);
    w.u64(c.target);
    w.u64(c.target_incarnation);
    w.bytes(std::string_view(reinterpret_cast<const char*>(c.nonce), kNonceSize));
    return out;
}

Error decode_challenge(std::string_view payload, Challenge* out) {
    Reader rd(payload);
    out->target = rd.u64();
    out->target_incarnation = rd.u64();
    std::string_view nonce = rd.bytes(kNonceSize);
    if (!rd.done()) return Error::Malformed;
    std::memcpy(out->nonce, nonce.data(), kNonceSize);
    return Error::None;
}

std::string encode_response(const Response& r) {
    std::string out;
    Writer w(out);
    w.u64(r.challenger);
    w.u64(r.challenger_incarnation);
    w.bytes(std::string_view(reinterpret_cast<const char*>(r.nonce), kNonceSize));
    w.u64(r.last_seq);
    w.u64(r.to_all_seq);
    w.u64(r.to_one_seq);
    w.u64(r.started_ms);
    return out;
}

Error decode_response(std::string_view payload, Response* out) {
    Reader rd(payload);
    out->challenger = rd.u64();
    out->challenger_incarnation = rd.u64();
    std::string_view nonce = rd.bytes(kNonceSize);
    out->last_seq = rd.u64();
    out->to_all_seq = rd.u64();
    out->to_one_seq = rd.u64();
    out->started_ms = rd.u64();
    if (!rd.done()) return Error::Malformed;
    std::memcpy(out->nonce, nonce.data(), kNonceSize);
    return Error::None;
}

std::string destination_aad(uint64_t id, uint64_t incarnation) {
    std::string out;
    Writer w(out);
    w.u64(id);
    w.u64(incarnation);
    return out;
}

std::string encode_heartbeat(const Heartbeat& hb) {
    std::string out;
    Writer w(out);
    w.u64(hb.last_seq);
    w.u64(hb.started_ms);
    return out;
}

Error decode_heartbeat(std::string_view payload, Heartbeat* out) {
    Reader rd(payload);
    out->last_seq = rd.u64();
    out->started_ms = rd.u64();
    return rd.done() ? Error::None : Error::Malformed;
}

std::string encode_digest_l1(const DigestL1& d) {
    std::string out;
    Writer w(out);
    w.str16(d.cache);
    w.u8(d.mode);
    w.u64(d.floor_hlc);
    w.u64(d.floor_node);
    for (uint64_t g : d.groups) w.u64(g);
    return out;
}

Error decode_digest_l1(std::string_view payload, DigestL1* out) {
    Reader rd(payload);
    out->cache = rd.str16();
    out->mode = rd.u8();
    out->floor_hlc = rd.u64();
    out->floor_node = rd.u64();
    for (uint64_t& g : out->groups) g = rd.u64();
    return rd.done() && !out->cache.empty() && out->mode <= 2 ? Error::None : Error::Malformed;
}

std::string encode_digest_l2(const DigestL2& d) {
    std::string out;
    Writer w(out);
    w.str16(d.cache);
    w.u16(d.group);
    for (uint64_t b : d.buckets) w.u64(b);
    return out;
}

Error decode_digest_l2(std::string_view payload, DigestL2* out) {
    Reader rd(payload);
    out->cache = rd.str16();
    out->group = rd.u16();
    for (uint64_t& b : out->buckets) b = rd.u64();
    return rd.done() && !out->cache.empty() && out->group < kGroups ? Error::None : Error::Malformed;
}

void encode_keys_prefix(Writer& w, const Keys& k, uint32_t count) {
    w.str16(k.cache);
    w.u16(k.bucket);
    w.u64(k.digest);
    w.u64(k.room_entries);
    w.u64(k.room_bytes);
    w.u64(k.horizon_hlc);
    w.u64(k.horizon_node);
    w.u32(count);
}

void encode_key_version(Writer& w, const KeyVersion& kv) {
    w.str32(kv.key);
    w.u64(kv.hlc);
    w.u64(kv.node);
    w.u8(kv.tombstone ? 1 : 0);
}

Error decode_keys(std::string_view payload, Keys* out) {
    Reader rd(payload);
    out->cache = rd.str16();
    out->bucket = rd.u16();
    out->digest = rd.u64();
    out->room_entries = rd.u64();
    out->room_bytes = rd.u64();
    out->horizon_hlc = rd.u64();
    out->horizon_node = rd.u64();
    uint32_t n = rd.u32();
    out->entries.clear();
    // Each entry takes at least 21 bytes: refuse counts the payload cannot hold.
    if (!rd.ok() || out->cache.empty() || out->bucket >= kGroups * kBucketsPerGroup ||
        static_cast<uint64_t>(n) * 21 > rd.remaining())
        return Error::Malformed;
    out->entries.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        KeyVersion kv;
        kv.key = rd.str32();
        kv.hlc = rd.u64();
        kv.node = rd.u64();
        uint8_t t = rd.u8();
        if (!rd.ok() || kv.key.empty() || t > 1) return Error::Malformed;
        kv.tombstone = t == 1;
        out->entries.push_back(kv);
    }
    return rd.done() ? Error::None : Error::Malformed;
}

std::string encode_pull(std::string_view cache, const std::vector<std::string_view>& keys) {
    std::string out;
    Writer w(out);
    w.str16(cache);
    w.u32(static_cast<uint32_t>(keys.size()));
    for (std::string_view k : keys) w.str32(k);
    return out;
}

Error decode_pull(std::string_view payload, Pull* out) {
    Reader rd(payload);
    out->cache = rd.str16();
    uint32_t n = rd.u32();
    out->keys.clear();
    if (!rd.ok() || out->cache.empty() || n == 0 || static_cast<uint64_t>(n) * 5 > rd.remaining())
        return Error::Malformed;
    out->keys.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        std::string_view k = rd.str32();
        if (!rd.ok() || k.empty()) return Error::Malformed;
        out->keys.push_back(k);
    }
    return rd.done() ? Error::None : Error::Malformed;
}

std::string encode_query(const Query& q) {
    std::string out;
    Writer w(out);
    w.u64(q.request_id);
    w.u8(static_cast<uint8_t>(q.kind));
    w.str16(q.cache);
    w.str32(q.body);
    return out;
}

Error decode_query(std::string_view payload, Query* out, bool reply) {
    Reader rd(payload);
    out->request_id = rd.u64();
    uint8_t kind = rd.u8();
    out->cache = rd.str16();
    out->body = rd.str32();
    if (!rd.done() || kind < 1 || kind > 2 || out->request_id == 0) return Error::Malformed;
    if (!reply && !out->body.empty()) return Error::Malformed;
    out->kind = static_cast<QueryKind>(kind);
    return Error::None;
}

}  // namespace mccache::wire
