#include "cluster/repairs.h"

#include <netinet/in.h>

#include <algorithm>

namespace mccache::cluster {

using metrics::ClusterMetric;

namespace {

constexpr size_t kMaxPending = 4u << 20;       // keys a peer can make us hold for it
constexpr double kMaxWindow = 16.0 * 1024 * 1024;
// Round trips here are loop turns and time slices more than wire time, and a
// joiner's loop is busy applying: a timeout below this would take a slow
// receiver for a lost one.
constexpr int64_t kMinRtoMs = 200;
constexpr uint64_t kCoalesceMs = 2;  // queued keys wait this long to fill a datagram
constexpr int64_t kIdleFlowMs = 60000;         // a flow with nothing to do is dropped after this
constexpr int64_t kDeadFlowMs = 10000;         // unacknowledged this long: the member is gone

// (destination, cache, key) as one string; the address by its family's
// fields only (no padding bytes).
std::string repair_id(const Peer& peer, std::string_view cache, std::string_view key) {
    const transport::Address& to = peer.addr;
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

std::string encode(const wire::Record& r) {
    std::string out;
    wire::Writer w(out);
    wire::Record copy = r;
    copy.flags |= wire::kRecordRepair;
    wire::encode_record(w, copy);
    return out;
}

}  // namespace

void Repairs::start(uv_loop_t* loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    timer_open_ = true;
}

void Repairs::stop() {
    if (!timer_open_) return;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    timer_open_ = false;
    flows_.clear();
    pending_.clear();
}

Repairs::Flow& Repairs::flow_of(const Peer& to) {
    auto [it, fresh] = flows_.try_emplace(FlowKey{to.id, to.incarnation});
    Flow& f = it->second;
    f.to = to;  // the member's validated address, which may have moved
    if (fresh) {
        // An eighth of our own receive buffer to start with (members are
        // configured alike), and two datagrams at least, growing from the
        // first acknowledgements; until the receiver says, assume it can
        // take a quarter.
        const double mss = static_cast<double>(control_.capacity() + wire::kHeaderSize + wire::kTagSize);
        f.cwnd = std::max(2 * mss, udp_.rcvbuf_granted() / 8.0);
        f.ssthresh = kMaxWindow;
        f.window = static_cast<size_t>(std::max(udp_.rcvbuf_granted() / 4, 64 * 1024));
        f.last_progress_ms = f.last_ack_ms = f.idle_since_ms = host_.now_ms();
    }
    return f;
}

void Repairs::queue(const Peer& to, const std::string& cache, std::vector<std::string> keys) {
    if (pending_.size() + keys.size() > kMaxPending) {
        counters_.add(ClusterMetric::rejected_oversize);
        return;
    }
    std::vector<std::string> fresh;
    fresh.reserve(keys.size());
    for (std::string& k : keys)
        if (pending_.insert(repair_id(to, cache, k)).second) fresh.push_back(std::move(k));
    if (fresh.empty()) return;
    flow_of(to).jobs.push_back(Job{cache, std::move(fresh), 0});
    // Not at once: an anti-entropy round queues a bucket at a time, and a
    // moment lets the next ones join this datagram.
    arm(kCoalesceMs);
}

void Repairs::send_record(const Peer& to, const wire::Record& record) {
    flow_of(to).ready.push_back(encode(record));
    arm(kCoalesceMs);
}

void Repairs::send_message(const Peer& to, wire::Type type, std::string payload) {
    flow_of(to).messages.emplace_back(type, std::move(payload));
    arm(kCoalesceMs);
}

void Repairs::arm(uint64_t delay_ms) {
    if (!timer_open_) return;
    const int64_t due = host_.now_ms() + static_cast<int64_t>(delay_ms);
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)) && timer_due_ms_ <= due) return;
    timer_due_ms_ = due;
    uv_timer_start(&timer_, &Repairs::on_timer, delay_ms, 0);
}

void Repairs::on_timer(uv_timer_t* t) { static_cast<Repairs*>(t->data)->pump(); }

bool Repairs::send_next(Flow& f) {
    const size_t cap = control_.capacity();
    std::string payload;
    wire::Type type = wire::Type::Repair;
    if (!f.messages.empty()) {
        // Key lists and pulls first: they are what the other side is
        // waiting on to decide what else to ask for.
        type = f.messages.front().first;
        payload = std::move(f.messages.front().second);
        f.messages.pop_front();
    }
    Replica* cache = nullptr;
    // Records in turn until the message would need a second datagram; a
    // record larger than one goes alone, fragmented (its lost fragments
    // are asked for again, not the whole record).
    while (type == wire::Type::Repair && payload.size() < cap) {
        std::string record;
        if (!f.ready.empty()) {
            record = std::move(f.ready.front());
            f.ready.pop_front();
        } else if (!f.jobs.empty()) {
            Job& job = f.jobs.front();
            if (job.next >= job.keys.size()) {
                f.jobs.pop_front();
                continue;
            }
            const std::string& key = job.keys[job.next++];
            pending_.erase(repair_id(f.to, job.cache, key));
            if (!cache || cache->name() != job.cache) cache = host_.find_cache(job.cache, false);
            store::Store::Exported e;
            if (!cache || !cache->store().export_entry(key.data(), key.size(), &e)) continue;
            wire::Record r;
            r.cache = job.cache;
            r.key = key;
            r.hlc = e.version.hlc;
            r.node = e.version.node;
            if (e.value) {
                r.op = wire::Op::Put;
                r.value = std::string_view(reinterpret_cast<const char*>(e.value->bytes()), e.value->len);
                r.expires_ms = e.expires_ms;
            } else {
                r.op = wire::Op::Delete;
            }
            record = encode(r);
            store::value_unref(e.value);
        } else {
            break;
        }
        if (!payload.empty() && payload.size() + record.size() > cap) {
            f.ready.push_front(std::move(record));  // the next message's first
            break;
        }
        payload += record;
    }
    if (payload.empty()) return false;
    Message m;
    const uint64_t seq = control_.send_kept(type, payload, f.to, &m.frames);
    if (seq == 0) return true;  // could not be sealed (logged): its records are lost to this round
    for (const std::string& d : m.frames) m.bytes += d.size();
    m.sent_ms = host_.now_ms();
    f.inflight += m.bytes;
    f.unacked.emplace(seq, std::move(m));
    counters_.add(type == wire::Type::Repair ? ClusterMetric::repair_messages_sent : ClusterMetric::repair_exchange_sent);
    return true;
}

void Repairs::resend(Flow& f, Message& m, const std::vector<std::pair<uint16_t, uint16_t>>& which, int64_t now) {
    for (auto [from, to] : which)
        for (size_t i = from; i <= to && i < m.frames.size(); ++i) {
            control_.resend(f.to, m.frames[i]);
            counters_.add(ClusterMetric::repair_datagrams_resent);
        }
    m.resent_ms = now;
}

void Repairs::mark_lost(Flow& f, Message& m) {
    if (m.lost) return;
    m.lost = true;
    f.inflight -= m.bytes;
}

void Repairs::cut(Flow& f, int64_t now) {
    if (now < f.recovery_until_ms) return;
    counters_.add(ClusterMetric::repair_losses);
    const double mss = static_cast<double>(control_.capacity() + wire::kHeaderSize + wire::kTagSize);
    f.ssthresh = std::max(f.cwnd / 2, 2 * mss);
    f.cwnd = f.ssthresh;
    f.recovery_until_ms = now + std::max<int64_t>(f.srtt_ms, 1);
}

void Repairs::on_ack(const Peer& from, const wire::RepairAck& ack) {
    auto it = flows_.find(FlowKey{from.id, from.incarnation});
    if (it == flows_.end()) return;
    Flow& f = it->second;
    const int64_t now = host_.now_ms();
    counters_.add(ClusterMetric::repair_acks_received);
    f.window = ack.window;
    f.last_ack_ms = now;
    size_t acked = 0;
    for (uint64_t seq : ack.done) {
        auto m = f.unacked.find(seq);
        if (m == f.unacked.end()) continue;
        if (m->second.resent_ms == 0) {
            const int64_t sample = std::max<int64_t>(0, now - m->second.sent_ms);
            f.srtt_ms = f.srtt_ms == 0 ? sample : (7 * f.srtt_ms + sample) / 8;
        }
        acked += m->second.bytes;
        if (!m->second.lost) f.inflight -= m->second.bytes;
        f.rack_tx_ms = std::max(f.rack_tx_ms, std::max(m->second.resent_ms, m->second.sent_ms));
        f.unacked.erase(m);
    }
    if (acked) {
        f.last_progress_ms = now;
        f.timeouts = 0;
        const double mss = static_cast<double>(control_.capacity() + wire::kHeaderSize + wire::kTagSize);
        if (f.cwnd < f.ssthresh) f.cwnd += static_cast<double>(acked);  // slow start
        else f.cwnd += mss * static_cast<double>(acked) / f.cwnd;     // one datagram per window
        f.cwnd = std::min(f.cwnd, kMaxWindow);
    }
    // Fragments missing from what arrived in part: lost, since fragments
    // leave in order and later ones arrived. They are few: resent at once.
    const int64_t rtt = std::max<int64_t>(f.srtt_ms, 1);
    for (const wire::PartialMessage& p : ack.partial) {
        auto m = f.unacked.find(p.seq);
        if (m == f.unacked.end() || m->second.lost || now - std::max(m->second.resent_ms, m->second.sent_ms) < rtt)
            continue;
        std::vector<std::pair<uint16_t, uint16_t>> which = p.missing;
        if (p.tail && p.highest + 1u < m->second.frames.size())
            which.emplace_back(static_cast<uint16_t>(p.highest + 1), static_cast<uint16_t>(m->second.frames.size() - 1));
        if (which.empty()) continue;
        resend(f, m->second, which, now);
        cut(f, now);
    }
    // Time-based loss detection (RACK, RFC 8985): a message whose last
    // transmission left before that of a message now acknowledged, by more
    // than a little reordering, is lost whole (unless it arrived in part).
    // It goes again in order, within the window, from the pump.
    const int64_t reorder = std::max<int64_t>(f.srtt_ms / 4, 1);
    for (auto& [seq, m] : f.unacked) {
        if (m.lost || std::max(m.resent_ms, m.sent_ms) + reorder > f.rack_tx_ms) continue;
        const uint64_t s = seq;  // clang before 16 cannot capture a structured binding
        if (std::any_of(ack.partial.begin(), ack.partial.end(),
                        [s](const wire::PartialMessage& p) { return p.seq == s; }))
            continue;
        mark_lost(f, m);
        cut(f, now);
    }
    pump();
}

void Repairs::pump() {
    if (!timer_open_) return;
    const int64_t now = host_.now_ms();
    bool more = false, waiting = false;
    // The flows take turns, a message each, so that one joiner's transfer
    // does not hold up another member's repair.
    for (bool sent = true; sent;) {
        sent = false;
        for (auto& [key, f] : flows_) {
            const size_t limit = std::min(static_cast<size_t>(f.cwnd), std::max<size_t>(f.window, 2 * 1500));
            if (f.inflight >= limit) continue;
            // What was lost goes first, whole and in order.
            auto lost = std::find_if(f.unacked.begin(), f.unacked.end(), [](const auto& e) { return e.second.lost; });
            if (lost != f.unacked.end()) {
                Message& m = lost->second;
                m.lost = false;
                f.inflight += m.bytes;
                resend(f, m, {{0, static_cast<uint16_t>(m.frames.size() - 1)}}, now);
                sent = true;
            } else if (send_next(f)) {
                sent = true;
            }
        }
    }
    for (auto it = flows_.begin(); it != flows_.end();) {
        Flow& f = it->second;
        const int64_t rto = std::max<int64_t>(kMinRtoMs, 4 * f.srtt_ms);
        const int64_t backed_off = rto << std::min(f.timeouts, 4);
        if (!f.unacked.empty() && now - f.last_progress_ms > backed_off) {
            // Nothing acknowledged for a while. The first time, the oldest
            // message probes again: a receiver busy with something else
            // (a joiner comparing thousands of buckets) only looks lost, and
            // its acknowledgements resume the flow at the same pace. After
            // that, everything in flight is taken for lost and goes again
            // from a window of two datagrams, as TCP's timeout does.
            Message& oldest = f.unacked.begin()->second;
            if (f.timeouts++ == 0) {
                if (!oldest.lost) resend(f, oldest, {{0, static_cast<uint16_t>(oldest.frames.size() - 1)}}, now);
            } else {
                counters_.add(ClusterMetric::repair_losses);
                for (auto& [seq, m] : f.unacked) mark_lost(f, m);
                f.ssthresh = std::max(f.cwnd / 2, 2.0 * 1500);
                f.cwnd = 2.0 * 1500;
                arm(0);
            }
            f.last_progress_ms = now;  // one timeout per period, not one per tick
        }
        if (!f.unacked.empty() && now - std::max(f.last_ack_ms, f.unacked.begin()->second.sent_ms) > kDeadFlowMs) {
            // The member stopped answering: it is down or gone. What it
            // still lacks, anti-entropy asks for again once it is back.
            for (Job& j : f.jobs)
                for (size_t i = j.next; i < j.keys.size(); ++i) pending_.erase(repair_id(f.to, j.cache, j.keys[i]));
            it = flows_.erase(it);
            continue;
        }
        if (f.has_work()) more = true;
        if (!f.unacked.empty()) waiting = true;
        if (f.has_work() || !f.unacked.empty()) f.idle_since_ms = now;
        else if (now - f.idle_since_ms > kIdleFlowMs) {
            it = flows_.erase(it);
            continue;
        }
        ++it;
    }
    // Acknowledgements drive the pump; the timer only catches losses and
    // windows that opened.
    if (more || waiting) arm(kMinRtoMs);
}

}  // namespace mccache::cluster
