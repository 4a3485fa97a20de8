/* What the C compiler thinks of mccache.h: sizes, alignments and offsets of
 * the public structs, and the value of every constant. tests/layout.rs
 * compares each entry with mccache-sys's view. */
#include <stddef.h>
#include <stdint.h>

#include <mccache.h>

struct mccache_systest_item {
    const char *name;
    int64_t value;
};

#define SIZE(t) {"size " #t, (int64_t)sizeof(t)}, {"align " #t, (int64_t)_Alignof(t)}
#define FIELD(t, f) {#t "." #f, (int64_t)offsetof(t, f)}, {"size " #t "." #f, (int64_t)sizeof(((t *)0)->f)}
#define CONST(c) {#c, (int64_t)(c)}

const struct mccache_systest_item mccache_systest_items[] = {
    SIZE(mccache_metadata_t),
    FIELD(mccache_metadata_t, struct_size),
    FIELD(mccache_metadata_t, reserved0),
    FIELD(mccache_metadata_t, version_hlc),
    FIELD(mccache_metadata_t, version_node),
    FIELD(mccache_metadata_t, created_ms),
    FIELD(mccache_metadata_t, updated_ms),
    FIELD(mccache_metadata_t, expires_ms),
    FIELD(mccache_metadata_t, last_lookup_ms),
    FIELD(mccache_metadata_t, lookups),
    FIELD(mccache_metadata_t, key_size),
    FIELD(mccache_metadata_t, value_size),
    FIELD(mccache_metadata_t, charged_bytes),
    FIELD(mccache_metadata_t, checksum),

    SIZE(mccache_event_t),
    FIELD(mccache_event_t, struct_size),
    FIELD(mccache_event_t, type),
    FIELD(mccache_event_t, origin),
    FIELD(mccache_event_t, reserved0),
    FIELD(mccache_event_t, cache),
    FIELD(mccache_event_t, key),
    FIELD(mccache_event_t, klen),
    FIELD(mccache_event_t, value),
    FIELD(mccache_event_t, version_hlc),
    FIELD(mccache_event_t, version_node),
    FIELD(mccache_event_t, last_lookup_ms),
    FIELD(mccache_event_t, time_ms),

    SIZE(mccache_member_t),
    FIELD(mccache_member_t, struct_size),
    FIELD(mccache_member_t, event),
    FIELD(mccache_member_t, node_id),
    FIELD(mccache_member_t, incarnation),
    FIELD(mccache_member_t, address),
    FIELD(mccache_member_t, last_seen_ms),

    CONST(MCCACHE_VERSION_MAJOR),
    CONST(MCCACHE_VERSION_MINOR),
    CONST(MCCACHE_VERSION_PATCH),
    CONST(MCCACHE_VERSION_NUMBER),
    CONST(MCCACHE_TTL_DEFAULT),
    CONST(MCCACHE_TTL_NEVER),
    CONST(MCCACHE_OK),
    CONST(MCCACHE_EINVAL),
    CONST(MCCACHE_ENOMEM),
    CONST(MCCACHE_ENOTFOUND),
    CONST(MCCACHE_EEXISTS),
    CONST(MCCACHE_EBUFS),
    CONST(MCCACHE_ETOOBIG),
    CONST(MCCACHE_ECLOSED),
    CONST(MCCACHE_ETIMEDOUT),
    CONST(MCCACHE_ECANCELED),
    CONST(MCCACHE_EBUSY),
    CONST(MCCACHE_ECONFIG),
    CONST(MCCACHE_EIO),
    CONST(MCCACHE_ESTALE),
    CONST(MCCACHE_EUSER),
    CONST(MCCACHE_ENOTSUP),
    CONST(MCCACHE_EINTERNAL),
    CONST(MCCACHE_LOG_ERROR),
    CONST(MCCACHE_LOG_WARN),
    CONST(MCCACHE_LOG_INFO),
    CONST(MCCACHE_LOG_DEBUG),
    CONST(MCCACHE_MODE_UPDATE),
    CONST(MCCACHE_MODE_REPLICATE),
    CONST(MCCACHE_MODE_INVALIDATE),
    CONST(MCCACHE_EVENT_INSERT),
    CONST(MCCACHE_EVENT_UPDATE),
    CONST(MCCACHE_EVENT_DELETE),
    CONST(MCCACHE_EVENT_EVICT),
    CONST(MCCACHE_EVENT_EXPIRE),
    CONST(MCCACHE_ORIGIN_LOCAL),
    CONST(MCCACHE_ORIGIN_REMOTE),
    CONST(MCCACHE_ORIGIN_REPAIR),
    CONST(MCCACHE_MEMBER_JOINED),
    CONST(MCCACHE_MEMBER_LEFT),
    CONST(MCCACHE_MEMBER_DOWN),
    CONST(MCCACHE_MEMBER_RECOVERED),
    CONST(MCCACHE_MEMBER_RESTARTED),
    CONST(MCCACHE_QUERY_METRICS),
    CONST(MCCACHE_QUERY_CHECKSUMS),
    {NULL, 0},
};
