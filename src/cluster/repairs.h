// Repairs: anti-entropy's bulk traffic to one member (its key lists, its
// pulls, and the entries it decided to send) over a reliable,
// flow-controlled unicast channel per member.
//
// - Key lists and pulls are sent in turn as given; repairs are built when
//   their turn comes (the entry as it is then). Every message is sealed for
//   that member and kept until it acknowledges it.
// - The receiver acknowledges what arrived (RepairAck), names the
//   fragments missing from what arrived in part, and says how much it can
//   take, its socket buffer shared among the members repairing it at once.
// - What is in flight is bounded by a congestion window (AIMD, as TCP's):
//   it grows while acknowledgements come, halves on a loss, and falls back
//   to two datagrams when nothing is acknowledged for a while. So a joiner's
//   whole transfer, or several members repairing one receiver, never
//   overruns its buffer, even a stock 208 KiB one, and a loss costs the
//   missing fragments, not the message.
// Loop thread only.
#pragma once

#include <uv.h>

#include <deque>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cluster/control.h"
#include "cluster/host.h"
#include "metrics/metrics.h"
#include "transport/udp.h"
#include "wire/wire.h"

namespace mccache::cluster {

class Repairs {
public:
    Repairs(Host& host, Control& control, transport::Udp& udp, metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), control_(control), udp_(udp), counters_(counters) {}

    void start(uv_loop_t* loop);
    void stop();

    // Queues the current entries of `keys` for `to` (sent as they are when
    // their turn comes). A key already waiting for `to` is not queued again.
    void queue(const Peer& to, const std::string& cache, std::vector<std::string> keys);
    // A record sent in turn, as it is (the clear floor of a cache).
    void send_record(const Peer& to, const wire::Record& record);
    // A message of anti-entropy's sent in turn on the channel (Keys, Pull).
    void send_message(const Peer& to, wire::Type type, std::string payload);
    // The message types the channel carries (and a receiver acknowledges).
    static bool carried(wire::Type t) {
        return t == wire::Type::Repair || t == wire::Type::Keys || t == wire::Type::Pull;
    }
    // The member's acknowledgement.
    void on_ack(const Peer& from, const wire::RepairAck& ack);
    // Whether repairs to this member are queued or in flight.
    bool busy(const Peer& to) const {
        auto it = flows_.find(FlowKey{to.id, to.incarnation});
        return it != flows_.end() && (it->second.has_work() || !it->second.unacked.empty());
    }

private:
    struct Job {
        std::string cache;
        std::vector<std::string> keys;
        size_t next = 0;
    };
    struct Message {
        std::vector<std::string> frames;  // sealed, resent as they are
        size_t bytes = 0;
        int64_t sent_ms = 0;
        int64_t resent_ms = 0;  // 0: never resent (its acknowledgement times the round trip)
        bool lost = false;      // to be sent again whole, when the window allows (not in flight)
    };
    struct Flow {
        Peer to;
        std::deque<Job> jobs;
        std::deque<std::string> ready;  // encoded records waiting their turn
        std::deque<std::pair<wire::Type, std::string>> messages;  // Keys and Pull waiting their turn
        std::map<uint64_t, Message> unacked;  // by the message's unicast seq
        size_t inflight = 0;    // bytes of unacknowledged messages
        double cwnd = 0, ssthresh = 0;
        size_t window = 0;      // what the receiver last said it can take
        int64_t srtt_ms = 0;    // smoothed round trip (0: no sample yet)
        int64_t last_progress_ms = 0;  // last acknowledgement of anything (or timeout)
        int64_t last_ack_ms = 0;       // last RepairAck at all
        int timeouts = 0;              // in a row, without progress
        int64_t recovery_until_ms = 0; // one window cut per round trip
        int64_t rack_tx_ms = 0;  // when the newest transmission acknowledged left
        int64_t idle_since_ms = 0;
        bool has_work() const { return !jobs.empty() || !ready.empty() || !messages.empty(); }
    };
    using FlowKey = std::pair<uint64_t, uint64_t>;  // member id, incarnation

    Flow& flow_of(const Peer& to);
    void pump();
    // Sends the next message of `f`; false when there is nothing to send.
    bool send_next(Flow& f);
    void resend(Flow& f, Message& m, const std::vector<std::pair<uint16_t, uint16_t>>& which, int64_t now);
    // A message lost whole: out of flight, sent again by the pump in turn.
    void mark_lost(Flow& f, Message& m);
    void cut(Flow& f, int64_t now);  // a loss: halve the window, at most once per round trip
    void arm(uint64_t delay_ms);
    static void on_timer(uv_timer_t* t);

    Host& host_;
    Control& control_;
    transport::Udp& udp_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    uv_timer_t timer_{};
    bool timer_open_ = false;
    int64_t timer_due_ms_ = 0;
    std::map<FlowKey, Flow> flows_;
    // (destination, cache, key) of every repair queued and not yet sent: a
    // key asked for again while its repair still waits (the next
    // anti-entropy round of a joiner that has not received it yet) is not
    // queued twice, which on a slow pump or a small socket buffer used to
    // multiply the backlog round after round.
    std::unordered_set<std::string> pending_;
};

}  // namespace mccache::cluster
