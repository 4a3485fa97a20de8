// Throughput of the libmccache get/put paths through the public C API, next to
// two baselines run on the same keys in the same order: a raw
// absl::flat_hash_map lookup (the floor: no locking, no refcount, no LRU
// bookkeeping) and the classic mutex + std::list LRU (what users replace).
//
// Keys are 16 bytes, values 100 bytes. Each key order is drawn once, uniform
// over the populated keys, outside every timed loop. Caches are built once
// per size and shared by all threads of every run, as in a real process.
#include <benchmark/benchmark.h>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mccache.h"

namespace {

constexpr size_t kKeyLen = 16;
constexpr size_t kValueLen = 100;
// Long enough that a timed loop never sees a repeating pattern the branch
// predictor or prefetcher could learn; a power of two so wrapping is a mask.
constexpr size_t kOrderLen = size_t{1} << 20;
constexpr size_t kOrderMask = kOrderLen - 1;
constexpr size_t kInsertKeys = size_t{1} << 20;

[[noreturn]] void die(const char* what, int rc) {
    std::fprintf(stderr, "store_bench: %s: %s (%s)\n", what, mccache_err_name(rc),
                 mccache_last_error());
    std::exit(1);
}

void check(int rc, const char* what) {
    if (rc != MCCACHE_OK) die(what, rc);
}

// `prefix` is 4 bytes, so every key is exactly kKeyLen bytes.
std::vector<char> make_keys(const char* prefix, size_t n) {
    std::vector<char> keys(n * kKeyLen);
    char tmp[32];  // room for any size_t; the counts used keep to 12 digits
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(tmp, sizeof tmp, "%s%012zu", prefix, i);
        std::memcpy(&keys[i * kKeyLen], tmp, kKeyLen);
    }
    return keys;
}

// The populated keys, keys known to be absent, and both laid out again in
// access order: a timed loop then reads its next key sequentially (the
// prefetcher hides it), so the only random memory traffic measured is the
// cache's own.
struct KeySet {
    size_t n;
    std::vector<char> hit, miss, hit_seq, miss_seq;

    explicit KeySet(size_t count)
        : n(count), hit(make_keys("key:", count)), miss(make_keys("mis:", count)),
          hit_seq(kOrderLen * kKeyLen), miss_seq(kOrderLen * kKeyLen) {
        std::mt19937_64 rng(0x6d63636163686521ull + count);
        std::uniform_int_distribution<size_t> pick(0, count - 1);
        for (size_t i = 0; i < kOrderLen; ++i) {
            size_t k = pick(rng);
            std::memcpy(&hit_seq[i * kKeyLen], &hit[k * kKeyLen], kKeyLen);
            std::memcpy(&miss_seq[i * kKeyLen], &miss[k * kKeyLen], kKeyLen);
        }
    }
    const char* hit_key(size_t i) const { return &hit_seq[(i & kOrderMask) * kKeyLen]; }
    const char* miss_key(size_t i) const { return &miss_seq[(i & kOrderMask) * kKeyLen]; }
    std::string_view hit_view(size_t i) const { return {hit_key(i), kKeyLen}; }
    // Debian's Abseil has its own string_view type, which its maps take for
    // heterogeneous lookup; std::string_view does not convert.
    absl::string_view hit_absl(size_t i) const { return {hit_key(i), kKeyLen}; }
    absl::string_view miss_absl(size_t i) const { return {miss_key(i), kKeyLen}; }
};

struct Values {
    char a[kValueLen], b[kValueLen];
    Values() {
        std::memset(a, 'a', sizeof a);
        std::memset(b, 'b', sizeof b);
    }
};
const Values kValues;

// Built on first use, kept for the whole process: rebuilding a million-entry
// cache for every run would dominate the wall time. The mutex also makes the
// threads of a run wait for the one that builds (outside the timed loop).
template <class T>
const T& shared_instance(size_t n) {
    static std::mutex mu;
    static std::map<size_t, std::unique_ptr<T>> all;
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = all[n];
    if (!slot) slot = std::make_unique<T>(n);
    return *slot;
}

const KeySet& keys_for(size_t n) { return shared_instance<KeySet>(n); }

// Threads of one run start at far-apart offsets of the order so they do not
// walk the same keys in lockstep.
size_t start_offset(const benchmark::State& state) {
    return static_cast<size_t>(state.thread_index()) * (kOrderLen / 2 + 12345);
}

// Counts the calls that returned what the benchmark expects and keeps one
// code that was not, so a failed run says what went wrong.
struct Tally {
    size_t ok = 0;
    int other = MCCACHE_OK;
    void add(int rc, int want) {
        if (rc == want) {
            ++ok;
        } else {
            other = rc;
        }
    }
    void add(bool as_expected) { add(as_expected ? 0 : 1, 0); }
};

void finish(benchmark::State& state, const Tally& t) {
    size_t n = static_cast<size_t>(state.iterations());
    if (t.ok != n) {
        std::string msg = std::to_string(n - t.ok) + " of " + std::to_string(n) +
                          " calls had an unexpected result, e.g. " +
                          (t.other < 0 ? mccache_err_name(t.other) : "a hit missed or a miss hit");
        state.SkipWithError(msg.c_str());
        return;
    }
    state.SetItemsProcessed(static_cast<int64_t>(n));
    state.counters["per_thread"] =
        benchmark::Counter(static_cast<double>(n), benchmark::Counter::kAvgThreadsRate);
}

// ---------------------------------------------------------------------------
// libmccache

mccache_config_t* bench_config() {
    mccache_config_t* cfg = nullptr;
    check(mccache_config_new(&cfg), "mccache_config_new");
    // Large enough that nothing is evicted: the bench measures lookups, not the policy.
    check(mccache_config_set(cfg, "cache_max", "4000000"), "config cache_max");
    check(mccache_config_set(cfg, "cache_size", "4GiB"), "config cache_size");
    check(mccache_config_set(cfg, "cache_ttl", "0"), "config cache_ttl");
    // The local engine alone: replication is measured by replication_bench.
    check(mccache_config_set(cfg, "transport", "none"), "config transport");
    return cfg;
}

struct Node {
    mccache_t* node = nullptr;
    explicit Node(mccache_config_t* cfg) {
        check(mccache_open(cfg, &node), "mccache_open");
        mccache_config_free(cfg);
    }
    ~Node() { mccache_close(node); }
    mccache_cache_t* cache(const char* name) const {
        mccache_cache_t* c = nullptr;
        check(mccache_cache_open(node, name, &c), "mccache_cache_open");
        return c;
    }
};

struct McEnv {
    Node node{bench_config()};
    mccache_cache_t* cache;
    const KeySet& keys;

    explicit McEnv(size_t n) : cache(node.cache("bench")), keys(keys_for(n)) {
        for (size_t i = 0; i < n; ++i)
            check(mccache_put(cache, &keys.hit[i * kKeyLen], kKeyLen, kValues.a, kValueLen,
                              MCCACHE_TTL_NEVER),
                  "populate");
        size_t len = 0;
        check(mccache_len(cache, &len), "mccache_len");
        if (len != n) {
            std::fprintf(stderr, "store_bench: populated %zu keys, the cache holds %zu\n", n, len);
            std::exit(1);
        }
    }
};

void BM_Mc_GetHit(benchmark::State& state) {
    const McEnv& env = shared_instance<McEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    for (auto _ : state) {
        mccache_value_t* v;
        int rc = mccache_get(env.cache, env.keys.hit_key(i++), kKeyLen, &v);
        t.add(rc, MCCACHE_OK);
        size_t len;
        const void* data = mccache_value_data(v, &len);
        benchmark::DoNotOptimize(data);
        benchmark::DoNotOptimize(len);
        mccache_value_free(v);
    }
    finish(state, t);
}

// The same keys in a cache bounded at exactly their number: a full cache,
// where the eviction policy keeps the order of reads (every get records its
// access in the shard's read buffer, which the policy then drains), unlike
// McEnv's, which is far below its bound. Nothing is evicted: only reads.
struct McFullEnv {
    Node node;
    mccache_cache_t* cache;
    const KeySet& keys;

    explicit McFullEnv(size_t n) : node(config(n)), cache(node.cache("full")), keys(keys_for(n)) {
        for (size_t i = 0; i < n; ++i)
            check(mccache_put(cache, &keys.hit[i * kKeyLen], kKeyLen, kValues.a, kValueLen,
                              MCCACHE_TTL_NEVER),
                  "populate full");
        size_t len = 0;
        check(mccache_len(cache, &len), "mccache_len");
        if (len != n) {
            std::fprintf(stderr, "store_bench: populated %zu keys, the full cache holds %zu\n", n, len);
            std::exit(1);
        }
    }
    static mccache_config_t* config(size_t n) {
        mccache_config_t* cfg = bench_config();
        check(mccache_config_set(cfg, "full.cache_max", std::to_string(n).c_str()), "config full.cache_max");
        return cfg;
    }
};

void BM_Mc_GetHitFull(benchmark::State& state) {
    const McFullEnv& env = shared_instance<McFullEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    for (auto _ : state) {
        mccache_value_t* v;
        int rc = mccache_get(env.cache, env.keys.hit_key(i++), kKeyLen, &v);
        t.add(rc, MCCACHE_OK);
        size_t len;
        const void* data = mccache_value_data(v, &len);
        benchmark::DoNotOptimize(data);
        benchmark::DoNotOptimize(len);
        mccache_value_free(v);
    }
    finish(state, t);
}

void BM_Mc_GetCopyHit(benchmark::State& state) {
    const McEnv& env = shared_instance<McEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    char buf[128];
    for (auto _ : state) {
        size_t len = sizeof buf;
        int rc = mccache_get_copy(env.cache, env.keys.hit_key(i++), kKeyLen, buf, &len);
        t.add(rc, MCCACHE_OK);
        benchmark::DoNotOptimize(buf);
        benchmark::DoNotOptimize(len);
    }
    finish(state, t);
}

void BM_Mc_GetMiss(benchmark::State& state) {
    const McEnv& env = shared_instance<McEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    for (auto _ : state) {
        mccache_value_t* v;
        int rc = mccache_get(env.cache, env.keys.miss_key(i++), kKeyLen, &v);
        t.add(rc, MCCACHE_ENOTFOUND);
        benchmark::DoNotOptimize(v);
    }
    finish(state, t);
}

void BM_Mc_PutUpdate(benchmark::State& state) {
    const McEnv& env = shared_instance<McEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    for (auto _ : state) {
        // Alternate the bytes so no write is a no-op.
        const char* value = (i & 1) ? kValues.a : kValues.b;
        int rc = mccache_put(env.cache, env.keys.hit_key(i++), kKeyLen, value, kValueLen,
                             MCCACHE_TTL_NEVER);
        t.add(rc, MCCACHE_OK);
    }
    finish(state, t);
}

// Inserts of fresh keys need a fresh node per run: Setup/Teardown run once
// per run, outside the threads and the timing.
std::unique_ptr<Node> g_insert_node;
mccache_cache_t* g_insert_cache = nullptr;

const std::vector<char>& insert_keys() {
    static const std::vector<char> keys = make_keys("ins:", kInsertKeys);
    return keys;
}

void insert_setup(const benchmark::State&) {
    insert_keys();
    g_insert_node = std::make_unique<Node>(bench_config());
    g_insert_cache = g_insert_node->cache("insert");
}

void insert_teardown(const benchmark::State&) {
    g_insert_cache = nullptr;
    g_insert_node.reset();
}

void BM_Mc_PutInsert(benchmark::State& state) {
    const std::vector<char>& keys = insert_keys();
    // Iterations are fixed per registration, so each thread owns a disjoint slice.
    size_t i = static_cast<size_t>(state.thread_index()) * static_cast<size_t>(state.max_iterations);
    Tally t;
    for (auto _ : state) {
        int rc = mccache_put(g_insert_cache, &keys[(i++ % kInsertKeys) * kKeyLen], kKeyLen,
                             kValues.a, kValueLen, MCCACHE_TTL_NEVER);
        t.add(rc, MCCACHE_OK);
    }
    finish(state, t);
}

// A full cache of cache_max entries: every put of a new key also evicts one.
struct EvictEnv {
    Node node;
    mccache_cache_t* cache;
    size_t n;

    explicit EvictEnv(size_t count) : node(config(count)), cache(node.cache("evict")), n(count) {
        const std::vector<char>& keys = insert_keys();
        for (size_t i = 0; i < n; ++i)
            check(mccache_put(cache, &keys[i * kKeyLen], kKeyLen, kValues.a, kValueLen,
                              MCCACHE_TTL_NEVER),
                  "populate evict");
    }
    static mccache_config_t* config(size_t count) {
        mccache_config_t* cfg = bench_config();
        check(mccache_config_set(cfg, "evict.cache_max", std::to_string(count).c_str()),
              "config evict.cache_max");
        return cfg;
    }
};

// Each thread of each run claims the next slice of a key pool much larger
// than the cache, so a key comes round again only long after its eviction.
std::atomic<size_t> g_evict_cursor{0};

void BM_Mc_PutEvict(benchmark::State& state) {
    const EvictEnv& env = shared_instance<EvictEnv>(static_cast<size_t>(state.range(0)));
    const std::vector<char>& keys = insert_keys();
    size_t i = env.n + g_evict_cursor.fetch_add(static_cast<size_t>(state.max_iterations));
    Tally t;
    for (auto _ : state) {
        int rc = mccache_put(env.cache, &keys[(i++ % kInsertKeys) * kKeyLen], kKeyLen, kValues.a,
                             kValueLen, MCCACHE_TTL_NEVER);
        t.add(rc, MCCACHE_OK);
    }
    finish(state, t);
}

// ---------------------------------------------------------------------------
// Baseline (a): the raw map, read-only so threads may share it without a lock.

struct AbslEnv {
    absl::flat_hash_map<std::string, std::string> map;
    const KeySet& keys;
    explicit AbslEnv(size_t n) : keys(keys_for(n)) {
        map.reserve(n);
        for (size_t i = 0; i < n; ++i)
            map.emplace(std::string(&keys.hit[i * kKeyLen], kKeyLen),
                        std::string(kValues.a, kValueLen));
    }
};

void BM_Absl_FindHit(benchmark::State& state) {
    const AbslEnv& env = shared_instance<AbslEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    for (auto _ : state) {
        auto it = env.map.find(env.keys.hit_absl(i++));  // heterogeneous: no std::string built
        t.add(it != env.map.end());
        benchmark::DoNotOptimize(it->second.data());
    }
    finish(state, t);
}

void BM_Absl_FindMiss(benchmark::State& state) {
    const AbslEnv& env = shared_instance<AbslEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    for (auto _ : state) {
        auto it = env.map.find(env.keys.miss_absl(i++));
        t.add(it == env.map.end());
        benchmark::DoNotOptimize(it);
    }
    finish(state, t);
}

// ---------------------------------------------------------------------------
// Baseline (b): the classic mutex LRU. A get moves the entry to the front and
// copies the value out, since a reference into the map dies with the lock.

class MutexLru {
public:
    bool get(std::string_view key, char* buf, size_t* len) {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = index_.find(key);
        if (it == index_.end()) return false;
        order_.splice(order_.begin(), order_, it->second);
        const std::string& v = it->second->second;
        std::memcpy(buf, v.data(), v.size());
        *len = v.size();
        return true;
    }
    void put(std::string_view key, std::string_view value) {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = index_.find(key);
        if (it != index_.end()) {
            it->second->second.assign(value);
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        order_.emplace_front(std::string(key), std::string(value));
        // The index keys view the list's strings, which never move.
        index_.emplace(order_.front().first, order_.begin());
    }

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    using Order = std::list<std::pair<std::string, std::string>>;
    std::mutex mu_;
    Order order_;
    std::unordered_map<std::string_view, Order::iterator, Hash, std::equal_to<>> index_;
};

struct LruEnv {
    mutable MutexLru lru;
    const KeySet& keys;
    explicit LruEnv(size_t n) : keys(keys_for(n)) {
        for (size_t i = 0; i < n; ++i)
            lru.put({&keys.hit[i * kKeyLen], kKeyLen}, {kValues.a, kValueLen});
    }
};

void BM_MutexLru_GetHit(benchmark::State& state) {
    const LruEnv& env = shared_instance<LruEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    Tally t;
    char buf[128];
    for (auto _ : state) {
        size_t len = 0;
        t.add(env.lru.get(env.keys.hit_view(i++), buf, &len));
        benchmark::DoNotOptimize(buf);
        benchmark::DoNotOptimize(len);
    }
    finish(state, t);
}

void BM_MutexLru_PutUpdate(benchmark::State& state) {
    const LruEnv& env = shared_instance<LruEnv>(static_cast<size_t>(state.range(0)));
    size_t i = start_offset(state);
    for (auto _ : state) {
        const char* value = (i & 1) ? kValues.a : kValues.b;
        env.lru.put(env.keys.hit_view(i++), {value, kValueLen});
    }
    finish(state, Tally{static_cast<size_t>(state.iterations())});
}

// ---------------------------------------------------------------------------

void sizes_and_threads(benchmark::internal::Benchmark* b) {
    b->ArgName("entries")->Arg(10'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();
}

BENCHMARK(BM_Absl_FindHit)->Apply(sizes_and_threads);
BENCHMARK(BM_Mc_GetHit)->Apply(sizes_and_threads);
BENCHMARK(BM_Mc_GetHitFull)->Apply(sizes_and_threads);
BENCHMARK(BM_Mc_GetCopyHit)->Apply(sizes_and_threads);
BENCHMARK(BM_MutexLru_GetHit)->Apply(sizes_and_threads);
BENCHMARK(BM_Absl_FindMiss)->Apply(sizes_and_threads);
BENCHMARK(BM_Mc_GetMiss)->Apply(sizes_and_threads);
BENCHMARK(BM_Mc_PutUpdate)->Apply(sizes_and_threads);
BENCHMARK(BM_MutexLru_PutUpdate)->Apply(sizes_and_threads);
// Fixed iterations: a million fresh keys per run whatever the thread count.
BENCHMARK(BM_Mc_PutInsert)
    ->Setup(insert_setup)->Teardown(insert_teardown)
    ->Iterations(kInsertKeys)->Threads(1)->UseRealTime();
BENCHMARK(BM_Mc_PutInsert)
    ->Setup(insert_setup)->Teardown(insert_teardown)
    ->Iterations(kInsertKeys / 2)->Threads(2)->UseRealTime();
BENCHMARK(BM_Mc_PutEvict)->ArgName("cache_max")->Arg(10'000)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    if (mccache_version() != MCCACHE_VERSION_NUMBER) {
        std::fprintf(stderr, "store_bench: built against %s, running with %s\n",
                     MCCACHE_VERSION_STRING, mccache_version_string());
        return 1;
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
