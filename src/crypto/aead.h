// AES-256-GCM behind one small interface, so the library (and its tests and
// benchmarks) can use OpenSSL's libcrypto or mbedTLS, chosen at build time
// (-DMCCACHE_CRYPTO=auto|openssl|mbedtls, docs/ARCHITECTURE.md "Crypto
// backends"). Both compute the same function: the same key, nonce, AAD and
// plaintext give the same ciphertext and tag, whichever library runs.
//
// Only the per-datagram cipher differs between backends. HKDF, key ids,
// nonces and the header layout live in seal.cc, once, for both.
//
// Which factories exist in a binary:
//   MCCACHE_WITH_OPENSSL  make_openssl_aead() is linked in
//   MCCACHE_WITH_MBEDTLS  make_mbedtls_aead() is linked in
// The library itself holds exactly one; the white-box library used by the
// tests and benchmarks adds the other when its library was found.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace mccache::crypto {

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;

// The additional authenticated data, as one byte string `a || b`. Two
// pieces because the header and an extra binding (for instance the
// destination of a unicast datagram) live in different places; GCM
// authenticates their concatenation, so an empty `b` changes nothing.
struct Aad {
    const unsigned char* a = nullptr;
    size_t a_len = 0;
    const unsigned char* b = nullptr;
    size_t b_len = 0;
};

// One AES-256-GCM key, with the key schedule (and for OpenSSL the cipher
// context) set up once: seal and open then cost the cipher, not the setup.
// Not thread-safe; one owner at a time.
class Aead {
public:
    virtual ~Aead() = default;

    // Encrypts `len` bytes from `in` to `out` (which may be `in`) and writes
    // the 16-byte tag. False only if the library fails (or `len` is beyond
    // what it takes in one call).
    virtual bool seal(const unsigned char nonce[kAeadNonceSize], const Aad& aad, const unsigned char* in,
                      size_t len, unsigned char* out, unsigned char tag[kAeadTagSize]) = 0;

    // Checks the tag and decrypts. False when the tag does not verify; `out`
    // may then hold unauthenticated bytes, which the caller must discard.
    virtual bool open(const unsigned char nonce[kAeadNonceSize], const Aad& aad, const unsigned char* in,
                      size_t len, const unsigned char tag[kAeadTagSize], unsigned char* out) = 0;
};

// Makes an Aead for a 32-byte key, or nullptr if the library refuses.
using AeadFactory = std::unique_ptr<Aead> (*)(const unsigned char* key);

// The backend this library was built with.
std::unique_ptr<Aead> make_aead(const unsigned char* key);
// "openssl" or "mbedtls": a stable token for logs and metrics.
const char* backend_name();
// The library's own version string at run time (e.g. "OpenSSL 3.0.19 27 Jan
// 2026", "mbed TLS 2.28.3"), which is what an operator checking for a
// vulnerable build wants.
const char* backend_version();

// Each defined only where its MCCACHE_WITH_* says so (see above).
std::unique_ptr<Aead> make_openssl_aead(const unsigned char* key);
const char* openssl_version();
std::unique_ptr<Aead> make_mbedtls_aead(const unsigned char* key);
const char* mbedtls_version();

}  // namespace mccache::crypto
