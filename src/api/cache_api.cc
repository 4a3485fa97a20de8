// Named caches and their entries.
#include <algorithm>
#include <climits>
#include <cstring>

#include "api/api.h"

using mccache::api::CallScope;
using mccache::api::closed_error;
using mccache::api::fail;
using mccache::api::guarded;
using mccache::node::Cache;
using mccache::store::Value;

#define MCCACHE_ENTER_CACHE(fn, c)                                  \
    if (!(c)) return fail(MCCACHE_EINVAL, fn ": cache is NULL");    \
    CallScope scope_((c)->owner);                                   \
    if (!scope_.open()) return closed_error(fn);                    \
    Cache& cache = *(c)->cache

#define MCCACHE_SCOPE_KEY(fn, key, klen)                                                 \
    std::string scoped_;                                                                  \
    if (__builtin_expect(cache.namespaced(), 0))                                          \
        if (int rc_ = scope_key(fn, cache, reinterpret_cast<const void**>(&(key)), &(klen), &scoped_)) return rc_

namespace {

int check_key(const char* fn, Cache& cache, const void* key, size_t klen,
              const std::string& where) {
    if (!key) return fail(MCCACHE_EINVAL, std::string(fn) + ": key" + where + " is NULL");
    if (klen == 0) return fail(MCCACHE_EINVAL, std::string(fn) + ": key" + where + " is empty");
    uint64_t max = cache.max_key_size();
    if (klen > max)
        return fail(MCCACHE_ETOOBIG, std::string(fn) + ": key" + where + " of " +
                                         std::to_string(klen) + " bytes exceeds max_key_size (" +
                                         std::to_string(max) + ")");
    return MCCACHE_OK;
}

int check_value(const char* fn, Cache& cache, size_t klen, const void* value, size_t vlen,
                const std::string& where) {
    if (!value && vlen > 0)
        return fail(MCCACHE_EINVAL,
                    std::string(fn) + ": value" + where + " is NULL but its length is not 0");
    uint64_t max = cache.max_value_size();
    if (vlen > max)
        return fail(MCCACHE_ETOOBIG, std::string(fn) + ": value" + where + " of " +
                                         std::to_string(vlen) +
                                         " bytes exceeds max_value_size (" + std::to_string(max) +
                                         "); nothing was stored");
    if (!cache.fits(klen, vlen))
        return fail(MCCACHE_ETOOBIG, std::string(fn) + ": entry" + where + " needs " +
                                         std::to_string(mccache::store::Store::charge_estimate(klen, vlen)) +
                                         " bytes but cache \"" + cache.name() + "\" has cache_size " +
                                         std::to_string(cache.store().limits().max_bytes) + "; nothing was stored");
    return MCCACHE_OK;
}

// The common case, with no batch index: nothing is built unless it fails.
inline int check_key(const char* fn, Cache& cache, const void* key, size_t klen) {
    if (__builtin_expect(key != nullptr && klen != 0 && klen <= cache.max_key_size(), 1))
        return MCCACHE_OK;
    return check_key(fn, cache, key, klen, std::string());
}

inline int check_value(const char* fn, Cache& cache, size_t klen, const void* value, size_t vlen) {
    if (__builtin_expect((value != nullptr || vlen == 0) && vlen <= cache.max_value_size() && cache.fits(klen, vlen), 1))
        return MCCACHE_OK;
    return check_value(fn, cache, klen, value, vlen, std::string());
}

__attribute__((noinline, cold)) int bad_ttl(const char* fn, int64_t ttl_ms) {
    return fail(MCCACHE_EINVAL, std::string(fn) + ": ttl_ms " + std::to_string(ttl_ms) +
                                        " is invalid (use a positive number of milliseconds, "
                                        "0 for the cache default or -1 for never)");
}

inline int check_ttl(const char* fn, int64_t ttl_ms) {
    return __builtin_expect(ttl_ms < MCCACHE_TTL_NEVER, 0) ? bad_ttl(fn, ttl_ms) : MCCACHE_OK;
}

// A miss is a normal outcome: its message is a literal, with no allocation.
int not_found(const char* fn) { return mccache::api::fail_literal(MCCACHE_ENOTFOUND, fn, ": key not found"); }

// A namespaced cache's key as stored (Cache::scope), checked against
// max_key_size like any key; the caller's key is left as it is otherwise.
__attribute__((noinline)) int scope_key(const char* fn, Cache& cache, const void** key, size_t* klen,
                                        std::string* buf) {
    cache.scope(*key, *klen, buf);
    if (buf->size() > cache.max_key_size())
        return fail(MCCACHE_ETOOBIG, std::string(fn) + ": key of " + std::to_string(*klen) + " bytes is " +
                                         std::to_string(buf->size()) + " with the namespace of cache \"" +
                                         cache.name() + "\", over max_key_size (" +
                                         std::to_string(cache.max_key_size()) + ")");
    *key = buf->data();
    *klen = buf->size();
    return MCCACHE_OK;
}

}  // namespace

extern "C" {

MCCACHE_API int mccache_cache_open(mccache_t* node, const char* name, mccache_cache_t** out) {
    return guarded("mccache_cache_open", [&]() -> int {
        if (!node) return fail(MCCACHE_EINVAL, "mccache_cache_open: node is NULL");
        if (!out) return fail(MCCACHE_EINVAL, "mccache_cache_open: out is NULL");
        *out = nullptr;
        if (!name) return fail(MCCACHE_EINVAL, "mccache_cache_open: name is NULL");
        std::string why;
        if (!mccache::config::valid_cache_name(name, &why))
            return fail(MCCACHE_EINVAL, "mccache_cache_open: invalid cache name: " + why);
        if (std::strncmp(name, "mccache:", 8) == 0)
            return fail(MCCACHE_EINVAL, std::string("mccache_cache_open: cache names starting with \"mccache:\" are "
                                                    "reserved for the library (\"") + name + "\")");
        CallScope scope(node);
        if (!scope.open()) return closed_error("mccache_cache_open");
        Cache* cache = nullptr;
        bool created = false;
        mccache::Status st = node->node->open_cache(name, &cache, &created);
        if (!st.ok()) return fail(st);
        {
            std::lock_guard<std::mutex> lock(node->caches_mu);
            if (!cache->handle.load(std::memory_order_acquire)) {
                auto shell = std::make_unique<mccache_cache_s>();
                shell->owner = node;
                shell->cache = cache;
                shell->name = name;
                cache->handle.store(shell.get(), std::memory_order_release);
                node->caches.push_back(std::move(shell));
            }
        }
        *out = cache->handle.load(std::memory_order_acquire);
        return MCCACHE_OK;
    });
}

MCCACHE_API const char* mccache_cache_name(const mccache_cache_t* cache) {
    return cache ? cache->name.c_str() : nullptr;
}

MCCACHE_API int mccache_put(mccache_cache_t* c, const void* key, size_t klen, const void* value,
                            size_t vlen, int64_t ttl_ms) {
    return guarded("mccache_put", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_put", c);
        int rc;
        if ((rc = check_key("mccache_put", cache, key, klen)) ||
            (rc = check_value("mccache_put", cache, klen, value, vlen)) ||
            (rc = check_ttl("mccache_put", ttl_ms)))
            return rc;
        MCCACHE_SCOPE_KEY("mccache_put", key, klen);
        cache.put(key, klen, value, vlen, ttl_ms);
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_get(mccache_cache_t* c, const void* key, size_t klen,
                            mccache_value_t** out) {
    return guarded("mccache_get", [&]() -> int {
        if (out) *out = nullptr;
        MCCACHE_ENTER_CACHE("mccache_get", c);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_get: out is NULL");
        if (int rc = check_key("mccache_get", cache, key, klen)) return rc;
        MCCACHE_SCOPE_KEY("mccache_get", key, klen);
        *out = cache.get(key, klen);
        return *out ? MCCACHE_OK : not_found("mccache_get");
    });
}

MCCACHE_API int mccache_get_copy(mccache_cache_t* c, const void* key, size_t klen, void* buf,
                                 size_t* len) {
    return guarded("mccache_get_copy", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_get_copy", c);
        if (!len) return fail(MCCACHE_EINVAL, "mccache_get_copy: len is NULL");
        if (!buf && *len > 0)
            return fail(MCCACHE_EINVAL, "mccache_get_copy: buf is NULL but *len is not 0");
        if (int rc = check_key("mccache_get_copy", cache, key, klen)) return rc;
        MCCACHE_SCOPE_KEY("mccache_get_copy", key, klen);
        int rc = cache.get_copy(key, klen, buf, len);
        if (rc == MCCACHE_ENOTFOUND) return not_found("mccache_get_copy");
        if (rc == MCCACHE_EBUFS)
            return fail(MCCACHE_EBUFS, "mccache_get_copy: the value needs " +
                                           std::to_string(*len) + " bytes");
        return rc;
    });
}

MCCACHE_API const void* mccache_value_data(const mccache_value_t* value, size_t* len) {
    if (!value) {
        if (len) *len = 0;
        return nullptr;
    }
    if (len) *len = value->len;
    return value->bytes();
}

MCCACHE_API mccache_value_t* mccache_value_ref(mccache_value_t* value) {
    return mccache::store::value_ref(value);
}

MCCACHE_API void mccache_value_free(mccache_value_t* value) { mccache::store::value_unref(value); }

MCCACHE_API int mccache_delete(mccache_cache_t* c, const void* key, size_t klen) {
    return guarded("mccache_delete", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_delete", c);
        if (int rc = check_key("mccache_delete", cache, key, klen)) return rc;
        MCCACHE_SCOPE_KEY("mccache_delete", key, klen);
        const bool was_live = cache.remove(key, klen);
        return was_live ? MCCACHE_OK : not_found("mccache_delete");
    });
}

MCCACHE_API int mccache_contains(mccache_cache_t* c, const void* key, size_t klen) {
    return guarded("mccache_contains", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_contains", c);
        if (int rc = check_key("mccache_contains", cache, key, klen)) return rc;
        MCCACHE_SCOPE_KEY("mccache_contains", key, klen);
        return cache.contains(key, klen) ? MCCACHE_OK : not_found("mccache_contains");
    });
}

MCCACHE_API int mccache_len(mccache_cache_t* c, size_t* out) {
    return guarded("mccache_len", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_len", c);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_len: out is NULL");
        *out = cache.size();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_clear(mccache_cache_t* c) {
    return guarded("mccache_clear", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_clear", c);
        cache.clear();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_metadata(mccache_cache_t* c, const void* key, size_t klen,
                                 mccache_metadata_t* out) {
    return guarded("mccache_metadata", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_metadata", c);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_metadata: out is NULL");
        // The first published layout is the whole of today's struct; later
        // versions only append, and a caller gets what its size covers.
        constexpr size_t kFirstLayout = sizeof(mccache_metadata_t);
        const uint32_t size = out->struct_size;
        if (size < kFirstLayout)
            return fail(MCCACHE_EINVAL, "mccache_metadata: out->struct_size is " + std::to_string(size) +
                                            "; set it to sizeof(mccache_metadata_t) (" +
                                            std::to_string(kFirstLayout) + ")");
        if (int rc = check_key("mccache_metadata", cache, key, klen)) return rc;
        MCCACHE_SCOPE_KEY("mccache_metadata", key, klen);
        mccache::store::Metadata m;
        if (!cache.metadata(key, klen, &m)) return not_found("mccache_metadata");
        mccache_metadata_t md{};
        md.struct_size = static_cast<uint32_t>(std::min<size_t>(size, sizeof md));
        md.version_hlc = m.version.hlc;
        md.version_node = m.version.node;
        md.created_ms = m.created_ms;
        md.updated_ms = m.updated_ms;
        md.expires_ms = m.expires_ms;
        md.last_lookup_ms = m.last_lookup_ms;
        md.lookups = m.lookups;
        md.key_size = m.key_size;
        md.value_size = m.value_size;
        md.charged_bytes = m.charged_bytes;
        md.checksum = m.checksum;
        std::memcpy(out, &md, md.struct_size);
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_get_batch(mccache_cache_t* c, size_t n, const void* const* keys,
                                  const size_t* klens, mccache_value_t** values, int* statuses) {
    return guarded("mccache_get_batch", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_get_batch", c);
        if (n == 0) return MCCACHE_OK;
        if (!keys || !klens || !values)
            return fail(MCCACHE_EINVAL, "mccache_get_batch: keys, klens and values must not be NULL");
        for (size_t i = 0; i < n; ++i) {
            values[i] = nullptr;
            if (statuses) statuses[i] = MCCACHE_ENOTFOUND;
        }
        for (size_t i = 0; i < n; ++i) {
            std::string where = "[" + std::to_string(i) + "]";
            if (int rc = check_key("mccache_get_batch", cache, keys[i], klens[i], where)) return rc;
        }
        for (size_t i = 0; i < n; ++i) {
            const void* key = keys[i];
            size_t klen = klens[i];
            MCCACHE_SCOPE_KEY("mccache_get_batch", key, klen);
            values[i] = cache.get(key, klen);
            if (statuses) statuses[i] = values[i] ? MCCACHE_OK : MCCACHE_ENOTFOUND;
        }
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_put_batch(mccache_cache_t* c, size_t n, const void* const* keys,
                                  const size_t* klens, const void* const* values,
                                  const size_t* vlens, int64_t ttl_ms) {
    return guarded("mccache_put_batch", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_put_batch", c);
        if (int rc = check_ttl("mccache_put_batch", ttl_ms)) return rc;
        if (n == 0) return MCCACHE_OK;
        if (!keys || !klens || !values || !vlens)
            return fail(MCCACHE_EINVAL,
                        "mccache_put_batch: keys, klens, values and vlens must not be NULL");
        // Validate everything first, so a bad entry stores nothing.
        for (size_t i = 0; i < n; ++i) {
            std::string where = "[" + std::to_string(i) + "]";
            int rc;
            if ((rc = check_key("mccache_put_batch", cache, keys[i], klens[i], where)) ||
                (rc = check_value("mccache_put_batch", cache, klens[i], values[i], vlens[i], where)))
                return rc;
        }
        for (size_t i = 0; i < n; ++i) {
            const void* key = keys[i];
            size_t klen = klens[i];
            MCCACHE_SCOPE_KEY("mccache_put_batch", key, klen);
            cache.put(key, klen, values[i], vlens[i], ttl_ms);
        }
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_checksum(mccache_cache_t* c, uint64_t* out) {
    return guarded("mccache_checksum", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_checksum", c);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_checksum: out is NULL");
        *out = cache.checksum();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_key_checksum(mccache_cache_t* c, const void* key, size_t klen,
                                     uint64_t* out) {
    return guarded("mccache_key_checksum", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_key_checksum", c);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_key_checksum: out is NULL");
        if (int rc = check_key("mccache_key_checksum", cache, key, klen)) return rc;
        MCCACHE_SCOPE_KEY("mccache_key_checksum", key, klen);
        return cache.key_checksum(key, klen, out) ? MCCACHE_OK
                                                          : not_found("mccache_key_checksum");
    });
}

MCCACHE_API int mccache_cache_metrics_json(mccache_cache_t* c, char** out) {
    return guarded("mccache_cache_metrics_json", [&]() -> int {
        MCCACHE_ENTER_CACHE("mccache_cache_metrics_json", c);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_cache_metrics_json: out is NULL");
        *out = mccache::api::dup_string(cache.metrics_json());
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_on_change(mccache_cache_t* c, mccache_change_cb cb, void* opaque,
                                  void (*opaque_free)(void*)) {
    return guarded("mccache_on_change", [&]() -> int {
        if (!c) return fail(MCCACHE_EINVAL, "mccache_on_change: cache is NULL");
        CallScope scope(c->owner);
        if (!scope.open()) {
            if (opaque_free) opaque_free(opaque);
            return closed_error("mccache_on_change");
        }
        c->cache->set_change_callback({cb, opaque, opaque_free});
        return MCCACHE_OK;
    });
}

}  // extern "C"
