#include "cluster/stream.h"

#include <algorithm>
#include <chrono>

#include "cluster/framing.h"

namespace mccache::cluster {

using metrics::ClusterMetric;

namespace {

int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

wire::Record record_of(const Outgoing& o) {
    wire::Record r;
    r.op = o.op;
    r.cache = o.cache;
    r.key = o.key;
    if (o.value) r.value = std::string_view(reinterpret_cast<const char*>(o.value->bytes()), o.value->len);
    r.hlc = o.version.hlc;
    r.node = o.version.node;
    r.expires_ms = o.expires_ms;
    return r;
}

Stream::Stream(Host& host, transport::Udp& udp, metrics::Counters<ClusterMetric>& counters)
    : host_(host), udp_(udp), counters_(counters) {}

Stream::~Stream() {
    for (auto& o : queue_) store::value_unref(o.value);
}

Status Stream::start(uint64_t cluster_id, uint64_t incarnation, size_t packet_mtu,
                     const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept) {
    cluster_id_ = cluster_id;
    incarnation_ = incarnation;
    cap_ = payload_capacity(packet_mtu);
    sealer_ = std::make_unique<crypto::Sealer>(cluster_id, host_.node_id(), incarnation);
    Status st = sealer_->set_keys(seal, accept);
    if (st.ok()) running_ = true;
    return st;
}

void Stream::stop() {
    {
        // From here on writers queue (and the node drops what it is handed).
        std::lock_guard<std::mutex> lock(send_mu_);
        direct_ok_ = false;
    }
    flush();  // also what direct sends left behind
    running_ = false;
}

void Stream::allow_direct() {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (running_) direct_ok_ = true;
}

Status Stream::set_keys(const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept) {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (!sealer_) return Error(MCCACHE_ECLOSED, "the cluster is not running");
    return sealer_->set_keys(seal, accept);
}

void Stream::publish(Outgoing out) {
    std::lock_guard<std::mutex> lock(queue_mu_);
    size_t b = out.bytes();
    if (queue_bytes_ + b > host_.settings().send_queue_max) {
        // The write is in the store; anti-entropy carries it to the peers.
        counters_.add(ClusterMetric::send_queue_overflow);
        store::value_unref(out.value);
        return;
    }
    queue_bytes_ += b;
    queue_.push_back(std::move(out));
}

Stream::Direct Stream::send_now(Outgoing& out) {
    std::unique_lock<std::mutex> lock(send_mu_, std::try_to_lock);
    if (!lock.owns_lock() || !direct_ok_ || !deferred_.empty() || !udp_.direct_ready()) return Direct::Queue;
    {
        // Queued writes go first (a writer's own earlier ones among them).
        // flush() holds send_mu_ from taking the queue until its messages
        // are numbered, so an empty queue here means nothing is between.
        std::lock_guard<std::mutex> q(queue_mu_);
        if (!queue_.empty()) return Direct::Queue;
    }
    // A write within 1.5 direct sends of the last direct send's start, or
    // within half a direct send of the loop's last flush, is part of a
    // burst: it goes to the loop, which batches, as without direct sends.
    // A writer that puts back to back thus sends one datagram in a burst
    // itself, and at a steady rate spends at most two thirds of its time in
    // sendto; one put in flight at a time (the next waits for the receiver)
    // goes direct.
    const int64_t start = steady_ns();
    if (start < busy_until_ns_) return Direct::Queue;
    const wire::Record r = record_of(out);
    // A record that needs fragments stays with the loop, in its batches.
    if (wire::record_size(r) > cap_) return Direct::Queue;
    direct_payload_.clear();
    wire::Writer w(direct_payload_);
    wire::encode_record(w, r);
    counters_.add(ClusterMetric::records_sent);
    counters_.add(ClusterMetric::records_sent_direct);
    bool all = send_locked(direct_payload_, true);
    const int64_t end = steady_ns();
    // What a direct send costs when not preempted: down at once, up slowly
    // and by at most 4x the estimate per sample, so that a send stalled by
    // another process's time slice does not hold the next ones back.
    int64_t cost = end - start;
    if (direct_cost_ns_ > 0) cost = std::min(cost, 4 * direct_cost_ns_);
    if (cost <= direct_cost_ns_ || direct_cost_ns_ == 0) direct_cost_ns_ = cost;
    else direct_cost_ns_ += (cost - direct_cost_ns_) / 16;
    busy_until_ns_ = start + direct_cost_ns_ * 3 / 2;
    log_errors(lock);
    store::value_unref(out.value);
    out.value = nullptr;
    return all ? Direct::Sent : Direct::Deferred;
}

void Stream::log_errors(std::unique_lock<std::mutex>& lock) {
    const bool seal_failed = seal_failed_;
    const size_t oversize = oversize_;
    seal_failed_ = false;
    oversize_ = 0;
    lock.unlock();
    if (oversize)
        host_.log().log(MCCACHE_LOG_ERROR, "message of %zu bytes exceeds the fragment limit", oversize);
    if (seal_failed) host_.log().log(MCCACHE_LOG_ERROR, "cannot seal a datagram; message dropped");
}

void Stream::send_deferred_locked() {
    while (!deferred_.empty()) {
        udp_.send_all_from(deferred_.front().datagram, deferred_.front().next);
        deferred_.pop_front();
    }
}

void Stream::flush() {
    // Held until the batch is numbered and sent: a direct send cannot slip
    // in between taking the queue and numbering what was in it.
    std::unique_lock<std::mutex> slock(send_mu_);
    send_deferred_locked();
    std::vector<Outgoing> batch;
    {
        std::lock_guard<std::mutex> lock(queue_mu_);
        batch.swap(queue_);
        queue_bytes_ = 0;
    }
    if (batch.empty()) return;
    if (running_) {
        std::vector<wire::Record> records;
        records.reserve(batch.size());
        for (const Outgoing& o : batch) records.push_back(record_of(o));
        // The batch's datagrams leave in sendmmsg calls, before send_mu_
        // lets a direct sender in behind them.
        udp_.begin_batch();
        pack_records(records, cap_, 0, [&](std::string_view payload, bool) { send_locked(payload, false); });
        udp_.end_batch();
        counters_.add(ClusterMetric::records_sent, records.size());
        busy_until_ns_ = steady_ns() + direct_cost_ns_ / 2;
    }
    log_errors(slock);
    for (Outgoing& o : batch) store::value_unref(o.value);
}

bool Stream::send_locked(std::string_view payload, bool direct) {
    // The loop sends what a direct send left behind before anything newer.
    if (!direct) send_deferred_locked();
    if (fragment_count(payload.size(), cap_) > wire::kMaxFragments) {
        oversize_ = payload.size();
        return true;
    }
    wire::Header h;
    h.type = wire::Type::Data;
    h.flags = wire::kFlagSequenced;
    h.cluster = cluster_id_;
    h.sender = host_.node_id();
    h.incarnation = incarnation_;
    h.seq = next_seq_.load(std::memory_order_relaxed) + 1;
    next_seq_.store(h.seq, std::memory_order_relaxed);
    const bool sealing = sealer_->sealing();
    const bool fragmented = fragment_count(payload.size(), cap_) > 1;
    bool all = true;
    Sent sent{h.seq, {}, 0};
    FrameError e = frame(h, payload, cap_, *sealer_, {},
                         [&](std::string&& dgram, const wire::Header& fh, std::string_view slice) {
                             if (!direct) {
                                 udp_.send_all(dgram);
                             } else {
                                 // Once one datagram is left to the loop, so is
                                 // everything after it: the stream leaves in order.
                                 size_t next = 0;
                                 if (!all || !udp_.send_all_direct(dgram, &next)) {
                                     deferred_.push_back(Deferred{dgram, next});
                                     all = false;
                                 }
                             }
                             if (fragmented) counters_.add(ClusterMetric::fragments_sent);
                             // Kept unsealed: a retransmission is sealed with
                             // the key in force when it is sent, so a rotation
                             // that drops the old key does not make the buffer
                             // unreadable. (The same key and nonce seal the
                             // same bytes again, so this reuses no nonce.)
                             std::string kept = sealing ? wire::encode_plain(fh, slice) : std::move(dgram);
                             sent.bytes += kept.size();
                             sent.datagrams.push_back(std::move(kept));
                         });
    if (e == FrameError::SealFailed) {
        seal_failed_ = true;
        return all;
    }
    counters_.add(ClusterMetric::data_messages_sent);
    retransmit_bytes_ += sent.bytes;
    retransmit_.push_back(std::move(sent));
    while (retransmit_bytes_ > host_.settings().retransmit_buffer && retransmit_.size() > 1) {
        retransmit_bytes_ -= retransmit_.front().bytes;
        retransmit_.pop_front();
    }
    return all;
}

uint64_t Stream::settle() {
    std::lock_guard<std::mutex> lock(send_mu_);
    send_deferred_locked();
    return next_seq_.load(std::memory_order_relaxed);
}

void Stream::resend(const wire::Nack& nack, const transport::Address& to, size_t members,
                    std::vector<wire::SeqRange>* gone) {
    constexpr size_t kMaxResendPerNack = 256;
    const int64_t now = host_.now_ms();
    // Asked by many members (half of them, and at least two) within a NACK
    // delay or two: one multicast serves them all, and those whose timer
    // has not fired yet hear it before they ask.
    const size_t many = std::max<size_t>(2, (members + 1) / 2);
    const int64_t window = 2 * std::max<int64_t>(host_.settings().nack_delay_ms, 1);
    if (asked_.size() > 4096)
        for (auto it = asked_.begin(); it != asked_.end();) it = now - it->second.first_ms > 4 * window ? asked_.erase(it) : std::next(it);
    size_t resent = 0;
    std::unique_lock<std::mutex> lock(send_mu_);  // the retransmit buffer and the sealer
    send_deferred_locked();
    udp_.begin_batch();  // the resent frames leave in sendmmsg/GSO batches, before send_mu_ is released
    const uint64_t last = next_seq_.load(std::memory_order_relaxed);
    const uint64_t first = retransmit_.empty() ? last + 1 : retransmit_.front().seq;
    // One message, whole or the listed fragments, to `to` or to everyone.
    auto resend_one = [&](uint64_t s, const wire::PartialMessage* p) {
        const uint64_t i = s - first;
        if (s < first || i >= retransmit_.size() || retransmit_[i].seq != s) {
            gone->push_back({s, s});  // left the buffer, or never stored (e.g. could not be sealed)
            return;
        }
        Asked& a = asked_[s];
        if (a.first_ms == 0 || now - a.first_ms > window) a = Asked{0, now, 0};
        ++a.requests;
        if (a.multicast_ms && now - a.multicast_ms < window) return;  // it is on its way to everyone
        const bool to_all = a.requests >= many;
        if (to_all) a.multicast_ms = now;
        const std::vector<std::string>& frames = retransmit_[i].datagrams;
        auto wanted = [&](size_t f) {
            if (!p) return true;
            if (p->tail && f > p->highest) return true;
            for (auto [lo, hi] : p->missing)
                if (f >= lo && f <= hi) return true;
            return false;
        };
        for (size_t f = 0; f < frames.size(); ++f) {
            if (!wanted(f)) continue;
            std::string sealed;
            std::string_view out = frames[f];
            if (sealer_->sealing()) {
                wire::Header fh;
                std::string_view body;
                if (wire::decode_plain(reinterpret_cast<const unsigned char*>(frames[f].data()), frames[f].size(), &fh,
                                       &body) != wire::Error::None)
                    continue;
                sealed = sealer_->seal(fh, body);
                if (sealed.empty()) continue;
                out = sealed;
            }
            if (to_all) udp_.send_all(out);
            else udp_.send_to(to, out);
            counters_.add(to_all ? ClusterMetric::retransmits_multicast : ClusterMetric::retransmit_datagrams);
        }
        counters_.add(ClusterMetric::retransmits);
        ++resent;
    };
    for (const wire::SeqRange& r : nack.ranges) {
        if (r.to > last) continue;  // never sent: a confused or hostile peer
        uint64_t from = r.from;
        if (from < first) {
            gone->push_back({from, std::min(r.to, first - 1)});
            from = first;
        }
        size_t steps = 0;
        for (uint64_t s = from; s <= r.to && resent < kMaxResendPerNack && steps++ < 2 * kMaxResendPerNack; ++s)
            resend_one(s, nullptr);
    }
    for (const wire::PartialMessage& p : nack.partial)
        if (p.seq <= last && resent < kMaxResendPerNack) resend_one(p.seq, &p);
    udp_.end_batch();
}

}  // namespace mccache::cluster
