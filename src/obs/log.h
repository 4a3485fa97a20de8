// A node's log: levels, a file (or stderr) or a user callback, text or JSON
// lines. Any thread may log; the sink is swapped under the same lock. Lines
// for a callback are handed to a deliverer (the node's dispatcher thread),
// so a slow callback never stalls the thread that logged.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

namespace mccache::obs {

class Logger {
public:
    Logger() = default;
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    // `path` empty: stderr. Opens in append mode.
    Status open(const std::string& path, int level, bool json, uint64_t node_id);
    // Replaces the sink. The previous callback is returned: its
    // opaque_free runs when the last reference goes, which is the caller's
    // (or, if a line for it is still queued, after that line's delivery).
    // A NULL cb goes back to the file. The callback runs with no lock held,
    // so it may call back into the API, which may log.
    std::shared_ptr<void> set_callback(mccache_log_cb cb, void* opaque, void (*opaque_free)(void*));

    // Where callback lines go: the deliverer queues the task that calls the
    // callback, drops it, or says it can no longer queue (Inline: the
    // logging thread calls the callback itself). Without one, Inline.
    enum class Delivery { Queued, Dropped, Inline };
    void set_deliver(std::function<Delivery(std::function<void()>)> deliver) { deliver_ = std::move(deliver); }

    bool enabled(int level) const { return level <= level_; }
    void log(int level, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
    void vlog(int level, const char* fmt, va_list ap);

private:
    struct Sink {
        mccache_log_cb cb;
        void* opaque;
        void (*opaque_free)(void*);
        ~Sink() {
            if (opaque_free) opaque_free(opaque);
        }
    };

    std::mutex mu_;
    int level_ = MCCACHE_LOG_WARN;
    bool json_ = false;
    uint64_t node_id_ = 0;
    FILE* file_ = nullptr;  // nullptr: stderr
    std::shared_ptr<Sink> sink_;
    std::function<Delivery(std::function<void()>)> deliver_;  // set once, before any callback
};

const char* level_name(int level);

}  // namespace mccache::obs
