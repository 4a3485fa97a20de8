// Wall-clock time for TTLs and metadata, behind an interface so that tests
// can move time by hand. Expiry is absolute Unix milliseconds, the same on
// every member, so it needs no message to agree.
#pragma once

#include <atomic>
#include <cstdint>

namespace mccache::store {

class Clock {
public:
    virtual ~Clock() = default;
    // Exact Unix time in milliseconds.
    virtual int64_t now_ms() const = 0;
    // A cheaper reading that may lag now_ms() by up to coarse_lag_ms().
    virtual int64_t coarse_ms() const = 0;
    virtual int64_t coarse_lag_ms() const = 0;
};

// The wall clock. Reading it is surprisingly dear on some virtual machines
// (45-300 ns per clock_gettime here), so while any node is open a
// process-wide ticker thread publishes the coarse time every millisecond
// and coarse_ms() is a single atomic load. Callers that must not be late by
// more than coarse_lag_ms() (expiry at read) fall back to now_ms() near
// their deadline.
class SystemClock final : public Clock {
public:
    SystemClock();
    int64_t now_ms() const override;
    int64_t coarse_ms() const override;
    int64_t coarse_lag_ms() const override;
    static const SystemClock& instance();

    // Nodes hold the ticker while they are open (refcounted; the thread
    // stops with the last node, so the library can be unloaded).
    static void acquire_ticker();
    static void release_ticker();
};

// A clock that only moves when told to.
class ManualClock final : public Clock {
public:
    explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
    int64_t now_ms() const override { return now_.load(std::memory_order_acquire); }
    int64_t coarse_ms() const override { return now_ms(); }
    int64_t coarse_lag_ms() const override { return 0; }
    void advance(int64_t ms) { now_.fetch_add(ms, std::memory_order_acq_rel); }
    void set(int64_t ms) { now_.store(ms, std::memory_order_release); }

private:
    std::atomic<int64_t> now_;
};

}  // namespace mccache::store
