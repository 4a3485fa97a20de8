#include "cluster/reassembly.h"

namespace mccache::cluster {

wire::PartialMessage Partials::Partial::missing(int64_t now, int64_t tail_after_ms) const {
    wire::PartialMessage pm;
    for (size_t i = 0; i < frags.size(); ++i)
        if (!frags[i].empty()) pm.highest = static_cast<uint16_t>(i);
    for (size_t i = 0; i < pm.highest; ++i) {
        if (!frags[i].empty()) continue;
        if (!pm.missing.empty() && pm.missing.back().second + 1u == i)
            pm.missing.back().second = static_cast<uint16_t>(i);
        else
            pm.missing.emplace_back(static_cast<uint16_t>(i), static_cast<uint16_t>(i));
    }
    pm.tail = now - updated_ms >= tail_after_ms;
    return pm;
}

using metrics::ClusterMetric;

bool Reassembler::add(Partials& parts, const wire::Header& h, std::string_view frag, int64_t now,
                      std::string* whole) {
    // Fragments are cut at the sender's packet_mtu, which need not be ours:
    // every fragment but the last has the same size, and that size bounds
    // the whole message, which may be no larger than the largest record a
    // member accepts. The smallest packet_mtu (576) bounds how many
    // fragments a message can need.
    const size_t max_frag = wire::kMaxDatagram - wire::kHeaderSize - wire::kTagSize;
    const size_t min_frag = 576 - wire::kHeaderSize - wire::kTagSize;
    const size_t limit = settings_.max_value_size + settings_.max_key_size + 64 * 1024;
    const bool last = h.frag_index + 1 == h.frag_count;
    if (frag.size() > max_frag || static_cast<size_t>(h.frag_count - 1) * min_frag > limit ||
        (!last && static_cast<size_t>(h.frag_count - 1) * frag.size() > limit)) {
        counters_.add(ClusterMetric::rejected_oversize);
        return false;
    }
    if (frag.empty() || (!last && frag.size() < min_frag)) {
        // No sender cuts fragments this small; they could only make us hold
        // bookkeeping for nothing.
        counters_.add(ClusterMetric::rejected_malformed);
        return false;
    }
    const size_t budget = settings_.reassembly_buffer;
    uint64_t id = h.seq << 2 | wire::seq_space(h.flags);
    auto it = parts.by_id.find(id);
    if (it == parts.by_id.end()) {
        // The bookkeeping of a partial message counts against the budgets
        // like its payload: a forger sending one byte of many huge messages
        // must not make us hold a slot per fragment for free.
        size_t overhead = sizeof(Partials::Partial) + 64 + static_cast<size_t>(h.frag_count) * sizeof(std::string);
        if (bytes_ + overhead + frag.size() > budget || parts.bytes + overhead + frag.size() > budget / 4) {
            counters_.add(ClusterMetric::reassembly_dropped);
            return false;
        }
        Partials::Partial p;
        p.count = h.frag_count;
        p.frags.resize(h.frag_count);
        p.started_ms = now;
        p.type = h.type;
        p.charge = overhead;
        parts.bytes += overhead;
        bytes_ += overhead;
        it = parts.by_id.emplace(id, std::move(p)).first;
    }
    Partials::Partial& p = it->second;
    // Sizes must agree: the non-last fragments with each other, the last
    // no larger than they are.
    size_t frag_size = p.frag_size ? p.frag_size : last ? 0 : frag.size();
    if (p.count != h.frag_count || (!last && frag.size() != frag_size) ||
        (last && p.frag_size && frag.size() > p.frag_size) || (!last && p.last_size > frag_size)) {
        counters_.add(ClusterMetric::rejected_malformed);
        return false;
    }
    if (!p.frags[h.frag_index].empty()) {
        counters_.add(ClusterMetric::duplicates);
        return false;
    }
    if (bytes_ + frag.size() > budget || parts.bytes + frag.size() > budget / 4) {
        counters_.add(ClusterMetric::reassembly_dropped);
        return false;
    }
    p.frags[h.frag_index].assign(frag);
    p.updated_ms = now;
    if (!last) p.frag_size = frag.size();
    else p.last_size = frag.size();
    p.bytes += frag.size();
    p.charge += frag.size();
    p.received++;
    parts.bytes += frag.size();
    bytes_ += frag.size();
    if (p.received < p.count) return false;
    whole->clear();
    whole->reserve(p.bytes);
    for (auto& f : p.frags) whole->append(f);
    parts.bytes -= p.charge;
    bytes_ -= p.charge;
    parts.by_id.erase(it);
    return true;
}

void Reassembler::expire(Partials& parts, int64_t now) {
    for (auto it = parts.by_id.begin(); it != parts.by_id.end();) {
        if (now - it->second.started_ms > settings_.reassembly_timeout_ms) {
            parts.bytes -= it->second.charge;
            bytes_ -= it->second.charge;
            counters_.add(ClusterMetric::reassembly_dropped);
            it = parts.by_id.erase(it);
        } else {
            ++it;
        }
    }
}

void Reassembler::drop(Partials& parts) {
    bytes_ -= parts.bytes;
    parts.by_id.clear();
    parts.bytes = 0;
}

}  // namespace mccache::cluster
