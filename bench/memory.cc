// Bytes per entry beyond the key and value: libmccache against
// absl::flat_hash_map<std::string, std::string>, by RSS growth and (for
// libmccache) by its own `bytes` metric. One configuration per process, so
// that one measurement's heap does not hide in another's.
//
// Usage: memory mccache|absl ENTRIES VALUE_BYTES [CACHE_TTL]
// With CACHE_TTL (e.g. 15m), libmccache's puts take the cache's default TTL
// instead of none: an expiry the entry keeps at no cost (store/entry.h).
#include <absl/container/flat_hash_map.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mccache.h"

namespace {

long rss_kib() {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
    std::fclose(f);
    return kib;
}

// Exactly 16 bytes (the counts used keep to 12 digits).
void key_of(size_t i, char* out) {
    char tmp[32];
    std::snprintf(tmp, sizeof tmp, "key:%012zu", i);
    std::memcpy(out, tmp, 16);
}

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "memory: %s: %s\n", what, mccache_last_error());
    std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: memory mccache|absl ENTRIES VALUE_BYTES [CACHE_TTL]\n");
        return 2;
    }
    const char* ttl = argc == 5 ? argv[4] : nullptr;
    std::string impl = argv[1];
    size_t n = std::strtoull(argv[2], nullptr, 10), vlen = std::strtoull(argv[3], nullptr, 10);
    std::string value(vlen, 'v');
    char key[17];
    double payload = 16.0 + static_cast<double>(vlen);
    if (impl == "absl") {
        long before = rss_kib();
        absl::flat_hash_map<std::string, std::string> map;
        for (size_t i = 0; i < n; ++i) {
            key_of(i, key);
            map.emplace(std::string(key, 16), value);
        }
        long after = rss_kib();
        std::printf("absl %zu %zu rss_overhead %.1f\n", n, vlen,
                    (after - before) * 1024.0 / static_cast<double>(n) - payload);
        return 0;
    }
    if (impl != "mccache") return 2;
    mccache_config_t* cfg = nullptr;
    if (mccache_config_new(&cfg) != MCCACHE_OK) die("config");
    mccache_config_set(cfg, "transport", "none");
    mccache_config_set(cfg, "cache_ttl", ttl ? ttl : "0");
    mccache_config_set(cfg, "cache_size", "1TiB");
    mccache_config_set(cfg, "cache_max", std::to_string(n).c_str());
    mccache_t* node = nullptr;
    if (mccache_open(cfg, &node) != MCCACHE_OK) die("open");
    mccache_config_free(cfg);
    mccache_cache_t* cache = nullptr;
    if (mccache_cache_open(node, "m", &cache) != MCCACHE_OK) die("cache_open");
    long before = rss_kib();
    for (size_t i = 0; i < n; ++i) {
        key_of(i, key);
        if (mccache_put(cache, key, 16, value.data(), vlen, ttl ? MCCACHE_TTL_DEFAULT : MCCACHE_TTL_NEVER) !=
            MCCACHE_OK)
            die("put");
    }
    long after = rss_kib();
    size_t len = 0;
    mccache_len(cache, &len);
    char* json = nullptr;
    double bytes = 0;
    if (mccache_metrics_json(node, &json) == MCCACHE_OK && json) {
        const char* p = std::strstr(json, "\"bytes\":");
        if (p) bytes = std::strtod(p + 8, nullptr);
        mccache_free(json);
    }
    std::printf("mccache %zu %zu%s%s rss_overhead %.1f bytes_overhead %.1f held %zu\n", n, vlen,
                ttl ? " ttl " : "", ttl ? ttl : "",
                (after - before) * 1024.0 / static_cast<double>(n) - payload,
                bytes / static_cast<double>(len) - payload, len);
    mccache_close(node);
    return 0;
}
