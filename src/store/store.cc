// Store internals. Each shard is an open-addressing table (linear probing,
// backward-shift deletion, so no deleted markers pile up) guarded by a
// spinlock: the critical sections are a few dozen nanoseconds, shorter than
// a futex round trip.
//
// Eviction is CLOCK in its second-chance form: each shard keeps its entries
// in a list in insertion order; a read or write sets the entry's reference
// bit; the evictor takes the oldest entry, and one with its bit set gets the
// bit cleared and a second turn at the back instead. Reads so count as use
// (McCache's "LRU" only counted updates) while the hit path only sets a bit,
// with no list surgery under the lock. bench/hitratio compares it with exact
// LRU on the reference traces.
#include "store/store.h"

#include <malloc.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <random>
#include <thread>

#define XXH_INLINE_ALL
#include <xxhash.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MCCACHE_CPU_RELAX() _mm_pause()
#else
#define MCCACHE_CPU_RELAX() ((void)0)
#endif

namespace mccache::store {

uint64_t value_hash(const void* data, size_t len) {
    // Inline below this size (no call, and the SSE2 loop is short); the
    // dispatched AVX2/AVX-512 loop pays off above it.
    constexpr size_t kDispatchFrom = 512;
    return len < kDispatchFrom ? XXH3_64bits(data, len) : value_hash_long(data, len);
}

namespace {

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

// Written only under the shard lock, read by anyone: a relaxed load and
// store instead of a locked read-modify-write keeps the hit path cheap.
struct Counter {
    std::atomic<uint64_t> v{0};
    void add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    void sub(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
    void set(uint64_t n) { v.store(n, std::memory_order_relaxed); }
    uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// One 8-byte store (GCC 12 at -O2 kept the byte loop: 57 instructions each).
inline void put_le64(unsigned char* p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    std::memcpy(p, &v, 8);
}

// Keys are usually short: compare them inline rather than call memcmp.
inline bool keys_equal(const unsigned char* a, const void* bv, size_t n) {
    const auto* b = static_cast<const unsigned char*>(bv);
    if (n <= 16) {
        if (n >= 8) {
            uint64_t a0, b0, a1, b1;
            std::memcpy(&a0, a, 8);
            std::memcpy(&b0, b, 8);
            std::memcpy(&a1, a + n - 8, 8);
            std::memcpy(&b1, b + n - 8, 8);
            return ((a0 ^ b0) | (a1 ^ b1)) == 0;
        }
        for (size_t i = 0; i < n; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }
    return std::memcmp(a, b, n) == 0;
}

constexpr size_t kMallocHeader = Store::kMallocHeader;
constexpr size_t kNpos = SIZE_MAX;
// Values up to this size are built (or overwritten) under the shard lock by
// Store::put(); bigger ones are copied and allocated before it is taken.
constexpr size_t kBuildUnderLock = 1024;

}  // namespace

struct Store::Entry {
    uint64_t hash;  // the table's tag: a keyed mix of h0
    uint64_t h0;    // XXH3-64 of the key, seed 0: the same on every member
    Value* value;  // nullptr: a tombstone
    Version version;
    int64_t expires_ms;  // live: -1 never; tombstone: when to collect it
    int64_t created_ms;
    int64_t updated_ms;
    int64_t last_lookup_ms;
    uint64_t lookups;
    uint64_t checksum;
    uint64_t charged;
    Entry* older;  // eviction list, insertion order
    Entry* newer;
    Entry* bucket_prev;  // anti-entropy bucket list
    Entry* bucket_next;
    uint32_t klen;
    uint8_t referenced;

    unsigned char* key() { return reinterpret_cast<unsigned char*>(this + 1); }
    const unsigned char* key() const { return reinterpret_cast<const unsigned char*>(this + 1); }
    std::string_view key_view() const {
        return {reinterpret_cast<const char*>(key()), klen};
    }
};

namespace {
struct Slot {
    uint64_t hash;
    void* entry;  // Store::Entry*, nullptr when empty
};
static_assert(2 * sizeof(Slot) == 2 * 2 * sizeof(uint64_t), "update Store::charge_estimate");
}  // namespace

struct alignas(64) Store::Shard {
    SpinLock lock;
    Slot* slots = nullptr;
    size_t mask = 0;
    size_t used = 0;  // live entries and tombstones
    Entry* oldest = nullptr;
    Entry* newest = nullptr;
    int64_t min_expiry = INT64_MAX;
    Version floor;  // writes at or below it lost to a clear
    // Anti-entropy buckets owned by this shard (bucket b lives in shard
    // b % shards, at index b / shards): entries and the sum of their checksums,
    // tombstones included.
    std::vector<Entry*> bucket_head;
    std::vector<uint64_t> bucket_sum;
    unsigned bucket_shift = 0;
    Counter live, tombs, bytes, checksum;
    Counter hits, misses, inserts, updates, deletes;
    Counter evictions_entries, evictions_bytes, expirations, stale, tombs_collected;

    Entry* at(size_t i) const { return static_cast<Entry*>(slots[i].entry); }

    size_t find(uint64_t hash, const void* key, size_t klen) const {
        if (!slots) return kNpos;
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            const Slot& s = slots[i];
            if (!s.entry) return kNpos;
            if (s.hash == hash) {
                const Entry* e = static_cast<const Entry*>(s.entry);
                if (e->klen == klen && keys_equal(e->key(), key, klen)) return i;
            }
        }
    }

    void place(uint64_t hash, Entry* e) {
        size_t i = hash & mask;
        while (slots[i].entry) i = (i + 1) & mask;
        slots[i] = {hash, e};
    }

    bool insert(uint64_t hash, Entry* e) {
        if (!slots || (used + 1) * 4 > (mask + 1) * 3) {
            size_t cap = slots ? (mask + 1) * 2 : 16;
            Slot* fresh = static_cast<Slot*>(std::calloc(cap, sizeof(Slot)));
            if (!fresh) return false;
            Slot* old = slots;
            size_t old_cap = slots ? mask + 1 : 0;
            slots = fresh;
            mask = cap - 1;
            for (size_t i = 0; i < old_cap; ++i)
                if (old[i].entry) place(old[i].hash, static_cast<Entry*>(old[i].entry));
            std::free(old);
        }
        place(hash, e);
        ++used;
        return true;
    }

    void link_newest(Entry* e) {
        e->newer = nullptr;
        e->older = newest;
        if (newest) newest->newer = e; else oldest = e;
        newest = e;
    }

    void unlink(Entry* e) {
        if (e->older) e->older->newer = e->newer; else oldest = e->newer;
        if (e->newer) e->newer->older = e->older; else newest = e->older;
        e->older = e->newer = nullptr;
    }

    size_t bucket_index(const Entry* e) const { return static_cast<size_t>(e->h0 >> 52) >> bucket_shift; }

    void bucket_link(Entry* e) {
        Entry*& head = bucket_head[bucket_index(e)];
        e->bucket_prev = nullptr;
        e->bucket_next = head;
        if (head) head->bucket_prev = e;
        head = e;
        bucket_sum[bucket_index(e)] += e->checksum;
    }

    void bucket_unlink(Entry* e) {
        size_t b = bucket_index(e);
        if (e->bucket_prev) e->bucket_prev->bucket_next = e->bucket_next; else bucket_head[b] = e->bucket_next;
        if (e->bucket_next) e->bucket_next->bucket_prev = e->bucket_prev;
        bucket_sum[b] -= e->checksum;
    }

    // The entry's checksum changes with its version: keep the bucket sum true.
    void bucket_rechecksum(Entry* e, uint64_t checksum) {
        size_t b = bucket_index(e);
        bucket_sum[b] += checksum - e->checksum;
        e->checksum = checksum;
    }

    // Removes entry `e` at slot `i` from the table and both lists.
    void drop(size_t i, Entry* e) {
        unlink(e);
        bucket_unlink(e);
        erase(i);
    }

    // Backward-shift deletion: pull later members of the probe run into the
    // hole so that lookups never need deleted markers.
    void erase(size_t i) {
        slots[i].entry = nullptr;
        size_t hole = i;
        for (size_t j = (i + 1) & mask; slots[j].entry; j = (j + 1) & mask) {
            size_t home = slots[j].hash & mask;
            bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                slots[hole] = slots[j];
                slots[j].entry = nullptr;
                hole = j;
            }
        }
        --used;
    }
};

namespace {
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
}  // namespace

Store::Store(std::string name, const Limits& limits, const Clock& clock)
    : name_(std::move(name)), limits_(limits), clock_(clock), seed_(random_seed()) {
    static_assert(sizeof(Entry) == kEntrySize, "update Store::kEntrySize");
    shard_count_ = limits.shards ? limits.shards : auto_shards(limits.max_entries);
    unsigned bits = 0;
    while ((size_t{1} << bits) < shard_count_) ++bits;
    shard_count_ = size_t{1} << bits;
    shard_bits_ = bits;
    shards_.reset(new Shard[shard_count_]);
    for (size_t i = 0; i < shard_count_; ++i) {
        shards_[i].bucket_shift = bits;
        shards_[i].bucket_head.assign(kBuckets >> bits, nullptr);
        shards_[i].bucket_sum.assign(kBuckets >> bits, 0);
    }
}

Store::~Store() {
    for (size_t s = 0; s < shard_count_; ++s) {
        Shard& sh = shards_[s];
        if (!sh.slots) continue;
        for (size_t i = 0; i <= sh.mask; ++i) {
            if (Entry* e = sh.at(i)) {
                value_unref(e->value);
                std::free(e);
            }
        }
        std::free(sh.slots);
    }
}

uint64_t Store::hash_key(const void* key, size_t klen) const { return XXH3_64bits(key, klen); }

uint64_t Store::tag_of(uint64_t h0) const {
    // A keyed bijection of the cluster-wide hash: the table's probe order
    // depends on a per-process secret, so keys sent by a remote party cannot
    // be chosen to pile up in one probe run.
    uint64_t x = h0 ^ seed_;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

Store::Shard& Store::shard_for(uint64_t h0) const {
    return shards_[(h0 >> 52) & (shard_count_ - 1)];
}

namespace {
uint64_t entry_charge(const void* entry, const Value* value) {
    uint64_t n = malloc_usable_size(const_cast<void*>(entry)) + kMallocHeader + 2 * sizeof(Slot);
    if (value) n += malloc_usable_size(const_cast<Value*>(value)) + kMallocHeader;
    return n;
}

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
}  // namespace

bool Store::over_budget() const {
    return entries_.load(std::memory_order_relaxed) > static_cast<int64_t>(limits_.max_entries) ||
           bytes_.load(std::memory_order_relaxed) > static_cast<int64_t>(limits_.max_bytes);
}

void Store::emit_slow(EventType type, Origin origin, const Entry& e, Value* value, int64_t now) {
    int64_t window = window_ms_.load(std::memory_order_relaxed);
    // McCache's lookup window: report only keys read shortly before the change.
    if (window > 0 && (e.last_lookup_ms == 0 || now - e.last_lookup_ms > window)) return;
    listener_->on_change(Change{type, origin, e.key_view(), value, e.version, e.last_lookup_ms, now});
}

bool Store::expired_at_read(const Entry& e) {
    if (e.expires_ms < 0) return false;
    if (clock_.coarse_ms() + clock_.coarse_lag_ms() < e.expires_ms) return false;
    return clock_.now_ms() >= e.expires_ms;
}

// ---- reads ----

Value* Store::get(const void* key, size_t klen) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t h = tag_of(h0);
    Value* out = nullptr;
    {
        Guard g(s.lock);
        size_t i = s.find(h, key, klen);
        Entry* e = i == kNpos ? nullptr : s.at(i);
        if (__builtin_expect(e && e->value && !(e->expires_ms >= 0 && expired_at_read(*e)), 1)) {
            s.hits.add();
            e->referenced = 1;
            e->lookups++;
            e->last_lookup_ms = clock_.coarse_ms();
            out = value_ref(e->value);
        } else {
            s.misses.add();
            if (e && e->value) expire_now(s, i, e);  // expired but not yet swept
        }
    }
    return out;
}

void Store::expire_now(Shard& s, size_t i, Entry* e) {
    // Called with the shard lock held, off the hit path: remove an entry
    // that a read found expired, rather than serve it.
    int64_t now = clock_.now_ms();
    emit(EventType::Expire, Origin::Local, *e, e->value, now);
    s.expirations.add();
    s.live.sub();
    s.bytes.sub(e->charged);
    s.checksum.sub(e->checksum);
    entries_.fetch_sub(1, std::memory_order_relaxed);
    bytes_.fetch_sub(static_cast<int64_t>(e->charged), std::memory_order_relaxed);
    s.drop(i, e);
    value_unref(e->value);
    std::free(e);
}

int Store::get_copy(const void* key, size_t klen, void* buf, size_t* len) {
    constexpr size_t kCopyUnderLock = 4096;
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t h = tag_of(h0);
    Value* big = nullptr;
    {
        Guard g(s.lock);
        size_t i = s.find(h, key, klen);
        Entry* e = i == kNpos ? nullptr : s.at(i);
        if (!e || !e->value || expired_at_read(*e)) {
            s.misses.add();
            return MCCACHE_ENOTFOUND;
        }
        size_t n = e->value->len;
        if (n > *len) {
            *len = n;
            return MCCACHE_EBUFS;
        }
        s.hits.add();
        e->referenced = 1;
        e->lookups++;
        e->last_lookup_ms = clock_.coarse_ms();
        *len = n;
        if (n <= kCopyUnderLock) {
            if (n) std::memcpy(buf, e->value->bytes(), n);
            return MCCACHE_OK;
        }
        big = value_ref(e->value);
    }
    std::memcpy(buf, big->bytes(), big->len);
    value_unref(big);
    return MCCACHE_OK;
}

bool Store::contains(const void* key, size_t klen) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t h = tag_of(h0);
    Guard g(s.lock);
    size_t i = s.find(h, key, klen);
    Entry* e = i == kNpos ? nullptr : s.at(i);
    return e && e->value && !expired_at_read(*e);
}

bool Store::metadata(const void* key, size_t klen, Metadata* out) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t h = tag_of(h0);
    Guard g(s.lock);
    size_t i = s.find(h, key, klen);
    Entry* e = i == kNpos ? nullptr : s.at(i);
    if (!e || !e->value || expired_at_read(*e)) return false;
    *out = Metadata{e->version,    e->created_ms, e->updated_ms,     e->expires_ms,
                    e->last_lookup_ms, e->lookups, e->klen,       e->value->len,
                    e->charged,    e->checksum};
    return true;
}

bool Store::key_checksum(const void* key, size_t klen, uint64_t* out) {
    Metadata m;
    if (!metadata(key, klen, &m)) return false;
    *out = m.checksum;
    return true;
}

// ---- writes ----

namespace {
// A new value holding one reference. Throws when out of memory.
Value* make_value(const void* data, size_t len, uint64_t hash) {
    void* mem = std::malloc(sizeof(Value) + (len ? len : 1));
    if (!mem) throw std::bad_alloc();
    Value* v = new (mem) Value;
    v->refs.store(1, std::memory_order_relaxed);
    v->reserved = 0;
    v->len = len;
    if (len) std::memcpy(v->bytes(), data, len);
    v->hash = hash;
    return v;
}

// Whether `v`, held by the store, may be overwritten with `len` bytes.
// Called with the shard lock held: every new reference to a stored value is
// taken under it, so a count of 1 stays 1 until the lock is released, and
// the acquire load orders the overwrite after the reads of every holder
// that dropped its reference (value_unref is a release). Same allocation
// class only, so that a small value never pins a big allocation and the
// entry's charge stays the real one.
inline bool overwritable(const Value* v, size_t len) {
    return len <= v->len &&
           Store::malloc_chunk(sizeof(Value) + len) == Store::malloc_chunk(sizeof(Value) + v->len) &&
           v->refs.load(std::memory_order_acquire) == 1;
}
}  // namespace

// Inlined into both callers: the call would pass nine arguments.
inline __attribute__((always_inline)) Applied Store::write(const void* key, size_t klen, const Incoming& in, Version version,
                     int64_t expires_ms, Origin origin, bool only_if_present, int64_t now_ms,
                     Value** keep) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t h = tag_of(h0);
    Value* old = nullptr;  // a reference dropped once the lock is released
    Applied result;
    uint64_t sum = entry_checksum(h0, version, in.vhash);
    {
        Guard g(s.lock);
        if (version <= s.floor) {
            s.stale.add();
            old = in.value;
            result = Applied::Stale;
        } else {
            int64_t now = now_ms >= 0 ? now_ms : clock_.coarse_ms();
            size_t i = s.find(h, key, klen);
            Entry* e = i == kNpos ? nullptr : s.at(i);
            bool live = e && e->value && !(e->expires_ms >= 0 && now >= e->expires_ms);
            Value* value = in.value;
            if (e && e->version >= version) {
                s.stale.add();
                old = value;
                result = Applied::Stale;
            } else if (only_if_present && !live) {
                old = value;
                result = Applied::Absent;
            } else if (e) {
                Value* prev = e->value;
                // The value is settled before anything changes, so that a
                // failed allocation leaves the entry as it was. Only a live
                // value is overwritten: an expired one is reported first,
                // and the listener may keep it.
                bool in_place = false;
                if (!value) {
                    in_place = live && overwritable(prev, in.vlen);
                    value = in_place ? prev : make_value(in.data, in.vlen, in.vhash);
                }
                if (prev) {
                    if (!live) {
                        emit(EventType::Expire, Origin::Local, *e, prev, now);
                        s.expirations.add();
                    }
                    s.checksum.sub(e->checksum);
                } else {
                    s.tombs.sub();
                    s.live.add();
                    entries_.fetch_add(1, std::memory_order_relaxed);
                }
                if (!live) {
                    e->created_ms = now;
                    e->lookups = 0;
                    e->last_lookup_ms = 0;
                }
                if (in_place) {
                    if (in.vlen) std::memcpy(value->bytes(), in.data, in.vlen);
                    value->len = in.vlen;
                    value->hash = in.vhash;
                } else {
                    old = prev;
                    e->value = value;
                }
                e->version = version;
                e->expires_ms = expires_ms;
                e->updated_ms = now;
                s.bucket_rechecksum(e, sum);
                e->referenced = live;  // an update is a use; a revival starts cold
                if (!in_place) {
                    // The same allocation keeps the same charge.
                    uint64_t charged = entry_charge(e, value);
                    if (charged != e->charged) {
                        s.bytes.add(charged - e->charged);
                        bytes_.fetch_add(static_cast<int64_t>(charged) - static_cast<int64_t>(e->charged),
                                         std::memory_order_relaxed);
                        e->charged = charged;
                    }
                }
                s.checksum.add(sum);
                if (live) {
                    s.updates.add();
                    result = Applied::Updated;
                    emit(EventType::Update, origin, *e, value, now);
                } else {
                    s.inserts.add();
                    result = Applied::Inserted;
                    emit(EventType::Insert, origin, *e, value, now);
                }
            } else {
                if (!value) value = make_value(in.data, in.vlen, in.vhash);
                e = static_cast<Entry*>(std::malloc(sizeof(Entry) + klen));
                if (!e || !s.insert(h, e)) {
                    std::free(e);
                    value_unref(value);
                    throw std::bad_alloc();
                }
                e->hash = h;
                e->h0 = h0;
                e->value = value;
                e->version = version;
                e->expires_ms = expires_ms;
                e->created_ms = e->updated_ms = now;
                e->last_lookup_ms = 0;
                e->lookups = 0;
                e->checksum = sum;
                e->klen = static_cast<uint32_t>(klen);
                e->referenced = 0;
                std::memcpy(e->key(), key, klen);
                s.link_newest(e);
                s.bucket_link(e);
                e->charged = entry_charge(e, value);
                s.live.add();
                s.bytes.add(e->charged);
                s.checksum.add(sum);
                s.inserts.add();
                entries_.fetch_add(1, std::memory_order_relaxed);
                bytes_.fetch_add(static_cast<int64_t>(e->charged), std::memory_order_relaxed);
                result = Applied::Inserted;
                emit(EventType::Insert, origin, *e, value, now);
            }
            if (result == Applied::Inserted || result == Applied::Updated) {
                // Taken under the lock: a held value is never overwritten.
                if (keep) *keep = value_ref(value);
                if (expires_ms >= 0 && expires_ms < s.min_expiry) s.min_expiry = expires_ms;
                if (over_budget()) evict_from(s, e);
            }
        }
    }
    if (result != Applied::Inserted && result != Applied::Updated) {
        if (keep) *keep = nullptr;
        value_unref(old);
        return result;
    }
    value_unref(old);
    if (over_budget()) evict_elsewhere(static_cast<size_t>(&s - shards_.get()));
    return result;
}

Applied Store::apply(const void* key, size_t klen, Value* value, Version version,
                     int64_t expires_ms, Origin origin, bool only_if_present, int64_t now_ms) {
    return write(key, klen, Incoming{value, nullptr, 0, value->hash}, version, expires_ms, origin,
                 only_if_present, now_ms, nullptr);
}

Applied Store::put(const void* key, size_t klen, const void* data, size_t vlen, Version version,
                   int64_t expires_ms, int64_t now_ms, Value** keep) {
    if (vlen > kBuildUnderLock) {
        // Too big to copy under the lock: a fresh value, built before it.
        Value* v = value_new(data, vlen);
        if (!v) throw std::bad_alloc();
        return write(key, klen, Incoming{v, nullptr, 0, v->hash}, version, expires_ms,
                     Origin::Local, false, now_ms, keep);
    }
    return write(key, klen, Incoming{nullptr, data, vlen, value_hash(data, vlen)}, version,
                 expires_ms, Origin::Local, false, now_ms, keep);
}

Applied Store::remove(const void* key, size_t klen, Version version, Origin origin, bool* was_live) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t h = tag_of(h0);
    Value* old = nullptr;
    Applied result;
    *was_live = false;
    {
        Guard g(s.lock);
        size_t i = s.find(h, key, klen);
        Entry* e = i == kNpos ? nullptr : s.at(i);
        if (version <= s.floor || (e && e->version >= version)) {
            s.stale.add();
            return Applied::Stale;
        }
        int64_t now = clock_.now_ms();
        if (e) {
            old = e->value;
            if (old) {
                bool live = !(e->expires_ms >= 0 && now >= e->expires_ms);
                e->version = version;
                if (live) {
                    *was_live = true;
                    s.deletes.add();
                    emit(EventType::Delete, origin, *e, old, now);
                } else {
                    s.expirations.add();
                }
                s.checksum.sub(e->checksum);
                s.live.sub();
                s.tombs.add();
                entries_.fetch_sub(1, std::memory_order_relaxed);
            }
            e->value = nullptr;
            e->version = version;
            s.bucket_rechecksum(e, entry_checksum(h0, version, 0));
            e->referenced = 0;
            e->lookups = 0;
            e->updated_ms = now;
            uint64_t charged = entry_charge(e, nullptr);
            s.bytes.add(charged - e->charged);
            bytes_.fetch_add(static_cast<int64_t>(charged) - static_cast<int64_t>(e->charged),
                             std::memory_order_relaxed);
            e->charged = charged;
        } else {
            e = static_cast<Entry*>(std::malloc(sizeof(Entry) + klen));
            if (!e || !s.insert(h, e)) {
                std::free(e);
                throw std::bad_alloc();
            }
            e->hash = h;
            e->h0 = h0;
            e->value = nullptr;
            e->version = version;
            e->created_ms = e->updated_ms = now;
            e->last_lookup_ms = 0;
            e->lookups = 0;
            e->checksum = entry_checksum(h0, version, 0);
            e->klen = static_cast<uint32_t>(klen);
            e->referenced = 0;
            std::memcpy(e->key(), key, klen);
            s.link_newest(e);
            s.bucket_link(e);
            e->charged = entry_charge(e, nullptr);
            s.tombs.add();
            s.bytes.add(e->charged);
            bytes_.fetch_add(static_cast<int64_t>(e->charged), std::memory_order_relaxed);
        }
        // Absolute, from the delete's own time: every member collects the
        // tombstone at the same moment, however late the delete reached it.
        e->expires_ms = hlc_ms(version.hlc) + limits_.tombstone_ttl_ms;
        if (e->expires_ms < s.min_expiry) s.min_expiry = e->expires_ms;
        result = Applied::Updated;
        if (over_budget()) evict_from(s, e);
    }
    value_unref(old);
    return result;
}

void Store::clear(Version version, Origin origin) {
    int64_t now = clock_.now_ms();
    for (size_t si = 0; si < shard_count_; ++si) {
        Shard& s = shards_[si];
        std::vector<Entry*> dropped;
        {
            Guard g(s.lock);
            if (version > s.floor) s.floor = version;
            if (!s.slots) continue;
            std::vector<Entry*> kept;
            for (Entry* e = s.oldest; e; e = e->newer) {
                if (e->version < version) {
                    if (e->value) {
                        bool live = !(e->expires_ms >= 0 && now >= e->expires_ms);
                        if (live) {
                            emit(EventType::Delete, origin, *e, e->value, now);
                            s.deletes.add();
                        } else {
                            s.expirations.add();
                        }
                        s.live.sub();
                        s.checksum.sub(e->checksum);
                        entries_.fetch_sub(1, std::memory_order_relaxed);
                    } else {
                        s.tombs.sub();
                    }
                    s.bytes.sub(e->charged);
                    bytes_.fetch_sub(static_cast<int64_t>(e->charged), std::memory_order_relaxed);
                    s.bucket_unlink(e);
                    dropped.push_back(e);
                } else {
                    kept.push_back(e);
                }
            }
            std::memset(s.slots, 0, (s.mask + 1) * sizeof(Slot));
            s.used = 0;
            s.oldest = s.newest = nullptr;
            for (Entry* e : kept) {
                s.place(e->hash, e);
                s.link_newest(e);
                ++s.used;
            }
        }
        for (Entry* e : dropped) {
            value_unref(e->value);
            std::free(e);
        }
    }
}

void Store::evict_from(Shard& s, Entry* keep) {
    int64_t now = clock_.now_ms();
    while (over_budget()) {
        // Tombstones free bytes but not entries: pass over them when only
        // the entry count is over.
        bool entries_over =
            entries_.load(std::memory_order_relaxed) > static_cast<int64_t>(limits_.max_entries);
        Entry* victim = nullptr;
        for (size_t step = 0, limit = 2 * s.used + 1; step < limit && s.oldest; ++step) {
            Entry* e = s.oldest;
            bool second_chance = e->value && e->referenced;
            if (e == keep || second_chance || (!e->value && entries_over)) {
                e->referenced = 0;
                s.unlink(e);
                s.link_newest(e);
                continue;
            }
            victim = e;
            break;
        }
        if (!victim) return;
        Entry* e = victim;
        if (e->value) {
            emit(EventType::Evict, Origin::Local, *e, e->value, now);
            (entries_over ? s.evictions_entries : s.evictions_bytes).add();
            s.live.sub();
            s.checksum.sub(e->checksum);
            entries_.fetch_sub(1, std::memory_order_relaxed);
        } else {
            s.tombs.sub();
            s.tombs_collected.add();
        }
        s.bytes.sub(e->charged);
        bytes_.fetch_sub(static_cast<int64_t>(e->charged), std::memory_order_relaxed);
        s.drop(s.find(e->hash, e->key(), e->klen), e);
        value_unref(e->value);
        std::free(e);
    }
}

void Store::evict_elsewhere(size_t start) {
    // The writer's own shard had nothing left to give: take from the others,
    // one shard at a time, never holding two locks.
    // Never the writer's own shard: there the new entry is unprotected now.
    if (shard_count_ == 1) return;
    for (size_t round = 0; round + 1 < shard_count_ && over_budget(); ++round) {
        size_t step = evict_cursor_.fetch_add(1, std::memory_order_relaxed) % (shard_count_ - 1);
        size_t si = (start + 1 + step) % shard_count_;
        Shard& s = shards_[si];
        Guard g(s.lock);
        evict_from(s, nullptr);
    }
}

size_t Store::housekeep() {
    int64_t now = clock_.now_ms();
    size_t removed = 0;
    for (size_t si = 0; si < shard_count_; ++si) {
        Shard& s = shards_[si];
        std::vector<Entry*> dead;
        {
            Guard g(s.lock);
            if (!s.slots || now < s.min_expiry) continue;
            int64_t next = INT64_MAX;
            for (size_t i = 0; i <= s.mask;) {
                Entry* e = s.at(i);
                if (!e || e->expires_ms < 0) {
                    ++i;
                    continue;
                }
                if (now < e->expires_ms) {
                    next = std::min(next, e->expires_ms);
                    ++i;
                    continue;
                }
                if (e->value) {
                    emit(EventType::Expire, Origin::Local, *e, e->value, now);
                    s.expirations.add();
                    s.live.sub();
                    s.checksum.sub(e->checksum);
                    entries_.fetch_sub(1, std::memory_order_relaxed);
                } else {
                    s.tombs.sub();
                    s.tombs_collected.add();
                }
                s.bytes.sub(e->charged);
                bytes_.fetch_sub(static_cast<int64_t>(e->charged), std::memory_order_relaxed);
                s.drop(i, e);  // re-examine slot i: the shift may have filled it
                dead.push_back(e);
            }
            s.min_expiry = next;
        }
        removed += dead.size();
        for (Entry* e : dead) {
            value_unref(e->value);
            std::free(e);
        }
    }
    return removed;
}

void Store::snapshot_shard(size_t index,
                           const std::function<void(std::string_view, Value*, int64_t)>& fn) {
    if (index >= shard_count_) return;
    Shard& s = shards_[index];
    struct Item {
        std::string key;
        Value* value;
        int64_t expires_ms;
    };
    std::vector<Item> items;
    {
        Guard g(s.lock);
        if (!s.slots) return;
        int64_t now = clock_.now_ms();
        items.reserve(s.live.get());
        for (size_t i = 0; i <= s.mask; ++i) {
            Entry* e = s.at(i);
            if (!e || !e->value || (e->expires_ms >= 0 && now >= e->expires_ms)) continue;
            items.push_back(Item{std::string(e->key_view()), value_ref(e->value), e->expires_ms});
        }
    }
    for (auto& it : items) fn(it.key, it.value, it.expires_ms);
}

uint64_t Store::checksum() const {
    uint64_t sum = 0;
    for (size_t i = 0; i < shard_count_; ++i) sum += shards_[i].checksum.get();
    return sum;
}

size_t Store::size() const {
    int64_t n = entries_.load(std::memory_order_relaxed);
    return n < 0 ? 0 : static_cast<size_t>(n);
}

Version Store::clear_floor() const {
    Version v;
    for (size_t i = 0; i < shard_count_; ++i) {
        Guard g(shards_[i].lock);
        v = std::max(v, shards_[i].floor);
    }
    return v;
}

Stats Store::stats() const {
    Stats st{};
    for (size_t i = 0; i < shard_count_; ++i) {
        const Shard& s = shards_[i];
        st.entries += s.live.get();
        st.tombstones += s.tombs.get();
        st.bytes += s.bytes.get();
        st.hits += s.hits.get();
        st.misses += s.misses.get();
        st.inserts += s.inserts.get();
        st.updates += s.updates.get();
        st.deletes += s.deletes.get();
        st.evictions_entries += s.evictions_entries.get();
        st.evictions_bytes += s.evictions_bytes.get();
        st.expirations += s.expirations.get();
        st.stale_writes += s.stale.get();
        st.tombstones_collected += s.tombs_collected.get();
    }
    st.lookups = st.hits + st.misses;
    return st;
}

}  // namespace mccache::store

namespace mccache::store {

size_t Store::bucket_of(const void* key, size_t klen) {
    return static_cast<size_t>(XXH3_64bits(key, klen) >> 52);
}

void Store::bucket_digests(uint64_t* out) const {
    for (size_t si = 0; si < shard_count_; ++si) {
        Shard& s = shards_[si];
        Guard g(s.lock);
        for (size_t j = 0; j < s.bucket_sum.size(); ++j) out[(j << shard_bits_) | si] = s.bucket_sum[j];
    }
}

std::vector<Store::KeyVersion> Store::list_bucket(size_t bucket) const {
    std::vector<KeyVersion> out;
    if (bucket >= kBuckets) return out;
    Shard& s = shards_[bucket & (shard_count_ - 1)];
    int64_t now = clock_.now_ms();
    Guard g(s.lock);
    for (Entry* e = s.bucket_head[bucket >> shard_bits_]; e; e = e->bucket_next) {
        if (e->value && e->expires_ms >= 0 && now >= e->expires_ms) continue;
        out.push_back(KeyVersion{std::string(e->key_view()), e->version, e->value == nullptr});
    }
    return out;
}

bool Store::export_entry(const void* key, size_t klen, Exported* out) const {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t h = tag_of(h0);
    Guard g(s.lock);
    size_t i = s.find(h, key, klen);
    if (i == kNpos) return false;
    Entry* e = s.at(i);
    if (e->value && e->expires_ms >= 0 && clock_.now_ms() >= e->expires_ms) return false;
    *out = Exported{value_ref(e->value), e->version, e->expires_ms};
    return true;
}

}  // namespace mccache::store
