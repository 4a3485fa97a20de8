#include "config/schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "config/parse.h"

namespace mccache::config {
namespace {

constexpr uint64_t kMs = 1;
constexpr uint64_t kSec = 1000 * kMs;
constexpr uint64_t kMin = 60 * kSec;
constexpr uint64_t kHour = 60 * kMin;
constexpr uint64_t kDay = 24 * kHour;
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kTiB = 1024 * 1024 * kMiB;

constexpr EnumValue kLogFormats[] = {{"text", 0}, {"json", 1}};
constexpr EnumValue kBools[] = {{"false", 0}, {"true", 1}, {"off", 0}, {"on", 1}, {"0", 0}, {"1", 1},
                                {"no", 0}, {"yes", 1}};
constexpr EnumValue kTransports[] = {{"auto", 0}, {"multicast", 1}, {"unicast", 2}, {"none", 3}};
// Values are MCCACHE_LOG_*; "warning" is accepted for people used to syslog names.
constexpr EnumValue kLogLevels[] = {
    {"error", 0}, {"warn", 1}, {"warning", 1}, {"info", 2}, {"debug", 3}};
// Values are MCCACHE_MODE_*; McCache documented the modes as 0 and 1.
constexpr EnumValue kModes[] = {{"update", 0},    {"0", 0},          {"replicate", 1},
                                {"1", 1},         {"invalidate", 2}};

// Values are store::EvictionPolicy.
constexpr EnumValue kEvictionPolicies[] = {{"tinylfu", 0}, {"lru", 1}};

const Setting kSettings[] = {
    // --- node: network identity -------------------------------------------------
    {"interface", Type::Ip, Scope::Node, "127.0.0.1", 0, 0, {},
     "Address of the local interface used for multicast and unicast traffic. The default "
     "keeps a cluster on one host; talking to other hosts is an explicit choice."},
    {"node_id", Type::Int, Scope::Node, "0", 0, UINT64_MAX, {},
     "64-bit id of this node, the tie-break of versions. 0 picks a random id at open."},
    {"cluster_name", Type::String, Scope::Node, "mccache", 1, 64, {},
     "Name of the cluster; packets from another cluster are dropped and counted."},
    {"multicast_ip", Type::Group, Scope::Node, "239.255.42.42", 0, 0, {},
     "Multicast group, as GROUP or GROUP:PORT (McCache's form; [V6]:PORT for IPv6). A port "
     "given here overrides multicast_port from a lower-precedence source."},
    {"multicast_port", Type::Int, Scope::Node, "4000", 1, 65535, {},
     "UDP port of the multicast group."},
    {"multicast_hops", Type::Int, Scope::Node, "1", 1, 255, {},
     "Multicast TTL (hop limit). 1 keeps packets on the local network."},
    {"peers", Type::Peers, Scope::Node, "", 0, 0, {},
     "Unicast peers as host:port,host:port (IPv6 as [addr]:port), for networks without "
     "multicast. Empty means multicast only."},
    {"packet_mtu", Type::Int, Scope::Node, "0", 576, 65507, {},
     "Largest UDP payload sent, in bytes; larger messages are fragmented. 0 takes the MTU of "
     "the interface that holds interface_addr, less the IP and UDP headers (1472 on Ethernet, "
     "1452 with IPv6, 65507 on loopback), or 1472 (1452) when interface_addr is a wildcard. "
     "Each member chooses its own; metrics show the one in force.",
     false, nullptr, "MTU", Check::ZeroOrRange},
    {"crypto_key", Type::Key32, Scope::Node, "", 0, 0, {},
     "AES-256-GCM key: base64 of exactly 32 bytes (openssl rand -base64 32). Empty means "
     "no encryption. Never shown back: reads as \"(set)\" or \"\".",
     true},
    {"crypto_key_accept", Type::Key32, Scope::Node, "", 0, 0, {},
     "A second AES-256-GCM key accepted on receive but never used to send, for rotation "
     "without downtime (docs/SECURITY.md). Never shown back.",
     true},
    {"require_encryption", Type::Enum, Scope::Node, "false", 0, 0, kBools,
     "When true, a node refuses to open without crypto_key. (A node with a key always drops "
     "datagrams that are not sealed, counted as rejected.plaintext.)"},
    // --- node: timers ----------------------------------------------------------
    {"cache_pulse", Type::Duration, Scope::Node, "30s", 100 * kMs, 1 * kDay, {},
     "Period of the anti-entropy round (McCache's pulse): each member publishes its "
     "digests and repairs what differs."},
    {"callback_win", Type::Duration, Scope::Node, "0", 0, 1 * kDay, {},
     "McCache's lookup window: when > 0, change callbacks only report keys looked up on "
     "this node within this time before the change. 0 reports every change."},
    {"daemon_sleep", Type::Duration, Scope::Node, "1s", 10 * kMs, 60 * kSec, {},
     "Period of the housekeeper, which expires entries eagerly and collects tombstones."},
    {"tombstone_ttl", Type::Duration, Scope::Node, "10m", 1 * kSec, 7 * kDay, {},
     "How long a delete's tombstone is kept, so that older writes still in flight lose. "
     "Must be at least cache_pulse."},
    // --- node: logging -----------------------------------------------------------
    {"log_filename", Type::String, Scope::Node, "", 0, 4096, {},
     "File that log lines are appended to. Empty means stderr."},
    {"log_format", Type::Enum, Scope::Node, "text", 0, 0, kLogFormats,
     "Format of log lines: text, or json (one object per line)."},
    {"log_level", Type::Enum, Scope::Node, "warn", 0, 0, kLogLevels,
     "Most verbose level that is logged."},
    {"transport", Type::Enum, Scope::Node, "auto", 0, 0, kTransports,
     "How members reach each other: multicast (the group), unicast (the peers list), none "
     "(a purely local cache), or auto: unicast when peers is set, else multicast."},
    {"listen_port", Type::Int, Scope::Node, "0", 0, 65535, {},
     "UDP port of this node's unicast socket (replies, repairs, and all traffic when peers "
     "is set). 0 picks a free port; with peers, set it to this node's own entry."},
    // --- node: reliability and membership ----------------------------------------
    {"heartbeat_interval", Type::Duration, Scope::Node, "250ms", 10 * kMs, 1 * kMin, {},
     "Period of heartbeats, which carry the last sequence number so a lost tail is noticed."},
    {"member_timeout", Type::Duration, Scope::Node, "3s", 50 * kMs, 1 * kHour, {},
     "A member silent this long is declared down; one that comes back is resynchronised "
     "by anti-entropy at once."},
    {"member_forget", Type::Duration, Scope::Node, "1m", 1 * kSec, 1 * kDay, {},
     "A member down or gone this long is forgotten (and at least 10 x member_timeout). A forgotten "
     "member is heard again only once it answers a challenge, like a new one."},
    {"nack_delay", Type::Duration, Scope::Node, "5ms", 1 * kMs, 10 * kSec, {},
     "How long a receiver waits for a missing message before asking for it again."},
    {"retransmit_buffer", Type::Size, Scope::Node, "16MiB", 64 * kKiB, 4096 * kMiB, {},
     "Bytes of sent messages kept for retransmission; older gaps are repaired by "
     "anti-entropy instead."},
    {"reassembly_buffer", Type::Size, Scope::Node, "64MiB", 1 * kMiB, 4096 * kMiB, {},
     "Bytes held for partly received fragmented messages, across all senders."},
    {"reassembly_timeout", Type::Duration, Scope::Node, "5s", 10 * kMs, 10 * kMin, {},
     "A fragmented message still incomplete after this long is dropped (and repaired)."},
    {"send_direct", Type::Enum, Scope::Node, "false", 0, 0, kBools,
     "When true, a write made while the replication stream is idle is sent on the writing "
     "thread (one non-blocking sendto inside mccache_put) instead of waking the loop thread: "
     "replication latency about halves, for a system call in an idle put and up to ~10 % "
     "less peak throughput with small values (bench/README.md). Bursts still go through the "
     "loop's batches."},
    {"socket_buffer", Type::Size, Scope::Node, "4MiB", 64 * kKiB, 1024 * kMiB, {},
     "Receive and send buffer asked of the kernel for each socket (SO_RCVBUF, SO_SNDBUF): "
     "room for bursts while the loop thread is busy. The kernel caps it at net.core.rmem_max "
     "and wmem_max; a warning says so, and metrics show what was granted."},
    {"send_queue_max", Type::Size, Scope::Node, "64MiB", 64 * kKiB, 4096 * kMiB, {},
     "Bytes of writes waiting for the loop thread. Past this, a write is applied locally "
     "and reaches the peers by anti-entropy (counted as send_queue_overflow)."},
    // --- node: fault injection (tests only) ---------------------------------------
    {"fault_drop", Type::Int, Scope::Node, "0", 0, 100, {},
     "Tests only: percentage of outgoing datagrams dropped."},
    {"fault_drop_recv", Type::Int, Scope::Node, "0", 0, 100, {},
     "Tests only: percentage of incoming datagrams dropped."},
    {"fault_duplicate", Type::Int, Scope::Node, "0", 0, 100, {},
     "Tests only: percentage of outgoing datagrams sent twice."},
    {"fault_delay", Type::Int, Scope::Node, "0", 0, 100, {},
     "Tests only: percentage of outgoing datagrams held back (reordering them)."},
    {"fault_delay_max", Type::Duration, Scope::Node, "20ms", 1 * kMs, 10 * kSec, {},
     "Tests only: the longest hold of a delayed datagram."},
    {"fault_seed", Type::Int, Scope::Node, "0", 0, UINT64_MAX, {},
     "Tests only: seed of the fault injector, so a failing run can be replayed. 0 picks one "
     "(and logs it)."},
    // --- node: limits ------------------------------------------------------------
    {"max_key_size", Type::Size, Scope::Node, "4KiB", 1, 1 * kMiB, {},
     "Largest key accepted; a longer key is an error (MCCACHE_ETOOBIG)."},
    {"max_value_size", Type::Size, Scope::Node, "1MiB", 1, 64 * kMiB, {},
     "Largest value accepted; a larger value is an error (MCCACHE_ETOOBIG), never kept "
     "local silently. Must not exceed any cache's cache_size."},
    {"event_queue_max", Type::Int, Scope::Node, "65536", 16, 16777216, {},
     "Change events queued for a slow callback before further events are dropped and "
     "counted."},
    {"store_shards", Type::Int, Scope::Node, "0", 0, 1024, {},
     "Lock shards per cache: 0 picks from cache_max (one per 4096 entries, up to 64), "
     "else a power of two.",
     false, nullptr, nullptr, Check::PowerOfTwoOrZero},
    // --- per cache ---------------------------------------------------------------
    {"cache_ttl", Type::Duration, Scope::Cache, "1h", 0, 3650 * kDay, {},
     "Time to live of an entry since its last write, when a put asks for the default. "
     "0 means entries never expire.",
     false, "ttl", "TTL"},
    {"cache_max", Type::Int, Scope::Cache, "65536", 1, uint64_t{1} << 40, {},
     "Maximum number of entries; beyond it, eviction_policy picks which to give up.",
     false, "max_entries"},
    {"cache_size", Type::Size, Scope::Cache, "64MiB", 4 * kKiB, 1 * kTiB, {},
     "Maximum bytes, counting keys, values and per-entry overhead; beyond it, "
     "eviction_policy picks which entries to give up.",
     false, "max_bytes"},
    {"cache_mode", Type::Enum, Scope::Cache, "replicate", 0, 0, kModes,
     "Coherence mode: 1 or replicate (every write everywhere), 0 or update (a remote "
     "write applies only where the key is present), invalidate (a remote write drops "
     "the local copy).",
     false, "mode"},
    {"eviction_policy", Type::Enum, Scope::Cache, "tinylfu", 0, 0, kEvictionPolicies,
     "Which entry a full cache gives up. tinylfu: adaptive W-TinyLFU, as in Caffeine (a "
     "recency window in front of a frequency-filtered main space, sized by a hill climber): "
     "it resists scans and one-time keys. lru: the least recently used entry. Each member "
     "admits and evicts by its own reads."},
    // --- per cache: loaders (mccache_get_or_load) ------------------------------------
    {"load_lease", Type::Duration, Scope::Cache, "10s", 10 * kMs, 1 * kHour, {},
     "How long a member's claim to load a missing key holds the other members off (they wait "
     "for its value). When it runs out, or its holder goes down, another member loads. Make it "
     "longer than the slowest load."},
    {"refresh_after", Type::Duration, Scope::Cache, "0", 0, 3650 * kDay, {},
     "Refresh-ahead: get_or_load still serves an entry written longer ago than this, and one "
     "reload per cluster starts (in the background with a registered loader). 0: off."},
    {"stale_while_revalidate", Type::Duration, Scope::Cache, "0", 0, 7 * kDay, {},
     "For this long after its TTL an entry is still served by get_or_load while one reload "
     "per cluster runs. Entries are kept this much longer; plain gets do not see them."},
    {"stale_if_error", Type::Duration, Scope::Cache, "0", 0, 7 * kDay, {},
     "For this long after its TTL, get_or_load serves an entry when the reload fails or times "
     "out, rather than the error."},
    {"negative_ttl", Type::Duration, Scope::Cache, "0", 0, 1 * kDay, {},
     "How long every member remembers a loader's failure for a key: get_or_load returns it "
     "without loading again. 0: failures are not cached."},
    {"key_prefix", Type::String, Scope::Cache, "", 0, 255, {},
     "Namespace: stored keys are key_prefix, key_version, the generation and the key. With a "
     "prefix or a version set, mccache_namespace_bump() invalidates the cache cluster-wide at "
     "O(1) cost."},
    {"key_version", Type::Int, Scope::Cache, "0", 0, UINT32_MAX, {},
     "Namespace version chosen by the application (as Cacheme's): changing it makes the entries "
     "written under another version unreachable."},
};

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::span<const Setting> settings() { return kSettings; }

const Setting* find(std::string_view name) {
    for (const Setting& s : kSettings)
        if (iequals(s.name, name)) return &s;
    return nullptr;
}

const Setting* find_cache_key(std::string_view name) {
    for (const Setting& s : kSettings) {
        if (s.scope != Scope::Cache) continue;
        if (iequals(s.name, name) || (s.section_alias && iequals(s.section_alias, name)))
            return &s;
    }
    return nullptr;
}

size_t index_of(const Setting& s) { return static_cast<size_t>(&s - kSettings); }

std::string env_name(const Setting& s) {
    std::string out = "MCCACHE_";
    for (const char* p = s.name; *p; ++p)
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
    return out;
}

std::string suggest(std::string_view unknown, bool cache_section) {
    if (const Setting* s = find_cache_key(unknown); s && !cache_section) return s->name;
    // Allow about one typo per three characters, so "ttl" does not suggest "mtu".
    size_t best = std::max<size_t>(1, unknown.size() / 3) + 1;
    std::string found;
    auto consider = [&](const char* candidate) {
        if (!candidate) return;
        size_t d = edit_distance(unknown, candidate);
        if (d < best) {
            best = d;
            found = candidate;
        }
    };
    for (const Setting& s : kSettings) {
        if (cache_section && s.scope != Scope::Cache) continue;
        consider(s.name);
        if (cache_section) consider(s.section_alias);
    }
    return found;
}

namespace {

// The code point at s[*i] (advancing *i), or -1 for a byte sequence that is
// not well-formed UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated).
int32_t next_code_point(std::string_view s, size_t* i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(*i);
    size_t len;
    int32_t cp, min;
    if (c < 0x80) return ++*i, c;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return -1;
    if (*i + len > s.size()) return -1;
    for (size_t k = 1; k < len; ++k) {
        if ((b(*i + k) & 0xC0) != 0x80) return -1;
        cp = cp << 6 | (b(*i + k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    *i += len;
    return cp;
}

}  // namespace

bool valid_cache_name(std::string_view name, std::string* why) {
    if (name.empty() || name.size() > kMaxCacheName) {
        *why = "a cache name must be 1 to " + std::to_string(kMaxCacheName) + " bytes";
        return false;
    }
    if (name.find('.') != std::string_view::npos) {
        *why = "a cache name must not contain '.'";
        return false;
    }
    // Names reach JSON (metrics, checksums) and log lines, from the API and
    // from the network: they must be text, and text that cannot forge a line.
    for (size_t i = 0; i < name.size();) {
        const size_t at = i;
        const int32_t cp = next_code_point(name, &i);
        if (cp < 0) {
            *why = "a cache name must be valid UTF-8 (byte " + std::to_string(at) + " is not)";
            return false;
        }
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
            *why = "a cache name must not contain control characters (byte " + std::to_string(at) + ")";
            return false;
        }
    }
    return true;
}

std::string display_key(std::string_view cache, const Setting& s) {
    if (cache.empty()) return s.name;
    return std::string(cache) + "." + s.name;
}

std::string unknown_key_message(std::string_view name, std::string_view where,
                                bool cache_section) {
    std::string msg = "unknown key " + quote(name);
    if (!where.empty()) msg += " " + std::string(where);
    if (std::string hint = suggest(name, cache_section); !hint.empty())
        msg += " (did you mean " + hint + "?)";
    return msg;
}

}  // namespace mccache::config
