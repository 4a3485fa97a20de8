#include "transport/udp.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mccache::transport {

namespace {

std::string uv_error(const char* what, int rc) { return std::string(what) + ": " + uv_strerror(rc); }

bool resolve(const std::string& host, uint16_t port, Address* out, std::string* why) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0 || !res) {
        *why = "cannot resolve \"" + host + "\": " + gai_strerror(rc);
        return false;
    }
    std::memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return true;
}

int64_t now_ms(uv_loop_t* loop) { return static_cast<int64_t>(uv_now(loop)); }

// libuv's recvmmsg slot size (UV__UDP_DGRAM_MAXSIZE): each datagram lands
// at the start of a slot of this many bytes.
constexpr size_t kRecvSlot = 64 * 1024;
// Datagrams read per recvmmsg (libuv takes at most 20).
constexpr size_t kRecvSlots = 16;

socklen_t sockaddr_len(const Address& a) {
    return a.ss.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

// Whether `a` and `b` (same family) are one address, or in one subnet of
// `mask` when it is given (127.0.0.0/8 on lo holds every 127.x.y.z).
bool same_address(const sockaddr* a, const sockaddr* b, const sockaddr* mask) {
    if (a->sa_family == AF_INET) {
        uint32_t x = reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr;
        uint32_t y = reinterpret_cast<const sockaddr_in*>(b)->sin_addr.s_addr;
        uint32_t m = mask ? reinterpret_cast<const sockaddr_in*>(mask)->sin_addr.s_addr : ~0u;
        return (x & m) == (y & m);
    }
    const unsigned char* x = reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr.s6_addr;
    const unsigned char* y = reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr.s6_addr;
    const unsigned char* m = mask ? reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr.s6_addr : nullptr;
    for (int i = 0; i < 16; ++i)
        if ((x[i] & (m ? m[i] : 0xff)) != (y[i] & (m ? m[i] : 0xff))) return false;
    return true;
}

// The MTU of the interface that holds `local`'s address (exactly, else by
// subnet), or 0 when there is none: a wildcard, or an address that is gone.
int interface_mtu(const Address& local) {
    const sockaddr* want = local.sa();
    if (want->sa_family != AF_INET && want->sa_family != AF_INET6) return 0;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return 0;
    std::string exact, subnet;
    for (const ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != want->sa_family) continue;
        if (exact.empty() && same_address(i->ifa_addr, want, nullptr)) exact = i->ifa_name;
        if (subnet.empty() && i->ifa_netmask && same_address(i->ifa_addr, want, i->ifa_netmask))
            subnet = i->ifa_name;
    }
    freeifaddrs(list);
    const std::string& name = exact.empty() ? subnet : exact;
    if (name.empty() || name.size() >= IFNAMSIZ) return 0;
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.c_str(), name.size());
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int mtu = ::ioctl(fd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 0;
    ::close(fd);
    return mtu;
}

bool is_wildcard(const Address& a) {
    if (a.ss.ss_family == AF_INET)
        return reinterpret_cast<const sockaddr_in*>(&a.ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&a.ss)->sin6_addr);
}

}  // namespace

bool Address::operator==(const Address& o) const {
    if (ss.ss_family != o.ss.ss_family) return false;
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        auto* b = reinterpret_cast<const sockaddr_in*>(&o.ss);
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        auto* b = reinterpret_cast<const sockaddr_in6*>(&o.ss);
        return a->sin6_port == b->sin6_port &&
               std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
    return false;
}

std::string Address::to_string() const {
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        uv_ip4_name(a, host, sizeof host);
        port = ntohs(a->sin_port);
        return std::string(host) + ":" + std::to_string(port);
    }
    if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        uv_ip6_name(a, host, sizeof host);
        port = ntohs(a->sin6_port);
        return "[" + std::string(host) + "]:" + std::to_string(port);
    }
    return "?";
}

Address Address::from(const sockaddr* sa) {
    Address a;
    if (sa->sa_family == AF_INET) std::memcpy(&a.ss, sa, sizeof(sockaddr_in));
    else if (sa->sa_family == AF_INET6) std::memcpy(&a.ss, sa, sizeof(sockaddr_in6));
    return a;
}

Status Udp::open(uv_loop_t* loop, const config::NodeSettings& st, std::string_view mode,
                 Receive on_receive) {
    loop_ = loop;
    on_receive_ = std::move(on_receive);
    if (mode == "none") return Status::Ok();
    multicast_ = mode == "multicast";
    rx_len_ = kRecvSlot * kRecvSlots;
    rx_buf_.reset(new char[rx_len_]);

    drop_.store(st.fault_drop, std::memory_order_relaxed);
    drop_recv_.store(st.fault_drop_recv, std::memory_order_relaxed);
    duplicate_.store(st.fault_duplicate, std::memory_order_relaxed);
    delay_.store(st.fault_delay, std::memory_order_relaxed);
    delay_max_ms_ = st.fault_delay_max_ms;
    seed_ = st.fault_seed ? st.fault_seed : std::random_device{}() | 1ull << 40;
    rng_.seed(seed_);

    std::string why;
    Address iface;
    if (!resolve(st.interface_addr, st.listen_port, &iface, &why))
        return Error(MCCACHE_ECONFIG, "interface: " + why);

    int rc;
    // Several datagrams per system call when a burst is waiting.
    if ((rc = uv_udp_init_ex(loop, &unicast_, AF_UNSPEC | UV_UDP_RECVMMSG)) != 0)
        return Error(MCCACHE_EIO, uv_error("udp init", rc));
    unicast_.data = this;
    enabled_ = true;  // from here on close() must run
    if ((rc = uv_udp_bind(&unicast_, iface.sa(), 0)) != 0)
        return Error(MCCACHE_EIO, "cannot bind " + iface.to_string() + ": " + uv_strerror(rc));
    int len = sizeof local_.ss;
    uv_udp_getsockname(&unicast_, reinterpret_cast<sockaddr*>(&local_.ss), &len);
    uv_os_fd_t fd;
    if ((rc = uv_fileno(reinterpret_cast<uv_handle_t*>(&unicast_), &fd)) != 0)
        return Error(MCCACHE_EIO, uv_error("udp fileno", rc));
    fd_ = fd;
    {
        const bool v6 = local_.ss.ss_family == AF_INET6;
        const int headers = (v6 ? 40 : 20) + 8;
        const int mtu = is_wildcard(local_) ? 0 : interface_mtu(local_);
        interface_payload_ = mtu > headers ? static_cast<uint32_t>(std::clamp(mtu - headers, 576, 65507))
                                           : (v6 ? 1452u : 1472u);
    }
    // Bursts (a batch, repairs) arrive faster than one loop turn drains them.
    buffer_asked_ = static_cast<int>(std::min<uint64_t>(st.socket_buffer, INT32_MAX / 2));
    rcvbuf_granted_ = size_buffers(reinterpret_cast<uv_handle_t*>(&unicast_), true);
    sndbuf_granted_ = size_buffers(reinterpret_cast<uv_handle_t*>(&unicast_), false);

    if (multicast_) {
        if (!resolve(st.multicast_group, st.multicast_port, &group_addr_, &why))
            return Error(MCCACHE_ECONFIG, "multicast_ip: " + why);
        if ((rc = uv_udp_set_multicast_interface(&unicast_, st.interface_addr.c_str())) != 0 ||
            (rc = uv_udp_set_multicast_loop(&unicast_, 1)) != 0 ||
            (rc = uv_udp_set_multicast_ttl(&unicast_, st.multicast_hops)) != 0)
            return Error(MCCACHE_EIO, uv_error(("multicast options on " + st.interface_addr).c_str(), rc));
        if ((rc = uv_udp_init_ex(loop, &group_, AF_UNSPEC | UV_UDP_RECVMMSG)) != 0)
            return Error(MCCACHE_EIO, uv_error("udp init", rc));
        group_.data = this;
        has_group_socket_ = true;
        // Bound to the group address itself, so only this group's traffic
        // arrives; several nodes on one host share the port.
        if ((rc = uv_udp_bind(&group_, group_addr_.sa(), UV_UDP_REUSEADDR)) != 0)
            return Error(MCCACHE_EIO, "cannot bind multicast " + group_addr_.to_string() + ": " +
                                          uv_strerror(rc));
        if ((rc = uv_udp_set_membership(&group_, st.multicast_group.c_str(),
                                        st.interface_addr.c_str(), UV_JOIN_GROUP)) != 0)
            return Error(MCCACHE_EIO, "cannot join " + st.multicast_group + " on " +
                                          st.interface_addr + ": " + uv_strerror(rc));
        rcvbuf_granted_ = std::min(rcvbuf_granted_, size_buffers(reinterpret_cast<uv_handle_t*>(&group_), true));
        if ((rc = uv_udp_recv_start(&group_, &Udp::on_alloc, &Udp::on_recv)) != 0)
            return Error(MCCACHE_EIO, uv_error("multicast receive", rc));
    } else {
        for (const config::Peer& p : st.peer_list) {
            Address a;
            if (!resolve(p.host, p.port, &a, &why)) return Error(MCCACHE_ECONFIG, "peers: " + why);
            if (!(a == local_)) peers_.push_back(a);
        }
    }
    if ((rc = uv_udp_recv_start(&unicast_, &Udp::on_alloc, &Udp::on_recv)) != 0)
        return Error(MCCACHE_EIO, uv_error("unicast receive", rc));
    if (delay_.load(std::memory_order_relaxed) > 0) {
        uv_timer_init(loop, &delay_timer_);
        delay_timer_.data = this;
        delay_timer_open_ = true;
    }
    return Status::Ok();
}

int Udp::size_buffers(uv_handle_t* h, bool receive) {
    int size = buffer_asked_;
    if (receive) uv_recv_buffer_size(h, &size);
    else uv_send_buffer_size(h, &size);
    int granted = 0;  // 0: read back what the kernel granted
    if (receive) uv_recv_buffer_size(h, &granted);
    else uv_send_buffer_size(h, &granted);
    // Linux doubles what it grants, for its own bookkeeping.
    return granted / 2;
}

void Udp::close() {
    if (!enabled_) return;
    enabled_ = false;
    uv_udp_recv_stop(&unicast_);
    uv_close(reinterpret_cast<uv_handle_t*>(&unicast_), nullptr);
    if (has_group_socket_) {
        uv_udp_recv_stop(&group_);
        uv_close(reinterpret_cast<uv_handle_t*>(&group_), nullptr);
    }
    if (delay_timer_open_) uv_close(reinterpret_cast<uv_handle_t*>(&delay_timer_), nullptr);
    while (!delayed_.empty()) delayed_.pop();
    batching_ = false;
    batch_.clear();
    batch_bytes_.clear();
}

void Udp::send_all(std::string_view datagram) {
    if (!enabled_) return;
    if (multicast_) {
        send_faulty(group_addr_, datagram);
    } else {
        for (const Address& p : peers_) send_faulty(p, datagram);
    }
}

void Udp::send_to(const Address& to, std::string_view datagram) {
    if (enabled_) send_faulty(to, datagram);
}

void Udp::send_all_from(std::string_view datagram, size_t next) {
    if (!enabled_) return;
    if (multicast_) {
        if (next == 0) send_faulty(group_addr_, datagram);
    } else {
        for (size_t i = next; i < peers_.size(); ++i) send_faulty(peers_[i], datagram);
    }
}

uint64_t Udp::random() {
    std::lock_guard<std::mutex> lock(rng_mu_);
    return rng_();
}

bool Udp::chance(const std::atomic<int>& percent) {
    int p = percent.load(std::memory_order_relaxed);
    return p > 0 && static_cast<int>(random() % 100) < p;
}

int Udp::send_now(const Address& to, std::string_view datagram) {
    socklen_t len = sockaddr_len(to);
    for (;;) {
        ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_DONTWAIT, to.sa(), len);
        if (n >= 0) break;
        if (errno != EINTR) return -errno;
    }
    counters_.add(metrics::ClusterMetric::packets_out);
    counters_.add(metrics::ClusterMetric::bytes_out, datagram.size());
    return 0;
}

bool Udp::send_all_direct(std::string_view datagram, size_t* next) {
    // The fault injector as in send_faulty, less delays (direct_ready()
    // refuses while they are on).
    const size_t count = multicast_ ? 1 : peers_.size();
    for (; *next < count; ++*next) {
        const Address& to = multicast_ ? group_addr_ : peers_[*next];
        if (chance(drop_)) {
            counters_.add(metrics::ClusterMetric::faults_dropped_out);
            continue;
        }
        tap(to, datagram);
        // Any error, not only EAGAIN, goes back to the loop: send_raw there
        // queues on EAGAIN and counts the rest as send errors.
        if (send_now(to, datagram) != 0) return false;
        if (chance(duplicate_)) {
            counters_.add(metrics::ClusterMetric::faults_duplicated);
            (void)send_now(to, datagram);  // a duplicate may be lost
        }
    }
    return true;
}

void Udp::send_faulty(const Address& to, std::string_view datagram) {
    tap(to, datagram);
    if (chance(drop_)) {
        counters_.add(metrics::ClusterMetric::faults_dropped_out);
        return;
    }
    if (chance(delay_)) {
        counters_.add(metrics::ClusterMetric::faults_delayed);
        uint64_t wait = 1 + random() % static_cast<uint64_t>(delay_max_ms_);
        uint64_t now = static_cast<uint64_t>(now_ms(loop_));
        delayed_.push(Delayed{now + wait, delayed_order_++, to, std::string(datagram)});
        // The earliest may already be due (the loop was busy): never let an
        // unsigned difference wrap into a timer that does not fire.
        uint64_t due = delayed_.top().due_ms;
        uv_timer_start(&delay_timer_, &Udp::on_delay_timer, due > now ? due - now : 0, 0);
        return;
    }
    send_raw(to, datagram);
    if (chance(duplicate_)) {
        counters_.add(metrics::ClusterMetric::faults_duplicated);
        send_raw(to, datagram);
    }
}

void Udp::on_delay_timer(uv_timer_t* t) {
    auto* self = static_cast<Udp*>(t->data);
    if (!self->enabled_) return;
    uint64_t now = static_cast<uint64_t>(now_ms(self->loop_));
    while (!self->delayed_.empty() && self->delayed_.top().due_ms <= now) {
        Delayed d = self->delayed_.top();
        self->delayed_.pop();
        self->send_raw(d.to, d.bytes);
    }
    if (!self->delayed_.empty())
        uv_timer_start(t, &Udp::on_delay_timer, self->delayed_.top().due_ms - now, 0);
}

namespace {
struct SendReq {
    uv_udp_send_t req;
    std::atomic<uint32_t>* queued;
    std::string bytes;
};
}  // namespace

void Udp::send_raw(const Address& to, std::string_view datagram) {
    // Batched only while libuv holds nothing of ours: a batch must not
    // overtake what waits in its queue.
    if (batching_ && queued_.load(std::memory_order_relaxed) == 0) {
        batch_.push_back(Pending{to, batch_bytes_.size(), datagram.size()});
        batch_bytes_.append(datagram);
        if (batch_.size() == kBatchMax) send_batch();
        return;
    }
    send_one(to, datagram);
}

void Udp::end_batch() {
    if (!batch_.empty()) send_batch();
    batching_ = false;
}

void Udp::send_batch() {
    // One message per run of datagrams to one destination: with UDP GSO
    // (UDP_SEGMENT) a run of equal-size datagrams (the last may be
    // shorter) goes down the stack as one buffer and is cut into datagrams
    // at the device or, on loopback, at the receiving socket; without it a
    // run is one datagram. Each destination still gets its datagrams in
    // order; the order across destinations does not matter.
    const size_t n = batch_.size();
    size_t order[kBatchMax];  // batch_ indices, grouped by destination, stable
    size_t placed = 0;
    bool taken[kBatchMax] = {};
    for (size_t i = 0; i < n; ++i) {
        if (taken[i]) continue;
        for (size_t j = i; j < n; ++j)
            if (!taken[j] && batch_[j].to == batch_[i].to) {
                taken[j] = true;
                order[placed++] = j;
            }
    }
    mmsghdr msgs[kBatchMax];
    iovec iov[kBatchMax];
    size_t first[kBatchMax + 1];  // msg k covers order[first[k] .. first[k + 1])
    alignas(cmsghdr) char control[kBatchMax][CMSG_SPACE(sizeof(uint16_t))];
    size_t count = 0;
    for (size_t at = 0; at < n;) {
        const Pending& head = batch_[order[at]];
        size_t end = at + 1, bytes = head.len;
        if (gso_) {
            // Equal sizes, and a shorter one may close the run.
            while (end < n && batch_[order[end]].to == head.to && end - at < kGsoMaxSegments &&
                   bytes + batch_[order[end]].len <= kGsoMaxBytes &&
                   batch_[order[end]].len <= head.len && batch_[order[end - 1]].len == head.len) {
                bytes += batch_[order[end]].len;
                ++end;
            }
        }
        for (size_t k = at; k < end; ++k) {
            iov[k].iov_base = batch_bytes_.data() + batch_[order[k]].offset;
            iov[k].iov_len = batch_[order[k]].len;
        }
        mmsghdr& m = msgs[count];
        m = mmsghdr{};
        m.msg_hdr.msg_name = const_cast<sockaddr_storage*>(&head.to.ss);
        m.msg_hdr.msg_namelen = sockaddr_len(head.to);
        m.msg_hdr.msg_iov = &iov[at];
        m.msg_hdr.msg_iovlen = end - at;
        if (end - at > 1) {
            m.msg_hdr.msg_control = control[count];
            m.msg_hdr.msg_controllen = sizeof control[count];
            cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            const uint16_t size = static_cast<uint16_t>(head.len);
            std::memcpy(CMSG_DATA(c), &size, sizeof size);
        }
        first[count++] = at;
        at = end;
    }
    first[count] = n;
    size_t done = 0;  // messages
    while (done < count) {
        int rc = ::sendmmsg(fd_, msgs + done, static_cast<unsigned>(count - done), MSG_DONTWAIT);
        if (rc > 0) {
            for (size_t m = done; m < done + static_cast<size_t>(rc); ++m)
                if (msgs[m].msg_hdr.msg_iovlen > 1) counters_.add(metrics::ClusterMetric::gso_sends);
            for (size_t k = first[done]; k < first[done + static_cast<size_t>(rc)]; ++k) {
                counters_.add(metrics::ClusterMetric::packets_out);
                counters_.add(metrics::ClusterMetric::bytes_out, batch_[order[k]].len);
            }
            done += static_cast<size_t>(rc);
            continue;
        }
        if (rc < 0 && errno == EINTR) continue;
        // A device (or kernel) that cannot segment says so on the first
        // segmented message: stop asking, and send that one datagram by
        // datagram below.
        if (rc < 0 && msgs[done].msg_hdr.msg_iovlen > 1 &&
            (errno == EINVAL || errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
            gso_ = false;
            counters_.add(metrics::ClusterMetric::gso_refused);
        }
        break;  // EAGAIN or an error at msgs[done]: the one-by-one path decides
    }
    for (size_t k = first[done]; k < n; ++k) {
        const Pending& d = batch_[order[k]];
        send_one(d.to, std::string_view(batch_bytes_.data() + d.offset, d.len));
    }
    batch_.clear();
    batch_bytes_.clear();
}

void Udp::send_one(const Address& to, std::string_view datagram) {
    uv_buf_t buf = uv_buf_init(const_cast<char*>(datagram.data()),
                               static_cast<unsigned>(datagram.size()));
    int rc = uv_udp_try_send(&unicast_, &buf, 1, to.sa());
    if (rc >= 0) {
        counters_.add(metrics::ClusterMetric::packets_out);
        counters_.add(metrics::ClusterMetric::bytes_out, datagram.size());
        return;
    }
    if (rc != UV_EAGAIN) {
        counters_.add(metrics::ClusterMetric::send_errors);
        return;
    }
    // The socket buffer is full: queue a copy; libuv sends it when writable.
    auto* r = new SendReq;
    r->bytes.assign(datagram);
    r->req.data = r;
    r->queued = &queued_;
    buf = uv_buf_init(r->bytes.data(), static_cast<unsigned>(r->bytes.size()));
    counters_.add(metrics::ClusterMetric::send_queued);
    // Counted before it is queued: a direct sender must not overtake it.
    queued_.fetch_add(1, std::memory_order_acq_rel);
    rc = uv_udp_send(&r->req, &unicast_, &buf, 1, to.sa(), [](uv_udp_send_t* req, int) {
        auto* done = static_cast<SendReq*>(req->data);
        done->queued->fetch_sub(1, std::memory_order_acq_rel);
        delete done;
    });
    if (rc != 0) {
        queued_.fetch_sub(1, std::memory_order_acq_rel);
        counters_.add(metrics::ClusterMetric::send_errors);
        delete r;
        return;
    }
    counters_.add(metrics::ClusterMetric::packets_out);
    counters_.add(metrics::ClusterMetric::bytes_out, datagram.size());
}

void Udp::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* self = static_cast<Udp*>(h->data);
    // One buffer serves every read: on_recv consumes each datagram before
    // returning, and libuv reads into it again only after the last one.
    *buf = uv_buf_init(self->rx_buf_.get(), static_cast<unsigned>(self->rx_len_));
}

void Udp::on_recv(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned flags) {
    auto* self = static_cast<Udp*>(h->data);
    // n == 0 with an address is an empty datagram: passed on, so that it is
    // counted as malformed like any other runt. (Without an address it only
    // means the socket had nothing more to read, or with UV_UDP_MMSG_FREE
    // that a recvmmsg batch is done: the buffer is ours to keep.)
    if (n < 0 || !addr || !self->enabled_) return;
    if (flags & UV_UDP_PARTIAL) {  // larger than any valid datagram
        self->counters_.add(metrics::ClusterMetric::rejected_oversize_datagram);
        return;
    }
    if (self->chance(self->drop_recv_)) {
        self->counters_.add(metrics::ClusterMetric::faults_dropped_in);
        return;
    }
    self->counters_.add(metrics::ClusterMetric::packets_in);
    self->counters_.add(metrics::ClusterMetric::bytes_in, static_cast<uint64_t>(n));
    self->on_receive_(reinterpret_cast<const unsigned char*>(buf->base), static_cast<size_t>(n),
                      Address::from(addr));
}

}  // namespace mccache::transport
