// The public header must compile as C++ (bindings' glue and C++ users), with
// extern "C" linkage and nothing the C++ pedantic mode rejects.
#include "mccache.h"
#include "mccache.h"

static_assert(MCCACHE_VERSION_NUMBER ==
                  MCCACHE_VERSION_MAJOR * 10000 + MCCACHE_VERSION_MINOR * 100 + MCCACHE_VERSION_PATCH,
              "MCCACHE_VERSION_NUMBER disagrees with its parts");
static_assert(MCCACHE_VERSION_CHECK(0, 0, 1), "MCCACHE_VERSION_CHECK is wrong");
static_assert(MCCACHE_OK == 0, "MCCACHE_OK must be 0");

extern "C" {
typedef unsigned version_fn(void);
}

int header_cxx_uses_api();

int header_cxx_uses_api() {
    version_fn *version = mccache_version;
    mccache_metadata_t md = mccache_metadata_t();
    md.struct_size = sizeof md;
    return (version != nullptr) + static_cast<int>(md.struct_size);
}
