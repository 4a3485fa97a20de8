// Loaders (mccache_get_or_load and the loader's side) and namespaces.
#include <cstring>

#include "api/api.h"
#include "node/loads.h"

using mccache::api::CallScope;
using mccache::api::closed_error;
using mccache::api::fail;
using mccache::api::guarded;
using mccache::node::Cache;

extern "C" {

MCCACHE_API int mccache_load_set_value(mccache_load_t* load, const void* value, size_t vlen, int64_t ttl_ms) {
    return guarded("mccache_load_set_value", [&]() -> int {
        if (!load) return fail(MCCACHE_EINVAL, "mccache_load_set_value: load is NULL");
        if (!value && vlen > 0)
            return fail(MCCACHE_EINVAL, "mccache_load_set_value: value is NULL but its length is not 0");
        if (ttl_ms < MCCACHE_TTL_NEVER)
            return fail(MCCACHE_EINVAL, "mccache_load_set_value: ttl_ms " + std::to_string(ttl_ms) +
                                            " is invalid (use a positive number of milliseconds, 0 for the "
                                            "cache default or -1 for never)");
        load->value.assign(static_cast<const char*>(value), vlen);
        load->ttl_ms = ttl_ms;
        load->has_value = true;
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_load_set_error(mccache_load_t* load, const char* message) {
    return guarded("mccache_load_set_error", [&]() -> int {
        if (!load) return fail(MCCACHE_EINVAL, "mccache_load_set_error: load is NULL");
        if (!message) return fail(MCCACHE_EINVAL, "mccache_load_set_error: message is NULL");
        load->error = message;
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_get_or_load(mccache_cache_t* c, const void* key, size_t klen, mccache_loader_cb loader,
                                    void* opaque, int64_t timeout_ms, mccache_value_t** out) {
    return guarded("mccache_get_or_load", [&]() -> int {
        if (out) *out = nullptr;
        if (!c) return fail(MCCACHE_EINVAL, "mccache_get_or_load: cache is NULL");
        CallScope scope(c->owner);
        if (!scope.open()) return closed_error("mccache_get_or_load");
        Cache& cache = *c->cache;
        if (!out) return fail(MCCACHE_EINVAL, "mccache_get_or_load: out is NULL");
        if (!key) return fail(MCCACHE_EINVAL, "mccache_get_or_load: key is NULL");
        if (klen == 0) return fail(MCCACHE_EINVAL, "mccache_get_or_load: key is empty");
        if (klen > cache.max_key_size())
            return fail(MCCACHE_ETOOBIG, "mccache_get_or_load: key of " + std::to_string(klen) +
                                             " bytes exceeds max_key_size (" + std::to_string(cache.max_key_size()) +
                                             ")");
        if (timeout_ms < -1)
            return fail(MCCACHE_EINVAL, "mccache_get_or_load: timeout_ms " + std::to_string(timeout_ms) +
                                            " is invalid (> 0 ms, 0 for twice load_lease, -1 for no limit)");
        if (!loader && !cache.loads().has_loader())
            return fail(MCCACHE_EINVAL,
                        "mccache_get_or_load: loader is NULL and cache \"" + cache.name() +
                            "\" has no registered loader (mccache_set_loader)");
        std::string scoped;
        std::string_view stored(static_cast<const char*>(key), klen);
        if (cache.namespaced()) {
            cache.scope(key, klen, &scoped);
            if (scoped.size() > cache.max_key_size())
                return fail(MCCACHE_ETOOBIG, "mccache_get_or_load: key of " + std::to_string(klen) + " bytes is " +
                                                 std::to_string(scoped.size()) + " with the namespace of cache \"" +
                                                 cache.name() + "\", over max_key_size");
            stored = scoped;
        }
        std::string error;
        mccache::store::Value* v = nullptr;
        int rc = cache.loads().get_or_load(stored, std::string_view(static_cast<const char*>(key), klen),
                                           {loader, opaque}, timeout_ms, c->owner->closed, &v, &error);
        if (rc != MCCACHE_OK) return fail(rc, "mccache_get_or_load: " + error);
        *out = v;
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_set_loader(mccache_cache_t* c, mccache_loader_cb loader, void* opaque,
                                   void (*opaque_free)(void*)) {
    return guarded("mccache_set_loader", [&]() -> int {
        if (!c) return fail(MCCACHE_EINVAL, "mccache_set_loader: cache is NULL");
        CallScope scope(c->owner);
        if (!scope.open()) {
            if (opaque_free) opaque_free(opaque);
            return closed_error("mccache_set_loader");
        }
        c->cache->loads().set_loader(loader, opaque, opaque_free);
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_namespace_bump(mccache_cache_t* c, uint64_t* generation) {
    return guarded("mccache_namespace_bump", [&]() -> int {
        if (!c) return fail(MCCACHE_EINVAL, "mccache_namespace_bump: cache is NULL");
        CallScope scope(c->owner);
        if (!scope.open()) return closed_error("mccache_namespace_bump");
        mccache::Status st = c->cache->bump_generation(generation);
        if (!st.ok()) return fail(st.code, "mccache_namespace_bump: " + st.message);
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_namespace_generation(mccache_cache_t* c, uint64_t* generation) {
    return guarded("mccache_namespace_generation", [&]() -> int {
        if (!c) return fail(MCCACHE_EINVAL, "mccache_namespace_generation: cache is NULL");
        if (!generation) return fail(MCCACHE_EINVAL, "mccache_namespace_generation: generation is NULL");
        CallScope scope(c->owner);
        if (!scope.open()) return closed_error("mccache_namespace_generation");
        *generation = c->cache->generation();
        return MCCACHE_OK;
    });
}

}  // extern "C"
