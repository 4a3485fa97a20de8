#include "node/loads.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "node/node.h"

namespace mccache::node {

namespace {

constexpr size_t kShards = 32;
// Waiters look at the store at least this often: a local put of the key, or
// a lost lease message, must not leave them waiting for a wake-up.
constexpr int64_t kRecheckMs = 20;

int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

// Callers of one key on this node: the first asks the cluster (or wins at
// once), one of them loads, the others wait for its outcome.
struct Loads::Flight {
    enum class State { Asking, Won, Loading, Done };
    std::mutex mu;
    std::condition_variable cv;
    State state = State::Asking;
    bool refresh = false;     // its callers are served the value they found meanwhile
    bool background = false;  // a refresh the registered loader runs on the dispatcher
    bool remote = false;      // another member's load was waited for
    store::Version held;      // the version present when it started (zero on a miss)
    std::string user_key;     // the key as callers gave it (what a loader is given)
    int waiters = 0;          // callers in wait()
    int64_t progress_ms = 0;  // steady ms: ask the cluster again if nothing happened by then
    Outcome outcome;          // Done; the value reference is shared by copies taken under mu
    ~Flight() { store::value_unref(outcome.value); }
};

struct Loads::Registered {
    mccache_loader_cb cb;
    void* opaque;
    void (*opaque_free)(void*);
    Dispatcher* dispatcher;
    ~Registered() {
        if (opaque_free) dispatcher->post([f = opaque_free, o = opaque] { f(o); });
    }
};

struct Loads::Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights;
    struct Failure {
        int code;
        std::string message;
        int64_t until_ms;
    };
    std::unordered_map<std::string, Failure> failures;
};

Loads::Loads(Cache& cache, const config::CacheSettings& s)
    : cache_(cache),
      lease_ms_(s.load_lease_ms),
      refresh_after_ms_(s.refresh_after_ms),
      swr_ms_(s.stale_while_revalidate_ms),
      sie_ms_(s.stale_if_error_ms),
      negative_ms_(s.negative_ttl_ms),
      window_ms_(std::max(s.stale_while_revalidate_ms, s.stale_if_error_ms)),
      shards_(new Shard[kShards]) {}

Loads::~Loads() = default;

Loads::Shard& Loads::shard_of(std::string_view key) { return shards_[std::hash<std::string_view>{}(key) % kShards]; }

bool Loads::clustered() const { return cache_.node().replicating() && cache_.mode() == MCCACHE_MODE_REPLICATE; }

void Loads::post_to_loop(std::function<void()> fn) { cache_.node().post_to_loop(std::move(fn)); }

// ---- the registered loader ----

void Loads::set_loader(mccache_loader_cb cb, void* opaque, void (*opaque_free)(void*)) {
    std::shared_ptr<Registered> next;
    if (cb) next.reset(new Registered{cb, opaque, opaque_free, &cache_.node().dispatcher()});
    else if (opaque_free) cache_.node().dispatcher().post([opaque_free, opaque] { opaque_free(opaque); });
    std::shared_ptr<Registered> old;
    {
        std::lock_guard<std::mutex> lock(loader_mu_);
        old = std::exchange(loader_, std::move(next));
    }
    // `old` is released here, or by the last load still running it.
}

bool Loads::has_loader() {
    std::lock_guard<std::mutex> lock(loader_mu_);
    return loader_ != nullptr;
}

void Loads::release_loader() {
    std::lock_guard<std::mutex> lock(loader_mu_);
    loader_.reset();
}

// ---- flights ----

std::shared_ptr<Loads::Flight> Loads::find(std::string_view key) {
    Shard& sh = shard_of(key);
    std::lock_guard<std::mutex> lock(sh.mu);
    auto it = sh.flights.find(std::string(key));
    return it == sh.flights.end() ? nullptr : it->second;
}

std::shared_ptr<Loads::Flight> Loads::join(std::string_view key, std::string_view user_key, bool refresh,
                                           store::Version held, bool* made) {
    Shard& sh = shard_of(key);
    std::lock_guard<std::mutex> lock(sh.mu);
    auto [it, inserted] = sh.flights.try_emplace(std::string(key));
    *made = inserted;
    if (inserted) {
        it->second = std::make_shared<Flight>();
        it->second->refresh = refresh;
        it->second->held = held;
        it->second->user_key = std::string(user_key);
        it->second->progress_ms = steady_ms() + lease_ms_;
        active_.fetch_add(1, std::memory_order_relaxed);
    }
    return it->second;
}

void Loads::ask(const std::string& key, Flight& f) {
    if (!clustered()) {
        // No other member can load it for us: the lease is ours at once.
        std::lock_guard<std::mutex> lock(f.mu);
        if (f.state == Flight::State::Asking) f.state = Flight::State::Won;
        return;
    }
    const store::Version held = f.held;
    const uint32_t lease = static_cast<uint32_t>(lease_ms_);
    Node& node = cache_.node();
    std::string cache = cache_.name();
    post_to_loop([&node, cache = std::move(cache), key, held, lease] {
        node.cluster().leases().acquire(cache, key, held, lease);
    });
}

void Loads::complete(const std::string& key, const std::shared_ptr<Flight>& f, Outcome o, bool tell_cluster) {
    {
        std::lock_guard<std::mutex> lock(f->mu);
        if (f->state == Flight::State::Done) {
            store::value_unref(o.value);
            return;
        }
    }
    // Out of the table before its callers can see the outcome: a caller that
    // returns and calls again must start a new flight, not join this one.
    {
        Shard& sh = shard_of(key);
        std::lock_guard<std::mutex> lock(sh.mu);
        auto it = sh.flights.find(key);
        if (it != sh.flights.end() && it->second == f) {
            sh.flights.erase(it);
            active_.fetch_sub(1, std::memory_order_relaxed);
        }
    }
    {
        std::lock_guard<std::mutex> lock(f->mu);
        if (f->state == Flight::State::Done) {
            store::value_unref(o.value);
            return;
        }
        f->state = Flight::State::Done;
        f->outcome = std::move(o);
    }
    f->cv.notify_all();
    if (tell_cluster && clustered()) {
        Node& node = cache_.node();
        post_to_loop([&node, cache = cache_.name(), key] { node.cluster().leases().cancel(cache, key); });
    }
}

// ---- the failure cache ----

bool Loads::negative(std::string_view key, int64_t now, Outcome* o) {
    if (negative_ms_ <= 0) return false;
    Shard& sh = shard_of(key);
    std::lock_guard<std::mutex> lock(sh.mu);
    auto it = sh.failures.find(std::string(key));
    if (it == sh.failures.end()) return false;
    if (now >= it->second.until_ms) {
        sh.failures.erase(it);
        return false;
    }
    o->code = it->second.code;
    o->message = it->second.message;
    return true;
}

void Loads::remember_failure(std::string_view key, int code, const std::string& message, int64_t ms) {
    if (ms <= 0) return;
    Shard& sh = shard_of(key);
    std::lock_guard<std::mutex> lock(sh.mu);
    sh.failures[std::string(key)] = {code, message, cache_.node().now_ms() + ms};
    // Expired failures of other keys go as the table grows.
    if (sh.failures.size() > 1024) {
        const int64_t now = cache_.node().now_ms();
        std::erase_if(sh.failures, [&](const auto& kv) { return kv.second.until_ms <= now; });
    }
}

// ---- loading ----

Loads::Outcome Loads::run(const std::string& key, std::string user_key, const std::shared_ptr<Flight>& f,
                          Loader loader) {
    std::shared_ptr<Registered> reg;
    if (!loader.cb) {
        std::lock_guard<std::mutex> lock(loader_mu_);
        reg = loader_;
        if (reg) loader = {reg->cb, reg->opaque};
    }
    Outcome o;
    mccache_load_s load;
    int rc = MCCACHE_EINVAL;
    add(Stat::loads);
    if (f->refresh) add(Stat::refreshes);
    const int64_t t0 = steady_ms();
    if (!loader.cb) {
        load.error = "no loader: none was given and none is registered";
    } else {
        try {
            rc = loader.cb(&load, user_key.data(), user_key.size(), loader.opaque);
        } catch (...) {
            rc = MCCACHE_EINTERNAL;
            load.error = "the loader threw an exception";
        }
    }
    add(Stat::time_ms, static_cast<uint64_t>(steady_ms() - t0));
    reg.reset();
    if (rc == MCCACHE_OK && !load.has_value) {
        rc = MCCACHE_EINVAL;
        load.error = "the loader returned MCCACHE_OK without mccache_load_set_value()";
    }
    if (rc == MCCACHE_OK) {
        if (load.value.size() > cache_.max_value_size() || !cache_.fits(key.size(), load.value.size())) {
            rc = MCCACHE_ETOOBIG;
            load.error = "the loaded value of " + std::to_string(load.value.size()) +
                         " bytes exceeds max_value_size or cache_size; nothing was stored";
        }
    }
    cluster::LeaseEvent end;
    if (rc == MCCACHE_OK) {
        store::Value* v = nullptr;
        end.kind = cluster::LeaseEvent::Kind::Loaded;
        end.version = cache_.put_loaded(key.data(), key.size(), load.value.data(), load.value.size(), load.ttl_ms, &v);
        o.value = v;
        add(Stat::successes);
    } else {
        o.code = rc < 0 ? rc : MCCACHE_EUSER;
        o.message = load.error.empty() ? "the loader failed with " + std::string(mccache_err_name(o.code)) : load.error;
        end.kind = cluster::LeaseEvent::Kind::Failed;
        end.code = o.code;
        end.message = o.message;
        end.negative_ms = static_cast<uint32_t>(negative_ms_);
        remember_failure(key, o.code, o.message, negative_ms_);
        add(Stat::failures);
    }
    Outcome shared;
    shared.code = o.code;
    shared.message = o.message;
    shared.value = store::value_ref(o.value);
    complete(key, f, std::move(shared), false);
    if (clustered()) {
        Node& node = cache_.node();
        post_to_loop([&node, cache = cache_.name(), key, end] { node.cluster().leases().end(cache, key, end); });
    }
    return o;
}

Loads::Outcome Loads::wait(const std::string& key, std::string_view user_key, const std::shared_ptr<Flight>& f,
                           Loader loader, int64_t deadline, const std::atomic<bool>& closed) {
    std::unique_lock<std::mutex> lock(f->mu);
    ++f->waiters;
    bool counted = false;
    for (;;) {
        switch (f->state) {
            case Flight::State::Done: {
                --f->waiters;
                Outcome o;
                o.code = f->outcome.code;
                o.message = f->outcome.message;
                o.value = store::value_ref(f->outcome.value);
                return o;
            }
            case Flight::State::Won:
                if (!f->background) {
                    // The lease is this node's: the first caller to see it loads.
                    f->state = Flight::State::Loading;
                    --f->waiters;
                    lock.unlock();
                    return run(key, std::string(user_key), f, loader);
                }
                break;
            case Flight::State::Asking:
            case Flight::State::Loading: break;
        }
        if (!counted) {
            add(Stat::waits);
            counted = true;
        }
        const int64_t now = steady_ms();
        if (now >= deadline || closed.load(std::memory_order_relaxed)) {
            --f->waiters;
            const bool abandon = f->waiters == 0 && f->state == Flight::State::Asking;
            lock.unlock();
            Outcome o;
            o.code = closed.load(std::memory_order_relaxed) ? MCCACHE_ECLOSED : MCCACHE_ETIMEDOUT;
            o.message = o.code == MCCACHE_ECLOSED ? "the node closed while waiting for a load"
                                                  : "no value within the timeout (a load is still running, or "
                                                    "the lease could not be decided)";
            if (abandon) {
                Outcome gone;
                gone.code = o.code;
                gone.message = o.message;
                complete(key, f, std::move(gone), true);
            }
            return o;
        }
        f->cv.wait_for(lock, std::chrono::milliseconds(std::min(kRecheckMs, deadline - now)));
        if (f->state != Flight::State::Asking) continue;
        // Nothing for a lease's length: ask again (the Leases part takes
        // over from an expired lease, or keeps waiting).
        const int64_t t = steady_ms();
        const bool ask_again = t >= f->progress_ms && clustered();
        if (ask_again) f->progress_ms = t + lease_ms_;
        // The value may have come another way (a local put, a repair).
        lock.unlock();
        store::Version v;
        int64_t exp;
        store::Value* got = cache_.store().lookup(key.data(), key.size(), &v, &exp, false);
        if (got && v > f->held) {  // held is set when the flight is made, never after
            Outcome o;
            o.value = got;
            complete(key, f, std::move(o), true);
        } else {
            store::value_unref(got);
            if (ask_again) ask(key, *f);
        }
        lock.lock();
    }
}

void Loads::refresh(const std::string& key, std::string_view user_key, store::Version held, Loader loader,
                    int64_t deadline, const std::atomic<bool>& closed, store::Value** fresher) {
    bool made = false;
    std::shared_ptr<Flight> f = join(key, user_key, true, held, &made);
    if (!made) return;  // a load or a refresh of the key is under way
    const bool background = has_loader();
    if (background) {
        std::lock_guard<std::mutex> lock(f->mu);
        f->background = true;
    }
    ask(key, *f);
    if (background) {
        std::unique_lock<std::mutex> lock(f->mu);
        if (f->state != Flight::State::Won) return;  // decided later, on the loop thread
        f->state = Flight::State::Loading;
        lock.unlock();
        Node& node = cache_.node();
        node.dispatcher().post(
            [this, key, user = std::string(user_key), f] { store::value_unref(run(key, user, f, {}).value); });
        return;
    }
    // No registered loader: this caller reloads if it wins the lease, and is
    // served the old value if another member does.
    std::unique_lock<std::mutex> lock(f->mu);
    while (f->state == Flight::State::Asking && !closed.load(std::memory_order_relaxed)) {
        const int64_t now = steady_ms();
        if (now >= deadline) break;
        f->cv.wait_for(lock, std::chrono::milliseconds(std::min(kRecheckMs, deadline - now)));
    }
    if (f->state == Flight::State::Won) {
        f->state = Flight::State::Loading;
        lock.unlock();
        Outcome o = run(key, std::string(user_key), f, loader);
        if (o.code == MCCACHE_OK) *fresher = o.value;
        return;
    }
    if (f->state == Flight::State::Asking) {
        lock.unlock();
        Outcome gone;
        gone.code = MCCACHE_ETIMEDOUT;
        complete(key, f, std::move(gone), true);
    }
}

int Loads::get_or_load(std::string_view key, std::string_view user_key, Loader loader, int64_t timeout_ms,
                       const std::atomic<bool>& closed, store::Value** out, std::string* error) {
    const int64_t deadline = timeout_ms < 0 ? INT64_MAX / 2 : steady_ms() + (timeout_ms ? timeout_ms : 2 * lease_ms_);
    const std::string k(key);
    const int64_t now = cache_.node().now_ms();
    store::Version version;
    int64_t expires = -1;
    store::Value* found = cache_.store().lookup(key.data(), key.size(), &version, &expires, true);
    store::Value* stale = nullptr;
    if (found) {
        // The store keeps an entry window_ms_ past its TTL for the stale windows.
        const int64_t ttl_end = expires < 0 ? -1 : expires - window_ms_;
        // Serves `found`, or the value a reload this caller ran itself
        // returned (the reload's winner without a registered loader).
        auto serve_refreshed = [&] {
            store::Value* fresher = nullptr;
            refresh(k, user_key, version, loader, deadline, closed, &fresher);
            if (fresher) {
                store::value_unref(found);
                found = fresher;
            }
        };
        if (ttl_end < 0 || now < ttl_end) {
            if (refresh_after_ms_ > 0 && now - store::hlc_ms(version.hlc) >= refresh_after_ms_) serve_refreshed();
            *out = found;
            return MCCACHE_OK;
        }
        if (now < ttl_end + swr_ms_) {
            add(Stat::stale_served);
            serve_refreshed();
            *out = found;
            return MCCACHE_OK;
        }
        // Past stale_while_revalidate: load as on a miss, and serve this
        // only if that fails (while within stale_if_error).
        if (now < ttl_end + sie_ms_) stale = found;
        else store::value_unref(found);
    } else {
        version = {};
    }
    Outcome o;
    if (!stale && negative(key, now, &o)) {
        add(Stat::negative_hits);
        *error = o.message;
        return o.code;
    }
    // A miss can meet a refresh of the value it just saw expire: when that
    // ends without a value for it, it starts its own load.
    for (int attempt = 0;; ++attempt) {
        bool made = false;
        std::shared_ptr<Flight> f = join(key, user_key, false, stale ? version : store::Version{}, &made);
        if (made) ask(k, *f);
        o = wait(k, user_key, f, loader, deadline, closed);
        if (o.code != MCCACHE_OK && f->refresh && attempt < 2 && steady_ms() < deadline &&
            !closed.load(std::memory_order_relaxed))
            continue;
        break;
    }
    if (o.code == MCCACHE_OK) {
        store::value_unref(stale);
        *out = o.value;
        return MCCACHE_OK;
    }
    if (stale && o.code != MCCACHE_ECLOSED) {
        add(Stat::stale_served);
        *out = stale;
        return MCCACHE_OK;
    }
    *error = o.message;
    return o.code;
}

// ---- the cluster's news (loop thread) ----

void Loads::on_lease(std::string_view key, const cluster::LeaseEvent& e) {
    const std::string k(key);
    std::shared_ptr<Flight> f = find(key);
    using Kind = cluster::LeaseEvent::Kind;
    if (!f) {
        Node& node = cache_.node();
        if (e.kind == Kind::Won) {
            // Every caller gave up before the lease came: hand it back.
            cluster::LeaseEvent rel;
            rel.kind = Kind::Released;
            post_to_loop([&node, cache = cache_.name(), k, rel] { node.cluster().leases().end(cache, k, rel); });
        } else if (e.kind == Kind::Failed) {
            remember_failure(key, e.code, e.message, std::min<int64_t>(negative_ms_, e.negative_ms));
        }
        return;
    }
    std::unique_lock<std::mutex> lock(f->mu);
    switch (e.kind) {
        case Kind::Won:
            if (f->state != Flight::State::Asking) return;
            if (f->background) {
                f->state = Flight::State::Loading;
                lock.unlock();
                cache_.node().dispatcher().post(
                    [this, k, f] { store::value_unref(run(k, f->user_key, f, {}).value); });
                return;
            }
            if (f->waiters == 0 && !f->refresh) {
                // Nobody is left to load it: hand the lease back.
                lock.unlock();
                Outcome gone;
                gone.code = MCCACHE_ETIMEDOUT;
                complete(k, f, std::move(gone), false);
                cluster::LeaseEvent rel;
                rel.kind = Kind::Released;
                Node& node = cache_.node();
                post_to_loop([&node, cache = cache_.name(), k, rel] { node.cluster().leases().end(cache, k, rel); });
                return;
            }
            f->state = Flight::State::Won;
            lock.unlock();
            f->cv.notify_all();
            return;
        case Kind::Waiting:
            if (!f->remote) {
                f->remote = true;
                add(Stat::remote_waits);
            }
            f->progress_ms = steady_ms() + lease_ms_;
            if (f->refresh && f->state == Flight::State::Asking) {
                // Another member refreshes it: its value will come.
                lock.unlock();
                complete(k, f, Outcome{MCCACHE_ETIMEDOUT, "refreshed elsewhere", nullptr}, true);
            }
            return;
        case Kind::Loaded: {
            if (f->state != Flight::State::Asking) return;
            lock.unlock();
            store::Version v;
            int64_t exp;
            store::Value* got = cache_.store().lookup(k.data(), k.size(), &v, &exp, false);
            if ((got && v >= e.version) || f->refresh) {
                Outcome o;
                o.value = got;
                if (!got) o.code = MCCACHE_ETIMEDOUT;
                complete(k, f, std::move(o), false);
            } else {
                // Its value is on its way on the replication stream.
                store::value_unref(got);
                std::lock_guard<std::mutex> again(f->mu);
                f->progress_ms = steady_ms() + lease_ms_;
            }
            return;
        }
        case Kind::Failed:
            lock.unlock();
            remember_failure(key, e.code, e.message, std::min<int64_t>(negative_ms_, e.negative_ms));
            // A notice of another load's failure answers this flight only
            // where failures are cached (the cache would answer it anyway).
            if (e.notice && (negative_ms_ <= 0 || e.negative_ms == 0)) return;
            complete(k, f, Outcome{e.code, e.message, nullptr}, false);
            return;
        case Kind::Released: return;
    }
}

void Loads::on_remote_put(std::string_view key) {
    if (active_.load(std::memory_order_relaxed) == 0) return;
    std::shared_ptr<Flight> f = find(key);
    if (!f) return;
    {
        std::lock_guard<std::mutex> lock(f->mu);
        if (f->state != Flight::State::Asking) return;
    }
    const std::string k(key);
    store::Version v;
    int64_t exp;
    store::Value* got = cache_.store().lookup(k.data(), k.size(), &v, &exp, false);
    if (!got || v <= f->held) {
        store::value_unref(got);
        return;
    }
    Outcome o;
    o.value = got;
    complete(k, f, std::move(o), true);
}

}  // namespace mccache::node
