// Cluster-wide requests: every member answers with its metrics or its
// checksums, and the answers reach the caller (McCache only logged them).
#include <algorithm>
#include <cinttypes>
#include <random>

#include "cluster/cluster.h"
#include "node/node.h"

namespace mccache::cluster {

std::string Cluster::answer(wire::QueryKind kind, std::string_view cache) {
    if (kind == wire::QueryKind::Metrics) return node_.metrics_json();
    return node_.checksums_json(cache);
}

uint64_t Cluster::start_query(wire::QueryKind kind, std::string cache, int64_t timeout_ms,
                              std::function<void(uint64_t, const std::string&)> on_reply,
                              std::function<void()> on_done) {
    // Random high bits: a reply to an earlier incarnation's request never matches.
    if (next_query_ == 0) next_query_ = (std::random_device{}() & 0xffffffull) << 32;
    uint64_t id = ++next_query_;
    on_reply(node_.id(), answer(kind, cache));
    if (!running_ || alive_members() == 0) {
        on_done();
        return id;
    }
    wire::Query msg;
    msg.request_id = id;
    msg.kind = kind;
    msg.cache = cache;
    PendingQuery q;
    q.kind = kind;
    q.deadline_ms = now() + timeout_ms;
    q.on_reply = std::move(on_reply);
    q.on_done = std::move(on_done);
    q.request = wire::encode_query(msg);
    // The first resend after a heartbeat interval or two (answers take a
    // loop turn and a datagram each way), then twice as long each time.
    q.resend_interval_ms = std::max<int64_t>(node_.settings().heartbeat_ms, 100);
    q.resend_ms = now() + q.resend_interval_ms;
    send_message(wire::Type::Query, false, q.request, nullptr);
    queries_.emplace(id, std::move(q));
    return id;
}

void Cluster::on_query(Member& m, std::string_view payload) {
    wire::Query q;
    if (wire::decode_query(payload, &q, false) != wire::Error::None) {
        metrics_.rejected_malformed++;
        return;
    }
    std::string body = answer(q.kind, q.cache);
    wire::Query reply = q;
    reply.body = body;
    send_message(wire::Type::QueryReply, false, wire::encode_query(reply), &m.addr);
}

void Cluster::on_query_reply(Member& m, std::string_view payload) {
    wire::Query q;
    if (wire::decode_query(payload, &q, true) != wire::Error::None) {
        metrics_.rejected_malformed++;
        return;
    }
    auto it = queries_.find(q.request_id);
    if (it == queries_.end() || it->second.kind != q.kind) return;
    PendingQuery& p = it->second;
    if (!p.answered.insert(m.id).second) return;
    p.on_reply(m.id, std::string(q.body));
    // Done early once every live member has answered.
    bool all = true;
    for (auto& [id, mm] : members_)
        if (mm.state == MemberState::Alive && !p.answered.count(id)) all = false;
    if (all) {
        auto done = std::move(p.on_done);
        queries_.erase(it);
        done();
    }
}

void Cluster::expire_queries(int64_t t) {
    for (auto it = queries_.begin(); it != queries_.end();) {
        PendingQuery& q = it->second;
        if (t >= q.deadline_ms) {
            auto done = std::move(q.on_done);
            it = queries_.erase(it);
            done();
            continue;
        }
        if (t >= q.resend_ms) {
            // A member answers every copy it receives (its earlier reply
            // may be the one that was lost); `answered` keeps one per member.
            for (auto& [id, m] : members_)
                if (m.state == MemberState::Alive && !q.answered.count(id)) {
                    send_message(wire::Type::Query, false, q.request, &m.addr);
                    metrics_.queries_resent.fetch_add(1, std::memory_order_relaxed);
                }
            q.resend_interval_ms *= 2;
            q.resend_ms = t + q.resend_interval_ms;
        }
        ++it;
    }
}

}  // namespace mccache::cluster
