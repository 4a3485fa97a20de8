#include "cluster/repairs.h"

#include <netinet/in.h>

#include <algorithm>

namespace mccache::cluster {

using metrics::ClusterMetric;

namespace {

constexpr size_t kBytesPerTickMin = 256 * 1024;
constexpr size_t kBytesPerTickMax = 1024 * 1024;
constexpr uint64_t kTickMs = 2;
constexpr size_t kMaxPending = 4u << 20;  // keys a peer can make us hold for it

// (destination, cache, key) as one string; the address by its family's
// fields only (no padding bytes).
std::string repair_id(const Peer& peer, std::string_view cache, std::string_view key) {
    const transport::Address& to = peer.addr;
    std::string id;
    if (to.ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<const sockaddr_in6*>(&to.ss);
        id.assign(reinterpret_cast<const char*>(&a->sin6_addr), sizeof a->sin6_addr);
        id.append(reinterpret_cast<const char*>(&a->sin6_port), sizeof a->sin6_port);
    } else {
        auto* a = reinterpret_cast<const sockaddr_in*>(&to.ss);
        id.assign(reinterpret_cast<const char*>(&a->sin_addr), sizeof a->sin_addr);
        id.append(reinterpret_cast<const char*>(&a->sin_port), sizeof a->sin_port);
    }
    id += cache;
    id += '\0';  // cache names hold no NUL
    id += key;
    return id;
}

}  // namespace

void Repairs::start(uv_loop_t* loop) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    timer_open_ = true;
}

void Repairs::stop() {
    if (!timer_open_) return;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    timer_open_ = false;
    jobs_.clear();
    pending_.clear();
}

void Repairs::queue(const Peer& to, const std::string& cache, std::vector<std::string> keys) {
    if (pending_.size() + keys.size() > kMaxPending) {
        counters_.add(ClusterMetric::rejected_oversize);
        return;
    }
    std::vector<std::string> fresh;
    fresh.reserve(keys.size());
    for (std::string& k : keys)
        if (pending_.insert(repair_id(to, cache, k)).second) fresh.push_back(std::move(k));
    if (fresh.empty()) return;
    jobs_.push_back(Job{to, cache, std::move(fresh), 0});
    if (timer_open_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)))
        uv_timer_start(&timer_, &Repairs::on_timer, 0, 0);
}

void Repairs::send_now(const Peer& to, const wire::Record& record) { send(to, {record}); }

void Repairs::send(const Peer& to, const std::vector<wire::Record>& records) {
    std::vector<std::string> large;
    control_.send_records(wire::Type::Repair, records, wire::kRecordRepair, to, &large);
    // A repair too large for one datagram goes on the reliable stream, to
    // everyone: its lost fragments are then asked for again, where a lost
    // fragment of an unsequenced message would lose the whole record
    // (0.8^15 at 20% loss).
    for (const std::string& payload : large) stream_.send_large(payload);
}

void Repairs::on_timer(uv_timer_t* t) { static_cast<Repairs*>(t->data)->pump(); }

void Repairs::pump() {
    // A tick's repairs leave in sendmmsg/GSO batches.
    udp_.begin_batch();
    // A quarter of the socket buffer per tick (peers are configured alike):
    // a joiner's buffer absorbs the burst while its loop applies the last.
    size_t budget = std::clamp<size_t>(static_cast<size_t>(udp_.rcvbuf_granted()) / 4, kBytesPerTickMin,
                                       kBytesPerTickMax);
    while (!jobs_.empty() && budget > 0 && timer_open_) {
        Job& job = jobs_.front();
        Replica* cache = host_.find_cache(job.cache, false);
        std::vector<wire::Record> records;
        std::vector<store::Value*> refs;
        size_t bytes = 0;
        while (cache && job.next < job.keys.size() && bytes < budget) {
            const std::string& key = job.keys[job.next++];
            pending_.erase(repair_id(job.to, job.cache, key));
            store::Store::Exported e;
            if (!cache->store().export_entry(key.data(), key.size(), &e)) continue;
            wire::Record r;
            r.cache = job.cache;
            r.key = key;
            r.hlc = e.version.hlc;
            r.node = e.version.node;
            if (e.value) {
                r.op = wire::Op::Put;
                r.value = std::string_view(reinterpret_cast<const char*>(e.value->bytes()), e.value->len);
                r.expires_ms = e.expires_ms;
                refs.push_back(e.value);
            } else {
                r.op = wire::Op::Delete;
            }
            bytes += wire::record_size(r);
            records.push_back(r);
        }
        if (!records.empty()) send(job.to, records);
        for (store::Value* v : refs) store::value_unref(v);
        budget = bytes >= budget ? 0 : budget - bytes;
        if (!cache || job.next >= job.keys.size()) {
            for (size_t i = job.next; i < job.keys.size(); ++i)  // a cache gone meanwhile
                pending_.erase(repair_id(job.to, job.cache, job.keys[i]));
            jobs_.pop_front();
        }
    }
    udp_.end_batch();
    if (!jobs_.empty() && timer_open_) uv_timer_start(&timer_, &Repairs::on_timer, kTickMs, 0);
}

}  // namespace mccache::cluster
