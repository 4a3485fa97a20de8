#include "cluster/membership.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace mccache::cluster {

using metrics::ClusterMetric;

bool ReplayWindow::check(uint64_t seq, bool mark) {
    if (top_ >= kBits && seq <= top_ - kBits) return true;  // written not to overflow
    if (seq <= top_) {
        uint64_t i = top_ - seq;
        bool seen = seen_[i / 64] >> (i % 64) & 1;
        if (mark) seen_[i / 64] |= uint64_t{1} << (i % 64);
        return seen;
    }
    if (!mark) return false;
    uint64_t shift = seq - top_;
    constexpr size_t kWords = kBits / 64;
    if (shift >= kBits) {
        std::fill(std::begin(seen_), std::end(seen_), 0);
    } else {
        size_t words = shift / 64, bits = shift % 64;
        for (size_t k = kWords - 1; k != static_cast<size_t>(-1); --k) {
            uint64_t v = k >= words ? seen_[k - words] << bits : 0;
            if (bits && k >= words + 1) v |= seen_[k - words - 1] >> (64 - bits);
            seen_[k] = v;
        }
    }
    top_ = seq;
    seen_[0] |= 1;
    return false;
}

Member* Membership::admit(const wire::Header& h, const transport::Address& from, Contact* contact) {
    constexpr size_t kMaxMembers = 1024;  // what unknown senders can make us hold
    const int64_t t = host_.now_ms();
    *contact = Contact::Known;
    auto it = members_.find(h.sender);
    if (it == members_.end()) {
        if (h.type == wire::Type::Goodbye) return nullptr;
        if (members_.size() >= kMaxMembers) {
            counters_.add(ClusterMetric::rejected_malformed);
            return nullptr;
        }
        Member m;
        m.id = h.sender;
        m.incarnation = h.incarnation;
        m.addr = from;
        m.last_seen_ms = m.joined_ms = t;
        it = members_.emplace(h.sender, std::move(m)).first;
        report(it->second, MCCACHE_MEMBER_JOINED);
        *contact = Contact::New;
    } else if (h.incarnation < it->second.incarnation) {
        // An earlier life of this member: replayed traffic.
        counters_.add(ClusterMetric::rejected_replayed);
        return nullptr;
    } else if (h.incarnation != it->second.incarnation) {
        // Restarted: a new stream from sequence 1.
        Member& m = it->second;
        reassembly_.drop(m.partials);
        Member fresh;
        fresh.id = h.sender;
        fresh.incarnation = h.incarnation;
        fresh.addr = from;
        fresh.last_seen_ms = fresh.joined_ms = t;
        m = std::move(fresh);
        report(m, MCCACHE_MEMBER_RESTARTED);
        *contact = Contact::Restarted;
    }
    return &it->second;
}

bool Membership::touch(Member& m, const wire::Header& h, const transport::Address& from) {
    m.addr = from;
    m.last_seen_ms = host_.now_ms();
    if (m.state == MemberState::Alive || h.type == wire::Type::Goodbye) return false;
    m.state = MemberState::Alive;
    report(m, MCCACHE_MEMBER_RECOVERED);
    return true;
}

void Membership::goodbye(Member& m) {
    if (m.state == MemberState::Left) return;
    m.state = MemberState::Left;
    report(m, MCCACHE_MEMBER_LEFT);
}

void Membership::tick(int64_t t) {
    const config::NodeSettings& st = host_.settings();
    for (auto& [id, m] : members_) {
        if (m.state == MemberState::Alive && t - m.last_seen_ms > st.member_timeout_ms) {
            m.state = MemberState::Down;
            report(m, MCCACHE_MEMBER_DOWN);
        }
        reassembly_.expire(m.partials, t);
    }
    counters_.set(ClusterMetric::members_alive, alive());
    // Forget members long gone, so that the member table (bounded) is not
    // filled for good by senders that come and go (or are forged).
    const int64_t forget_after = std::max<int64_t>(60000, 10 * st.member_timeout_ms);
    for (auto it = members_.begin(); it != members_.end();) {
        Member& m = it->second;
        if (m.state != MemberState::Alive && t - m.last_seen_ms > forget_after) {
            reassembly_.drop(m.partials);
            it = members_.erase(it);
        } else {
            ++it;
        }
    }
}

size_t Membership::alive() const {
    return static_cast<size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& e) {
        return e.second.state == MemberState::Alive;
    }));
}

Member* Membership::find(uint64_t id) {
    auto it = members_.find(id);
    return it == members_.end() ? nullptr : &it->second;
}

bool Membership::alive(uint64_t id) const {
    auto it = members_.find(id);
    return it != members_.end() && it->second.state == MemberState::Alive;
}

void Membership::report(const Member& m, int event) {
    static const char* const kNames[] = {"", "joined", "left", "down", "recovered", "restarted"};
    static constexpr ClusterMetric kCounters[] = {ClusterMetric::members_joined, ClusterMetric::members_left,
                                                  ClusterMetric::members_down, ClusterMetric::members_recovered,
                                                  ClusterMetric::members_restarted};
    const std::string addr = m.addr.to_string();
    host_.log().log(event == MCCACHE_MEMBER_DOWN ? MCCACHE_LOG_WARN : MCCACHE_LOG_INFO, "member %016" PRIx64 " %s (%s)",
                    m.id, kNames[event], addr.c_str());
    counters_.set(ClusterMetric::members_alive, alive());
    counters_.add(kCounters[event - 1]);
    host_.member_changed(MemberEvent{event, m.id, m.incarnation, addr, m.last_seen_ms});
}

std::string Membership::to_json(const std::string& self_address) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, host_.node_id());
    std::string out = "{\"self\":{\"id\":\"";
    out += buf;
    out += "\",\"address\":\"" + self_address + "\"},\"members\":[";
    bool first = true;
    for (auto& [id, m] : members_) {
        if (!first) out += ",";
        first = false;
        std::snprintf(buf, sizeof buf, "%016" PRIx64, m.id);
        out += "{\"id\":\"";
        out += buf;
        out += "\",\"address\":\"" + m.addr.to_string() + "\",\"state\":\"";
        out += m.state == MemberState::Alive ? "alive" : m.state == MemberState::Down ? "down" : "left";
        out += "\",\"last_seen_ms\":" + std::to_string(m.last_seen_ms) + "}";
    }
    out += "]}";
    return out;
}

}  // namespace mccache::cluster
