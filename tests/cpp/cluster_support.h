// What every in-process cluster test needs: a cluster name and a port of its
// own, waits with deadlines, and UDP sockets on loopback.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mccache.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace support {

using namespace std::chrono_literals;

// Unique per test and process, so concurrent test processes never share a
// cluster.
inline std::string unique_cluster() {
    static std::atomic<int> n{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(info->name()).substr(0, 40) + "-" + std::to_string(getpid()) + "-" +
           std::to_string(n++);
}

inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline = 10s) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

// A UDP socket bound to 127.0.0.1 on a port the kernel picks; its address
// in `self` when given, and `buffer` bytes of receive buffer when not 0.
inline int loopback_socket(sockaddr_in* self = nullptr, int buffer = 0) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    if (self) *self = a;
    if (buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    return fd;
}

inline uint16_t free_udp_port() {
    sockaddr_in a{};
    int fd = loopback_socket(&a);
    close(fd);
    return ntohs(a.sin_port);
}

// A cache's view through the public API, for assertions.
inline std::string value_of(mccache_cache_t* c, const std::string& key) {
    mccache_value_t* v = nullptr;
    if (mccache_get(c, key.data(), key.size(), &v) != MCCACHE_OK) return "<miss>";
    size_t len;
    const void* d = mccache_value_data(v, &len);
    std::string out(static_cast<const char*>(d), len);
    mccache_value_free(v);
    return out;
}

inline uint64_t checksum_of(mccache_cache_t* c) {
    uint64_t sum = 0;
    mccache_checksum(c, &sum);
    return sum;
}

inline size_t len_of(mccache_cache_t* c) {
    size_t l = 0;
    mccache_len(c, &l);
    return l;
}

}  // namespace support
