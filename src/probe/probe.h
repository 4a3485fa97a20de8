// Path diagnostics for operators, as tracepath does them: the path MTU to a
// host (IP_MTU_DISCOVER with DF probes, ICMP "fragmentation needed" / "packet
// too big" read from the socket's error queue) and the number of hops to it
// (TTL-limited UDP probes, ICMP "time exceeded" read the same way). McCache's
// get_mtu() and get_hops() ran ping and traceroute; these need neither, nor
// raw sockets or privileges: an ordinary UDP socket with IP_RECVERR.
//
// Probes go to UDP port 33434 (traceroute's), where nothing is expected to
// listen, so the host answers "port unreachable": the sign a probe got there.
// Every call blocks its thread, one probe in flight at a time.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace mccache::probe {

constexpr int kPort = 33434;
constexpr int kTriesPerProbe = 3;

// One probe of mccache_path_mtu: what a packet of `size` bytes met.
struct MtuStep {
    int size = 0;          // IP packet size sent
    std::string outcome;   // "reached", "too big", "too big locally", "no answer"
    std::string from;      // who answered ("" for none or the local stack)
    int reported_mtu = 0;  // the MTU an ICMP "too big" or the local route named
    double rtt_ms = 0;
};

struct MtuResult {
    std::string host, address;
    int mtu = 0;      // largest IP packet that reached the host unfragmented
    int payload = 0;  // mtu less the IP and UDP headers: a packet_mtu for that path
    std::vector<MtuStep> steps;
};

struct Hop {
    int ttl = 0;
    std::string from;  // "" when no answer came for this TTL
    double rtt_ms = 0;
    bool reached = false;
};

struct HopsResult {
    std::string host, address;
    int hops = 0;  // the TTL at which the host answered: 1 on the same link
    std::vector<Hop> route;
};

// Fills `out` (also on failure, with the probes made so far).
Status path_mtu(const std::string& host, int timeout_ms, MtuResult* out);
Status hops(const std::string& host, int max_hops, int timeout_ms, HopsResult* out);

std::string to_json(const MtuResult& r);
std::string to_json(const HopsResult& r);

}  // namespace mccache::probe
