// A named cache of a node: the store that holds its entries, the operations
// the C API offers on it (which stamp versions and hand writes to
// replication), and its change callback.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "cluster/host.h"
#include "config/config.h"
#include "mccache.h"
#include "node/loads.h"
#include "common/status.h"
#include "store/store.h"

namespace mccache::node {

class Node;
struct ChangeEvent;

// A user callback with its opaque pointer and destructor.
template <typename Cb>
struct UserCallback {
    Cb cb = nullptr;
    void* opaque = nullptr;
    void (*opaque_free)(void*) = nullptr;

    void release() {
        if (opaque_free) opaque_free(opaque);
        *this = {};
    }
};
using ChangeCallback = UserCallback<mccache_change_cb>;

class Cache final : public store::ChangeListener, public cluster::Replica {
public:
    Cache(Node& node, std::string name, const store::Limits& limits, const config::CacheSettings& settings);
    ~Cache();

    // The cache that holds every namespaced cache's generation (its key is
    // the cache's name, its value the generation as 8 big-endian bytes).
    static constexpr std::string_view kRegistry = "mccache:namespaces";

    // cluster::Replica
    const std::string& name() const override { return store_.name(); }
    store::Store& store() override { return store_; }
    int mode() const override { return mode_; }
    void remote_put(std::string_view key) override { loads_.on_remote_put(key); }

    Node& node() { return node_; }
    uint64_t max_key_size() const { return max_key_size_; }
    uint64_t max_value_size() const { return max_value_size_; }
    // Whether an entry of these sizes fits the cache's byte budget at all.
    bool fits(size_t klen, size_t vlen) const {
        return store::Store::charge_estimate(klen, vlen) <= store_.limits().max_bytes;
    }

    // ---- the operations (any thread; arguments already checked) ----
    // Stamps a version, stores and replicates. Throws std::bad_alloc.
    // Inline (node.h): it is the hot path of every write.
    inline void put(const void* key, size_t klen, const void* value, size_t vlen, int64_t ttl_ms);
    // With stale windows (stale_while_revalidate, stale_if_error) the store
    // keeps entries past their TTL for get_or_load; these never return them.
    store::Value* get(const void* key, size_t klen) {
        if (__builtin_expect(window_ms_ == 0, 1)) return store_.get(key, klen);
        return get_fresh(key, klen, true);
    }
    int get_copy(const void* key, size_t klen, void* buf, size_t* len);
    bool contains(const void* key, size_t klen) {
        if (__builtin_expect(window_ms_ == 0, 1)) return store_.contains(key, klen);
        store::Value* v = get_fresh(key, klen, false);
        store::value_unref(v);
        return v != nullptr;
    }
    // A loader's value: put() that returns the version and a reference to
    // the value stored (for the callers waiting on the load).
    store::Version put_loaded(const void* key, size_t klen, const void* value, size_t vlen, int64_t ttl_ms,
                              store::Value** stored);
    Loads& loads() { return loads_; }
    const Loads& loads() const { return loads_; }

    // ---- namespaces (key_prefix, key_version, the generation) ----
    bool namespaced() const { return namespaced_; }
    // `key` as stored: the namespace's head, the generation, ':', the key.
    void scope(const void* key, size_t klen, std::string* out) const;
    uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
    // At least `g` from now on (a bump made here or replicated).
    void raise_generation(uint64_t g);
    // Invalidates the cache cluster-wide: a new generation in the registry.
    Status bump_generation(uint64_t* out);
    // True if a live entry was deleted; a tombstone is written either way.
    bool remove(const void* key, size_t klen);
    void clear();
    size_t size() const { return store_.size(); }
    bool metadata(const void* key, size_t klen, store::Metadata* out) { return store_.metadata(key, klen, out); }
    bool key_checksum(const void* key, size_t klen, uint64_t* out) { return store_.key_checksum(key, klen, out); }
    uint64_t checksum() const { return store_.checksum(); }
    std::string metrics_json();

    // Registers a change callback (NULL cb: none); the previous one is
    // released on the dispatcher thread, after its last call.
    void set_change_callback(ChangeCallback cb);

    // The public handle for this cache, set once by the api layer.
    std::atomic<mccache_cache_t*> handle{nullptr};

    // store::ChangeListener: queues the change for the dispatcher.
    void on_change(const store::Change& change) override;
    // Dispatcher thread: calls the callback, if one is set.
    bool deliver(const ChangeEvent& e);
    // Closing thread, after the dispatcher has stopped.
    void release_callback() { callback_.release(); }

private:
    store::Value* get_fresh(const void* key, size_t klen, bool count);

    Node& node_;
    store::Store store_;
    const int mode_;
    const int64_t window_ms_;  // kept past the TTL: max(stale_while_revalidate, stale_if_error)
    const bool namespaced_;
    const bool registry_;
    const std::string ns_head_;  // key_prefix + key_version + "."
    std::atomic<uint64_t> generation_{0};
    Loads loads_;
    // Copies of the node's, next to the store on the hot path.
    const uint64_t max_key_size_, max_value_size_;
    ChangeCallback callback_;  // dispatcher thread only (or at close)
    std::atomic<bool> callback_active_{false};
};

}  // namespace mccache::node
