// UDP for one node, on its loop thread: a multicast group (one host needs no
// configuration: everything stays on the interface address, 127.0.0.1 by
// default) or a static list of unicast peers, plus an own unicast socket for
// replies and repairs. A seeded fault injector (drop, duplicate, delay) sits
// between the node and the sockets for tests, in the manner of JGroups'
// DISCARD and DELAY.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace mccache::transport {

struct Address {
    sockaddr_storage ss{};
    const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
    bool operator==(const Address& o) const;
    std::string to_string() const;
    static Address from(const sockaddr* sa);
};

// Written on the loop thread, read by metrics from any thread.
struct Counters {
    std::atomic<uint64_t> packets_out{0}, bytes_out{0}, packets_in{0}, bytes_in{0};
    std::atomic<uint64_t> send_errors{0}, send_queued{0}, oversize_in{0};
    std::atomic<uint64_t> fault_dropped_out{0}, fault_dropped_in{0}, fault_duplicated{0},
        fault_delayed{0};
};

class Udp {
public:
    using Receive = std::function<void(const unsigned char* data, size_t len, const Address& from)>;

    Udp() = default;
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

    // Tests only: change the drop rates while running (loop thread).
    void set_faults(int drop, int drop_recv) {
        drop_ = drop;
        drop_recv_ = drop_recv;
    }

    bool enabled() const { return enabled_; }
    const Address& local() const { return local_; }
    const Counters& counters() const { return counters_; }
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
    void send_faulty(const Address& to, std::string_view datagram);
    bool chance(int percent);
    static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
    static void on_recv(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr,
                        unsigned flags);
    static void on_delay_timer(uv_timer_t* t);

    uv_loop_t* loop_ = nullptr;
    bool enabled_ = false;
    bool multicast_ = false;
    bool has_group_socket_ = false;
    uv_udp_t unicast_{};
    uv_udp_t group_{};
    uv_timer_t delay_timer_{};
    bool delay_timer_open_ = false;
    Address local_;
    Address group_addr_;
    std::vector<Address> peers_;
    Receive on_receive_;
    std::vector<char> rx_buf_;
    Counters counters_;

    int drop_ = 0, drop_recv_ = 0, duplicate_ = 0, delay_ = 0;
    int64_t delay_max_ms_ = 0;
    uint64_t seed_ = 0;
    std::mt19937_64 rng_;
    std::priority_queue<Delayed, std::vector<Delayed>, std::greater<Delayed>> delayed_;
    uint64_t delayed_order_ = 0;
};

}  // namespace mccache::transport
