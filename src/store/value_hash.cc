// The hash of a value, the same on every member: XXH3-64, seed 0. Keys and
// short values are hashed inline (store.cc, XXH_INLINE_ALL: no call); long
// values go to libxxhash's run-time dispatch, which picks AVX2 or AVX-512
// where the CPU has them. Both compute the same XXH3, so members on
// different CPUs agree on every checksum.
#if defined(__x86_64__)
#include <xxh_x86dispatch.h>
#else
#include <xxhash.h>
#endif

#include "store/value.h"

namespace mccache::store {

uint64_t value_hash_long(const void* data, size_t len) {
#if defined(__x86_64__)
    return XXH3_64bits_dispatch(data, len);
#else
    return XXH3_64bits(data, len);
#endif
}

}  // namespace mccache::store
