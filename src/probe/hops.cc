// mccache_hops: as traceroute, send a probe with TTL 1, 2, ... and read who
// answers: a router's "time exceeded" is one hop on the way, the host's
// "port unreachable" is the end. A silent hop (no answer to any of its
// tries) is counted and passed, as traceroute prints "* * *".
#include "probe/probe.h"
#include "probe/socket.h"

namespace mccache::probe {

Status hops(const std::string& host, int max_hops, int timeout_ms, HopsResult* out) {
    const char* fn = "mccache_hops";
    *out = HopsResult{};
    out->host = host;
    ProbeSocket sock;
    Status st = sock.open(fn, host, kPort);
    if (!st.ok()) return st;
    out->address = sock.address();

    uint32_t seq = 0;
    for (int ttl = 1; ttl <= max_hops; ++ttl) {
        if (!(st = sock.set_ttl(ttl)).ok()) return st;
        Hop hop;
        hop.ttl = ttl;
        Answer a;
        for (int t = 0; t < kTriesPerProbe && a.kind == Answer::NoAnswer; ++t) {
            bool too_big = false;
            if (!(st = sock.send(++seq, 32, &too_big)).ok()) return st;
            if (!(st = sock.wait(seq, timeout_ms, &a)).ok()) return st;
        }
        hop.from = a.from;
        hop.rtt_ms = a.rtt_ms;
        switch (a.kind) {
            case Answer::Reached:
                hop.reached = true;
                out->route.push_back(hop);
                out->hops = ttl;
                return Status::Ok();
            case Answer::TimeExceeded:
            case Answer::NoAnswer:
            case Answer::TooBig:
                out->route.push_back(hop);
                continue;
            case Answer::Unreachable:
                out->route.push_back(hop);
                return Error(MCCACHE_EIO, std::string(fn) + ": " + host + " (" + out->address +
                                              ") is unreachable: ICMP type " + std::to_string(a.icmp_type) +
                                              " code " + std::to_string(a.icmp_code) + " from " + a.from +
                                              " at hop " + std::to_string(ttl));
        }
    }
    return Error(MCCACHE_ETIMEDOUT, std::string(fn) + ": " + host + " (" + out->address + ") not reached within " +
                                        std::to_string(max_hops) + " hops");
}

}  // namespace mccache::probe
