// Cluster-wide requests: every member answers with its metrics or its
// checksums, and the answers reach the caller (McCache only logged them).
// A lost request or reply is asked for again, by unicast to each live member
// that has not answered, at doubling intervals until the deadline. Loop
// thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "cluster/control.h"
#include "cluster/host.h"
#include "cluster/membership.h"
#include "metrics/metrics.h"
#include "wire/wire.h"

namespace mccache::cluster {

class Queries {
public:
    using OnReply = std::function<void(uint64_t member, const std::string& json)>;
    using OnDone = std::function<void()>;

    Queries(Host& host, Control& control, Membership& members, metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), control_(control), members_(members), counters_(counters) {}

    // Asks every member (or, when `send` is false, answers only for this
    // node). on_reply runs for this node's answer at once and for each
    // member's as it arrives; on_done once, at the end.
    void start(wire::QueryKind kind, std::string cache, int64_t timeout_ms, bool send, OnReply on_reply,
               OnDone on_done);
    void on_query(Member& m, std::string_view payload);
    void on_reply(Member& m, std::string_view payload);
    // Resends to the silent and ends what has timed out.
    void tick(int64_t now);
    // Ends every pending request (the node is closing).
    void stop();

private:
    struct Pending {
        wire::QueryKind kind;
        int64_t deadline_ms;
        OnReply on_reply;
        OnDone on_done;
        std::set<uint64_t> answered;
        std::string request;  // the encoded Query payload, for resends
        int64_t resend_ms = 0;
        int64_t resend_interval_ms = 0;
    };

    Host& host_;
    Control& control_;
    Membership& members_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    std::map<uint64_t, Pending> pending_;
    uint64_t next_id_ = 0;
};

}  // namespace mccache::cluster
