// Load leases: one load per key across the cluster (docs/PROTOCOL.md §4.6).
//
// A member that misses a key claims its lease before loading: a Lease Claim
// to all, stamped with a fresh HLC. Every member answers it: Granted, or
// Held by an earlier claim (HLC, then node id, decides), or Loaded when it
// already holds a newer value. The claim wins once every live member has
// granted it; a claimant that hears of an earlier claim waits for that
// claim's load instead. Claims are resent to the members that have not
// answered, so loss only delays a decision. The holder ends its lease with
// Loaded (its value reaches everyone on the replication stream), Failed
// (the loader's error, for every waiter) or Released. A waiter polls the
// holder, and takes over (claims again) when the lease expires or the
// holder goes down. Loop thread only, but for the entry points that the
// node posts to it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "cluster/control.h"
#include "cluster/host.h"
#include "cluster/membership.h"
#include "metrics/metrics.h"
#include "store/hlc.h"
#include "wire/wire.h"

namespace mccache::cluster {

class Leases {
public:
    Leases(Host& host, Control& control, Membership& members, metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), control_(control), members_(members), counters_(counters) {}

    void start(uv_loop_t* loop);
    void stop();

    // This node wants to load `key` of `cache` (it holds `held`: the zero
    // version on a miss, the stale one for a refresh). The outcome reaches
    // Host::lease_event: Won (load it now, then end()), Waiting (another
    // member loads it), Loaded or Failed (another member's load ended).
    // Again for a key already asked for: nothing new unless the claim it
    // waits on is no longer live, when it claims again.
    void acquire(const std::string& cache, const std::string& key, store::Version held, uint32_t lease_ms);
    // The local load of a lease this node won has ended: tell every member.
    void end(const std::string& cache, const std::string& key, const LeaseEvent& outcome);
    // Nobody here needs the key any more (its value arrived, or every caller
    // gave up). A claim still out is withdrawn (Released).
    void cancel(const std::string& cache, const std::string& key);

    void on_message(Member& m, std::string_view payload);

private:
    enum class Mine { None, Claiming, Holding, Waiting };
    struct Entry {
        // The earliest live claim this member knows of, and until when
        // (local time) its lease runs.
        store::Version best;
        int64_t best_until = 0;
        // This node's own request.
        Mine mine = Mine::None;
        store::Version claim;  // Claiming, Holding: ours; Waiting: the one waited on
        store::Version held;
        uint32_t lease_ms = 0;
        std::set<uint64_t> granted;
        uint64_t skip = 0;        // a holder taken over from: its grant is not needed
        int64_t claimed_ms = 0;   // when the claim went out
        int64_t next_ms = 0;      // the next resend (Claiming) or poll (Waiting)
        int64_t interval_ms = 0;  // doubles up to a bound
        // How our last load ended, for polls and late claims.
        wire::LeaseKind outcome = wire::LeaseKind::Released;
        store::Version outcome_claim, outcome_version;
        int32_t outcome_code = 0;
        std::string outcome_message;
        uint32_t outcome_negative_ms = 0;
        int64_t outcome_until = 0;
    };
    using Key = std::pair<std::string, std::string>;  // cache, key

    bool live(const Entry& e, int64_t now) const;
    void claim(const Key& k, Entry& e, int64_t now, uint64_t skip = 0);
    void take_over(const Key& k, Entry& e, int64_t now);
    void wait_on(const Key& k, Entry& e, store::Version claim, uint32_t remaining_ms, int64_t now);
    void check_won(const Key& k, Entry& e);
    void answer_claim(Member& m, const wire::Lease& l, Entry& e, int64_t now);
    void on_outcome(Member& m, const wire::Lease& l, Entry& e, int64_t now);
    void send(const wire::Lease& l, const Peer* to);
    wire::Lease message(wire::LeaseKind kind, const Key& k, store::Version claim) const;
    // A live entry of `key` newer than `held`, written within the last
    // `recent_ms`: a load that has just ended (its value is on its way).
    bool recently_loaded(const Key& k, store::Version held, int64_t recent_ms, store::Version* v);
    void tick();
    static void on_timer(uv_timer_t* t);
    void arm();

    Host& host_;
    Control& control_;
    Membership& members_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    std::map<Key, Entry> entries_;
    uv_timer_t timer_{};
    bool timer_open_ = false;
    bool timer_running_ = false;
};

}  // namespace mccache::cluster
