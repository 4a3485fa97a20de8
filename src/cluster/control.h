// Unsequenced messages (heartbeats, NACKs, digests, repairs, queries, the
// freshness handshake), to every member or to one. Each is numbered in one of
// the sender's two unsequenced counters (to all, or to one member), which
// receivers' replay windows track and which make the sealing nonces unique.
// A message to one member is sealed for that member alone: its id and
// incarnation are authenticated with it, so it opens nowhere else. Loop
// thread only.
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

// Where a unicast message goes: an address, and the member (id and
// incarnation) it is for.
struct Peer {
    transport::Address addr;
    uint64_t id = 0;
    uint64_t incarnation = 0;
};

class Control {
public:
    Control(Host& host, transport::Udp& udp, metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), udp_(udp), counters_(counters) {}

    void start(uint64_t cluster_id, uint64_t incarnation, size_t packet_mtu, crypto::Sealer* sealer);

    // To every member (to == nullptr) or to one.
    void send(wire::Type type, std::string_view payload, const Peer* to);
    // Like send() to one member, but the datagrams sent are handed back
    // (sealed) with the message's seq, for the caller to resend as they are.
    // 0 if nothing was sent.
    uint64_t send_kept(wire::Type type, std::string_view payload, const Peer& to, std::vector<std::string>* frames);
    // One datagram kept by send_kept(), again.
    void resend(const Peer& to, std::string_view datagram) { udp_.send_to(to.addr, datagram); }

    size_t capacity() const { return cap_; }
    // The largest datagram a message of `payload` bytes becomes, unfragmented.
    static size_t datagram_size(size_t payload) { return wire::kHeaderSize + payload + wire::kTagSize; }
    // The counters as they stand: every number up to these has been used.
    uint64_t to_all_seq() const { return next_to_all_; }
    uint64_t to_one_seq() const { return next_to_one_; }

private:
    // A header for the next message of its counter; false (logged) if the
    // payload needs more fragments than the wire allows.
    bool header(wire::Type type, size_t payload_size, const Peer* to, wire::Header* h);

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
