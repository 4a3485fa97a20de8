// Unsequenced messages (heartbeats, NACKs, digests, repairs, queries), to
// every member or to one. Each is numbered in one of the sender's two
// unsequenced counters (to all, or to one member), which receivers' replay
// windows track and which make the sealing nonces unique. Loop thread only.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "cluster/host.h"
#include "crypto/seal.h"
#include "metrics/metrics.h"
#include "transport/udp.h"
#include "wire/wire.h"

namespace mccache::cluster {

class Control {
public:
    Control(Host& host, transport::Udp& udp, metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), udp_(udp), counters_(counters) {}

    void start(uint64_t cluster_id, uint64_t incarnation, size_t packet_mtu, crypto::Sealer* sealer);

    // To every member (to == nullptr) or to one address.
    void send(wire::Type type, std::string_view payload, const transport::Address* to);
    // Records, packed into as few messages as fit (Repair, by unicast).
    // Records too large for one datagram go to `large` instead, encoded
    // with the given record flags, for the caller to send on the stream.
    void send_records(wire::Type type, const std::vector<wire::Record>& records, uint8_t flags,
                      const transport::Address& to, std::vector<std::string>* large);

    size_t capacity() const { return cap_; }

private:
    Host& host_;
    transport::Udp& udp_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    crypto::Sealer* sealer_ = nullptr;
    uint64_t cluster_id_ = 0, incarnation_ = 0;
    size_t cap_ = 0;
    uint64_t next_to_all_ = 0;  // also the fragment reassembly ids of these messages
    uint64_t next_to_one_ = 0;
};

}  // namespace mccache::cluster
