// The node's operations that gather or steer: metrics, checksums, the
// membership view, anti-entropy on demand, cluster-wide requests, keys.
#include <cjson/cJSON.h>

#include <cinttypes>
#include <future>
#include <memory>

#include "crypto/aead.h"
#include "crypto/seal.h"
#include "metrics/json.h"
#include "metrics/prometheus.h"
#include "node/node.h"

namespace mccache::node {

using metrics::CacheMetric;
using metrics::NodeMetric;

namespace {

using JsonPtr = std::unique_ptr<cJSON, decltype(&cJSON_Delete)>;

std::string hex64(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

JsonPtr new_object() {
    JsonPtr o(cJSON_CreateObject(), cJSON_Delete);
    if (!o) throw std::bad_alloc();
    return o;
}

void add(cJSON* parent, const char* key, cJSON* child) {
    if (!child) throw std::bad_alloc();
    if (!cJSON_AddItemToObject(parent, key, child)) {
        cJSON_Delete(child);
        throw std::bad_alloc();
    }
}

}  // namespace

metrics::Snapshot<CacheMetric> Node::cache_metrics(Cache& cache) {
    const store::Stats st = cache.store().stats();
    const store::Limits& lim = cache.store().limits();
    metrics::Snapshot<CacheMetric> s;
    s[CacheMetric::entries] = st.entries;
    s[CacheMetric::tombstones] = st.tombstones;
    s[CacheMetric::bytes] = st.bytes;
    s[CacheMetric::max_entries] = lim.max_entries;
    s[CacheMetric::max_bytes] = lim.max_bytes;
    s[CacheMetric::lookups] = st.lookups;
    s[CacheMetric::hits] = st.hits;
    s[CacheMetric::misses] = st.misses;
    s[CacheMetric::hit_ratio] = st.lookups ? static_cast<double>(st.hits) / st.lookups : 0.0;
    s[CacheMetric::puts] = st.inserts + st.updates;
    s[CacheMetric::inserts] = st.inserts;
    s[CacheMetric::updates] = st.updates;
    s[CacheMetric::deletes] = st.deletes;
    s[CacheMetric::evictions_max_entries] = st.evictions_entries;
    s[CacheMetric::evictions_max_bytes] = st.evictions_bytes;
    s[CacheMetric::evictions_total] = st.evictions_entries + st.evictions_bytes;
    s[CacheMetric::expirations] = st.expirations;
    s[CacheMetric::stale_writes] = st.stale_writes;
    s[CacheMetric::tombstones_collected] = st.tombstones_collected;
    s[CacheMetric::horizon_refused] = st.horizon_refused;
    using Stat = Loads::Stat;
    const Loads& loads = cache.loads();
    s[CacheMetric::loader_loads] = loads.stat(Stat::loads);
    s[CacheMetric::loader_successes] = loads.stat(Stat::successes);
    s[CacheMetric::loader_failures] = loads.stat(Stat::failures);
    s[CacheMetric::loader_time_ms] = loads.stat(Stat::time_ms);
    s[CacheMetric::loader_waits] = loads.stat(Stat::waits);
    s[CacheMetric::loader_remote_waits] = loads.stat(Stat::remote_waits);
    s[CacheMetric::loader_refreshes] = loads.stat(Stat::refreshes);
    s[CacheMetric::loader_stale_served] = loads.stat(Stat::stale_served);
    s[CacheMetric::loader_negative_hits] = loads.stat(Stat::negative_hits);
    s.set_text(CacheMetric::checksum, hex64(cache.store().checksum()));
    return s;
}

metrics::Reading Node::read_metrics() {
    metrics::Reading r;
    r.node = metrics::Snapshot<NodeMetric>::of(counters_);
    metrics::Snapshot<NodeMetric>& node = r.node;
    node.set_text(NodeMetric::id, hex64(id_));
    node.set_text(NodeMetric::sealing, settings_.crypto_key.empty() ? "off" : crypto::backend_name());
    node[NodeMetric::callbacks_pending] = static_cast<double>(dispatcher_.pending());
    each_cache([&](Cache& c) {
        const metrics::Snapshot<CacheMetric>& s = r.caches.emplace_back(c.name(), cache_metrics(c)).second;
        node[NodeMetric::caches] += 1;
        node[NodeMetric::entries] += s[CacheMetric::entries];
        node[NodeMetric::bytes] += s[CacheMetric::bytes];
        node[NodeMetric::lookups] += s[CacheMetric::lookups];
        node[NodeMetric::hits] += s[CacheMetric::hits];
        node[NodeMetric::misses] += s[CacheMetric::misses];
        node[NodeMetric::puts] += s[CacheMetric::puts];
        node[NodeMetric::inserts] += s[CacheMetric::inserts];
        node[NodeMetric::updates] += s[CacheMetric::updates];
        node[NodeMetric::deletes] += s[CacheMetric::deletes];
        node[NodeMetric::evictions] += s[CacheMetric::evictions_total];
        node[NodeMetric::expirations] += s[CacheMetric::expirations];
    });
    if (cluster_) {
        r.has_cluster = true;
        r.cluster = cluster_->metrics();
    }
    return r;
}

std::string Node::metrics_json() {
    const metrics::Reading r = read_metrics();
    JsonPtr root = new_object();
    JsonPtr caches = new_object();
    for (auto& [name, s] : r.caches) add(caches.get(), name.c_str(), metrics::to_cjson(s));
    add(root.get(), "node", metrics::to_cjson(r.node));
    add(root.get(), "caches", caches.release());
    if (r.has_cluster) add(root.get(), "cluster", metrics::to_cjson(r.cluster));
    return metrics::print(root.get());
}

std::string Node::metrics_prometheus() { return metrics::to_prometheus(read_metrics()); }

std::string Node::config_json() const {
    JsonPtr root(cJSON_Parse(config_.to_json().c_str()), cJSON_Delete);
    if (!root) throw std::bad_alloc();
    if (!cJSON_AddStringToObject(root.get(), "effective_node_id", hex64(id_).c_str())) throw std::bad_alloc();
    return metrics::print(root.get());
}

std::string Node::checksums_json(std::string_view only) {
    JsonPtr root = new_object();
    if (!cJSON_AddStringToObject(root.get(), "node", hex64(id_).c_str())) throw std::bad_alloc();
    cJSON* caches = cJSON_AddObjectToObject(root.get(), "caches");
    if (!caches) throw std::bad_alloc();
    each_cache([&](Cache& c) {
        if (!only.empty() && c.name() != only) return;
        cJSON* o = cJSON_AddObjectToObject(caches, c.name().c_str());
        if (!o || !cJSON_AddStringToObject(o, "checksum", hex64(c.checksum()).c_str()) ||
            !cJSON_AddNumberToObject(o, "entries", static_cast<double>(c.size())))
            throw std::bad_alloc();
    });
    return metrics::print(root.get());
}

std::string Node::query_answer(wire::QueryKind kind, std::string_view cache) {
    if (kind == wire::QueryKind::Metrics) return metrics_json();
    return checksums_json(cache);
}

std::string Node::members_json() {
    std::string json;
    run_on_loop([&] { json = cluster_->members_json(); });
    return json;
}

void Node::sync() {
    post([this] { cluster_->sync_now(); });
}

void Node::cluster_request(int kind, std::string cache, int timeout_ms, mccache_reply_cb cb, void* opaque,
                           void (*opaque_free)(void*)) {
    post([this, kind, cache = std::move(cache), timeout_ms, cb, opaque, opaque_free]() mutable {
        cluster_->start_query(
            static_cast<wire::QueryKind>(kind), std::move(cache), timeout_ms,
            [this, cb, opaque](uint64_t member, const std::string& json) {
                dispatcher_.post([cb, opaque, member, json] { cb(member, json.c_str(), opaque); });
            },
            [this, cb, opaque, opaque_free] {
                dispatcher_.post([cb, opaque, opaque_free] {
                    cb(0, nullptr, opaque);
                    if (opaque_free) opaque_free(opaque);
                });
            });
    });
}

std::string Node::cluster_collect(int kind, std::string cache, int timeout_ms) {
    struct Collected {
        std::mutex mu;
        std::vector<std::pair<uint64_t, std::string>> replies;
        size_t members = 0;
        std::promise<void> done;
    };
    auto c = std::make_shared<Collected>();
    auto fut = c->done.get_future();
    post([this, c, kind, cache = std::move(cache), timeout_ms]() mutable {
        c->members = cluster_->alive_members() + 1;
        cluster_->start_query(
            static_cast<wire::QueryKind>(kind), std::move(cache), timeout_ms,
            [c](uint64_t member, const std::string& json) {
                std::lock_guard<std::mutex> lock(c->mu);
                c->replies.emplace_back(member, json);
            },
            [c] { c->done.set_value(); });
    });
    fut.wait();
    JsonPtr root = new_object();
    cJSON* replies = cJSON_AddObjectToObject(root.get(), "replies");
    if (!replies) throw std::bad_alloc();
    std::lock_guard<std::mutex> lock(c->mu);
    for (auto& [member, json] : c->replies) {
        cJSON* parsed = cJSON_Parse(json.c_str());
        if (!parsed) parsed = cJSON_CreateString(json.c_str());
        add(replies, hex64(member).c_str(), parsed);
    }
    if (!cJSON_AddNumberToObject(root.get(), "members", static_cast<double>(c->members))) throw std::bad_alloc();
    return metrics::print(root.get());
}

Status Node::set_keys(std::string_view seal_b64, std::string_view accept_b64) {
    std::vector<crypto::Key> seal, accept;
    auto wipe_all = [&] {
        for (auto& k : seal) crypto::wipe(&k);
        for (auto& k : accept) crypto::wipe(&k);
    };
    crypto::Key k;
    for (auto [b64, name, list] : {std::tuple{seal_b64, "seal_key", &seal}, std::tuple{accept_b64, "accept_key", &accept}}) {
        if (b64.empty()) continue;
        Status st = crypto::decode_key_b64(b64, &k, name);
        if (!st.ok()) {
            crypto::wipe(&k);
            wipe_all();
            return st;
        }
        list->push_back(k);
    }
    crypto::wipe(&k);
    Status st;
    run_on_loop([&] { st = cluster_->set_keys(seal, accept); });
    wipe_all();
    return st;
}

Status Node::housekeep_now() {
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    post([this, done] {
        housekeep();
        done->set_value();
    });
    fut.wait();
    return Status::Ok();
}

}  // namespace mccache::node
