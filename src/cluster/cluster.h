// Replication semantics for one node, on its loop thread:
// - local writes are batched into sequenced Data messages, fragmented to the
//   MTU, kept in a bounded retransmit buffer and sent to every member;
// - receivers apply records at once (versions make order irrelevant), track
//   a per-sender high-water mark, NACK gaps after a short delay, and fall
//   back to anti-entropy for what can no longer be resent;
// - heartbeats carry liveness and the last sequence number (a lost tail is
//   noticed); a member silent for member_timeout is down, one that returns
//   is resynchronised at once;
// - anti-entropy compares bucket digests in two levels and exchanges
//   (key, version) lists only for buckets that differ, then repairs by
//   unicast; a joining member converges through the same path;
// - cluster-wide queries collect every member's metrics or checksums.
// Only publish(), send_now() and the request entry points are called from
// other threads. The sequenced stream (its numbering, the retransmit buffer,
// its sealing) is shared with the writers' direct sends under send_mu_; see
// "Sending on the writer's thread" in docs/ARCHITECTURE.md.
#pragma once

#include <uv.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "crypto/seal.h"
#include "store/store.h"
#include "transport/udp.h"
#include "wire/wire.h"

namespace mccache::node {
class Node;
class Cache;
}  // namespace mccache::node

namespace mccache::cluster {

// Counters read by metrics from any thread; written on the loop thread.
struct Metrics {
    std::atomic<uint64_t> records_sent{0}, records_received{0}, data_messages_sent{0};
    std::atomic<uint64_t> records_sent_direct{0};  // of records_sent: on the writer's thread
    std::atomic<uint64_t> data_messages_received{0}, fragments_sent{0}, fragments_received{0};
    std::atomic<uint64_t> nacks_sent{0}, nacks_received{0}, retransmits{0}, duplicates{0};
    std::atomic<uint64_t> gaps_unrepairable{0}, gone_sent{0};
    std::atomic<uint64_t> ae_rounds{0}, ae_digests_received{0}, ae_buckets_compared{0};
    std::atomic<uint64_t> ae_groups_deferred{0};  // left to the member already converging them
    std::atomic<uint64_t> ae_keys_repaired{0}, ae_keys_pulled{0};
    std::atomic<uint64_t> rejected_malformed{0}, rejected_checksum{0}, rejected_cluster{0};
    std::atomic<uint64_t> rejected_version{0}, rejected_oversize{0}, rejected_records{0};
    std::atomic<uint64_t> rejected_auth{0}, rejected_replayed{0}, rejected_plaintext{0};
    std::atomic<uint64_t> reassembly_dropped{0}, send_queue_overflow{0}, stale_records{0};
    std::atomic<uint64_t> members_alive{0};
    std::atomic<uint64_t> own_datagrams_in{0};  // our own multicast, looped back to us
    std::atomic<uint64_t> queries_resent{0};    // requests sent again to a silent member
    // Membership changes by kind: joined, left, down, recovered, restarted.
    std::atomic<uint64_t> member_events[5] = {};
    std::atomic<uint64_t> lag_samples{0}, lag_sum_ms{0}, lag_max_ms{0};
};

struct Outgoing {
    wire::Op op;
    std::string cache;
    std::string key;
    store::Value* value;  // a reference, for Put
    store::Version version;
    int64_t expires_ms;
    size_t bytes() const { return cache.size() + key.size() + (value ? value->len : 0) + 64; }
};

enum class MemberState : int { Alive = 1, Down = 2, Left = 3 };

struct Partial {
    uint16_t count = 0;
    uint16_t received = 0;
    std::vector<std::string> frags;
    size_t frag_size = 0;  // of every fragment but the last, once one has arrived
    size_t last_size = 0;  // of the last fragment, once it has arrived
    size_t bytes = 0;   // payload received so far
    size_t charge = 0;  // what it costs the reassembly budgets: payload plus bookkeeping
    int64_t started_ms = 0;
};

struct Member {
    uint64_t id = 0;
    uint64_t incarnation = 0;
    transport::Address addr;
    MemberState state = MemberState::Alive;
    int64_t last_seen_ms = 0;
    int64_t joined_ms = 0;
    // Receive side of this member's reliable stream.
    bool stream_started = false;
    uint64_t hw = 0;        // every seq <= hw received or given up
    uint64_t max_seen = 0;  // highest seq known to exist
    std::set<uint64_t> above;  // received seqs > hw
    int64_t nack_due_ms = 0;
    int nack_tries = 0;     // for the current gap: reset when hw moves
    uint64_t nack_hw = 0;   // hw when the last Nack was sent
    // Another anti-entropy round with this member is due (0: none): set
    // while a round still finds differences, so repairs lost on the way are
    // retried at once instead of at the next cache_pulse.
    int64_t resync_due_ms = 0;
    std::map<uint64_t, Partial> partial;  // by (seq << 1 | sequenced)
    size_t partial_bytes = 0;
    // Replay windows of the unsequenced counters (the stream has its own
    // deduplication): [0] multicast, [1] unicast. Separate, because the two
    // arrive on different sockets with different backlogs.
    struct Window {
        uint64_t top = 0;
        uint64_t seen[16] = {};  // bit i: seq top - i was seen
    } window[2];
};

// The answer collector of one cluster-wide request.
struct PendingQuery {
    wire::QueryKind kind;
    int64_t deadline_ms;
    std::function<void(uint64_t member, const std::string& json)> on_reply;  // loop thread
    std::function<void()> on_done;                                          // loop thread
    std::set<uint64_t> answered;
    // A lost request or reply is asked for again, by unicast to each live
    // member that has not answered, at doubling intervals until the deadline.
    std::string request;  // the encoded Query payload
    int64_t resend_ms = 0;
    int64_t resend_interval_ms = 0;
};

class Cluster {
public:
    explicit Cluster(node::Node& node);
    ~Cluster();

    // Loop thread (or before the loop runs).
    Status start(uv_loop_t* loop);
    void stop();   // goodbye, then close every handle
    void flush();  // drain the publish queue into Data messages

    // Any thread: queue a local write for replication.
    void publish(Outgoing out);

    // Any thread but the loop's: send a local write at once, on the calling
    // thread, when nothing is ahead of it (no queued write, no flush or
    // retransmission under way, nothing waiting in the socket's queue), it
    // fits one datagram, and it is not part of a burst (written soon after
    // the last stream message; bursts go to the loop's batches).
    // Queue: not taken, publish() it instead. Sent:
    // taken and sent. Deferred: taken, numbered and kept for
    // retransmission, but the socket refused part of it (EAGAIN or an
    // error): the loop sends the rest, in order, once woken.
    enum class Direct { Queue, Sent, Deferred };
    Direct send_now(Outgoing& out);

    // Loop thread: new keys (rotation). Empty seal key: stop sealing.
    Status set_keys(const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept);

    // Loop thread.
    void sync_now();  // an anti-entropy round with every member
    uint64_t start_query(wire::QueryKind kind, std::string cache, int64_t timeout_ms,
                         std::function<void(uint64_t, const std::string&)> on_reply,
                         std::function<void()> on_done);
    std::string members_json() const;
    size_t alive_members() const;

    // Tests and fuzzing only (loop thread): feed one datagram to the receive
    // path as if it had arrived from `from`.
    void receive_for_test(const unsigned char* data, size_t len, const transport::Address& from) {
        on_datagram(data, len, from);
    }

    const Metrics& metrics() const { return metrics_; }
    const transport::Udp& transport() const { return udp_; }
    transport::Udp& transport() { return udp_; }
    uint64_t incarnation() const { return incarnation_; }
    uint64_t last_seq() const { return next_seq_.load(std::memory_order_relaxed); }
    // The packet_mtu in force: the setting, or the interface's when it is 0.
    uint32_t packet_mtu() const { return packet_mtu_; }

    // Member changes, reported on the loop thread.
    std::function<void(const Member&, int event)> on_member;

private:
    // sending
    uint32_t packet_mtu_ = 1472;  // set by start(), before any send
    size_t payload_capacity() const;
    // Sequenced messages need send_mu_ held (and go to every member).
    void send_message(wire::Type type, bool sequenced, const std::string& payload,
                      const transport::Address* to);
    // send_mu_ held: numbers, seals, sends and keeps one stream message.
    // `direct`: on the calling thread's own sendto, leaving what the socket
    // refuses in deferred_; false if anything was left there.
    bool send_stream_locked(std::string_view payload, bool direct);
    void send_deferred_locked();  // loop thread, send_mu_ held
    void log_stream_errors(std::unique_lock<std::mutex>& lock);  // and unlocks
    void send_records(wire::Type type, const std::vector<wire::Record>& records,
                      const transport::Address* to, bool repair = false);
    void send_heartbeat();

    // receiving
    void on_datagram(const unsigned char* data, size_t len, const transport::Address& from);
    bool replayed(Member& m, const wire::Header& h, bool mark);
    void reject(std::atomic<uint64_t>& counter, const char* why, const transport::Address& from);
    // Finds the sender's member entry, creating it for a new sender or
    // resetting it for a new incarnation; touch() marks it live once the
    // datagram has passed the replay and duplicate checks.
    Member* member_for(const wire::Header& h, const transport::Address& from);
    void touch(Member& m, const wire::Header& h, const transport::Address& from);
    bool reassemble(Member& m, const wire::Header& h, std::string_view frag, std::string* whole);
    void on_data(Member& m, const wire::Header& h, std::string_view payload);
    void apply_records(std::string_view payload, store::Origin origin, uint64_t sender);
    void on_nack(Member& m, std::string_view payload);
    void on_gone(Member& m, std::string_view payload);
    void note_gap(Member& m);
    void advance(Member& m);
    void give_up(Member& m, uint64_t from, uint64_t to);

    // anti-entropy (antientropy.cc)
    void publish_digests(const transport::Address* to);
    void on_digest_l1(Member& m, std::string_view payload);
    void on_digest_l2(Member& m, std::string_view payload);
    void on_keys(Member& m, std::string_view payload);
    void on_pull(Member& m, std::string_view payload);
    void queue_repair(const transport::Address& to, const std::string& cache,
                      std::vector<std::string> keys);
    void pump_repairs();

    // queries
    void on_query(Member& m, std::string_view payload);
    void on_query_reply(Member& m, std::string_view payload);
    std::string answer(wire::QueryKind kind, std::string_view cache);
    void expire_queries(int64_t now);

    // timers
    static void on_tick(uv_timer_t* t);
    static void on_nack_timer(uv_timer_t* t);
    static void on_pulse(uv_timer_t* t);
    static void on_repair_timer(uv_timer_t* t);
    void tick();
    void run_nacks();
    void arm_nack_timer(int64_t due_ms);
    int64_t now() const;
    void report(const Member& m, int event);

    node::Node& node_;
    uv_loop_t* loop_ = nullptr;
    transport::Udp udp_;
    std::unique_ptr<crypto::Sealer> sealer_;
    bool require_encryption_ = false;
    int64_t last_reject_log_ms_ = 0;
    uint64_t rejects_since_log_ = 0;
    uint64_t cluster_id_ = 0;
    uint64_t incarnation_ = 0;
    uint64_t started_ms_ = 0;
    bool running_ = false;

    std::mutex queue_mu_;  // after send_mu_ when both are taken
    std::vector<Outgoing> queue_;
    size_t queue_bytes_ = 0;

    // The sequenced stream, which both the loop (flush, repairs,
    // retransmissions, heartbeats) and writers in send_now() use. Held from
    // numbering a message until it is sent (or in deferred_), so the stream
    // leaves in sequence order; flush() holds it while it takes the queue.
    std::mutex send_mu_;
    bool direct_ok_ = false;             // send_mu_: send_now() may send
    bool announced_ = false;             // loop: the first heartbeat has been sent
    std::atomic<uint64_t> next_seq_{0};  // written under send_mu_
    struct Sent {
        uint64_t seq;
        std::vector<std::string> datagrams;
        size_t bytes;
    };
    std::deque<Sent> retransmit_;        // send_mu_
    size_t retransmit_bytes_ = 0;        // send_mu_
    // The stream's own sealer (send_mu_): a second instance with the same
    // keys, so that the loop's sealer_ (open, control messages) needs no
    // lock. Both derive the same subkey; the stream's nonces are its
    // sequence numbers, which only this one uses for new messages.
    std::unique_ptr<crypto::Sealer> stream_sealer_;
    struct Deferred {
        std::string datagram;
        size_t next;  // first destination not yet sent to
    };
    std::deque<Deferred> deferred_;      // send_mu_: what send_now() left to the loop
    std::string direct_payload_;         // send_mu_: send_now()'s encode buffer
    // send_mu_: errors of send_stream_locked(), logged once send_mu_ is
    // released (a log callback may write to a cache or rotate keys).
    bool stream_seal_failed_ = false;
    size_t stream_oversize_ = 0;
    // send_mu_, steady-clock ns: until when a write counts as part of a
    // burst (sent by the loop), and what a direct send costs (send_now()).
    int64_t stream_busy_until_ns_ = 0;
    int64_t direct_cost_ns_ = 0;

    uint64_t next_ctrl_ = 0;     // unsequenced messages to all (fragment reassembly ids)
    uint64_t next_unicast_ = 0;  // unsequenced messages to one member

    std::map<uint64_t, Member> members_;
    size_t reassembly_bytes_ = 0;

    struct RepairJob {
        transport::Address to;
        std::string cache;
        std::vector<std::string> keys;
        size_t next = 0;
    };
    std::deque<RepairJob> repairs_;
    // (destination, cache, key) of every repair queued and not yet sent: a
    // key asked for again while its repair still waits (the next
    // anti-entropy round of a joiner that has not received it yet) is not
    // queued twice, which on a slow pump or a small socket buffer used to
    // multiply the backlog round after round.
    std::unordered_set<std::string> repairs_pending_;
    // Which member this node is converging each (cache, digest group) with,
    // and until when: a joiner offered digests by every member pulls each
    // group from one of them, not from all (n times the traffic).
    struct GroupClaim {
        uint64_t member = 0;
        int64_t until_ms = 0;
    };
    std::map<std::pair<std::string, uint16_t>, GroupClaim> group_claims_;
    // Whether another live member holds the claim on this group.
    bool claimed_by_other(const std::string& cache, uint16_t group, const Member& m, int64_t t);

    std::map<uint64_t, PendingQuery> queries_;
    uint64_t next_query_ = 0;

    uv_timer_t tick_timer_{}, nack_timer_{}, pulse_timer_{}, repair_timer_{};
    bool timers_open_ = false;
    int64_t nack_timer_due_ = 0;

    Metrics metrics_;
};

// Member events (values of mccache_member_event).
inline constexpr int kMemberJoined = 1;
inline constexpr int kMemberLeft = 2;
inline constexpr int kMemberDown = 3;
inline constexpr int kMemberRecovered = 4;
inline constexpr int kMemberRestarted = 5;

}  // namespace mccache::cluster
