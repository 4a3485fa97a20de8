// The cluster calls: membership, anti-entropy on demand, cluster-wide requests.
#include <algorithm>
#include <cstring>

#include "api/api.h"
#include "crypto/seal.h"

using mccache::api::CallScope;
using mccache::api::closed_error;
using mccache::api::fail;
using mccache::api::guarded;


namespace {

int check_query(const char* fn, int kind, const char* cache, int timeout_ms) {
    if (kind != MCCACHE_QUERY_METRICS && kind != MCCACHE_QUERY_CHECKSUMS)
        return fail(MCCACHE_EINVAL, std::string(fn) + ": kind " + std::to_string(kind) +
                                        " is not MCCACHE_QUERY_METRICS or MCCACHE_QUERY_CHECKSUMS");
    if (timeout_ms < 1 || timeout_ms > 60000)
        return fail(MCCACHE_EINVAL, std::string(fn) + ": timeout_ms " + std::to_string(timeout_ms) +
                                        " is out of range [1, 60000]");
    std::string why;
    if (cache && !mccache::config::valid_cache_name(cache, &why))
        return fail(MCCACHE_EINVAL, std::string(fn) + ": invalid cache name: " + why);
    return MCCACHE_OK;
}

}  // namespace

extern "C" {

MCCACHE_API int mccache_on_member(mccache_t* node, mccache_member_cb cb, void* opaque,
                                  void (*opaque_free)(void*)) {
    return guarded("mccache_on_member", [&]() -> int {
        if (!node) return fail(MCCACHE_EINVAL, "mccache_on_member: node is NULL");
        CallScope scope(node);
        if (!scope.open()) {
            if (opaque_free) opaque_free(opaque);
            return closed_error("mccache_on_member");
        }
        node->node->set_member_callback({cb, opaque, opaque_free});
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_members_json(mccache_t* node, char** out) {
    return guarded("mccache_members_json", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_members_json", node);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_members_json: out is NULL");
        *out = mccache::api::dup_string(node->node->members_json());
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_sync(mccache_t* node) {
    return guarded("mccache_sync", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_sync", node);
        node->node->sync();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_cluster_request(mccache_t* node, int kind, const char* cache,
                                        int timeout_ms, mccache_reply_cb cb, void* opaque,
                                        void (*opaque_free)(void*)) {
    return guarded("mccache_cluster_request", [&]() -> int {
        if (!node) return fail(MCCACHE_EINVAL, "mccache_cluster_request: node is NULL");
        auto release = [&] {
            if (opaque_free) opaque_free(opaque);
        };
        CallScope scope(node);
        if (!scope.open()) {
            release();
            return closed_error("mccache_cluster_request");
        }
        int rc = check_query("mccache_cluster_request", kind, cache, timeout_ms);
        if (!rc && !cb) rc = fail(MCCACHE_EINVAL, "mccache_cluster_request: cb is NULL");
        if (rc) {
            release();
            return rc;
        }
        node->node->cluster_request(kind, cache ? cache : "", timeout_ms, cb, opaque, opaque_free);
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_cluster_collect(mccache_t* node, int kind, const char* cache,
                                        int timeout_ms, char** out) {
    return guarded("mccache_cluster_collect", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_cluster_collect", node);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_cluster_collect: out is NULL");
        if (int rc = check_query("mccache_cluster_collect", kind, cache, timeout_ms)) return rc;
        // It waits for the loop thread and the answers: a callback of this
        // node must not block its dispatcher thread that long.
        if (node->node->on_own_thread())
            return fail(MCCACHE_EBUSY, "mccache_cluster_collect: called from this node's own callback");
        std::string s = node->node->cluster_collect(kind, cache ? cache : "", timeout_ms);
        *out = mccache::api::dup_string(s);
        return MCCACHE_OK;
    });
}

}  // extern "C"

extern "C" {

MCCACHE_API int mccache_generate_key(char* buf, size_t len) {
    return guarded("mccache_generate_key", [&]() -> int {
        if (!buf) return fail(MCCACHE_EINVAL, "mccache_generate_key: buf is NULL");
        if (len < 45) return fail(MCCACHE_EBUFS, "mccache_generate_key: the buffer needs 45 bytes");
        std::string key;
        mccache::Status st = mccache::crypto::generate_key_b64(&key);
        if (!st.ok()) return fail(st);
        std::memcpy(buf, key.c_str(), key.size() + 1);
        std::fill(key.begin(), key.end(), '\0');
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_set_keys(mccache_t* node, const char* seal_key, const char* accept_key) {
    return guarded("mccache_set_keys", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_set_keys", node);
        mccache::Status st = node->node->set_keys(seal_key ? seal_key : "", accept_key ? accept_key : "");
        return st.ok() ? MCCACHE_OK : fail(st.code, "mccache_set_keys: " + st.message);
    });
}

}  // extern "C"
