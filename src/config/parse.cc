#include "config/parse.h"

#include <arpa/inet.h>
#include <mbedtls/base64.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iterator>

namespace mccache::config {
namespace {

struct Unit {
    const char* name;
    uint64_t mult;
};

// Longest names first so that "ms" is not read as "m" followed by junk.
constexpr Unit kDurationUnits[] = {{"ms", 1},          {"s", 1000},       {"m", 60'000},
                                   {"h", 3'600'000},   {"d", 86'400'000}, {"", 1000}};
constexpr Unit kSizeUnits[] = {
    {"kib", 1ull << 10}, {"mib", 1ull << 20}, {"gib", 1ull << 30}, {"tib", 1ull << 40},
    {"kb", 1ull << 10},  {"mb", 1ull << 20},  {"gb", 1ull << 30},  {"tb", 1ull << 40},
    {"k", 1ull << 10},   {"m", 1ull << 20},   {"g", 1ull << 30},   {"t", 1ull << 40},
    {"b", 1},            {"", 1}};

constexpr const char* kDurationNames[] = {"d", "h", "m", "s", "ms"};
constexpr uint64_t kDurationMults[] = {86'400'000, 3'600'000, 60'000, 1000, 1};
constexpr const char* kSizeNames[] = {"TiB", "GiB", "MiB", "KiB"};
constexpr uint64_t kSizeMults[] = {1ull << 40, 1ull << 30, 1ull << 20, 1ull << 10};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// NUMBER[.FRACTION] then optional blanks then a unit from `units`; the result
// must be a whole number of the base unit.
template <size_t N>
NumStatus parse_scaled(std::string_view text, const Unit (&units)[N], uint64_t* out) {
    size_t i = 0;
    bool overflow = false;
    unsigned __int128 whole = 0;
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
        if (whole > UINT64_MAX) {
            overflow = true;
            whole = UINT64_MAX;
        }
        ++i;
        ++digits;
    }
    if (digits == 0) return NumStatus::Invalid;
    uint64_t frac = 0, frac_scale = 1;
    if (i < text.size() && text[i] == '.') {
        ++i;
        size_t fdigits = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            if (fdigits == 18) return NumStatus::Invalid;  // beyond any unit's precision
            frac = frac * 10 + static_cast<unsigned>(text[i] - '0');
            frac_scale *= 10;
            ++i;
            ++fdigits;
        }
        if (fdigits == 0) return NumStatus::Invalid;
    }
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::string_view unit = text.substr(i);
    const Unit* found = nullptr;
    for (const Unit& u : units)
        if (iequals(unit, u.name)) {
            found = &u;
            break;
        }
    if (!found) return NumStatus::Invalid;
    if (overflow) return NumStatus::Overflow;
    unsigned __int128 scaled_frac = static_cast<unsigned __int128>(frac) * found->mult;
    if (scaled_frac % frac_scale != 0) return NumStatus::Inexact;
    unsigned __int128 total = whole * found->mult + scaled_frac / frac_scale;
    if (total > UINT64_MAX) return NumStatus::Overflow;
    *out = static_cast<uint64_t>(total);
    return NumStatus::Ok;
}

std::string with_unit(uint64_t v, const char* const* names, const uint64_t* mults, size_t n,
                      const char* base) {
    if (v == 0) return "0";
    for (size_t i = 0; i < n; ++i)
        if (v % mults[i] == 0) return std::to_string(v / mults[i]) + names[i];
    return std::to_string(v) + base;
}

bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    size_t start = 0;
    bool last_label_numeric = true;
    while (start <= h.size()) {
        size_t dot = h.find('.', start);
        if (dot == std::string_view::npos) dot = h.size();
        std::string_view label = h.substr(start, dot - start);
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        last_label_numeric = true;
        for (char c : label) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
            if (!std::isdigit(static_cast<unsigned char>(c))) last_label_numeric = false;
        }
        start = dot + 1;
    }
    // A name ending in a numeric label can only be a (bad) IPv4 literal.
    return !last_label_numeric;
}

bool parse_port(std::string_view text, uint16_t* out) {
    uint64_t v = 0;
    if (parse_uint(text, &v) != NumStatus::Ok || v < 1 || v > 65535) return false;
    *out = static_cast<uint16_t>(v);
    return true;
}

// "[v6]:port", "v4:port" or "name:port".
bool parse_host_port(std::string_view item, Peer* out, std::string* why) {
    std::string_view host, port;
    if (!item.empty() && item.front() == '[') {
        size_t close = item.find(']');
        if (close == std::string_view::npos) {
            *why = quote(item) + " lacks the closing ']'";
            return false;
        }
        host = item.substr(1, close - 1);
        std::string_view rest = item.substr(close + 1);
        if (rest.empty() || rest.front() != ':') {
            *why = quote(item) + " has no port";
            return false;
        }
        port = rest.substr(1);
        if (ip_family(host, &out->host) != AF_INET6) {
            *why = quote(host) + " is not an IPv6 address";
            return false;
        }
    } else {
        size_t colon = item.rfind(':');
        if (colon == std::string_view::npos) {
            *why = quote(item) + " has no port";
            return false;
        }
        host = item.substr(0, colon);
        port = item.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            *why = quote(item) + " needs brackets around its IPv6 address";
            return false;
        }
        if (ip_family(host, &out->host) == 0) {
            if (!valid_hostname(host)) {
                *why = quote(host) + " is neither an IP address nor a host name";
                return false;
            }
            out->host = std::string(host);
        }
    }
    if (!parse_port(port, &out->port)) {
        *why = "port " + quote(port) + " of " + quote(item) + " is not in [1, 65535]";
        return false;
    }
    return true;
}

std::string bracket(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

bool parse_group(std::string_view text, Value* out, std::string* why) {
    std::string_view addr = text, port;
    if (!text.empty() && text.front() == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos) {
            *why = "the closing ']' is missing";
            return false;
        }
        addr = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                *why = "junk after ']'";
                return false;
            }
            port = rest.substr(1);
            if (port.empty()) {
                *why = "the port is empty";
                return false;
            }
        }
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        size_t colon = text.find(':');
        addr = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (port.empty()) {
            *why = "the port is empty";
            return false;
        }
    }
    std::string canonical;
    if (ip_family(addr, &canonical) == 0) {
        *why = quote(addr) + " is not an IP address literal";
        return false;
    }
    if (!is_multicast(canonical)) {
        *why = canonical + " is not a multicast address";
        return false;
    }
    uint16_t p = 0;
    if (!port.empty() && !parse_port(port, &p)) {
        *why = "port " + quote(port) + " is not in [1, 65535]";
        return false;
    }
    out->str = canonical;
    out->num = p;
    return true;
}

std::string format_group(const Value& v) {
    if (v.num == 0) return v.str;
    return bracket(v.str) + ":" + std::to_string(v.num);
}

std::string format_peers(const std::vector<Peer>& peers) {
    std::string out;
    for (const Peer& p : peers) {
        if (!out.empty()) out += ',';
        out += bracket(p.host) + ":" + std::to_string(p.port);
    }
    return out;
}

std::string format_num(const Setting& s, uint64_t v) {
    switch (s.type) {
        case Type::Duration: return format_duration(v);
        case Type::Size: return format_size(v);
        default: return std::to_string(v);
    }
}

const EnumValue* find_choice(const Setting& s, std::string_view text) {
    for (const EnumValue& e : s.choices)
        if (iequals(e.name, text)) return &e;
    return nullptr;
}

Status invalid(const Setting& s, std::string_view key, std::string_view text,
               std::string_view origin, const std::string& detail) {
    std::string msg = std::string(key) + ": invalid value " +
                      (s.secret ? std::string("(hidden)") : quote(text)) + " from " +
                      display_origin(origin) + ": ";
    if (!detail.empty()) msg += detail + "; ";
    msg += "expected " + describe_expected(s);
    return Error(MCCACHE_ECONFIG, std::move(msg));
}

Status out_of_range(const Setting& s, std::string_view key, std::string_view text,
                    std::string_view origin) {
    return Error(MCCACHE_ECONFIG, std::string(key) + ": value " + std::string(text) + " from " +
                                      display_origin(origin) + " is out of range " +
                                      describe_range(s));
}

Status parse_number(const Setting& s, std::string_view text, std::string_view key,
                    std::string_view origin, Value* out) {
    uint64_t v = 0;
    NumStatus st = s.type == Type::Duration ? parse_duration_ms(text, &v)
                   : s.type == Type::Size   ? parse_size_bytes(text, &v)
                                            : parse_uint(text, &v);
    switch (st) {
        case NumStatus::Ok: break;
        case NumStatus::Overflow: return out_of_range(s, key, text, origin);
        case NumStatus::Inexact:
            return invalid(s, key, text, origin,
                           s.type == Type::Duration ? "not a whole number of milliseconds"
                                                    : "not a whole number of bytes");
        case NumStatus::Invalid:
            return invalid(s, key, text, origin,
                           !text.empty() && text.front() == '-' ? "negative" : "");
    }
    if ((v < s.min && !(v == 0 && s.check == Check::ZeroOrRange)) || v > s.max)
        return out_of_range(s, key, text, origin);
    if (s.check == Check::PowerOfTwoOrZero && (v & (v - 1)) != 0)
        return invalid(s, key, text, origin, "not a power of two");
    out->num = v;
    return Status::Ok();
}

}  // namespace

NumStatus parse_uint(std::string_view text, uint64_t* out) {
    if (text.empty()) return NumStatus::Invalid;
    uint64_t v = 0;
    bool overflow = false;
    for (char c : text) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return NumStatus::Invalid;
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, static_cast<unsigned>(c - '0'), &v))
            overflow = true;
    }
    if (overflow) return NumStatus::Overflow;
    *out = v;
    return NumStatus::Ok;
}

NumStatus parse_duration_ms(std::string_view text, uint64_t* out) {
    return parse_scaled(text, kDurationUnits, out);
}

NumStatus parse_size_bytes(std::string_view text, uint64_t* out) {
    return parse_scaled(text, kSizeUnits, out);
}

std::string format_duration(uint64_t ms) {
    return with_unit(ms, kDurationNames, kDurationMults, std::size(kDurationMults), "ms");
}

std::string format_size(uint64_t bytes) {
    return with_unit(bytes, kSizeNames, kSizeMults, std::size(kSizeMults), "");
}

int ip_family(std::string_view text, std::string* canonical) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return 0;
    std::string z(text);  // inet_pton needs a NUL-terminated string
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    for (int family : {AF_INET, AF_INET6}) {
        if (inet_pton(family, z.c_str(), buf) == 1) {
            if (canonical) *canonical = inet_ntop(family, buf, out, sizeof out);
            return family;
        }
    }
    return 0;
}

bool is_multicast(std::string_view canonical_ip) {
    std::string z(canonical_ip);
    unsigned char buf[16];
    if (inet_pton(AF_INET, z.c_str(), buf) == 1) return (buf[0] & 0xF0) == 0xE0;
    if (inet_pton(AF_INET6, z.c_str(), buf) == 1) return buf[0] == 0xFF;
    return false;
}

bool parse_peers(std::string_view text, std::vector<Peer>* out, std::string* why) {
    out->clear();
    text = trim(text);
    if (text.empty()) return true;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view item = trim(text.substr(start, comma - start));
        if (item.empty()) {
            *why = "an empty item in the list";
            return false;
        }
        Peer p;
        if (!parse_host_port(item, &p, why)) return false;
        out->push_back(std::move(p));
        start = comma + 1;
    }
    return true;
}

bool decode_key32(std::string_view b64, std::vector<unsigned char>* out, std::string* why) {
    unsigned char buf[48];
    size_t len = 0;
    int rc = mbedtls_base64_decode(buf, sizeof buf, &len,
                                   reinterpret_cast<const unsigned char*>(b64.data()), b64.size());
    if (rc == MBEDTLS_ERR_BASE64_INVALID_CHARACTER) {
        *why = "not valid base64";
        return false;
    }
    if (rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || (rc == 0 && len != 32)) {
        *why = "decodes to " + std::to_string(len) + " bytes, not 32";
        return false;
    }
    if (rc != 0) {
        *why = "not valid base64";
        return false;
    }
    out->assign(buf, buf + len);
    return true;
}

Status parse_value(const Setting& s, std::string_view text, std::string_view key,
                   std::string_view origin, Value* out) {
    text = trim(text);
    Value v;
    std::string why;
    switch (s.type) {
        case Type::Int:
        case Type::Duration:
        case Type::Size:
            if (Status st = parse_number(s, text, key, origin, &v); !st.ok()) return st;
            break;
        case Type::Enum: {
            const EnumValue* e = find_choice(s, text);
            if (!e) return invalid(s, key, text, origin, "");
            v.num = static_cast<uint64_t>(e->value);
            break;
        }
        case Type::String:
            for (char c : text)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    return invalid(s, key, text, origin, "contains a control character");
            if (text.size() < s.min || text.size() > s.max)
                return invalid(s, key, text, origin,
                               std::to_string(text.size()) + " bytes long");
            v.str = std::string(text);
            break;
        case Type::Ip:
            if (ip_family(text, &v.str) == 0) return invalid(s, key, text, origin, "");
            if (is_multicast(v.str))
                return invalid(s, key, text, origin, "a multicast address is not an interface");
            break;
        case Type::Group:
            if (!parse_group(text, &v, &why)) return invalid(s, key, text, origin, why);
            break;
        case Type::Peers: {
            std::vector<Peer> peers;
            if (!parse_peers(text, &peers, &why)) return invalid(s, key, text, origin, why);
            v.str = format_peers(peers);
            break;
        }
        case Type::Key32: {
            std::vector<unsigned char> key_bytes;
            if (!text.empty() && !decode_key32(text, &key_bytes, &why))
                return invalid(s, key, text, origin, why);
            v.str = std::string(text);
            break;
        }
    }
    *out = std::move(v);
    return Status::Ok();
}

std::string format_value(const Setting& s, const Value& v) {
    switch (s.type) {
        case Type::Int:
        case Type::Duration:
        case Type::Size: return format_num(s, v.num);
        case Type::Enum:
            for (const EnumValue& e : s.choices)
                if (static_cast<uint64_t>(e.value) == v.num) return e.name;
            return std::to_string(v.num);
        case Type::Group: return format_group(v);
        case Type::String:
        case Type::Ip:
        case Type::Peers:
        case Type::Key32: return v.str;
    }
    return v.str;
}

std::string describe_type(const Setting& s) {
    switch (s.type) {
        case Type::Int: return "integer";
        case Type::Duration: return "duration";
        case Type::Size: return "size";
        case Type::Enum: return "enum";
        case Type::String: return "string";
        case Type::Ip: return "IP address";
        case Type::Group: return "multicast group";
        case Type::Peers: return "peer list";
        case Type::Key32: return "base64 key";
    }
    return "";
}

std::string describe_range(const Setting& s) {
    switch (s.type) {
        case Type::Int:
        case Type::Duration:
        case Type::Size:
            if (s.check == Check::PowerOfTwoOrZero)
                return "0 or a power of two in [1, " + format_num(s, s.max) + "]";
            if (s.check == Check::ZeroOrRange)
                return "0 or [" + format_num(s, s.min) + ", " + format_num(s, s.max) + "]";
            return "[" + format_num(s, s.min) + ", " + format_num(s, s.max) + "]";
        case Type::Enum: {
            std::string out;
            for (const EnumValue& e : s.choices) out += (out.empty() ? "" : ", ") + std::string(e.name);
            return out;
        }
        case Type::String:
            return std::to_string(s.min) + ".." + std::to_string(s.max) + " bytes";
        case Type::Ip: return "IPv4 or IPv6 literal";
        case Type::Group: return "224.0.0.0/4 or ff00::/8, port 1..65535";
        case Type::Peers: return "host:port, port 1..65535";
        case Type::Key32: return "empty or 32 bytes";
    }
    return "";
}

std::string describe_expected(const Setting& s) {
    switch (s.type) {
        case Type::Int:
            if (s.check == Check::PowerOfTwoOrZero)
                return "0 (automatic) or a power of two from 1 to " + format_num(s, s.max);
            if (s.check == Check::ZeroOrRange)
                return "0 (automatic) or an integer from " + format_num(s, s.min) + " to " +
                       format_num(s, s.max);
            return "an integer from " + format_num(s, s.min) + " to " + format_num(s, s.max);
        case Type::Duration:
            return "a duration from " + format_num(s, s.min) + " to " + format_num(s, s.max) +
                   " (e.g. 300, 30s, 5m)";
        case Type::Size:
            return "a size from " + format_num(s, s.min) + " to " + format_num(s, s.max) +
                   " (e.g. 65536, 64KiB, 8MiB)";
        case Type::Enum: return "one of " + describe_range(s);
        case Type::String:
            return "text of " + std::to_string(s.min) + " to " + std::to_string(s.max) +
                   " bytes without control characters";
        case Type::Ip: return "an IPv4 or IPv6 address literal (e.g. 127.0.0.1, ::1)";
        case Type::Group:
            return "a multicast group GROUP or GROUP:PORT in 224.0.0.0/4 or ff00::/8 "
                   "(e.g. 239.255.42.42, 239.255.42.42:4000, [ff15::42]:4000)";
        case Type::Peers:
            return "a comma-separated list of host:port "
                   "(e.g. 10.0.0.2:4000,node3.lan:4000,[fd00::3]:4000)";
        case Type::Key32:
            return "base64 of exactly 32 bytes, or empty for no encryption "
                   "(e.g. the output of: openssl rand -base64 32)";
    }
    return "";
}

std::string display_origin(std::string_view origin) {
    if (origin.starts_with("file:")) origin.remove_prefix(5);
    return std::string(origin);
}

std::string quote(std::string_view text) {
    constexpr size_t kMax = 80;
    std::string out = "\"";
    for (size_t i = 0; i < text.size(); ++i) {
        if (i == kMax) {
            out += "...";
            break;
        }
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\x%02x", c);
            out += esc;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

const Value& default_value(const Setting& s) {
    static const std::vector<Value> defaults = [] {
        std::vector<Value> out;
        for (const Setting& d : settings()) {
            Value v;
            Status st = parse_value(d, d.default_text, d.name, "default", &v);
            if (!st.ok()) {
                // The schema is static: a bad default is a bug caught by the first test run.
                std::fprintf(stderr, "mccache: bad built-in default: %s\n", st.message.c_str());
                std::abort();
            }
            out.push_back(std::move(v));
        }
        return out;
    }();
    return defaults[index_of(s)];
}

}  // namespace mccache::config
