// The wire format (docs/PROTOCOL.md is the normative text): a fixed 48-byte
// header in network byte order, a payload, and a trailer (CRC32C, or the
// AEAD tag when sealed). Pure functions with no I/O, written for hostile
// input: every length is checked before it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mccache::wire {

inline constexpr uint32_t kMagic = 0x4D434350;  // "MCCP"
inline constexpr uint8_t kVersion = 2;  // 2: destination binding, Challenge and Response
inline constexpr size_t kHeaderSize = 48;
inline constexpr size_t kCrcSize = 4;
inline constexpr size_t kTagSize = 16;  // reserved room for an AEAD tag
inline constexpr size_t kMaxDatagram = 65507;
inline constexpr size_t kMaxFragments = 65535;

enum class Type : uint8_t {
    Data = 1,        // sequenced: a batch of records, or one fragmented record
    Heartbeat = 2,   // liveness and the sender's last sequence number
    Goodbye = 3,     // a clean leave
    Nack = 4,        // receiver -> sender: resend these sequence ranges
    Gone = 5,        // sender -> receiver: these ranges can no longer be resent
    DigestL1 = 6,    // anti-entropy: per-cache group digests and clear floor
    DigestL2 = 7,    // anti-entropy: the bucket digests of one group
    Keys = 8,        // anti-entropy: (key, version) list of one bucket
    Repair = 9,      // unsequenced records sent to repair a difference
    Pull = 10,       // anti-entropy: send me these keys
    Query = 11,      // cluster-wide request (metrics, checksums)
    QueryReply = 12, // one member's answer
    Challenge = 13,  // "prove you are alive now": a nonce for an unvalidated sender
    Response = 14,   // the nonce echoed, with the sender's current stream position
    RepairAck = 15,  // receiver -> repairer: what arrived, what is missing, what it can take
    Lease = 16,      // loaders: claims of a key's load lease, their answers, the load's end
};
inline constexpr uint8_t kMaxType = 16;

enum Flag : uint8_t {
    kFlagSealed = 0x01,     // payload encrypted, trailer is the AEAD tag
    kFlagSequenced = 0x02,  // seq is in the sender's reliable stream
    kFlagUnicast = 0x04,    // unsequenced, sent to one member: seq is in its unicast counter
};
inline constexpr uint8_t kKnownFlags = kFlagSealed | kFlagSequenced | kFlagUnicast;

// Which of the sender's three counters `seq` comes from: 0 multicast
// control, 1 the reliable stream, 2 unicast control.
inline uint8_t seq_space(uint8_t flags) {
    return (flags & kFlagSequenced) ? 1 : (flags & kFlagUnicast) ? 2 : 0;
}

// Record flags.
inline constexpr uint8_t kRecordRepair = 0x01;  // sent by anti-entropy, not a new write

struct Header {
    uint8_t version = kVersion;
    Type type = Type::Data;
    uint8_t flags = 0;
    uint8_t key_id = 0;
    uint64_t cluster = 0;
    uint64_t sender = 0;
    uint64_t incarnation = 0;
    uint64_t seq = 0;
    uint16_t frag_index = 0;
    uint16_t frag_count = 1;
    uint32_t payload_len = 0;
};

enum class Error {
    None = 0,
    TooShort,
    BadMagic,
    BadVersion,
    BadType,
    BadFlags,
    BadLength,
    BadFragment,
    BadChecksum,
    Malformed,  // a payload that does not parse
};
const char* error_name(Error e);

uint32_t crc32c(const void* data, size_t len);
uint64_t cluster_id(std::string_view cluster_name);

void encode_header(const Header& h, unsigned char out[kHeaderSize]);
// Parses and checks the header only (magic, version, type, flags, fragment
// fields, that payload_len plus the trailer matches the datagram's length).
Error decode_header(const unsigned char* data, size_t len, Header* out);

// A plaintext datagram: header, payload, CRC32C over both.
std::string encode_plain(const Header& h, std::string_view payload);
// Checks the CRC and returns the payload as a view into `data`.
Error decode_plain(const unsigned char* data, size_t len, Header* h, std::string_view* payload);

// ---- payload building blocks ----

class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}
    void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u16(uint16_t v);
    void u32(uint32_t v);
    void u64(uint64_t v);
    void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
    void bytes(std::string_view b) { out_.append(b.data(), b.size()); }
    void str16(std::string_view s) {  // u16 length + bytes
        u16(static_cast<uint16_t>(s.size()));
        bytes(s);
    }
    void str32(std::string_view s) {  // u32 length + bytes
        u32(static_cast<uint32_t>(s.size()));
        bytes(s);
    }

private:
    std::string& out_;
};

// Reads big-endian fields; any read past the end sets !ok() and yields zeros.
class Reader {
public:
    Reader(const void* data, size_t len) : p_(static_cast<const unsigned char*>(data)), n_(len) {}
    explicit Reader(std::string_view s) : Reader(s.data(), s.size()) {}
    uint8_t u8();
    uint16_t u16();
    uint32_t u32();
    uint64_t u64();
    int64_t i64() { return static_cast<int64_t>(u64()); }
    std::string_view bytes(size_t n);
    std::string_view str16() { return bytes(u16()); }
    std::string_view str32() { return bytes(u32()); }
    bool ok() const { return ok_; }
    size_t remaining() const { return n_ - pos_; }
    bool done() const { return ok_ && pos_ == n_; }

private:
    bool need(size_t k) {
        if (!ok_ || n_ - pos_ < k) {
            ok_ = false;
            return false;
        }
        return true;
    }
    const unsigned char* p_;
    size_t n_;
    size_t pos_ = 0;
    bool ok_ = true;
};

// ---- records (Data and Repair payloads) ----

enum class Op : uint8_t { Put = 1, Delete = 2, Clear = 3 };

struct Record {
    Op op = Op::Put;
    uint8_t flags = 0;
    std::string_view cache;
    std::string_view key;    // empty for Clear
    std::string_view value;  // empty unless Put
    uint64_t hlc = 0;
    uint64_t node = 0;
    int64_t expires_ms = -1;
};
inline constexpr size_t kRecordFixed = 1 + 1 + 2 + 4 + 4 + 8 + 8 + 8;

inline size_t record_size(const Record& r) {
    return kRecordFixed + r.cache.size() + r.key.size() + r.value.size();
}
void encode_record(Writer& w, const Record& r);
// Parses a whole payload of records; views point into `payload`. Checks
// lengths and ops; semantic limits (name and key sizes) are the caller's.
Error decode_records(std::string_view payload, std::vector<Record>* out);

// ---- control payloads ----

struct SeqRange {
    uint64_t from, to;  // inclusive
};
std::string encode_ranges(const std::vector<SeqRange>& ranges);  // Gone
Error decode_ranges(std::string_view payload, std::vector<SeqRange>* out);

// A message of which some fragments arrived: which are still missing.
// Fragments are sent in order, so one missing below `highest` is lost; the
// receiver lists only those (and, when it asks for the tail too, everything
// above `highest`).
struct PartialMessage {
    uint64_t seq = 0;
    uint16_t highest = 0;                          // the highest fragment index received
    bool tail = false;                             // also every fragment above `highest`
    std::vector<std::pair<uint16_t, uint16_t>> missing;  // inclusive ranges below `highest`
};

// A request to resend stream messages: whole ones (ranges) and the missing
// fragments of partly received ones.
struct Nack {
    std::vector<SeqRange> ranges;
    std::vector<PartialMessage> partial;
};
std::string encode_nack(const Nack& n);
Error decode_nack(std::string_view payload, Nack* out);

// The receiver's answer to repairs (docs/PROTOCOL.md §4.5): the unicast
// seqs of Repair messages that arrived whole, the fragments missing from
// those in part, and how many bytes it invites next.
struct RepairAck {
    uint32_t window = 0;
    std::vector<uint64_t> done;
    std::vector<PartialMessage> partial;
};
std::string encode_repair_ack(const RepairAck& a);
Error decode_repair_ack(std::string_view payload, RepairAck* out);

struct Heartbeat {
    uint64_t last_seq = 0;  // the sender's latest sequenced message (0: none yet)
    uint64_t started_ms = 0;
};
std::string encode_heartbeat(const Heartbeat& hb);
Error decode_heartbeat(std::string_view payload, Heartbeat* out);

// The freshness handshake (docs/PROTOCOL.md §5). A receiver that holds no
// live state for a sender challenges it at the address it claims; the
// sender's answer, bound to the challenger and its nonce, fixes where its
// stream and counters stand.
inline constexpr size_t kNonceSize = 16;
struct Challenge {
    uint64_t target = 0;              // the sender being challenged: id and incarnation
    uint64_t target_incarnation = 0;
    unsigned char nonce[kNonceSize] = {};
};
std::string encode_challenge(const Challenge& c);
Error decode_challenge(std::string_view payload, Challenge* out);

struct Response {
    uint64_t challenger = 0;  // who asked: id and incarnation
    uint64_t challenger_incarnation = 0;
    unsigned char nonce[kNonceSize] = {};
    uint64_t last_seq = 0;     // the responder's stream: every seq up to here has been sent
    uint64_t to_all_seq = 0;   // its unsequenced counters, as they stand
    uint64_t to_one_seq = 0;
    uint64_t started_ms = 0;
};
std::string encode_response(const Response& r);
Error decode_response(std::string_view payload, Response* out);

// The bytes a unicast datagram's seal also authenticates (never sent): its
// destination's id and incarnation, so that it opens only there.
std::string destination_aad(uint64_t id, uint64_t incarnation);

inline constexpr size_t kGroups = 64;
inline constexpr size_t kBucketsPerGroup = 64;

struct DigestL1 {
    std::string_view cache;
    uint8_t mode = 1;
    uint64_t floor_hlc = 0, floor_node = 0;  // the cache's clear floor
    uint64_t groups[kGroups] = {};
};
std::string encode_digest_l1(const DigestL1& d);
Error decode_digest_l1(std::string_view payload, DigestL1* out);

struct DigestL2 {
    std::string_view cache;
    uint16_t group = 0;
    uint64_t buckets[kBucketsPerGroup] = {};
};
std::string encode_digest_l2(const DigestL2& d);
Error decode_digest_l2(std::string_view payload, DigestL2* out);

struct KeyVersion {
    std::string_view key;
    uint64_t hlc = 0, node = 0;
    bool tombstone = false;
};
// One bucket's (key, version) list, from the initiator of an anti-entropy
// round, with what the responder needs to decide what to send it.
struct Keys {
    std::string_view cache;
    uint16_t bucket = 0;
    uint64_t digest = 0;        // the sender's digest of this bucket
    uint64_t room_entries = 0;  // what the sender can still take without evicting
    uint64_t room_bytes = 0;
    uint64_t horizon_hlc = 0;   // the sender refuses versions at or below this
    uint64_t horizon_node = 0;  //   for keys it does not hold (collected tombstones)
    std::vector<KeyVersion> entries;
};
// The fields of `k` but its entries, then `count` for the entries that follow.
void encode_keys_prefix(Writer& w, const Keys& k, uint32_t count);
void encode_key_version(Writer& w, const KeyVersion& kv);
Error decode_keys(std::string_view payload, Keys* out);

struct Pull {
    std::string_view cache;
    std::vector<std::string_view> keys;
};
std::string encode_pull(std::string_view cache, const std::vector<std::string_view>& keys);
Error decode_pull(std::string_view payload, Pull* out);

// One message of the load lease protocol (docs/PROTOCOL.md §2.11, §4.6):
// which claim it is about and what it says of it. Fields a kind does not use
// are zero (or empty).
enum class LeaseKind : uint8_t {
    Claim = 1,     // to all: I want to load `key`; `version` is what I hold, `ms` the lease
    Granted = 2,   // to the claimant: no earlier claim holds the key here
    Held = 3,      // to the claimant or poller: claim `version` holds it for `ms` more
    Loaded = 4,    // the load ended with a value of version `version`
    Failed = 5,    // the load failed with `code` and `message`; cached here for `ms`
    Released = 6,  // the lease ended without a value (or this claim is unknown here)
    Poll = 7,      // to the holder: what became of claim `claim`?
};
inline constexpr uint8_t kMaxLeaseKind = 7;
inline constexpr size_t kMaxLeaseMessage = 1024;  // a loader's error text, truncated to this
struct Lease {
    LeaseKind kind = LeaseKind::Claim;
    std::string_view cache;
    std::string_view key;
    uint64_t claim_hlc = 0, claim_node = 0;      // the claim (node: the claimant)
    uint64_t version_hlc = 0, version_node = 0;  // by kind: held, holding claim, value
    uint32_t ms = 0;                             // by kind: lease, remaining, negative caching
    int32_t code = 0;                            // Failed: the loader's error code (< 0)
    std::string_view message;                    // Failed: its text
};
std::string encode_lease(const Lease& l);
Error decode_lease(std::string_view payload, Lease* out);

enum class QueryKind : uint8_t { Metrics = 1, Checksums = 2 };
struct Query {
    uint64_t request_id = 0;
    QueryKind kind = QueryKind::Metrics;
    std::string_view cache;  // empty: every cache
    std::string_view body;   // QueryReply: the member's JSON answer
};
std::string encode_query(const Query& q);
Error decode_query(std::string_view payload, Query* out, bool reply);

}  // namespace mccache::wire
