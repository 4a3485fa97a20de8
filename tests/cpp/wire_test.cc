// The wire codec: the vectors in tests/vectors (written from the spec by an
// independent implementation) decode to their fields and re-encode to the
// same bytes; every refusal has its reason; hostile lengths never read past
// the end.
#include "wire/wire.h"

#include <cjson/cJSON.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>

#ifndef MCCACHE_SOURCE_DIR
#error "MCCACHE_SOURCE_DIR must point at the repository"
#endif

using namespace mccache::wire;

namespace {

std::string from_hex(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string to_hex(std::string_view s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out.push_back(d[c >> 4]);
        out.push_back(d[c & 15]);
    }
    return out;
}

uint64_t u64(const cJSON* j) {
    if (cJSON_IsString(j)) return std::stoull(j->valuestring);
    return static_cast<uint64_t>(j->valuedouble);
}
int64_t i64(const cJSON* j) {
    if (cJSON_IsString(j)) return std::stoll(j->valuestring);
    return static_cast<int64_t>(j->valuedouble);
}
const cJSON* at(const cJSON* o, const char* k) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, k);
    EXPECT_NE(v, nullptr) << k;
    return v;
}

struct Vectors {
    cJSON* root = nullptr;
    Vectors() {
        std::ifstream f(std::string(MCCACHE_SOURCE_DIR) + "/tests/vectors/datagrams.json");
        std::stringstream ss;
        ss << f.rdbuf();
        root = cJSON_Parse(ss.str().c_str());
    }
    ~Vectors() { cJSON_Delete(root); }
};

Type type_of(const std::string& name) {
    static const std::pair<const char*, Type> names[] = {
        {"data", Type::Data}, {"heartbeat", Type::Heartbeat}, {"goodbye", Type::Goodbye},
        {"nack", Type::Nack}, {"gone", Type::Gone}, {"digest_l1", Type::DigestL1},
        {"digest_l2", Type::DigestL2}, {"keys", Type::Keys}, {"repair", Type::Repair},
        {"pull", Type::Pull}, {"query", Type::Query}, {"query_reply", Type::QueryReply},
        {"challenge", Type::Challenge}, {"response", Type::Response}, {"repair_ack", Type::RepairAck},
        {"lease", Type::Lease}};
    for (auto& [n, t] : names)
        if (name == n) return t;
    ADD_FAILURE() << "unknown type " << name;
    return Type::Data;
}

Op op_of(const std::string& name) {
    return name == "put" ? Op::Put : name == "delete" ? Op::Delete : Op::Clear;
}

// Re-encodes a vector's payload from its JSON fields.
std::string encode_fields(const cJSON* v, Type type, std::deque<std::string>& keep) {
    std::string payload;
    Writer w(payload);
    if (const cJSON* recs = cJSON_GetObjectItemCaseSensitive(v, "records")) {
        const cJSON* r;
        cJSON_ArrayForEach(r, recs) {
            Record rec;
            rec.op = op_of(at(r, "op")->valuestring);
            keep.push_back(at(r, "cache")->valuestring);
            rec.cache = keep.back();
            keep.push_back(from_hex(at(r, "key_hex")->valuestring));
            rec.key = keep.back();
            keep.push_back(from_hex(at(r, "value_hex")->valuestring));
            rec.value = keep.back();
            rec.hlc = u64(at(r, "hlc"));
            rec.node = u64(at(r, "node"));
            rec.expires_ms = i64(at(r, "expires_ms"));
            encode_record(w, rec);
        }
        return payload;
    }
    if (const cJSON* f = cJSON_GetObjectItemCaseSensitive(v, "fragment_hex")) return from_hex(f->valuestring);
    if (const cJSON* hb = cJSON_GetObjectItemCaseSensitive(v, "heartbeat"))
        return encode_heartbeat({u64(at(hb, "last_seq")), u64(at(hb, "started_ms"))});
    auto partials_of = [](const cJSON* ps) {
        std::vector<PartialMessage> out;
        const cJSON* p;
        cJSON_ArrayForEach(p, ps) {
            PartialMessage pm;
            pm.seq = u64(at(p, "seq"));
            pm.highest = static_cast<uint16_t>(u64(at(p, "highest")));
            pm.tail = cJSON_IsTrue(at(p, "tail")) != 0;
            const cJSON* r;
            cJSON_ArrayForEach(r, at(p, "missing"))
                pm.missing.emplace_back(static_cast<uint16_t>(u64(cJSON_GetArrayItem(r, 0))),
                                        static_cast<uint16_t>(u64(cJSON_GetArrayItem(r, 1))));
            out.push_back(pm);
        }
        return out;
    };
    if (const cJSON* rs = cJSON_GetObjectItemCaseSensitive(v, "ranges")) {
        std::vector<SeqRange> ranges;
        const cJSON* r;
        cJSON_ArrayForEach(r, rs) ranges.push_back({u64(cJSON_GetArrayItem(r, 0)), u64(cJSON_GetArrayItem(r, 1))});
        if (type == Type::Gone) return encode_ranges(ranges);
        Nack n;
        n.ranges = ranges;
        n.partial = partials_of(at(v, "partial"));
        return encode_nack(n);
    }
    if (const cJSON* a = cJSON_GetObjectItemCaseSensitive(v, "repair_ack")) {
        RepairAck ack;
        ack.window = static_cast<uint32_t>(u64(at(a, "window")));
        const cJSON* d;
        cJSON_ArrayForEach(d, at(a, "done")) ack.done.push_back(u64(d));
        ack.partial = partials_of(at(a, "partial"));
        return encode_repair_ack(ack);
    }
    if (const cJSON* d = cJSON_GetObjectItemCaseSensitive(v, "digest_l1")) {
        DigestL1 l1;
        keep.push_back(at(d, "cache")->valuestring);
        l1.cache = keep.back();
        l1.mode = static_cast<uint8_t>(u64(at(d, "mode")));
        l1.floor_hlc = u64(at(d, "floor_hlc"));
        l1.floor_node = u64(at(d, "floor_node"));
        for (int i = 0; i < 64; ++i) l1.groups[i] = u64(cJSON_GetArrayItem(at(d, "groups"), i));
        return encode_digest_l1(l1);
    }
    if (const cJSON* d = cJSON_GetObjectItemCaseSensitive(v, "digest_l2")) {
        DigestL2 l2;
        keep.push_back(at(d, "cache")->valuestring);
        l2.cache = keep.back();
        l2.group = static_cast<uint16_t>(u64(at(d, "group")));
        for (int i = 0; i < 64; ++i) l2.buckets[i] = u64(cJSON_GetArrayItem(at(d, "buckets"), i));
        return encode_digest_l2(l2);
    }
    if (const cJSON* k = cJSON_GetObjectItemCaseSensitive(v, "keys")) {
        const cJSON* entries = at(k, "entries");
        Keys head;
        keep.push_back(at(k, "cache")->valuestring);
        head.cache = keep.back();
        head.bucket = static_cast<uint16_t>(u64(at(k, "bucket")));
        head.digest = u64(at(k, "digest"));
        head.room_entries = u64(at(k, "room_entries"));
        head.room_bytes = u64(at(k, "room_bytes"));
        head.horizon_hlc = u64(at(k, "horizon_hlc"));
        head.horizon_node = u64(at(k, "horizon_node"));
        encode_keys_prefix(w, head, static_cast<uint32_t>(cJSON_GetArraySize(entries)));
        const cJSON* e;
        cJSON_ArrayForEach(e, entries) {
            keep.push_back(from_hex(at(e, "key_hex")->valuestring));
            encode_key_version(w, {keep.back(), u64(at(e, "hlc")), u64(at(e, "node")),
                                   cJSON_IsTrue(at(e, "tombstone")) != 0});
        }
        return payload;
    }
    if (const cJSON* p = cJSON_GetObjectItemCaseSensitive(v, "pull")) {
        std::vector<std::string_view> keys;
        const cJSON* k;
        cJSON_ArrayForEach(k, at(p, "keys_hex")) {
            keep.push_back(from_hex(k->valuestring));
            keys.push_back(keep.back());
        }
        return encode_pull(at(p, "cache")->valuestring, keys);
    }
    if (const cJSON* q = cJSON_GetObjectItemCaseSensitive(v, "query")) {
        Query query;
        query.request_id = u64(at(q, "request_id"));
        query.kind = static_cast<QueryKind>(u64(at(q, "kind")));
        keep.push_back(at(q, "cache")->valuestring);
        query.cache = keep.back();
        keep.push_back(at(q, "body")->valuestring);
        query.body = keep.back();
        return encode_query(query);
    }
    if (const cJSON* c = cJSON_GetObjectItemCaseSensitive(v, "challenge")) {
        Challenge ch;
        ch.target = u64(at(c, "target"));
        ch.target_incarnation = u64(at(c, "target_incarnation"));
        std::string nonce = from_hex(at(c, "nonce_hex")->valuestring);
        EXPECT_EQ(nonce.size(), kNonceSize);
        std::memcpy(ch.nonce, nonce.data(), std::min(nonce.size(), kNonceSize));
        return encode_challenge(ch);
    }
    if (const cJSON* r = cJSON_GetObjectItemCaseSensitive(v, "response")) {
        Response resp;
        resp.challenger = u64(at(r, "challenger"));
        resp.challenger_incarnation = u64(at(r, "challenger_incarnation"));
        std::string nonce = from_hex(at(r, "nonce_hex")->valuestring);
        EXPECT_EQ(nonce.size(), kNonceSize);
        std::memcpy(resp.nonce, nonce.data(), std::min(nonce.size(), kNonceSize));
        resp.last_seq = u64(at(r, "last_seq"));
        resp.to_all_seq = u64(at(r, "to_all_seq"));
        resp.to_one_seq = u64(at(r, "to_one_seq"));
        resp.started_ms = u64(at(r, "started_ms"));
        return encode_response(resp);
    }
    if (const cJSON* l = cJSON_GetObjectItemCaseSensitive(v, "lease")) {
        Lease lease;
        lease.kind = static_cast<LeaseKind>(u64(at(l, "kind")));
        keep.push_back(at(l, "cache")->valuestring);
        lease.cache = keep.back();
        keep.push_back(from_hex(at(l, "key_hex")->valuestring));
        lease.key = keep.back();
        lease.claim_hlc = u64(at(l, "claim_hlc"));
        lease.claim_node = u64(at(l, "claim_node"));
        lease.version_hlc = u64(at(l, "version_hlc"));
        lease.version_node = u64(at(l, "version_node"));
        lease.ms = static_cast<uint32_t>(u64(at(l, "ms")));
        lease.code = static_cast<int32_t>(i64(at(l, "code")));
        keep.push_back(at(l, "message")->valuestring);
        lease.message = keep.back();
        return encode_lease(lease);
    }
    ADD_FAILURE() << "vector without a known payload";
    (void)type;
    return payload;
}

TEST(WireVectors, DecodeAndReencodeEveryValidVector) {
    Vectors v;
    ASSERT_NE(v.root, nullptr) << "tests/vectors/datagrams.json missing or invalid";
    const cJSON* valid = at(v.root, "valid");
    ASSERT_GT(cJSON_GetArraySize(valid), 10);
    const cJSON* vec;
    cJSON_ArrayForEach(vec, valid) {
        std::string name = at(vec, "name")->valuestring;
        SCOPED_TRACE(name);
        std::string bytes = from_hex(at(vec, "datagram_hex")->valuestring);
        Header h;
        std::string_view payload;
        ASSERT_EQ(decode_plain(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &h, &payload),
                  Error::None);
        const cJSON* jh = at(vec, "header");
        Type type = type_of(at(jh, "type")->valuestring);
        EXPECT_EQ(h.type, type);
        EXPECT_EQ(h.flags, u64(at(jh, "flags")));
        EXPECT_EQ(h.cluster, u64(at(jh, "cluster")));
        EXPECT_EQ(h.sender, u64(at(jh, "sender")));
        EXPECT_EQ(h.incarnation, u64(at(jh, "incarnation")));
        EXPECT_EQ(h.seq, u64(at(jh, "seq")));
        if (const cJSON* fc = cJSON_GetObjectItemCaseSensitive(jh, "frag_count")) {
            EXPECT_EQ(h.frag_count, u64(fc));
        }
        if (const cJSON* fi = cJSON_GetObjectItemCaseSensitive(jh, "frag_index")) {
            EXPECT_EQ(h.frag_index, u64(fi));
        }

        // The payload parses as its type says.
        switch (type) {
            case Type::Data:
            case Type::Repair:
                if (h.frag_count == 1) {
                    std::vector<Record> recs;
                    EXPECT_EQ(decode_records(payload, &recs), Error::None);
                    EXPECT_EQ(recs.size(), static_cast<size_t>(cJSON_GetArraySize(at(vec, "records"))));
                }
                break;
            case Type::Heartbeat:
            case Type::Goodbye: {
                Heartbeat hb;
                EXPECT_EQ(decode_heartbeat(payload, &hb), Error::None);
                EXPECT_EQ(hb.last_seq, u64(at(at(vec, "heartbeat"), "last_seq")));
                break;
            }
            case Type::Nack: {
                Nack n;
                EXPECT_EQ(decode_nack(payload, &n), Error::None);
                EXPECT_EQ(n.partial.size(), static_cast<size_t>(cJSON_GetArraySize(at(vec, "partial"))));
                break;
            }
            case Type::Gone: {
                std::vector<SeqRange> r;
                EXPECT_EQ(decode_ranges(payload, &r), Error::None);
                break;
            }
            case Type::RepairAck: {
                RepairAck a;
                EXPECT_EQ(decode_repair_ack(payload, &a), Error::None);
                EXPECT_EQ(a.done.size(), 2u);
                ASSERT_EQ(a.partial.size(), 1u);
                EXPECT_TRUE(a.partial[0].tail);
                EXPECT_EQ(a.partial[0].missing.size(), 2u);
                break;
            }
            case Type::DigestL1: {
                DigestL1 d;
                EXPECT_EQ(decode_digest_l1(payload, &d), Error::None);
                EXPECT_EQ(d.groups[63], u64(cJSON_GetArrayItem(at(at(vec, "digest_l1"), "groups"), 63)));
                break;
            }
            case Type::DigestL2: {
                DigestL2 d;
                EXPECT_EQ(decode_digest_l2(payload, &d), Error::None);
                EXPECT_EQ(d.group, 63);
                break;
            }
            case Type::Keys: {
                Keys k;
                EXPECT_EQ(decode_keys(payload, &k), Error::None);
                ASSERT_EQ(k.entries.size(), 2u);
                EXPECT_TRUE(k.entries[1].tombstone);
                break;
            }
            case Type::Pull: {
                Pull p;
                EXPECT_EQ(decode_pull(payload, &p), Error::None);
                EXPECT_EQ(p.keys.size(), 2u);
                break;
            }
            case Type::Query:
            case Type::QueryReply: {
                Query q;
                EXPECT_EQ(decode_query(payload, &q, type == Type::QueryReply), Error::None);
                EXPECT_EQ(q.request_id, 99u);
                break;
            }
            case Type::Challenge: {
                Challenge c;
                EXPECT_EQ(decode_challenge(payload, &c), Error::None);
                EXPECT_EQ(c.target, u64(at(at(vec, "challenge"), "target")));
                break;
            }
            case Type::Lease: {
                Lease l;
                EXPECT_EQ(decode_lease(payload, &l), Error::None);
                const cJSON* jl = at(vec, "lease");
                EXPECT_EQ(static_cast<uint64_t>(l.kind), u64(at(jl, "kind")));
                EXPECT_EQ(l.cache, at(jl, "cache")->valuestring);
                EXPECT_EQ(std::string(l.key), from_hex(at(jl, "key_hex")->valuestring));
                EXPECT_EQ(l.claim_hlc, u64(at(jl, "claim_hlc")));
                EXPECT_EQ(l.claim_node, u64(at(jl, "claim_node")));
                EXPECT_EQ(l.ms, u64(at(jl, "ms")));
                EXPECT_EQ(l.code, i64(at(jl, "code")));
                EXPECT_EQ(l.message, at(jl, "message")->valuestring);
                break;
            }
            case Type::Response: {
                Response r;
                EXPECT_EQ(decode_response(payload, &r), Error::None);
                EXPECT_EQ(r.last_seq, u64(at(at(vec, "response"), "last_seq")));
                EXPECT_EQ(r.to_one_seq, u64(at(at(vec, "response"), "to_one_seq")));
                break;
            }
        }

        // And the engine's encoder produces the very same bytes.
        std::deque<std::string> keep;
        std::string re_payload = encode_fields(vec, type, keep);
        EXPECT_EQ(to_hex(re_payload), to_hex(payload));
        Header out;
        out.type = type;
        out.flags = static_cast<uint8_t>(u64(at(jh, "flags")));
        out.cluster = h.cluster;
        out.sender = h.sender;
        out.incarnation = h.incarnation;
        out.seq = h.seq;
        out.frag_index = h.frag_index;
        out.frag_count = h.frag_count;
        EXPECT_EQ(to_hex(encode_plain(out, re_payload)), at(vec, "datagram_hex")->valuestring);
    }
}

TEST(WireVectors, FragmentsReassembleToTheWholeRecord) {
    Vectors v;
    ASSERT_NE(v.root, nullptr);
    std::string whole;
    const cJSON* vec;
    cJSON_ArrayForEach(vec, at(v.root, "valid")) {
        std::string name = at(vec, "name")->valuestring;
        if (name.rfind("data-fragment-", 0) == 0) whole += from_hex(at(vec, "fragment_hex")->valuestring);
    }
    std::vector<Record> recs;
    ASSERT_EQ(decode_records(whole, &recs), Error::None);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].value, std::string(40, 'x'));
}

TEST(WireVectors, EveryInvalidVectorIsRefusedForItsReason) {
    Vectors v;
    ASSERT_NE(v.root, nullptr);
    const cJSON* vec;
    int n = 0;
    cJSON_ArrayForEach(vec, at(v.root, "invalid")) {
        SCOPED_TRACE(at(vec, "name")->valuestring);
        std::string bytes = from_hex(at(vec, "datagram_hex")->valuestring);
        Header h;
        std::string_view payload;
        Error e = decode_plain(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), &h, &payload);
        EXPECT_STREQ(error_name(e), at(vec, "error")->valuestring);
        ++n;
    }
    EXPECT_GE(n, 14);
}

TEST(Wire, Crc32cKnownAnswer) { EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u); }

TEST(Wire, RecordsWithLyingLengthsAreMalformed) {
    Record r;
    r.cache = "c";
    r.key = "key";
    r.value = "value";
    r.hlc = 1;
    r.node = 2;
    std::string p;
    Writer w(p);
    encode_record(w, r);
    std::vector<Record> out;
    ASSERT_EQ(decode_records(p, &out), Error::None);
    // Every truncation is refused, and so is a value length that overruns.
    for (size_t n = 0; n < p.size(); ++n) EXPECT_EQ(decode_records(std::string_view(p.data(), n), &out), Error::Malformed) << n;
    std::string lying = p;
    lying[11] = static_cast<char>(0x7f);  // value length high byte
    EXPECT_EQ(decode_records(lying, &out), Error::Malformed);
    std::string bad_op = p;
    bad_op[0] = 9;
    EXPECT_EQ(decode_records(bad_op, &out), Error::Malformed);
}

TEST(Wire, ControlPayloadsRefuseCountsTheyCannotHold) {
    std::string p;
    Writer w(p);
    w.str16("c");
    w.u16(1);
    w.u8(0);
    w.u32(0xFFFFFFFF);  // four billion entries in a few bytes
    Keys k;
    EXPECT_EQ(decode_keys(p, &k), Error::Malformed);
    std::string q;
    Writer wq(q);
    wq.str16("c");
    wq.u32(0xFFFFFFFF);
    Pull pull;
    EXPECT_EQ(decode_pull(q, &pull), Error::Malformed);
    std::vector<SeqRange> r;
    EXPECT_EQ(decode_ranges(std::string("\xff\xff", 2), &r), Error::Malformed);
}

TEST(Wire, RandomBytesNeverCrashTheDecoders) {
    std::mt19937 rng(1);
    std::string buf;
    for (int i = 0; i < 20000; ++i) {
        buf.resize(rng() % 300);
        for (char& c : buf) c = static_cast<char>(rng());
        if (i % 2 && buf.size() >= kHeaderSize) {  // often a valid header in front
            Header h;
            h.type = static_cast<Type>(1 + rng() % kMaxType);
            std::string d = encode_plain(h, std::string_view(buf).substr(kHeaderSize));
            buf = d;
        }
        Header h;
        std::string_view payload;
        if (decode_plain(reinterpret_cast<const unsigned char*>(buf.data()), buf.size(), &h, &payload) != Error::None)
            continue;
        std::vector<Record> recs;
        (void)decode_records(payload, &recs);
        Keys k;
        (void)decode_keys(payload, &k);
        Pull p;
        (void)decode_pull(payload, &p);
        DigestL1 d1;
        (void)decode_digest_l1(payload, &d1);
        Query q;
        (void)decode_query(payload, &q, true);
    }
}

}  // namespace
