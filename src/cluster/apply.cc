#include "cluster/apply.h"

#include <algorithm>
#include <new>
#include <vector>

#include "wire/wire.h"

namespace mccache::cluster {

using metrics::ClusterMetric;

void Applier::apply(std::string_view payload, store::Origin base_origin, uint64_t sender) {
    std::vector<wire::Record> records;
    if (wire::decode_records(payload, &records) != wire::Error::None) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    const config::NodeSettings& st = host_.settings();
    const int64_t t = host_.now_ms();
    for (const wire::Record& r : records) {
        std::string why;
        if (r.key.size() > st.max_key_size || r.value.size() > st.max_value_size ||
            !config::valid_cache_name(r.cache, &why) || r.node == 0) {
            counters_.add(ClusterMetric::rejected_records);
            continue;
        }
        Replica* cache = host_.find_cache(r.cache, true);
        if (!cache) {
            counters_.add(ClusterMetric::rejected_records);
            continue;
        }
        const store::Origin origin = (r.flags & wire::kRecordRepair) ? store::Origin::Repair : base_origin;
        counters_.add(ClusterMetric::records_received);
        host_.hlc().observe(r.hlc);
        const store::Version v{r.hlc, r.node};
        store::Store& s = cache->store();
        store::Applied res = store::Applied::Stale;
        bool live = false;
        switch (r.op) {
            case wire::Op::Put:
                if (cache->mode() == MCCACHE_MODE_INVALIDATE) {
                    res = s.remove(r.key.data(), r.key.size(), v, origin, &live);
                } else {
                    store::Value* val = store::value_new(r.value.data(), r.value.size());
                    if (!val) throw std::bad_alloc();
                    res = s.apply(r.key.data(), r.key.size(), val, v, r.expires_ms, origin,
                                  cache->mode() == MCCACHE_MODE_UPDATE);
                }
                break;
            case wire::Op::Delete:
                res = s.remove(r.key.data(), r.key.size(), v, origin, &live);
                break;
            case wire::Op::Clear:
                s.clear(v, origin);
                res = store::Applied::Updated;
                break;
        }
        if (res == store::Applied::Stale) counters_.add(ClusterMetric::stale_records);
        if (r.op == wire::Op::Put && (res == store::Applied::Inserted || res == store::Applied::Updated))
            cache->remote_put(r.key);
        if (origin == store::Origin::Repair && (res == store::Applied::Inserted || res == store::Applied::Updated))
            counters_.add(ClusterMetric::ae_keys_repaired);
        if (origin == store::Origin::Remote && r.node == sender) {
            const uint64_t lag = static_cast<uint64_t>(std::max<int64_t>(0, t - store::hlc_ms(r.hlc)));
            counters_.add(ClusterMetric::replication_lag_samples);
            counters_.add(ClusterMetric::replication_lag_sum_ms, lag);
            counters_.raise(ClusterMetric::replication_lag_max_ms, lag);
        }
    }
}

}  // namespace mccache::cluster
