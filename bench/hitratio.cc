// Hit ratio of libmccache's eviction on the LIRS traces, next to Belady's
// optimum (OPT), exact LRU and Caffeine itself, in one table.
//
// Each trace is replayed as a read-through cache (get; on a miss, put)
// through the public C API, at the capacities of the traces' README. OPT and
// LRU are computed here; Caffeine 3.3.1 runs from bench/caffeine (Maven) in
// the same run, mean of kSeeds runs since its admission has a random part. The
// "x4" and "x16" columns are libmccache with its policy split over 4 and 16
// shards (store_shards), against the single global policy a cache of this
// size gets by default.
//
// Every store hashes keys with its own random seed, so its sketch's
// collisions, and with them a row's ratio, differ from one cache to the
// next by up to about 6 points on the most erratic row (gli at 1000): each
// libmccache column is the mean of kSeeds caches replaying the same trace,
// and the spread of the default column is printed next to it. Caffeine hashes a key by its value, so its
// runs share one set of collisions; its "renamed keys" column gives each
// run its own (bench/caffeine/src/main/java/mccache/Replay.java), the fair
// comparison for a mean over seeds.
//
// Usage: hitratio [TRACE_DIR]   (default: $MCCACHE_TRACES, else
//        <repo>/../shared/traces/lirs). MCCACHE_NO_CAFFEINE=1 skips Java.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <set>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mccache.h"

namespace {

struct Run {
    const char* trace;
    size_t size;
};

// The capacities of the traces' README, for all twelve traces.
constexpr Run kRuns[] = {
    {"loop", 256},    {"loop", 512},    {"multi2", 600}, {"multi2", 1200}, {"sprite", 200},
    {"sprite", 800},  {"gli", 500},     {"gli", 1000},   {"2_pools", 500}, {"2_pools", 1000},
    {"cs", 200},      {"cs", 500},      {"cpp", 100},    {"cpp", 400},     {"ps", 300},
    {"ps", 1000},     {"multi1", 500},  {"multi1", 1000}, {"multi3", 800}, {"multi3", 1600},
    {"scan", 500},    {"scan", 1000},   {"zigzag", 500}, {"zigzag", 1000},
};
constexpr unsigned kShardCounts[] = {1, 4, 16};  // 1: the default for caches this small
// Caches (so seeds) per libmccache cell.
constexpr int kSeeds = 20;

// gzip text, one integer key per line. Decompressed by gzip(1) through a pipe
// rather than zlib so the bench needs no extra library.
bool load_trace(const std::string& path, std::vector<uint64_t>* keys) {
    std::string cmd = "gzip -dc '" + path + "'";
    FILE* in = popen(cmd.c_str(), "r");
    if (!in) return false;
    char line[128];
    while (std::fgets(line, sizeof line, in)) {
        char* end = nullptr;
        errno = 0;
        unsigned long long k = std::strtoull(line, &end, 10);
        if (end == line || errno) continue;  // blank or malformed line: not an access
        keys->push_back(k);
    }
    return pclose(in) == 0 && !keys->empty();
}

class ExactLru {
public:
    explicit ExactLru(size_t capacity) : capacity_(capacity) { index_.reserve(capacity * 2); }
    // True on a hit. A miss inserts the key, evicting the least recently used.
    bool access(uint64_t key) {
        auto it = index_.find(key);
        if (it != index_.end()) {
            order_.splice(order_.begin(), order_, it->second);
            return true;
        }
        order_.push_front(key);
        index_.emplace(key, order_.begin());
        if (order_.size() > capacity_) {
            index_.erase(order_.back());
            order_.pop_back();
        }
        return false;
    }

private:
    size_t capacity_;
    std::list<uint64_t> order_;
    std::unordered_map<uint64_t, std::list<uint64_t>::iterator> index_;
};

// Belady's optimum: on a miss with a full cache, drop the resident key
// whose next use is farthest away.
size_t opt_hits(const std::vector<uint64_t>& trace, size_t capacity) {
    std::vector<size_t> next(trace.size());
    std::unordered_map<uint64_t, size_t> seen;
    for (size_t i = trace.size(); i-- > 0;) {
        auto it = seen.find(trace[i]);
        next[i] = it == seen.end() ? SIZE_MAX : it->second;
        seen[trace[i]] = i;
    }
    std::set<std::pair<size_t, uint64_t>> by_next;  // (next use, key)
    std::unordered_map<uint64_t, size_t> resident;  // key -> its next use
    size_t hits = 0;
    for (size_t i = 0; i < trace.size(); ++i) {
        uint64_t k = trace[i];
        auto it = resident.find(k);
        if (it != resident.end()) {
            ++hits;
            by_next.erase({it->second, k});
        } else if (resident.size() == capacity) {
            auto last = std::prev(by_next.end());
            resident.erase(last->second);
            by_next.erase(last);
        }
        resident[k] = next[i];
        by_next.insert({next[i], k});
    }
    return hits;
}

[[noreturn]] void die(const char* what, int rc) {
    std::fprintf(stderr, "hitratio: %s: %s (%s)\n", what, mccache_err_name(rc), mccache_last_error());
    std::exit(1);
}

void check(int rc, const char* what) {
    if (rc != MCCACHE_OK) die(what, rc);
}

std::string cache_name(const Run& r, int seed) {
    return std::string(r.trace) + "-" + std::to_string(r.size) + "-" + std::to_string(seed);
}

// Counts hits of a read-through cache in front of the trace.
size_t replay_mccache(mccache_cache_t* cache, const std::vector<uint64_t>& trace, size_t* resident) {
    size_t hits = 0;
    for (uint64_t key : trace) {
        uint64_t value = 0;
        size_t len = sizeof value;
        int rc = mccache_get_copy(cache, &key, sizeof key, &value, &len);
        if (rc == MCCACHE_OK) {
            if (value != key) die("value does not match its key", MCCACHE_EINTERNAL);
            ++hits;
        } else if (rc == MCCACHE_ENOTFOUND) {
            check(mccache_put(cache, &key, sizeof key, &key, sizeof key, MCCACHE_TTL_NEVER), "put");
        } else {
            die("get_copy", rc);
        }
    }
    check(mccache_len(cache, resident), "len");
    return hits;
}

// The repository, found from this file's path so that the binary runs
// from any directory without a build-time definition.
std::string repo_dir() {
    std::string repo = __FILE__;
    for (int up = 0; up < 2; ++up) {
        size_t slash = repo.find_last_of('/');
        repo = slash == std::string::npos ? "." : repo.substr(0, slash);
    }
    return repo;
}

// Caffeine's ratios, with the trace's keys and with renamed keys (see
// bench/caffeine), from bench/caffeine/run.sh.
struct CaffeineRatio {
    double plain, relabeled;
};
std::map<std::pair<std::string, size_t>, CaffeineRatio> run_caffeine(const std::string& dir,
                                                                     const std::vector<Run>& runs) {
    std::map<std::pair<std::string, size_t>, CaffeineRatio> out;
    const char* skip = std::getenv("MCCACHE_NO_CAFFEINE");
    if (skip && *skip && std::strcmp(skip, "0") != 0) return out;
    std::string cmd = "'" + repo_dir() + "/bench/caffeine/run.sh' '" + dir + "' " + std::to_string(kSeeds);
    for (const Run& r : runs) cmd += " " + std::string(r.trace) + ":" + std::to_string(r.size);
    FILE* in = popen(cmd.c_str(), "r");
    if (!in) return out;
    char trace[64];
    size_t size;
    double plain, relabeled;
    while (std::fscanf(in, "%63s %zu %lf %lf", trace, &size, &plain, &relabeled) == 4)
        out[{trace, size}] = CaffeineRatio{plain, relabeled};
    if (pclose(in) != 0) std::fprintf(stderr, "hitratio: the Caffeine replay failed (see above)\n");
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    const char* env = std::getenv("MCCACHE_TRACES");
    std::string dir = argc > 1 ? argv[1] : env && *env ? env : repo_dir() + "/../shared/traces/lirs";
    if (argc > 2) {
        std::fprintf(stderr, "usage: hitratio [TRACE_DIR]\n");
        return 2;
    }

    std::map<std::string, std::vector<uint64_t>> traces;
    std::vector<Run> runs;
    int failures = 0;
    for (const Run& r : kRuns) {
        auto [it, fresh] = traces.try_emplace(r.trace);
        if (fresh && !load_trace(dir + "/" + r.trace + ".trace.gz", &it->second)) {
            std::fprintf(stderr, "hitratio: %s/%s.trace.gz: missing or unreadable\n", dir.c_str(), r.trace);
            ++failures;
        }
        if (!it->second.empty()) runs.push_back(r);
    }
    if (runs.empty()) {
        std::fprintf(stderr, "hitratio: no trace found in %s (give the directory as the argument "
                             "or in MCCACHE_TRACES)\n", dir.c_str());
        return 1;
    }
    auto caffeine = run_caffeine(dir, runs);

    // One node per shard count, one cache per run, each bounded by entries
    // only: the byte bound is far out of reach so that only cache_max decides.
    std::vector<mccache_t*> nodes;
    for (unsigned shards : kShardCounts) {
        mccache_config_t* cfg = nullptr;
        check(mccache_config_new(&cfg), "config_new");
        check(mccache_config_set(cfg, "cache_size", "1GiB"), "config cache_size");
        check(mccache_config_set(cfg, "cache_ttl", "0"), "config cache_ttl");
        check(mccache_config_set(cfg, "store_shards", std::to_string(shards).c_str()), "config store_shards");
        // The local engine alone: replication is measured by replication_bench.
        check(mccache_config_set(cfg, "transport", "none"), "config transport");
        for (const Run& r : runs) {
            for (int seed = 0; seed < kSeeds; ++seed) {
                std::string name = cache_name(r, seed);
                check(mccache_config_set(cfg, (name + ".cache_max").c_str(), std::to_string(r.size).c_str()),
                      "config NAME.cache_max");
                check(mccache_config_set(cfg, ("lru-" + name + ".cache_max").c_str(),
                                         std::to_string(r.size).c_str()),
                      "config NAME.cache_max");
                check(mccache_config_set(cfg, ("lru-" + name + ".eviction_policy").c_str(), "lru"),
                      "config NAME.eviction_policy");
            }
        }
        mccache_t* node = nullptr;
        check(mccache_open(cfg, &node), "open");
        mccache_config_free(cfg);
        nodes.push_back(node);
    }

    std::printf("| trace | accesses | size | OPT | LRU | libmccache lru | libmccache | (min-max) | Caffeine | "
                "vs Caffeine | Caffeine, renamed keys | vs renamed | x4 shards | x16 shards |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Run& r : runs) {
        const std::vector<uint64_t>& trace = traces[r.trace];
        double n = static_cast<double>(trace.size());
        ExactLru lru(r.size);
        size_t lru_hits = 0;
        for (uint64_t key : trace) lru_hits += lru.access(key);
        double opt = static_cast<double>(opt_hits(trace, r.size)) / n;

        double ours[3] = {0, 0, 0}, ours_lru = 0, lo = 1, hi = 0;
        for (size_t ni = 0; ni < nodes.size(); ++ni) {
            for (int policy = 0; policy < (ni == 0 ? 2 : 1); ++policy) {
                for (int seed = 0; seed < kSeeds; ++seed) {
                    std::string name = (policy ? "lru-" : "") + cache_name(r, seed);
                    mccache_cache_t* cache = nullptr;
                    check(mccache_cache_open(nodes[ni], name.c_str(), &cache), "cache_open");
                    size_t resident = 0;
                    double ratio = static_cast<double>(replay_mccache(cache, trace, &resident)) / n;
                    if (resident > r.size) {
                        std::fprintf(stderr, "hitratio: %s holds %zu entries, over cache_max %zu\n",
                                     name.c_str(), resident, r.size);
                        ++failures;
                    }
                    (policy ? ours_lru : ours[ni]) += ratio / kSeeds;
                    if (ni == 0 && !policy) {
                        lo = std::min(lo, ratio);
                        hi = std::max(hi, ratio);
                    }
                }
            }
        }
        auto c = caffeine.find({r.trace, r.size});
        char caf[16] = "-", diff[16] = "-", caf_r[16] = "-", diff_r[16] = "-";
        if (c != caffeine.end()) {
            std::snprintf(caf, sizeof caf, "%.4f", c->second.plain);
            std::snprintf(diff, sizeof diff, "%+.4f", ours[0] - c->second.plain);
            std::snprintf(caf_r, sizeof caf_r, "%.4f", c->second.relabeled);
            std::snprintf(diff_r, sizeof diff_r, "%+.4f", ours[0] - c->second.relabeled);
        }
        std::printf("| %s | %zu | %zu | %.4f | %.4f | %.4f | %.4f | %.4f-%.4f | %s | %s | %s | %s | %.4f | %.4f |\n",
                    r.trace, trace.size(), r.size, opt, lru_hits / n, ours_lru, ours[0], lo, hi, caf, diff,
                    caf_r, diff_r, ours[1], ours[2]);
        std::fflush(stdout);
    }
    for (mccache_t* node : nodes) check(mccache_close(node), "close");
    return failures ? 1 : 0;
}
