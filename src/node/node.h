// A node: the named caches of one member, its version clock, its log, and
// the libuv loop thread that runs timers (the housekeeper) and every user
// callback. Application threads call into the caches directly; only events
// and control requests cross to the loop, through a queue and a uv_async.
#pragma once

#include <uv.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster.h"
#include "common/status.h"
#include "config/config.h"
#include "obs/log.h"
#include "store/hlc.h"
#include "store/store.h"

namespace mccache::node {

class Node;

// A user callback with its opaque pointer and destructor.
struct ChangeCallback {
    mccache_change_cb cb = nullptr;
    void* opaque = nullptr;
    void (*opaque_free)(void*) = nullptr;

    void release() {
        if (opaque_free) opaque_free(opaque);
        *this = {};
    }
};

class Cache final : public store::ChangeListener {
public:
    Cache(Node& node, std::string name, const store::Limits& limits, int mode);
    ~Cache() override;

    const std::string& name() const { return store_.name(); }
    store::Store& store() { return store_; }
    Node& node() { return node_; }
    int mode() const { return mode_; }
    int64_t default_ttl_ms() const { return store_.limits().default_ttl_ms; }
    uint64_t max_key_size() const { return max_key_size_; }

    // The public handle for this cache, set once by the api layer.
    std::atomic<mccache_cache_t*> handle{nullptr};

    void on_change(const store::Change& change) override;

private:
    friend class Node;
    Node& node_;
    store::Store store_;
    int mode_;
    uint64_t max_key_size_;  // a copy of the node's, next to the store on the hot path
    ChangeCallback callback_;  // touched only on the loop thread (or at close)
};

// The membership callback registration.
struct MemberCallback {
    mccache_member_cb cb = nullptr;
    void* opaque = nullptr;
    void (*opaque_free)(void*) = nullptr;

    void release() {
        if (opaque_free) opaque_free(opaque);
        *this = {};
    }
};

struct NodeCounters {
    std::atomic<uint64_t> events_queued{0}, events_delivered{0}, events_dropped{0};
    std::atomic<uint64_t> housekeeper_runs{0}, housekeeper_removed{0};
};

class Node {
public:
    // Opens the node and starts its loop thread.
    static Status open(const config::Config& config, std::unique_ptr<Node>* out);
    ~Node();  // stops the loop (close() first for a clean shutdown)

    // Stops the loop thread, drops pending events and releases every callback.
    void close();

    uint64_t id() const { return id_; }
    const config::NodeSettings& settings() const { return settings_; }
    const config::Config& config() const { return config_; }
    store::Hlc& hlc() { return hlc_; }
    const store::Clock& clock() const { return clock_; }
    obs::Logger& log() { return log_; }
    bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_id_; }
    std::thread::id loop_thread_id() const { return loop_thread_id_; }

    // Opens or finds a cache. `created` tells whether this call made it.
    Status open_cache(const std::string& name, Cache** out, bool* created);
    // For names that arrive from the network: nullptr past the cache limit.
    Cache* find_or_open_cache(std::string_view name);
    Cache* find_cache(std::string_view name);

    // Replication of a local write (any thread). Takes over `out.value`'s reference.
    void replicate(cluster::Outgoing out);
    bool replicating() const { return cluster_ && cluster_->transport().enabled(); }
    cluster::Cluster& cluster() { return *cluster_; }

    // Runs `fn` on the loop thread later (or at close, on the closing thread).
    void post_task(std::function<void()> task) { post(std::move(task)); }
    // Runs `fn` on the loop thread and waits for it (directly when already there).
    void run_on_loop(const std::function<void()>& fn);
    void set_member_callback(MemberCallback cb);
    // Tests only: change injected packet loss while running.
    void set_faults(int drop, int drop_recv) {
        run_on_loop([&] { cluster_->transport().set_faults(drop, drop_recv); });
    }
    std::string checksums_json(std::string_view cache);
    void for_each_cache(const std::function<void(Cache&)>& fn);

    // Registers a change callback; the previous one is released on the loop.
    void set_change_callback(Cache& cache, ChangeCallback cb);

    // Runs one housekeeping pass on the loop thread and waits for it.
    Status housekeep_now();

    std::string metrics_json();
    std::string config_json() const;  // the configuration with sources, plus the effective node id
    std::string cache_metrics_json(Cache& cache);

    // Called by caches (under a store shard lock): queue an event for the loop.
    void enqueue_event(Cache& cache, const store::Change& change);

private:
    Node(const config::Config& config, const config::NodeSettings& settings, uint64_t id);
    Status start();
    void post(std::function<void()> task);
    void run_loop();
    void drain();
    void housekeep();
    static void on_async(uv_async_t* handle);
    static void on_check(uv_check_t* handle);
    static void on_timer(uv_timer_t* handle);

    struct QueuedEvent {
        Cache* cache;
        store::EventType type;
        store::Origin origin;
        std::string key;
        store::Value* value;
        store::Version version;
        int64_t last_lookup_ms;
        int64_t time_ms;
    };

    config::Config config_;
    config::NodeSettings settings_;
    uint64_t id_;
    const store::Clock& clock_;
    store::Hlc hlc_;
    obs::Logger log_;

    std::mutex caches_mu_;
    std::map<std::string, std::unique_ptr<Cache>, std::less<>> caches_;

    std::mutex queue_mu_;
    std::deque<QueuedEvent> events_;
    std::vector<std::function<void()>> tasks_;
    bool stopping_ = false;

    uv_loop_t loop_{};
    uv_async_t wake_{};
    uv_timer_t housekeeper_{};
    // Events raised on the loop thread itself (remote writes, repairs) are
    // delivered at the end of the same loop turn, not one wake-up later.
    uv_check_t deliver_{};
    bool loop_events_pending_ = false;  // loop thread only
    std::thread thread_;
    std::thread::id loop_thread_id_;
    bool started_ = false;
    bool closed_ = false;
    bool ticker_held_ = false;

    NodeCounters counters_;
    std::unique_ptr<cluster::Cluster> cluster_;
    MemberCallback member_cb_;  // loop thread only
};

}  // namespace mccache::node
