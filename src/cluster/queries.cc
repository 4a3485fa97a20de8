#include "cluster/queries.h"

#include <algorithm>
#include <random>

namespace mccache::cluster {

using metrics::ClusterMetric;

void Queries::start(wire::QueryKind kind, std::string cache, int64_t timeout_ms, bool send, OnReply on_reply,
                    OnDone on_done) {
    // Random high bits: a reply to an earlier incarnation's request never matches.
    if (next_id_ == 0) next_id_ = (std::random_device{}() & 0xffffffull) << 32;
    const uint64_t id = ++next_id_;
    on_reply(host_.node_id(), host_.query_answer(kind, cache));
    if (!send || members_.alive() == 0) {
        on_done();
        return;
    }
    wire::Query msg;
    msg.request_id = id;
    msg.kind = kind;
    msg.cache = cache;
    Pending q;
    q.kind = kind;
    q.deadline_ms = host_.now_ms() + timeout_ms;
    q.on_reply = std::move(on_reply);
    q.on_done = std::move(on_done);
    q.request = wire::encode_query(msg);
    // The first resend after a heartbeat interval or two (answers take a
    // loop turn and a datagram each way), then twice as long each time.
    q.resend_interval_ms = std::max<int64_t>(host_.settings().heartbeat_ms, 100);
    q.resend_ms = host_.now_ms() + q.resend_interval_ms;
    control_.send(wire::Type::Query, q.request, nullptr);
    pending_.emplace(id, std::move(q));
}

void Queries::on_query(Member& m, std::string_view payload) {
    wire::Query q;
    if (wire::decode_query(payload, &q, false) != wire::Error::None) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    std::string body = host_.query_answer(q.kind, q.cache);
    wire::Query reply = q;
    reply.body = body;
    const Peer to = m.peer();
    control_.send(wire::Type::QueryReply, wire::encode_query(reply), &to);
}

void Queries::on_reply(Member& m, std::string_view payload) {
    wire::Query q;
    if (wire::decode_query(payload, &q, true) != wire::Error::None) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    auto it = pending_.find(q.request_id);
    if (it == pending_.end() || it->second.kind != q.kind) return;
    Pending& p = it->second;
    if (!p.answered.insert(m.id).second) return;
    p.on_reply(m.id, std::string(q.body));
    // Done early once every live member has answered.
    bool all = true;
    members_.for_each([&](Member& mm) {
        if (mm.state == MemberState::Alive && !p.answered.count(mm.id)) all = false;
    });
    if (all) {
        auto done = std::move(p.on_done);
        pending_.erase(it);
        done();
    }
}

void Queries::tick(int64_t t) {
    for (auto it = pending_.begin(); it != pending_.end();) {
        Pending& q = it->second;
        if (t >= q.deadline_ms) {
            auto done = std::move(q.on_done);
            it = pending_.erase(it);
            done();
            continue;
        }
        if (t >= q.resend_ms) {
            // A member answers every copy it receives (its earlier reply
            // may be the one that was lost); `answered` keeps one per member.
            members_.for_each([&](Member& m) {
                if (m.state == MemberState::Alive && !q.answered.count(m.id)) {
                    const Peer to = m.peer();
                    control_.send(wire::Type::Query, q.request, &to);
                    counters_.add(ClusterMetric::queries_resent);
                }
            });
            q.resend_interval_ms *= 2;
            q.resend_ms = t + q.resend_interval_ms;
        }
        ++it;
    }
}

void Queries::stop() {
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, q] : pending)
        if (q.on_done) q.on_done();
}

}  // namespace mccache::cluster
