// The shards' and the slab's lock: their critical sections are tens of
// nanoseconds, well under a futex round trip, so a waiter spins (then
// yields) rather than sleeps.
#pragma once

#include <atomic>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MCCACHE_CPU_RELAX() _mm_pause()
#else
#define MCCACHE_CPU_RELAX() ((void)0)
#endif

namespace mccache::store {

class SpinLock {
public:
    void lock() {
        for (unsigned spins = 0;;) {
            if (!flag_.exchange(true, std::memory_order_acquire)) return;
            while (flag_.load(std::memory_order_relaxed)) {
                if (++spins < 128) {
                    MCCACHE_CPU_RELAX();
                } else {
                    std::this_thread::yield();
                }
            }
        }
    }
    void unlock() { flag_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> flag_{false};
};

class Guard {
public:
    explicit Guard(SpinLock& l) : l_(l) { l_.lock(); }
    ~Guard() { l_.unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

private:
    SpinLock& l_;
};

}  // namespace mccache::store
