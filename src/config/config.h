// Config: the settings of one node, gathered from defaults, an INI file, the
// environment and API setters. Each value remembers its source, and a source
// of lower precedence never overwrites one of higher precedence, so the calls
// may come in any order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/parse.h"
#include "config/schema.h"

namespace mccache::config {

enum class Source : int { Default = 0, File = 1, Env = 2, Api = 3 };  // precedence order

struct CacheSettings {
    int64_t ttl_ms = 0;  // 0 = never expires
    uint64_t max_entries = 0;
    uint64_t max_bytes = 0;
    int mode = 0;  // MCCACHE_MODE_*
    int eviction_policy = 0;  // store::EvictionPolicy
    // Loaders (src/node/loads.h).
    int64_t load_lease_ms = 0, refresh_after_ms = 0, stale_while_revalidate_ms = 0, stale_if_error_ms = 0,
            negative_ttl_ms = 0;
    // Namespace (Cache::scope, src/node/cache.h).
    std::string key_prefix;
    uint64_t key_version = 0;
};

struct NodeSettings {
    std::string interface_addr;
    uint64_t node_id = 0;  // 0 = pick a random id at open
    std::string cluster_name;
    std::string multicast_group;  // address only; the port is in multicast_port
    uint16_t multicast_port = 0;
    int multicast_hops = 0;
    std::string peers;             // canonical "host:port,..."
    std::vector<Peer> peer_list;   // the same, split
    uint32_t packet_mtu = 0;  // 0: the interface's (transport::Udp::interface_payload())
    std::string crypto_key_b64;            // validated; empty = no encryption
    std::vector<unsigned char> crypto_key;  // decoded: 32 bytes or empty
    std::vector<unsigned char> crypto_key_accept;  // decoded: 32 bytes or empty
    bool require_encryption = false;
    bool send_direct = false;  // writers send on their own thread when the stream is idle
    int64_t pulse_ms = 0, callback_win_ms = 0, housekeeper_ms = 0, tombstone_ttl_ms = 0;
    std::string log_filename;  // empty = stderr
    int log_format = 0;        // 0 text, 1 json
    int log_level = 0;         // MCCACHE_LOG_*
    uint64_t max_key_size = 0, max_value_size = 0;
    uint64_t event_queue_max = 0;
    uint16_t listen_port = 0;
    std::string transport_mode;  // "multicast", "unicast" or "none" (auto resolved)
    int64_t heartbeat_ms = 0, member_timeout_ms = 0, member_forget_ms = 0, nack_delay_ms = 0, reassembly_timeout_ms = 0;
    uint64_t retransmit_buffer = 0, reassembly_buffer = 0, send_queue_max = 0;
    uint64_t socket_buffer = 0;  // SO_RCVBUF/SO_SNDBUF asked per socket
    int fault_drop = 0, fault_drop_recv = 0, fault_duplicate = 0, fault_delay = 0;
    int64_t fault_delay_max_ms = 0;
    uint64_t fault_seed = 0;
    uint32_t store_shards = 0;  // 0 = auto
    CacheSettings cache_defaults;
    std::map<std::string, CacheSettings, std::less<>> caches;  // per-cache overrides, fully resolved

    const CacheSettings& for_cache(std::string_view name) const;  // override or defaults
};

class Config {
   public:
    Config();  // all defaults

    // `key` is a setting name, or "NAME.key" for cache NAME (aliases ttl, max_entries,
    // max_bytes, mode allowed there). An empty `origin` becomes "api" (or the source's name).
    Status set(std::string_view key, std::string_view value, Source src, std::string origin);

    // INI via inih. All or nothing: on any error nothing changes. Origins "file:PATH:LINE".
    Status load_file(const std::string& path);

    // MCCACHE_<UPPER_KEY> from a NULL-terminated "NAME=VALUE" array. Origins
    // "env:MCCACHE_X". All or nothing; unknown MCCACHE_* variables are ignored
    // and listed in ignored_env().
    Status load_env(char** envp);

    // Effective value as canonical text (it parses back to the same value).
    // Secrets read "(set)" or "".
    Status get_text(std::string_view key, std::string* out) const;

    // Typed values plus the checks that span several settings.
    Status resolve(NodeSettings* out) const;

    // {"node":{"KEY":{"value":V,"source":S}},"caches":{"NAME":{...}}}; secrets masked.
    // Throws std::bad_alloc when out of memory.
    std::string to_json() const;

    // MCCACHE_* variables that the last load_env() did not recognise.
    const std::vector<std::string>& ignored_env() const { return ignored_env_; }

    // One value to apply, already parsed; `cache` is empty for node scope.
    struct Change {
        std::string cache;
        const Setting* setting;
        Value value;
        std::string origin;
    };

    struct Effective {
        const Value* value;
        Source source;
        std::string_view origin;  // "default" for a built-in default
    };

    // The value used for `s` (in cache `cache`, or node scope when empty).
    Effective effective(std::string_view cache, const Setting& s) const;

    // Names of the caches that have at least one setting of their own.
    std::vector<std::string> cache_names() const;

   private:
    struct Slot {
        Value value;
        Source source;
        std::string origin;
    };
    using Slots = std::map<std::string, Slot, std::less<>>;  // by canonical setting name

    Status lookup_key(std::string_view key, std::string_view where, std::string* cache,
                      const Setting** s) const;
    void apply(Change change, Source src);

    Slots node_;
    std::map<std::string, Slots, std::less<>> caches_;
    std::vector<std::string> ignored_env_;
};

const char* source_name(Source src);  // "default", "file", "env", "api"

}  // namespace mccache::config
