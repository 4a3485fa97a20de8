// UDP for one node, on its loop thread: a multicast group (one host needs no
// configuration: everything stays on the interface address, 127.0.0.1 by
// default) or a static list of unicast peers, plus an own unicast socket for
// replies and repairs. A seeded fault injector (drop, duplicate, delay) sits
// between the node and the sockets for tests, in the manner of JGroups'
// DISCARD and DELAY.
//
// One exception to "on its loop thread": send_all_direct() lets a writer's
// thread send on the unicast socket's fd itself (a non-blocking sendto that
// touches no libuv state), for the caller to serialise with its own lock.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "metrics/metrics.h"

namespace mccache::transport {

struct Address {
    sockaddr_storage ss{};
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
    bool operator==(const Address& o) const;
    std::string to_string() const;
    static Address from(const sockaddr* sa);
};

class Udp {
public:
    using Receive = std::function<void(const unsigned char* data, size_t len, const Address& from)>;

    // Counts into the cluster's metrics (packets, bytes, errors, faults).
    explicit Udp(metrics::Counters<metrics::ClusterMetric>& counters) : counters_(counters) {}
    ~Udp() = default;
    Udp(const Udp&) = delete;
    Udp& operator=(const Udp&) = delete;

    // On the loop thread (or before it runs). `mode` is "multicast",
    // "unicast" or "none" (no sockets at all).
    Status open(uv_loop_t* loop, const config::NodeSettings& settings, std::string_view mode,
                Receive on_receive);
    // uv_close()s every handle; the loop finishes the job.
    void close();

    // To every member: the group, or each unicast peer.
    void send_all(std::string_view datagram);
    void send_to(const Address& to, std::string_view datagram);
    // send_all to the destinations from index `next` on (the group is
    // destination 0; peers are numbered in order): the rest of a direct
    // send that could not finish.
    void send_all_from(std::string_view datagram, size_t next);

    // Any thread, between open() and close(), with direct sends serialised
    // by the caller. Whether a datagram sent now could overtake one sent
    // before it: false while libuv holds queued datagrams of ours (a full
    // socket buffer) or while delay faults are on (they need the loop's
    // timer).
    bool direct_ready() const {
        return queued_.load(std::memory_order_acquire) == 0 &&
               delay_.load(std::memory_order_relaxed) == 0;
    }
    // Sends to every destination from `*next` on with a non-blocking sendto
    // on the calling thread. False at the first destination that would
    // block or failed, with *next there: the caller hands the rest to the
    // loop (send_all_from), in order.
    bool send_all_direct(std::string_view datagram, size_t* next);

    // Loop thread. Between begin_batch() and end_batch(), datagrams that
    // would go out at once (no fault delays them, libuv holds nothing of
    // ours) are gathered and leave in sendmmsg calls: one system call for up
    // to kBatchMax datagrams, in order. A batch also leaves when full.
    // Whatever the socket refuses goes the usual way (queued in libuv on
    // EAGAIN), still in order. The caller holds whatever keeps direct
    // senders out until end_batch() (Cluster's send_mu_).
    void begin_batch() { batching_ = enabled_; }
    void end_batch();
    bool batching() const { return batching_; }

    // Tests only: every datagram sent from now on is also handed to `tap`
    // (on the sending thread) before it leaves. Set once, before the
    // traffic to watch; it stays until the Udp is destroyed.
    using Tap = std::function<void(const Address& to, std::string_view datagram)>;
    void set_tap(Tap tap) {
        tap_owner_ = std::make_unique<Tap>(std::move(tap));
        tap_.store(tap_owner_.get(), std::memory_order_release);
    }

    // Tests only: change the drop rates while running (loop thread).
    void set_faults(int drop, int drop_recv) {
        drop_.store(drop, std::memory_order_relaxed);
        drop_recv_.store(drop_recv, std::memory_order_relaxed);
    }

    bool enabled() const { return enabled_; }
    // The largest UDP payload the interface holding the bound address
    // carries without IP fragmentation: its MTU less the IP and UDP
    // headers, at most 65507. 1472 (IPv4) or 1452 (IPv6), Ethernet's, when
    // the address is a wildcard or its interface cannot be found. Set by
    // open().
    uint32_t interface_payload() const { return interface_payload_; }
    // socket_buffer as asked, and what the kernel granted, in the same unit
    // (the smallest of the sockets). Below the ask, net.core.rmem_max /
    // wmem_max capped it. Set by open().
    int buffer_asked() const { return buffer_asked_; }
    int rcvbuf_granted() const { return rcvbuf_granted_; }
    int sndbuf_granted() const { return sndbuf_granted_; }
    const Address& local() const { return local_; }
    uint64_t fault_seed() const { return seed_; }

private:
    struct Delayed {
        uint64_t due_ms;
        uint64_t order;
        Address to;
        std::string bytes;
        bool operator>(const Delayed& o) const {
            return due_ms != o.due_ms ? due_ms > o.due_ms : order > o.order;
        }
    };

    void send_raw(const Address& to, std::string_view datagram);
    void send_one(const Address& to, std::string_view datagram);  // send_raw, never batched
    void send_batch();
    void send_faulty(const Address& to, std::string_view datagram);
    int send_now(const Address& to, std::string_view datagram);  // 0 or -errno
    bool chance(const std::atomic<int>& percent);
    uint64_t random();
    static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
    static void on_recv(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags);
    static void on_delay_timer(uv_timer_t* t);

    uv_loop_t* loop_ = nullptr;
    bool enabled_ = false;
    bool multicast_ = false;
    bool has_group_socket_ = false;
    uint32_t interface_payload_ = 1472;
    int buffer_asked_ = 0, rcvbuf_granted_ = 0, sndbuf_granted_ = 0;
    int size_buffers(uv_handle_t* h, bool receive);  // asks, returns what was granted
    uv_udp_t unicast_{};
    int fd_ = -1;  // unicast_'s, for direct sends
    // Our datagrams waiting in libuv's send queue (loop thread adds, the
    // send callback removes; direct_ready() reads from any thread).
    std::atomic<uint32_t> queued_{0};
    uv_udp_t group_{};
    uv_timer_t delay_timer_{};
    bool delay_timer_open_ = false;
    Address local_;
    Address group_addr_;
    std::vector<Address> peers_;
    Receive on_receive_;
    // recvmmsg: libuv cuts this into 64 KiB slots, one datagram each.
    // Uninitialised, so only the pages datagrams touch are ever resident.
    std::unique_ptr<char[]> rx_buf_;
    size_t rx_len_ = 0;
    // sendmmsg batch (loop thread): the bytes, copied, and where each goes.
    static constexpr size_t kBatchMax = 64;
    // UDP GSO: at most 64 segments (older kernels' UDP_MAX_SEGMENTS) and a
    // 64 KiB buffer per message. Off after the first refusal.
    static constexpr size_t kGsoMaxSegments = 64;
    static constexpr size_t kGsoMaxBytes = 65000;
    bool gso_ = true;
    struct Pending {
        Address to;
        size_t offset, len;
    };
    bool batching_ = false;
    std::string batch_bytes_;
    std::vector<Pending> batch_;
    metrics::Counters<metrics::ClusterMetric>& counters_;
    std::unique_ptr<Tap> tap_owner_;
    std::atomic<Tap*> tap_{nullptr};
    void tap(const Address& to, std::string_view datagram) {
        if (Tap* t = tap_.load(std::memory_order_acquire)) (*t)(to, datagram);
    }

    // Fault rates (percent), read by direct senders too.
    std::atomic<int> drop_{0}, drop_recv_{0}, duplicate_{0}, delay_{0};
    int64_t delay_max_ms_ = 0;
    uint64_t seed_ = 0;
    std::mutex rng_mu_;  // direct senders draw from rng_ too
    std::mt19937_64 rng_;
    std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
    uint64_t delayed_order_ = 0;
};

}  // namespace mccache::transport
