// AES-256-GCM on OpenSSL's libcrypto (3.0 or later: EVP_CipherInit_ex2).
// Compiled to nothing unless MCCACHE_WITH_OPENSSL says this build has it.
#include "crypto/aead.h"

#if defined(MCCACHE_WITH_OPENSSL)

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <climits>

namespace mccache::crypto {

namespace {

class OpenSslAead final : public Aead {
public:
    explicit OpenSslAead(EVP_CIPHER_CTX* ctx) : ctx_(ctx) {}
    // Frees the provider's GCM state, which clears the key schedule.
    ~OpenSslAead() override { EVP_CIPHER_CTX_free(ctx_); }
    OpenSslAead(const OpenSslAead&) = delete;
    OpenSslAead& operator=(const OpenSslAead&) = delete;

    bool seal(const unsigned char nonce[kAeadNonceSize], const Aad& aad, const unsigned char* in, size_t len,
              unsigned char* out, unsigned char tag[kAeadTagSize]) override {
        unsigned char none[1];
        int n = 0;
        bool ok = start(1, nonce, aad, in, len, out) && EVP_CipherFinal_ex(ctx_, none, &n) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagSize), tag) == 1;
        return ok || failed();
    }

    bool open(const unsigned char nonce[kAeadNonceSize], const Aad& aad, const unsigned char* in, size_t len,
              const unsigned char tag[kAeadTagSize], unsigned char* out) override {
        unsigned char none[1];
        int n = 0;
        // The tag is compared in constant time inside EVP_CipherFinal_ex.
        bool ok = start(0, nonce, aad, in, len, out) &&
                  EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize),
                                      const_cast<unsigned char*>(tag)) == 1 &&
                  EVP_CipherFinal_ex(ctx_, none, &n) == 1;
        return ok || failed();
    }

private:
    // Sets only the nonce and the direction: the key schedule from
    // make_openssl_aead() stays, so nothing is fetched or expanded here.
    bool start(int enc, const unsigned char* nonce, const Aad& aad, const unsigned char* in, size_t len,
               unsigned char* out) {
        if (len > INT_MAX || aad.a_len > INT_MAX || aad.b_len > INT_MAX) return false;
        int n = 0;
        if (EVP_CipherInit_ex2(ctx_, nullptr, nullptr, nonce, enc, nullptr) != 1) return false;
        if (aad.a_len && EVP_CipherUpdate(ctx_, nullptr, &n, aad.a, static_cast<int>(aad.a_len)) != 1) return false;
        if (aad.b_len && EVP_CipherUpdate(ctx_, nullptr, &n, aad.b, static_cast<int>(aad.b_len)) != 1) return false;
        return len == 0 || EVP_CipherUpdate(ctx_, out, &n, in, static_cast<int>(len)) == 1;
    }

    // A refused call leaves entries in OpenSSL's per-thread error queue (a
    // bad tag leaves none). Seal can run on an application's thread
    // (send_direct), and whatever we leave there would surface in that
    // application's next ERR_get_error(). Marking the queue on every call
    // would cost about 120 ns, so the queue is cleared on failure only.
    static bool failed() {
        ERR_clear_error();
        return false;
    }

    EVP_CIPHER_CTX* ctx_;
};

}  // namespace

std::unique_ptr<Aead> make_openssl_aead(const unsigned char* key) {
    // An explicit fetch: passing EVP_aes_256_gcm() would fetch again on
    // every init in OpenSSL 3.
    EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    EVP_CIPHER_CTX* ctx = cipher ? EVP_CIPHER_CTX_new() : nullptr;
    bool ok = ctx && EVP_CipherInit_ex2(ctx, cipher, key, nullptr, 1, nullptr) == 1 &&
              EVP_CIPHER_CTX_get_key_length(ctx) == static_cast<int>(kAeadKeySize) &&
              EVP_CIPHER_CTX_get_iv_length(ctx) == static_cast<int>(kAeadNonceSize);
    EVP_CIPHER_free(cipher);  // the context holds its own reference
    if (!ok) {
        EVP_CIPHER_CTX_free(ctx);
        ERR_clear_error();
        return nullptr;
    }
    return std::make_unique<OpenSslAead>(ctx);
}

const char* openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace mccache::crypto

#endif  // MCCACHE_WITH_OPENSSL
