// The members this node knows: who they are (id, incarnation, address),
// whether they are alive (failure detection by silence), and the per-member
// state the other parts keep (their stream, their partial messages, the
// replay windows of their unsequenced counters). Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/control.h"
#include "cluster/handshake.h"
#include "cluster/host.h"
#include "cluster/reassembly.h"
#include "cluster/stream_in.h"
#include "metrics/metrics.h"
#include "transport/udp.h"
#include "wire/wire.h"

namespace mccache::cluster {

enum class MemberState : int { Alive = 1, Down = 2, Left = 3 };

// A 1024-wide window over one of a sender's unsequenced counters: which of
// the latest numbers have been seen.
class ReplayWindow {
public:
    // Whether `seq` was seen (or is too old to tell); with `mark`, records it.
    bool check(uint64_t seq, bool mark);
    // Older than the window can tell.
    bool too_old(uint64_t seq) const { return top_ >= kBits && seq <= top_ - kBits; }
    // Everything up to `top` counts as seen (what the sender had used when
    // it was admitted).
    void start_at(uint64_t top);

private:
    static constexpr uint64_t kBits = 1024;
    uint64_t top_ = 0;
    uint64_t seen_[kBits / 64] = {};  // bit i: seq top - i was seen
};

struct Member {
    uint64_t id = 0;
    uint64_t incarnation = 0;
    transport::Address addr;
    MemberState state = MemberState::Alive;
    int64_t last_seen_ms = 0;
    int64_t joined_ms = 0;
    // Another anti-entropy round with this member is due (0: none): set
    // while a round still finds differences, when its stream loses what
    // cannot be resent, and on first contact.
    int64_t resync_due_ms = 0;
    // Rounds still to follow after a gap given up (kResyncRetries): a
    // round's DigestL1 and the DigestL2 answers are not acknowledged, and a
    // lost one would otherwise leave the difference to the next pulse.
    int resync_retries = 0;
    static constexpr int kResyncRetries = 10;  // 0.36^11 < 1e-4 at 20% loss each way
    PeerStream stream;
    Partials partials;
    // [0] to all, [1] to one: separate, because the two arrive on different
    // sockets with different backlogs. (The stream deduplicates itself.)
    ReplayWindow window[2];
    // Its unicast counter when it was admitted: nothing numbered up to here
    // is applied. (A Repair older than the window can tell is still taken
    // above it: repairs are resent until acknowledged, and applying one
    // twice changes nothing, versions decide.)
    uint64_t unicast_base = 0;
    // Anti-entropy: buckets where this member and we differ, and the last
    // exchange found nothing either side should send (keys one side holds
    // that its mode or its room keeps the other from taking). While both
    // digests stay as they were, the difference is explained and no round
    // reopens it: the cluster goes quiet.
    struct Agreement {
        uint64_t mine = 0, theirs = 0;
    };
    std::map<std::string, std::unordered_map<uint16_t, Agreement>, std::less<>> agreed;
    // Repairs from this member not yet acknowledged (Repairs on its side).
    struct RepairIn {
        std::vector<uint64_t> done;  // unicast seqs of Repair messages that arrived whole
        bool due = false;            // a Repair datagram arrived since the last RepairAck
        int64_t last_ms = 0;         // when the last one arrived
    } repair_in;

    Peer peer() const { return Peer{addr, id, incarnation}; }
};

class Membership {
public:
    Membership(Host& host, Reassembler& reassembly, metrics::Counters<metrics::ClusterMetric>& counters)
        : host_(host), reassembly_(reassembly), counters_(counters) {}

    // A sender the handshake admitted, alive at its address now. A new one
    // is created (its stream and counters starting where it said they
    // stand); a new incarnation replaces the old; the same incarnation moves
    // to the validated address and, if it had said goodbye or gone down,
    // is alive again. nullptr (counted) when the table is full of live
    // members, or for an incarnation older than the one held.
    enum class Contact { Known, New, Restarted, Recovered };
    Member* admit(const Handshake::Admitted& a, Contact* contact);
    // The member was heard from at its validated address. True if it had
    // been down and is now alive again.
    bool touch(Member& m);
    void goodbye(Member& m);
    // The member's live state, or nullptr: held for this id and incarnation
    // and not departed. What fails this must go through the handshake.
    Member* live(uint64_t id, uint64_t incarnation);

    // Failure detection (every heartbeat interval): members silent for
    // member_timeout go down; those down or gone for long are forgotten.
    void tick(int64_t now);

    size_t alive() const;
    Member* find(uint64_t id);
    bool alive(uint64_t id) const;
    template <typename F>
    void for_each(F&& fn) {
        for (auto& [id, m] : members_) fn(m);
    }
    std::string to_json(const std::string& self_address) const;

private:
    void report(const Member& m, int event);

    Host& host_;
    Reassembler& reassembly_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    std::map<uint64_t, Member> members_;
};

}  // namespace mccache::cluster
