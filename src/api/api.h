// The extern "C" layer's shared pieces: the thread-local last error, the
// exception firewall, and the handle shells that outlive close.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "node/node.h"

namespace mccache::api {

// Sets the calling thread's last error and returns `code`.
int fail(int code, std::string message);
int fail(const Status& st);
// Sets "<fn><what>" reusing the thread's buffer: no allocation once it has grown.
int fail_literal(int code, const char* fn, const char* what);
inline int check(const Status& st) { return st.ok() ? MCCACHE_OK : fail(st); }

// Runs `body`, turning any C++ exception into an error code: nothing may
// unwind through the C ABI.
template <typename F>
int guarded(const char* fn, F&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(MCCACHE_ENOMEM, std::string(fn) + ": out of memory");
    } catch (const std::exception& e) {
        return fail(MCCACHE_EINTERNAL, std::string(fn) + ": internal error: " + e.what());
    } catch (...) {
        return fail(MCCACHE_EINTERNAL, std::string(fn) + ": internal error");
    }
}

// Copies `s` into memory the caller frees with mccache_free().
char* dup_string(const std::string& s);

}  // namespace mccache::api

struct mccache_config_s {
    mccache::config::Config config;
};

// A node handle. The shell stays allocated after close so that late calls
// get MCCACHE_ECLOSED instead of touching freed memory. Calls announce
// themselves in a per-thread stripe; close raises `closed`, then waits for
// the stripes to drain before it frees the node (a Dekker handshake, both
// sides sequentially consistent), so the hot path never writes a line that
// other threads also write.
struct mccache_s {
    static constexpr size_t kStripes = 16;
    struct alignas(64) Stripe {
        std::atomic<int64_t> calls{0};
    };

    Stripe stripes[kStripes];
    std::atomic<bool> closed{false};
    std::thread::id loop_thread;      // set at open, never changed
    std::thread::id callback_thread;  // the dispatcher's; set at open, never changed
    std::mutex close_mu;
    std::unique_ptr<mccache::node::Node> node;
    std::mutex caches_mu;
    std::vector<std::unique_ptr<mccache_cache_s>> caches;  // shells, kept after close
};

struct mccache_cache_s {
    mccache_s* owner;
    mccache::node::Cache* cache;  // dangling once owner->closed
    std::string name;
};

namespace mccache::api {

class CallScope;
// Per-thread state of CallScope, used directly and never through a
// reference: GCC 12 with -fsanitize=address,undefined null-checks such a
// reference with an `lea` that sets no flags and branches on stale ones, a
// false "store to null pointer". Constant-initialised, so no TLS wrapper.
// initial-exec: a direct %fs-relative access instead of a call to
// __tls_get_addr on every API call (the library is tiny in TLS).
inline thread_local size_t t_stripe_index __attribute__((tls_model("initial-exec"))) = SIZE_MAX;
inline thread_local CallScope* t_call_top __attribute__((tls_model("initial-exec"))) = nullptr;

// Pins a node open for the duration of one call. Scopes on one thread form
// a stack (a callback may call in while a call is running), so close can
// tell that it was called from inside a call on the same node, where
// waiting for the calls to drain would wait for itself.
class CallScope {
public:
    explicit CallScope(mccache_s* n)
        : node_(n), stripe_(&n->stripes[stripe_index()]), outer_(t_call_top) {
        stripe_->calls.fetch_add(1, std::memory_order_seq_cst);
        open_ = !n->closed.load(std::memory_order_seq_cst);
        t_call_top = this;
    }
    ~CallScope() {
        t_call_top = outer_;
        stripe_->calls.fetch_sub(1, std::memory_order_release);
    }
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;
    bool open() const { return open_; }

    // Whether the calling thread is inside a call on `n`.
    static bool inside(const mccache_s* n) {
        for (const CallScope* s = t_call_top; s; s = s->outer_)
            if (s->node_ == n) return true;
        return false;
    }

private:
    static size_t stripe_index() {
        if (__builtin_expect(t_stripe_index == SIZE_MAX, 0)) t_stripe_index = next_stripe();
        return t_stripe_index;
    }
    static size_t next_stripe();
    mccache_s* node_;
    mccache_s::Stripe* stripe_;
    CallScope* outer_;
    bool open_;
};

int closed_error(const char* fn);

// Opens a call on a node handle: checks it, pins the node open for the rest
// of the scope, or returns MCCACHE_ECLOSED.
#define MCCACHE_ENTER_NODE(fn, n)                                           \
    if (!(n)) return mccache::api::fail(MCCACHE_EINVAL, fn ": node is NULL"); \
    mccache::api::CallScope scope_(n);                                      \
    if (!scope_.open()) return mccache::api::closed_error(fn)

// Keeps every node shell reachable for the life of the process (they are
// tokens that must answer MCCACHE_ECLOSED after close).
void retain_shell(mccache_s* shell);
const char* t_last_error_cstr();

}  // namespace mccache::api
