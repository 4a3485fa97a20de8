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

void ReplayWindow::start_at(uint64_t top) {
    top_ = top;
    std::fill(std::begin(seen_), std::end(seen_), ~uint64_t{0});
}

namespace {
void start_stream(Member& m, const wire::Response& at) {
    m.stream = PeerStream{};
    m.stream.started = true;
    m.stream.hw = m.stream.max_seen = at.last_seq;
    m.window[0].start_at(at.to_all_seq);
    m.window[1].start_at(at.to_one_seq);
    m.unicast_base = at.to_one_seq;
}
}  // namespace

Member* Membership::admit(const Handshake::Admitted& a, Contact* contact) {
    constexpr size_t kMaxMembers = 1024;
    const int64_t t = host_.now_ms();
    *contact = Contact::Known;
    auto it = members_.find(a.id);
    if (it == members_.end()) {
        if (members_.size() >= kMaxMembers) {
            // Room is made only from members that are down or gone.
            auto victim = members_.end();
            for (auto i = members_.begin(); i != members_.end(); ++i)
                if (i->second.state != MemberState::Alive &&
                    (victim == members_.end() || i->second.last_seen_ms < victim->second.last_seen_ms))
                    victim = i;
            if (victim == members_.end()) {
                counters_.add(ClusterMetric::rejected_oversize);
                return nullptr;
            }
            reassembly_.drop(victim->second.partials);
            members_.erase(victim);
        }
        Member m;
        m.id = a.id;
        m.incarnation = a.incarnation;
        m.addr = a.addr;
        m.last_seen_ms = m.joined_ms = t;
        start_stream(m, a.position);
        it = members_.emplace(a.id, std::move(m)).first;
        report(it->second, MCCACHE_MEMBER_JOINED);
        *contact = Contact::New;
        return &it->second;
    }
    Member& m = it->second;
    if (a.incarnation < m.incarnation) {
        counters_.add(ClusterMetric::rejected_replayed);  // an earlier life answering: two processes, one id
        return nullptr;
    }
    if (a.incarnation > m.incarnation) {
        // Restarted: a new stream, from where it said it stands.
        reassembly_.drop(m.partials);
        Member fresh;
        fresh.id = a.id;
        fresh.incarnation = a.incarnation;
        fresh.addr = a.addr;
        fresh.last_seen_ms = fresh.joined_ms = t;
        start_stream(fresh, a.position);
        m = std::move(fresh);
        report(m, MCCACHE_MEMBER_RESTARTED);
        *contact = Contact::Restarted;
        return &m;
    }
    // The same life: a new address, or back after a goodbye (one forged in
    // the clear, or a replay of it) or a silence. Its stream goes on.
    m.addr = a.addr;
    m.last_seen_ms = t;
    if (m.state != MemberState::Alive) {
        m.state = MemberState::Alive;
        report(m, MCCACHE_MEMBER_RECOVERED);
        *contact = Contact::Recovered;
    }
    return &m;
}

Member* Membership::live(uint64_t id, uint64_t incarnation) {
    auto it = members_.find(id);
    if (it == members_.end() || it->second.incarnation != incarnation || it->second.state == MemberState::Left)
        return nullptr;
    return &it->second;
}

bool Membership::touch(Member& m) {
    m.last_seen_ms = host_.now_ms();
    if (m.state != MemberState::Down) return false;
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
    const int64_t forget_after = std::max<int64_t>(st.member_forget_ms, 10 * st.member_timeout_ms);
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
