// The backend this library was built with: exactly one of MCCACHE_WITH_*
// reaches the library's own sources (cmake/McCacheCrypto.cmake).
#include "crypto/aead.h"

#if defined(MCCACHE_WITH_OPENSSL) == defined(MCCACHE_WITH_MBEDTLS)
#error "the library needs exactly one crypto backend: MCCACHE_WITH_OPENSSL or MCCACHE_WITH_MBEDTLS"
#endif

namespace mccache::crypto {

#if defined(MCCACHE_WITH_OPENSSL)
std::unique_ptr<Aead> make_aead(const unsigned char* key) { return make_openssl_aead(key); }
const char* backend_name() { return "openssl"; }
const char* backend_version() { return openssl_version(); }
#else
std::unique_ptr<Aead> make_aead(const unsigned char* key) { return make_mbedtls_aead(key); }
const char* backend_name() { return "mbedtls"; }
const char* backend_version() { return mbedtls_version(); }
#endif

}  // namespace mccache::crypto
