#include "store/clock.h"

#include <time.h>

#include <chrono>
#include <mutex>
#include <thread>

namespace mccache::store {

namespace {

int64_t read_ms(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Margin for the ticker: a tick is 1 ms, a descheduled ticker may be late by
// more; reads within this margin of a deadline use the exact clock.
constexpr int64_t kTickerLagMs = 100;

struct Ticker {
    std::mutex mu;
    int refs = 0;
    std::thread thread;
    std::atomic<bool> stop{false};
};

// What coarse_ms() reads: constant-initialized and trivially destructible,
// so the hot path is two loads, with no function-static guard to test.
struct TickerTime {
    std::atomic<bool> running{false};
    std::atomic<int64_t> now_ms{0};
};
constinit TickerTime g_time;

// Never destroyed: a static destructor could run while a node is still open.
Ticker& ticker() {
    static Ticker* t = new Ticker;
    return *t;
}

}  // namespace

SystemClock::SystemClock() = default;

int64_t SystemClock::now_ms() const { return read_ms(CLOCK_REALTIME); }

int64_t SystemClock::coarse_ms() const {
    if (g_time.running.load(std::memory_order_acquire))
        return g_time.now_ms.load(std::memory_order_relaxed);
    return read_ms(CLOCK_REALTIME_COARSE);
}

int64_t SystemClock::coarse_lag_ms() const { return kTickerLagMs; }

void SystemClock::acquire_ticker() {
    Ticker& t = ticker();
    std::lock_guard<std::mutex> lock(t.mu);
    if (t.refs++ > 0) return;
    g_time.now_ms.store(read_ms(CLOCK_REALTIME_COARSE), std::memory_order_relaxed);
    t.stop.store(false);
    t.thread = std::thread([&t] {
        while (!t.stop.load(std::memory_order_relaxed)) {
            g_time.now_ms.store(read_ms(CLOCK_REALTIME_COARSE), std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
    g_time.running.store(true, std::memory_order_release);
}

void SystemClock::release_ticker() {
    Ticker& t = ticker();
    std::lock_guard<std::mutex> lock(t.mu);
    if (--t.refs > 0) return;
    g_time.running.store(false, std::memory_order_release);
    t.stop.store(true);
    t.thread.join();
}

const SystemClock& SystemClock::instance() {
    static const SystemClock* clock = new SystemClock;
    return *clock;
}

}  // namespace mccache::store
