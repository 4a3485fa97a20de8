// Hit ratio of libmccache's eviction next to exact LRU on the LIRS traces.
//
// The issue allows an approximate LRU (CLOCK, sampling, per-shard lists) on
// condition that its hit ratio is documented next to exact LRU; this replays
// each trace as a read-through cache (get; on a miss, put) through the public
// C API and through an exact LRU in the same run, and prints a markdown
// table. The reference LRU and optimal columns come from the traces' README,
// computed by an independent simulator, so the exact-LRU column checks itself.
//
// Usage: hitratio [TRACE_DIR]   (default: <repo>/../shared/traces/lirs)
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <list>
#include <map>
#include <sstream>
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

// The sizes of the traces' README, then three more traces at sizes of the
// same order (a tenth to a third of their distinct keys).
constexpr Run kRuns[] = {
    {"loop", 256},    {"loop", 512},     {"multi2", 600}, {"multi2", 1200}, {"sprite", 200},
    {"sprite", 800},  {"gli", 500},      {"gli", 1000},   {"2_pools", 500}, {"2_pools", 1000},
    {"cs", 200},      {"cs", 500},       {"cpp", 100},    {"cpp", 400},     {"ps", 300},
    {"ps", 1000},
};

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

// "| trace | size | LRU | optimal |" rows of the traces' README.
std::map<std::pair<std::string, size_t>, std::pair<std::string, std::string>> load_reference(
    const std::string& readme) {
    std::map<std::pair<std::string, size_t>, std::pair<std::string, std::string>> ref;
    std::ifstream in(readme);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, '|')) {
            size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
            cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
        }
        // A leading '|' yields an empty first cell.
        if (cells.size() < 5 || !cells[0].empty()) continue;
        char* end = nullptr;
        unsigned long size = std::strtoul(cells[2].c_str(), &end, 10);
        if (end == cells[2].c_str() || *end) continue;  // the header or the separator row
        ref[{cells[1], size}] = {cells[3], cells[4]};
    }
    return ref;
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

[[noreturn]] void die(const char* what, int rc) {
    std::fprintf(stderr, "hitratio: %s: %s (%s)\n", what, mccache_err_name(rc), mccache_last_error());
    std::exit(1);
}

void check(int rc, const char* what) {
    if (rc != MCCACHE_OK) die(what, rc);
}

std::string cache_name(const Run& r) { return std::string(r.trace) + "-" + std::to_string(r.size); }

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

// <repo>/../shared/traces/lirs, found from this file's path so that the
// binary runs from any directory without a build-time definition.
std::string default_dir() {
    std::string repo = __FILE__;
    for (int up = 0; up < 2; ++up) {
        size_t slash = repo.find_last_of('/');
        repo = slash == std::string::npos ? "." : repo.substr(0, slash);
    }
    return repo + "/../shared/traces/lirs";
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = argc > 1 ? argv[1] : default_dir();
    auto reference = load_reference(dir + "/../README.md");

    std::map<std::string, std::vector<uint64_t>> traces;
    std::vector<Run> runs;
    for (const Run& r : kRuns) {
        auto [it, fresh] = traces.try_emplace(r.trace);
        if (fresh && !load_trace(dir + "/" + r.trace + ".trace.gz", &it->second))
            std::fprintf(stderr, "hitratio: %s/%s.trace.gz: missing or unreadable, skipped\n",
                         dir.c_str(), r.trace);
        if (!it->second.empty()) runs.push_back(r);
    }
    if (runs.empty()) {
        std::fprintf(stderr, "hitratio: no trace found in %s\n", dir.c_str());
        return 1;
    }

    // One node, one cache per run, each bounded by entries only: the byte
    // bound is set far out of reach so that only cache_max decides eviction.
    mccache_config_t* cfg = nullptr;
    check(mccache_config_new(&cfg), "config_new");
    check(mccache_config_set(cfg, "cache_size", "1GiB"), "config cache_size");
    check(mccache_config_set(cfg, "cache_ttl", "0"), "config cache_ttl");
    // The local engine alone: replication is measured by replication_bench.
    check(mccache_config_set(cfg, "transport", "none"), "config transport");
    for (const Run& r : runs)
        check(mccache_config_set(cfg, (cache_name(r) + ".cache_max").c_str(),
                                 std::to_string(r.size).c_str()),
              "config NAME.cache_max");
    mccache_t* node = nullptr;
    check(mccache_open(cfg, &node), "open");
    mccache_config_free(cfg);

    std::printf("| trace | accesses | cache size | exact LRU | libmccache | difference | "
                "reference LRU | optimal |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    int failures = 0;
    for (const Run& r : runs) {
        const std::vector<uint64_t>& trace = traces[r.trace];
        ExactLru lru(r.size);
        size_t lru_hits = 0;
        for (uint64_t key : trace) lru_hits += lru.access(key);

        mccache_cache_t* cache = nullptr;
        check(mccache_cache_open(node, cache_name(r).c_str(), &cache), "cache_open");
        size_t resident = 0;
        size_t mc_hits = replay_mccache(cache, trace, &resident);
        if (resident > r.size) {
            std::fprintf(stderr, "hitratio: %s holds %zu entries, over cache_max %zu\n",
                         cache_name(r).c_str(), resident, r.size);
            ++failures;
        }

        double n = static_cast<double>(trace.size());
        double exact = lru_hits / n, mc = mc_hits / n;
        auto ref = reference.find({r.trace, r.size});
        std::printf("| %s | %zu | %zu | %.4f | %.4f | %+.4f | %s | %s |\n", r.trace, trace.size(),
                    r.size, exact, mc, mc - exact,
                    ref == reference.end() ? "-" : ref->second.first.c_str(),
                    ref == reference.end() ? "-" : ref->second.second.c_str());
    }
    check(mccache_close(node), "close");
    return failures ? 1 : 0;
}
