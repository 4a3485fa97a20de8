#include "probe/socket.h"

#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace mccache::probe {

namespace {

int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string text_of(const sockaddr* sa) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
    return buf;
}

Status sys_error(const std::string& fn, const char* what) {
    return Error(MCCACHE_EIO, fn + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

ProbeSocket::~ProbeSocket() {
    if (fd_ >= 0) close(fd_);
}

Status ProbeSocket::open(const char* fn, const std::string& host, int port) {
    fn_ = fn;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0 || !res)
        return Error(MCCACHE_ENOTFOUND, fn_ + ": cannot resolve \"" + host + "\": " + gai_strerror(rc));
    family_ = res->ai_family;
    std::memcpy(&peer_, res->ai_addr, res->ai_addrlen);
    socklen_t len = res->ai_addrlen;
    freeaddrinfo(res);
    address_ = text_of(reinterpret_cast<sockaddr*>(&peer_));

    fd_ = socket(family_, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd_ < 0) return sys_error(fn_, "socket");
    int on = 1;
    if (v6() ? setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on)
             : setsockopt(fd_, IPPROTO_IP, IP_RECVERR, &on, sizeof on))
        return sys_error(fn_, "IP_RECVERR");
    if (connect(fd_, reinterpret_cast<sockaddr*>(&peer_), len) != 0) {
        if (errno == ENETUNREACH || errno == EHOSTUNREACH)
            return Error(MCCACHE_EIO, fn_ + ": no route to " + address_ + ": " + std::strerror(errno));
        return sys_error(fn_, "connect");
    }
    return Status::Ok();
}

Status ProbeSocket::set_dont_fragment() {
    int v = v6() ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
    if (v6() ? setsockopt(fd_, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof v)
             : setsockopt(fd_, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v))
        return sys_error(fn_, "IP_MTU_DISCOVER");
    return Status::Ok();
}

Status ProbeSocket::set_ttl(int ttl) {
    if (v6() ? setsockopt(fd_, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl)
             : setsockopt(fd_, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl))
        return sys_error(fn_, "IP_TTL");
    return Status::Ok();
}

Status ProbeSocket::route_mtu(int* out) {
    int mtu = 0;
    socklen_t len = sizeof mtu;
    if (v6() ? getsockopt(fd_, IPPROTO_IPV6, IPV6_MTU, &mtu, &len)
             : getsockopt(fd_, IPPROTO_IP, IP_MTU, &mtu, &len))
        return sys_error(fn_, "IP_MTU");
    *out = mtu;
    return Status::Ok();
}

Status ProbeSocket::send(uint32_t seq, size_t payload, bool* too_big) {
    *too_big = false;
    std::vector<unsigned char> buf(payload < 4 ? 4 : payload, 0);
    std::memcpy(buf.data(), &seq, sizeof seq);
    sent_ns_ = now_ns();
    for (int attempt = 0; attempt < 4; ++attempt) {
        if (::send(fd_, buf.data(), payload, 0) >= 0) return Status::Ok();
        if (errno == EMSGSIZE) {
            *too_big = true;
            return Status::Ok();
        }
        // An earlier probe's ICMP is reported once more as the socket's
        // pending error: it was read from the error queue already.
        if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EINTR) {
            Answer skip;
            bool matches = false;
            while (read_error(UINT32_MAX, &skip, &matches)) {
            }
            continue;
        }
        return sys_error(fn_, "send");
    }
    return sys_error(fn_, "send");
}

bool ProbeSocket::read_error(uint32_t seq, Answer* out, bool* matches) {
    unsigned char data[64];
    alignas(cmsghdr) unsigned char control[512];
    sockaddr_storage from{};
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) return false;
    // Reading the queue does not clear the socket's pending error; this does.
    int pending = 0;
    socklen_t plen = sizeof pending;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &pending, &plen);

    uint32_t got = 0;
    *matches = n < static_cast<ssize_t>(sizeof got);  // a quote too short to tell: take it
    if (!*matches) {
        std::memcpy(&got, data, sizeof got);
        *matches = got == seq;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        bool v4err = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
        bool v6err = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
        if (!v4err && !v6err) continue;
        sock_extended_err ee;
        std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
        const sockaddr* offender = SO_EE_OFFENDER(reinterpret_cast<sock_extended_err*>(CMSG_DATA(c)));
        out->from = ee.ee_origin == SO_EE_ORIGIN_LOCAL ? "" : text_of(offender);
        out->icmp_type = ee.ee_type;
        out->icmp_code = ee.ee_code;
        out->rtt_ms = static_cast<double>(now_ns() - sent_ns_) / 1e6;
        if (ee.ee_errno == EMSGSIZE) {
            out->kind = Answer::TooBig;
            out->mtu = static_cast<int>(ee.ee_info);
        } else if (ee.ee_errno == ECONNREFUSED) {
            out->kind = Answer::Reached;  // port unreachable: the host itself answered
        } else if ((ee.ee_origin == SO_EE_ORIGIN_ICMP && ee.ee_type == ICMP_TIME_EXCEEDED) ||
                   (ee.ee_origin == SO_EE_ORIGIN_ICMP6 && ee.ee_type == ICMP6_TIME_EXCEEDED)) {
            out->kind = Answer::TimeExceeded;
        } else if (!out->from.empty() && out->from == address_) {
            out->kind = Answer::Reached;  // the host, refusing in another way: still there
        } else {
            out->kind = Answer::Unreachable;
        }
        return true;
    }
    return true;  // an entry without a usable header: skipped by the caller (kind NoAnswer)
}

Status ProbeSocket::wait(uint32_t seq, int timeout_ms, Answer* out) {
    const int64_t deadline = sent_ns_ + static_cast<int64_t>(timeout_ms) * 1000000;
    for (;;) {
        int64_t left_ms = (deadline - now_ns() + 999999) / 1000000;
        if (left_ms <= 0) {
            *out = Answer{};
            return Status::Ok();
        }
        pollfd p{fd_, POLLIN, 0};
        int rc = poll(&p, 1, static_cast<int>(left_ms));
        if (rc < 0) {
            if (errno == EINTR) continue;
            return sys_error(fn_, "poll");
        }
        if (rc == 0) continue;
        if (p.revents & POLLERR) {
            Answer a;
            bool matches = false;
            while (read_error(seq, &a, &matches)) {
                if (matches && a.kind != Answer::NoAnswer) {
                    *out = a;
                    return Status::Ok();
                }
                a = Answer{};
            }
            int pending = 0;  // an error without a queue entry: clear it, or poll spins
            socklen_t plen = sizeof pending;
            getsockopt(fd_, SOL_SOCKET, SO_ERROR, &pending, &plen);
        }
        if (p.revents & POLLIN) {
            unsigned char buf[64];
            ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n >= 0) {  // something listens there and answered
                out->kind = Answer::Reached;
                out->from = address_;
                out->rtt_ms = static_cast<double>(now_ns() - sent_ns_) / 1e6;
                return Status::Ok();
            }
        }
    }
}

}  // namespace mccache::probe
