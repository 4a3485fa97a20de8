// The thread that runs user code. Every callback (change events, membership
// changes, log lines, cluster-request replies) and every opaque_free runs
// here, never on the loop thread that sends heartbeats, NACKs and repairs:
// a callback that blocks delays other callbacks, not the cluster. See
// "Threads" in docs/ARCHITECTURE.md.
//
// One FIFO queue, so changes to one cache arrive in the order they were
// made. Change events are bounded by event_queue_max and log lines by
// kMaxLogLines (the excess is dropped and counted); the rest (callback
// registrations, membership changes, replies) is rare and never dropped.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "metrics/metrics.h"
#include "store/store.h"

namespace mccache::node {

class Cache;

// A change, queued by the writer (under the store's shard lock).
struct ChangeEvent {
    Cache* cache;
    store::EventType type;
    store::Origin origin;
    std::string key;
    store::Value* value;  // a reference the event owns
    store::Version version;
    int64_t last_lookup_ms;
    int64_t time_ms;
};

class Dispatcher {
public:
    static constexpr size_t kMaxLogLines = 1024;

    Dispatcher(size_t max_events, metrics::Counters<metrics::NodeMetric>& counters)
        : max_events_(max_events), counters_(counters) {}
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    void start();
    // Delivers everything queued so far, then ends the thread. Whatever is
    // posted after that runs here, on the calling thread (events are
    // dropped and counted), so that every opaque_free still runs once.
    void stop();

    // Any thread. False (and counted) when the queue is full or closed.
    bool post_event(ChangeEvent&& e);
    // Any thread. Runs `task` on the dispatcher thread, or on the caller's
    // after stop().
    void post(std::function<void()> task);
    // Any thread: a log line for the log callback. Queued, Dropped (the
    // queue holds kMaxLogLines), or Closed (the caller delivers it itself).
    enum class Posted { Queued, Dropped, Closed };
    Posted post_log(std::function<void()> task);

    bool on_thread() const { return std::this_thread::get_id() == thread_id_; }
    std::thread::id thread_id() const { return thread_id_; }
    size_t pending() const;

private:
    struct Item {
        enum class Kind : uint8_t { Event, Task, Log } kind;
        ChangeEvent event;
        std::function<void()> task;
    };
    void run();
    void deliver(Item& item);
    void push(Item&& item);  // mu_ held

    const size_t max_events_;
    metrics::Counters<metrics::NodeMetric>& counters_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    size_t events_ = 0, logs_ = 0;  // of queue_
    bool waiting_ = false;          // the thread sleeps on cv_
    bool stopping_ = false;         // no more work for the thread
    bool closed_ = false;           // the thread is gone
    std::thread thread_;
    std::thread::id thread_id_;
};

}  // namespace mccache::node
