// The receiving side of every member's replication stream: which sequence
// numbers have arrived, NACKs for the gaps after nack_delay (backing off),
// and giving up on what the sender can no longer resend, which anti-entropy
// then repairs. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "cluster/control.h"
#include "cluster/host.h"
#include "metrics/metrics.h"
#include "wire/wire.h"

namespace mccache::cluster {

class Membership;
struct Member;

// One sender's stream as this node has received it.
struct PeerStream {
    bool started = false;
    uint64_t hw = 0;           // every seq <= hw received or given up
    uint64_t max_seen = 0;     // highest seq known to exist
    std::set<uint64_t> above;  // received seqs > hw
    int64_t nack_due_ms = 0;
    int nack_tries = 0;    // for the current gap: reset when hw moves
    uint64_t nack_hw = 0;  // hw when the last Nack was sent

    bool has(uint64_t seq) const { return started && (seq <= hw || above.count(seq)); }
};

class StreamIn {
public:
    StreamIn(Host& host, Control& control, Membership& members, metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), control_(control), members_(members), counters_(counters) {}

    void start(uv_loop_t* loop);
    void stop();

    // A new stream message from `m` (not a duplicate: the caller checked
    // PeerStream::has first): records it, and schedules NACKs for any gap.
    void on_message(Member& m, uint64_t seq);
    // The sender's last sequence number, from its heartbeat.
    void on_heartbeat(Member& m, uint64_t last_seq);
    // The sender can no longer resend these.
    void on_gone(Member& m, const std::vector<wire::SeqRange>& ranges);

private:
    void advance(Member& m);
    void give_up(Member& m, uint64_t from, uint64_t to);
    void note_gap(Member& m);
    void arm(int64_t due_ms);
    void run();
    static void on_timer(uv_timer_t* t);

    Host& host_;
    Control& control_;
    Membership& members_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    uv_timer_t timer_{};
    bool timer_open_ = false;
    int64_t timer_due_ = 0;
    std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace mccache::cluster
