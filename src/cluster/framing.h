// The one way a message becomes datagrams: cut into fragments that fit the
// packet_mtu, each under its own header (fragment index and count), sealed
// when the node has a key, CRC-checked otherwise. Both the sequenced stream
// and the control messages go through frame().
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/seal.h"
#include "wire/wire.h"

namespace mccache::cluster {

// The payload room of one datagram at `packet_mtu`. Room for the larger
// trailer always, so the size does not depend on whether the node seals.
inline size_t payload_capacity(size_t packet_mtu) { return packet_mtu - wire::kHeaderSize - wire::kTagSize; }

inline size_t fragment_count(size_t payload, size_t cap) { return payload == 0 ? 1 : (payload + cap - 1) / cap; }

enum class FrameError { None, TooManyFragments, SealFailed };

// Frames `payload` under `h` (type, flags, ids and seq set by the caller)
// and calls emit(datagram, header, slice) once per fragment, in order.
// `slice` is the fragment's plaintext, which a caller keeping frames for
// retransmission stores unsealed. `aad` is authenticated with every sealed
// fragment but not sent (a unicast message's destination). Stops at the
// first fragment that cannot be sealed.
template <typename Emit>
FrameError frame(wire::Header h, std::string_view payload, size_t cap, crypto::Sealer& sealer, std::string_view aad,
                 Emit&& emit) {
    const size_t frags = fragment_count(payload.size(), cap);
    if (frags > wire::kMaxFragments) return FrameError::TooManyFragments;
    const bool sealing = sealer.sealing();
    h.frag_count = static_cast<uint16_t>(frags);
    for (size_t i = 0; i < frags; ++i) {
        h.frag_index = static_cast<uint16_t>(i);
        const size_t at = std::min(payload.size(), i * cap);
        std::string_view slice = payload.substr(at, std::min(cap, payload.size() - at));
        std::string dgram = sealing ? sealer.seal(h, slice, aad) : wire::encode_plain(h, slice);
        if (dgram.empty()) return FrameError::SealFailed;
        emit(std::move(dgram), h, slice);
    }
    return FrameError::None;
}

// Packs records into payloads of at most `cap` bytes, in order, and calls
// emit(payload, large) for each. A record larger than `cap` gets a payload of
// its own (large = true), which the caller sends fragmented. `flags` is
// or-ed into every record's flags.
template <typename Emit>
void pack_records(const std::vector<wire::Record>& records, size_t cap, uint8_t flags, Emit&& emit) {
    std::string payload;
    wire::Writer w(payload);
    for (const wire::Record& r0 : records) {
        wire::Record r = r0;
        r.flags |= flags;
        const size_t size = wire::record_size(r);
        if (size > cap) {
            if (!payload.empty()) emit(std::string_view(payload), false);
            payload.clear();
            std::string large;
            wire::Writer lw(large);
            wire::encode_record(lw, r);
            emit(std::string_view(large), true);
            continue;
        }
        if (payload.size() + size > cap) {
            emit(std::string_view(payload), false);
            payload.clear();
        }
        wire::encode_record(w, r);
    }
    if (!payload.empty()) emit(std::string_view(payload), false);
}

}  // namespace mccache::cluster
