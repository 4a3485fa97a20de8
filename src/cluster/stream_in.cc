#include "cluster/stream_in.h"

#include <algorithm>
#include <cinttypes>

#include "cluster/membership.h"

namespace mccache::cluster {

using metrics::ClusterMetric;

namespace {
constexpr uint64_t kWindow = 1 << 16;  // seqs tracked above the high-water mark
constexpr int kMaxNackTries = 8;
constexpr uint64_t kMaxNackGap = 256;
constexpr size_t kMaxRangesPerNack = 64;
}  // namespace

void StreamIn::start(uv_loop_t* loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    timer_open_ = true;
}

void StreamIn::stop() {
    if (!timer_open_) return;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    timer_open_ = false;
}

void StreamIn::on_message(Member& m, uint64_t seq) {
    PeerStream& s = m.stream;
    if (!s.started) {
        // First contact: history before this message is anti-entropy's job;
        // check again once what was in flight has landed.
        s.started = true;
        s.hw = s.max_seen = seq - 1;
        if (seq > 1 && m.resync_due_ms == 0) m.resync_due_ms = host_.now_ms() + 1000;
    }
    s.above.insert(seq);
    s.max_seen = std::max(s.max_seen, seq);
    advance(m);
    if (s.max_seen > s.hw) note_gap(m);
}

void StreamIn::on_heartbeat(Member& m, uint64_t last_seq) {
    PeerStream& s = m.stream;
    if (!s.started) {
        s.started = true;
        s.hw = s.max_seen = last_seq;
        // History before the first contact is anti-entropy's; check again
        // once what was in flight has landed.
        if (last_seq > 0 && m.resync_due_ms == 0) m.resync_due_ms = host_.now_ms() + 1000;
    } else if (last_seq > s.max_seen) {
        s.max_seen = last_seq;  // a lost tail
        note_gap(m);
    }
}

void StreamIn::on_gone(Member& m, const std::vector<wire::SeqRange>& ranges) {
    for (const wire::SeqRange& r : ranges)
        if (r.to <= m.stream.max_seen && r.to > m.stream.hw) give_up(m, std::max(r.from, m.stream.hw + 1), r.to);
}

void StreamIn::advance(Member& m) {
    PeerStream& s = m.stream;
    while (!s.above.empty() && *s.above.begin() == s.hw + 1) {
        s.hw++;
        s.above.erase(s.above.begin());
    }
    if (s.max_seen - s.hw > kWindow) give_up(m, s.hw + 1, s.max_seen - kWindow);  // no overflow
    if (s.max_seen == s.hw) {
        s.nack_due_ms = 0;
        s.nack_tries = 0;
    }
}

void StreamIn::give_up(Member& m, uint64_t from, uint64_t to) {
    PeerStream& s = m.stream;
    if (from > to) return;
    // Counted arithmetically: a forged heartbeat may claim any last_seq.
    uint64_t received = 0;
    for (auto it = s.above.lower_bound(from); it != s.above.end() && *it <= to; ++it) ++received;
    uint64_t lost = (to - from + 1) - received;
    // Everything in [from, to] counts as handled; what was lost comes back
    // through anti-entropy with this member.
    for (auto it = s.above.begin(); it != s.above.end() && *it <= to;) it = s.above.erase(it);
    if (s.hw < to) s.hw = to;
    advance(m);
    if (!lost) return;
    counters_.add(ClusterMetric::gaps_unrepairable, lost);
    // One round per member per tick at most: a receiver far behind gives
    // up on every new message, and a round per message would bury it.
    if (m.resync_due_ms == 0) {
        host_.log().log(MCCACHE_LOG_INFO, "%" PRIu64 " messages from %016" PRIx64 " cannot be resent: anti-entropy",
                        lost, m.id);
        m.resync_due_ms = host_.now_ms();
    }
}

void StreamIn::note_gap(Member& m) {
    PeerStream& s = m.stream;
    // A gap this large (a healed partition, a member far behind) is cheaper
    // to repair by anti-entropy, which sends only what differs, than by
    // resending every message. Counted as messages missing, not as the
    // span: one message still being asked for at a high rate would
    // otherwise give everything up.
    if (s.max_seen - s.hw - s.above.size() > kMaxNackGap) {
        give_up(m, s.hw + 1, s.max_seen);
        return;
    }
    if (s.nack_due_ms == 0) {
        // A random part, so that members that lost the same datagram do not
        // all ask at once: the first request's answer (multicast when many
        // asked) often reaches the others before they ask.
        const int64_t delay = host_.settings().nack_delay_ms;
        s.nack_due_ms = host_.now_ms() + delay + static_cast<int64_t>(jitter_() % static_cast<uint64_t>(delay + 1));
        s.nack_tries = 0;
        arm(s.nack_due_ms);
    }
}

void StreamIn::arm(int64_t due) {
    if (!timer_open_) return;
    if (timer_due_ != 0 && timer_due_ <= due) return;
    timer_due_ = due;
    int64_t wait = std::max<int64_t>(0, due - host_.now_ms());
    uv_timer_start(&timer_, &StreamIn::on_timer, static_cast<uint64_t>(wait), 0);
}

void StreamIn::on_timer(uv_timer_t* t) {
    auto* self = static_cast<StreamIn*>(t->data);
    self->timer_due_ = 0;
    self->run();
}

void StreamIn::run() {
    const int64_t t = host_.now_ms();
    int64_t next = 0;
    members_.for_each([&](Member& m) {
        PeerStream& s = m.stream;
        if (s.nack_due_ms == 0) return;
        if (s.max_seen <= s.hw) {
            s.nack_due_ms = 0;
            return;
        }
        if (s.nack_due_ms > t) {
            next = next ? std::min(next, s.nack_due_ms) : s.nack_due_ms;
            return;
        }
        if (s.hw > s.nack_hw) s.nack_tries = 0;  // progress: this is a newer gap
        if (s.nack_tries >= kMaxNackTries || m.state != MemberState::Alive) {
            give_up(m, s.hw + 1, s.max_seen);
            s.nack_due_ms = 0;
            return;
        }
        // Messages of which fragments arrived are asked for by the
        // fragments they lack, the rest whole.
        wire::Nack nack;
        std::set<uint64_t> partial;
        for (auto& [id, p] : m.partials.by_id) {
            if ((id & 3) != wire::seq_space(wire::kFlagSequenced)) continue;
            const uint64_t seq = id >> 2;
            if (seq <= s.hw || seq > s.max_seen || s.above.count(seq)) continue;
            wire::PartialMessage pm = p.missing(t, host_.settings().nack_delay_ms);
            pm.seq = seq;
            if (pm.missing.empty() && !pm.tail) continue;  // still arriving
            partial.insert(seq);
            nack.partial.push_back(std::move(pm));
        }
        uint64_t from = s.hw + 1;
        for (auto it = s.above.begin(); from <= s.max_seen && nack.ranges.size() < kMaxRangesPerNack;) {
            uint64_t stop = it == s.above.end() ? s.max_seen : *it - 1;
            // [from, stop] is missing, but for the messages asked for by fragment.
            for (uint64_t a = from; a <= stop && nack.ranges.size() < kMaxRangesPerNack;) {
                auto p = partial.lower_bound(a);
                uint64_t b = p == partial.end() || *p > stop ? stop : *p - 1;
                if (a <= b) nack.ranges.push_back({a, b});
                if (p == partial.end() || *p > stop) break;
                a = *p + 1;
            }
            if (it == s.above.end()) break;
            from = *it + 1;
            ++it;
        }
        if (!nack.ranges.empty() || !nack.partial.empty()) {
            const Peer to = m.peer();
            control_.send(wire::Type::Nack, wire::encode_nack(nack), &to);
            counters_.add(ClusterMetric::nacks_sent);
        }
        s.nack_tries++;
        s.nack_hw = s.hw;
        s.nack_due_ms = t + host_.settings().nack_delay_ms * (int64_t{1} << std::min(s.nack_tries, 6));
        next = next ? std::min(next, s.nack_due_ms) : s.nack_due_ms;
    });
    if (next) arm(next);
}

}  // namespace mccache::cluster
