#include "cluster/cluster.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <random>

#include "node/node.h"

namespace mccache::cluster {

namespace {

constexpr uint64_t kWindow = 1 << 16;  // seqs tracked above the high-water mark
constexpr int kMaxNackTries = 8;
constexpr uint64_t kMaxNackGap = 256;
constexpr size_t kMaxRangesPerNack = 64;
constexpr size_t kMaxResendPerNack = 256;

// Start time in the high bits: a restarted member's incarnation is larger
// than its last one, so replayed datagrams of an old incarnation can be told
// apart. The random low bits separate two starts in the same millisecond
// (their nonces must differ).
int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

uint64_t new_incarnation(int64_t now_ms) {
    std::random_device rd;
    return static_cast<uint64_t>(now_ms) << 16 | (rd() & 0xffff);
}

std::vector<crypto::Key> as_keys(const std::vector<unsigned char>& bytes) {
    std::vector<crypto::Key> out;
    if (bytes.size() == 32) {
        crypto::Key k;
        std::copy(bytes.begin(), bytes.end(), k.begin());
        out.push_back(k);
    }
    return out;
}

}  // namespace

Cluster::Cluster(node::Node& node) : node_(node) {}

Cluster::~Cluster() {
    for (auto& o : queue_) store::value_unref(o.value);
}

int64_t Cluster::now() const { return node_.clock().now_ms(); }

size_t Cluster::payload_capacity() const {
    // Room for the larger trailer always, so the size does not depend on
    // whether the cluster has a key.
    return packet_mtu_ - wire::kHeaderSize - wire::kTagSize;
}

Status Cluster::start(uv_loop_t* loop) {
    loop_ = loop;
    const config::NodeSettings& st = node_.settings();
    cluster_id_ = wire::cluster_id(st.cluster_name);
    incarnation_ = new_incarnation(now());
    started_ms_ = static_cast<uint64_t>(now());
    sealer_ = std::make_unique<crypto::Sealer>(cluster_id_, node_.id(), incarnation_);
    Status ks = sealer_->set_keys(as_keys(st.crypto_key), as_keys(st.crypto_key_accept));
    if (!ks.ok()) return ks;
    stream_sealer_ = std::make_unique<crypto::Sealer>(cluster_id_, node_.id(), incarnation_);
    ks = stream_sealer_->set_keys(as_keys(st.crypto_key), as_keys(st.crypto_key_accept));
    if (!ks.ok()) return ks;
    require_encryption_ = st.require_encryption;
    if (!sealer_->sealing() && st.transport_mode != "none")
        node_.log().log(MCCACHE_LOG_WARN,
                        "no crypto_key: cluster traffic is neither encrypted nor authenticated "
                        "(CRC32C only); see docs/SECURITY.md");
    Status s = udp_.open(loop, st, st.transport_mode,
                         [this](const unsigned char* d, size_t n, const transport::Address& a) {
                             on_datagram(d, n, a);
                         });
    if (!s.ok()) {
        udp_.close();
        return s;
    }
    packet_mtu_ = st.packet_mtu ? st.packet_mtu : udp_.interface_payload();
    if (!udp_.enabled()) return Status::Ok();
    uv_timer_init(loop, &tick_timer_);
    uv_timer_init(loop, &nack_timer_);
    uv_timer_init(loop, &pulse_timer_);
    uv_timer_init(loop, &repair_timer_);
    tick_timer_.data = nack_timer_.data = pulse_timer_.data = repair_timer_.data = this;
    timers_open_ = true;
    running_ = true;  // direct sends start with the first heartbeat (send_heartbeat)
    uint64_t hb = static_cast<uint64_t>(st.heartbeat_ms);
    uv_timer_start(&tick_timer_, &Cluster::on_tick, 0, hb);
    uint64_t pulse = static_cast<uint64_t>(st.pulse_ms);
    uv_timer_start(&pulse_timer_, &Cluster::on_pulse, pulse, pulse);
    node_.log().log(MCCACHE_LOG_INFO, "cluster \"%s\": %s on %s, packet_mtu %u, incarnation %016" PRIx64,
                    st.cluster_name.c_str(), st.transport_mode.c_str(),
                    udp_.local().to_string().c_str(), packet_mtu_, incarnation_);
    auto warn_capped = [&](const char* which, int granted, const char* sysctl) {
        if (granted < udp_.buffer_asked())
            node_.log().log(MCCACHE_LOG_WARN,
                            "socket %s buffer capped at %d bytes (socket_buffer asks %d): bursts may "
                            "overflow it; raise net.core.%s (sysctl -w net.core.%s=%d)",
                            which, granted, udp_.buffer_asked(), sysctl, sysctl, udp_.buffer_asked());
    };
    warn_capped("receive", udp_.rcvbuf_granted(), "rmem_max");
    warn_capped("send", udp_.sndbuf_granted(), "wmem_max");
    if (st.fault_drop || st.fault_drop_recv || st.fault_duplicate || st.fault_delay)
        node_.log().log(MCCACHE_LOG_WARN, "fault injection on: seed %" PRIu64, udp_.fault_seed());
    return Status::Ok();
}

void Cluster::stop() {
    if (!running_) {
        udp_.close();
        return;
    }
    {
        // From here on writers queue (and Node drops what it is handed).
        std::lock_guard<std::mutex> lock(send_mu_);
        direct_ok_ = false;
    }
    flush();  // also what direct sends left behind
    send_message(wire::Type::Goodbye, false,
                 wire::encode_heartbeat({next_seq_.load(std::memory_order_relaxed), started_ms_}),
                 nullptr);
    running_ = false;
    for (uv_timer_t* t : {&tick_timer_, &nack_timer_, &pulse_timer_, &repair_timer_}) {
        uv_timer_stop(t);
        uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
    }
    timers_open_ = false;
    udp_.close();
    for (auto& [id, q] : queries_)
        if (q.on_done) q.on_done();
    queries_.clear();
}

// ---- sending ----

void Cluster::publish(Outgoing out) {
    std::lock_guard<std::mutex> lock(queue_mu_);
    size_t b = out.bytes();
    if (queue_bytes_ + b > node_.settings().send_queue_max) {
        // The write is in the store; anti-entropy carries it to the peers.
        metrics_.send_queue_overflow.fetch_add(1, std::memory_order_relaxed);
        store::value_unref(out.value);
        return;
    }
    queue_bytes_ += b;
    queue_.push_back(std::move(out));
}

namespace {
// A view of a queued write as a wire record (borrows from `o`).
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
}  // namespace

Cluster::Direct Cluster::send_now(Outgoing& out) {
    std::unique_lock<std::mutex> lock(send_mu_, std::try_to_lock);
    if (!lock.owns_lock() || !direct_ok_ || !deferred_.empty() || !udp_.direct_ready())
        return Direct::Queue;
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
    if (start < stream_busy_until_ns_) return Direct::Queue;
    const wire::Record r = record_of(out);
    // A record that needs fragments stays with the loop, in its batches.
    if (wire::record_size(r) > payload_capacity()) return Direct::Queue;
    direct_payload_.clear();
    wire::Writer w(direct_payload_);
    wire::encode_record(w, r);
    metrics_.records_sent.fetch_add(1, std::memory_order_relaxed);
    metrics_.records_sent_direct.fetch_add(1, std::memory_order_relaxed);
    bool all = send_stream_locked(direct_payload_, true);
    const int64_t end = steady_ns();
    // What a direct send costs when not preempted: down at once, up slowly
    // and by at most 4x the estimate per sample, so that a send stalled by
    // another process's time slice does not hold the next ones back.
    int64_t cost = end - start;
    if (direct_cost_ns_ > 0) cost = std::min(cost, 4 * direct_cost_ns_);
    if (cost <= direct_cost_ns_ || direct_cost_ns_ == 0) direct_cost_ns_ = cost;
    else direct_cost_ns_ += (cost - direct_cost_ns_) / 16;
    stream_busy_until_ns_ = start + direct_cost_ns_ * 3 / 2;
    log_stream_errors(lock);
    store::value_unref(out.value);
    out.value = nullptr;
    return all ? Direct::Sent : Direct::Deferred;
}

void Cluster::log_stream_errors(std::unique_lock<std::mutex>& lock) {
    const bool seal_failed = stream_seal_failed_;
    const size_t oversize = stream_oversize_;
    stream_seal_failed_ = false;
    stream_oversize_ = 0;
    lock.unlock();
    if (oversize)
        node_.log().log(MCCACHE_LOG_ERROR, "message of %zu bytes exceeds the fragment limit", oversize);
    if (seal_failed) node_.log().log(MCCACHE_LOG_ERROR, "cannot seal a datagram; message dropped");
}

void Cluster::send_deferred_locked() {
    while (!deferred_.empty()) {
        udp_.send_all_from(deferred_.front().datagram, deferred_.front().next);
        deferred_.pop_front();
    }
}

void Cluster::flush() {
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
        send_records(wire::Type::Data, records, nullptr);
        udp_.end_batch();
        stream_busy_until_ns_ = steady_ns() + direct_cost_ns_ / 2;
    }
    log_stream_errors(slock);
    for (Outgoing& o : batch) store::value_unref(o.value);
}

void Cluster::send_records(wire::Type type, const std::vector<wire::Record>& records,
                           const transport::Address* to, bool repair) {
    const size_t cap = payload_capacity();
    const bool sequenced = type == wire::Type::Data;
    std::string payload;
    wire::Writer w(payload);
    size_t in_batch = 0;
    auto flush_batch = [&] {
        if (payload.empty()) return;
        send_message(type, sequenced, payload, to);
        payload.clear();
        in_batch = 0;
    };
    for (const wire::Record& r0 : records) {
        wire::Record r = r0;
        if (repair) r.flags |= wire::kRecordRepair;
        size_t size = wire::record_size(r);
        if (size > cap) {
            // Its own message, fragmented. A repair this large goes on the
            // reliable stream, to everyone: lost fragments are then asked
            // for again, where a lost fragment of an unsequenced message
            // would lose the whole record (0.8^15 at 20% loss).
            flush_batch();
            std::string big;
            wire::Writer bw(big);
            wire::encode_record(bw, r);
            if (repair) {
                // (Repairs come from anti-entropy, never from flush(),
                // which already holds send_mu_.) A stream message leaves
                // before send_mu_ is released, so nothing batched around
                // it may hold it back: a direct send numbered after it
                // must not overtake it.
                const bool batching = udp_.batching();
                if (batching) udp_.end_batch();
                std::unique_lock<std::mutex> slock(send_mu_);
                send_message(wire::Type::Data, true, big, nullptr);
                log_stream_errors(slock);
                if (batching) udp_.begin_batch();
            } else {
                send_message(type, sequenced, big, to);
            }
        } else {
            if (payload.size() + size > cap) flush_batch();
            wire::encode_record(w, r);
            ++in_batch;
        }
        if (sequenced) metrics_.records_sent.fetch_add(1, std::memory_order_relaxed);
    }
    flush_batch();
}

void Cluster::send_message(wire::Type type, bool sequenced, const std::string& payload,
                           const transport::Address* to) {
    if (sequenced) {  // type Data, to every member, send_mu_ held
        send_stream_locked(payload, false);
        return;
    }
    const size_t cap = payload_capacity();
    size_t frags = payload.empty() ? 1 : (payload.size() + cap - 1) / cap;
    if (frags > wire::kMaxFragments) {
        node_.log().log(MCCACHE_LOG_ERROR, "message of %zu bytes exceeds the fragment limit",
                        payload.size());
        return;
    }
    wire::Header h;
    h.type = type;
    h.flags = to ? wire::kFlagUnicast : 0;
    h.cluster = cluster_id_;
    h.sender = node_.id();
    h.incarnation = incarnation_;
    h.seq = to ? ++next_unicast_ : ++next_ctrl_;
    h.frag_count = static_cast<uint16_t>(frags);
    for (size_t i = 0; i < frags; ++i) {
        h.frag_index = static_cast<uint16_t>(i);
        std::string_view slice(payload.data() + i * cap,
                               std::min(cap, payload.size() - std::min(payload.size(), i * cap)));
        std::string dgram = sealer_->sealing() ? sealer_->seal(h, slice) : wire::encode_plain(h, slice);
        if (dgram.empty()) {
            node_.log().log(MCCACHE_LOG_ERROR, "cannot seal a datagram; message dropped");
            return;
        }
        if (to) udp_.send_to(*to, dgram);
        else udp_.send_all(dgram);
        if (frags > 1) metrics_.fragments_sent.fetch_add(1, std::memory_order_relaxed);
    }
}

bool Cluster::send_stream_locked(std::string_view payload, bool direct) {
    // The loop sends what a direct send left behind before anything newer.
    if (!direct) send_deferred_locked();
    const size_t cap = payload_capacity();
    size_t frags = payload.empty() ? 1 : (payload.size() + cap - 1) / cap;
    if (frags > wire::kMaxFragments) {
        stream_oversize_ = payload.size();
        return true;
    }
    wire::Header h;
    h.type = wire::Type::Data;
    h.flags = wire::kFlagSequenced;
    h.cluster = cluster_id_;
    h.sender = node_.id();
    h.incarnation = incarnation_;
    h.seq = next_seq_.load(std::memory_order_relaxed) + 1;
    next_seq_.store(h.seq, std::memory_order_relaxed);
    h.frag_count = static_cast<uint16_t>(frags);
    const bool sealing = stream_sealer_->sealing();
    bool all = true;
    Sent sent{h.seq, {}, 0};
    for (size_t i = 0; i < frags; ++i) {
        h.frag_index = static_cast<uint16_t>(i);
        std::string_view slice(payload.data() + i * cap,
                               std::min(cap, payload.size() - std::min(payload.size(), i * cap)));
        std::string dgram = sealing ? stream_sealer_->seal(h, slice) : wire::encode_plain(h, slice);
        if (dgram.empty()) {
            stream_seal_failed_ = true;
            return all;
        }
        if (!direct) {
            udp_.send_all(dgram);
        } else {
            // Once one datagram is left to the loop, so is everything after
            // it: the stream leaves in order.
            size_t next = 0;
            if (!all || !udp_.send_all_direct(dgram, &next)) {
                deferred_.push_back(Deferred{dgram, next});
                all = false;
            }
        }
        if (frags > 1) metrics_.fragments_sent.fetch_add(1, std::memory_order_relaxed);
        // Kept unsealed: a retransmission is sealed with the key in force
        // when it is sent, so a rotation that drops the old key does not
        // make the buffer unreadable. (The same key and nonce seal the same
        // bytes again, so this reuses no nonce.)
        std::string frame = sealing ? wire::encode_plain(h, slice) : std::move(dgram);
        sent.bytes += frame.size();
        sent.datagrams.push_back(std::move(frame));
    }
    metrics_.data_messages_sent.fetch_add(1, std::memory_order_relaxed);
    retransmit_bytes_ += sent.bytes;
    retransmit_.push_back(std::move(sent));
    while (retransmit_bytes_ > node_.settings().retransmit_buffer && retransmit_.size() > 1) {
        retransmit_bytes_ -= retransmit_.front().bytes;
        retransmit_.pop_front();
    }
    return all;
}

void Cluster::send_heartbeat() {
    uint64_t last;
    {
        // Every message up to `last` has left (or waits in the socket's
        // queue, which the heartbeat then joins behind it): a receiver
        // never hears of a sequence number before the message itself.
        std::lock_guard<std::mutex> lock(send_mu_);
        send_deferred_locked();
        last = next_seq_.load(std::memory_order_relaxed);
    }
    send_message(wire::Type::Heartbeat, false, wire::encode_heartbeat({last, started_ms_}), nullptr);
    if (!announced_ && running_) {
        // A node announces itself before its writes go out on their own
        // threads, as when every write went through this loop (its first
        // tick runs before it first drains the queue).
        announced_ = true;
        std::lock_guard<std::mutex> lock(send_mu_);
        direct_ok_ = true;
    }
}

// ---- receiving ----

Status Cluster::set_keys(const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept) {
    if (!sealer_) return Error(MCCACHE_ECLOSED, "the cluster is not running");
    if (seal.empty() && require_encryption_)
        return Error(MCCACHE_EINVAL, "require_encryption is on: a sealing key is required");
    Status st = sealer_->set_keys(seal, accept);
    if (!st.ok()) return st;
    std::lock_guard<std::mutex> lock(send_mu_);
    return stream_sealer_->set_keys(seal, accept);  // the same keys: cannot fail where the first did not
}

void Cluster::reject(std::atomic<uint64_t>& counter, const char* why, const transport::Address& from) {
    counter.fetch_add(1, std::memory_order_relaxed);
    // Counted always, logged at most once per 10 s: a flood must not turn
    // into a flood of log lines.
    ++rejects_since_log_;
    int64_t t = now();
    if (t - last_reject_log_ms_ >= 10000) {
        node_.log().log(MCCACHE_LOG_WARN,
                        "dropped %" PRIu64 " datagram(s) in the last period; latest: %s from %s",
                        rejects_since_log_, why, from.to_string().c_str());
        last_reject_log_ms_ = t;
        rejects_since_log_ = 0;
    }
}

bool Cluster::replayed(Member& m, const wire::Header& h, bool mark) {
    // A 1024-wide window over each of the sender's unsequenced counters.
    constexpr uint64_t kBits = 1024;
    Member::Window& w = m.window[(h.flags & wire::kFlagUnicast) ? 1 : 0];
    if (w.top >= kBits && h.seq <= w.top - kBits) return true;  // written not to overflow
    if (h.seq <= w.top) {
        uint64_t i = w.top - h.seq;
        bool seen = w.seen[i / 64] >> (i % 64) & 1;
        if (mark) w.seen[i / 64] |= uint64_t{1} << (i % 64);
        return seen;
    }
    if (!mark) return false;
    uint64_t shift = h.seq - w.top;
    if (shift >= kBits) {
        std::fill(std::begin(w.seen), std::end(w.seen), 0);
    } else {
        size_t words = shift / 64, bits = shift % 64;
        for (size_t k = 15; k != static_cast<size_t>(-1); --k) {
            uint64_t v = k >= words ? w.seen[k - words] << bits : 0;
            if (bits && k >= words + 1) v |= w.seen[k - words - 1] >> (64 - bits);
            w.seen[k] = v;
        }
    }
    w.top = h.seq;
    w.seen[0] |= 1;
    return false;
}

void Cluster::on_datagram(const unsigned char* data, size_t len, const transport::Address& from) {
    if (!running_) return;
    wire::Header h;
    std::string_view payload;
    std::string opened;
    wire::Error e = wire::decode_header(data, len, &h);
    if (e == wire::Error::None && h.sender == node_.id() && h.incarnation == incarnation_ &&
        h.cluster == cluster_id_) {
        // Our own multicast, looped back (IP_MULTICAST_LOOP serves the
        // members on this host, and us with them): set aside before it is
        // opened, which would cost a second AES-GCM pass per datagram. A
        // forgery of these fields gains nothing: we never apply what
        // claims to be our own.
        metrics_.own_datagrams_in.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (e == wire::Error::None && (h.flags & wire::kFlagSealed)) {
        if (h.cluster != cluster_id_) return reject(metrics_.rejected_cluster, "wrong cluster", from);
        switch (sealer_->open(data, len, h, &opened)) {
            case crypto::Sealer::Open::Ok: payload = opened; break;
            case crypto::Sealer::Open::Malformed: return reject(metrics_.rejected_malformed, "malformed", from);
            default: return reject(metrics_.rejected_auth, "authentication failed", from);
        }
    } else if (e == wire::Error::None && (require_encryption_ || sealer_->has_keys())) {
        // A node that holds a key never believes an unauthenticated datagram:
        // otherwise anyone could inject plaintext writes into a keyed cluster.
        return reject(metrics_.rejected_plaintext, "not sealed", from);
    } else if (e == wire::Error::None) {
        e = wire::decode_plain(data, len, &h, &payload);
    }
    if (e != wire::Error::None) {
        switch (e) {
            case wire::Error::BadChecksum: return reject(metrics_.rejected_checksum, "bad checksum", from);
            case wire::Error::BadVersion: return reject(metrics_.rejected_version, "unknown version", from);
            case wire::Error::BadLength: return reject(metrics_.rejected_oversize, "bad length", from);
            default: return reject(metrics_.rejected_malformed, wire::error_name(e), from);
        }
    }
    if (h.cluster != cluster_id_) return reject(metrics_.rejected_cluster, "wrong cluster", from);
    if (h.sender == node_.id()) {
        // Another process with our id (our own datagrams left above).
        metrics_.rejected_malformed++;
        return;
    }
    bool sequenced = h.flags & wire::kFlagSequenced;
    if (h.seq == 0 || h.sender == 0 || h.incarnation == 0 ||
        (sequenced && h.type != wire::Type::Data))
        return reject(metrics_.rejected_malformed, "malformed header", from);
    Member* m = member_for(h, from);
    if (!m) return;
    // Nothing about the member changes (liveness, address, state) until the
    // datagram has passed these checks: a replay must not revive a member
    // or divert replies.
    if (m->state == MemberState::Left && m->incarnation == h.incarnation)
        return reject(metrics_.rejected_replayed, "from a member that left", from);  // goodbye is final
    if (!sequenced && replayed(*m, h, false)) return reject(metrics_.rejected_replayed, "replayed", from);
    if (sequenced && m->stream_started && (h.seq <= m->hw || m->above.count(h.seq))) {
        metrics_.duplicates++;  // a resent or replayed stream message: nothing new
        return;
    }
    touch(*m, h, from);
    std::string whole;
    if (h.frag_count > 1) {
        metrics_.fragments_received.fetch_add(1, std::memory_order_relaxed);
        if (!reassemble(*m, h, payload, &whole)) return;
        payload = whole;
    }
    if (!sequenced) replayed(*m, h, true);  // marked once the whole message is in
    switch (h.type) {
        case wire::Type::Data:
            if (h.flags & wire::kFlagSequenced) on_data(*m, h, payload);
            else metrics_.rejected_malformed++;
            break;
        case wire::Type::Heartbeat: {
            wire::Heartbeat hb;
            if (wire::decode_heartbeat(payload, &hb) != wire::Error::None) {
                metrics_.rejected_malformed++;
                break;
            }
            if (!m->stream_started) {
                m->stream_started = true;
                m->hw = m->max_seen = hb.last_seq;
                // History before the first contact is anti-entropy's; check
                // again once what was in flight has landed.
                if (hb.last_seq > 0 && m->resync_due_ms == 0) m->resync_due_ms = now() + 1000;
            } else if (hb.last_seq > m->max_seen) {
                m->max_seen = hb.last_seq;  // a lost tail
                note_gap(*m);
            }
            break;
        }
        case wire::Type::Goodbye:
            if (m->state != MemberState::Left) {
                m->state = MemberState::Left;
                report(*m, kMemberLeft);
            }
            break;
        case wire::Type::Nack: on_nack(*m, payload); break;
        case wire::Type::Gone: on_gone(*m, payload); break;
        case wire::Type::DigestL1: on_digest_l1(*m, payload); break;
        case wire::Type::DigestL2: on_digest_l2(*m, payload); break;
        case wire::Type::Keys: on_keys(*m, payload); break;
        case wire::Type::Repair: apply_records(payload, store::Origin::Repair, m->id); break;
        case wire::Type::Pull: on_pull(*m, payload); break;
        case wire::Type::Query: on_query(*m, payload); break;
        case wire::Type::QueryReply: on_query_reply(*m, payload); break;
    }
}

Member* Cluster::member_for(const wire::Header& h, const transport::Address& from) {
    int64_t t = now();
    auto it = members_.find(h.sender);
    if (it == members_.end()) {
        if (h.type == wire::Type::Goodbye) return nullptr;
        // Bound what unknown senders can make us hold.
        if (members_.size() >= 1024) {
            metrics_.rejected_malformed++;
            return nullptr;
        }
        Member m;
        m.id = h.sender;
        m.incarnation = h.incarnation;
        m.addr = from;
        m.last_seen_ms = m.joined_ms = t;
        it = members_.emplace(h.sender, std::move(m)).first;
        report(it->second, kMemberJoined);
        // A new member: converge with it at once (this is also how a joining
        // member receives the state).
        publish_digests(&it->second.addr);
    } else if (h.incarnation < it->second.incarnation) {
        // An earlier life of this member: replayed traffic.
        reject(metrics_.rejected_replayed, "old incarnation", from);
        return nullptr;
    } else if (h.incarnation != it->second.incarnation) {
        // Restarted: a new stream from sequence 1.
        Member& m = it->second;
        reassembly_bytes_ -= m.partial_bytes;
        Member fresh;
        fresh.id = h.sender;
        fresh.incarnation = h.incarnation;
        fresh.addr = from;
        fresh.last_seen_ms = fresh.joined_ms = t;
        m = std::move(fresh);
        report(m, kMemberRestarted);
        publish_digests(&m.addr);
    }
    return &it->second;
}

void Cluster::touch(Member& m, const wire::Header& h, const transport::Address& from) {
    m.addr = from;
    m.last_seen_ms = now();
    if (m.state != MemberState::Alive && h.type != wire::Type::Goodbye) {
        m.state = MemberState::Alive;
        report(m, kMemberRecovered);
        publish_digests(&m.addr);
    }
}

bool Cluster::reassemble(Member& m, const wire::Header& h, std::string_view frag, std::string* whole) {
    const config::NodeSettings& st = node_.settings();
    bool sequenced = h.flags & wire::kFlagSequenced;
    if (sequenced && m.stream_started && (h.seq <= m.hw || m.above.count(h.seq))) {
        metrics_.duplicates++;
        return false;
    }
    // Fragments are cut at the sender's packet_mtu, which need not be ours:
    // every fragment but the last has the same size, and that size bounds
    // the whole message, which may be no larger than the largest record a
    // member accepts.
    // The smallest packet_mtu (576) bounds how many fragments a message
    // can need.
    const size_t max_frag = wire::kMaxDatagram - wire::kHeaderSize - wire::kTagSize;
    const size_t min_frag = 576 - wire::kHeaderSize - wire::kTagSize;
    const size_t limit = st.max_value_size + st.max_key_size + 64 * 1024;
    const bool last = h.frag_index + 1 == h.frag_count;
    if (frag.size() > max_frag || static_cast<size_t>(h.frag_count - 1) * min_frag > limit ||
        (!last && static_cast<size_t>(h.frag_count - 1) * frag.size() > limit)) {
        metrics_.rejected_oversize++;
        return false;
    }
    if (frag.empty() || (!last && frag.size() < min_frag)) {
        // No sender cuts fragments this small; they could only make us hold
        // bookkeeping for nothing.
        metrics_.rejected_malformed++;
        return false;
    }
    uint64_t key = h.seq << 2 | wire::seq_space(h.flags);
    auto it = m.partial.find(key);
    if (it == m.partial.end()) {
        // The bookkeeping of a partial message counts against the budgets
        // like its payload: a forger sending one byte of many huge messages
        // must not make us hold a slot per fragment for free.
        size_t overhead = sizeof(Partial) + 64 + static_cast<size_t>(h.frag_count) * sizeof(std::string);
        size_t budget = st.reassembly_buffer;
        if (reassembly_bytes_ + overhead + frag.size() > budget ||
            m.partial_bytes + overhead + frag.size() > budget / 4) {
            metrics_.reassembly_dropped++;
            return false;
        }
        Partial p;
        p.count = h.frag_count;
        p.frags.resize(h.frag_count);
        p.started_ms = now();
        p.charge = overhead;
        m.partial_bytes += overhead;
        reassembly_bytes_ += overhead;
        it = m.partial.emplace(key, std::move(p)).first;
    }
    Partial& p = it->second;
    // Sizes must agree: the non-last fragments with each other, the last
    // no larger than they are.
    size_t frag_size = p.frag_size ? p.frag_size : last ? 0 : frag.size();
    if (p.count != h.frag_count || (!last && frag.size() != frag_size) ||
        (last && p.frag_size && frag.size() > p.frag_size) ||
        (!last && p.last_size > frag_size)) {
        metrics_.rejected_malformed++;
        return false;
    }
    if (!p.frags[h.frag_index].empty()) {
        metrics_.duplicates++;
        return false;
    }
    if (reassembly_bytes_ + frag.size() > st.reassembly_buffer ||
        m.partial_bytes + frag.size() > st.reassembly_buffer / 4) {
        metrics_.reassembly_dropped++;
        return false;
    }
    p.frags[h.frag_index].assign(frag);
    if (!last) p.frag_size = frag.size();
    else p.last_size = frag.size();
    p.bytes += frag.size();
    p.charge += frag.size();
    p.received++;
    m.partial_bytes += frag.size();
    reassembly_bytes_ += frag.size();
    if (p.received < p.count) return false;
    whole->clear();
    whole->reserve(p.bytes);
    for (auto& f : p.frags) whole->append(f);
    m.partial_bytes -= p.charge;
    reassembly_bytes_ -= p.charge;
    m.partial.erase(it);
    return true;
}

void Cluster::on_data(Member& m, const wire::Header& h, std::string_view payload) {
    if (!m.stream_started) {
        // First contact: history before this message is anti-entropy's job;
        // check again once what was in flight has landed.
        m.stream_started = true;
        m.hw = m.max_seen = h.seq - 1;
        if (h.seq > 1 && m.resync_due_ms == 0) m.resync_due_ms = now() + 1000;
    }
    if (h.seq <= m.hw || m.above.count(h.seq)) {
        metrics_.duplicates++;
        return;
    }
    m.above.insert(h.seq);
    m.max_seen = std::max(m.max_seen, h.seq);
    advance(m);
    metrics_.data_messages_received.fetch_add(1, std::memory_order_relaxed);
    apply_records(payload, store::Origin::Remote, m.id);
    if (m.max_seen > m.hw) note_gap(m);
}

void Cluster::advance(Member& m) {
    while (!m.above.empty() && *m.above.begin() == m.hw + 1) {
        m.hw++;
        m.above.erase(m.above.begin());
    }
    if (m.max_seen - m.hw > kWindow) give_up(m, m.hw + 1, m.max_seen - kWindow);  // no overflow
    if (m.max_seen == m.hw) {
        m.nack_due_ms = 0;
        m.nack_tries = 0;
    }
}

void Cluster::give_up(Member& m, uint64_t from, uint64_t to) {
    if (from > to) return;
    // Counted arithmetically: a forged heartbeat may claim any last_seq.
    uint64_t received = 0;
    for (auto it = m.above.lower_bound(from); it != m.above.end() && *it <= to; ++it) ++received;
    uint64_t lost = (to - from + 1) - received;
    // Everything in [from, to] counts as handled; what was lost comes back
    // through anti-entropy with this member.
    for (auto it = m.above.begin(); it != m.above.end() && *it <= to;) it = m.above.erase(it);
    if (m.hw < to) m.hw = to;
    advance(m);
    if (lost) {
        metrics_.gaps_unrepairable.fetch_add(lost, std::memory_order_relaxed);
        // One round per member per tick at most: a receiver far behind gives
        // up on every new message, and a round per message would bury it.
        if (m.resync_due_ms == 0) {
            node_.log().log(MCCACHE_LOG_INFO,
                            "%" PRIu64 " messages from %016" PRIx64 " cannot be resent: anti-entropy",
                            lost, m.id);
            m.resync_due_ms = now();
        }
    }
}

void Cluster::note_gap(Member& m) {
    // A gap this large (a healed partition, a member far behind) is cheaper
    // to repair by anti-entropy, which sends only what differs, than by
    // resending every message.
    // Counted as messages missing, not as the span: one message still being
    // asked for at a high rate would otherwise give everything up.
    if (m.max_seen - m.hw - m.above.size() > kMaxNackGap) {
        give_up(m, m.hw + 1, m.max_seen);
        return;
    }
    if (m.nack_due_ms == 0) {
        m.nack_due_ms = now() + node_.settings().nack_delay_ms;
        m.nack_tries = 0;
        arm_nack_timer(m.nack_due_ms);
    }
}

void Cluster::arm_nack_timer(int64_t due) {
    if (!timers_open_) return;
    if (nack_timer_due_ != 0 && nack_timer_due_ <= due) return;
    nack_timer_due_ = due;
    int64_t wait = std::max<int64_t>(0, due - now());
    uv_timer_start(&nack_timer_, &Cluster::on_nack_timer, static_cast<uint64_t>(wait), 0);
}

void Cluster::on_nack_timer(uv_timer_t* t) {
    auto* self = static_cast<Cluster*>(t->data);
    self->nack_timer_due_ = 0;
    self->run_nacks();
}

void Cluster::run_nacks() {
    int64_t t = now();
    int64_t next = 0;
    for (auto& [id, m] : members_) {
        if (m.nack_due_ms == 0) continue;
        if (m.max_seen <= m.hw) {
            m.nack_due_ms = 0;
            continue;
        }
        if (m.nack_due_ms > t) {
            next = next ? std::min(next, m.nack_due_ms) : m.nack_due_ms;
            continue;
        }
        if (m.hw > m.nack_hw) m.nack_tries = 0;  // progress: this is a newer gap
        if (m.nack_tries >= kMaxNackTries || m.state != MemberState::Alive) {
            give_up(m, m.hw + 1, m.max_seen);
            m.nack_due_ms = 0;
            continue;
        }
        std::vector<wire::SeqRange> ranges;
        uint64_t s = m.hw + 1;
        for (auto it = m.above.begin(); s <= m.max_seen && ranges.size() < kMaxRangesPerNack;) {
            uint64_t stop = it == m.above.end() ? m.max_seen : *it - 1;
            if (s <= stop) ranges.push_back({s, stop});
            if (it == m.above.end()) break;
            s = *it + 1;
            ++it;
        }
        if (!ranges.empty()) {
            send_message(wire::Type::Nack, false, wire::encode_ranges(ranges), &m.addr);
            metrics_.nacks_sent++;
        }
        m.nack_tries++;
        m.nack_hw = m.hw;
        m.nack_due_ms = t + node_.settings().nack_delay_ms * (int64_t{1} << std::min(m.nack_tries, 6));
        next = next ? std::min(next, m.nack_due_ms) : m.nack_due_ms;
    }
    if (next) arm_nack_timer(next);
}

void Cluster::on_nack(Member& m, std::string_view payload) {
    std::vector<wire::SeqRange> ranges;
    if (wire::decode_ranges(payload, &ranges) != wire::Error::None) {
        metrics_.rejected_malformed++;
        return;
    }
    metrics_.nacks_received++;
    std::vector<wire::SeqRange> gone;
    size_t resent = 0;
    std::unique_lock<std::mutex> lock(send_mu_);  // the retransmit buffer and the stream's sealer
    send_deferred_locked();
    udp_.begin_batch();  // the resent frames leave in sendmmsg/GSO batches, before send_mu_ is released
    const uint64_t last = next_seq_.load(std::memory_order_relaxed);
    uint64_t first = retransmit_.empty() ? last + 1 : retransmit_.front().seq;
    for (const wire::SeqRange& r : ranges) {
        if (r.to > last) continue;  // never sent: a confused or hostile peer
        uint64_t from = r.from;
        if (from < first) {
            gone.push_back({from, std::min(r.to, first - 1)});
            from = first;
        }
        size_t steps = 0;
        for (uint64_t s = from; s <= r.to && resent < kMaxResendPerNack && steps++ < 2 * kMaxResendPerNack; ++s) {
            uint64_t i = s - first;
            if (i >= retransmit_.size() || retransmit_[i].seq != s) {
                gone.push_back({s, s});  // never stored (e.g. could not be sealed)
                continue;
            }
            for (const std::string& frame : retransmit_[i].datagrams) {
                if (!stream_sealer_->sealing()) {
                    udp_.send_to(m.addr, frame);
                    continue;
                }
                wire::Header fh;
                std::string_view body;
                if (wire::decode_plain(reinterpret_cast<const unsigned char*>(frame.data()), frame.size(),
                                       &fh, &body) != wire::Error::None)
                    continue;
                std::string sealed = stream_sealer_->seal(fh, body);
                if (!sealed.empty()) udp_.send_to(m.addr, sealed);
            }
            metrics_.retransmits++;
            ++resent;
        }
    }
    udp_.end_batch();
    lock.unlock();
    if (gone.size() > 256) gone.resize(256);  // the rest is asked again
    if (!gone.empty()) {
        send_message(wire::Type::Gone, false, wire::encode_ranges(gone), &m.addr);
        metrics_.gone_sent++;
    }
}

void Cluster::on_gone(Member& m, std::string_view payload) {
    std::vector<wire::SeqRange> ranges;
    if (wire::decode_ranges(payload, &ranges) != wire::Error::None) {
        metrics_.rejected_malformed++;
        return;
    }
    for (const wire::SeqRange& r : ranges)
        if (r.to <= m.max_seen && r.to > m.hw) give_up(m, std::max(r.from, m.hw + 1), r.to);
}

void Cluster::apply_records(std::string_view payload, store::Origin base_origin, uint64_t sender) {
    std::vector<wire::Record> records;
    if (wire::decode_records(payload, &records) != wire::Error::None) {
        metrics_.rejected_malformed++;
        return;
    }
    const config::NodeSettings& st = node_.settings();
    int64_t t = now();
    for (const wire::Record& r : records) {
        std::string why;
        if (r.key.size() > st.max_key_size || r.value.size() > st.max_value_size ||
            !config::valid_cache_name(r.cache, &why) || r.node == 0) {
            metrics_.rejected_records++;
            continue;
        }
        node::Cache* cache = node_.find_or_open_cache(r.cache);
        if (!cache) {
            metrics_.rejected_records++;
            continue;
        }
        store::Origin origin = (r.flags & wire::kRecordRepair) ? store::Origin::Repair : base_origin;
        metrics_.records_received.fetch_add(1, std::memory_order_relaxed);
        node_.hlc().observe(r.hlc);
        store::Version v{r.hlc, r.node};
        store::Store& s = cache->store();
        store::Applied res = store::Applied::Stale;
        bool live = false;
        switch (r.op) {
            case wire::Op::Put:
                if (cache->mode() == MCCACHE_MODE_INVALIDATE) {
                    res = s.remove(r.key.data(), r.key.size(), v, origin, &live);
                } else {
                    store::Value* val = store::value_new(r.value.data(), r.value.size());
                    if (!val) throw std::bad_alloc();
                    res = s.apply(r.key.data(), r.key.size(), val, v, r.expires_ms, origin,
                                  cache->mode() == MCCACHE_MODE_UPDATE);
                }
                break;
            case wire::Op::Delete:
                res = s.remove(r.key.data(), r.key.size(), v, origin, &live);
                break;
            case wire::Op::Clear:
                s.clear(v, origin);
                res = store::Applied::Updated;
                break;
        }
        if (res == store::Applied::Stale) metrics_.stale_records++;
        if (origin == store::Origin::Repair &&
            (res == store::Applied::Inserted || res == store::Applied::Updated))
            metrics_.ae_keys_repaired++;
        if (origin == store::Origin::Remote && r.node == sender) {
            int64_t lag = std::max<int64_t>(0, t - store::hlc_ms(r.hlc));
            metrics_.lag_samples++;
            metrics_.lag_sum_ms += static_cast<uint64_t>(lag);
            if (static_cast<uint64_t>(lag) > metrics_.lag_max_ms) metrics_.lag_max_ms = static_cast<uint64_t>(lag);
        }
    }
}

// ---- timers and membership ----

void Cluster::on_tick(uv_timer_t* t) { static_cast<Cluster*>(t->data)->tick(); }

void Cluster::on_pulse(uv_timer_t* t) {
    auto* self = static_cast<Cluster*>(t->data);
    self->publish_digests(nullptr);
}

void Cluster::tick() {
    send_heartbeat();
    int64_t t = now();
    const config::NodeSettings& st = node_.settings();
    size_t alive = 0;
    for (auto& [id, m] : members_) {
        if (m.state == MemberState::Alive && t - m.last_seen_ms > st.member_timeout_ms) {
            m.state = MemberState::Down;
            report(m, kMemberDown);
        }
        if (m.state == MemberState::Alive) ++alive;
        if (m.resync_due_ms && t >= m.resync_due_ms && m.state == MemberState::Alive) {
            m.resync_due_ms = 0;
            publish_digests(&m.addr);
        }
        for (auto it = m.partial.begin(); it != m.partial.end();) {
            if (t - it->second.started_ms > st.reassembly_timeout_ms) {
                m.partial_bytes -= it->second.charge;
                reassembly_bytes_ -= it->second.charge;
                metrics_.reassembly_dropped++;
                it = m.partial.erase(it);
            } else {
                ++it;
            }
        }
    }
    metrics_.members_alive.store(alive, std::memory_order_relaxed);
    // Forget members long gone, so that the member table (bounded) is not
    // filled for good by senders that come and go (or are forged).
    int64_t forget_after = std::max<int64_t>(60000, 10 * st.member_timeout_ms);
    for (auto it = members_.begin(); it != members_.end();) {
        Member& m = it->second;
        if (m.state != MemberState::Alive && t - m.last_seen_ms > forget_after) {
            reassembly_bytes_ -= m.partial_bytes;
            it = members_.erase(it);
        } else {
            ++it;
        }
    }
    expire_queries(t);
}

size_t Cluster::alive_members() const {
    size_t n = 0;
    for (auto& [id, m] : members_)
        if (m.state == MemberState::Alive) ++n;
    return n;
}

void Cluster::report(const Member& m, int event) {
    const char* names[] = {"", "joined", "left", "down", "recovered", "restarted"};
    node_.log().log(event == kMemberDown ? MCCACHE_LOG_WARN : MCCACHE_LOG_INFO,
                    "member %016" PRIx64 " %s (%s)", m.id, names[event], m.addr.to_string().c_str());
    size_t alive = 0;
    for (auto& [id, mm] : members_)
        if (mm.state == MemberState::Alive) ++alive;
    metrics_.members_alive.store(alive, std::memory_order_relaxed);
    if (event >= 1 && event <= 5) metrics_.member_events[event - 1].fetch_add(1, std::memory_order_relaxed);
    if (on_member) on_member(m, event);
}

std::string Cluster::members_json() const {
    std::string out = "{\"self\":{\"id\":\"";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%016" PRIx64, node_.id());
    out += buf;
    out += "\",\"address\":\"" + udp_.local().to_string() + "\"},\"members\":[";
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
