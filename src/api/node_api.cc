// mccache_open/close and the node-wide calls.
#include <chrono>
#include <thread>

#include "api/api.h"

extern char** environ;

using mccache::api::CallScope;
using mccache::api::check;
using mccache::api::closed_error;
using mccache::api::fail;
using mccache::api::guarded;


extern "C" {

MCCACHE_API int mccache_open(const mccache_config_t* config, mccache_t** out) {
    return guarded("mccache_open", [&]() -> int {
        if (!out) return fail(MCCACHE_EINVAL, "mccache_open: out is NULL");
        *out = nullptr;
        mccache::config::Config defaults;
        if (!config) {
            mccache::Status st = defaults.load_env(environ);
            if (!st.ok()) return fail(st);
        }
        std::unique_ptr<mccache::node::Node> node;
        mccache::Status st = mccache::node::Node::open(config ? config->config : defaults, &node);
        if (!st.ok()) return fail(st);
        auto shell = std::make_unique<mccache_s>();
        shell->loop_thread = node->loop_thread_id();
        shell->callback_thread = node->dispatcher().thread_id();
        shell->node = std::move(node);
        mccache::api::retain_shell(shell.get());
        *out = shell.release();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_close(mccache_t* node) {
    return guarded("mccache_close", [&]() -> int {
        if (!node) return MCCACHE_OK;
        // Before the lock: a closer on another thread holds it while it
        // waits for this very callback to return.
        // Closed first: once the loop thread is joined, a new thread may get
        // its id, and must hear ECLOSED rather than EBUSY.
        if (node->closed.load(std::memory_order_seq_cst)) return closed_error("mccache_close");
        const std::thread::id self = std::this_thread::get_id();
        if (self == node->loop_thread || self == node->callback_thread || CallScope::inside(node))
            return fail(MCCACHE_EBUSY, "mccache_close: called from one of this node's callbacks");
        std::lock_guard<std::mutex> lock(node->close_mu);
        if (node->closed.load(std::memory_order_seq_cst)) return closed_error("mccache_close");
        node->closed.store(true, std::memory_order_seq_cst);
        // Calls already inside finish first; new ones see `closed`.
        for (;;) {
            int64_t calls = 0;
            for (auto& s : node->stripes) calls += s.calls.load(std::memory_order_seq_cst);
            if (calls == 0) break;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
        node->node->close();
        node->node.reset();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_node_id(mccache_t* node, uint64_t* out) {
    return guarded("mccache_node_id", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_node_id", node);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_node_id: out is NULL");
        *out = node->node->id();
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_node_config_json(mccache_t* node, char** out) {
    return guarded("mccache_node_config_json", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_node_config_json", node);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_node_config_json: out is NULL");
        *out = mccache::api::dup_string(node->node->config_json());
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_metrics_json(mccache_t* node, char** out) {
    return guarded("mccache_metrics_json", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_metrics_json", node);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_metrics_json: out is NULL");
        *out = mccache::api::dup_string(node->node->metrics_json());
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_metrics_prometheus(mccache_t* node, char** out) {
    return guarded("mccache_metrics_prometheus", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_metrics_prometheus", node);
        if (!out) return fail(MCCACHE_EINVAL, "mccache_metrics_prometheus: out is NULL");
        *out = mccache::api::dup_string(node->node->metrics_prometheus());
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_housekeep(mccache_t* node) {
    return guarded("mccache_housekeep", [&]() -> int {
        MCCACHE_ENTER_NODE("mccache_housekeep", node);
        // It waits for the loop thread: a callback must not block its
        // dispatcher thread on that.
        if (node->node->on_own_thread())
            return fail(MCCACHE_EBUSY, "mccache_housekeep: called from this node's own callback");
        return check(node->node->housekeep_now());
    });
}

MCCACHE_API int mccache_set_log_cb(mccache_t* node, mccache_log_cb cb, void* opaque,
                                   void (*opaque_free)(void*)) {
    return guarded("mccache_set_log_cb", [&]() -> int {
        if (!node) return fail(MCCACHE_EINVAL, "mccache_set_log_cb: node is NULL");
        CallScope scope(node);
        if (!scope.open()) {
            if (opaque_free) opaque_free(opaque);
            return closed_error("mccache_set_log_cb");
        }
        node->node->set_log_callback(cb, opaque, opaque_free);
        return MCCACHE_OK;
    });
}

}  // extern "C"
