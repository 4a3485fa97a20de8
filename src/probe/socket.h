// A connected UDP socket that reports ICMP errors through its error queue
// (IP_RECVERR / IPV6_RECVERR): the one tool both probes share.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace mccache::probe {

// What became of one probe.
struct Answer {
    enum Kind {
        Reached,       // the host answered: port unreachable, or a reply
        TooBig,        // a hop (or the local stack) needs smaller packets: `mtu`
        TimeExceeded,  // a router on the way dropped it for its TTL
        Unreachable,   // a router says the host or network is unreachable
        NoAnswer,      // nothing within the timeout
    } kind = NoAnswer;
    std::string from;  // the ICMP's sender, "" if local or none
    int mtu = 0;
    int icmp_type = -1, icmp_code = -1;
    double rtt_ms = 0;
};

class ProbeSocket {
public:
    ProbeSocket() = default;
    ~ProbeSocket();
    ProbeSocket(const ProbeSocket&) = delete;
    ProbeSocket& operator=(const ProbeSocket&) = delete;

    // Resolves `host` (a name or an IPv4/IPv6 literal) and connects to it.
    // `fn` names the caller in messages.
    Status open(const char* fn, const std::string& host, int port);
    bool v6() const { return family_ == AF_INET6; }
    const std::string& address() const { return address_; }
    // IP plus UDP header bytes.
    int header_bytes() const { return v6() ? 48 : 28; }

    // Don't fragment, and learn the path MTU from ICMP.
    Status set_dont_fragment();
    Status set_ttl(int ttl);
    // The kernel's path MTU towards the host (the route's, or what ICMP taught it).
    Status route_mtu(int* out);

    // Sends a probe of `payload` bytes carrying `seq`. *too_big is set when
    // the local stack refused it for its size (EMSGSIZE).
    Status send(uint32_t seq, size_t payload, bool* too_big);
    // Waits up to `timeout_ms` for what became of probe `seq`; answers to
    // earlier probes are skipped.
    Status wait(uint32_t seq, int timeout_ms, Answer* out);

private:
    // Reads one error-queue entry: false when the queue is empty.
    bool read_error(uint32_t seq, Answer* out, bool* matches);
    std::string fn_;
    int fd_ = -1;
    int family_ = AF_UNSPEC;
    std::string address_;
    sockaddr_storage peer_{};
    int64_t sent_ns_ = 0;
};

}  // namespace mccache::probe
