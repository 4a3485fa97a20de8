// Applies replicated records (a stream message or a repair) to the local
// caches, each by its mode: replicate stores the value, update stores it
// only where the key is present, invalidate removes the local copy. Every
// store keeps the highest version, so order and duplicates do not matter.
// Loop thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "cluster/host.h"
#include "metrics/metrics.h"
#include "store/store.h"

namespace mccache::cluster {

class Applier {
public:
    Applier(Host& host, metrics::Counters<metrics::ClusterMetric>& counters) : host_(host), counters_(counters) {}

    // `origin`: Remote for a stream message, Repair for a repair (records
    // flagged as repairs count as Repair either way). `sender` is the member
    // the payload came from: its own writes give a replication lag sample.
    void apply(std::string_view payload, store::Origin origin, uint64_t sender);

private:
    Host& host_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
};

}  // namespace mccache::cluster
