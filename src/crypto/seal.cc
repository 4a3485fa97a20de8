#include "crypto/seal.h"

#include <mbedtls/base64.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace mccache::crypto {

namespace {

constexpr size_t kMaxContexts = 4096;

void put64(unsigned char* p, uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (56 - 8 * i));
}

// Unique per (sender, incarnation): every message has its own seq in its
// counter (multicast control, stream, unicast control), and each of its
// fragments its own index.
void nonce_of(const wire::Header& h, unsigned char iv[12]) {
    put64(iv, h.seq);
    iv[8] = static_cast<unsigned char>(h.frag_index >> 8);
    iv[9] = static_cast<unsigned char>(h.frag_index);
    iv[10] = wire::seq_space(h.flags);
    iv[11] = 0;
}

// The header as sent, then what the caller binds without sending.
Aad aad_of(const unsigned char* header, std::string_view extra) {
    return Aad{header, wire::kHeaderSize, reinterpret_cast<const unsigned char*>(extra.data()), extra.size()};
}

}  // namespace

uint8_t key_id(const Key& key) {
    unsigned char digest[32];
    mbedtls_sha256_ret(key.data(), key.size(), digest, 0);
    return static_cast<uint8_t>(1 + digest[0] % 255);
}

Status generate_key_b64(std::string* out) {
    Key key;
    size_t got = 0;
    while (got < key.size()) {
        ssize_t n = getrandom(key.data() + got, key.size() - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error(MCCACHE_EIO, std::string("getrandom: ") + std::strerror(errno));
        }
        got += static_cast<size_t>(n);
    }
    unsigned char b64[64];
    size_t olen = 0;
    if (mbedtls_base64_encode(b64, sizeof b64, &olen, key.data(), key.size()) != 0)
        return Error(MCCACHE_EINTERNAL, "base64 encoding failed");
    mbedtls_platform_zeroize(key.data(), key.size());
    out->assign(reinterpret_cast<char*>(b64), olen);
    return Status::Ok();
}

Status decode_key_b64(std::string_view b64, Key* out, std::string_view name) {
    unsigned char buf[64];
    size_t olen = 0;
    int rc = mbedtls_base64_decode(buf, sizeof buf, &olen,
                                   reinterpret_cast<const unsigned char*>(b64.data()), b64.size());
    if (rc != 0 || olen != out->size()) {
        mbedtls_platform_zeroize(buf, sizeof buf);
        return Error(MCCACHE_EINVAL, std::string(name) +
                                         ": expected the base64 of exactly 32 bytes (44 characters)");
    }
    std::memcpy(out->data(), buf, out->size());
    mbedtls_platform_zeroize(buf, sizeof buf);
    return Status::Ok();
}

Sealer::Sealer(uint64_t cluster_id, uint64_t self, uint64_t incarnation)
    : Sealer(cluster_id, self, incarnation, &make_aead) {}

Sealer::Sealer(uint64_t cluster_id, uint64_t self, uint64_t incarnation, AeadFactory aead)
    : cluster_id_(cluster_id), self_(self), incarnation_(incarnation), make_aead_(aead ? aead : &make_aead) {}

Sealer::~Sealer() {
    for (auto& [id, k] : keys_) mbedtls_platform_zeroize(k.data(), k.size());
}

Status Sealer::set_keys(const std::vector<Key>& seal, const std::vector<Key>& accept) {
    std::map<uint8_t, Key> keys;
    auto forget = [&keys] {
        for (auto& [id, k] : keys) mbedtls_platform_zeroize(k.data(), k.size());
    };
    uint8_t seal_id = 0;
    for (const Key& k : seal) seal_id = key_id(k);
    for (const auto* list : {&seal, &accept}) {
        for (const Key& k : *list) {
            uint8_t id = key_id(k);
            auto it = keys.find(id);
            if (it != keys.end() && it->second != k) {
                forget();
                return Error(MCCACHE_ECONFIG,
                             "crypto_key and crypto_key_accept have the same key id; generate "
                             "another key");
            }
            keys[id] = k;
        }
    }
    // Our own cipher now: a crypto library that refuses AES-256-GCM (a
    // policy, a provider missing) fails here, at open or at the rotation,
    // and not as one dropped datagram after another.
    std::unique_ptr<Aead> own;
    if (seal_id != 0 && !(own = derive(keys[seal_id], self_, incarnation_))) {
        forget();
        return Error(MCCACHE_ENOTSUP, std::string("the crypto library (") + backend_name() + ", " +
                                            backend_version() + ") could not set up AES-256-GCM");
    }
    for (auto& [id, k] : keys_) mbedtls_platform_zeroize(k.data(), k.size());
    keys_ = std::move(keys);
    seal_id_ = seal_id;
    // Contexts of keys no longer held must go; the rest stay valid.
    for (auto it = contexts_.begin(); it != contexts_.end();)
        it = keys_.count(std::get<0>(it->first)) ? std::next(it) : contexts_.erase(it);
    if (own && !contexts_.count(std::make_tuple(seal_id_, self_, incarnation_)))
        keep(seal_id_, self_, incarnation_, std::move(own));
    return Status::Ok();
}

void wipe(Key* key) { mbedtls_platform_zeroize(key->data(), key->size()); }

std::unique_ptr<Aead> Sealer::derive(const Key& key, uint64_t sender, uint64_t incarnation) const {
    unsigned char salt[8], info[9 + 16], sub[32];
    put64(salt, cluster_id_);
    std::memcpy(info, "mccache/1", 9);
    put64(info + 9, sender);
    put64(info + 17, incarnation);
    int rc = mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), salt, sizeof salt, key.data(), key.size(),
                          info, sizeof info, sub, sizeof sub);
    std::unique_ptr<Aead> aead = rc == 0 ? make_aead_(sub) : nullptr;
    mbedtls_platform_zeroize(sub, sizeof sub);
    return aead;
}

Aead* Sealer::context(uint8_t id, uint64_t sender, uint64_t incarnation, std::unique_ptr<Aead>* fresh) {
    auto it = contexts_.find(std::make_tuple(id, sender, incarnation));
    if (it != contexts_.end()) return it->second.get();
    auto key = keys_.find(id);
    if (key == keys_.end()) return nullptr;
    *fresh = derive(key->second, sender, incarnation);
    return fresh->get();
}

Aead* Sealer::keep(uint8_t id, uint64_t sender, uint64_t incarnation, std::unique_ptr<Aead> ctx) {
    if (contexts_.size() >= kMaxContexts) contexts_.erase(contexts_.begin());
    return contexts_.emplace(std::make_tuple(id, sender, incarnation), std::move(ctx)).first->second.get();
}

std::string Sealer::seal(wire::Header h, std::string_view payload, std::string_view extra_aad) {
    std::string out;
    seal_into(&out, h, payload, extra_aad);
    return out;
}

bool Sealer::seal_into(std::string* out, wire::Header h, std::string_view payload, std::string_view extra_aad) {
    std::unique_ptr<Aead> fresh;
    Aead* aead = context(seal_id_, self_, incarnation_, &fresh);
    if (aead && fresh) aead = keep(seal_id_, self_, incarnation_, std::move(fresh));
    if (!aead || payload.size() > wire::kMaxDatagram - wire::kHeaderSize - wire::kTagSize) {
        out->clear();
        return false;
    }
    h.flags |= wire::kFlagSealed;
    h.key_id = seal_id_;
    h.payload_len = static_cast<uint32_t>(payload.size());
    // Every byte is written below: resizing a reused buffer of the same size
    // touches nothing.
    out->resize(wire::kHeaderSize + payload.size() + wire::kTagSize);
    auto* p = reinterpret_cast<unsigned char*>(out->data());
    wire::encode_header(h, p);
    unsigned char iv[12];
    nonce_of(h, iv);
    if (!aead->seal(iv, aad_of(p, extra_aad), reinterpret_cast<const unsigned char*>(payload.data()),
                    payload.size(), p + wire::kHeaderSize, p + wire::kHeaderSize + payload.size())) {
        out->clear();
        return false;
    }
    return true;
}

Sealer::Open Sealer::open(const unsigned char* data, size_t len, const wire::Header& h, std::string* plaintext,
                          std::string_view extra_aad) {
    Open r = open_into(data, len, h, plaintext, extra_aad);
    if (r != Open::Ok) plaintext->clear();
    return r;
}

Sealer::Open Sealer::open_into(const unsigned char* data, size_t len, const wire::Header& h, std::string* plaintext,
                               std::string_view extra_aad) {
    if (!(h.flags & wire::kFlagSealed) || len != wire::kHeaderSize + h.payload_len + wire::kTagSize)
        return Open::Malformed;
    if (h.key_id == 0 || !keys_.count(h.key_id)) return Open::NoKey;
    std::unique_ptr<Aead> fresh;
    Aead* aead = context(h.key_id, h.sender, h.incarnation, &fresh);
    if (!aead) return Open::NoKey;
    unsigned char iv[12];
    nonce_of(h, iv);
    // Not cleared first: a string the caller keeps is filled only by what it
    // grows, then overwritten by the cipher.
    plaintext->resize(h.payload_len);
    if (!aead->open(iv, aad_of(data, extra_aad), data + wire::kHeaderSize, h.payload_len,
                    data + wire::kHeaderSize + h.payload_len, reinterpret_cast<unsigned char*>(plaintext->data())))
        return Open::AuthFailed;
    if (fresh) keep(h.key_id, h.sender, h.incarnation, std::move(fresh));
    return Open::Ok;
}

}  // namespace mccache::crypto
