#include "node/node.h"

#include <future>
#include <random>

#include "crypto/aead.h"

namespace mccache::node {

using metrics::NodeMetric;

namespace {

uint64_t random_node_id() {
    std::random_device rd;
    uint64_t id = 0;
    while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return id;
}

constexpr size_t kMaxCaches = 4096;  // names from the network must not grow without bound

}  // namespace

Node::Node(const config::Config& config, const config::NodeSettings& settings, uint64_t id)
    : config_(config),
      settings_(settings),
      id_(id),
      clock_(store::SystemClock::instance()),
      hlc_(clock_),
      dispatcher_(settings.event_queue_max, counters_) {}

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
    node->log_.log(MCCACHE_LOG_INFO, "node open: interface %s, cluster \"%s\", sealing %s",
                   settings.interface_addr.c_str(), settings.cluster_name.c_str(),
                   settings.crypto_key.empty() ? "off" : crypto::backend_name());
    *out = std::move(node);
    return Status::Ok();
}

Status Node::start() {
    store::SystemClock::acquire_ticker();
    ticker_held_ = true;
    dispatcher_.start();
    // Log lines for a log callback go through the dispatcher like every
    // other callback; after it stops, the logging thread delivers them.
    log_.set_deliver([this](std::function<void()> line) {
        switch (dispatcher_.post_log(std::move(line))) {
            case Dispatcher::Posted::Queued: return obs::Logger::Delivery::Queued;
            case Dispatcher::Posted::Dropped: return obs::Logger::Delivery::Dropped;
            default: return obs::Logger::Delivery::Inline;
        }
    });
    int rc = uv_loop_init(&loop_);
    if (rc != 0) return Error(MCCACHE_EIO, std::string("uv_loop_init: ") + uv_strerror(rc));
    loop_.data = this;
    wake_.data = this;
    housekeeper_.data = this;
    // (uv_timer_init cannot fail; uv_async_init can.)
    if ((rc = uv_async_init(&loop_, &wake_, &Node::on_async)) != 0) {
        uv_loop_close(&loop_);
        return Error(MCCACHE_EIO, std::string("libuv handle init: ") + uv_strerror(rc));
    }
    uv_timer_init(&loop_, &housekeeper_);
    const uint64_t period = static_cast<uint64_t>(settings_.housekeeper_ms);
    uv_timer_start(&housekeeper_, &Node::on_timer, period, period);
    cluster_ = std::make_unique<cluster::Cluster>(*this);
    Status cs = cluster_->start(&loop_);
    if (!cs.ok()) {
        // Let the loop finish closing what was opened, then give up.
        cluster_->stop();
        uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&housekeeper_), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
        cluster_.reset();
        return cs;
    }
    std::promise<std::thread::id> ready;
    auto ready_future = ready.get_future();
    thread_ = std::thread([this, &ready] {
        ready.set_value(std::this_thread::get_id());
        uv_run(&loop_, UV_RUN_DEFAULT);
    });
    loop_thread_id_ = ready_future.get();
    started_ = true;
    return Status::Ok();
}

Node::~Node() { close(); }

void Node::close() {
    if (closed_) return;
    closed_ = true;
    if (started_) {
        {
            std::lock_guard<std::mutex> lock(tasks_mu_);
            stopping_ = true;
            uv_async_send(&wake_);
        }
        thread_.join();
        uv_loop_close(&loop_);
    }
    // The loop is gone: whatever it did not get to runs here, on the
    // closing thread (its callbacks still go through the dispatcher).
    std::vector<std::function<void()>> tasks;
    {
        std::lock_guard<std::mutex> lock(tasks_mu_);
        tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
    // Delivers what is queued, then stops; what comes after runs here.
    dispatcher_.stop();
    std::lock_guard<std::mutex> lock(caches_mu_);
    for (auto& [name, cache] : caches_) {
        cache->store().set_events(false, 0);
        cache->release_callback();
        cache->loads().release_loader();  // its opaque_free runs here: the dispatcher has stopped
    }
    member_cb_.release();
    cluster_.reset();
    log_.set_callback(nullptr, nullptr, nullptr);
    if (ticker_held_) {
        store::SystemClock::release_ticker();
        ticker_held_ = false;
    }
}

// ---- the loop thread ----

void Node::post(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(tasks_mu_);
    tasks_.push_back(std::move(task));
    // Once stopping, close() runs leftover tasks after the loop has stopped.
    if (!stopping_) uv_async_send(&wake_);
}

void Node::run_tasks() {
    for (;;) {
        std::vector<std::function<void()>> tasks;
        {
            std::lock_guard<std::mutex> lock(tasks_mu_);
            tasks.swap(tasks_);
        }
        if (tasks.empty()) return;
        for (auto& t : tasks) t();
    }
}

void Node::on_async(uv_async_t* handle) {
    Node* self = static_cast<Node*>(handle->data);
    self->run_tasks();
    self->cluster_->flush();
    bool stop;
    {
        std::lock_guard<std::mutex> lock(self->tasks_mu_);
        stop = self->stopping_;
    }
    if (stop) {
        self->cluster_->stop();
        uv_timer_stop(&self->housekeeper_);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->housekeeper_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->wake_), nullptr);
    }
}

void Node::on_timer(uv_timer_t* handle) { static_cast<Node*>(handle->data)->housekeep(); }

void Node::housekeep() {
    size_t removed = 0;
    each_cache([&](Cache& c) { removed += c.store().housekeep(); });
    counters_.add(NodeMetric::housekeeper_runs);
    counters_.add(NodeMetric::housekeeper_removed, removed);
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

// ---- caches ----

Status Node::open_cache(const std::string& name, Cache** out, bool* created) {
    Cache* cache = nullptr;
    {
        std::lock_guard<std::mutex> lock(caches_mu_);
        auto it = caches_.find(name);
        if (it != caches_.end()) {
            *out = it->second.get();
            *created = false;
            return Status::Ok();
        }
        config::CacheSettings cs = settings_.for_cache(name);
        if (name == Cache::kRegistry) {
            // Generations must reach every member and never expire or be
            // given up for room: replicate mode, no TTL, exact LRU.
            cs = config::CacheSettings{};
            cs.mode = MCCACHE_MODE_REPLICATE;
            cs.max_entries = 65536;
            cs.max_bytes = 64ull << 20;
            cs.eviction_policy = static_cast<int>(store::EvictionPolicy::Lru);
            cs.load_lease_ms = 10000;
        }
        store::Limits limits;
        limits.max_entries = cs.max_entries;
        limits.max_bytes = cs.max_bytes;
        limits.max_value_size = settings_.max_value_size;
        limits.default_ttl_ms = cs.ttl_ms;
        limits.tombstone_ttl_ms = settings_.tombstone_ttl_ms;
        limits.shards = settings_.store_shards;
        limits.policy = static_cast<store::EvictionPolicy>(cs.eviction_policy);
        auto made = std::make_unique<Cache>(*this, name, limits, cs);
        cache = made.get();
        caches_.emplace(name, std::move(made));
    }
    // A namespaced cache starts at the generation the registry holds (read
    // with no lock held: the registry's events take caches_mu_).
    if (cache->namespaced()) {
        if (Cache* reg = registry()) {
            store::Version v;
            int64_t exp;
            if (store::Value* g = reg->store().lookup(name.data(), name.size(), &v, &exp, false)) {
                uint64_t gen = 0;
                if (g->len == 8)
                    for (int i = 0; i < 8; ++i) gen = gen << 8 | g->bytes()[i];
                store::value_unref(g);
                cache->raise_generation(gen);
            }
        }
    }
    // Logged with no lock held: a log callback may call back in.
    log_.log(MCCACHE_LOG_INFO, "cache \"%s\" open: max %llu entries, %llu bytes", name.c_str(),
             static_cast<unsigned long long>(cache->store().limits().max_entries),
             static_cast<unsigned long long>(cache->store().limits().max_bytes));
    *out = cache;
    *created = true;
    return Status::Ok();
}

cluster::Replica* Node::find_cache(std::string_view name, bool create) {
    {
        std::lock_guard<std::mutex> lock(caches_mu_);
        auto it = caches_.find(name);
        if (it != caches_.end()) return it->second.get();
        if (!create || caches_.size() >= kMaxCaches) return nullptr;
    }
    Cache* c = nullptr;
    bool created = false;
    return open_cache(std::string(name), &c, &created).ok() ? c : nullptr;
}

void Node::each_cache(const std::function<void(Cache&)>& fn) {
    std::vector<Cache*> list;
    {
        std::lock_guard<std::mutex> lock(caches_mu_);
        for (auto& [name, c] : caches_) list.push_back(c.get());
    }
    for (Cache* c : list) fn(*c);
}

Cache* Node::registry() {
    return static_cast<Cache*>(find_cache(Cache::kRegistry, true));
}

void Node::generation_changed(std::string_view cache, uint64_t generation) {
    std::lock_guard<std::mutex> lock(caches_mu_);
    auto it = caches_.find(cache);
    if (it != caches_.end()) it->second->raise_generation(generation);
}

void Node::lease_event(std::string_view cache, std::string_view key, const cluster::LeaseEvent& event) {
    Cache* c = nullptr;
    {
        std::lock_guard<std::mutex> lock(caches_mu_);
        auto it = caches_.find(cache);
        if (it != caches_.end()) c = it->second.get();
    }
    if (c) c->loads().on_lease(key, event);
}

void Node::for_each_cache(const std::function<void(cluster::Replica&)>& fn) {
    each_cache([&](Cache& c) { fn(c); });
}

// ---- replication ----

void Node::replicate(cluster::Outgoing out) {
    // With send_direct, an idle node sends on the writer's thread: no
    // wake-up of the loop and no loop turn between the put and the datagram.
    // Under load (something queued, the loop flushing) it queues as before,
    // and the loop batches. The loop thread itself always queues: it
    // flushes at the end of its turn anyway, and it may be inside the
    // stream's send lock.
    if (settings_.send_direct && !on_loop_thread()) {
        switch (cluster_->send_now(out)) {
            case cluster::Stream::Direct::Sent: return;
            case cluster::Stream::Direct::Deferred: {
                // The socket refused part of it: the loop sends the rest.
                // (Once stopping, the loop's stop() flushes it regardless.)
                std::lock_guard<std::mutex> lock(tasks_mu_);
                if (!stopping_) uv_async_send(&wake_);
                return;
            }
            case cluster::Stream::Direct::Queue: break;
        }
    }
    std::lock_guard<std::mutex> lock(tasks_mu_);
    if (stopping_) {
        store::value_unref(out.value);
        return;
    }
    cluster_->publish(std::move(out));
    uv_async_send(&wake_);
}

// ---- callbacks ----

void Node::set_member_callback(MemberCallback cb) {
    auto holder = std::make_shared<MemberCallback>(cb);
    dispatcher_.post([this, holder] {
        member_cb_.release();
        member_cb_ = *holder;
        *holder = {};
    });
}

void Node::member_changed(const cluster::MemberEvent& e) {
    dispatcher_.post([this, e] {
        if (!member_cb_.cb) return;
        mccache_member_t info{};
        info.struct_size = sizeof info;
        info.event = e.event;
        info.node_id = e.id;
        info.incarnation = e.incarnation;
        info.address = e.address.c_str();
        info.last_seen_ms = e.last_seen_ms;
        member_cb_.cb(&info, member_cb_.opaque);
    });
}

void Node::set_log_callback(mccache_log_cb cb, void* opaque, void (*opaque_free)(void*)) {
    // The old callback is released on the dispatcher thread, after any line
    // still queued for it, like every other opaque_free.
    dispatcher_.post([old = log_.set_callback(cb, opaque, opaque_free)] {});
}

void Node::set_faults(int drop, int drop_recv) {
    run_on_loop([&] { cluster_->set_faults(drop, drop_recv); });
}

}  // namespace mccache::node
