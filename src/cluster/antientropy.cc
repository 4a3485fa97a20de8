#include "cluster/antientropy.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace mccache::cluster {

using metrics::ClusterMetric;

namespace {

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

void delay_resync(Member& m, int64_t due) {
    if (m.resync_due_ms == 0 || m.resync_due_ms > due) m.resync_due_ms = due;
}

// What the store can take before it evicts anything.
struct Room {
    uint64_t entries, bytes;
};
Room room_of(store::Store& s) { return Room{s.free_entries(), s.free_bytes()}; }

// Whether group `g`'s difference from this member is explained: with the
// digests agreed on for its buckets (those still as they were on our
// side) in place of ours, our group digest would be theirs.
bool explained(const Member& m, const std::string& cache, size_t g, const std::vector<uint64_t>& buckets,
               uint64_t theirs) {
    auto it = m.agreed.find(cache);
    if (it == m.agreed.end()) return false;
    uint64_t sum = 0;
    bool any = false;
    for (size_t i = 0; i < wire::kBucketsPerGroup; ++i) {
        const size_t b = g * wire::kBucketsPerGroup + i;
        uint64_t t = buckets[b];
        auto a = it->second.find(static_cast<uint16_t>(b));
        if (a != it->second.end() && a->second.mine == buckets[b]) {
            t = a->second.theirs;
            any = true;
        }
        sum += t * (i + 1);
    }
    return any && sum == theirs;
}

}  // namespace

void AntiEntropy::round(const Peer* to) {
    counters_.add(ClusterMetric::ae_rounds);
    host_.for_each_cache([&](Replica& c) {
        std::vector<uint64_t> buckets = digests_of(c.store());
        wire::DigestL1 d;
        d.cache = c.name();
        d.mode = static_cast<uint8_t>(c.mode());
        store::Version floor = c.store().clear_floor();
        d.floor_hlc = floor.hlc;
        d.floor_node = floor.node;
        group_sums(buckets, d.groups);
        control_.send(wire::Type::DigestL1, wire::encode_digest_l1(d), to);
    });
}

void AntiEntropy::tick(int64_t t) {
    members_.for_each([&](Member& m) {
        if (!m.resync_due_ms || t < m.resync_due_ms || m.state != MemberState::Alive) return;
        const Peer to = m.peer();
        // Repairs still on their way, either way: a round now would find
        // their keys missing and ask for them again. It waits until they
        // have landed.
        if (repairs_.busy(to) || t - m.repair_in.last_ms < kResyncDelayMs) {
            m.resync_due_ms = t + kResyncDelayMs;
            return;
        }
        m.resync_due_ms = 0;
        round(&to);
    });
}

void AntiEntropy::on_digest_l1(Member& m, std::string_view payload) {
    wire::DigestL1 d;
    std::string why;
    if (wire::decode_digest_l1(payload, &d) != wire::Error::None || !config::valid_cache_name(d.cache, &why)) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    counters_.add(ClusterMetric::ae_digests_received);
    Replica* cache = host_.find_cache(d.cache, true);
    if (!cache) return;
    // Our repairs to this member are still on their way: comparing now
    // would count their keys as missing again. Our own round with it
    // follows once they have landed (tick()).
    if (repairs_.busy(m.peer())) {
        counters_.add(ClusterMetric::ae_groups_deferred);
        delay_resync(m, host_.now_ms() + kResyncDelayMs);
        return;
    }
    store::Store& s = cache->store();
    store::Version theirs{d.floor_hlc, d.floor_node};
    store::Version mine = s.clear_floor();
    if (theirs > mine) {
        host_.hlc().observe(theirs.hlc);
        s.clear(theirs, store::Origin::Repair);  // a clear we missed
    } else if (mine > theirs) {
        wire::Record r;
        r.op = wire::Op::Clear;
        r.cache = cache->name();
        r.hlc = mine.hlc;
        r.node = mine.node;
        repairs_.send_record(m.peer(), r);
    }
    std::vector<uint64_t> buckets = digests_of(s);
    uint64_t groups[wire::kGroups];
    group_sums(buckets, groups);
    const int64_t t = host_.now_ms();
    const Peer peer = m.peer();
    bool deferred = false;
    for (size_t g = 0; g < wire::kGroups; ++g) {
        if (groups[g] == d.groups[g]) continue;
        if (explained(m, cache->name(), g, buckets, d.groups[g])) {
            counters_.add(ClusterMetric::ae_groups_agreed);
            continue;
        }
        // A group we hold nothing of (a joiner, or after a clear) is taken
        // from one member at a time: every member offers it at once, and
        // each would otherwise send all of it. Groups we hold entries of
        // are compared with everyone, so no difference waits.
        if (groups[g] == 0) {
            if (claimed_by_other(cache->name(), static_cast<uint16_t>(g), m, t)) {
                deferred = true;
                continue;
            }
            claim(cache->name(), static_cast<uint16_t>(g), m, t);
        }
        // Reopened: the member answers with a Keys message for each bucket
        // that still differs, which records its agreement again; a bucket
        // that no longer differs must not keep a stale one (it would keep
        // the group from ever being explained).
        if (auto it = m.agreed.find(cache->name()); it != m.agreed.end())
            for (size_t i = 0; i < wire::kBucketsPerGroup; ++i)
                it->second.erase(static_cast<uint16_t>(g * wire::kBucketsPerGroup + i));
        wire::DigestL2 l2;
        l2.cache = cache->name();
        l2.group = static_cast<uint16_t>(g);
        std::copy_n(buckets.begin() + static_cast<ptrdiff_t>(g * wire::kBucketsPerGroup), wire::kBucketsPerGroup,
                    l2.buckets);
        control_.send(wire::Type::DigestL2, wire::encode_digest_l2(l2), &peer);
    }
    if (deferred) {
        counters_.add(ClusterMetric::ae_groups_deferred);
        delay_resync(m, t + kClaimMs);
    }
    if (claims_.size() > 4 * wire::kGroups * 64) {
        for (auto it = claims_.begin(); it != claims_.end();)
            it = it->second.until_ms <= t ? claims_.erase(it) : std::next(it);
    }
}

bool AntiEntropy::claimed_by_other(const std::string& cache, uint16_t group, const Member& m, int64_t t) {
    auto it = claims_.find({cache, group});
    if (it == claims_.end() || it->second.member == m.id || it->second.until_ms <= t) return false;
    return members_.alive(it->second.member);
}

void AntiEntropy::claim(const std::string& cache, uint16_t group, const Member& m, int64_t t) {
    claims_[{cache, group}] = GroupClaim{m.id, t + kClaimMs};
}

void AntiEntropy::on_digest_l2(Member& m, std::string_view payload) {
    wire::DigestL2 d;
    std::string why;
    if (wire::decode_digest_l2(payload, &d) != wire::Error::None || !config::valid_cache_name(d.cache, &why)) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    Replica* cache = host_.find_cache(d.cache, true);
    if (!cache) return;
    const int64_t t = host_.now_ms();
    if (d.group >= wire::kGroups) return;  // decode_digest_l2 bounds it; kept local for the index below
    std::vector<uint64_t> buckets = digests_of(cache->store());
    const auto first = buckets.begin() + static_cast<ptrdiff_t>(d.group * wire::kBucketsPerGroup);
    bool empty = std::all_of(first, first + wire::kBucketsPerGroup, [](uint64_t b) { return b == 0; });
    if (empty) {  // as in on_digest_l1: one member at a time fills an empty group
        if (claimed_by_other(cache->name(), d.group, m, t)) {
            counters_.add(ClusterMetric::ae_groups_deferred);
            delay_resync(m, t + kClaimMs);
            return;
        }
        claim(cache->name(), d.group, m, t);
    }
    // The member still differs from us: check again once these repairs land.
    if (m.resync_due_ms == 0) m.resync_due_ms = t + kResyncDelayMs;
    const Peer peer = m.peer();
    const Room room = room_of(cache->store());
    for (size_t i = 0; i < wire::kBucketsPerGroup; ++i) {
        size_t b = d.group * wire::kBucketsPerGroup + i;
        if (buckets[b] == d.buckets[i]) continue;
        counters_.add(ClusterMetric::ae_buckets_compared);
        std::vector<store::Store::KeyVersion> list = cache->store().list_bucket(b);
        wire::Keys k;
        k.cache = cache->name();
        k.bucket = static_cast<uint16_t>(b);
        k.digest = buckets[b];
        k.room_entries = room.entries;
        k.room_bytes = room.bytes;
        const store::Version horizon = cache->store().horizon(b);
        k.horizon_hlc = horizon.hlc;
        k.horizon_node = horizon.node;
        std::string out;
        wire::Writer w(out);
        wire::encode_keys_prefix(w, k, static_cast<uint32_t>(list.size()));
        for (const auto& kv : list)
            wire::encode_key_version(w, {kv.key, kv.version.hlc, kv.version.node, kv.tombstone});
        repairs_.send_message(peer, wire::Type::Keys, std::move(out));
    }
}

void AntiEntropy::on_keys(Member& m, std::string_view payload) {
    wire::Keys k;
    std::string why;
    if (wire::decode_keys(payload, &k) != wire::Error::None || !config::valid_cache_name(k.cache, &why)) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    Replica* cache = host_.find_cache(k.cache, true);
    if (!cache) return;
    store::Store& s = cache->store();
    // What each mode reconciles: the version of a key both hold, and
    // deletes, always; a key only one side holds, in replicate mode only,
    // and then only as far as the side that lacks it has room, so that
    // anti-entropy fills a member but never makes it evict (an entry one
    // member evicted and another kept is not pulled back and forth).
    const bool replicate = cache->mode() == MCCACHE_MODE_REPLICATE;
    const store::Version their_horizon{k.horizon_hlc, k.horizon_node};
    const store::Version my_horizon = s.horizon(k.bucket);
    std::vector<store::Store::KeyVersion> mine = s.list_bucket(k.bucket);
    std::unordered_map<std::string_view, const store::Store::KeyVersion*> index;
    index.reserve(mine.size());
    for (const auto& kv : mine) index.emplace(kv.key, &kv);

    std::vector<std::string> repair;
    std::vector<std::string_view> pull;
    std::unordered_map<std::string_view, bool> seen;
    Room my_room = room_of(s);
    for (const wire::KeyVersion& theirs : k.entries) {
        if (theirs.key.size() > host_.settings().max_key_size) continue;
        seen.emplace(theirs.key, true);
        const store::Version tv{theirs.hlc, theirs.node};
        auto it = index.find(theirs.key);
        if (it != index.end()) {
            if (it->second->version > tv) repair.emplace_back(theirs.key);
            else if (tv > it->second->version) pull.push_back(theirs.key);
        } else if (tv <= my_horizon) {
            // Ours refuses it (a collected delete may have superseded it):
            // asking for it would only be refused, round after round.
        } else if (theirs.tombstone) {
            pull.push_back(theirs.key);
        } else if (replicate && my_room.entries > 0 && my_room.bytes > 0) {
            pull.push_back(theirs.key);
            --my_room.entries;
        }
    }
    uint64_t their_entries = k.room_entries, their_bytes = k.room_bytes;
    for (const auto& kv : mine) {
        if (seen.count(kv.key) || kv.version <= their_horizon) continue;  // theirs refuses it
        if (kv.tombstone) {
            repair.push_back(kv.key);
            continue;
        }
        if (!replicate || their_entries == 0) continue;
        store::Metadata md;
        if (!s.metadata(kv.key.data(), kv.key.size(), &md) || md.charged_bytes > their_bytes) continue;
        their_bytes -= md.charged_bytes;
        --their_entries;
        repair.push_back(kv.key);
    }
    // Nothing either way: the bucket's difference is explained until one
    // of the two digests moves (see explained()).
    auto& agreed = m.agreed[cache->name()];
    if (repair.empty() && pull.empty()) {
        std::vector<uint64_t> buckets = digests_of(s);
        agreed[k.bucket] = Member::Agreement{buckets[k.bucket], k.digest};
    } else {
        agreed.erase(k.bucket);
    }
    const Peer peer = m.peer();
    if (!repair.empty()) repairs_.queue(peer, cache->name(), std::move(repair));
    for (size_t i = 0; i < pull.size(); i += kMaxPullKeys) {
        std::vector<std::string_view> chunk(pull.begin() + static_cast<ptrdiff_t>(i),
                                            pull.begin() + static_cast<ptrdiff_t>(std::min(pull.size(), i + kMaxPullKeys)));
        repairs_.send_message(peer, wire::Type::Pull, wire::encode_pull(cache->name(), chunk));
        counters_.add(ClusterMetric::ae_keys_pulled, chunk.size());
    }
}

void AntiEntropy::on_pull(Member& m, std::string_view payload) {
    wire::Pull p;
    std::string why;
    if (wire::decode_pull(payload, &p) != wire::Error::None || !config::valid_cache_name(p.cache, &why)) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    Replica* cache = host_.find_cache(p.cache, false);
    if (!cache) return;
    repairs_.queue(m.peer(), cache->name(), std::vector<std::string>(p.keys.begin(), p.keys.end()));
}

}  // namespace mccache::cluster
