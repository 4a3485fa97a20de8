// The local cache of one named cache: a sharded hash table of versioned,
// expiring, refcounted entries with bounded entries and bytes. It knows
// nothing of the network; the cluster layer feeds remote writes through
// apply() and remove() with the versions they carry.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/clock.h"
#include "store/hlc.h"
#include "store/value.h"

namespace mccache::store {

// Which entry a full cache gives up: adaptive W-TinyLFU (store/policy.cc)
// or the least recently used.
enum class EvictionPolicy : int { TinyLfu = 0, Lru = 1 };

struct Limits {
    uint64_t max_entries = 65536;
    uint64_t max_bytes = 64ull << 20;
    uint64_t max_value_size = 1ull << 20;
    int64_t default_ttl_ms = 0;        // 0: entries never expire
    int64_t tombstone_ttl_ms = 600000;
    uint32_t shards = 0;               // 0: chosen from max_entries
    EvictionPolicy policy = EvictionPolicy::TinyLfu;
};

enum class EventType : int { Insert = 1, Update = 2, Delete = 3, Evict = 4, Expire = 5 };
enum class Origin : int { Local = 0, Remote = 1, Repair = 2 };

// What the store reports to its listener. Borrowed for the call: the
// listener copies the key and takes its own value reference if it keeps them.
struct Change {
    EventType type;
    Origin origin;
    std::string_view key;
    Value* value;  // new value for insert/update, old value otherwise
    Version version;
    int64_t last_lookup_ms;
    int64_t time_ms;
};

// Called with the shard lock held, so changes to one key arrive in order.
// It must be quick and must not call back into the store.
class ChangeListener {
public:
    virtual ~ChangeListener() = default;
    virtual void on_change(const Change& change) = 0;
};

struct Metadata {
    Version version;
    int64_t created_ms, updated_ms, expires_ms, last_lookup_ms;
    uint64_t lookups, key_size, value_size, charged_bytes, checksum;
};

struct Stats {
    uint64_t entries, tombstones, bytes;
    uint64_t hits, misses, lookups;
    uint64_t inserts, updates, deletes;
    uint64_t evictions_entries, evictions_bytes, expirations;
    uint64_t stale_writes, tombstones_collected, horizon_refused;
};

// The outcome of a versioned write.
enum class Applied { Inserted, Updated, Stale, Absent };

class Store {
public:
    Store(std::string name, const Limits& limits, const Clock& clock);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    const std::string& name() const { return name_; }
    const Limits& limits() const { return limits_; }

    // The listener gets every change while `enabled` is true. `window_ms` > 0
    // keeps only changes to keys looked up within that window before.
    void set_listener(ChangeListener* listener) { listener_ = listener; }
    void set_events(bool enabled, int64_t window_ms) {
        window_ms_.store(window_ms, std::memory_order_relaxed);
        events_.store(enabled, std::memory_order_release);
    }

    // ---- reads ----
    // A reference to the live value, or nullptr. Counts a hit or a miss.
    Value* get(const void* key, size_t klen);
    // Copies into buf when it fits. Returns MCCACHE_OK, _ENOTFOUND or _EBUFS
    // (with *len set to the size needed; a too-small buffer counts nothing).
    int get_copy(const void* key, size_t klen, void* buf, size_t* len);
    bool contains(const void* key, size_t klen);
    // get() with the entry's version and expiry (store_lookup.cc); with
    // `count` false, a peek that counts nothing and leaves recency alone.
    Value* lookup(const void* key, size_t klen, Version* version, int64_t* expires_ms, bool count);
    bool metadata(const void* key, size_t klen, Metadata* out);
    bool key_checksum(const void* key, size_t klen, uint64_t* out);

    // ---- writes ----
    // Stores `value` (the store takes over the caller's reference) under
    // `key` with `version`, expiring at `expires_ms` (-1: never), unless the
    // store already holds this key at an equal or newer version (Stale) or
    // `only_if_present` is set and the key is not live (Absent). In those
    // cases the reference is dropped.
    // `now_ms` (when >= 0) is the write time the caller derived the expiry
    // from, so that updated + ttl == expires exactly.
    Applied apply(const void* key, size_t klen, Value* value, Version version, int64_t expires_ms,
                  Origin origin, bool only_if_present = false, int64_t now_ms = -1);
    // A local write of `vlen` bytes at `data`: apply() with Origin::Local,
    // except that the store builds the value itself. When the live value it
    // replaces has no other holder (reference count 1, checked under the
    // shard lock, which every new reference is taken under) and needs the
    // same allocation, its bytes are overwritten in place: no allocation,
    // no free, and the charged bytes do not change. `keep`, when not null,
    // receives a reference to the installed value (taken under the lock,
    // so it is never overwritten while held), or nullptr if the write was
    // Stale. Throws std::bad_alloc when out of memory.
    Applied put(const void* key, size_t klen, const void* data, size_t vlen, Version version,
                int64_t expires_ms, int64_t now_ms, Value** keep = nullptr);
    // Deletes `key` at `version`, leaving a tombstone. Returns true if a live
    // entry was removed; Stale if the store holds a newer version.
    Applied remove(const void* key, size_t klen, Version version, Origin origin, bool* was_live);
    // Removes every entry older than `version`, and refuses older writes from now on.
    void clear(Version version, Origin origin);

    // Expires entries whose time has come and collects old tombstones.
    // Returns the number of entries and tombstones removed.
    size_t housekeep();

    // Visits a snapshot of shard `index` (live entries only). The callback
    // receives a value reference it must release, and the entry's expiry.
    size_t shard_count() const { return shard_count_; }
    void snapshot_shard(
        size_t index,
        const std::function<void(std::string_view key, Value* value, int64_t expires_ms)>& fn);

    // Order-independent digest over the live entries: the sum of their checksums.
    uint64_t checksum() const;
    size_t size() const;
    Stats stats() const;
    Version clear_floor() const;
    // Bucket `bucket`'s collection horizon (Shard::horizon): remote writes
    // for keys not held, at or below it, are refused. Zero if none.
    Version horizon(size_t bucket) const;

    // What the slab holds from the system for entry blocks (pages in use):
    // with the heap, what `bytes` should account for.
    uint64_t slab_bytes() const { return slab_->page_bytes(); }

    // How many more entries, and bytes, fit before anything is evicted.
    uint64_t free_entries() const;
    uint64_t free_bytes() const;

    // The bytes an entry is charged, given its key and value sizes: its one
    // block (header, value, key, and the value's hash when long) as the slab
    // or malloc rounds it, and its share of the table. The store charges the
    // real block; this is the same for a fresh local write with the cache's
    // default TTL, whose block has no time in its trailer.
    // Inline: the put path checks it on every call.
    static constexpr size_t kEntrySize = sizeof(Value);
    static constexpr size_t kMallocHeader = 8;
    static constexpr uint64_t kSlotCharge = 13;  // shard.h says why
    static constexpr uint64_t charge_estimate(size_t klen, size_t vlen) {
        size_t n = kEntrySize + vlen + klen + (vlen >= 256 ? 8 : 0);
        return (Slab::fits(n) ? Slab::class_size(n) : malloc_chunk(n)) + kSlotCharge;
    }
    static constexpr uint64_t malloc_chunk(size_t n) {
        uint64_t c = ((n + kMallocHeader + 15) / 16) * 16;
        return c < 32 ? 32 : c;
    }

    // ---- anti-entropy ----
    // Every key falls in one of kBuckets buckets by the top bits of its
    // cluster-wide hash; a bucket's digest is the sum of the checksums of its
    // entries, tombstones included (a tombstone's value hash is 0).
    static constexpr size_t kBuckets = 4096;
    static size_t bucket_of(const void* key, size_t klen);
    void bucket_digests(uint64_t* out /* kBuckets */) const;
    struct KeyVersion {
        std::string key;
        Version version;
        bool tombstone;
    };
    // The keys of one bucket with their versions (expired entries left out).
    std::vector<KeyVersion> list_bucket(size_t bucket) const;
    // A copy of an entry for repair: value reference (nullptr for a
    // tombstone), version and expiry. False if the key is unknown or expired.
    struct Exported {
        Value* value;
        Version version;
        int64_t expires_ms;
    };
    bool export_entry(const void* key, size_t klen, Exported* out) const;

    struct Shard;  // internal

    // The table's tag: a keyed bijection of the cluster-wide key hash.
    static uint64_t tag_of(uint64_t h0, uint64_t seed);

private:
    class ShardEvictor;
    friend class ShardEvictor;
    uint64_t hash_key(const void* key, size_t klen) const;
    Shard& shard_for(uint64_t hash) const;
    bool over_budget() const;
    bool entries_over() const;
    bool bytes_over() const;
    // Runs the shard's policy until the budgets hold (or it has nothing left).
    void evict(Shard& shard, uint32_t keep);
    void evict_elsewhere(size_t start_shard);
    // What an entry counts for: its charge (shard.h: charge_of), and
    // whether it is a tombstone.
    struct Held {
        uint64_t charge;
        bool tomb;
    };
    static Held held(const Value* b);
    // Every change to what a shard holds goes through here: an entry `out`
    // (with its checksum) leaves, `in` arrives, either may be null.
    // Counters, the budgets and the checksum sums move here and nowhere else.
    void count(Shard& s, const Held* out, uint64_t out_sum, const Held* in, uint64_t in_sum, size_t bucket);
    // Takes the entry at slot `i` out of the table and the lists; the
    // caller drops the block's reference.
    void drop(Shard& s, uint32_t i);
    // Counts a tombstone about to be dropped and raises its bucket's horizon.
    void collect_tombstone(Shard& s, const Value* b) const;
    uint64_t checksum_of(const Value* b, uint64_t h0) const;
    uint32_t writer_index(uint64_t id);
    uint64_t writer_id(const Value* b) const;
    Version version_of(const Value* b) const;
    // Reports a change if anyone listens: the test is inline, the rest is not.
    // `version`, when given, replaces the entry's own.
    void emit(EventType type, Origin origin, const Value* b, Value* value, int64_t now,
              const Version* version = nullptr) {
        if (__builtin_expect(listener_ != nullptr && events_.load(std::memory_order_acquire), 0))
            emit_slow(type, origin, b, value, now, version);
    }
    __attribute__((noinline)) void emit_slow(EventType type, Origin origin, const Value* b,
                                             Value* value, int64_t now, const Version* version);
    // The write behind apply() and put(): installs `block` if not null
    // (built before the lock, key included), else a value made of
    // (data, vlen) under the lock, in place when it can.
    struct Incoming {
        Value* block;
        const void* data;
        size_t vlen;
        uint64_t vhash;
    };
    Applied write(const void* key, size_t klen, const Incoming& in, Version version,
                  int64_t expires_ms, Origin origin, bool only_if_present, int64_t now_ms,
                  Value** keep);
    bool expired_at_read(int64_t expires_ms) const;
    __attribute__((noinline)) void expire_now(Shard& s, uint32_t i);

    // When an entry's expiry is this TTL after its version's time, the
    // block does not keep it (entry.h): the default TTL and the tombstones'.
    int64_t expires_of(const Value* b) const;

    std::string name_;
    Limits limits_;
    const Clock& clock_;
    uint64_t seed_;
    int64_t ttl_live_, ttl_tomb_;  // entry::Ttls
    Slab* slab_;  // entry blocks; shared with the values readers hold
    size_t shard_count_;
    unsigned shard_bits_;
    std::unique_ptr<Shard[]> shards_;
    std::atomic<int64_t> entries_{0};
    std::atomic<int64_t> bytes_{0};
    std::atomic<uint64_t> evict_cursor_{0};
    ChangeListener* listener_ = nullptr;
    std::atomic<bool> events_{false};
    std::atomic<int64_t> window_ms_{0};
    // Writers' node ids, so that an entry holds an 11-bit index (entry.h).
    struct Writers;
    std::unique_ptr<Writers> writers_;
};

}  // namespace mccache::store
