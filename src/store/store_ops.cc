// Reads and writes of single keys.
#include <cstring>

#include "store/shard.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mccache::store {

using namespace entry;

// Values up to this size are built (or overwritten) under the shard lock by
// put(); bigger ones are copied and allocated before it is taken.
constexpr size_t kBuildUnderLock = 1024;

// ---- reads ----

Value* Store::get(const void* key, size_t klen) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t tag = tag_of(h0, seed_);
    Value* out = nullptr;
    {
        Guard g(s.lock);
        uint32_t i = s.find(tag, key, klen);
        Block* b = i == kNil ? nullptr : s.at(i);
        if (__builtin_expect(b && !is_tomb(b) &&
                                 !((b->lf & kExpMask) && expired_at_read(expires_of(b))),
                             1)) {
            s.hits.add();
            count_lookup(b);
            b->t_lookup = TimeCodec::enc_lookup(clock_.coarse_ms(), hlc(b));
            out = value_ref(b);
            s.record_read(i, tag);
        } else {
            s.misses.add();
            if (b && !is_tomb(b)) expire_now(s, i);  // expired but not yet swept
        }
    }
    return out;
}

void Store::expire_now(Shard& s, uint32_t i) {
    // Called with the shard lock held, off the hit path: remove an entry
    // that a read found expired, rather than serve it.
    Block* b = s.at(i);
    emit(EventType::Expire, Origin::Local, b, b, clock_.now_ms());
    s.expirations.add();
    s.drain_reads();
    drop(s, i);
    value_unref(b);
}

int Store::get_copy(const void* key, size_t klen, void* buf, size_t* len) {
    constexpr size_t kCopyUnderLock = 4096;
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t tag = tag_of(h0, seed_);
    Value* big = nullptr;
    {
        Guard g(s.lock);
        uint32_t i = s.find(tag, key, klen);
        Block* b = i == kNil ? nullptr : s.at(i);
        if (!b || is_tomb(b) || expired_at_read(expires_of(b))) {
            s.misses.add();
            return MCCACHE_ENOTFOUND;
        }
        size_t n = b->len;
        if (n > *len) {
            *len = n;
            return MCCACHE_EBUFS;
        }
        s.hits.add();
        count_lookup(b);
        b->t_lookup = TimeCodec::enc_lookup(clock_.coarse_ms(), hlc(b));
        s.record_read(i, tag);
        *len = n;
        if (n <= kCopyUnderLock) {
            if (n) std::memcpy(buf, b->bytes(), n);
            return MCCACHE_OK;
        }
        big = value_ref(b);
    }
    std::memcpy(buf, big->bytes(), big->len);
    value_unref(big);
    return MCCACHE_OK;
}

bool Store::contains(const void* key, size_t klen) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    Guard g(s.lock);
    uint32_t i = s.find(tag_of(h0, seed_), key, klen);
    if (i == kNil) return false;
    const Block* b = s.at(i);
    return !is_tomb(b) && !expired_at_read(expires_of(b));
}

bool Store::metadata(const void* key, size_t klen, Metadata* out) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    Guard g(s.lock);
    uint32_t i = s.find(tag_of(h0, seed_), key, klen);
    if (i == kNil) return false;
    const Block* b = s.at(i);
    if (is_tomb(b) || expired_at_read(expires_of(b))) return false;
    *out = Metadata{version_of(b), created(b),  updated(b), expires_of(b),
                    last_lookup(b), lookups(b), klen,       b->len,
                    charge_of(b),   checksum_of(b, h0)};
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
// Whether a block can take `need` bytes in place: the same slab class, or
// the same malloc chunk.
inline bool same_footprint(const Block* b, size_t need) {
    if (b->kw & kInSlab) return Slab::fits(need) && Slab::class_size(need) == Slab::class_size(block_size(b));
    return !Slab::fits(need) && Store::malloc_chunk(need) == heap_bytes(b);
}
}  // namespace

// Inlined into both callers: the call would pass nine arguments.
inline __attribute__((always_inline)) Applied Store::write(const void* key, size_t klen,
                                                         const Incoming& in, Version version,
                                                         int64_t expires_ms, Origin origin,
                                                         bool only_if_present, int64_t now_ms,
                                                         Value** keep) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t tag = tag_of(h0, seed_);
    size_t bucket = static_cast<size_t>(h0 >> 52);
    uint64_t sum = entry_checksum(h0, version, in.vhash);
    Block* fresh = in.block;  // built before the lock (times in its trailer); owned until installed
    Block* old = nullptr;     // a reference dropped once the lock is released
    Applied result;
    {
        Guard g(s.lock);
        if (s.nreads) s.drain_reads();
        if (version <= s.floor) {
            s.stale.add();
            old = fresh;
            result = Applied::Stale;
        } else {
            int64_t now = now_ms >= 0 ? now_ms : clock_.coarse_ms();
            uint32_t i = s.find(tag, key, klen);
            Block* b = i == kNil ? nullptr : s.at(i);
            bool tomb = b && is_tomb(b);
            int64_t b_expires = b ? expires_of(b) : -1;
            bool live = b && !tomb && !(b_expires >= 0 && now >= b_expires);
            if (b && hlc(b) >= version.hlc && version_of(b) >= version) {
                s.stale.add();
                old = fresh;
                result = Applied::Stale;
            } else if (!b && origin != Origin::Local && s.below_horizon(bucket, version)) {
                s.refused_horizon.add();
                old = fresh;
                result = Applied::Stale;
            } else if (only_if_present && !live) {
                old = fresh;
                result = Applied::Absent;
            } else {
                uint32_t writer = writer_index(version.node);
                uint64_t old_sum = 0;
                Held was{0, false};
                int64_t created_ms = now, lookup_ms = 0;
                uint32_t lookups_kept = 0;
                if (b) {
                    old_sum = checksum_of(b, h0);
                    was = held(b);
                    if (live) {
                        created_ms = created(b);
                        lookup_ms = last_lookup(b);
                        lookups_kept = lookups(b);
                    } else if (!tomb) {
                        // Reported first; the listener may keep it.
                        emit(EventType::Expire, Origin::Local, b, b, now);
                        s.expirations.add();
                    }
                }
                Meta m = Meta::make(version.hlc, expires_ms, created_ms, now, in.vlen, in.vhash, writer,
                                    version.node, false, Ttls{ttl_live_, ttl_tomb_}, fresh != nullptr);
                // The value is settled before anything changes, so that a
                // failed allocation leaves the entry as it was.
                bool in_place = false;
                if (!fresh) {
                    in_place = live && same_footprint(b, m.block_size(in.vlen, klen)) &&
                               b->refs.load(std::memory_order_acquire) == 1;
                    if (!in_place)
                        fresh = make_entry_block(*slab_, key, klen, in.data, in.vlen, m, writer);
                } else {
                    write_meta(fresh, m, writer);
                }
                Block* nb = in_place ? b : fresh;
                // A tombstone or an expired entry leaves its list and comes
                // back as a new entry; a live one keeps its place.
                if (b && !live) s.on_remove(i);
                if (in_place) {
                    // Key first: the value may grow over where it was.
                    std::memmove(nb->bytes() + in.vlen, entry::key(nb), klen);
                    if (in.vlen && in.data) std::memcpy(nb->bytes(), in.data, in.vlen);
                    nb->len = static_cast<uint32_t>(in.vlen);
                    write_meta(nb, m, writer);
                } else if (b) {
                    // The new block takes the old one's slot and list places.
                    std::memcpy(nb->links, b->links, sizeof nb->links);
                    nb->lf = (nb->lf & ~kSegMask) | (b->lf & kSegMask);
                    s.replace(i, nb);
                    old = b;
                }
                nb->lf = (nb->lf & ~kLookupMask) | lookups_kept;
                nb->t_lookup = TimeCodec::enc_lookup(lookup_ms, version.hlc);
                if (!b) {
                    if (!s.insert(tag, nb, &i)) {
                        value_unref(nb);
                        throw std::bad_alloc();
                    }
                    s.bucket_link(i, bucket);
                }
                fresh = nullptr;
                Held now_held = held(nb);
                count(s, b ? &was : nullptr, old_sum, &now_held, sum, bucket);
                if (live) {
                    s.on_update(i, tag, static_cast<int64_t>(now_held.charge) - static_cast<int64_t>(was.charge));
                    s.updates.add();
                    result = Applied::Updated;
                    emit(EventType::Update, origin, nb, nb, now);
                } else {
                    s.on_insert(i, tag);
                    s.inserts.add();
                    result = Applied::Inserted;
                    emit(EventType::Insert, origin, nb, nb, now);
                }
                // Taken under the lock: a held value is never overwritten.
                if (keep) *keep = value_ref(nb);
                if (expires_ms >= 0 && expires_ms < s.min_expiry) s.min_expiry = expires_ms;
                evict(s, i);
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
    uint64_t vhash = value_hash(value->bytes(), value->len);
    size_t vlen = value->len;
    if (vlen <= kBuildUnderLock) {
        // Copied into a block sized under the lock, where its times are known.
        Applied r;
        try {
            r = write(key, klen, Incoming{nullptr, value->bytes(), vlen, vhash}, version, expires_ms,
                      origin, only_if_present, now_ms, nullptr);
        } catch (...) {
            value_unref(value);
            throw;
        }
        value_unref(value);
        return r;
    }
    uint32_t writer = writer_index(version.node);
    Meta m = Meta::make(version.hlc, expires_ms, 0, 0, vlen, vhash, writer, version.node, false,
                        Ttls{ttl_live_, ttl_tomb_}, true);
    Block* b = adopt_value(*slab_, value, key, klen, m, writer);
    return write(key, klen, Incoming{b, nullptr, b->len, vhash}, version, expires_ms, origin,
                 only_if_present, now_ms, nullptr);
}

Applied Store::put(const void* key, size_t klen, const void* data, size_t vlen, Version version,
                   int64_t expires_ms, int64_t now_ms, Value** keep) {
    uint64_t vhash = value_hash(data, vlen);
    if (vlen > kBuildUnderLock) {
        // Too big to copy under the lock: the block is built before it.
        uint32_t writer = writer_index(version.node);
        Meta m = Meta::make(version.hlc, expires_ms, 0, 0, vlen, vhash, writer, version.node, false,
                            Ttls{ttl_live_, ttl_tomb_}, true);
        Block* b = make_entry_block(*slab_, key, klen, data, vlen, m, writer);
        return write(key, klen, Incoming{b, nullptr, vlen, vhash}, version, expires_ms,
                     Origin::Local, false, now_ms, keep);
    }
    return write(key, klen, Incoming{nullptr, data, vlen, vhash}, version, expires_ms,
                 Origin::Local, false, now_ms, keep);
}

}  // namespace mccache::store
