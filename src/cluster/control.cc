#include "cluster/control.h"

#include "cluster/framing.h"

namespace mccache::cluster {

using metrics::ClusterMetric;

void Control::start(uint64_t cluster_id, uint64_t incarnation, size_t packet_mtu, crypto::Sealer* sealer) {
    cluster_id_ = cluster_id;
    incarnation_ = incarnation;
    cap_ = payload_capacity(packet_mtu);
    sealer_ = sealer;
}

bool Control::header(wire::Type type, size_t payload_size, const Peer* to, wire::Header* h) {
    h->type = type;
    h->flags = to ? wire::kFlagUnicast : 0;
    h->cluster = cluster_id_;
    h->sender = host_.node_id();
    h->incarnation = incarnation_;
    if (fragment_count(payload_size, cap_) > wire::kMaxFragments) {
        host_.log().log(MCCACHE_LOG_ERROR, "message of %zu bytes exceeds the fragment limit", payload_size);
        return false;
    }
    h->seq = to ? ++next_to_one_ : ++next_to_all_;
    return true;
}

void Control::send(wire::Type type, std::string_view payload, const Peer* to) {
    wire::Header h;
    if (!header(type, payload.size(), to, &h)) return;
    const size_t frags = fragment_count(payload.size(), cap_);
    const std::string aad = to ? wire::destination_aad(to->id, to->incarnation) : std::string();
    FrameError e = frame(h, payload, cap_, *sealer_, aad, [&](std::string&& dgram, const wire::Header&, std::string_view) {
        if (to) udp_.send_to(to->addr, dgram);
        else udp_.send_all(dgram);
        if (frags > 1) counters_.add(ClusterMetric::fragments_sent);
    });
    if (e == FrameError::SealFailed) host_.log().log(MCCACHE_LOG_ERROR, "cannot seal a datagram; message dropped");
}

uint64_t Control::send_kept(wire::Type type, std::string_view payload, const Peer& to,
                           std::vector<std::string>* frames) {
    wire::Header h;
    if (!header(type, payload.size(), &to, &h)) return 0;
    const size_t frags = fragment_count(payload.size(), cap_);
    frames->clear();
    const std::string aad = wire::destination_aad(to.id, to.incarnation);
    FrameError e = frame(h, payload, cap_, *sealer_, aad, [&](std::string&& dgram, const wire::Header&, std::string_view) {
        udp_.send_to(to.addr, dgram);
        if (frags > 1) counters_.add(ClusterMetric::fragments_sent);
        frames->push_back(std::move(dgram));
    });
    if (e == FrameError::SealFailed) {
        host_.log().log(MCCACHE_LOG_ERROR, "cannot seal a datagram; message dropped");
        return 0;
    }
    return h.seq;
}

}  // namespace mccache::cluster
