# Finds the Debian-packaged dependencies and gives each one an imported
# target, so the library and its tests name them the same way.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(MCCACHE_UV REQUIRED IMPORTED_TARGET libuv>=1.40)
pkg_check_modules(MCCACHE_CJSON REQUIRED IMPORTED_TARGET libcjson)
pkg_check_modules(MCCACHE_INIH REQUIRED IMPORTED_TARGET inih)
pkg_check_modules(MCCACHE_XXHASH REQUIRED IMPORTED_TARGET libxxhash)
# Intel ISA-L: CRC32C for datagrams sent without a key.
pkg_check_modules(MCCACHE_ISAL REQUIRED IMPORTED_TARGET libisal)

# --- Crypto -----------------------------------------------------------------
# mbedcrypto is always needed: HKDF, key ids and base64 (src/crypto/seal.cc,
# src/config) use it whatever the backend. Only the per-datagram AES-256-GCM
# (src/crypto/aead_*.cc) comes from the backend MCCACHE_CRYPTO chooses:
#   auto     OpenSSL's libcrypto (>= 3.0) when found, else mbedTLS
#   openssl  OpenSSL's libcrypto, or fail
#   mbedtls  mbedTLS; the library does not link OpenSSL
# Debian 12 ships no .pc for mbedTLS 2.x, so look for the files themselves.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/version.h)
find_library(MBEDCRYPTO_LIBRARY mbedcrypto)
if(NOT MBEDTLS_INCLUDE_DIR OR NOT MBEDCRYPTO_LIBRARY)
  message(FATAL_ERROR "mbedcrypto not found: install libmbedtls-dev (scripts/deps.sh lists every package)")
endif()
if(NOT TARGET mccache_dep::mbedcrypto)
  add_library(mccache_dep::mbedcrypto UNKNOWN IMPORTED)
  set_target_properties(mccache_dep::mbedcrypto PROPERTIES
    IMPORTED_LOCATION "${MBEDCRYPTO_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MBEDTLS_INCLUDE_DIR}")
endif()

set(_mccache_crypto_choices auto openssl mbedtls)
if(NOT MCCACHE_CRYPTO IN_LIST _mccache_crypto_choices)
  message(FATAL_ERROR "MCCACHE_CRYPTO=${MCCACHE_CRYPTO}: expected auto, openssl or mbedtls")
endif()
# Looked for even with mbedtls: the tests and benchmarks set it beside the
# library's backend when it is there (mccache_crypto_alt below).
if(MCCACHE_CRYPTO STREQUAL "openssl")
  find_package(OpenSSL 3.0 COMPONENTS Crypto)
else()
  find_package(OpenSSL 3.0 QUIET COMPONENTS Crypto)
endif()
if(MCCACHE_CRYPTO STREQUAL "openssl" AND NOT OPENSSL_CRYPTO_LIBRARY)
  message(FATAL_ERROR "MCCACHE_CRYPTO=openssl, but OpenSSL >= 3.0 libcrypto was not found: install "
                      "libssl-dev, or configure with -DMCCACHE_CRYPTO=mbedtls")
endif()
set(_mccache_have_openssl OFF)
if(OPENSSL_CRYPTO_LIBRARY AND TARGET OpenSSL::Crypto AND NOT OPENSSL_VERSION VERSION_LESS 3.0)
  set(_mccache_have_openssl ON)
endif()

if(MCCACHE_CRYPTO STREQUAL "mbedtls" OR NOT _mccache_have_openssl)
  set(MCCACHE_CRYPTO_BACKEND mbedtls)
  file(STRINGS "${MBEDTLS_INCLUDE_DIR}/mbedtls/version.h" _mbedtls_version
       REGEX "^#define MBEDTLS_VERSION_STRING +\"")
  string(REGEX MATCH "[0-9][0-9.]*" _mbedtls_version "${_mbedtls_version}")
  set(_mccache_crypto_what "mbedTLS ${_mbedtls_version} (${MBEDCRYPTO_LIBRARY})")
else()
  set(MCCACHE_CRYPTO_BACKEND openssl)
  set(_mccache_crypto_what "OpenSSL ${OPENSSL_VERSION} libcrypto (${OPENSSL_CRYPTO_LIBRARY})")
endif()
message(STATUS "mccache: crypto backend ${MCCACHE_CRYPTO_BACKEND}: AES-256-GCM from ${_mccache_crypto_what}"
               " (MCCACHE_CRYPTO=${MCCACHE_CRYPTO})")

# The library's backend: its link and the one MCCACHE_WITH_* its sources see
# (src/crypto/aead.h).
if(NOT TARGET mccache_dep::crypto)
  add_library(mccache_dep::crypto INTERFACE IMPORTED)
  if(MCCACHE_CRYPTO_BACKEND STREQUAL "openssl")
    set_target_properties(mccache_dep::crypto PROPERTIES
      INTERFACE_COMPILE_DEFINITIONS "MCCACHE_WITH_OPENSSL=1"
      INTERFACE_LINK_LIBRARIES "OpenSSL::Crypto;mccache_dep::mbedcrypto")
  else()
    set_target_properties(mccache_dep::crypto PROPERTIES
      INTERFACE_COMPILE_DEFINITIONS "MCCACHE_WITH_MBEDTLS=1"
      INTERFACE_LINK_LIBRARIES "mccache_dep::mbedcrypto")
  endif()
endif()

# The other backend, compiled on its own for the white-box library only
# (tests, benchmarks), so that both can seal and open side by side in one
# process. libmccache.so never links it. Absent when mbedTLS is the
# library's backend and OpenSSL is not installed.
if(NOT TARGET mccache_crypto_alt)
  if(MCCACHE_CRYPTO_BACKEND STREQUAL "openssl")
    set(_alt_src aead_mbedtls.cc)
    set(_alt_def MCCACHE_WITH_MBEDTLS=1)
    set(_alt_lib mccache_dep::mbedcrypto)
  elseif(_mccache_have_openssl)
    set(_alt_src aead_openssl.cc)
    set(_alt_def MCCACHE_WITH_OPENSSL=1)
    set(_alt_lib OpenSSL::Crypto)
  endif()
  if(_alt_src)
    add_library(mccache_crypto_alt STATIC EXCLUDE_FROM_ALL "${PROJECT_SOURCE_DIR}/src/crypto/${_alt_src}")
    target_include_directories(mccache_crypto_alt PRIVATE "${PROJECT_SOURCE_DIR}/src")
    target_compile_definitions(mccache_crypto_alt PUBLIC ${_alt_def})
    target_link_libraries(mccache_crypto_alt PUBLIC ${_alt_lib})
    mccache_own_code(mccache_crypto_alt)
  endif()
endif()

# Everything the engine links; private to libmccache.so, public to the
# static white-box library so the tests link.
set(MCCACHE_DEP_TARGETS
  PkgConfig::MCCACHE_UV
  mccache_dep::crypto
  PkgConfig::MCCACHE_CJSON
  PkgConfig::MCCACHE_INIH
  PkgConfig::MCCACHE_XXHASH
  PkgConfig::MCCACHE_ISAL
  Threads::Threads)

# For mccache.pc: pkg-config modules and the bare libraries without a .pc.
set(MCCACHE_PC_REQUIRES_PRIVATE "libuv libcjson inih libxxhash libisal")
if(MCCACHE_CRYPTO_BACKEND STREQUAL "openssl")
  string(APPEND MCCACHE_PC_REQUIRES_PRIVATE " libcrypto")
endif()
set(MCCACHE_PC_LIBS_PRIVATE "-lmbedcrypto -lpthread")
