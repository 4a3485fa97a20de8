// Anti-entropy: the safety net under retransmission. One round between an
// initiator I and a responder R:
//   I -> R  DigestL1: per cache, 64 group digests (and the clear floor)
//   R -> I  DigestL2: for each group that differs, R's 64 bucket digests
//   I -> R  Keys:     for each bucket that differs, I's (key, version) list
//   R -> I  Repair:   records where R is newer;  Pull: keys where I is newer
//   I -> R  Repair:   the pulled records
// Traffic grows with the number of differing buckets, not the cache size.
// Rounds run every cache_pulse with everyone, and with one member when it
// joins, recovers, loses stream messages that cannot be resent, or still
// differed in the last round. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "cluster/control.h"
#include "cluster/host.h"
#include "cluster/membership.h"
#include "cluster/repairs.h"
#include "metrics/metrics.h"

namespace mccache::cluster {

class AntiEntropy {
public:
    AntiEntropy(Host& host, Control& control, Repairs& repairs, Membership& members,
                metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), control_(control), repairs_(repairs), members_(members), counters_(counters) {}

    // A round with every member (to == nullptr) or one.
    void round(const Peer* to);
    // The rounds that are due with single members.
    void tick(int64_t now);

    void on_digest_l1(Member& m, std::string_view payload);
    void on_digest_l2(Member& m, std::string_view payload);
    void on_keys(Member& m, std::string_view payload);
    void on_pull(Member& m, std::string_view payload);

private:
    // Whether another live member holds the claim on this group.
    bool claimed_by_other(const std::string& cache, uint16_t group, const Member& m, int64_t t);
    void claim(const std::string& cache, uint16_t group, const Member& m, int64_t t);

    Host& host_;
    Control& control_;
    Repairs& repairs_;
    Membership& members_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    // Which member this node is converging each (cache, digest group) with,
    // and until when: a joiner offered digests by every member pulls each
    // group from one of them, not from all (n times the traffic).
    struct GroupClaim {
        uint64_t member = 0;
        int64_t until_ms = 0;
    };
    std::map<std::pair<std::string, uint16_t>, GroupClaim> claims_;
};

}  // namespace mccache::cluster
