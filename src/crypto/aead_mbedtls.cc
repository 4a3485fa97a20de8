// AES-256-GCM on mbedTLS (2.28 as Debian 12 ships it; the calls used here
// also exist in 3.x). Compiled to nothing unless MCCACHE_WITH_MBEDTLS says
// this build has it.
#include "crypto/aead.h"

#if defined(MCCACHE_WITH_MBEDTLS)

#include <mbedtls/gcm.h>
#include <mbedtls/version.h>

#include <cstring>
#include <string>
#include <vector>

namespace mccache::crypto {

namespace {

class MbedTlsAead final : public Aead {
public:
    MbedTlsAead() { mbedtls_gcm_init(&gcm_); }
    // mbedtls_gcm_free zeroizes the context, key schedule included.
    ~MbedTlsAead() override { mbedtls_gcm_free(&gcm_); }
    MbedTlsAead(const MbedTlsAead&) = delete;
    MbedTlsAead& operator=(const MbedTlsAead&) = delete;

    bool set_key(const unsigned char* key) {
        return mbedtls_gcm_setkey(&gcm_, MBEDTLS_CIPHER_ID_AES, key, kAeadKeySize * 8) == 0;
    }

    bool seal(const unsigned char nonce[kAeadNonceSize], const Aad& aad, const unsigned char* in, size_t len,
              unsigned char* out, unsigned char tag[kAeadTagSize]) override {
        const unsigned char* a = nullptr;
        size_t a_len = 0;
        join(aad, &a, &a_len);
        return mbedtls_gcm_crypt_and_tag(&gcm_, MBEDTLS_GCM_ENCRYPT, len, nonce, kAeadNonceSize, a, a_len, in,
                                         out, kAeadTagSize, tag) == 0;
    }

    bool open(const unsigned char nonce[kAeadNonceSize], const Aad& aad, const unsigned char* in, size_t len,
              const unsigned char tag[kAeadTagSize], unsigned char* out) override {
        const unsigned char* a = nullptr;
        size_t a_len = 0;
        join(aad, &a, &a_len);
        // Compares the tag in constant time and zeroes `out` on a mismatch.
        return mbedtls_gcm_auth_decrypt(&gcm_, len, nonce, kAeadNonceSize, a, a_len, tag, kAeadTagSize, in,
                                        out) == 0;
    }

private:
    // 2.28's GCM takes the AAD in one piece, so `a || b` is copied into a
    // buffer kept across calls; with an empty `b` (every datagram today)
    // nothing is copied. The AAD is public: no need to wipe the copy.
    void join(const Aad& aad, const unsigned char** p, size_t* n) {
        if (aad.b_len == 0) {
            *p = aad.a;
            *n = aad.a_len;
            return;
        }
        joined_.resize(aad.a_len + aad.b_len);
        if (aad.a_len) std::memcpy(joined_.data(), aad.a, aad.a_len);
        std::memcpy(joined_.data() + aad.a_len, aad.b, aad.b_len);
        *p = joined_.data();
        *n = joined_.size();
    }

    mbedtls_gcm_context gcm_;
    std::vector<unsigned char> joined_;
};

}  // namespace

std::unique_ptr<Aead> make_mbedtls_aead(const unsigned char* key) {
    auto aead = std::make_unique<MbedTlsAead>();
    if (!aead->set_key(key)) return nullptr;
    return aead;
}

const char* mbedtls_version() {
    // The linked library's version, not the header's.
    static const std::string version = [] {
        char buf[32] = {};
        mbedtls_version_get_string_full(buf);
        return std::string(buf);
    }();
    return version.c_str();
}

}  // namespace mccache::crypto

#endif  // MCCACHE_WITH_MBEDTLS
