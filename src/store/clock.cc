#include "store/clock.h"

#include <time.h>

namespace mccache::store {

namespace {
int64_t read_ms(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

SystemClock::SystemClock() {
    // The coarse clock costs a few nanoseconds against ~20 for the exact
    // one; its resolution (a kernel tick) bounds how stale it may read.
    timespec res;
    lag_ms_ = clock_getres(CLOCK_REALTIME_COARSE, &res) == 0
                  ? static_cast<int64_t>(res.tv_sec) * 1000 + res.tv_nsec / 1000000 + 1
                  : 1000;
}

int64_t SystemClock::now_ms() const { return read_ms(CLOCK_REALTIME); }
int64_t SystemClock::coarse_ms() const { return read_ms(CLOCK_REALTIME_COARSE); }

const SystemClock& SystemClock::instance() {
    static const SystemClock clock;
    return clock;
}

}  // namespace mccache::store
