// Typed parsing and canonical formatting of setting values. Every value has a
// canonical text that parses back to the same value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/schema.h"

namespace mccache::config {

struct Value {
    uint64_t num = 0;  // Int, Enum; Duration in ms; Size in bytes; Group: port, 0 if none
    std::string str;   // String, Ip; Group: address; Peers: canonical list; Key32: base64
    bool operator==(const Value&) const = default;
};

struct Peer {
    std::string host;  // IPv4, IPv6 (without brackets) or host name
    uint16_t port = 0;
    bool operator==(const Peer&) const = default;
};

enum class NumStatus { Ok, Invalid, Overflow, Inexact };

// Digits only: no sign, no spaces, no base prefix.
NumStatus parse_uint(std::string_view text, uint64_t* out);
// NUMBER[.FRACTION][ ]UNIT with UNIT in ms, s, m, h, d; no unit means seconds.
NumStatus parse_duration_ms(std::string_view text, uint64_t* out);
// NUMBER[.FRACTION][ ]UNIT with binary units B, K/KB/KiB, M/MB/MiB, G.., T..; no unit means bytes.
NumStatus parse_size_bytes(std::string_view text, uint64_t* out);

std::string format_duration(uint64_t ms);  // largest exact unit: "0", "1500ms", "5m", "1d"
std::string format_size(uint64_t bytes);   // largest exact binary unit: "1000", "64KiB"

// AF_INET or AF_INET6 for an address literal (no brackets, no zone), else 0.
int ip_family(std::string_view text, std::string* canonical = nullptr);
bool is_multicast(std::string_view canonical_ip);

// Splits and checks "host:port,host:port"; on failure `why` says which item is wrong.
bool parse_peers(std::string_view text, std::vector<Peer>* out, std::string* why);

// Decodes a crypto key; true only for valid base64 of exactly 32 bytes.
bool decode_key32(std::string_view b64, std::vector<unsigned char>* out, std::string* why);

// Parses `text` for setting `s`. On failure: MCCACHE_ECONFIG with a message that
// names `key` (as the user should read it), the value, `origin` and what is accepted.
Status parse_value(const Setting& s, std::string_view text, std::string_view key,
                   std::string_view origin, Value* out);

std::string format_value(const Setting& s, const Value& v);  // canonical text (secrets too)

// For messages and docs.
std::string describe_type(const Setting& s);      // "duration", "integer", ...
std::string describe_range(const Setting& s);     // "[1s, 1d]", "1..64 bytes", ...
std::string describe_expected(const Setting& s);  // "a duration from 0 to 3650d (e.g. ...)"
std::string display_origin(std::string_view origin);  // "file:P:L" -> "P:L"
std::string quote(std::string_view text);             // "..." with escapes, clipped

// The parsed built-in default of `s`.
const Value& default_value(const Setting& s);

}  // namespace mccache::config
