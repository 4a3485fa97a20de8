// Versions: a hybrid logical clock (48-bit Unix ms << 16 | 16-bit counter)
// plus the writer's node id. Totally ordered, highest wins everywhere, and
// no clock synchronisation is needed: receiving a version advances the clock.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>

#include "store/clock.h"

namespace mccache::store {

struct Version {
    uint64_t hlc = 0;
    uint64_t node = 0;

    friend constexpr auto operator<=>(const Version&, const Version&) = default;
    constexpr bool is_zero() const { return hlc == 0 && node == 0; }
};

constexpr uint64_t hlc_pack(int64_t ms, uint16_t logical) {
    return (static_cast<uint64_t>(ms) << 16) | logical;
}
constexpr int64_t hlc_ms(uint64_t hlc) { return static_cast<int64_t>(hlc >> 16); }
constexpr uint16_t hlc_logical(uint64_t hlc) { return static_cast<uint16_t>(hlc & 0xffff); }

class Hlc {
public:
    explicit Hlc(const Clock& clock) : clock_(clock) {}

    // A fresh timestamp, greater than every one issued or observed before.
    // The physical part only needs millisecond resolution: the coarse clock.
    uint64_t tick() { return tick_at(clock_.coarse_ms()); }
    // The same, for a caller that already read clock().coarse_ms() (the put
    // path stamps the write time and the version from one reading).
    uint64_t tick_at(int64_t coarse_ms) {
        uint64_t physical = hlc_pack(coarse_ms, 0);
        uint64_t old = last_.load(std::memory_order_relaxed);
        uint64_t next;
        do {
            next = physical > old ? physical : old + 1;
        } while (!last_.compare_exchange_weak(old, next, std::memory_order_acq_rel,
                                              std::memory_order_relaxed));
        return next;
    }

    // Fold in a timestamp seen from another member.
    void observe(uint64_t remote) {
        uint64_t old = last_.load(std::memory_order_relaxed);
        while (remote > old &&
               !last_.compare_exchange_weak(old, remote, std::memory_order_acq_rel,
                                            std::memory_order_relaxed)) {
        }
    }

    uint64_t last() const { return last_.load(std::memory_order_acquire); }

private:
    const Clock& clock_;
    std::atomic<uint64_t> last_{0};
};

}  // namespace mccache::store
