// The store's reads and writes. The table and lists are in table.cc, the
// eviction policy in policy.cc, expiry, clear and the anti-entropy views in
// store_sync.cc. An entry is one block (entry.h); the shard's spinlock
// guards everything in it but the value bytes, which never change while a
// reader holds a reference.
#include "store/store.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <mutex>
#include <random>
#include <unordered_map>

#include "store/shard.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mccache::store {

using namespace entry;

uint64_t value_hash(const void* data, size_t len) {
    // Inline below this size (no call, and the SSE2 loop is short); the
    // dispatched AVX2/AVX-512 loop pays off above it.
    constexpr size_t kDispatchFrom = 512;
    return len < kDispatchFrom ? XXH3_64bits(data, len) : value_hash_long(data, len);
}

namespace {

// One 8-byte store (GCC 12 at -O2 kept the byte loop: 57 instructions each).
inline void put_le64(unsigned char* p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    std::memcpy(p, &v, 8);
}


size_t auto_shards(uint64_t max_entries) {
    // Small caches keep one shard so that eviction order is global; large
    // ones spread over up to 64 locks.
    size_t n = 1;
    while (n < 64 && n * 2 * 4096 <= max_entries) n *= 2;
    return n;
}

uint64_t random_seed() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

inline size_t bucket_of_hash(uint64_t h0) { return static_cast<size_t>(h0 >> 52); }

}  // namespace

// flatten: the length is a constant, so the inlined XXH3 keeps only its
// 17-32 byte branch instead of a call that dispatches on the length.
__attribute__((flatten)) uint64_t entry_checksum(uint64_t h0, Version v, uint64_t value_hash) {
    // The layout is part of the digest every member (and tests/stress) computes.
    unsigned char buf[32];
    put_le64(buf, h0);
    put_le64(buf + 8, v.hlc);
    put_le64(buf + 16, v.node);
    put_le64(buf + 24, value_hash);
    return XXH3_64bits(buf, sizeof buf);
}

// A block for `key` holding `vlen` bytes (copied from `data` when not null),
// with the version, times and writer of `m`: from the slab when it fits,
// else from malloc. The caller sets the last lookup and the links.
// Throws std::bad_alloc.
Block* make_entry_block(Slab& slab, const void* key, size_t klen, const void* data, size_t vlen,
                        const Meta& m, uint32_t writer) {
    size_t n = m.block_size(vlen, klen);
    bool in_slab = Slab::fits(n);
    void* mem = in_slab ? slab.alloc(n) : std::malloc(n);
    if (!mem) throw std::bad_alloc();
    if (!Store::Shard::addressable(mem)) {
        if (in_slab) Slab::free(mem); else std::free(mem);
        throw std::bad_alloc();
    }
    Block* b = new (mem) Block;
    b->refs.store(1, std::memory_order_relaxed);
    b->len = static_cast<uint32_t>(vlen);
    b->kw = pack_kw(klen, writer, in_slab ? kInSlab : 0);
    b->lf = 0;
    if (vlen && data) std::memcpy(b->bytes(), data, vlen);
    std::memcpy(entry::key(b), key, klen);
    write_meta(b, m, writer);
    return b;
}

// Turns a value built outside the store (value_new) into an entry block.
// One that fits the slab is copied there; a bigger one keeps its bytes and
// gets the key appended (realloc) when the caller's was the only reference.
Block* adopt_value(Slab& slab, Value* v, const void* key, size_t klen, const Meta& m, uint32_t writer) {
    size_t need = m.block_size(v->len, klen);
    if (Slab::fits(need) || (v->kw & kInSlab) || v->refs.load(std::memory_order_acquire) != 1) {
        Block* b;
        try {
            b = make_entry_block(slab, key, klen, v->bytes(), v->len, m, writer);
        } catch (...) {
            value_unref(v);
            throw;
        }
        value_unref(v);
        return b;
    }
    Block* b = v;
    if (malloc_usable_size(v) < need) {
        void* mem = std::realloc(v, need);
        if (!mem) {
            value_unref(v);
            throw std::bad_alloc();
        }
        b = static_cast<Block*>(mem);
    }
    if (!Store::Shard::addressable(b)) {
        Block* copy = nullptr;
        try {
            copy = make_entry_block(slab, key, klen, b->bytes(), b->len, m, writer);
        } catch (...) {
            std::free(b);
            throw;
        }
        std::free(b);
        return copy;
    }
    b->kw = pack_kw(klen, writer, 0);
    b->lf = 0;
    std::memcpy(entry::key(b), key, klen);
    write_meta(b, m, writer);
    return b;
}

// ---- the writer table ----

struct Store::Writers {
    std::atomic<uint64_t> ids[kWriterEscape];
    std::atomic<uint32_t> count{0};
    std::mutex mu;
    std::unordered_map<uint64_t, uint32_t> index;
    uint64_t generation;
};

namespace {
std::atomic<uint64_t> g_writer_tables{0};
// The last writer id this thread wrote with, per store: almost always the
// same one, so the map and its mutex are skipped. Indices never change.
struct LastWriter {
    uint64_t generation = 0, id = 0;
    uint32_t idx = 0;
};
thread_local LastWriter t_last_writer;
}  // namespace

uint32_t Store::writer_index(uint64_t id) {
    LastWriter& last = t_last_writer;
    if (last.generation == writers_->generation && last.id == id) return last.idx;
    uint32_t idx;
    {
        std::lock_guard<std::mutex> lock(writers_->mu);
        auto it = writers_->index.find(id);
        if (it != writers_->index.end()) {
            idx = it->second;
        } else {
            idx = writers_->count.load(std::memory_order_relaxed);
            if (idx < kWriterEscape) {
                writers_->ids[idx].store(id, std::memory_order_release);
                writers_->count.store(idx + 1, std::memory_order_release);
                writers_->index.emplace(id, idx);
            } else {
                idx = kWriterEscape;  // table full: the id goes in the block
            }
        }
    }
    last = LastWriter{writers_->generation, id, idx};
    return idx;
}

uint64_t Store::writer_id(const Block* b) const {
    uint32_t idx = entry::writer_index(b);
    if (idx != kWriterEscape) return writers_->ids[idx].load(std::memory_order_acquire);
    return trailer_writer_id(b);
}

Version Store::version_of(const Block* b) const { return Version{hlc(b), writer_id(b)}; }

// ---- construction ----

Store::Store(std::string name, const Limits& limits, const Clock& clock)
    : name_(std::move(name)), limits_(limits), clock_(clock), seed_(random_seed()),
      ttl_live_(Ttls::usable(limits.default_ttl_ms)), ttl_tomb_(Ttls::usable(limits.tombstone_ttl_ms)),
      slab_(Slab::create()), writers_(std::make_unique<Writers>()) {
    writers_->generation = g_writer_tables.fetch_add(1, std::memory_order_relaxed) + 1;
    shard_count_ = limits.shards ? limits.shards : auto_shards(limits.max_entries);
    unsigned bits = 0;
    while ((size_t{1} << bits) < shard_count_) ++bits;
    shard_count_ = size_t{1} << bits;
    shard_bits_ = bits;
    shards_.reset(new Shard[shard_count_]);
    uint64_t n = shard_count_;
    for (size_t i = 0; i < shard_count_; ++i) {
        Shard& s = shards_[i];
        s.seed = seed_;
        s.bucket_shift = bits;
        s.bucket_head.assign(kBuckets >> bits, kNil);
        s.bucket_sum.assign(kBuckets >> bits, 0);
        s.policy_init(limits.policy == EvictionPolicy::TinyLfu, (limits.max_entries + n - 1) / n,
                      (limits.max_bytes + n - 1) / n);
    }
}

Store::~Store() {
    for (size_t si = 0; si < shard_count_; ++si) {
        Shard& s = shards_[si];
        if (!s.slots) continue;
        for (uint32_t i = 0; i < s.cap; ++i)
            if (s.slots[i]) value_unref(s.at(i));
        s.free_slots();
    }
    // The slab goes once the values readers still hold are released too.
    slab_->release();
}


// ---- accounting ----

uint64_t Store::checksum_of(const Block* b, uint64_t h0) const {
    return entry_checksum(h0, version_of(b), vhash(b));
}

Store::Held Store::held(const Block* b) { return Held{charge_of(b), is_tomb(b)}; }

void Store::count(Shard& s, const Held* out, uint64_t out_sum, const Held* in, uint64_t in_sum,
                  size_t bucket) {
    // Live entries carry the cache's checksum and budget; tombstones only
    // their bucket's digest and bytes.
    int64_t dlive = (in && !in->tomb) - (out && !out->tomb);
    int64_t dtomb = (in && in->tomb) - (out && out->tomb);
    int64_t dbytes = static_cast<int64_t>(in ? in->charge : 0) - static_cast<int64_t>(out ? out->charge : 0);
    uint64_t live_sum = (in && !in->tomb ? in_sum : 0) - (out && !out->tomb ? out_sum : 0);
    // The shared totals are locked read-modify-writes: skipped when an
    // update leaves them as they were.
    if (dlive) {
        s.live.add(static_cast<uint64_t>(dlive));
        entries_.fetch_add(dlive, std::memory_order_relaxed);
    }
    if (dtomb) s.tombs.add(static_cast<uint64_t>(dtomb));
    if (dbytes) {
        s.bytes.add(static_cast<uint64_t>(dbytes));
        bytes_.fetch_add(dbytes, std::memory_order_relaxed);
    }
    s.checksum.add(live_sum);
    s.bucket_sum[bucket >> shard_bits_] += (in ? in_sum : 0) - (out ? out_sum : 0);
}

void Store::drop(Shard& s, uint32_t i) {
    Block* b = s.at(i);
    uint64_t h0 = hash_key(key(b), klen(b));
    size_t bucket = bucket_of_hash(h0);
    Held gone = held(b);
    count(s, &gone, checksum_of(b, h0), nullptr, 0, bucket);
    s.on_remove(i);
    s.bucket_unlink(i, bucket);
    s.erase(i);
}

bool Store::entries_over() const {
    return entries_.load(std::memory_order_relaxed) > static_cast<int64_t>(limits_.max_entries);
}
bool Store::bytes_over() const {
    return bytes_.load(std::memory_order_relaxed) > static_cast<int64_t>(limits_.max_bytes);
}
bool Store::over_budget() const { return entries_over() || bytes_over(); }

uint64_t Store::free_entries() const {
    int64_t n = static_cast<int64_t>(limits_.max_entries) - entries_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<uint64_t>(n) : 0;
}

uint64_t Store::free_bytes() const {
    int64_t n = static_cast<int64_t>(limits_.max_bytes) - bytes_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<uint64_t>(n) : 0;
}

void Store::emit_slow(EventType type, Origin origin, const Block* b, Value* value, int64_t now,
                      const Version* version) {
    int64_t window = window_ms_.load(std::memory_order_relaxed);
    int64_t looked = last_lookup(b);
    // McCache's lookup window: report only keys read shortly before the change.
    if (window > 0 && (looked == 0 || now - looked > window)) return;
    listener_->on_change(
        Change{type, origin, key_view(b), value, version ? *version : version_of(b), looked, now});
}

bool Store::expired_at_read(int64_t expires_ms) const {
    if (expires_ms < 0) return false;
    if (clock_.coarse_ms() + clock_.coarse_lag_ms() < expires_ms) return false;
    return clock_.now_ms() >= expires_ms;
}

// ---- eviction ----

class Store::ShardEvictor final : public store::Evictor {
public:
    ShardEvictor(Store& st, Shard& s) : st_(st), s_(s) {}
    bool over() override { return st_.over_budget(); }
    bool bytes_over() override { return st_.bytes_over(); }
    void evict(uint32_t i) override {
        Block* b = s_.at(i);
        if (is_tomb(b)) {
            st_.collect_tombstone(s_, b);
        } else {
            // Read once there is an eviction: every write comes through
            // here, and the exact clock costs more than the write's own work.
            if (now_ < 0) now_ = st_.clock_.now_ms();
            st_.emit(EventType::Evict, Origin::Local, b, b, now_);
            (st_.entries_over() ? s_.evictions_entries : s_.evictions_bytes).add();
        }
        st_.drop(s_, i);
        value_unref(b);
    }

private:
    Store& st_;
    Shard& s_;
    int64_t now_ = -1;
};

void Store::evict(Shard& s, uint32_t keep) {
    s.keep = keep;
    // Even under budget: the window may overflow into probation.
    ShardEvictor ev(*this, s);
    s.evict(ev);
    s.climb();
    s.keep = kNil;
}

void Store::evict_elsewhere(size_t start) {
    // The writer's own shard had nothing left to give: take from the others,
    // one shard at a time, never holding two locks.
    if (shard_count_ == 1) return;
    for (size_t round = 0; round + 1 < shard_count_ && over_budget(); ++round) {
        size_t step = evict_cursor_.fetch_add(1, std::memory_order_relaxed) % (shard_count_ - 1);
        Shard& s = shards_[(start + 1 + step) % shard_count_];
        Guard g(s.lock);
        s.drain_reads();
        evict(s, kNil);
    }
}

}  // namespace mccache::store
