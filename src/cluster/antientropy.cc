// Anti-entropy: the safety net under retransmission. One round between an
// initiator I and a responder R:
//   I -> R  DigestL1: per cache, 64 group digests (and the clear floor)
//   R -> I  DigestL2: for each group that differs, R's 64 bucket digests
//   I -> R  Keys:     for each bucket that differs, I's (key, version) list
//   R -> I  Repair:   records where R is newer;  Pull: keys where I is newer
//   I -> R  Repair:   the pulled records
// Traffic grows with the number of differing buckets, not the cache size;
// repairs are paced so that a joining member's full transfer does not
// overrun socket buffers.
#include <netinet/in.h>

#include <algorithm>
#include <unordered_map>

#include "cluster/cluster.h"
#include "node/node.h"

namespace mccache::cluster {

namespace {

constexpr size_t kRepairBytesPerTickMin = 256 * 1024;
constexpr size_t kRepairBytesPerTickMax = 1024 * 1024;
constexpr uint64_t kRepairTickMs = 2;
constexpr size_t kMaxPullKeys = 4096;
constexpr int64_t kResyncDelayMs = 300;
// How long a (cache, group) stays with the member it is being converged
// with before another member may take it over. That member's follow-up
// rounds (every kResyncDelayMs while a difference remains) renew it, so a
// long transfer keeps it; a difference only another member holds waits at
// most this long.
constexpr int64_t kClaimMs = 1000;

void group_sums(const std::vector<uint64_t>& buckets, uint64_t* groups) {
    for (size_t g = 0; g < wire::kGroups; ++g) {
        uint64_t sum = 0;
        for (size_t b = 0; b < wire::kBucketsPerGroup; ++b) sum += buckets[g * wire::kBucketsPerGroup + b] * (b + 1);
        groups[g] = sum;
    }
}

std::vector<uint64_t> digests_of(store::Store& s) {
    std::vector<uint64_t> buckets(store::Store::kBuckets);
    s.bucket_digests(buckets.data());
    return buckets;
}

// (destination, cache, key) as one string for repairs_pending_; the
// address by its family's fields only (no padding bytes).
std::string repair_id(const transport::Address& to, std::string_view cache, std::string_view key) {
    std::string id;
    if (to.ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<const sockaddr_in6*>(&to.ss);
        id.assign(reinterpret_cast<const char*>(&a->sin6_addr), sizeof a->sin6_addr);
        id.append(reinterpret_cast<const char*>(&a->sin6_port), sizeof a->sin6_port);
    } else {
        auto* a = reinterpret_cast<const sockaddr_in*>(&to.ss);
        id.assign(reinterpret_cast<const char*>(&a->sin_addr), sizeof a->sin_addr);
        id.append(reinterpret_cast<const char*>(&a->sin_port), sizeof a->sin_port);
    }
    id += cache;
    id += '\0';  // cache names hold no NUL
    id += key;
    return id;
}

}  // namespace

void Cluster::sync_now() { publish_digests(nullptr); }

void Cluster::publish_digests(const transport::Address* to) {
    if (!running_) return;
    metrics_.ae_rounds.fetch_add(1, std::memory_order_relaxed);
    node_.for_each_cache([&](node::Cache& c) {
        std::vector<uint64_t> buckets = digests_of(c.store());
        wire::DigestL1 d;
        d.cache = c.name();
        d.mode = static_cast<uint8_t>(c.mode());
        store::Version floor = c.store().clear_floor();
        d.floor_hlc = floor.hlc;
        d.floor_node = floor.node;
        group_sums(buckets, d.groups);
        send_message(wire::Type::DigestL1, false, wire::encode_digest_l1(d), to);
    });
}

void Cluster::on_digest_l1(Member& m, std::string_view payload) {
    wire::DigestL1 d;
    std::string why;
    if (wire::decode_digest_l1(payload, &d) != wire::Error::None ||
        !config::valid_cache_name(d.cache, &why)) {
        metrics_.rejected_malformed++;
        return;
    }
    metrics_.ae_digests_received++;
    node::Cache* cache = node_.find_or_open_cache(d.cache);
    if (!cache) return;
    store::Store& s = cache->store();
    store::Version theirs{d.floor_hlc, d.floor_node};
    store::Version mine = s.clear_floor();
    if (theirs > mine) {
        node_.hlc().observe(theirs.hlc);
        s.clear(theirs, store::Origin::Repair);  // a clear we missed
    } else if (mine > theirs) {
        wire::Record r;
        r.op = wire::Op::Clear;
        r.cache = cache->name();
        r.hlc = mine.hlc;
        r.node = mine.node;
        send_records(wire::Type::Repair, {r}, &m.addr, true);
    }
    std::vector<uint64_t> buckets = digests_of(s);
    uint64_t groups[wire::kGroups];
    group_sums(buckets, groups);
    const int64_t t = now();
    bool deferred = false;
    for (size_t g = 0; g < wire::kGroups; ++g) {
        if (groups[g] == d.groups[g]) continue;
        // A group we hold nothing of (a joiner, or after a clear) is taken
        // from one member at a time: every member offers it at once, and
        // each would otherwise send all of it. Groups we hold entries of
        // are compared with everyone, so no difference waits.
        if (groups[g] == 0) {
            if (claimed_by_other(cache->name(), static_cast<uint16_t>(g), m, t)) {
                deferred = true;
                continue;
            }
            group_claims_[{cache->name(), static_cast<uint16_t>(g)}] = GroupClaim{m.id, t + kClaimMs};
        }
        wire::DigestL2 l2;
        l2.cache = cache->name();
        l2.group = static_cast<uint16_t>(g);
        std::copy_n(buckets.begin() + static_cast<ptrdiff_t>(g * wire::kBucketsPerGroup),
                    wire::kBucketsPerGroup, l2.buckets);
        send_message(wire::Type::DigestL2, false, wire::encode_digest_l2(l2), &m.addr);
    }
    if (deferred) {
        metrics_.ae_groups_deferred.fetch_add(1, std::memory_order_relaxed);
        int64_t due = t + kClaimMs;
        if (m.resync_due_ms == 0 || m.resync_due_ms > due) m.resync_due_ms = due;
    }
    if (group_claims_.size() > 4 * wire::kGroups * 64) {
        for (auto it = group_claims_.begin(); it != group_claims_.end();)
            it = it->second.until_ms <= t ? group_claims_.erase(it) : std::next(it);
    }
}

bool Cluster::claimed_by_other(const std::string& cache, uint16_t group, const Member& m, int64_t t) {
    auto it = group_claims_.find({cache, group});
    if (it == group_claims_.end() || it->second.member == m.id || it->second.until_ms <= t) return false;
    auto other = members_.find(it->second.member);
    return other != members_.end() && other->second.state == MemberState::Alive;
}

void Cluster::on_digest_l2(Member& m, std::string_view payload) {
    wire::DigestL2 d;
    std::string why;
    if (wire::decode_digest_l2(payload, &d) != wire::Error::None ||
        !config::valid_cache_name(d.cache, &why)) {
        metrics_.rejected_malformed++;
        return;
    }
    node::Cache* cache = node_.find_or_open_cache(d.cache);
    if (!cache) return;
    const int64_t t = now();
    if (d.group >= wire::kGroups) return;  // decode_digest_l2 bounds it; kept local for the index below
    std::vector<uint64_t> buckets = digests_of(cache->store());
    bool empty = std::all_of(buckets.begin() + static_cast<ptrdiff_t>(d.group * wire::kBucketsPerGroup),
                             buckets.begin() + static_cast<ptrdiff_t>((d.group + 1) * wire::kBucketsPerGroup),
                             [](uint64_t b) { return b == 0; });
    if (empty) {  // as in on_digest_l1: one member at a time fills an empty group
        if (claimed_by_other(cache->name(), d.group, m, t)) {
            metrics_.ae_groups_deferred.fetch_add(1, std::memory_order_relaxed);
            if (m.resync_due_ms == 0 || m.resync_due_ms > t + kClaimMs) m.resync_due_ms = t + kClaimMs;
            return;
        }
        group_claims_[{cache->name(), d.group}] = GroupClaim{m.id, t + kClaimMs};
    }
    // The member still differs from us: check again once these repairs land.
    if (m.resync_due_ms == 0) m.resync_due_ms = t + kResyncDelayMs;
    for (size_t i = 0; i < wire::kBucketsPerGroup; ++i) {
        size_t b = d.group * wire::kBucketsPerGroup + i;
        if (buckets[b] == d.buckets[i]) continue;
        metrics_.ae_buckets_compared++;
        std::vector<store::Store::KeyVersion> list = cache->store().list_bucket(b);
        std::string out;
        wire::Writer w(out);
        wire::encode_keys_prefix(w, cache->name(), static_cast<uint16_t>(b), 0,
                                 static_cast<uint32_t>(list.size()));
        for (const auto& kv : list)
            wire::encode_key_version(w, {kv.key, kv.version.hlc, kv.version.node, kv.tombstone});
        send_message(wire::Type::Keys, false, out, &m.addr);
    }
}

void Cluster::on_keys(Member& m, std::string_view payload) {
    wire::Keys k;
    std::string why;
    if (wire::decode_keys(payload, &k) != wire::Error::None ||
        !config::valid_cache_name(k.cache, &why)) {
        metrics_.rejected_malformed++;
        return;
    }
    node::Cache* cache = node_.find_or_open_cache(k.cache);
    if (!cache) return;
    bool replicate = cache->mode() == MCCACHE_MODE_REPLICATE;
    std::vector<store::Store::KeyVersion> mine = cache->store().list_bucket(k.bucket);
    std::unordered_map<std::string_view, const store::Store::KeyVersion*> index;
    index.reserve(mine.size());
    for (const auto& kv : mine) index.emplace(kv.key, &kv);

    std::vector<std::string> repair;
    std::vector<std::string_view> pull;
    std::unordered_map<std::string_view, bool> seen;
    for (const wire::KeyVersion& theirs : k.entries) {
        if (theirs.key.size() > node_.settings().max_key_size) continue;
        seen.emplace(theirs.key, true);
        store::Version tv{theirs.hlc, theirs.node};
        auto it = index.find(theirs.key);
        if (it != index.end()) {
            if (it->second->version > tv) repair.emplace_back(theirs.key);
            else if (tv > it->second->version) pull.push_back(theirs.key);
        } else if (replicate || theirs.tombstone) {
            pull.push_back(theirs.key);
        }
    }
    for (const auto& kv : mine)
        if (!seen.count(kv.key) && (replicate || kv.tombstone)) repair.push_back(kv.key);
    if (!repair.empty()) queue_repair(m.addr, cache->name(), std::move(repair));
    for (size_t i = 0; i < pull.size(); i += kMaxPullKeys) {
        std::vector<std::string_view> chunk(pull.begin() + static_cast<ptrdiff_t>(i),
                                            pull.begin() + static_cast<ptrdiff_t>(std::min(pull.size(), i + kMaxPullKeys)));
        send_message(wire::Type::Pull, false, wire::encode_pull(cache->name(), chunk), &m.addr);
        metrics_.ae_keys_pulled.fetch_add(chunk.size(), std::memory_order_relaxed);
    }
}

void Cluster::on_pull(Member& m, std::string_view payload) {
    wire::Pull p;
    std::string why;
    if (wire::decode_pull(payload, &p) != wire::Error::None ||
        !config::valid_cache_name(p.cache, &why)) {
        metrics_.rejected_malformed++;
        return;
    }
    node::Cache* cache = node_.find_cache(p.cache);
    if (!cache) return;
    std::vector<std::string> keys(p.keys.begin(), p.keys.end());
    queue_repair(m.addr, cache->name(), std::move(keys));
}

void Cluster::queue_repair(const transport::Address& to, const std::string& cache,
                           std::vector<std::string> keys) {
    // Bound the work a peer can queue on us.
    if (repairs_pending_.size() + keys.size() > (4u << 20)) {
        metrics_.rejected_oversize++;
        return;
    }
    std::vector<std::string> fresh;
    fresh.reserve(keys.size());
    for (std::string& k : keys)
        if (repairs_pending_.insert(repair_id(to, cache, k)).second) fresh.push_back(std::move(k));
    if (fresh.empty()) return;
    repairs_.push_back(RepairJob{to, cache, std::move(fresh), 0});
    if (timers_open_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&repair_timer_)))
        uv_timer_start(&repair_timer_, &Cluster::on_repair_timer, 0, 0);
}

void Cluster::on_repair_timer(uv_timer_t* t) { static_cast<Cluster*>(t->data)->pump_repairs(); }

void Cluster::pump_repairs() {
    // A tick's repairs leave in sendmmsg/GSO batches.
    udp_.begin_batch();
    // A quarter of the socket buffer per tick (peers are configured alike):
    // a joiner's buffer absorbs the burst while its loop applies the last.
    size_t budget = std::clamp<size_t>(static_cast<size_t>(udp_.rcvbuf_granted()) / 4,
                                       kRepairBytesPerTickMin, kRepairBytesPerTickMax);
    while (!repairs_.empty() && budget > 0 && running_) {
        RepairJob& job = repairs_.front();
        node::Cache* cache = node_.find_cache(job.cache);
        std::vector<wire::Record> records;
        std::vector<store::Value*> refs;
        size_t bytes = 0;
        while (cache && job.next < job.keys.size() && bytes < budget) {
            const std::string& key = job.keys[job.next++];
            repairs_pending_.erase(repair_id(job.to, job.cache, key));
            store::Store::Exported e;
            if (!cache->store().export_entry(key.data(), key.size(), &e)) continue;
            wire::Record r;
            r.cache = job.cache;
            r.key = key;
            r.hlc = e.version.hlc;
            r.node = e.version.node;
            if (e.value) {
                r.op = wire::Op::Put;
                r.value = std::string_view(reinterpret_cast<const char*>(e.value->bytes()), e.value->len);
                r.expires_ms = e.expires_ms;
                refs.push_back(e.value);
            } else {
                r.op = wire::Op::Delete;
            }
            bytes += wire::record_size(r);
            records.push_back(r);
        }
        if (!records.empty()) send_records(wire::Type::Repair, records, &job.to, true);
        for (store::Value* v : refs) store::value_unref(v);
        budget = bytes >= budget ? 0 : budget - bytes;
        if (!cache || job.next >= job.keys.size()) {
            for (size_t i = job.next; i < job.keys.size(); ++i)  // a cache gone meanwhile
                repairs_pending_.erase(repair_id(job.to, job.cache, job.keys[i]));
            repairs_.pop_front();
        }
    }
    udp_.end_batch();
    if (!repairs_.empty() && running_)
        uv_timer_start(&repair_timer_, &Cluster::on_repair_timer, kRepairTickMs, 0);
}

}  // namespace mccache::cluster
