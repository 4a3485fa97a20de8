// The one table of settings. Everything else (parsing, the Config class, the
// generated docs/CONFIG.md) reads it, so a setting exists exactly once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mccache::config {

enum class Type {
    Int,       // plain unsigned integer
    Duration,  // stored in milliseconds; a plain number means seconds
    Size,      // stored in bytes; binary units
    Enum,      // one of `choices`
    String,    // free text; min/max bound its length in bytes
    Ip,        // IPv4 or IPv6 address literal
    Group,     // multicast group, optionally with ":port"
    Peers,     // comma-separated host:port list
    Key32,     // base64 of exactly 32 bytes, or empty
};

enum class Scope {
    Node,   // one value per node, in [mccache]
    Cache,  // in [mccache] the default for every cache; in [NAME] for cache NAME
};

// Extra rule beyond [min, max].
enum class Check {
    None,
    PowerOfTwoOrZero,
    ZeroOrRange,  // 0 (automatic) or a value in [min, max]
};

struct EnumValue {
    const char* name;  // the first name of each value is its canonical spelling
    int value;
};

struct Setting {
    const char* name;
    Type type;
    Scope scope;
    const char* default_text;
    uint64_t min;  // Int: value; Duration: ms; Size: bytes; String: length
    uint64_t max;
    std::span<const EnumValue> choices;
    const char* doc;
    bool secret = false;
    const char* section_alias = nullptr;  // short name accepted for a single cache
    const char* env_alias = nullptr;      // McCache's extra variable, without "MCCACHE_"
    Check check = Check::None;
};

std::span<const Setting> settings();

// By canonical name, case-insensitive; nullptr if unknown.
const Setting* find(std::string_view name);

// A cache-scope setting by canonical name or section alias; nullptr otherwise.
const Setting* find_cache_key(std::string_view name);

// Position of `s` in settings(); used to index per-setting tables.
size_t index_of(const Setting& s);

// "MCCACHE_" + upper-case name.
std::string env_name(const Setting& s);

// The closest known name within a small edit distance, or "" if none is close.
// `cache_section` limits the candidates to what a [NAME] section accepts.
std::string suggest(std::string_view unknown, bool cache_section);

// 1 to kMaxCacheName bytes of well-formed UTF-8, with no '.' and no control
// character (C0, DEL, C1; so no NUL and no newline). On failure `why` says
// what is wrong.
bool valid_cache_name(std::string_view name, std::string* why);

// "cache_ttl" for the all-caches default, "NAME.cache_ttl" for one cache.
std::string display_key(std::string_view cache, const Setting& s);

// `unknown key "NAME" WHERE (did you mean X?)`; `where` may be empty.
std::string unknown_key_message(std::string_view name, std::string_view where,
                                bool cache_section);

inline constexpr std::string_view kNodeSection = "mccache";
inline constexpr size_t kMaxCacheName = 255;

}  // namespace mccache::config
