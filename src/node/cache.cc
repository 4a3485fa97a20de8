#include "node/cache.h"

#include <memory>

#include "node/dispatcher.h"
#include "node/node.h"

namespace mccache::node {


Cache::Cache(Node& node, std::string name, const store::Limits& limits, int mode)
    : node_(node),
      store_(std::move(name), limits, node.clock()),
      mode_(mode),
      max_key_size_(node.settings().max_key_size),
      max_value_size_(node.settings().max_value_size) {
    store_.set_listener(this);
}

Cache::~Cache() = default;

bool Cache::remove(const void* key, size_t klen) {
    bool was_live = false;
    // Stale: a racing write took a newer version first, so in version order
    // this delete came before it and found whatever was there; it reports
    // not found, like a delete of an absent key.
    const store::Version version{node_.hlc().tick(), node_.id()};
    const store::Applied r = store_.remove(key, klen, version, store::Origin::Local, &was_live);
    // Even a delete of an absent key replicates: its tombstone must beat
    // older writes still on their way to other members.
    if (r != store::Applied::Stale && node_.replicating())
        node_.replicate({wire::Op::Delete, name(), std::string(static_cast<const char*>(key), klen), nullptr, version, -1});
    return was_live;
}

void Cache::clear() {
    const store::Version version{node_.hlc().tick(), node_.id()};
    store_.clear(version, store::Origin::Local);
    if (node_.replicating()) node_.replicate({wire::Op::Clear, name(), std::string(), nullptr, version, -1});
}

std::string Cache::metrics_json() { return metrics::to_json(node_.cache_metrics(*this)); }

void Cache::set_change_callback(ChangeCallback cb) {
    store_.set_events(cb.cb != nullptr, node_.settings().callback_win_ms);
    // The swap happens on the dispatcher thread, so the old callback is
    // never running when its opaque_free is called.
    auto holder = std::make_shared<ChangeCallback>(cb);
    node_.dispatcher().post([this, holder] {
        callback_.release();
        callback_ = *holder;
        *holder = {};
    });
}

void Cache::on_change(const store::Change& change) {
    node_.dispatcher().post_event(ChangeEvent{this, change.type, change.origin, std::string(change.key),
                                              store::value_ref(change.value), change.version, change.last_lookup_ms,
                                              change.time_ms});
}

bool Cache::deliver(const ChangeEvent& e) {
    if (!callback_.cb) return false;
    mccache_event_t ev{};
    ev.struct_size = sizeof ev;
    ev.type = static_cast<int32_t>(e.type);
    ev.origin = static_cast<int32_t>(e.origin);
    ev.cache = handle.load(std::memory_order_acquire);
    ev.key = e.key.data();
    ev.klen = e.key.size();
    ev.value = e.value;
    ev.version_hlc = e.version.hlc;
    ev.version_node = e.version.node;
    ev.last_lookup_ms = e.last_lookup_ms;
    ev.time_ms = e.time_ms;
    callback_.cb(&ev, callback_.opaque);
    return true;
}

}  // namespace mccache::node
