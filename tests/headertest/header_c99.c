/* The public header must stand alone in strict C99: included twice (the
 * guard), first in its file, and usable with only its own declarations. */
#include "mccache.h"
#include "mccache.h"

#if !MCCACHE_VERSION_CHECK(0, 0, 1)
#error "MCCACHE_VERSION_CHECK is wrong"
#endif

/* C99 has no static_assert: a negative array size fails the build instead. */
typedef char mccache_version_number_ok[(MCCACHE_VERSION_NUMBER ==
    MCCACHE_VERSION_MAJOR * 10000 + MCCACHE_VERSION_MINOR * 100 + MCCACHE_VERSION_PATCH) ? 1 : -1];
typedef char mccache_ok_is_zero[(MCCACHE_OK == 0) ? 1 : -1];

int header_c99_uses_api(void);

int header_c99_uses_api(void) {
    /* Take addresses so every prototype is checked against its use. */
    unsigned (*version)(void) = mccache_version;
    const char *(*strerror_fn)(int) = mccache_strerror;
    int (*put)(mccache_cache_t *, const void *, size_t, const void *, size_t, int64_t) = mccache_put;
    mccache_metadata_t md;
    md.struct_size = sizeof md;
    return (version != 0) + (strerror_fn != 0) + (put != 0) + (int)md.struct_size +
           (int)(MCCACHE_TTL_NEVER < MCCACHE_TTL_DEFAULT);
}
