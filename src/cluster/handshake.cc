#include "cluster/handshake.h"

#include <netinet/in.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mccache::cluster {

using metrics::ClusterMetric;

namespace {

constexpr int64_t kResendMs = 100;     // a lost challenge is sent again on the next datagram after this
constexpr int64_t kPendingMs = 10000;  // an unanswered challenge is forgotten after this

// From the kernel's CSPRNG: the nonce is what an attacker must not guess.
void random_bytes(unsigned char* out, size_t n) {
    while (n > 0) {
        ssize_t got = getrandom(out, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            // No randomness (never on Linux >= 3.17 once booted): a nonce
            // nobody can answer fails closed, it only delays admission.
            std::memset(out, 0, n);
            return;
        }
        out += got;
        n -= static_cast<size_t>(got);
    }
}

}  // namespace

Handshake::Handshake(Host& host, Control& control, Stream& stream, metrics::Counters<ClusterMetric>& counters)
    : host_(host), control_(control), stream_(stream), counters_(counters), rng_(std::random_device{}()) {}

std::string Handshake::key_of(const transport::Address& a) {
    std::string k;
    if (a.ss.ss_family == AF_INET6) {
        auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.ss);
        k.assign(reinterpret_cast<const char*>(&v6->sin6_addr), sizeof v6->sin6_addr);
        k.append(reinterpret_cast<const char*>(&v6->sin6_port), sizeof v6->sin6_port);
    } else {
        auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.ss);
        k.assign(reinterpret_cast<const char*>(&v4->sin_addr), sizeof v4->sin_addr);
        k.append(reinterpret_cast<const char*>(&v4->sin_port), sizeof v4->sin_port);
    }
    return k;
}

void Handshake::received(const transport::Address& from, size_t bytes) {
    const int64_t t = host_.now_ms();
    std::string key = key_of(from);
    auto it = budgets_.find(key);
    if (it == budgets_.end()) {
        if (budgets_.size() >= kMaxBudgets) {
            // The least recently heard address goes; its budget starts again
            // from nothing, so forgetting it grants a spoofer nothing.
            auto oldest = std::min_element(budgets_.begin(), budgets_.end(), [](const auto& a, const auto& b) {
                return a.second.last_ms < b.second.last_ms;
            });
            budgets_.erase(oldest);
        }
        it = budgets_.emplace(std::move(key), Budget{}).first;
    }
    it->second.received += bytes;
    it->second.last_ms = t;
}

bool Handshake::spend(const transport::Address& to, size_t bytes) {
    auto it = budgets_.find(key_of(to));
    if (it == budgets_.end() || it->second.sent + bytes > kBudgetFactor * it->second.received) {
        counters_.add(ClusterMetric::handshake_budget_refused);
        return false;
    }
    it->second.sent += bytes;
    return true;
}

Handshake::Pending* Handshake::find(uint64_t id, uint64_t incarnation, const transport::Address& addr) {
    for (Pending& p : pending_)
        if (p.id == id && p.incarnation == incarnation && p.addr == addr) return &p;
    return nullptr;
}

void Handshake::evict_one() {
    // From the address that holds the most entries, at random among them:
    // a flood of new ids from one address (or a few) only ever replaces its
    // own entries, never the single entry of a real member elsewhere, however
    // fast it comes and however slow that member's round trip is. At random
    // across the table, a flood of 40 k ids/s gave each entry about 1.6 ms,
    // less than a round trip on a loaded host.
    std::unordered_map<std::string, uint32_t> per_address;
    std::string heaviest;
    uint32_t most = 0;
    for (const Pending& p : pending_) {
        std::string k = key_of(p.addr);
        const uint32_t n = ++per_address[k];
        if (n > most) {
            most = n;
            heaviest = std::move(k);
        }
    }
    uint64_t pick = rng_() % most;
    for (size_t i = 0; i < pending_.size(); ++i) {
        if (key_of(pending_[i].addr) != heaviest || pick--) continue;
        std::swap(pending_[i], pending_.back());
        pending_.pop_back();
        return;
    }
}

void Handshake::challenge(const wire::Header& h, const transport::Address& from) {
    const int64_t t = host_.now_ms();
    counters_.add(ClusterMetric::handshake_dropped);
    Pending* p = find(h.sender, h.incarnation, from);
    if (!p) {
        if (pending_.size() >= kMaxPending) {
            evict_one();
            counters_.add(ClusterMetric::handshake_evicted);
        }
        Pending fresh;
        fresh.id = h.sender;
        fresh.incarnation = h.incarnation;
        fresh.addr = from;
        random_bytes(fresh.nonce, sizeof fresh.nonce);
        fresh.created_ms = t;
        pending_.push_back(fresh);
        p = &pending_.back();
    } else if (t - p->sent_ms < kResendMs) {
        return;
    }
    wire::Challenge c;
    c.target = p->id;
    c.target_incarnation = p->incarnation;
    std::memcpy(c.nonce, p->nonce, sizeof c.nonce);
    const std::string payload = wire::encode_challenge(c);
    if (!spend(from, Control::datagram_size(payload.size()))) return;
    const Peer to{from, p->id, p->incarnation};
    control_.send(wire::Type::Challenge, payload, &to);
    p->sent_ms = t;
    counters_.add(ClusterMetric::handshake_challenges_sent);
}

void Handshake::answer(const wire::Header& h, std::string_view payload, const transport::Address& from,
                       bool validated) {
    wire::Challenge c;
    if (wire::decode_challenge(payload, &c) != wire::Error::None) {
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    // Sealed, the challenge opened only because it names us (its
    // destination is authenticated); in the clear, check what it says.
    if (c.target != host_.node_id() || c.target_incarnation != incarnation_) return;
    wire::Response r;
    r.challenger = h.sender;
    r.challenger_incarnation = h.incarnation;
    std::memcpy(r.nonce, c.nonce, sizeof r.nonce);
    // Everything up to these has been sent (stream: or waits in the
    // socket's queue ahead of what follows).
    r.last_seq = stream_.settle();
    r.to_all_seq = control_.to_all_seq();
    r.to_one_seq = control_.to_one_seq();
    r.started_ms = started_ms_;
    const std::string out = wire::encode_response(r);
    if (!validated && !spend(from, Control::datagram_size(out.size()))) return;
    const Peer to{from, h.sender, h.incarnation};
    control_.send(wire::Type::Response, out, &to);
    counters_.add(ClusterMetric::handshake_responses_sent);
}

bool Handshake::accept(const wire::Header& h, std::string_view payload, const transport::Address& from,
                       Admitted* out) {
    wire::Response r;
    if (wire::decode_response(payload, &r) != wire::Error::None) {
        counters_.add(ClusterMetric::rejected_malformed);
        return false;
    }
    Pending* p = find(h.sender, h.incarnation, from);
    if (!p || r.challenger != host_.node_id() || r.challenger_incarnation != incarnation_ ||
        std::memcmp(r.nonce, p->nonce, sizeof r.nonce) != 0) {
        // Not an answer to anything we asked (a replay, a forgery, or one
        // that came after we forgot the challenge).
        counters_.add(ClusterMetric::rejected_replayed);
        return false;
    }
    out->id = p->id;
    out->incarnation = p->incarnation;
    out->addr = p->addr;
    out->position = r;
    *p = pending_.back();
    pending_.pop_back();
    counters_.add(ClusterMetric::handshake_completed);
    return true;
}

void Handshake::tick(int64_t t) {
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                  [&](const Pending& p) { return t - p.created_ms > kPendingMs; }),
                   pending_.end());
}

}  // namespace mccache::cluster
