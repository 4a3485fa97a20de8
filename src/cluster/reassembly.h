// Fragment reassembly: the partial messages of each member, under a budget
// for all members together and a quarter of it for any one, so that a
// sender of endless first fragments cannot make a node hold unbounded
// memory. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "metrics/metrics.h"
#include "wire/wire.h"

namespace mccache::cluster {

// One member's partial messages.
struct Partials {
    struct Partial {
        uint16_t count = 0;
        uint16_t received = 0;
        std::vector<std::string> frags;
        size_t frag_size = 0;  // of every fragment but the last, once one has arrived
        size_t last_size = 0;  // of the last fragment, once it has arrived
        size_t bytes = 0;      // payload received so far
        size_t charge = 0;     // what it costs the budgets: payload plus bookkeeping
        int64_t started_ms = 0;
        int64_t updated_ms = 0;  // when its last fragment arrived
        wire::Type type = wire::Type::Data;
        // What a NACK or an acknowledgement says of it (seq left 0): the
        // highest fragment received, the ones missing below it, and the
        // tail when nothing more has come for `tail_after_ms`.
        wire::PartialMessage missing(int64_t now, int64_t tail_after_ms) const;
    };
    std::map<uint64_t, Partial> by_id;  // by (seq << 2 | seq space)
    size_t bytes = 0;
};

class Reassembler {
public:
    Reassembler(const config::NodeSettings& settings, metrics::Counters<metrics::ClusterMetric>& counters)
        : settings_(settings), counters_(counters) {}

    // Adds one fragment; true when it completed its message, now in `whole`.
    bool add(Partials& p, const wire::Header& h, std::string_view frag, int64_t now, std::string* whole);
    // Drops partial messages older than reassembly_timeout.
    void expire(Partials& p, int64_t now);
    // Forgets all of them (a member restarted or forgotten).
    void drop(Partials& p);

private:
    const config::NodeSettings& settings_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    size_t bytes_ = 0;  // over every member
};

}  // namespace mccache::cluster
