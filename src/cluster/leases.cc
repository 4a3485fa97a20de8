#include "cluster/leases.h"

#include <algorithm>

namespace mccache::cluster {

using metrics::ClusterMetric;
using wire::LeaseKind;

namespace {

// Claims are resent to the members that have not answered after this long,
// then at doubling intervals: loopback answers in well under a millisecond,
// so the first resend mostly repairs a loss.
constexpr int64_t kResendFirstMs = 20, kResendMaxMs = 400;
// A waiter asks the holder what became of its claim at these intervals: the
// value itself comes on the replication stream, so a poll only repairs a
// lost end notice.
constexpr int64_t kPollFirstMs = 50, kPollMaxMs = 1000;
constexpr uint64_t kTickMs = 10;
// How long the end of our own load is remembered, at least, for waiters
// that missed the notice and poll.
constexpr int64_t kOutcomeMinMs = 1000;

store::Version claim_of(const wire::Lease& l) { return {l.claim_hlc, l.claim_node}; }
store::Version version_of(const wire::Lease& l) { return {l.version_hlc, l.version_node}; }

uint32_t clamp_ms(int64_t ms) { return static_cast<uint32_t>(std::clamp<int64_t>(ms, 0, UINT32_MAX)); }

}  // namespace

void Leases::start(uv_loop_t* loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    timer_open_ = true;
}

void Leases::stop() {
    if (!timer_open_) return;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    timer_open_ = timer_running_ = false;
    entries_.clear();
}

void Leases::arm() {
    if (timer_open_ && !timer_running_) {
        uv_timer_start(&timer_, &Leases::on_timer, kTickMs, kTickMs);
        timer_running_ = true;
    }
}

void Leases::on_timer(uv_timer_t* t) { static_cast<Leases*>(t->data)->tick(); }

bool Leases::live(const Entry& e, int64_t now) const {
    if (e.best.is_zero() || now >= e.best_until) return false;
    return e.best.node == host_.node_id() || members_.alive(e.best.node);
}

wire::Lease Leases::message(LeaseKind kind, const Key& k, store::Version claim) const {
    wire::Lease l;
    l.kind = kind;
    l.cache = k.first;
    l.key = k.second;
    l.claim_hlc = claim.hlc;
    l.claim_node = claim.node;
    return l;
}

void Leases::send(const wire::Lease& l, const Peer* to) {
    control_.send(wire::Type::Lease, wire::encode_lease(l), to);
}

void Leases::acquire(const std::string& cache, const std::string& key, store::Version held, uint32_t lease_ms) {
    const int64_t now = host_.now_ms();
    Key k{cache, key};
    Entry& e = entries_[k];
    e.held = held;
    e.lease_ms = lease_ms;
    switch (e.mine) {
        case Mine::Claiming:
        case Mine::Holding: return;
        case Mine::Waiting:
            if (live(e, now) && e.best == e.claim) return;
            take_over(k, e, now);
            return;
        case Mine::None:
            if (live(e, now) && e.best.node != host_.node_id()) {
                wait_on(k, e, e.best, clamp_ms(e.best_until - now), now);
                return;
            }
            claim(k, e, now);
            return;
    }
}

void Leases::take_over(const Key& k, Entry& e, int64_t now) {
    // The holder went down or stopped renewing its lease: it has no say in
    // who loads next (it may be alive, but silent, as a hung process is).
    counters_.add(ClusterMetric::leases_takeovers);
    claim(k, e, now, e.claim.node);
}

void Leases::claim(const Key& k, Entry& e, int64_t now, uint64_t skip) {
    const store::Version c{host_.hlc().tick(), host_.node_id()};
    e.mine = Mine::Claiming;
    e.claim = c;
    e.granted.clear();
    e.skip = skip;
    e.claimed_ms = now;
    e.best = c;
    e.best_until = now + e.lease_ms;
    e.interval_ms = kResendFirstMs;
    e.next_ms = now + e.interval_ms;
    wire::Lease l = message(LeaseKind::Claim, k, c);
    l.version_hlc = e.held.hlc;
    l.version_node = e.held.node;
    l.ms = e.lease_ms;
    if (members_.alive() > 0) {
        send(l, nullptr);
        counters_.add(ClusterMetric::leases_claims_sent);
    }
    arm();
    check_won(k, e);
}

void Leases::check_won(const Key& k, Entry& e) {
    if (e.mine != Mine::Claiming) return;
    // Every live member's grant, but a holder's we took over from. A member
    // that has not answered for a whole lease is presumed gone (a member
    // that stays silent that long is one the lease would not wait for).
    bool all = true;
    members_.for_each([&](Member& m) {
        if (m.state == MemberState::Alive && m.id != e.skip && !e.granted.count(m.id)) all = false;
    });
    if (!all && host_.now_ms() - e.claimed_ms < static_cast<int64_t>(e.lease_ms)) return;
    e.mine = Mine::Holding;
    counters_.add(ClusterMetric::leases_won);
    LeaseEvent ev;
    ev.kind = LeaseEvent::Kind::Won;
    ev.claim = e.claim;
    host_.lease_event(k.first, k.second, ev);
}

void Leases::wait_on(const Key& k, Entry& e, store::Version claim, uint32_t remaining_ms, int64_t now) {
    e.mine = Mine::Waiting;
    e.claim = claim;
    e.best = claim;
    e.best_until = now + remaining_ms;
    e.interval_ms = kPollFirstMs;
    e.next_ms = now + e.interval_ms;
    arm();
    LeaseEvent ev;
    ev.kind = LeaseEvent::Kind::Waiting;
    ev.claim = claim;
    host_.lease_event(k.first, k.second, ev);
}

void Leases::end(const std::string& cache, const std::string& key, const LeaseEvent& outcome) {
    const int64_t now = host_.now_ms();
    Key k{cache, key};
    auto it = entries_.find(k);
    if (it == entries_.end() || it->second.mine != Mine::Holding) return;
    Entry& e = it->second;
    e.mine = Mine::None;
    e.outcome_claim = e.claim;
    e.outcome_version = outcome.version;
    e.outcome_code = outcome.code;
    e.outcome_message = outcome.message.substr(0, wire::kMaxLeaseMessage);
    e.outcome_negative_ms = outcome.negative_ms;
    e.outcome_until = now + std::max<int64_t>(std::max<int64_t>(e.lease_ms, outcome.negative_ms), kOutcomeMinMs);
    switch (outcome.kind) {
        case LeaseEvent::Kind::Loaded: e.outcome = LeaseKind::Loaded; break;
        case LeaseEvent::Kind::Failed: e.outcome = LeaseKind::Failed; break;
        default: e.outcome = LeaseKind::Released; break;
    }
    if (e.best == e.claim) e.best = {};
    wire::Lease l = message(e.outcome, k, e.claim);
    l.version_hlc = outcome.version.hlc;
    l.version_node = outcome.version.node;
    if (e.outcome == LeaseKind::Failed) {
        l.code = outcome.code < 0 ? outcome.code : -1;
        l.message = e.outcome_message;
        l.ms = outcome.negative_ms;
    }
    if (members_.alive() > 0) send(l, nullptr);
    arm();  // for the entry's eventual cleanup
}

void Leases::cancel(const std::string& cache, const std::string& key) {
    Key k{cache, key};
    auto it = entries_.find(k);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    switch (e.mine) {
        case Mine::Holding: {
            LeaseEvent rel;
            rel.kind = LeaseEvent::Kind::Released;
            end(cache, key, rel);
            return;
        }
        case Mine::Claiming:
            // Some members may have granted it: withdraw it, or they would
            // make others wait for a load that never comes.
            if (members_.alive() > 0) send(message(LeaseKind::Released, k, e.claim), nullptr);
            if (e.best == e.claim) e.best = {};
            e.mine = Mine::None;
            return;
        case Mine::Waiting: e.mine = Mine::None; return;
        case Mine::None: return;
    }
}

bool Leases::recently_loaded(const Key& k, store::Version held, int64_t recent_ms, store::Version* v) {
    Replica* r = host_.find_cache(k.first, false);
    if (!r) return false;
    store::Metadata md;
    if (!r->store().metadata(k.second.data(), k.second.size(), &md) || md.version <= held) return false;
    if (host_.now_ms() - store::hlc_ms(md.version.hlc) > recent_ms) return false;
    *v = md.version;
    return true;
}

void Leases::on_message(Member& m, std::string_view payload) {
    wire::Lease l;
    if (wire::decode_lease(payload, &l) != wire::Error::None) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    // A claim is the claimant's own; a poll is about a claim of ours.
    if ((l.kind == LeaseKind::Claim && l.claim_node != m.id) ||
        (l.kind == LeaseKind::Poll && l.claim_node != host_.node_id())) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    const int64_t now = host_.now_ms();
    Key k{std::string(l.cache), std::string(l.key)};
    if (l.kind == LeaseKind::Poll) {
        auto it = entries_.find(k);
        const Peer to = m.peer();
        const store::Version c = claim_of(l);
        wire::Lease reply = message(LeaseKind::Released, k, c);
        if (it != entries_.end()) {
            Entry& e = it->second;
            if (e.mine == Mine::Holding && e.claim == c && now < e.best_until) {
                reply.kind = LeaseKind::Held;
                reply.version_hlc = c.hlc;
                reply.version_node = c.node;
                reply.ms = clamp_ms(e.best_until - now);
            } else if (e.outcome_claim == c && now < e.outcome_until) {
                reply.kind = e.outcome;
                reply.version_hlc = e.outcome_version.hlc;
                reply.version_node = e.outcome_version.node;
                if (e.outcome == LeaseKind::Failed) {
                    reply.code = e.outcome_code < 0 ? e.outcome_code : -1;
                    reply.message = e.outcome_message;
                    reply.ms = e.outcome_negative_ms;
                }
            }
        }
        send(reply, &to);
        return;
    }
    Entry& e = entries_[k];
    arm();
    if (l.kind == LeaseKind::Claim) answer_claim(m, l, e, now);
    else on_outcome(m, l, e, now);
}

void Leases::answer_claim(Member& m, const wire::Lease& l, Entry& e, int64_t now) {
    const Key k{std::string(l.cache), std::string(l.key)};
    const store::Version c = claim_of(l);
    const Peer to = m.peer();
    wire::Lease reply = message(LeaseKind::Granted, k, c);
    auto held_by = [&](store::Version h, int64_t until) {
        reply.kind = LeaseKind::Held;
        reply.version_hlc = h.hlc;
        reply.version_node = h.node;
        reply.ms = clamp_ms(until - now);
        send(reply, &to);
    };
    store::Version v;
    if (recently_loaded(k, version_of(l), l.ms, &v)) {
        // A load ended here moments ago: its value is on its way.
        reply.kind = LeaseKind::Loaded;
        reply.version_hlc = v.hlc;
        reply.version_node = v.node;
        send(reply, &to);
        return;
    }
    if (e.outcome == LeaseKind::Failed && e.outcome_negative_ms > 0 && now < e.outcome_until) {
        // Our load failed and the failure is cached: the claimant gets it.
        reply.kind = LeaseKind::Failed;
        reply.code = e.outcome_code < 0 ? e.outcome_code : -1;
        reply.message = e.outcome_message;
        reply.ms = e.outcome_negative_ms;
        send(reply, &to);
        return;
    }
    // Our own claim, still in its lease, keeps the key against later ones.
    if (e.mine == Mine::Holding && now < e.best_until) return held_by(e.claim, e.best_until);
    if (e.mine == Mine::Claiming) {
        if (e.claim < c) return held_by(e.claim, now + e.lease_ms);
        // An earlier claim: ours loses, whatever the others answer it.
        counters_.add(ClusterMetric::leases_lost);
        if (members_.alive() > 0) send(message(LeaseKind::Released, k, e.claim), nullptr);
        wait_on(k, e, c, l.ms, now);
    }
    if (live(e, now) && e.best < c && e.best.node != c.node) return held_by(e.best, e.best_until);
    if (!live(e, now) || c < e.best || e.best.node == c.node) {
        e.best = c;
        e.best_until = now + l.ms;
        // A waiter follows the earliest claim: that one will load.
        if (e.mine == Mine::Waiting) e.claim = c;
    }
    counters_.add(ClusterMetric::leases_granted);
    send(reply, &to);
}

void Leases::on_outcome(Member& m, const wire::Lease& l, Entry& e, int64_t now) {
    const Key k{std::string(l.cache), std::string(l.key)};
    const store::Version c = claim_of(l);
    const bool claiming = e.mine == Mine::Claiming && e.claim == c;
    const bool waiting = e.mine == Mine::Waiting && e.claim == c;
    switch (l.kind) {
        case LeaseKind::Granted:
            if (!claiming) return;
            e.granted.insert(m.id);
            check_won(k, e);
            return;
        case LeaseKind::Held: {
            const store::Version h = version_of(l);
            if (claiming) {
                if (h == c) {  // it holds for us
                    e.granted.insert(m.id);
                    check_won(k, e);
                    return;
                }
                counters_.add(ClusterMetric::leases_lost);
                if (members_.alive() > 0) send(message(LeaseKind::Released, k, c), nullptr);
                wait_on(k, e, h, l.ms, now);
            } else if (waiting && h == c) {
                e.best_until = std::max(e.best_until, now + static_cast<int64_t>(l.ms));
            }
            return;
        }
        case LeaseKind::Loaded:
        case LeaseKind::Failed: {
            if (e.best == c) e.best = {};
            if (claiming && members_.alive() > 0) send(message(LeaseKind::Released, k, c), nullptr);
            // A failure is reported even when nobody here waits: members
            // that cache failures (negative_ttl) keep it too. A late notice
            // of a load not cached must not answer a newer request.
            if (!claiming && !waiting && (l.kind == LeaseKind::Loaded || l.ms == 0)) return;
            if (claiming || waiting) e.mine = Mine::None;
            LeaseEvent ev;
            ev.claim = c;
            if (l.kind == LeaseKind::Loaded) {
                ev.kind = LeaseEvent::Kind::Loaded;
                ev.version = version_of(l);
            } else {
                ev.kind = LeaseEvent::Kind::Failed;
                ev.code = l.code;
                ev.message = std::string(l.message);
                ev.negative_ms = l.ms;
                ev.notice = !claiming && !waiting;
            }
            host_.lease_event(k.first, k.second, ev);
            return;
        }
        case LeaseKind::Released:
            if (e.best == c) e.best = {};
            // The load we waited for will not come: claim it ourselves.
            if (waiting) claim(k, e, now);
            return;
        case LeaseKind::Claim:
        case LeaseKind::Poll: return;  // handled by on_message
    }
}

void Leases::tick() {
    const int64_t now = host_.now_ms();
    for (auto it = entries_.begin(); it != entries_.end();) {
        const Key& k = it->first;
        Entry& e = it->second;
        if (e.mine == Mine::Claiming) {
            check_won(k, e);  // members that went down no longer count
            if (e.mine == Mine::Claiming && now >= e.next_ms) {
                wire::Lease l = message(LeaseKind::Claim, k, e.claim);
                l.version_hlc = e.held.hlc;
                l.version_node = e.held.node;
                l.ms = e.lease_ms;
                const std::string payload = wire::encode_lease(l);
                members_.for_each([&](Member& m) {
                    if (m.state != MemberState::Alive || m.id == e.skip || e.granted.count(m.id)) return;
                    const Peer to = m.peer();
                    control_.send(wire::Type::Lease, payload, &to);
                    counters_.add(ClusterMetric::leases_claims_resent);
                });
                e.interval_ms = std::min(e.interval_ms * 2, kResendMaxMs);
                e.next_ms = now + e.interval_ms;
            }
        } else if (e.mine == Mine::Waiting) {
            if (!live(e, now)) {
                // The holder went down, or its lease ran out: take over.
                take_over(k, e, now);
            } else if (now >= e.next_ms) {
                if (Member* h = members_.find(e.claim.node); h && h->state == MemberState::Alive) {
                    const Peer to = h->peer();
                    send(message(LeaseKind::Poll, k, e.claim), &to);
                    counters_.add(ClusterMetric::leases_polls_sent);
                }
                e.interval_ms = std::min(e.interval_ms * 2, kPollMaxMs);
                e.next_ms = now + e.interval_ms;
            }
        }
        if (e.mine == Mine::None && !live(e, now) && now >= e.outcome_until) {
            it = entries_.erase(it);
            continue;
        }
        ++it;
    }
    if (entries_.empty() && timer_running_) {
        uv_timer_stop(&timer_);
        timer_running_ = false;
    }
}

}  // namespace mccache::cluster
