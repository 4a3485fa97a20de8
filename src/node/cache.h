// A named cache of a node: the store that holds its entries, the operations
// the C API offers on it (which stamp versions and hand writes to
// replication), and its change callback.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "cluster/host.h"
#include "mccache.h"
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
    Cache(Node& node, std::string name, const store::Limits& limits, int mode);
    ~Cache();

    // cluster::Replica
    const std::string& name() const override { return store_.name(); }
    store::Store& store() override { return store_; }
    int mode() const override { return mode_; }

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
    store::Value* get(const void* key, size_t klen) { return store_.get(key, klen); }
    int get_copy(const void* key, size_t klen, void* buf, size_t* len) { return store_.get_copy(key, klen, buf, len); }
    bool contains(const void* key, size_t klen) { return store_.contains(key, klen); }
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
    Node& node_;
    store::Store store_;
    const int mode_;
    // Copies of the node's, next to the store on the hot path.
    const uint64_t max_key_size_, max_value_size_;
    ChangeCallback callback_;  // dispatcher thread only (or at close)
};

}  // namespace mccache::node
