// A member played by the test: a UDP socket of its own on loopback, an id and
// an incarnation, and (optionally) the cluster key. It passes a node's
// freshness handshake the way a real member does (it is alive at its address
// and answers the challenge), so what it sends afterwards is judged on its
// content: forged sequence numbers, lying lengths, hostile payloads.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "cluster_support.h"
#include "crypto/seal.h"
#include "wire/wire.h"

namespace rogue {

namespace wire = mccache::wire;
namespace crypto = mccache::crypto;

class Rogue {
public:
    // `key`: 32 bytes to seal with, or empty for plaintext.
    Rogue(uint64_t cluster, uint64_t id, uint64_t incarnation, const std::string& key_b64 = "")
        : cluster_(cluster), id_(id), incarnation_(incarnation) {
        fd_ = support::loopback_socket(&self_, 4 << 20);
        if (!key_b64.empty()) {
            crypto::Key k{};
            ok_ = crypto::decode_key_b64(key_b64, &k, "rogue").ok();
            sealer_ = std::make_unique<crypto::Sealer>(cluster, id, incarnation);
            ok_ = ok_ && sealer_->set_keys({k}, {}).ok();
        }
    }
    ~Rogue() { close(fd_); }
    Rogue(const Rogue&) = delete;
    Rogue& operator=(const Rogue&) = delete;

    bool ok() const { return ok_ && fd_ >= 0; }
    uint64_t id() const { return id_; }
    const sockaddr_in& address() const { return self_; }
    int fd() const { return fd_; }

    // Introduces itself to the node at `node` (its unicast address) and
    // answers its challenge, saying its stream stands at `last_seq`. True
    // once a Response went out within the deadline.
    bool join(const sockaddr_in& node, uint64_t last_seq = 0,
              std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
        last_seq_ = last_seq;
        const auto until = std::chrono::steady_clock::now() + deadline;
        auto next_hello = std::chrono::steady_clock::time_point{};
        while (std::chrono::steady_clock::now() < until) {
            if (std::chrono::steady_clock::now() >= next_hello) {
                send(node, wire::Type::Heartbeat, 0, wire::encode_heartbeat({last_seq, 1}));
                next_hello = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
            }
            if (answer_one(node, 20)) return true;
        }
        return false;
    }

    // Reads what arrives for up to `wait_ms` and answers the first challenge
    // from `node`; true if it did.
    bool answer_one(const sockaddr_in& node, int wait_ms) {
        unsigned char buf[65536];
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0) return false;
        sockaddr_in from{};
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
        if (n <= 0 || from.sin_port != node.sin_port) return false;
        wire::Header h;
        if (wire::decode_header(buf, static_cast<size_t>(n), &h) != wire::Error::None ||
            h.type != wire::Type::Challenge || h.cluster != cluster_)
            return false;
        std::string body;
        if (sealer_) {
            if (sealer_->open(buf, static_cast<size_t>(n), h, &body, wire::destination_aad(id_, incarnation_)) !=
                crypto::Sealer::Open::Ok)
                return false;
        } else {
            std::string_view v;
            if (wire::decode_plain(buf, static_cast<size_t>(n), &h, &v) != wire::Error::None) return false;
            body.assign(v);
        }
        wire::Challenge c;
        if (wire::decode_challenge(body, &c) != wire::Error::None || c.target != id_) return false;
        node_id_ = h.sender;
        node_incarnation_ = h.incarnation;
        wire::Response r;
        r.challenger = h.sender;
        r.challenger_incarnation = h.incarnation;
        std::memcpy(r.nonce, c.nonce, sizeof r.nonce);
        r.last_seq = last_seq_;
        r.to_all_seq = to_all_;
        r.to_one_seq = to_one_;
        r.started_ms = 1;
        send(node, wire::Type::Response, wire::kFlagUnicast, wire::encode_response(r));
        return true;
    }

    // A datagram from this member: `flags` 0 (to all), kFlagUnicast (to the
    // node it joined: bound to it) or kFlagSequenced (the stream: `seq` is
    // the caller's). Unsequenced ones are numbered in their counter.
    std::string datagram(wire::Type type, uint8_t flags, const std::string& payload, uint64_t seq = 0,
                         uint16_t frag_index = 0, uint16_t frag_count = 1) {
        wire::Header h;
        h.type = type;
        h.flags = flags;
        h.cluster = cluster_;
        h.sender = id_;
        h.incarnation = incarnation_;
        h.seq = (flags & wire::kFlagSequenced) ? seq : (flags & wire::kFlagUnicast) ? ++to_one_ : ++to_all_;
        h.frag_index = frag_index;
        h.frag_count = frag_count;
        if (!sealer_) return wire::encode_plain(h, payload);
        const std::string aad =
            (flags & wire::kFlagUnicast) ? wire::destination_aad(node_id_, node_incarnation_) : std::string();
        return sealer_->seal(h, payload, aad);
    }

    bool send_raw(const sockaddr_in& to, const std::string& bytes) const {
        return sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
               static_cast<ssize_t>(bytes.size());
    }
    bool send(const sockaddr_in& to, wire::Type type, uint8_t flags, const std::string& payload, uint64_t seq = 0) {
        return send_raw(to, datagram(type, flags, payload, seq));
    }

private:
    uint64_t cluster_, id_, incarnation_;
    int fd_ = -1;
    sockaddr_in self_{};
    bool ok_ = true;
    std::unique_ptr<crypto::Sealer> sealer_;
    uint64_t to_all_ = 0, to_one_ = 0, last_seq_ = 0;
    uint64_t node_id_ = 0, node_incarnation_ = 0;  // learned from its challenge
};

}  // namespace rogue
