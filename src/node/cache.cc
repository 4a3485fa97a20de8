#include "node/cache.h"

#include <climits>
#include <cstring>
#include <memory>

#include "node/dispatcher.h"
#include "node/node.h"

namespace mccache::node {


Cache::Cache(Node& node, std::string name, const store::Limits& limits, const config::CacheSettings& settings)
    : node_(node),
      store_(std::move(name), limits, node.clock()),
      mode_(settings.mode),
      window_ms_(std::max(settings.stale_while_revalidate_ms, settings.stale_if_error_ms)),
      namespaced_(!settings.key_prefix.empty() || settings.key_version != 0),
      registry_(store_.name() == kRegistry),
      ns_head_(settings.key_prefix + std::to_string(settings.key_version) + "."),
      loads_(*this, settings),
      max_key_size_(node.settings().max_key_size),
      max_value_size_(node.settings().max_value_size) {
    store_.set_listener(this);
    // The registry reports every change of a generation to the node.
    if (registry_) store_.set_events(true, 0);
}

store::Value* Cache::get_fresh(const void* key, size_t klen, bool count) {
    store::Version v;
    int64_t expires;
    store::Value* got = store_.lookup(key, klen, &v, &expires, count);
    if (got && expires >= 0 && node_.clock().now_ms() >= expires - window_ms_) {
        store::value_unref(got);
        return nullptr;
    }
    return got;
}

int Cache::get_copy(const void* key, size_t klen, void* buf, size_t* len) {
    if (__builtin_expect(window_ms_ == 0, 1)) return store_.get_copy(key, klen, buf, len);
    store::Value* v = get_fresh(key, klen, true);
    if (!v) return MCCACHE_ENOTFOUND;
    int rc = MCCACHE_OK;
    if (v->len > *len) rc = MCCACHE_EBUFS;
    else if (v->len) std::memcpy(buf, v->bytes(), v->len);
    *len = v->len;
    store::value_unref(v);
    return rc;
}

store::Version Cache::put_loaded(const void* key, size_t klen, const void* value, size_t vlen, int64_t ttl_ms,
                                 store::Value** stored) {
    const int64_t now = node_.clock().coarse_ms();
    if (ttl_ms == MCCACHE_TTL_DEFAULT) ttl_ms = store_.limits().default_ttl_ms;
    const int64_t expires_ms = ttl_ms <= 0 ? -1 : ttl_ms > INT64_MAX / 2 - now ? -1 : now + ttl_ms + window_ms_;
    const store::Version version{node_.hlc().tick_at(now), node_.id()};
    store::Value* kept = nullptr;
    store_.put(key, klen, value, vlen, version, expires_ms, now, &kept);
    *stored = kept;
    if (kept && node_.replicating())
        node_.replicate({wire::Op::Put, name(), std::string(static_cast<const char*>(key), klen),
                         store::value_ref(kept), version, expires_ms});
    return version;
}

void Cache::scope(const void* key, size_t klen, std::string* out) const {
    char gen[24];
    const int n = std::snprintf(gen, sizeof gen, "%llu:", static_cast<unsigned long long>(generation()));
    out->clear();
    out->reserve(ns_head_.size() + static_cast<size_t>(n) + klen);
    out->append(ns_head_);
    out->append(gen, static_cast<size_t>(n));
    out->append(static_cast<const char*>(key), klen);
}

void Cache::raise_generation(uint64_t g) {
    uint64_t old = generation_.load(std::memory_order_relaxed);
    while (g > old && !generation_.compare_exchange_weak(old, g, std::memory_order_acq_rel)) {
    }
}

Status Cache::bump_generation(uint64_t* out) {
    if (!namespaced_)
        return Error(MCCACHE_EINVAL, "cache \"" + name() +
                                         "\" has no namespace: set its key_prefix or key_version "
                                         "to bump its generation");
    Cache* reg = node_.registry();
    if (!reg) return Error(MCCACHE_ENOMEM, "cannot open the namespace registry");
    // One past both what this node uses and what the registry holds (a
    // bump replicated here that the registry has and we have not seen yet
    // cannot happen: its change event raised ours under the same lock).
    const uint64_t next = generation() + 1;
    unsigned char be[8];
    for (int i = 0; i < 8; ++i) be[i] = static_cast<unsigned char>(next >> (56 - 8 * i));
    reg->put(name().data(), name().size(), be, sizeof be, MCCACHE_TTL_NEVER);
    raise_generation(next);
    if (out) *out = generation();
    return Status::Ok();
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
    callback_active_.store(cb.cb != nullptr, std::memory_order_relaxed);
    store_.set_events(cb.cb != nullptr || registry_, node_.settings().callback_win_ms);
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
    if (registry_) {
        // A generation, written here or replicated: the cache it names uses
        // it from now on. (Deletes, evictions, expiries lower nothing.)
        if ((change.type == store::EventType::Insert || change.type == store::EventType::Update) && change.value &&
            change.value->len == 8) {
            uint64_t g = 0;
            for (int i = 0; i < 8; ++i) g = g << 8 | change.value->bytes()[i];
            node_.generation_changed(change.key, g);
        }
        if (!callback_active_.load(std::memory_order_relaxed)) return;
    }
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
