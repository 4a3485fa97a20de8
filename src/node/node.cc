#include "node/node.h"

#include <cjson/cJSON.h>

#include <cinttypes>
#include <future>
#include <random>

namespace mccache::node {

namespace {

uint64_t random_node_id() {
    std::random_device rd;
    uint64_t id = 0;
    while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return id;
}

std::string hex64(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
    return buf;
}

using JsonPtr = std::unique_ptr<cJSON, decltype(&cJSON_Delete)>;

std::string print_json(cJSON* root) {
    char* text = cJSON_PrintUnformatted(root);
    if (!text) throw std::bad_alloc();
    std::string out(text);
    cJSON_free(text);
    return out;
}

void add_num(cJSON* o, const char* key, uint64_t v) {
    if (!cJSON_AddNumberToObject(o, key, static_cast<double>(v))) throw std::bad_alloc();
}

}  // namespace

// ---- Cache ----

Cache::Cache(Node& node, std::string name, const store::Limits& limits, int mode)
    : node_(node),
      store_(std::move(name), limits, node.clock()),
      mode_(mode),
      max_key_size_(node.settings().max_key_size) {
    store_.set_listener(this);
}

Cache::~Cache() = default;

void Cache::on_change(const store::Change& change) { node_.enqueue_event(*this, change); }

// ---- Node ----

Node::Node(const config::Config& config, const config::NodeSettings& settings, uint64_t id)
    : config_(config),
      settings_(settings),
      id_(id),
      clock_(store::SystemClock::instance()),
      hlc_(clock_) {}

Status Node::open(const config::Config& config, std::unique_ptr<Node>* out) {
    config::NodeSettings settings;
    Status st = config.resolve(&settings);
    if (!st.ok()) return st;
    uint64_t id = settings.node_id ? settings.node_id : random_node_id();
    std::unique_ptr<Node> node(new Node(config, settings, id));
    st = node->log_.open(settings.log_filename, settings.log_level, settings.log_format == 1, id);
    if (!st.ok()) return st;
    st = node->start();
    if (!st.ok()) return st;
    node->log_.log(MCCACHE_LOG_INFO, "node open: interface %s, cluster \"%s\"",
                   settings.interface_addr.c_str(), settings.cluster_name.c_str());
    *out = std::move(node);
    return Status::Ok();
}

Status Node::start() {
    store::SystemClock::acquire_ticker();
    ticker_held_ = true;
    int rc = uv_loop_init(&loop_);
    if (rc != 0) return Error(MCCACHE_EIO, std::string("uv_loop_init: ") + uv_strerror(rc));
    loop_.data = this;
    wake_.data = this;
    housekeeper_.data = this;
    deliver_.data = this;
    // (uv_timer_init and uv_check_init cannot fail; uv_async_init can.)
    if ((rc = uv_async_init(&loop_, &wake_, &Node::on_async)) != 0) {
        uv_loop_close(&loop_);
        return Error(MCCACHE_EIO, std::string("libuv handle init: ") + uv_strerror(rc));
    }
    uv_timer_init(&loop_, &housekeeper_);
    uv_check_init(&loop_, &deliver_);
    uv_check_start(&deliver_, &Node::on_check);
    uint64_t period = static_cast<uint64_t>(settings_.housekeeper_ms);
    uv_timer_start(&housekeeper_, &Node::on_timer, period, period);
    cluster_ = std::make_unique<cluster::Cluster>(*this);
    cluster_->on_member = [this](const cluster::Member& m, int event) {
        if (!member_cb_.cb) return;
        std::string addr = m.addr.to_string();
        mccache_member_t info{};
        info.struct_size = sizeof info;
        info.event = event;
        info.node_id = m.id;
        info.incarnation = m.incarnation;
        info.address = addr.c_str();
        info.last_seen_ms = m.last_seen_ms;
        member_cb_.cb(&info, member_cb_.opaque);
    };
    Status cs = cluster_->start(&loop_);
    if (!cs.ok()) {
        // Let the loop finish closing what was opened, then give up.
        uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&housekeeper_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&deliver_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        cluster_.reset();
        return cs;
    }
    std::promise<std::thread::id> ready;
    auto ready_future = ready.get_future();
    thread_ = std::thread([this, &ready] {
        ready.set_value(std::this_thread::get_id());
        run_loop();
    });
    loop_thread_id_ = ready_future.get();
    started_ = true;
    return Status::Ok();
}

void Node::run_loop() {
    uv_run(&loop_, UV_RUN_DEFAULT);
}

Node::~Node() { close(); }

void Node::close() {
    if (closed_) return;
    closed_ = true;
    if (started_) {
        {
            std::lock_guard<std::mutex> lock(queue_mu_);
            stopping_ = true;
            uv_async_send(&wake_);
        }
        thread_.join();
        uv_loop_close(&loop_);
    }
    // The loop is gone: whatever it did not get to runs here, on the
    // closing thread, so that every opaque_free still runs exactly once.
    std::vector<std::function<void()>> tasks;
    std::deque<QueuedEvent> events;
    {
        std::lock_guard<std::mutex> lock(queue_mu_);
        tasks.swap(tasks_);
        events.swap(events_);
    }
    for (auto& t : tasks) t();
    for (auto& e : events) store::value_unref(e.value);
    counters_.events_dropped.fetch_add(events.size(), std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(caches_mu_);
    for (auto& [name, cache] : caches_) {
        cache->store().set_events(false, 0);
        cache->callback_.release();
    }
    member_cb_.release();
    cluster_.reset();
    log_.set_callback(nullptr, nullptr, nullptr);
    if (ticker_held_) {
        store::SystemClock::release_ticker();
        ticker_held_ = false;
    }
}

void Node::post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) {
        // close() runs leftover tasks after the loop has stopped.
        tasks_.push_back(std::move(task));
        return;
    }
    tasks_.push_back(std::move(task));
    uv_async_send(&wake_);
}

void Node::on_async(uv_async_t* handle) {
    Node* self = static_cast<Node*>(handle->data);
    self->drain();
    self->cluster_->flush();
    bool stop;
    {
        std::lock_guard<std::mutex> lock(self->queue_mu_);
        stop = self->stopping_;
    }
    if (stop) {
        self->cluster_->stop();
        uv_timer_stop(&self->housekeeper_);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->housekeeper_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->wake_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->deliver_), nullptr);
    }
}

void Node::on_check(uv_check_t* handle) {
    Node* self = static_cast<Node*>(handle->data);
    if (!self->loop_events_pending_) return;
    self->loop_events_pending_ = false;
    self->drain();
}

void Node::on_timer(uv_timer_t* handle) {
    Node* self = static_cast<Node*>(handle->data);
    self->housekeep();
    self->drain();
}

void Node::housekeep() {
    size_t removed = 0;
    for_each_cache([&](Cache& c) { removed += c.store().housekeep(); });
    counters_.housekeeper_runs.fetch_add(1, std::memory_order_relaxed);
    counters_.housekeeper_removed.fetch_add(removed, std::memory_order_relaxed);
}

void Node::drain() {
    for (;;) {
        std::vector<std::function<void()>> tasks;
        std::deque<QueuedEvent> events;
        {
            std::lock_guard<std::mutex> lock(queue_mu_);
            tasks.swap(tasks_);
            events.swap(events_);
        }
        if (tasks.empty() && events.empty()) return;
        for (auto& t : tasks) t();
        for (auto& e : events) {
            ChangeCallback& cb = e.cache->callback_;
            if (cb.cb) {
                mccache_event_t ev{};
                ev.struct_size = sizeof ev;
                ev.type = static_cast<int32_t>(e.type);
                ev.origin = static_cast<int32_t>(e.origin);
                ev.cache = e.cache->handle.load(std::memory_order_acquire);
                ev.key = e.key.data();
                ev.klen = e.key.size();
                ev.value = e.value;
                ev.version_hlc = e.version.hlc;
                ev.version_node = e.version.node;
                ev.last_lookup_ms = e.last_lookup_ms;
                ev.time_ms = e.time_ms;
                cb.cb(&ev, cb.opaque);
                counters_.events_delivered.fetch_add(1, std::memory_order_relaxed);
            }
            store::value_unref(e.value);
        }
    }
}

void Node::enqueue_event(Cache& cache, const store::Change& change) {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_ || events_.size() >= settings_.event_queue_max) {
        counters_.events_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    events_.push_back(QueuedEvent{&cache, change.type, change.origin, std::string(change.key),
                                  store::value_ref(change.value), change.version,
                                  change.last_lookup_ms, change.time_ms});
    counters_.events_queued.fetch_add(1, std::memory_order_relaxed);
    if (on_loop_thread()) loop_events_pending_ = true;  // on_check delivers it this turn
    else uv_async_send(&wake_);
}

Status Node::open_cache(const std::string& name, Cache** out, bool* created) {
    std::lock_guard<std::mutex> lock(caches_mu_);
    auto it = caches_.find(name);
    if (it != caches_.end()) {
        *out = it->second.get();
        *created = false;
        return Status::Ok();
    }
    const config::CacheSettings& cs = settings_.for_cache(name);
    store::Limits limits;
    limits.max_entries = cs.max_entries;
    limits.max_bytes = cs.max_bytes;
    limits.max_value_size = settings_.max_value_size;
    limits.default_ttl_ms = cs.ttl_ms;
    limits.tombstone_ttl_ms = settings_.tombstone_ttl_ms;
    limits.shards = settings_.store_shards;
    auto cache = std::make_unique<Cache>(*this, name, limits, cs.mode);
    *out = cache.get();
    *created = true;
    caches_.emplace(name, std::move(cache));
    return Status::Ok();
}

Cache* Node::find_cache(std::string_view name) {
    std::lock_guard<std::mutex> lock(caches_mu_);
    auto it = caches_.find(name);
    return it == caches_.end() ? nullptr : it->second.get();
}

Cache* Node::find_or_open_cache(std::string_view name) {
    constexpr size_t kMaxCaches = 4096;  // names from the network must not grow without bound
    if (Cache* c = find_cache(name)) return c;
    {
        std::lock_guard<std::mutex> lock(caches_mu_);
        if (caches_.size() >= kMaxCaches) return nullptr;
    }
    Cache* c = nullptr;
    bool created = false;
    if (!open_cache(std::string(name), &c, &created).ok()) return nullptr;
    if (created)
        log_.log(MCCACHE_LOG_INFO, "cache \"%.*s\" opened by a peer", static_cast<int>(name.size()),
                 name.data());
    return c;
}

void Node::replicate(cluster::Outgoing out) {
    // With send_direct, an idle node sends on the writer's thread: no
    // wake-up of the loop and no loop turn between the put and the datagram.
    // Under load (something queued, the loop flushing) it queues as before,
    // and the loop batches.
    // The loop thread itself always queues: it flushes at the end of its
    // turn anyway, and it may be inside the cluster's send lock.
    if (settings().send_direct && !on_loop_thread()) {
        switch (cluster_->send_now(out)) {
            case cluster::Cluster::Direct::Sent: return;
            case cluster::Cluster::Direct::Deferred: {
                // The socket refused part of it: the loop sends the rest.
                // (Once stopping, the loop's stop() flushes it regardless.)
                std::lock_guard<std::mutex> lock(queue_mu_);
                if (!stopping_) uv_async_send(&wake_);
                return;
            }
            case cluster::Cluster::Direct::Queue: break;
        }
    }
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) {
        store::value_unref(out.value);
        return;
    }
    cluster_->publish(std::move(out));
    uv_async_send(&wake_);
}

void Node::run_on_loop(const std::function<void()>& fn) {
    if (on_loop_thread()) {
        fn();
        return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    post([&fn, done] {
        fn();
        done->set_value();
    });
    fut.wait();
}

void Node::set_member_callback(MemberCallback cb) {
    auto holder = std::make_shared<MemberCallback>(cb);
    post([this, holder] {
        member_cb_.release();
        member_cb_ = *holder;
        *holder = {};
    });
}

std::string Node::checksums_json(std::string_view only) {
    JsonPtr root(cJSON_CreateObject(), cJSON_Delete);
    if (!root) throw std::bad_alloc();
    if (!cJSON_AddStringToObject(root.get(), "node", hex64(id_).c_str())) throw std::bad_alloc();
    cJSON* caches = cJSON_AddObjectToObject(root.get(), "caches");
    if (!caches) throw std::bad_alloc();
    for_each_cache([&](Cache& c) {
        if (!only.empty() && c.name() != only) return;
        cJSON* o = cJSON_AddObjectToObject(caches, c.name().c_str());
        if (!o || !cJSON_AddStringToObject(o, "checksum", hex64(c.store().checksum()).c_str()))
            throw std::bad_alloc();
        add_num(o, "entries", c.store().size());
    });
    return print_json(root.get());
}

void Node::for_each_cache(const std::function<void(Cache&)>& fn) {
    std::vector<Cache*> list;
    {
        std::lock_guard<std::mutex> lock(caches_mu_);
        for (auto& [name, c] : caches_) list.push_back(c.get());
    }
    for (Cache* c : list) fn(*c);
}

void Node::set_change_callback(Cache& cache, ChangeCallback cb) {
    cache.store().set_events(cb.cb != nullptr, settings_.callback_win_ms);
    // The swap happens on the loop, so the old callback is never running
    // when its opaque_free is called.
    auto holder = std::make_shared<ChangeCallback>(cb);
    post([&cache, holder] {
        cache.callback_.release();
        cache.callback_ = *holder;
        *holder = {};
    });
}

Status Node::housekeep_now() {
    if (on_loop_thread())
        return Error(MCCACHE_EBUSY, "mccache_housekeep: called from this node's own callback");
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    post([this, done] {
        housekeep();
        done->set_value();
    });
    fut.wait();
    return Status::Ok();
}

namespace {
void fill_cache_metrics(cJSON* o, Cache& c) {
    store::Stats st = c.store().stats();
    const store::Limits& lim = c.store().limits();
    add_num(o, "entries", st.entries);
    add_num(o, "tombstones", st.tombstones);
    add_num(o, "bytes", st.bytes);
    add_num(o, "max_entries", lim.max_entries);
    add_num(o, "max_bytes", lim.max_bytes);
    add_num(o, "lookups", st.lookups);
    add_num(o, "hits", st.hits);
    add_num(o, "misses", st.misses);
    if (!cJSON_AddNumberToObject(o, "hit_ratio",
                                 st.lookups ? static_cast<double>(st.hits) / st.lookups : 0.0))
        throw std::bad_alloc();
    add_num(o, "puts", st.inserts + st.updates);
    add_num(o, "inserts", st.inserts);
    add_num(o, "updates", st.updates);
    add_num(o, "deletes", st.deletes);
    cJSON* ev = cJSON_AddObjectToObject(o, "evictions");
    if (!ev) throw std::bad_alloc();
    add_num(ev, "max_entries", st.evictions_entries);
    add_num(ev, "max_bytes", st.evictions_bytes);
    add_num(ev, "total", st.evictions_entries + st.evictions_bytes);
    add_num(o, "expirations", st.expirations);
    add_num(o, "stale_writes", st.stale_writes);
    add_num(o, "tombstones_collected", st.tombstones_collected);
    if (!cJSON_AddStringToObject(o, "checksum", hex64(c.store().checksum()).c_str()))
        throw std::bad_alloc();
}

void fill_cluster_metrics(cJSON* root, const cluster::Cluster& c) {
    cJSON* o = cJSON_AddObjectToObject(root, "cluster");
    if (!o) throw std::bad_alloc();
    const cluster::Metrics& m = c.metrics();
    const transport::Counters& t = c.transport().counters();
    auto num = [&](const char* k, uint64_t v) { add_num(o, k, v); };
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    if (!cJSON_AddStringToObject(o, "address", c.transport().local().to_string().c_str()))
        throw std::bad_alloc();
    num("members_alive", get(m.members_alive));
    num("members_joined", get(m.member_events[0]));
    num("members_left", get(m.member_events[1]));
    num("members_down", get(m.member_events[2]));
    num("members_recovered", get(m.member_events[3]));
    num("members_restarted", get(m.member_events[4]));
    num("packet_mtu", c.packet_mtu());
    num("socket_rcvbuf", static_cast<uint64_t>(c.transport().rcvbuf_granted()));
    num("socket_sndbuf", static_cast<uint64_t>(c.transport().sndbuf_granted()));
    num("packets_out", t.packets_out);
    num("bytes_out", t.bytes_out);
    num("packets_in", t.packets_in);
    num("bytes_in", t.bytes_in);
    num("send_errors", t.send_errors);
    num("gso_sends", t.gso_sends);
    num("gso_refused", t.gso_refused);
    num("own_datagrams_in", get(m.own_datagrams_in));
    num("queries_resent", get(m.queries_resent));
    num("records_sent", get(m.records_sent));
    num("records_sent_direct", get(m.records_sent_direct));
    num("records_received", get(m.records_received));
    num("data_messages_sent", get(m.data_messages_sent));
    num("data_messages_received", get(m.data_messages_received));
    uint64_t msgs = get(m.data_messages_sent);
    double per = msgs ? static_cast<double>(get(m.records_sent)) / static_cast<double>(msgs) : 0.0;
    if (!cJSON_AddNumberToObject(o, "records_per_message", per)) throw std::bad_alloc();
    num("fragments_sent", get(m.fragments_sent));
    num("fragments_received", get(m.fragments_received));
    num("nacks_sent", get(m.nacks_sent));
    num("nacks_received", get(m.nacks_received));
    num("retransmits", get(m.retransmits));
    num("duplicates", get(m.duplicates));
    num("gaps_unrepairable", get(m.gaps_unrepairable));
    num("gone_sent", get(m.gone_sent));
    num("stale_records", get(m.stale_records));
    num("send_queue_overflow", get(m.send_queue_overflow));
    num("reassembly_dropped", get(m.reassembly_dropped));
    num("ae_rounds", get(m.ae_rounds));
    num("ae_groups_deferred", get(m.ae_groups_deferred));
    num("ae_digests_received", get(m.ae_digests_received));
    num("ae_buckets_compared", get(m.ae_buckets_compared));
    num("ae_keys_repaired", get(m.ae_keys_repaired));
    num("ae_keys_pulled", get(m.ae_keys_pulled));
    uint64_t samples = get(m.lag_samples);
    double avg = samples ? static_cast<double>(get(m.lag_sum_ms)) / static_cast<double>(samples) : 0.0;
    if (!cJSON_AddNumberToObject(o, "replication_lag_avg_ms", avg)) throw std::bad_alloc();
    num("replication_lag_max_ms", get(m.lag_max_ms));
    cJSON* rej = cJSON_AddObjectToObject(o, "rejected");
    if (!rej) throw std::bad_alloc();
    add_num(rej, "malformed", get(m.rejected_malformed));
    add_num(rej, "bad_checksum", get(m.rejected_checksum));
    add_num(rej, "wrong_cluster", get(m.rejected_cluster));
    add_num(rej, "unknown_version", get(m.rejected_version));
    add_num(rej, "oversize", get(m.rejected_oversize));
    add_num(rej, "records", get(m.rejected_records));
    add_num(rej, "auth_failed", get(m.rejected_auth));
    add_num(rej, "replayed", get(m.rejected_replayed));
    add_num(rej, "plaintext", get(m.rejected_plaintext));
    add_num(rej, "oversize_datagram", t.oversize_in);
    cJSON* f = cJSON_AddObjectToObject(o, "faults");
    if (!f) throw std::bad_alloc();
    add_num(f, "dropped_out", t.fault_dropped_out);
    add_num(f, "dropped_in", t.fault_dropped_in);
    add_num(f, "duplicated", t.fault_duplicated);
    add_num(f, "delayed", t.fault_delayed);
}

}  // namespace

std::string Node::config_json() const {
    JsonPtr root(cJSON_Parse(config_.to_json().c_str()), cJSON_Delete);
    if (!root) throw std::bad_alloc();
    if (!cJSON_AddStringToObject(root.get(), "effective_node_id", hex64(id_).c_str()))
        throw std::bad_alloc();
    return print_json(root.get());
}

std::string Node::cache_metrics_json(Cache& cache) {
    JsonPtr root(cJSON_CreateObject(), cJSON_Delete);
    if (!root) throw std::bad_alloc();
    fill_cache_metrics(root.get(), cache);
    return print_json(root.get());
}

std::string Node::metrics_json() {
    JsonPtr root(cJSON_CreateObject(), cJSON_Delete);
    if (!root) throw std::bad_alloc();
    cJSON* node = cJSON_AddObjectToObject(root.get(), "node");
    cJSON* caches = cJSON_AddObjectToObject(root.get(), "caches");
    if (!node || !caches) throw std::bad_alloc();
    store::Stats total{};
    size_t n = 0;
    for_each_cache([&](Cache& c) {
        cJSON* o = cJSON_AddObjectToObject(caches, c.name().c_str());
        if (!o) throw std::bad_alloc();
        fill_cache_metrics(o, c);
        store::Stats st = c.store().stats();
        total.entries += st.entries;
        total.bytes += st.bytes;
        total.hits += st.hits;
        total.misses += st.misses;
        total.inserts += st.inserts;
        total.updates += st.updates;
        total.deletes += st.deletes;
        total.evictions_entries += st.evictions_entries;
        total.evictions_bytes += st.evictions_bytes;
        total.expirations += st.expirations;
        ++n;
    });
    if (!cJSON_AddStringToObject(node, "id", hex64(id_).c_str())) throw std::bad_alloc();
    add_num(node, "caches", n);
    add_num(node, "entries", total.entries);
    add_num(node, "bytes", total.bytes);
    add_num(node, "lookups", total.hits + total.misses);
    add_num(node, "hits", total.hits);
    add_num(node, "misses", total.misses);
    add_num(node, "puts", total.inserts + total.updates);
    add_num(node, "inserts", total.inserts);
    add_num(node, "updates", total.updates);
    add_num(node, "deletes", total.deletes);
    add_num(node, "evictions", total.evictions_entries + total.evictions_bytes);
    add_num(node, "expirations", total.expirations);
    add_num(node, "events_queued", counters_.events_queued.load(std::memory_order_relaxed));
    add_num(node, "events_delivered", counters_.events_delivered.load(std::memory_order_relaxed));
    add_num(node, "events_dropped", counters_.events_dropped.load(std::memory_order_relaxed));
    add_num(node, "housekeeper_runs", counters_.housekeeper_runs.load(std::memory_order_relaxed));
    add_num(node, "housekeeper_removed",
            counters_.housekeeper_removed.load(std::memory_order_relaxed));
    if (cluster_) fill_cluster_metrics(root.get(), *cluster_);
    return print_json(root.get());
}

}  // namespace mccache::node
