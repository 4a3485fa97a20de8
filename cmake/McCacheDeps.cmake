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

# Everything the engine links; private to libmccache.so, public to the
# static white-box library so the tests link.
set(MCCACHE_DEP_TARGETS
  PkgConfig::MCCACHE_UV
  mccache_dep::mbedcrypto
  PkgConfig::MCCACHE_CJSON
  PkgConfig::MCCACHE_INIH
  PkgConfig::MCCACHE_XXHASH
  PkgConfig::MCCACHE_ISAL
  Threads::Threads)

# For mccache.pc: pkg-config modules and the bare libraries without a .pc.
set(MCCACHE_PC_REQUIRES_PRIVATE "libuv libcjson inih libxxhash libisal")
set(MCCACHE_PC_LIBS_PRIVATE "-lmbedcrypto -lpthread")
