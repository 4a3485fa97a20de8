// The sealed path: Sealer::open on hostile bytes under a fixed key, and the
// seal -> open round trip on fuzzed headers, extra AAD and payloads, where
// any single flipped bit, or another extra AAD, must make open fail. Where
// the binary has both crypto backends (src/crypto/aead.h), the other one
// must seal the same bytes and open them too.
//
// Input: a mode byte, then
//   even: a datagram, opened as a receiver would (decode_header, then open);
//   odd:  header fields, a bit position, extra AAD (u16 length, then bytes)
//         and a payload to seal, open, flip.
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/seal.h"
#include "fuzz_input.h"
#include "wire/wire.h"

using namespace mccache;

namespace {

constexpr uint64_t kCluster = 0x1122334455667788ull;  // the test vectors' cluster id
constexpr uint64_t kSelf = 0x0102030405060708ull;

crypto::Key fixed_key(unsigned char base) {
    crypto::Key k;
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(base + i);
    return k;
}

// The receiver: seals with key A, accepts B too (a rotation in progress).
crypto::Sealer& receiver() {
    static crypto::Sealer* s = [] {
        auto* r = new crypto::Sealer(kCluster, kSelf, 1);
        FUZZ_CHECK(r->set_keys({fixed_key(0)}, {fixed_key(0x80)}).ok());
        return r;
    }();
    return *s;
}

// A sender's sealer, as the sender with that id and incarnation has it.
std::unique_ptr<crypto::Sealer> sender(uint64_t id, uint64_t incarnation, bool key_b,
                                       crypto::AeadFactory aead = &crypto::make_aead) {
    auto s = std::make_unique<crypto::Sealer>(kCluster, id, incarnation, aead);
    FUZZ_CHECK(s->set_keys({fixed_key(key_b ? 0x80 : 0)}, {}).ok());
    return s;
}

// The backend the library does not use, when this binary has it too.
crypto::AeadFactory other_backend() {
    const bool openssl = std::string(crypto::backend_name()) == "openssl";
#if defined(MCCACHE_WITH_MBEDTLS)
    if (openssl) return &crypto::make_mbedtls_aead;
#endif
#if defined(MCCACHE_WITH_OPENSSL)
    if (!openssl) return &crypto::make_openssl_aead;
#endif
    return nullptr;
}

// A receiver like receiver(), on the other backend.
crypto::Sealer* other_receiver() {
    static crypto::Sealer* s = [] {
        crypto::AeadFactory f = other_backend();
        if (!f) return static_cast<crypto::Sealer*>(nullptr);
        auto* r = new crypto::Sealer(kCluster, kSelf, 1, f);
        FUZZ_CHECK(r->set_keys({fixed_key(0)}, {fixed_key(0x80)}).ok());
        return r;
    }();
    return s;
}

void open_hostile(const uint8_t* data, size_t size) {
    std::vector<unsigned char> buf(data, data + size);
    wire::Header h;
    if (wire::decode_header(buf.data(), size, &h) != wire::Error::None) return;
    std::string plain;
    crypto::Sealer::Open r = receiver().open(buf.data(), size, h, &plain);
    if (!(h.flags & wire::kFlagSealed)) FUZZ_CHECK(r == crypto::Sealer::Open::Malformed);
    if (crypto::Sealer* rx = other_receiver()) {
        std::string other;
        FUZZ_CHECK(rx->open(buf.data(), size, h, &other) == r);  // the backends agree on hostile bytes
        FUZZ_CHECK(other == plain);
    }
    if (r != crypto::Sealer::Open::Ok) {
        FUZZ_CHECK(plain.empty());  // nothing unauthenticated leaks out
        return;
    }
    // Only a datagram the real sender would have produced opens: sealing
    // the plaintext again under the same header gives the same bytes.
    FUZZ_CHECK(plain.size() == h.payload_len);
    bool key_b = h.key_id == crypto::key_id(fixed_key(0x80));
    auto s = sender(h.sender, h.incarnation, key_b);
    FUZZ_CHECK(s->seal(h, plain) == std::string(reinterpret_cast<const char*>(data), size));
}

void round_trip(fuzz::Input& in) {
    wire::Header h;
    h.type = static_cast<wire::Type>(1 + in.u8() % wire::kMaxType);
    h.flags = in.flag() ? wire::kFlagSequenced : 0;
    h.cluster = kCluster;
    h.sender = in.u64();
    h.incarnation = in.u64();
    h.seq = in.u64();
    h.frag_count = static_cast<uint16_t>(in.u16() | 1);
    h.frag_index = static_cast<uint16_t>(in.u16() % h.frag_count);
    bool key_b = in.flag();
    uint32_t flip = in.u32();
    std::string extra = in.bytes(256);
    std::string payload = in.rest();
    if (payload.size() > wire::kMaxDatagram - wire::kHeaderSize - wire::kTagSize) return;

    auto s = sender(h.sender, h.incarnation, key_b);
    std::string d = s->seal(h, payload, extra);
    FUZZ_CHECK(d.size() == wire::kHeaderSize + payload.size() + wire::kTagSize);
    // Nothing of the plaintext is left in clear (a 16-byte run would be a leak).
    if (payload.size() >= 16) FUZZ_CHECK(d.find(payload.substr(0, 16), wire::kHeaderSize) != wire::kHeaderSize);

    auto* p = reinterpret_cast<const unsigned char*>(d.data());
    wire::Header got;
    FUZZ_CHECK(wire::decode_header(p, d.size(), &got) == wire::Error::None);
    FUZZ_CHECK(got.sender == h.sender && got.seq == h.seq && (got.flags & wire::kFlagSealed));
    std::string plain;
    FUZZ_CHECK(receiver().open(p, d.size(), got, &plain, extra) == crypto::Sealer::Open::Ok);
    FUZZ_CHECK(plain == payload);
    // Bound to `extra`: any other extra AAD (one byte changed, or one more)
    // refuses it.
    std::string other = extra + "!";
    FUZZ_CHECK(receiver().open(p, d.size(), got, &plain, other) == crypto::Sealer::Open::AuthFailed);
    FUZZ_CHECK(plain.empty());
    if (!extra.empty()) {
        other = extra;
        other[flip % other.size()] = static_cast<char>(other[flip % other.size()] ^ 0x01);
        FUZZ_CHECK(receiver().open(p, d.size(), got, &plain, other) == crypto::Sealer::Open::AuthFailed);
    }

    // The other backend: the same datagram, and it opens this one.
    if (crypto::Sealer* rx = other_receiver()) {
        FUZZ_CHECK(sender(h.sender, h.incarnation, key_b, other_backend())->seal(h, payload, extra) == d);
        FUZZ_CHECK(rx->open(p, d.size(), got, &plain, extra) == crypto::Sealer::Open::Ok);
        FUZZ_CHECK(plain == payload);
    }

    // One flipped bit, anywhere: never Ok.
    std::string bad = d;
    size_t bit = flip % (bad.size() * 8);
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    auto* b = reinterpret_cast<const unsigned char*>(bad.data());
    wire::Header bh;
    if (wire::decode_header(b, bad.size(), &bh) != wire::Error::None) return;
    std::string out;
    FUZZ_CHECK(receiver().open(b, bad.size(), bh, &out, extra) != crypto::Sealer::Open::Ok);
    FUZZ_CHECK(out.empty());
    if (crypto::Sealer* rx = other_receiver()) FUZZ_CHECK(rx->open(b, bad.size(), bh, &out, extra) != crypto::Sealer::Open::Ok);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    if (data[0] % 2 == 0) {
        open_hostile(data + 1, size - 1);
    } else {
        fuzz::Input in(data + 1, size - 1);
        round_trip(in);
    }
    return 0;
}
