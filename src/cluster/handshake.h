// Freshness and address validation: the round trip that admits a sender.
//
// A datagram proves only that someone once sent it. Before this node holds
// any state for a sender (a new member, one it forgot, any member after this
// node restarted, one back from a goodbye) or believes a new address for it,
// it sends a Challenge with a random nonce to the address the datagram came
// from; only the sender alive there now can answer, and its Response (sealed
// for this node alone when the cluster has a key) says where its stream and
// counters stand. Nothing older than that is ever applied. As DTLS cookies
// and QUIC address validation do, the node sends an address it has not
// validated at most three times the bytes it received from it, so a spoofed
// source cannot turn it into an amplifier; and unvalidated senders wait in a
// small table that evicts from the address holding the most entries, so a
// flood of new ids cannot lock a real member out. Loop thread only.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/control.h"
#include "cluster/host.h"
#include "cluster/stream.h"
#include "metrics/metrics.h"
#include "transport/udp.h"
#include "wire/wire.h"

namespace mccache::cluster {

class Handshake {
public:
    static constexpr size_t kMaxPending = 64;
    static constexpr size_t kMaxBudgets = 1024;
    static constexpr uint64_t kBudgetFactor = 3;

    Handshake(Host& host, Control& control, Stream& stream, metrics::Counters<metrics::ClusterMetric>& counters);

    void start(uint64_t incarnation, uint64_t started_ms) {
        incarnation_ = incarnation;
        started_ms_ = started_ms;
    }

    // Every datagram that passed decoding (and authentication) from an
    // address nobody validated: what it may be answered with grows by it.
    void received(const transport::Address& from, size_t bytes);
    // A datagram from a sender this node holds no live state for, or from
    // an address that is not its validated one: challenge that address
    // (at most every resend interval, within its budget). The datagram
    // itself is dropped.
    void challenge(const wire::Header& h, const transport::Address& from);
    // A Challenge for this node: answer it. `validated`: it came from a
    // member's validated address (no budget applies).
    void answer(const wire::Header& h, std::string_view payload, const transport::Address& from, bool validated);

    // A Response that answers one of our pending challenges, from the
    // address challenged: the sender is alive there now.
    struct Admitted {
        uint64_t id = 0;
        uint64_t incarnation = 0;
        transport::Address addr;
        wire::Response position;
    };
    bool accept(const wire::Header& h, std::string_view payload, const transport::Address& from, Admitted* out);

    // Forgets pending challenges older than a few seconds.
    void tick(int64_t now);

private:
    struct Pending {
        uint64_t id = 0, incarnation = 0;
        transport::Address addr;
        unsigned char nonce[wire::kNonceSize];
        int64_t created_ms = 0, sent_ms = 0;
    };
    struct Budget {
        uint64_t received = 0, sent = 0;
        int64_t last_ms = 0;
    };
    // Charges `bytes` to `to`'s budget; false (counted) if it would exceed it.
    bool spend(const transport::Address& to, size_t bytes);
    Pending* find(uint64_t id, uint64_t incarnation, const transport::Address& addr);
    void evict_one();  // the table is full
    static std::string key_of(const transport::Address& a);

    Host& host_;
    Control& control_;
    Stream& stream_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    uint64_t incarnation_ = 0, started_ms_ = 0;
    std::vector<Pending> pending_;
    std::unordered_map<std::string, Budget> budgets_;  // by address
    std::mt19937_64 rng_;  // which of the heaviest address's entries to evict (not secret)
};

}  // namespace mccache::cluster
