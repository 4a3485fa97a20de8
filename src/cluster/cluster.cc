#include "cluster/cluster.h"

#include <algorithm>
#include <cinttypes>
#include <random>

namespace mccache::cluster {

using metrics::ClusterMetric;

namespace {

// After admitting a member, a second anti-entropy round with it this much
// later (see on_datagram).
constexpr int64_t kAdmittedResyncMs = 250;

// Start time in the high bits: a restarted member's incarnation is larger
// than its last one, so replayed datagrams of an old incarnation can be told
// apart. The random low bits separate two starts in the same millisecond
// (their nonces must differ).
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

Cluster::Cluster(Host& host)
    : host_(host),
      udp_(counters_),
      control_(host, udp_, counters_),
      stream_(host, udp_, counters_),
      reassembly_(host.settings(), counters_),
      handshake_(host, control_, stream_, counters_),
      members_(host, reassembly_, counters_),
      stream_in_(host, control_, members_, counters_),
      applier_(host, counters_),
      repairs_(host, control_, udp_, counters_),
      antientropy_(host, control_, repairs_, members_, counters_),
      queries_(host, control_, members_, counters_),
      leases_(host, control_, members_, counters_) {}

Cluster::~Cluster() = default;

Status Cluster::start(uv_loop_t* loop) {
    const config::NodeSettings& st = host_.settings();
    cluster_id_ = wire::cluster_id(st.cluster_name);
    incarnation_ = new_incarnation(host_.now_ms());
    started_ms_ = static_cast<uint64_t>(host_.now_ms());
    const std::vector<crypto::Key> seal = as_keys(st.crypto_key), accept = as_keys(st.crypto_key_accept);
    sealer_ = std::make_unique<crypto::Sealer>(cluster_id_, host_.node_id(), incarnation_);
    Status ks = sealer_->set_keys(seal, accept);
    if (!ks.ok()) return ks;
    require_encryption_ = st.require_encryption;
    if (!sealer_->sealing() && st.transport_mode != "none")
        host_.log().log(MCCACHE_LOG_WARN,
                        "no crypto_key: cluster traffic is neither encrypted nor authenticated "
                        "(CRC32C only); see docs/SECURITY.md");
    Status s = udp_.open(loop, st, st.transport_mode,
                         [this](const unsigned char* d, size_t n, const transport::Address& a) { on_datagram(d, n, a); });
    if (!s.ok()) {
        udp_.close();
        return s;
    }
    packet_mtu_ = st.packet_mtu ? st.packet_mtu : udp_.interface_payload();
    control_.start(cluster_id_, incarnation_, packet_mtu_, sealer_.get());
    handshake_.start(incarnation_, started_ms_);
    ks = stream_.start(cluster_id_, incarnation_, packet_mtu_, seal, accept);
    if (!ks.ok()) return ks;
    if (!udp_.enabled()) return Status::Ok();
    uv_timer_init(loop, &tick_timer_);
    uv_timer_init(loop, &pulse_timer_);
    uv_check_init(loop, &after_io_);
    tick_timer_.data = pulse_timer_.data = after_io_.data = this;
    uv_check_start(&after_io_, &Cluster::on_after_io);
    stream_in_.start(loop);
    repairs_.start(loop);
    leases_.start(loop);
    timers_open_ = true;
    running_ = true;  // direct sends start with the first heartbeat (send_heartbeat)
    const uint64_t hb = static_cast<uint64_t>(st.heartbeat_ms);
    uv_timer_start(&tick_timer_, &Cluster::on_tick, 0, hb);
    const uint64_t pulse = static_cast<uint64_t>(st.pulse_ms);
    uv_timer_start(&pulse_timer_, &Cluster::on_pulse, pulse, pulse);
    host_.log().log(MCCACHE_LOG_INFO, "cluster \"%s\": %s on %s, packet_mtu %u, incarnation %016" PRIx64,
                    st.cluster_name.c_str(), st.transport_mode.c_str(), udp_.local().to_string().c_str(),
                    packet_mtu_, incarnation_);
    auto warn_capped = [&](const char* which, int granted, const char* sysctl) {
        if (granted < udp_.buffer_asked())
            host_.log().log(MCCACHE_LOG_WARN,
                            "socket %s buffer capped at %d bytes (socket_buffer asks %d): bursts may "
                            "overflow it; raise net.core.%s (sysctl -w net.core.%s=%d)",
                            which, granted, udp_.buffer_asked(), sysctl, sysctl, udp_.buffer_asked());
    };
    warn_capped("receive", udp_.rcvbuf_granted(), "rmem_max");
    warn_capped("send", udp_.sndbuf_granted(), "wmem_max");
    if (st.fault_drop || st.fault_drop_recv || st.fault_duplicate || st.fault_delay)
        host_.log().log(MCCACHE_LOG_WARN, "fault injection on: seed %" PRIu64, udp_.fault_seed());
    return Status::Ok();
}

void Cluster::stop() {
    if (!running_) {
        udp_.close();
        return;
    }
    stream_.stop();
    control_.send(wire::Type::Goodbye, wire::encode_heartbeat({stream_.last_seq(), started_ms_}), nullptr);
    running_ = false;
    for (uv_timer_t* t : {&tick_timer_, &pulse_timer_}) {
        uv_timer_stop(t);
        uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
    }
    uv_check_stop(&after_io_);
    uv_close(reinterpret_cast<uv_handle_t*>(&after_io_), nullptr);
    stream_in_.stop();
    repairs_.stop();
    leases_.stop();
    timers_open_ = false;
    udp_.close();
    queries_.stop();
}

Status Cluster::set_keys(const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept) {
    if (!sealer_) return Error(MCCACHE_ECLOSED, "the cluster is not running");
    if (seal.empty() && require_encryption_)
        return Error(MCCACHE_EINVAL, "require_encryption is on: a sealing key is required");
    Status st = sealer_->set_keys(seal, accept);
    if (!st.ok()) return st;
    return stream_.set_keys(seal, accept);  // the same keys: cannot fail where the first did not
}

void Cluster::sync_now() {
    if (running_) antientropy_.round(nullptr);
}

void Cluster::start_query(wire::QueryKind kind, std::string cache, int64_t timeout_ms, Queries::OnReply on_reply,
                          Queries::OnDone on_done) {
    queries_.start(kind, std::move(cache), timeout_ms, running_, std::move(on_reply), std::move(on_done));
}

std::string Cluster::members_json() const { return members_.to_json(udp_.local().to_string()); }

metrics::Snapshot<ClusterMetric> Cluster::metrics() const {
    auto s = metrics::Snapshot<ClusterMetric>::of(counters_);
    s.set_text(ClusterMetric::address, udp_.local().to_string());
    s[ClusterMetric::packet_mtu] = packet_mtu_;
    s[ClusterMetric::socket_rcvbuf] = udp_.rcvbuf_granted();
    s[ClusterMetric::socket_sndbuf] = udp_.sndbuf_granted();
    const double msgs = s[ClusterMetric::data_messages_sent];
    s[ClusterMetric::records_per_message] = msgs ? s[ClusterMetric::records_sent] / msgs : 0.0;
    const double samples = s[ClusterMetric::replication_lag_samples];
    s[ClusterMetric::replication_lag_avg_ms] = samples ? s[ClusterMetric::replication_lag_sum_ms] / samples : 0.0;
    return s;
}

// ---- timers ----

void Cluster::on_tick(uv_timer_t* t) { static_cast<Cluster*>(t->data)->tick(); }

void Cluster::on_pulse(uv_timer_t* t) { static_cast<Cluster*>(t->data)->antientropy_.round(nullptr); }

void Cluster::on_after_io(uv_check_t* c) {
    auto* self = static_cast<Cluster*>(c->data);
    self->flush_acks();
    // A sender's gap that cannot be repaired starts its anti-entropy round
    // now, not at the next tick.
    self->antientropy_.tick(self->host_.now_ms());
}

void Cluster::flush_acks() {
    const int64_t t = host_.now_ms();
    size_t active = 0;
    members_.for_each([&](Member& m) {
        if (t - m.repair_in.last_ms < 200) ++active;
    });
    members_.for_each([&](Member& m) {
        Member::RepairIn& in = m.repair_in;
        if (!in.due) return;
        in.due = false;
        // The receive buffer, shared among the members repairing us now: a
        // quarter of it, since a datagram costs the kernel more than its
        // bytes, and the rest absorbs what else arrives meanwhile.
        wire::RepairAck ack;
        ack.window = static_cast<uint32_t>(
            std::max<int64_t>(udp_.rcvbuf_granted() / 4 / static_cast<int64_t>(std::max<size_t>(active, 1)), 3000));
        ack.done.swap(in.done);
        for (auto& [id, p] : m.partials.by_id) {
            if ((id & 3) != 2 || !Repairs::carried(p.type)) continue;  // the channel's messages only
            // Nothing more for 20 ms: the tail may be lost too.
            wire::PartialMessage pm = p.missing(t, 21);
            pm.seq = id >> 2;
            if (!pm.missing.empty() || pm.tail) ack.partial.push_back(std::move(pm));
        }
        const Peer to = m.peer();
        control_.send(wire::Type::RepairAck, wire::encode_repair_ack(ack), &to);
    });
}

void Cluster::tick() {
    send_heartbeat();
    const int64_t t = host_.now_ms();
    members_.tick(t);
    handshake_.tick(t);
    antientropy_.tick(t);
    queries_.tick(t);
}

void Cluster::send_heartbeat() {
    // Every message up to `last` has left (or waits in the socket's queue,
    // which the heartbeat then joins behind it): a receiver never hears of
    // a sequence number before the message itself.
    const uint64_t last = stream_.settle();
    control_.send(wire::Type::Heartbeat, wire::encode_heartbeat({last, started_ms_}), nullptr);
    if (!announced_ && running_) {
        // A node announces itself before its writes go out on their own
        // threads, as when every write went through this loop (its first
        // tick runs before it first drains the queue).
        announced_ = true;
        stream_.allow_direct();
    }
}

// ---- receiving ----

void Cluster::reject(ClusterMetric counter, const char* why, const transport::Address& from) {
    counters_.add(counter);
    // Counted always, logged at most once per 10 s: a flood must not turn
    // into a flood of log lines.
    ++rejects_since_log_;
    const int64_t t = host_.now_ms();
    if (t - last_reject_log_ms_ >= 10000) {
        host_.log().log(MCCACHE_LOG_WARN, "dropped %" PRIu64 " datagram(s) in the last period; latest: %s from %s",
                        rejects_since_log_, why, from.to_string().c_str());
        last_reject_log_ms_ = t;
        rejects_since_log_ = 0;
    }
}

bool Cluster::open(const unsigned char* data, size_t len, const transport::Address& from, wire::Header* h,
                   std::string_view* payload, std::string* opened) {
    wire::Error e = wire::decode_header(data, len, h);
    if (e == wire::Error::None && h->sender == host_.node_id() && h->incarnation == incarnation_ &&
        h->cluster == cluster_id_) {
        // Our own multicast, looped back (IP_MULTICAST_LOOP serves the
        // members on this host, and us with them): set aside before it is
        // opened, which would cost a second AES-GCM pass per datagram. A
        // forgery of these fields gains nothing: we never apply what
        // claims to be our own.
        counters_.add(ClusterMetric::own_datagrams_in);
        return false;
    }
    if (e == wire::Error::None && (h->flags & wire::kFlagSealed)) {
        if (h->cluster != cluster_id_) return reject(ClusterMetric::rejected_wrong_cluster, "wrong cluster", from), false;
        // A unicast datagram was sealed for one member: it opens only if
        // that is us, in this life.
        const std::string aad = (h->flags & wire::kFlagUnicast) ? wire::destination_aad(host_.node_id(), incarnation_)
                                                                 : std::string();
        switch (sealer_->open(data, len, *h, opened, aad)) {
            case crypto::Sealer::Open::Ok: *payload = *opened; return true;
            case crypto::Sealer::Open::Malformed: return reject(ClusterMetric::rejected_malformed, "malformed", from), false;
            default: return reject(ClusterMetric::rejected_auth_failed, "authentication failed", from), false;
        }
    }
    if (e == wire::Error::None && (require_encryption_ || sealer_->has_keys())) {
        // A node that holds a key never believes an unauthenticated datagram:
        // otherwise anyone could inject plaintext writes into a keyed cluster.
        return reject(ClusterMetric::rejected_plaintext, "not sealed", from), false;
    }
    if (e == wire::Error::None) e = wire::decode_plain(data, len, h, payload);
    switch (e) {
        case wire::Error::None: return true;
        case wire::Error::BadChecksum: return reject(ClusterMetric::rejected_bad_checksum, "bad checksum", from), false;
        case wire::Error::BadVersion: return reject(ClusterMetric::rejected_unknown_version, "unknown version", from), false;
        case wire::Error::BadLength: return reject(ClusterMetric::rejected_oversize, "bad length", from), false;
        default: return reject(ClusterMetric::rejected_malformed, wire::error_name(e), from), false;
    }
}

void Cluster::on_datagram(const unsigned char* data, size_t len, const transport::Address& from) {
    if (!running_) return;
    wire::Header h;
    std::string_view payload;
    std::string opened;
    if (!open(data, len, from, &h, &payload, &opened)) return;
    if (h.cluster != cluster_id_) return reject(ClusterMetric::rejected_wrong_cluster, "wrong cluster", from);
    if (h.sender == host_.node_id()) {
        // Another process with our id (our own datagrams were set aside).
        counters_.add(ClusterMetric::rejected_malformed);
        return;
    }
    const bool sequenced = h.flags & wire::kFlagSequenced;
    if (h.seq == 0 || h.sender == 0 || h.incarnation == 0 || (sequenced && h.type != wire::Type::Data) ||
        ((h.type == wire::Type::Challenge || h.type == wire::Type::Response) &&
         (!(h.flags & wire::kFlagUnicast) || h.frag_count != 1)))
        return reject(ClusterMetric::rejected_malformed, "malformed header", from);
    Member* m = members_.live(h.sender, h.incarnation);
    const bool validated = m && m->addr == from;
    if (!validated) handshake_.received(from, len);
    if (h.type == wire::Type::Challenge) {
        handshake_.answer(h, payload, from, validated);
        // A challenge from a sender we do not know yet: ask it in turn, so
        // both sides are admitted within one round trip.
        if (!validated) handshake_.challenge(h, from);
        return;
    }
    if (h.type == wire::Type::Response) {
        Handshake::Admitted a;
        if (!handshake_.accept(h, payload, from, &a)) return;
        Membership::Contact contact;
        Member* admitted = members_.admit(a, &contact);
        // A new member, a new life or one back: converge with it at once
        // (this is also how a joining member receives the state).
        if (admitted && contact != Membership::Contact::Known) {
            const Peer to = admitted->peer();
            antientropy_.round(&to);
            // And once more shortly: the member may not have admitted us yet
            // (its challenge of us can still be on the way), and would then
            // drop this round unread.
            admitted->resync_due_ms = host_.now_ms() + kAdmittedResyncMs;
        }
        return;
    }
    if (!m) {
        if (Member* known = members_.find(h.sender); known && h.incarnation < known->incarnation)
            return reject(ClusterMetric::rejected_replayed, "old incarnation", from);  // an earlier life: replayed
        // Nobody this node holds live state for (new, forgotten, restarted,
        // departed, or anyone after this node restarted): nothing it sent
        // counts until it proves it is alive now.
        handshake_.challenge(h, from);
        return;
    }
    if (!validated) {
        // A member's datagram from another address: a replay, a forgery, or
        // the member moved. Its address changes only once that address
        // answers; until then nothing from it counts.
        handshake_.challenge(h, from);
        return;
    }
    // Nothing about the member changes (liveness, state) until the datagram
    // has passed these checks: a replay must not revive a member.
    ReplayWindow& window = m->window[(h.flags & wire::kFlagUnicast) ? 1 : 0];
    const bool channel = Repairs::carried(h.type) && (h.flags & wire::kFlagUnicast);
    const bool late_repair = channel && window.too_old(h.seq) && h.seq > m->unicast_base;
    if (!sequenced && !late_repair && window.check(h.seq, false)) {
        if (channel) {
            // A message of the repair channel we took, sent again because
            // our acknowledgement was lost: acknowledge it again, or the
            // sender waits forever.
            m->repair_in.done.push_back(h.seq);
            m->repair_in.due = true;
            counters_.add(ClusterMetric::duplicates);
            return;
        }
        return reject(ClusterMetric::rejected_replayed, "replayed", from);
    }
    if (sequenced && m->stream.has(h.seq)) {
        counters_.add(ClusterMetric::duplicates);  // a resent or replayed stream message: nothing new
        return;
    }
    if (members_.touch(*m)) {  // recovered: resynchronise at once
        const Peer to = m->peer();
        antientropy_.round(&to);
    }
    if (channel) {  // acknowledged after this loop turn (flush_acks)
        m->repair_in.due = true;
        m->repair_in.last_ms = host_.now_ms();
    }
    std::string whole;
    if (h.frag_count > 1) {
        counters_.add(ClusterMetric::fragments_received);
        if (!reassembly_.add(m->partials, h, payload, host_.now_ms(), &whole)) return;
        payload = whole;
    }
    if (!sequenced && !late_repair) window.check(h.seq, true);  // marked once the whole message is in
    if (channel) m->repair_in.done.push_back(h.seq);
    dispatch(*m, h, payload);
}

void Cluster::dispatch(Member& m, const wire::Header& h, std::string_view payload) {
    switch (h.type) {
        case wire::Type::Data:
            if (!(h.flags & wire::kFlagSequenced)) {
                counters_.add(ClusterMetric::rejected_malformed);
            } else if (m.stream.has(h.seq)) {
                counters_.add(ClusterMetric::duplicates);
            } else {
                stream_in_.on_message(m, h.seq);
                counters_.add(ClusterMetric::data_messages_received);
                applier_.apply(payload, store::Origin::Remote, m.id);
            }
            break;
        case wire::Type::Heartbeat: {
            wire::Heartbeat hb;
            if (wire::decode_heartbeat(payload, &hb) != wire::Error::None) {
                counters_.add(ClusterMetric::rejected_malformed);
                break;
            }
            stream_in_.on_heartbeat(m, hb.last_seq);
            break;
        }
        case wire::Type::Goodbye: members_.goodbye(m); break;
        case wire::Type::Nack: {
            wire::Nack nack;
            std::vector<wire::SeqRange> gone;
            if (wire::decode_nack(payload, &nack) != wire::Error::None) {
                counters_.add(ClusterMetric::rejected_malformed);
                break;
            }
            counters_.add(ClusterMetric::nacks_received);
            stream_.resend(nack, m.addr, members_.alive(), &gone);
            if (gone.size() > 256) gone.resize(256);  // the rest is asked again
            if (!gone.empty()) {
                const Peer to = m.peer();
                control_.send(wire::Type::Gone, wire::encode_ranges(gone), &to);
                counters_.add(ClusterMetric::gone_sent);
            }
            break;
        }
        case wire::Type::Gone: {
            std::vector<wire::SeqRange> ranges;
            if (wire::decode_ranges(payload, &ranges) != wire::Error::None) {
                counters_.add(ClusterMetric::rejected_malformed);
                break;
            }
            stream_in_.on_gone(m, ranges);
            break;
        }
        case wire::Type::DigestL1: antientropy_.on_digest_l1(m, payload); break;
        case wire::Type::DigestL2: antientropy_.on_digest_l2(m, payload); break;
        case wire::Type::Keys: antientropy_.on_keys(m, payload); break;
        case wire::Type::Repair: applier_.apply(payload, store::Origin::Repair, m.id); break;
        case wire::Type::RepairAck: {
            wire::RepairAck ack;
            if (wire::decode_repair_ack(payload, &ack) != wire::Error::None) {
                counters_.add(ClusterMetric::rejected_malformed);
                break;
            }
            repairs_.on_ack(m.peer(), ack);
            break;
        }
        case wire::Type::Pull: antientropy_.on_pull(m, payload); break;
        case wire::Type::Query: queries_.on_query(m, payload); break;
        case wire::Type::QueryReply: queries_.on_reply(m, payload); break;
        case wire::Type::Lease: leases_.on_message(m, payload); break;
        case wire::Type::Challenge:
        case wire::Type::Response: break;  // handled before a member is looked up
    }
}

}  // namespace mccache::cluster
