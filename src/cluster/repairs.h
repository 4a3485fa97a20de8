// Repairs: the entries anti-entropy decided to send to a member, queued per
// destination and pumped out on a short timer, paced so that a joining
// member's whole transfer does not overrun socket buffers. Loop thread only.
#pragma once

#include <uv.h>

#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include "cluster/control.h"
#include "cluster/host.h"
#include "cluster/stream.h"
#include "metrics/metrics.h"
#include "transport/udp.h"

namespace mccache::cluster {

class Repairs {
public:
    Repairs(Host& host, Control& control, Stream& stream, transport::Udp& udp,
            metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), control_(control), stream_(stream), udp_(udp), counters_(counters) {}

    void start(uv_loop_t* loop);
    void stop();

    // Queues the current entries of `keys` for `to` (sent as they are when
    // their turn comes). A key already waiting for `to` is not queued again.
    void queue(const Peer& to, const std::string& cache, std::vector<std::string> keys);
    // A record sent now (the clear floor of a cache).
    void send_now(const Peer& to, const wire::Record& record);

private:
    void pump();
    void send(const Peer& to, const std::vector<wire::Record>& records);
    static void on_timer(uv_timer_t* t);

    Host& host_;
    Control& control_;
    Stream& stream_;
    transport::Udp& udp_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    uv_timer_t timer_{};
    bool timer_open_ = false;

    struct Job {
        Peer to;
        std::string cache;
        std::vector<std::string> keys;
        size_t next = 0;
    };
    std::deque<Job> jobs_;
    // (destination, cache, key) of every repair queued and not yet sent: a
    // key asked for again while its repair still waits (the next
    // anti-entropy round of a joiner that has not received it yet) is not
    // queued twice, which on a slow pump or a small socket buffer used to
    // multiply the backlog round after round.
    std::unordered_set<std::string> pending_;
};

}  // namespace mccache::cluster
