#include "node/dispatcher.h"

#include "node/cache.h"

namespace mccache::node {

using metrics::NodeMetric;

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
    std::lock_guard<std::mutex> lock(mu_);
    thread_ = std::thread([this] { run(); });
    thread_id_ = thread_.get_id();
}

void Dispatcher::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_) return;
        stopping_ = true;
        cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    std::deque<Item> rest;
    {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
        rest.swap(queue_);
        events_ = logs_ = 0;
    }
    for (Item& item : rest) {
        if (item.kind == Item::Kind::Event) {
            store::value_unref(item.event.value);
            counters_.add(NodeMetric::events_dropped);
        } else {
            item.task();
        }
    }
}

void Dispatcher::push(Item&& item) {
    queue_.push_back(std::move(item));
    if (waiting_) cv_.notify_one();
}

bool Dispatcher::post_event(ChangeEvent&& e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || events_ >= max_events_) {
        store::value_unref(e.value);
        counters_.add(NodeMetric::events_dropped);
        return false;
    }
    ++events_;
    counters_.add(NodeMetric::events_queued);
    push(Item{Item::Kind::Event, std::move(e), {}});
    return true;
}

void Dispatcher::post(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!closed_) {
            push(Item{Item::Kind::Task, {}, std::move(task)});
            return;
        }
    }
    task();  // after stop(): the closing thread's job
}

Dispatcher::Posted Dispatcher::post_log(std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Posted::Closed;
    if (logs_ >= kMaxLogLines) {
        counters_.add(NodeMetric::log_lines_dropped);
        return Posted::Dropped;
    }
    ++logs_;
    push(Item{Item::Kind::Log, {}, std::move(task)});
    return Posted::Queued;
}

size_t Dispatcher::pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
}

void Dispatcher::run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (queue_.empty()) {
            if (stopping_) return;
            waiting_ = true;
            cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
            waiting_ = false;
            continue;
        }
        Item item = std::move(queue_.front());
        queue_.pop_front();
        if (item.kind == Item::Kind::Event) --events_;
        else if (item.kind == Item::Kind::Log) --logs_;
        lock.unlock();
        deliver(item);
        lock.lock();
    }
}

void Dispatcher::deliver(Item& item) {
    if (item.kind != Item::Kind::Event) {
        item.task();
        return;
    }
    if (item.event.cache->deliver(item.event)) counters_.add(NodeMetric::events_delivered);
    store::value_unref(item.event.value);
}

}  // namespace mccache::node
