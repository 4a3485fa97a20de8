// The plaintext datagram decoder and every payload decoder on hostile bytes.
// Besides not crashing, each decoder must only accept what its encoder
// would produce: whatever decodes re-encodes to the very same bytes, and
// every view it returns lies inside the input.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_input.h"
#include "wire/wire.h"

using namespace mccache::wire;

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void payload_decoders(std::string_view p) {
    {
        std::vector<Record> recs;
        if (decode_records(p, &recs) == Error::None) {
            FUZZ_CHECK(!recs.empty());
            std::string again;
            Writer w(again);
            for (const Record& r : recs) {
                FUZZ_CHECK(inside(r.cache, p) && inside(r.key, p) && inside(r.value, p));
                FUZZ_CHECK(!r.cache.empty());
                FUZZ_CHECK(r.op == Op::Clear ? r.key.empty() : !r.key.empty());
                FUZZ_CHECK(r.op == Op::Put || r.value.empty());
                encode_record(w, r);
            }
            FUZZ_CHECK(again == p);
        }
    }
    {
        std::vector<SeqRange> ranges;
        if (decode_ranges(p, &ranges) == Error::None) {
            for (const SeqRange& r : ranges) FUZZ_CHECK(r.from >= 1 && r.from <= r.to);
            FUZZ_CHECK(encode_ranges(ranges) == p);
        }
    }
    {
        Heartbeat hb;
        if (decode_heartbeat(p, &hb) == Error::None) FUZZ_CHECK(encode_heartbeat(hb) == p);
    }
    {
        DigestL1 d;
        if (decode_digest_l1(p, &d) == Error::None) {
            FUZZ_CHECK(inside(d.cache, p) && !d.cache.empty());
            FUZZ_CHECK(encode_digest_l1(d) == p);
        }
    }
    {
        DigestL2 d;
        if (decode_digest_l2(p, &d) == Error::None) {
            FUZZ_CHECK(inside(d.cache, p) && d.group < kGroups);
            FUZZ_CHECK(encode_digest_l2(d) == p);
        }
    }
    {
        Keys k;
        if (decode_keys(p, &k) == Error::None) {
            FUZZ_CHECK(inside(k.cache, p) && k.bucket < kGroups * kBucketsPerGroup);
            std::string again;
            Writer w(again);
            encode_keys_prefix(w, k, static_cast<uint32_t>(k.entries.size()));
            for (const KeyVersion& kv : k.entries) {
                FUZZ_CHECK(inside(kv.key, p) && !kv.key.empty());
                encode_key_version(w, kv);
            }
            FUZZ_CHECK(again == p);
        }
    }
    {
        Pull pull;
        if (decode_pull(p, &pull) == Error::None) {
            for (std::string_view k : pull.keys) FUZZ_CHECK(inside(k, p) && !k.empty());
            FUZZ_CHECK(encode_pull(pull.cache, pull.keys) == p);
        }
    }
    for (bool reply : {false, true}) {
        Query q;
        if (decode_query(p, &q, reply) == Error::None) {
            FUZZ_CHECK(inside(q.cache, p) && inside(q.body, p));
            FUZZ_CHECK(reply || q.body.empty());
            FUZZ_CHECK(encode_query(q) == p);
        }
    }
    {
        Challenge c;
        if (decode_challenge(p, &c) == Error::None) FUZZ_CHECK(encode_challenge(c) == p);
        Response r;
        if (decode_response(p, &r) == Error::None) FUZZ_CHECK(encode_response(r) == p);
        Nack n;
        if (decode_nack(p, &n) == Error::None) FUZZ_CHECK(encode_nack(n) == p);
        RepairAck a;
        if (decode_repair_ack(p, &a) == Error::None) FUZZ_CHECK(encode_repair_ack(a) == p);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // Exact-size copy: a read one past the end is then an ASan report.
    std::vector<unsigned char> buf(data, data + size);
    const unsigned char* d = buf.data();

    Header h;
    Error he = decode_header(d, size, &h);
    if (he == Error::None) {
        size_t trailer = (h.flags & kFlagSealed) ? kTagSize : kCrcSize;
        FUZZ_CHECK(size == kHeaderSize + h.payload_len + trailer);
        FUZZ_CHECK(h.frag_index < h.frag_count);
        FUZZ_CHECK(h.version == kVersion && static_cast<uint8_t>(h.type) >= 1 &&
                   static_cast<uint8_t>(h.type) <= kMaxType);
        FUZZ_CHECK((h.flags & ~kKnownFlags) == 0);
        unsigned char again[kHeaderSize];
        encode_header(h, again);
        FUZZ_CHECK(std::memcmp(again, d, kHeaderSize) == 0);
    }

    Header ph;
    std::string_view payload;
    Error pe = decode_plain(d, size, &ph, &payload);
    if (pe == Error::None) {
        FUZZ_CHECK(he == Error::None && !(ph.flags & kFlagSealed));
        FUZZ_CHECK(payload.data() == reinterpret_cast<const char*>(d) + kHeaderSize);
        FUZZ_CHECK(payload.size() == ph.payload_len);
        // Re-encoding gives the same datagram (encode_plain writes key id 0).
        std::string re = encode_plain(ph, payload);
        FUZZ_CHECK(re.size() == size);
        FUZZ_CHECK(std::memcmp(re.data(), d, 7) == 0);
        FUZZ_CHECK(std::memcmp(re.data() + 8, d + 8, kHeaderSize - 8 + payload.size()) == 0);
        if (d[7] == 0) FUZZ_CHECK(std::memcmp(re.data(), d, size) == 0);
        payload_decoders(payload);
    }

    // Payload decoders on the raw input as well: they see any bytes a
    // member could seal.
    payload_decoders(std::string_view(reinterpret_cast<const char*>(d), size));
    return 0;
}
