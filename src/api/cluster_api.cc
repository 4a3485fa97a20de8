// The cluster calls: membership, anti-entropy on demand, cluster-wide requests.
#include <cjson/cJSON.h>

#include <cinttypes>
#include <algorithm>
#include <cstring>
#include <future>

#include "api/api.h"

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
    if (cache && (std::strlen(cache) == 0 || std::strlen(cache) > 255))
        return fail(MCCACHE_EINVAL, std::string(fn) + ": cache name must be 1 to 255 bytes");
    return MCCACHE_OK;
}

std::string hex64(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
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
        std::string json;
        node->node->run_on_loop([&] { json = node->node->cluster().members_json(); });
        *out = mccache::api::dup_string(json);
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_sync(mccache_t* node) {
    return guarded("mccache_sync", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_sync", node);
        mccache::node::Node* n = node->node.get();
        n->post_task([n] { n->cluster().sync_now(); });
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
        mccache::node::Node* n = node->node.get();
        std::string name = cache ? cache : "";
        n->post_task([n, kind, name, timeout_ms, cb, opaque, opaque_free] {
            n->cluster().start_query(
                static_cast<mccache::wire::QueryKind>(kind), name, timeout_ms,
                [cb, opaque](uint64_t member, const std::string& json) { cb(member, json.c_str(), opaque); },
                [cb, opaque, opaque_free] {
                    cb(0, nullptr, opaque);
                    if (opaque_free) opaque_free(opaque);
                });
        });
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_cluster_collect(mccache_t* node, int kind, const char* cache,
                                        int timeout_ms, char** out) {
    return guarded("mccache_cluster_collect", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_cluster_collect", node);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_cluster_collect: out is NULL");
        if (int rc = check_query("mccache_cluster_collect", kind, cache, timeout_ms)) return rc;
        mccache::node::Node* n = node->node.get();
        if (n->on_loop_thread())
            return fail(MCCACHE_EBUSY, "mccache_cluster_collect: called from this node's own callback");
        struct Collected {
            std::mutex mu;
            std::vector<std::pair<uint64_t, std::string>> replies;
            size_t members = 0;
            std::promise<void> done;
        };
        auto c = std::make_shared<Collected>();
        std::string name = cache ? cache : "";
        auto fut = c->done.get_future();
        n->post_task([n, c, kind, name, timeout_ms] {
            c->members = n->cluster().alive_members() + 1;
            n->cluster().start_query(
                static_cast<mccache::wire::QueryKind>(kind), name, timeout_ms,
                [c](uint64_t member, const std::string& json) {
                    std::lock_guard<std::mutex> lock(c->mu);
                    c->replies.emplace_back(member, json);
                },
                [c] { c->done.set_value(); });
        });
        fut.wait();
        std::unique_ptr<cJSON, decltype(&cJSON_Delete)> root(cJSON_CreateObject(), cJSON_Delete);
        cJSON* replies = root ? cJSON_AddObjectToObject(root.get(), "replies") : nullptr;
        if (!replies) throw std::bad_alloc();
        std::lock_guard<std::mutex> lock(c->mu);
        for (auto& [member, json] : c->replies) {
            cJSON* parsed = cJSON_Parse(json.c_str());
            if (!parsed) parsed = cJSON_CreateString(json.c_str());
            if (!parsed) throw std::bad_alloc();
            cJSON_AddItemToObject(replies, hex64(member).c_str(), parsed);
        }
        if (!cJSON_AddNumberToObject(root.get(), "members", static_cast<double>(c->members)))
            throw std::bad_alloc();
        char* text = cJSON_PrintUnformatted(root.get());
        if (!text) throw std::bad_alloc();
        std::string s(text);
        cJSON_free(text);
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
        std::vector<mccache::crypto::Key> seal, accept;
        mccache::crypto::Key k;
        if (seal_key && *seal_key) {
            mccache::Status st = mccache::crypto::decode_key_b64(seal_key, &k, "mccache_set_keys: seal_key");
            if (!st.ok()) {
                mccache::crypto::wipe(&k);
                return fail(st);
            }
            seal.push_back(k);
        }
        if (accept_key && *accept_key) {
            mccache::Status st = mccache::crypto::decode_key_b64(accept_key, &k, "mccache_set_keys: accept_key");
            if (!st.ok()) {
                mccache::crypto::wipe(&k);
                for (auto& key : seal) mccache::crypto::wipe(&key);
                return fail(st);
            }
            accept.push_back(k);
        }
        mccache::Status st;
        node->node->run_on_loop([&] { st = node->node->cluster().set_keys(seal, accept); });
        mccache::crypto::wipe(&k);
        for (auto& key : seal) mccache::crypto::wipe(&key);
        for (auto& key : accept) mccache::crypto::wipe(&key);
        return st.ok() ? MCCACHE_OK : fail(st.code, "mccache_set_keys: " + st.message);
    });
}

}  // extern "C"
