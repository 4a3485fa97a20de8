// mccache_path_mtu: as tracepath, start from the route's MTU and send
// don't-fragment probes of exactly that size; a hop that cannot forward one
// answers "fragmentation needed" (IPv6: "packet too big") with its MTU, the
// kernel lowers the path's MTU, and the next probe is that size. The host's
// "port unreachable" confirms a size got through.
#include <algorithm>

#include "probe/probe.h"
#include "probe/socket.h"

namespace mccache::probe {

namespace {
constexpr int kMaxPacket = 65535;  // an IP length field's limit
constexpr int kMinMtu4 = 68, kMinMtu6 = 1280;
constexpr int kMaxSteps = 64;
}  // namespace

Status path_mtu(const std::string& host, int timeout_ms, MtuResult* out) {
    const char* fn = "mccache_path_mtu";
    *out = MtuResult{};
    out->host = host;
    ProbeSocket sock;
    Status st = sock.open(fn, host, kPort);
    if (!st.ok()) return st;
    out->address = sock.address();
    if (!(st = sock.set_dont_fragment()).ok()) return st;
    int mtu = 0;
    if (!(st = sock.route_mtu(&mtu)).ok()) return st;
    mtu = std::min(mtu, kMaxPacket);
    const int floor = sock.v6() ? kMinMtu6 : kMinMtu4;

    uint32_t seq = 0;
    int tries = 0;
    while (static_cast<int>(out->steps.size()) < kMaxSteps) {
        if (mtu < floor)
            return Error(MCCACHE_EIO, std::string(fn) + ": " + host + ": the path MTU fell to " + std::to_string(mtu) +
                                          ", below the protocol's minimum " + std::to_string(floor));
        MtuStep step;
        step.size = mtu;
        bool too_big = false;
        if (!(st = sock.send(++seq, static_cast<size_t>(mtu - sock.header_bytes()), &too_big)).ok()) return st;
        if (too_big) {
            // The kernel already knows a smaller MTU for this path.
            int known = 0;
            if (!(st = sock.route_mtu(&known)).ok()) return st;
            step.outcome = "too big locally";
            step.reported_mtu = known;
            out->steps.push_back(step);
            mtu = known < mtu ? known : mtu - 1;
            tries = 0;
            continue;
        }
        Answer a;
        if (!(st = sock.wait(seq, timeout_ms, &a)).ok()) return st;
        step.from = a.from;
        step.rtt_ms = a.rtt_ms;
        switch (a.kind) {
            case Answer::Reached:
                step.outcome = "reached";
                out->steps.push_back(step);
                out->mtu = mtu;
                out->payload = mtu - sock.header_bytes();
                return Status::Ok();
            case Answer::TooBig: {
                step.outcome = "too big";
                step.reported_mtu = a.mtu;
                out->steps.push_back(step);
                int known = 0;
                if (!(st = sock.route_mtu(&known)).ok()) return st;
                int next = a.mtu > 0 && a.mtu < mtu ? a.mtu : known < mtu ? known : mtu - 1;
                mtu = std::min(next, kMaxPacket);
                tries = 0;
                continue;
            }
            case Answer::NoAnswer:
                step.outcome = "no answer";
                out->steps.push_back(step);
                if (++tries < kTriesPerProbe) continue;
                return Error(MCCACHE_ETIMEDOUT,
                             std::string(fn) + ": no answer from " + host + " (" + out->address + ") to " +
                                 std::to_string(kTriesPerProbe) + " probes of " + std::to_string(mtu) +
                                 " bytes within " + std::to_string(timeout_ms) +
                                 " ms each: a firewall may drop UDP to port 33434 or the ICMP answers, "
                                 "or a hop drops packets too big for it without saying so");
            case Answer::TimeExceeded:
            case Answer::Unreachable:
                step.outcome = "unreachable";
                out->steps.push_back(step);
                return Error(MCCACHE_EIO, std::string(fn) + ": " + host + " (" + out->address +
                                              ") is unreachable: ICMP type " + std::to_string(a.icmp_type) +
                                              " code " + std::to_string(a.icmp_code) + " from " + a.from);
        }
    }
    return Error(MCCACHE_EIO, std::string(fn) + ": " + host + ": no stable MTU after " + std::to_string(kMaxSteps) +
                                  " probes");
}

}  // namespace mccache::probe
