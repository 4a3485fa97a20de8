// Loaders of one cache: mccache_get_or_load. A miss runs the caller's
// loader once per key on this node (the other callers of the key wait for
// it: a flight per key, with its own lock) and, in a replicated cache, once
// per key in the cluster (the flight first claims the key's load lease,
// cluster/leases.h). The loader runs on the calling thread; a background
// refresh runs the registered loader on the dispatcher thread. Here too:
// refresh-ahead, stale_while_revalidate, stale_if_error and the negative
// cache. See "Loaders" in docs/ARCHITECTURE.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cluster/host.h"
#include "config/config.h"
#include "mccache.h"
#include "metrics/metrics.h"
#include "store/store.h"

// What a loader fills in (mccache_load_set_value, mccache_load_set_error).
struct mccache_load_s {
    bool has_value = false;
    std::string value;
    int64_t ttl_ms = MCCACHE_TTL_DEFAULT;
    std::string error;
};

namespace mccache::node {

class Cache;

// A loader as the C API takes it, per call.
struct Loader {
    mccache_loader_cb cb = nullptr;
    void* opaque = nullptr;
};

class Loads {
public:
    Loads(Cache& cache, const config::CacheSettings& settings);
    ~Loads();
    Loads(const Loads&) = delete;
    Loads& operator=(const Loads&) = delete;

    // The value of `key` (as stored: namespaced), loaded with `loader` (the
    // registered one when its cb is NULL) if absent; `user_key` is what the
    // loader is given. Waits at most `timeout_ms` for another caller's
    // load (a load this thread runs is never cut short). `closed` is the
    // node handle's flag: a waiter gives up (MCCACHE_ECLOSED) once it is set.
    // On failure, `error` says why.
    int get_or_load(std::string_view key, std::string_view user_key, Loader loader, int64_t timeout_ms,
                    const std::atomic<bool>& closed, store::Value** out, std::string* error);

    // The loader background refreshes use, and get_or_load when given none.
    // The previous one's opaque_free runs on the dispatcher once no load
    // uses it any more.
    void set_loader(mccache_loader_cb cb, void* opaque, void (*opaque_free)(void*));
    bool has_loader();
    void release_loader();  // at close

    // Loop thread.
    void on_lease(std::string_view key, const cluster::LeaseEvent& e);
    void on_remote_put(std::string_view key);

    // How long entries are kept past their TTL for the stale windows.
    int64_t window_ms() const { return window_ms_; }

    enum class Stat {
        loads, successes, failures, time_ms, waits, remote_waits, refreshes, stale_served, negative_hits, count
    };
    uint64_t stat(Stat s) const { return stats_[static_cast<size_t>(s)].load(std::memory_order_relaxed); }

private:
    struct Flight;
    struct Registered;
    struct Shard;
    struct Outcome {
        int code = MCCACHE_OK;
        std::string message;
        store::Value* value = nullptr;  // a reference the receiver owns
    };

    Shard& shard_of(std::string_view key);
    std::shared_ptr<Flight> find(std::string_view key);
    // The flight of `key`, made if there is none (*made then true).
    std::shared_ptr<Flight> join(std::string_view key, std::string_view user_key, bool refresh, store::Version held,
                                 bool* made);
    // Starts the flight's lease request: in the cluster, or won at once.
    void ask(const std::string& key, Flight& f);
    // Ends the flight with `o` (takes its value reference) and forgets it.
    void complete(const std::string& key, const std::shared_ptr<Flight>& f, Outcome o, bool tell_cluster);
    // Runs `loader` for the flight (state Loading), stores the value, ends the flight.
    Outcome run(const std::string& key, std::string user_key, const std::shared_ptr<Flight>& f, Loader loader);
    // Miss path: waits for the flight's outcome, or loads.
    Outcome wait(const std::string& key, std::string_view user_key, const std::shared_ptr<Flight>& f, Loader loader,
                 int64_t deadline_ms, const std::atomic<bool>& closed);
    void refresh(const std::string& key, std::string_view user_key, store::Version held, Loader loader,
                 int64_t deadline_ms, const std::atomic<bool>& closed, store::Value** fresher);
    bool negative(std::string_view key, int64_t now, Outcome* o);
    void remember_failure(std::string_view key, int code, const std::string& message, int64_t ms);
    void add(Stat s, uint64_t n = 1) { stats_[static_cast<size_t>(s)].fetch_add(n, std::memory_order_relaxed); }
    bool clustered() const;
    void post_to_loop(std::function<void()> fn);

    Cache& cache_;
    const int64_t lease_ms_, refresh_after_ms_, swr_ms_, sie_ms_, negative_ms_, window_ms_;
    std::unique_ptr<Shard[]> shards_;
    std::atomic<int> active_{0};  // flights in the table: remote puts look only when some are
    std::mutex loader_mu_;
    std::shared_ptr<Registered> loader_;
    std::atomic<uint64_t> stats_[static_cast<size_t>(Stat::count)] = {};
};

}  // namespace mccache::node
