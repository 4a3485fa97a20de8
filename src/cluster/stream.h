// The outgoing replication stream of one node: local writes, queued by any
// thread and batched by the loop into sequenced Data messages (or sent at
// once on the writer's own thread when nothing is ahead of them), kept in a
// bounded retransmit buffer and resent on request.
//
// One mutex (send_mu_) is held from numbering a stream message until it has
// been sent, by writers and by the loop alike, so the stream leaves in
// sequence order; see "Sending on the writer's thread" in
// docs/ARCHITECTURE.md.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/host.h"
#include "common/status.h"
#include "crypto/seal.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "transport/udp.h"
#include "wire/wire.h"

namespace mccache::cluster {

// A local write waiting to be replicated.
struct Outgoing {
    wire::Op op;
    std::string cache;
    std::string key;
    store::Value* value;  // a reference, for Put
    store::Version version;
    int64_t expires_ms;
    size_t bytes() const { return cache.size() + key.size() + (value ? value->len : 0) + 64; }
};

// A view of a queued write as a wire record (borrows from `o`).
wire::Record record_of(const Outgoing& o);

class Stream {
public:
    Stream(Host& host, transport::Udp& udp, metrics::Counters<metrics::ClusterMetric>& counters);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Loop thread, before anything is sent.
    Status start(uint64_t cluster_id, uint64_t incarnation, size_t packet_mtu,
                 const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept);
    // No more direct sends, then what is queued goes out (loop thread).
    void stop();
    // Writers may send on their own threads from now on (after the first
    // heartbeat: a node announces itself before its writes).
    void allow_direct();

    // Any thread: queue a local write. Takes over `out.value`'s reference.
    void publish(Outgoing out);

    // Any thread but the loop's: send a local write at once, on the calling
    // thread, when nothing is ahead of it (no queued write, no flush or
    // retransmission under way, nothing waiting in the socket's queue), it
    // fits one datagram, and it is not part of a burst (written soon after
    // the last stream message; bursts go to the loop's batches).
    // Queue: not taken, publish() it instead. Sent: taken and sent.
    // Deferred: taken, numbered and kept for retransmission, but the socket
    // refused part of it (EAGAIN or an error): the loop sends the rest, in
    // order, once woken.
    enum class Direct { Queue, Sent, Deferred };
    Direct send_now(Outgoing& out);

    // Loop thread: the queue into Data messages (dropped once stopped).
    void flush();
    // Loop thread: resend what `to` asks for (whole messages, or the
    // fragments a message lacks), to `to` alone or, when many of the
    // `members` alive asked, once to everyone; what is no longer held goes
    // to `gone`.
    void resend(const wire::Nack& nack, const transport::Address& to, size_t members,
                std::vector<wire::SeqRange>* gone);
    // Loop thread: sends what direct sends left behind and returns the last
    // sequence number, every message up to which has left (or waits in the
    // socket's queue, ahead of whatever is sent next).
    uint64_t settle();

    // Loop thread: new keys for the stream's own sealer (rotation).
    Status set_keys(const std::vector<crypto::Key>& seal, const std::vector<crypto::Key>& accept);

    uint64_t last_seq() const { return next_seq_.load(std::memory_order_relaxed); }

private:
    // send_mu_ held: numbers, seals, sends and keeps one stream message.
    // `direct`: on the calling thread's own sendto, leaving what the socket
    // refuses in deferred_; false if anything was left there.
    bool send_locked(std::string_view payload, bool direct);
    void send_deferred_locked();
    void log_errors(std::unique_lock<std::mutex>& lock);  // and unlocks

    Host& host_;
    transport::Udp& udp_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    uint64_t cluster_id_ = 0, incarnation_ = 0;
    size_t cap_ = 0;
    bool running_ = false;  // loop thread

    std::mutex queue_mu_;  // after send_mu_ when both are taken
    std::vector<Outgoing> queue_;
    size_t queue_bytes_ = 0;

    std::mutex send_mu_;
    bool direct_ok_ = false;             // send_now() may send
    std::atomic<uint64_t> next_seq_{0};  // written under send_mu_
    struct Sent {
        uint64_t seq;
        std::vector<std::string> datagrams;  // unsealed: sealed again when resent
        size_t bytes;
    };
    std::deque<Sent> retransmit_;
    size_t retransmit_bytes_ = 0;
    // Its own sealer, used only under send_mu_, so that the loop's (which
    // opens datagrams and seals control messages) needs no lock. Both derive
    // the same subkey; the stream's nonces are its sequence numbers, which
    // only this one numbers new messages with.
    std::unique_ptr<crypto::Sealer> sealer_;
    struct Deferred {
        std::string datagram;
        size_t next;  // first destination not yet sent to
    };
    std::deque<Deferred> deferred_;  // what send_now() left to the loop
    std::string direct_payload_;     // send_now()'s encode buffer
    // Errors of send_locked(), logged once send_mu_ is released (a log
    // callback may write to a cache or rotate keys).
    bool seal_failed_ = false;
    size_t oversize_ = 0;
    // Steady-clock ns: until when a write counts as part of a burst (sent
    // by the loop), and what a direct send costs.
    int64_t busy_until_ns_ = 0;
    int64_t direct_cost_ns_ = 0;
    // Loop thread: who asked for a message again recently (resend()).
    struct Asked {
        uint32_t requests = 0;
        int64_t first_ms = 0, multicast_ms = 0;
    };
    std::map<uint64_t, Asked> asked_;
};

}  // namespace mccache::cluster
