// The crypto backends (src/crypto/aead.h) and the Sealer on top of them.
//
// Every test that can runs once per backend linked into this binary: the
// library's own (OpenSSL or mbedTLS, as configured) and, when its library
// is installed, the other one (mccache_crypto_alt). They must agree with
// - the AES-256-GCM test cases of the GCM specification (McGrew and Viega,
//   cases 13 to 16), which neither library wrote;
// - tests/vectors/sealed.json, sealed from docs/SECURITY.md by an
//   independent Python implementation (HKDF, nonce and AAD layout);
// - each other, datagram for datagram, in both directions.
#include <cjson/cJSON.h>
#include <gtest/gtest.h>
#include <mbedtls/sha256.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/seal.h"
#include "wire/wire.h"

namespace crypto = mccache::crypto;
namespace wire = mccache::wire;

namespace {

struct Backend {
    std::string name;
    crypto::AeadFactory make;
};

void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

std::vector<Backend> linked_backends() {
    std::vector<Backend> out;
#if defined(MCCACHE_WITH_OPENSSL)
    out.push_back({"openssl", &crypto::make_openssl_aead});
#endif
#if defined(MCCACHE_WITH_MBEDTLS)
    out.push_back({"mbedtls", &crypto::make_mbedtls_aead});
#endif
    return out;
}

std::string unhex(const std::string& h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

std::string hex(const std::string& b) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : b) {
        out.push_back(d[c >> 4]);
        out.push_back(d[c & 15]);
    }
    return out;
}

const unsigned char* u(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* u(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

std::string sha256_hex(const std::string& s) {
    unsigned char d[32];
    mbedtls_sha256_ret(u(s), s.size(), d, 0);
    return hex(std::string(reinterpret_cast<char*>(d), sizeof d));
}

crypto::Key key_from(const std::string& bytes) {
    crypto::Key k{};
    EXPECT_EQ(bytes.size(), k.size());
    std::memcpy(k.data(), bytes.data(), std::min(bytes.size(), k.size()));
    return k;
}

crypto::Key pattern_key(unsigned char base) {
    crypto::Key k;
    for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(base + i);
    return k;
}

// Seal with `aead`; returns ciphertext || tag, or "<failed>".
std::string aead_seal(crypto::Aead& aead, const std::string& nonce, const std::string& aad_a, const std::string& aad_b,
                      const std::string& pt) {
    std::string out(pt.size() + crypto::kAeadTagSize, '\0');
    crypto::Aad aad{u(aad_a), aad_a.size(), u(aad_b), aad_b.size()};
    if (!aead.seal(u(nonce), aad, u(pt), pt.size(), u(out), u(out) + pt.size())) return "<failed>";
    return out;
}

// Open ciphertext || tag; returns the plaintext or "<failed>".
std::string aead_open(crypto::Aead& aead, const std::string& nonce, const std::string& aad_a, const std::string& aad_b,
                      const std::string& ct_tag) {
    if (ct_tag.size() < crypto::kAeadTagSize) return "<failed>";
    size_t n = ct_tag.size() - crypto::kAeadTagSize;
    std::string out(n, '\0');
    crypto::Aad aad{u(aad_a), aad_a.size(), u(aad_b), aad_b.size()};
    if (!aead.open(u(nonce), aad, u(ct_tag), n, u(ct_tag) + n, u(out))) return "<failed>";
    return out;
}

wire::Header header(uint64_t cluster, uint64_t sender, uint64_t incarnation, uint64_t seq, uint8_t flags = wire::kFlagSequenced,
                    wire::Type type = wire::Type::Data) {
    wire::Header h;
    h.type = type;
    h.flags = flags;
    h.cluster = cluster;
    h.sender = sender;
    h.incarnation = incarnation;
    h.seq = seq;
    return h;
}

// Decodes and opens as a receiver would.
crypto::Sealer::Open open_datagram(crypto::Sealer& s, const std::string& d, std::string* out,
                                   std::string_view extra = {}) {
    wire::Header h;
    if (wire::decode_header(u(d), d.size(), &h) != wire::Error::None) {
        out->clear();  // the receiver drops it before the Sealer sees it
        return crypto::Sealer::Open::Malformed;
    }
    return s.open(u(d), d.size(), h, out, extra);
}

constexpr uint64_t kCluster = 0x1122334455667788ull;

class AeadTest : public ::testing::TestWithParam<Backend> {};

std::string backend_label(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

}  // namespace

// ---- the build's backend ------------------------------------------------------

TEST(CryptoBackend, NamedAndVersioned) {
    const std::string name = crypto::backend_name(), version = crypto::backend_version();
    std::printf("[ backend  ] %s: %s\n", name.c_str(), version.c_str());
    ASSERT_TRUE(name == "openssl" || name == "mbedtls") << name;
    // The version is the running library's, and must be that library's.
    EXPECT_NE(version.find(name == "openssl" ? "OpenSSL" : "mbed TLS"), std::string::npos) << version;
    bool linked = false;
    for (const Backend& b : linked_backends()) linked |= b.name == name;
    EXPECT_TRUE(linked) << "the library's backend must be one this binary sees as linked";
}

// ---- Aead: the GCM specification's AES-256 test cases ----------------------------

namespace {
struct Kat {
    const char *name, *key, *iv, *aad, *pt, *ct_tag;
};
// McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", test
// cases 13-16 (AES-256, 96-bit IV).
const Kat kKats[] = {
    {"case13", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "",
     "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case14", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"},
    {"case15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de6"
     "57ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a"
     "0abcc9f662898015adb094dac5d93471bdec1a502270e3cc6c"},
    {"case16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de6"
     "57ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a"
     "0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"},
};
}  // namespace

TEST_P(AeadTest, GcmSpecificationTestCases) {
    for (const Kat& k : kKats) {
        SCOPED_TRACE(k.name);
        std::string key = unhex(k.key), iv = unhex(k.iv), aad = unhex(k.aad), pt = unhex(k.pt), want = unhex(k.ct_tag);
        auto aead = GetParam().make(u(key));
        ASSERT_TRUE(aead);
        EXPECT_EQ(hex(aead_seal(*aead, iv, aad, "", pt)), hex(want));
        EXPECT_EQ(aead_open(*aead, iv, aad, "", want), pt);
        // A wrong tag, ciphertext, AAD or nonce: refused.
        for (size_t bit : {size_t{0}, want.size() * 8 - 1, want.size() * 4}) {
            std::string bad = want;
            bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
            EXPECT_EQ(aead_open(*aead, iv, aad, "", bad), "<failed>") << "bit " << bit;
        }
        EXPECT_EQ(aead_open(*aead, iv, aad, "x", want), "<failed>");
        std::string iv2 = iv;
        iv2[11] = static_cast<char>(iv2[11] ^ 1);
        EXPECT_EQ(aead_open(*aead, iv2, aad, "", want), "<failed>");
    }
}

TEST_P(AeadTest, AadInTwoPiecesIsTheirConcatenation) {
    const Kat& k = kKats[3];
    std::string key = unhex(k.key), iv = unhex(k.iv), aad = unhex(k.aad), pt = unhex(k.pt), want = unhex(k.ct_tag);
    auto aead = GetParam().make(u(key));
    ASSERT_TRUE(aead);
    for (size_t cut = 0; cut <= aad.size(); ++cut) {
        SCOPED_TRACE(cut);
        std::string a = aad.substr(0, cut), b = aad.substr(cut);
        EXPECT_EQ(hex(aead_seal(*aead, iv, a, b, pt)), hex(want));
        EXPECT_EQ(aead_open(*aead, iv, a, b, want), pt);
    }
}

TEST_P(AeadTest, InPlaceEqualsOutOfPlace) {
    const Kat& k = kKats[3];
    std::string key = unhex(k.key), iv = unhex(k.iv), aad = unhex(k.aad), pt = unhex(k.pt), want = unhex(k.ct_tag);
    auto aead = GetParam().make(u(key));
    ASSERT_TRUE(aead);
    std::string buf = pt + std::string(crypto::kAeadTagSize, '\0');
    crypto::Aad a{u(aad), aad.size(), nullptr, 0};
    ASSERT_TRUE(aead->seal(u(iv), a, u(buf), pt.size(), u(buf), u(buf) + pt.size()));
    EXPECT_EQ(hex(buf), hex(want));
    ASSERT_TRUE(aead->open(u(iv), a, u(buf), pt.size(), u(buf) + pt.size(), u(buf)));
    EXPECT_EQ(buf.substr(0, pt.size()), pt);
}

TEST_P(AeadTest, OneContextServesManyCallsInEitherDirection) {
    // The context (key schedule, and OpenSSL's cipher context) is kept
    // across datagrams: no state may leak from one call into the next,
    // whatever the order of seals, opens and failed opens. Each result must
    // equal a fresh context's.
    std::mt19937_64 rng(12);
    std::string key(32, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    auto kept = GetParam().make(u(key));
    ASSERT_TRUE(kept);
    for (int i = 0; i < 300; ++i) {
        SCOPED_TRACE(i);
        std::string iv(12, '\0'), aad(rng() % 70, '\0'), extra(rng() % 3 == 0 ? rng() % 20 : 0, '\0'),
            pt(rng() % 600, '\0');
        for (std::string* s : {&iv, &aad, &extra, &pt})
            for (char& c : *s) c = static_cast<char>(rng());
        auto fresh = GetParam().make(u(key));
        ASSERT_TRUE(fresh);
        std::string sealed = aead_seal(*kept, iv, aad, extra, pt);
        ASSERT_EQ(sealed, aead_seal(*fresh, iv, aad, extra, pt));
        switch (rng() % 3) {
            case 0:
                EXPECT_EQ(aead_open(*kept, iv, aad, extra, sealed), pt);
                break;
            case 1: {
                std::string bad = sealed;
                bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
                EXPECT_EQ(aead_open(*kept, iv, aad, extra, bad), "<failed>");
                break;
            }
            default:
                break;  // seal twice in a row
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, AeadTest, ::testing::ValuesIn(linked_backends()), backend_label);

// ---- sealed datagrams: tests/vectors/sealed.json ------------------------------------

namespace {

struct SealedVector {
    std::string name, key, extra, subkey, nonce, datagram, datagram_sha256, tag;
    wire::Header h;
    uint8_t key_id = 0;
    size_t datagram_len = 0;
    std::string payload;
};

std::string payload_of(size_t n, unsigned seed) {
    std::string p(n, '\0');
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>((i * 131 + seed) & 0xFF);
    return p;
}

uint64_t num(const cJSON* o, const char* field) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, field);
    EXPECT_TRUE(cJSON_IsNumber(v)) << field;
    return v ? static_cast<uint64_t>(v->valuedouble) : 0;
}

std::string str(const cJSON* o, const char* field) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, field);
    return cJSON_IsString(v) ? v->valuestring : "";
}

uint64_t hex_u64(const cJSON* o, const char* field) {
    std::string s = str(o, field);
    EXPECT_EQ(s.size(), 16u) << field;
    return s.empty() ? 0 : std::stoull(s, nullptr, 16);
}

std::vector<SealedVector> load_vectors(std::map<std::string, std::string>* keys) {
    std::ifstream f(std::string(MCCACHE_SOURCE_DIR) + "/tests/vectors/sealed.json");
    std::stringstream text;
    text << f.rdbuf();
    cJSON* root = cJSON_Parse(text.str().c_str());
    std::vector<SealedVector> out;
    if (!root) {
        ADD_FAILURE() << "tests/vectors/sealed.json missing or invalid";
        return out;
    }
    const cJSON* k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(root, "keys")) {
        (*keys)[k->string] = unhex(str(k, "key_hex"));
    }
    const cJSON* v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "vectors")) {
        SealedVector s;
        s.name = str(v, "name");
        s.key = (*keys)[str(v, "key")];
        s.extra = unhex(str(v, "extra_aad_hex"));
        s.subkey = unhex(str(v, "subkey_hex"));
        s.nonce = unhex(str(v, "nonce_hex"));
        s.datagram = unhex(str(v, "datagram_hex"));
        s.datagram_sha256 = str(v, "datagram_sha256");
        s.tag = unhex(str(v, "tag_hex"));
        s.key_id = static_cast<uint8_t>(num(v, "key_id"));
        s.datagram_len = num(v, "datagram_len");
        s.payload = payload_of(num(v, "payload_len"), static_cast<unsigned>(num(v, "payload_seed")));
        const cJSON* h = cJSON_GetObjectItemCaseSensitive(v, "header");
        const std::string type = str(h, "type");
        static const std::map<std::string, wire::Type> types = {
            {"data", wire::Type::Data},         {"heartbeat", wire::Type::Heartbeat}, {"nack", wire::Type::Nack},
            {"digest_l1", wire::Type::DigestL1}, {"repair", wire::Type::Repair},       {"pull", wire::Type::Pull},
            {"query_reply", wire::Type::QueryReply}, {"challenge", wire::Type::Challenge},
            {"response", wire::Type::Response}};
        EXPECT_TRUE(types.count(type)) << s.name << ": type " << type;
        s.h.type = types.count(type) ? types.at(type) : wire::Type::Data;
        s.h.flags = static_cast<uint8_t>(num(h, "flags"));
        s.h.cluster = hex_u64(h, "cluster");
        s.h.sender = hex_u64(h, "sender");
        s.h.incarnation = hex_u64(h, "incarnation");
        s.h.seq = hex_u64(h, "seq");
        s.h.frag_index = static_cast<uint16_t>(num(h, "frag_index"));
        s.h.frag_count = static_cast<uint16_t>(num(h, "frag_count"));
        out.push_back(std::move(s));
    }
    cJSON_Delete(root);
    return out;
}

// The datagram as the vector has it (whole, or as a digest).
void expect_datagram(const SealedVector& v, const std::string& got) {
    ASSERT_EQ(got.size(), v.datagram_len);
    if (!v.datagram.empty())
        EXPECT_EQ(hex(got), hex(v.datagram));
    else
        EXPECT_EQ(sha256_hex(got), v.datagram_sha256);
    EXPECT_EQ(hex(got.substr(got.size() - crypto::kAeadTagSize)), hex(v.tag));
}

using MakeSealer = std::function<std::unique_ptr<crypto::Sealer>(uint64_t, uint64_t, uint64_t)>;

void check_vectors(const MakeSealer& make, const crypto::AeadFactory aead) {
    std::map<std::string, std::string> keys;
    std::vector<SealedVector> vs = load_vectors(&keys);
    ASSERT_GE(vs.size(), 20u);
    for (const SealedVector& v : vs) {
        SCOPED_TRACE(v.name);
        crypto::Key key = key_from(v.key);
        EXPECT_EQ(crypto::key_id(key), v.key_id);

        // The sender: HKDF, nonce, header and AAD from the Sealer.
        auto sender = make(v.h.cluster, v.h.sender, v.h.incarnation);
        ASSERT_TRUE(sender->set_keys({key}, {}).ok());
        std::string d = sender->seal(v.h, v.payload, v.extra);
        expect_datagram(v, d);

        // The cipher alone, from the vector's subkey and nonce: whatever
        // the Sealer did around it, the backend's AES-GCM gives these bytes.
        if (aead) {
            auto a = aead(u(v.subkey));
            ASSERT_TRUE(a);
            std::string hdr = d.substr(0, wire::kHeaderSize);
            expect_datagram(v, hdr + aead_seal(*a, v.nonce, hdr, v.extra, v.payload));
        }

        // A receiver (another member) opens it with the same extra AAD, and
        // with nothing else.
        auto receiver = make(v.h.cluster, 0x5EC0ED, 77);
        ASSERT_TRUE(receiver->set_keys({pattern_key(0x40)}, {key}).ok());
        std::string plain = "stale";
        ASSERT_EQ(open_datagram(*receiver, d, &plain, v.extra), crypto::Sealer::Open::Ok);
        EXPECT_EQ(plain, v.payload);
        plain = "stale";
        std::string other = v.extra.empty() ? std::string("x") : v.extra.substr(1);
        EXPECT_EQ(open_datagram(*receiver, d, &plain, other), crypto::Sealer::Open::AuthFailed);
        EXPECT_TRUE(plain.empty());
    }
}

std::unique_ptr<crypto::Sealer> with_factory(crypto::AeadFactory f, uint64_t c, uint64_t s, uint64_t i) {
    return std::make_unique<crypto::Sealer>(c, s, i, f);
}

class SealerTest : public ::testing::TestWithParam<Backend> {
protected:
    std::unique_ptr<crypto::Sealer> make(uint64_t self, uint64_t incarnation) {
        return with_factory(GetParam().make, kCluster, self, incarnation);
    }
};

}  // namespace

TEST(SealedVectors, TheLibrarysDefaultSealerMatches) {
    check_vectors([](uint64_t c, uint64_t s, uint64_t i) { return std::make_unique<crypto::Sealer>(c, s, i); },
                  nullptr);
}

TEST_P(SealerTest, SealedVectorsMatch) {
    crypto::AeadFactory f = GetParam().make;
    check_vectors([f](uint64_t c, uint64_t s, uint64_t i) { return with_factory(f, c, s, i); }, f);
}

TEST_P(SealerTest, ExtraAadBindsWithoutBeingSent) {
    auto a = make(1, 10), b = make(2, 20);
    ASSERT_TRUE(a->set_keys({pattern_key(3)}, {}).ok());
    ASSERT_TRUE(b->set_keys({pattern_key(3)}, {}).ok());
    const std::string payload(500, 'p');
    wire::Header h = header(kCluster, 1, 10, 42, wire::kFlagUnicast, wire::Type::Repair);
    const std::string to_b = "127.0.0.1:7946", to_c = "127.0.0.1:7947";

    std::string none = a->seal(h, payload);
    std::string empty = a->seal(h, payload, "");
    std::string bound = a->seal(h, payload, to_b);
    ASSERT_FALSE(none.empty());
    EXPECT_EQ(empty, none) << "an empty extra_aad changes nothing on the wire";
    ASSERT_EQ(bound.size(), none.size()) << "extra_aad is not sent";
    EXPECT_EQ(bound.substr(0, none.size() - 16), none.substr(0, none.size() - 16)) << "same header and ciphertext";
    EXPECT_NE(bound.substr(none.size() - 16), none.substr(none.size() - 16)) << "a different tag";

    std::string out;
    EXPECT_EQ(open_datagram(*b, bound, &out, to_b), crypto::Sealer::Open::Ok);
    EXPECT_EQ(out, payload);
    // Delivered elsewhere (another destination, none, a prefix or an
    // extension of it): refused, and nothing comes out.
    for (std::string_view wrong : {std::string_view(to_c), std::string_view(), std::string_view(to_b).substr(0, 13),
                                   std::string_view("127.0.0.1:79460")}) {
        out = "stale";
        EXPECT_EQ(open_datagram(*b, bound, &out, wrong), crypto::Sealer::Open::AuthFailed) << wrong;
        EXPECT_TRUE(out.empty());
    }
    // An unbound datagram does not open as a bound one either.
    EXPECT_EQ(open_datagram(*b, none, &out, to_b), crypto::Sealer::Open::AuthFailed);
    EXPECT_EQ(open_datagram(*b, none, &out), crypto::Sealer::Open::Ok);
    EXPECT_EQ(out, payload);
}

TEST_P(SealerTest, RefusesWhatItCannotOpen) {
    auto a = make(1, 10), b = make(2, 20);
    ASSERT_TRUE(a->set_keys({pattern_key(3)}, {}).ok());
    std::string d = a->seal(header(kCluster, 1, 10, 5), std::string(100, 'v'));
    ASSERT_EQ(d.size(), wire::kHeaderSize + 100 + wire::kTagSize);
    std::string out = "stale";

    // No keys at all, then another key only.
    EXPECT_FALSE(b->has_keys());
    EXPECT_EQ(open_datagram(*b, d, &out), crypto::Sealer::Open::NoKey);
    EXPECT_TRUE(out.empty());
    ASSERT_TRUE(b->set_keys({pattern_key(4)}, {}).ok());
    EXPECT_EQ(open_datagram(*b, d, &out), crypto::Sealer::Open::NoKey);

    ASSERT_TRUE(b->set_keys({pattern_key(4)}, {pattern_key(3)}).ok());
    ASSERT_EQ(open_datagram(*b, d, &out), crypto::Sealer::Open::Ok);

    // Every flipped bit, header, ciphertext or tag: never Ok, nothing out.
    for (size_t bit = 0; bit < d.size() * 8; ++bit) {
        std::string x = d;
        x[bit / 8] = static_cast<char>(x[bit / 8] ^ (1 << (bit % 8)));
        out = "stale";
        EXPECT_NE(open_datagram(*b, x, &out), crypto::Sealer::Open::Ok) << "bit " << bit;
        EXPECT_TRUE(out.empty()) << "bit " << bit;
    }

    // Lengths that disagree with the header, and an unsealed header.
    wire::Header h;
    ASSERT_EQ(wire::decode_header(u(d), d.size(), &h), wire::Error::None);
    EXPECT_EQ(b->open(u(d), d.size() - 1, h, &out), crypto::Sealer::Open::Malformed);
    wire::Header unsealed = h;
    unsealed.flags = static_cast<uint8_t>(unsealed.flags & ~wire::kFlagSealed);
    EXPECT_EQ(b->open(u(d), d.size(), unsealed, &out), crypto::Sealer::Open::Malformed);
    wire::Header no_id = h;
    no_id.key_id = 0;
    EXPECT_EQ(b->open(u(d), d.size(), no_id, &out), crypto::Sealer::Open::NoKey);
    EXPECT_TRUE(out.empty());
}

TEST_P(SealerTest, SealNeedsAKeyAndRoomInOneDatagram) {
    auto a = make(1, 10);
    EXPECT_FALSE(a->sealing());
    EXPECT_EQ(a->seal(header(kCluster, 1, 10, 1), "x"), "");
    ASSERT_TRUE(a->set_keys({}, {pattern_key(3)}).ok());
    EXPECT_FALSE(a->sealing()) << "accepting a key does not seal with it";
    EXPECT_EQ(a->seal(header(kCluster, 1, 10, 1), "x"), "");
    ASSERT_TRUE(a->set_keys({pattern_key(3)}, {}).ok());
    const size_t room = wire::kMaxDatagram - wire::kHeaderSize - wire::kTagSize;
    EXPECT_EQ(a->seal(header(kCluster, 1, 10, 2), std::string(room, 'm')).size(), wire::kMaxDatagram);
    EXPECT_EQ(a->seal(header(kCluster, 1, 10, 3), std::string(room + 1, 'm')), "");
}

TEST_P(SealerTest, ReusedBuffersGiveTheSameBytes) {
    // seal_into and open write over what a kept buffer held, growing or
    // shrinking it: the result must not depend on what was there before.
    auto a = make(1, 10), b = make(2, 20);
    ASSERT_TRUE(a->set_keys({pattern_key(3)}, {}).ok());
    ASSERT_TRUE(b->set_keys({pattern_key(3)}, {}).ok());
    std::string buf(70000, '#'), plain(70000, '#');
    uint64_t seq = 0;
    for (size_t n : {size_t{1400}, size_t{0}, size_t{65443}, size_t{17}, size_t{1400}, size_t{1400}}) {
        SCOPED_TRACE(n);
        std::string payload(n, '\0');
        for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7 + n);
        wire::Header h = header(kCluster, 1, 10, ++seq);
        ASSERT_TRUE(a->seal_into(&buf, h, payload, "to"));
        EXPECT_EQ(buf, a->seal(h, payload, "to"));
        ASSERT_EQ(open_datagram(*b, buf, &plain, "to"), crypto::Sealer::Open::Ok);
        EXPECT_EQ(plain, payload);
    }
    // Where seal() gives nothing, seal_into empties the buffer.
    EXPECT_FALSE(a->seal_into(&buf, header(kCluster, 1, 10, ++seq), std::string(65444, 'x')));
    EXPECT_TRUE(buf.empty());
    buf = "old";
    crypto::Sealer keyless(kCluster, 1, 10);
    EXPECT_FALSE(keyless.seal_into(&buf, header(kCluster, 1, 10, 1), "x"));
    EXPECT_TRUE(buf.empty());
}

TEST_P(SealerTest, RotationOpensBothKeysThenDropsTheOld) {
    auto old_sender = make(1, 10), new_sender = make(3, 30), r = make(2, 20);
    ASSERT_TRUE(old_sender->set_keys({pattern_key(3)}, {}).ok());
    ASSERT_TRUE(new_sender->set_keys({pattern_key(9)}, {}).ok());
    ASSERT_TRUE(r->set_keys({pattern_key(9)}, {pattern_key(3)}).ok());
    std::string d_old = old_sender->seal(header(kCluster, 1, 10, 1), "old");
    std::string d_new = new_sender->seal(header(kCluster, 3, 30, 1), "new");
    std::string out;
    EXPECT_EQ(open_datagram(*r, d_old, &out), crypto::Sealer::Open::Ok);
    EXPECT_EQ(out, "old");
    EXPECT_EQ(open_datagram(*r, d_new, &out), crypto::Sealer::Open::Ok);
    EXPECT_EQ(out, "new");
    ASSERT_TRUE(r->set_keys({pattern_key(9)}, {}).ok());
    EXPECT_EQ(open_datagram(*r, d_old, &out), crypto::Sealer::Open::NoKey) << "its cached cipher went with the key";
    EXPECT_EQ(open_datagram(*r, d_new, &out), crypto::Sealer::Open::Ok);
}

TEST_P(SealerTest, MoreSendersThanTheCipherCacheHolds) {
    // 4096 cached ciphers at most: beyond that the oldest go and are derived
    // again when needed. Every datagram still opens, the first sender's too.
    auto r = make(1, 1);
    ASSERT_TRUE(r->set_keys({pattern_key(3)}, {}).ok());
    std::vector<std::string> first;
    for (uint64_t s = 100; s < 100 + 5000; ++s) {
        auto sender = make(s, s * 7);
        ASSERT_TRUE(sender->set_keys({pattern_key(3)}, {}).ok());
        std::string d = sender->seal(header(kCluster, s, s * 7, 1), "from " + std::to_string(s));
        if (s < 103) first.push_back(d);
        std::string out;
        ASSERT_EQ(open_datagram(*r, d, &out), crypto::Sealer::Open::Ok) << s;
        ASSERT_EQ(out, "from " + std::to_string(s));
    }
    for (size_t i = 0; i < first.size(); ++i) {
        std::string out;
        EXPECT_EQ(open_datagram(*r, first[i], &out), crypto::Sealer::Open::Ok);
        EXPECT_EQ(out, "from " + std::to_string(100 + i));
    }
}

TEST(SealerSetup, ALibraryThatRefusesTheCipherFailsSetKeysAndChangesNothing) {
    // A factory standing in for a crypto library that refuses AES-256-GCM
    // (a policy or a missing provider): the error comes at set_keys, with
    // words, and the Sealer keeps what it had.
    crypto::AeadFactory refuse = [](const unsigned char*) -> std::unique_ptr<crypto::Aead> { return nullptr; };
    crypto::Sealer s(kCluster, 1, 10, refuse);
    mccache::Status st = s.set_keys({pattern_key(3)}, {});
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code, MCCACHE_ENOTSUP);
    EXPECT_NE(st.message.find("AES-256-GCM"), std::string::npos) << st.message;
    EXPECT_FALSE(s.sealing());
    EXPECT_FALSE(s.has_keys());
    EXPECT_EQ(s.seal(header(kCluster, 1, 10, 1), "x"), "");

    // Accept-only keys need no cipher until a datagram comes, and one that
    // cannot be set up then is NoKey, not a crash.
    ASSERT_TRUE(s.set_keys({}, {pattern_key(3)}).ok());
    crypto::Sealer tx(kCluster, 2, 20);
    ASSERT_TRUE(tx.set_keys({pattern_key(3)}, {}).ok());
    std::string out = "stale";
    EXPECT_EQ(open_datagram(s, tx.seal(header(kCluster, 2, 20, 1), "x"), &out), crypto::Sealer::Open::NoKey);
    EXPECT_TRUE(out.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, SealerTest, ::testing::ValuesIn(linked_backends()), backend_label);

// ---- both backends in one process ----------------------------------------------------

#if defined(MCCACHE_WITH_OPENSSL) && defined(MCCACHE_WITH_MBEDTLS)
TEST(CrossBackend, EachOpensWhatTheOtherSealsByteForByte) {
    // Random headers, payload sizes around GCM's 16-byte blocks and up to a
    // full datagram, with and without extra AAD: both backends produce the
    // same datagram, and each opens the other's.
    std::mt19937_64 rng(2024);
    auto ossl = with_factory(&crypto::make_openssl_aead, kCluster, 0xAB, 0xCD);
    auto mbed = with_factory(&crypto::make_mbedtls_aead, kCluster, 0xAB, 0xCD);
    auto ossl_rx = with_factory(&crypto::make_openssl_aead, kCluster, 0x1, 0x2);
    auto mbed_rx = with_factory(&crypto::make_mbedtls_aead, kCluster, 0x3, 0x4);
    const crypto::Key k = pattern_key(0x33), k2 = pattern_key(0x77);
    ASSERT_TRUE(ossl->set_keys({k}, {}).ok());
    ASSERT_TRUE(mbed->set_keys({k}, {}).ok());
    ASSERT_TRUE(ossl_rx->set_keys({k2}, {k}).ok());
    ASSERT_TRUE(mbed_rx->set_keys({k2}, {k}).ok());
    std::vector<size_t> sizes = {0, 1, 15, 16, 17, 31, 32, 33, 64, 1024, 1400, 4095, 4096, 4097,
                                 wire::kMaxDatagram - wire::kHeaderSize - wire::kTagSize};
    for (int i = 0; i < 200; ++i) sizes.push_back(rng() % 3000);
    uint64_t seq = 0;
    for (size_t n : sizes) {
        SCOPED_TRACE(n);
        std::string payload(n, '\0'), extra(rng() % 2 ? rng() % 40 : 0, '\0');
        for (std::string* s : {&payload, &extra})
            for (char& c : *s) c = static_cast<char>(rng());
        static const uint8_t flag_sets[] = {0, wire::kFlagSequenced, wire::kFlagUnicast};
        wire::Header h = header(kCluster, 0xAB, 0xCD, ++seq, flag_sets[rng() % 3],
                                static_cast<wire::Type>(1 + rng() % wire::kMaxType));
        h.frag_count = static_cast<uint16_t>(1 + rng() % 300);
        h.frag_index = static_cast<uint16_t>(rng() % h.frag_count);
        std::string a = ossl->seal(h, payload, extra), b = mbed->seal(h, payload, extra);
        ASSERT_FALSE(a.empty());
        ASSERT_EQ(hex(a), hex(b));
        std::string out;
        ASSERT_EQ(open_datagram(*mbed_rx, a, &out, extra), crypto::Sealer::Open::Ok);
        ASSERT_EQ(out, payload);
        ASSERT_EQ(open_datagram(*ossl_rx, b, &out, extra), crypto::Sealer::Open::Ok);
        ASSERT_EQ(out, payload);
        // And they agree on what to refuse.
        std::string bad = a;
        size_t bit = rng() % (bad.size() * 8);
        bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
        EXPECT_EQ(open_datagram(*mbed_rx, bad, &out, extra), open_datagram(*ossl_rx, bad, &out, extra));
        EXPECT_NE(open_datagram(*mbed_rx, bad, &out, extra), crypto::Sealer::Open::Ok);
    }
}
#endif
