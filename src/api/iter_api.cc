// Iteration: one shard snapshot at a time (see the consistency note in mccache.h).
#include <vector>

#include "api/api.h"

using mccache::api::CallScope;
using mccache::api::closed_error;
using mccache::api::fail;
using mccache::api::guarded;
using mccache::store::Value;

struct mccache_iter_s {
    struct Item {
        std::string key;
        Value* value;
        int64_t expires_ms;
    };
    mccache_cache_s* cache;
    size_t next_shard = 0;
    std::vector<Item> items;
    size_t pos = 0;
    std::string current;  // the key handed out last; valid until the next call

    ~mccache_iter_s() {
        for (size_t i = pos; i < items.size(); ++i) mccache::store::value_unref(items[i].value);
    }
};

extern "C" {

MCCACHE_API int mccache_iter_new(mccache_cache_t* cache, mccache_iter_t** out) {
    return guarded("mccache_iter_new", [&]() -> int {
        if (out) *out = nullptr;
        if (!cache) return fail(MCCACHE_EINVAL, "mccache_iter_new: cache is NULL");
        if (!out) return fail(MCCACHE_EINVAL, "mccache_iter_new: out is NULL");
        CallScope scope(cache->owner);
        if (!scope.open()) return closed_error("mccache_iter_new");
        auto it = std::make_unique<mccache_iter_s>();
        it->cache = cache;
        *out = it.release();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_iter_next(mccache_iter_t* iter, const void** key, size_t* klen,
                                  mccache_value_t** value) {
    return guarded("mccache_iter_next", [&]() -> int {
        if (value) *value = nullptr;
        if (!iter) return fail(MCCACHE_EINVAL, "mccache_iter_next: iter is NULL");
        if (!key || !klen) return fail(MCCACHE_EINVAL, "mccache_iter_next: key and klen must not be NULL");
        CallScope scope(iter->cache->owner);
        if (!scope.open()) return closed_error("mccache_iter_next");
        mccache::store::Store& store = iter->cache->cache->store();
        const mccache::store::Clock& clock = iter->cache->cache->node().clock();
        for (;;) {
            while (iter->pos < iter->items.size()) {
                auto& item = iter->items[iter->pos++];
                if (item.expires_ms >= 0 && clock.now_ms() >= item.expires_ms) {
                    mccache::store::value_unref(item.value);
                    continue;
                }
                iter->current = std::move(item.key);
                *key = iter->current.data();
                *klen = iter->current.size();
                if (value) {
                    *value = item.value;
                } else {
                    mccache::store::value_unref(item.value);
                }
                return MCCACHE_OK;
            }
            if (iter->next_shard >= store.shard_count())
                return fail(MCCACHE_ENOTFOUND, "mccache_iter_next: no more entries");
            iter->items.clear();
            iter->pos = 0;
            store.snapshot_shard(iter->next_shard++, [&](std::string_view k, Value* v, int64_t exp) {
                iter->items.push_back({std::string(k), v, exp});
            });
        }
    });
}

MCCACHE_API void mccache_iter_free(mccache_iter_t* iter) { delete iter; }

}  // extern "C"
