// A node: the facade the C API calls. It owns the named caches of one
// member, its version clock and log, the libuv loop thread that runs the
// cluster (sockets, timers, the housekeeper), and the dispatcher thread that
// runs every user callback. Application threads call into the caches
// directly; control requests cross to the loop through a task queue.
#pragma once

#include <uv.h>

#include <climits>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster.h"
#include "cluster/host.h"
#include "common/status.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "node/cache.h"
#include "node/dispatcher.h"
#include "obs/log.h"
#include "store/hlc.h"
#include "store/store.h"

namespace mccache::node {

using MemberCallback = UserCallback<mccache_member_cb>;

class Node final : public cluster::Host {
public:
    // Opens the node and starts its threads.
    static Status open(const config::Config& config, std::unique_ptr<Node>* out);
    ~Node();  // close()

    // Says goodbye, stops the loop and the dispatcher, and releases every
    // callback (each opaque_free exactly once, on the calling thread or
    // the dispatcher's).
    void close();

    uint64_t id() const { return id_; }
    const config::Config& config() const { return config_; }
    const store::Clock& clock() const { return clock_; }
    Dispatcher& dispatcher() { return dispatcher_; }
    bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_id_; }
    std::thread::id loop_thread_id() const { return loop_thread_id_; }
    // Whether the caller is one of this node's own threads (a callback).
    bool on_own_thread() const { return on_loop_thread() || dispatcher_.on_thread(); }

    // ---- caches ----
    // Opens or finds a cache. `created` tells whether this call made it.
    Status open_cache(const std::string& name, Cache** out, bool* created);

    // ---- replication (any thread) ----
    bool replicating() const { return cluster_ && cluster_->enabled(); }
    // Takes over `out.value`'s reference.
    void replicate(cluster::Outgoing out);

    // ---- node-wide operations (any thread) ----
    metrics::Reading read_metrics();  // one reading of the node, its caches and the cluster
    std::string metrics_json();
    std::string metrics_prometheus();  // the text exposition format
    metrics::Snapshot<metrics::CacheMetric> cache_metrics(Cache& cache);
    std::string config_json() const;  // the configuration with sources, plus the effective node id
    std::string members_json();
    void sync();
    // A cluster request: cb per answer then once with member 0, on the
    // dispatcher thread; then opaque_free. `kind` is a MCCACHE_QUERY_*.
    void cluster_request(int kind, std::string cache, int timeout_ms, mccache_reply_cb cb, void* opaque,
                         void (*opaque_free)(void*));
    // The same, waited for: {"replies":{ID:ANSWER},"members":N}.
    std::string cluster_collect(int kind, std::string cache, int timeout_ms);
    // New keys, as base64 (empty: none).
    Status set_keys(std::string_view seal_b64, std::string_view accept_b64);
    Status housekeep_now();
    void set_log_callback(mccache_log_cb cb, void* opaque, void (*opaque_free)(void*));
    void set_member_callback(MemberCallback cb);
    // Runs `task` on the loop thread, later (after close: never).
    void post_to_loop(std::function<void()> task) { post(std::move(task)); }
    // A namespaced cache's generation changed in the registry (under its
    // shard lock: quick, takes only caches_mu_).
    void generation_changed(std::string_view cache, uint64_t generation);
    // The registry of namespace generations, opened on first use.
    Cache* registry();

    // ---- tests ----
    void set_faults(int drop, int drop_recv);
    // Every datagram this node sends from now on is also handed to `tap`.
    void set_send_tap(transport::Udp::Tap tap) {
        run_on_loop([&] { cluster_->set_tap(std::move(tap)); });
    }
    // Runs `fn` on the loop thread and waits for it (directly when already there).
    void run_on_loop(const std::function<void()>& fn);
    cluster::Cluster& cluster() { return *cluster_; }

    // ---- cluster::Host ----
    uint64_t node_id() const override { return id_; }
    const config::NodeSettings& settings() const override { return settings_; }
    int64_t now_ms() const override { return clock_.now_ms(); }
    store::Hlc& hlc() override { return hlc_; }
    obs::Logger& log() override { return log_; }
    cluster::Replica* find_cache(std::string_view name, bool create) override;
    void for_each_cache(const std::function<void(cluster::Replica&)>& fn) override;
    std::string query_answer(wire::QueryKind kind, std::string_view cache) override;
    void member_changed(const cluster::MemberEvent& event) override;
    void lease_event(std::string_view cache, std::string_view key, const cluster::LeaseEvent& event) override;

private:
    Node(const config::Config& config, const config::NodeSettings& settings, uint64_t id);
    Status start();
    void post(std::function<void()> task);  // to the loop thread
    void each_cache(const std::function<void(Cache&)>& fn);
    std::string checksums_json(std::string_view only);
    void housekeep();
    void run_tasks();
    static void on_async(uv_async_t* handle);
    static void on_timer(uv_timer_t* handle);

    config::Config config_;
    config::NodeSettings settings_;
    uint64_t id_;
    const store::Clock& clock_;
    store::Hlc hlc_;
    obs::Logger log_;
    metrics::Counters<metrics::NodeMetric> counters_;
    Dispatcher dispatcher_;

    std::mutex caches_mu_;
    std::map<std::string, std::unique_ptr<Cache>, std::less<>> caches_;

    std::mutex tasks_mu_;
    std::vector<std::function<void()>> tasks_;  // for the loop thread
    bool stopping_ = false;

    uv_loop_t loop_{};
    uv_async_t wake_{};
    uv_timer_t housekeeper_{};
    std::thread thread_;
    std::thread::id loop_thread_id_;
    bool started_ = false;
    bool closed_ = false;
    bool ticker_held_ = false;

    std::unique_ptr<cluster::Cluster> cluster_;
    MemberCallback member_cb_;  // dispatcher thread only (or at close)
};

__attribute__((always_inline)) inline void Cache::put(const void* key, size_t klen, const void* value, size_t vlen,
                                                    int64_t ttl_ms) {
    // One clock reading for the write time, the expiry and the version.
    const int64_t now = node_.clock().coarse_ms();
    if (ttl_ms == MCCACHE_TTL_DEFAULT) ttl_ms = store_.limits().default_ttl_ms;
    // Entries stay window_ms_ past their TTL for the stale windows (0 unless set).
    const int64_t expires_ms = ttl_ms <= 0 ? -1 : ttl_ms > INT64_MAX / 2 - now ? -1 : now + ttl_ms + window_ms_;
    const store::Version version{node_.hlc().tick_at(now), node_.id()};
    // The store builds the value (reusing the one it replaces when no one
    // else holds it); when replicating, it hands back a reference for the
    // queue, taken under its lock. None comes back for a Stale result: a
    // racing write or clear on another thread took a newer version first,
    // so in version order this put came before it, was applied and then
    // superseded. That is success, not an error.
    store::Value* queued = nullptr;
    store_.put(key, klen, value, vlen, version, expires_ms, now, node_.replicating() ? &queued : nullptr);
    if (queued)
        node_.replicate({wire::Op::Put, name(), std::string(static_cast<const char*>(key), klen), queued, version,
                         expires_ms});
}

}  // namespace mccache::node
