// The Lease message (docs/PROTOCOL.md §2.11): one layout for every kind, so
// that a claim, its answers and the load's end share one decoder.
#include "wire/wire.h"

namespace mccache::wire {

std::string encode_lease(const Lease& l) {
    std::string out;
    out.reserve(1 + 2 + l.cache.size() + 4 + l.key.size() + 40 + 2 + l.message.size());
    Writer w(out);
    w.u8(static_cast<uint8_t>(l.kind));
    w.str16(l.cache);
    w.str32(l.key);
    w.u64(l.claim_hlc);
    w.u64(l.claim_node);
    w.u64(l.version_hlc);
    w.u64(l.version_node);
    w.u32(l.ms);
    w.u32(static_cast<uint32_t>(l.code));
    w.str16(l.message);
    return out;
}

Error decode_lease(std::string_view payload, Lease* out) {
    Reader rd(payload);
    const uint8_t kind = rd.u8();
    out->cache = rd.str16();
    out->key = rd.str32();
    out->claim_hlc = rd.u64();
    out->claim_node = rd.u64();
    out->version_hlc = rd.u64();
    out->version_node = rd.u64();
    out->ms = rd.u32();
    out->code = static_cast<int32_t>(rd.u32());
    out->message = rd.str16();
    if (!rd.done() || kind < 1 || kind > kMaxLeaseKind) return Error::Malformed;
    // A claim names a key of a cache and the claimant; only a failure has a
    // code, and its code is an error (negative).
    if (out->cache.empty() || out->key.empty() || out->claim_node == 0 || out->message.size() > kMaxLeaseMessage)
        return Error::Malformed;
    out->kind = static_cast<LeaseKind>(kind);
    if ((out->kind == LeaseKind::Failed) != (out->code < 0)) return Error::Malformed;
    if (out->kind != LeaseKind::Failed && !out->message.empty()) return Error::Malformed;
    return Error::None;
}

}  // namespace mccache::wire
