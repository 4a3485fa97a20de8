// Replication for one node: the parts below, wired together, and the path
// every datagram takes on arrival (decode, open, find the member, check
// freshness, reassemble, hand to the part it is for).
//
//   stream.h      the outgoing replication stream (numbering, batching,
//                 direct sends, the retransmit buffer)
//   control.h     unsequenced messages, to all or to one
//   framing.h     fragmenting and sealing, for both
//   handshake.h   freshness: a round trip admits a sender; address budgets
//   membership.h  who the members are, liveness, replay windows
//   stream_in.h   the incoming streams: gaps, NACKs, giving up
//   reassembly.h  partial messages under a budget
//   apply.h       records into the caches, by mode
//   antientropy.h digests, key lists, pulls   repairs.h  the paced repairs
//   queries.h     cluster-wide requests
//   leases.h      load leases: one load per key across the cluster
//
// Every part runs on the node's loop thread, except that the stream takes
// writes from any thread (publish, send_now). The parts reach the node only
// through Host (host.h).
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cluster/antientropy.h"
#include "cluster/apply.h"
#include "cluster/control.h"
#include "cluster/handshake.h"
#include "cluster/leases.h"
#include "cluster/host.h"
#include "cluster/membership.h"
#include "cluster/queries.h"
#include "cluster/reassembly.h"
#include "cluster/repairs.h"
#include "cluster/stream.h"
#include "cluster/stream_in.h"
#include "common/status.h"
#include "crypto/seal.h"
#include "metrics/metrics.h"
#include "transport/udp.h"
#include "wire/wire.h"

namespace mccache::cluster {

class Cluster {
public:
    explicit Cluster(Host& host);
    ~Cluster();
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    // Loop thread (or before the loop runs).
    Status start(uv_loop_t* loop);
    void stop();   // goodbye, then close every handle
    void flush() { stream_.flush(); }

    // Any thread: a local write for replication (see Stream).
    void publish(Outgoing out) { stream_.publish(std::move(out)); }
    Stream::Direct send_now(Outgoing& out) { return stream_.send_now(out); }

    // Loop thread.
    Status set_keys(const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept);
    void sync_now();  // an anti-entropy round with every member
    void start_query(wire::QueryKind kind, std::string cache, int64_t timeout_ms, Queries::OnReply on_reply,
                     Queries::OnDone on_done);
    std::string members_json() const;
    // Load leases (see Leases): what the node's loaders ask of the cluster.
    Leases& leases() { return leases_; }
    size_t alive_members() const { return members_.alive(); }
    void set_faults(int drop, int drop_recv) { udp_.set_faults(drop, drop_recv); }
    void set_tap(transport::Udp::Tap tap) { udp_.set_tap(std::move(tap)); }

    // Tests and fuzzing only (loop thread): one datagram into the receive
    // path as if it had arrived from `from`.
    void receive_for_test(const unsigned char* data, size_t len, const transport::Address& from) {
        on_datagram(data, len, from);
    }

    // Any thread.
    bool enabled() const { return udp_.enabled(); }
    metrics::Snapshot<metrics::ClusterMetric> metrics() const;
    const metrics::Counters<metrics::ClusterMetric>& counters() const { return counters_; }
    uint64_t incarnation() const { return incarnation_; }
    uint64_t last_seq() const { return stream_.last_seq(); }
    uint32_t packet_mtu() const { return packet_mtu_; }  // the setting, or the interface's when 0

private:
    void on_datagram(const unsigned char* data, size_t len, const transport::Address& from);
    // Decodes and, when sealed, opens a datagram; false (counted) if it is
    // to be dropped.
    bool open(const unsigned char* data, size_t len, const transport::Address& from, wire::Header* h,
              std::string_view* payload, std::string* opened);
    void dispatch(Member& m, const wire::Header& h, std::string_view payload);
    void reject(metrics::ClusterMetric counter, const char* why, const transport::Address& from);
    void send_heartbeat();
    void tick();
    static void on_tick(uv_timer_t* t);
    static void on_pulse(uv_timer_t* t);
    static void on_after_io(uv_check_t* c);
    void flush_acks();  // RepairAcks to the members that repaired us this loop turn

    Host& host_;
    metrics::Counters<metrics::ClusterMetric> counters_;
    transport::Udp udp_;
    std::unique_ptr<crypto::Sealer> sealer_;  // the loop's: opens, seals control messages
    Control control_;
    Stream stream_;
    Reassembler reassembly_;
    Handshake handshake_;
    Membership members_;
    StreamIn stream_in_;
    Applier applier_;
    Repairs repairs_;
    AntiEntropy antientropy_;
    Queries queries_;
    Leases leases_;

    bool require_encryption_ = false;
    uint64_t cluster_id_ = 0;
    uint64_t incarnation_ = 0;
    uint64_t started_ms_ = 0;
    uint32_t packet_mtu_ = 1472;
    bool running_ = false;
    bool announced_ = false;  // the first heartbeat has been sent
    int64_t last_reject_log_ms_ = 0;
    uint64_t rejects_since_log_ = 0;

    uv_timer_t tick_timer_{}, pulse_timer_{};
    uv_check_t after_io_{};
    bool timers_open_ = false;
};

}  // namespace mccache::cluster
