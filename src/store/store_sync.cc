// Deletes, clears, expiry, and the views the cluster reads: snapshots,
// statistics, anti-entropy buckets.
#include <algorithm>
#include <climits>

#include "store/shard.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mccache::store {

using namespace entry;

Applied Store::remove(const void* key, size_t klen, Version version, Origin origin, bool* was_live) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t tag = tag_of(h0, seed_);
    size_t bucket = static_cast<size_t>(h0 >> 52);
    uint64_t sum = entry_checksum(h0, version, 0);
    uint32_t writer = writer_index(version.node);
    Block* old = nullptr;
    *was_live = false;
    {
        Guard g(s.lock);
        if (s.nreads) s.drain_reads();
        uint32_t i = s.find(tag, key, klen);
        Block* b = i == kNil ? nullptr : s.at(i);
        if (version <= s.floor || (b && version_of(b) >= version)) {
            s.stale.add();
            return Applied::Stale;
        }
        if (!b && origin != Origin::Local && s.below_horizon(bucket, version)) {
            s.refused_horizon.add();
            return Applied::Stale;
        }
        int64_t now = clock_.now_ms();
        // Absolute, from the delete's own time: every member collects the
        // tombstone at the same moment, however late the delete reached it.
        int64_t expires_ms = hlc_ms(version.hlc) + limits_.tombstone_ttl_ms;
        Meta m = Meta::make(version.hlc, expires_ms, now, now, 0, 0, writer, version.node, true,
                            Ttls{ttl_live_, ttl_tomb_});
        Block* t;
        Held was{0, false};
        uint64_t old_sum = 0;
        if (b && is_tomb(b) && m.block_size(0, klen) == block_size(b)) {
            // A newer delete of a tombstone: only its version and times
            // move. Nobody else holds a tombstone's block.
            was = held(b);
            old_sum = checksum_of(b, h0);
            write_meta(b, m, writer);
            t = b;
        } else {
            t = make_entry_block(*slab_, key, klen, nullptr, 0, m, writer);
            if (b) {
                if (!is_tomb(b)) {
                    int64_t exp = expires_of(b);
                    bool live = !(exp >= 0 && now >= exp);
                    if (live) {
                        *was_live = true;
                        s.deletes.add();
                        // The event carries the delete's version.
                        emit(EventType::Delete, origin, b, b, now, &version);
                    } else {
                        s.expirations.add();
                    }
                }
                was = held(b);
                old_sum = checksum_of(b, h0);
                s.on_remove(i);
                std::memcpy(t->links, b->links, sizeof t->links);
                s.replace(i, t);
                old = b;
            } else if (!s.insert(tag, t, &i)) {
                value_unref(t);
                throw std::bad_alloc();
            } else {
                s.bucket_link(i, bucket);
            }
            s.on_tomb(i);
        }
        t->t_lookup = TimeCodec::kNoTime;
        Held now_held = held(t);
        count(s, b ? &was : nullptr, old_sum, &now_held, sum, bucket);
        if (expires_ms < s.min_expiry) s.min_expiry = expires_ms;
        evict(s, i);
    }
    value_unref(old);
    return Applied::Updated;
}

void Store::clear(Version version, Origin origin) {
    int64_t now = clock_.now_ms();
    for (size_t si = 0; si < shard_count_; ++si) {
        Shard& s = shards_[si];
        Guard g(s.lock);
        if (version > s.floor) s.floor = version;
        if (!s.slots) continue;
        s.drain_reads();
        for (uint32_t i = 0; i < s.cap;) {
            if (!s.slots[i]) {
                ++i;
                continue;
            }
            Block* b = s.at(i);
            if (!(version_of(b) < version)) {
                ++i;
                continue;
            }
            if (!is_tomb(b)) {
                int64_t exp = expires_of(b);
                if (!(exp >= 0 && now >= exp)) {
                    emit(EventType::Delete, origin, b, b, now);
                    s.deletes.add();
                } else {
                    s.expirations.add();
                }
            }
            drop(s, i);  // re-examine slot i: the shift may have filled it
            value_unref(b);
        }
    }
}

size_t Store::housekeep() {
    int64_t now = clock_.now_ms();
    size_t removed = 0;
    for (size_t si = 0; si < shard_count_; ++si) {
        Shard& s = shards_[si];
        Guard g(s.lock);
        // Reads recorded since the last write reach the policy now, so a
        // cache that is only read still learns what is popular.
        if (s.nreads) s.drain_reads();
        if (!s.slots || now < s.min_expiry) continue;
        int64_t next = INT64_MAX;
        for (uint32_t i = 0; i < s.cap;) {
            if (!s.slots[i]) {
                ++i;
                continue;
            }
            Block* b = s.at(i);
            int64_t exp = expires_of(b);
            if (exp < 0 || now < exp) {
                if (exp >= 0) next = std::min(next, exp);
                ++i;
                continue;
            }
            if (is_tomb(b)) {
                collect_tombstone(s, b);
            } else {
                emit(EventType::Expire, Origin::Local, b, b, now);
                s.expirations.add();
            }
            drop(s, i);  // re-examine slot i: the shift may have filled it
            value_unref(b);
            ++removed;
        }
        s.min_expiry = next;
    }
    return removed;
}

void Store::snapshot_shard(size_t index,
                           const std::function<void(std::string_view, Value*, int64_t)>& fn) {
    if (index >= shard_count_) return;
    Shard& s = shards_[index];
    struct Item {
        Value* value;
        int64_t expires_ms;
    };
    std::vector<Item> items;
    {
        Guard g(s.lock);
        if (!s.slots) return;
        int64_t now = clock_.now_ms();
        items.reserve(s.live.get());
        for (uint32_t i = 0; i < s.cap; ++i) {
            if (!s.slots[i]) continue;
            Block* b = s.at(i);
            int64_t exp = expires_of(b);
            if (is_tomb(b) || (exp >= 0 && now >= exp)) continue;
            items.push_back(Item{value_ref(b), exp});
        }
    }
    // The key sits in the block, which the reference keeps.
    for (auto& it : items) fn(key_view(it.value), it.value, it.expires_ms);
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
        st.horizon_refused += s.refused_horizon.get();
    }
    st.lookups = st.hits + st.misses;
    return st;
}

// ---- anti-entropy ----

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

void Store::collect_tombstone(Shard& s, const Value* b) const {
    s.tombs_collected.add();
    const std::string_view key = key_view(b);
    s.raise_horizon(static_cast<size_t>(hash_key(key.data(), key.size()) >> 52), version_of(b));
}

Version Store::horizon(size_t bucket) const {
    if (bucket >= kBuckets) return Version{};
    Shard& s = shards_[bucket & (shard_count_ - 1)];
    Guard g(s.lock);
    return s.horizon.empty() ? Version{} : s.horizon[bucket >> shard_bits_];
}

std::vector<Store::KeyVersion> Store::list_bucket(size_t bucket) const {
    std::vector<KeyVersion> out;
    if (bucket >= kBuckets) return out;
    Shard& s = shards_[bucket & (shard_count_ - 1)];
    int64_t now = clock_.now_ms();
    Guard g(s.lock);
    for (uint32_t i = s.bucket_head[bucket >> shard_bits_]; i != kNil; i = link(s.at(i), kBNext)) {
        const Block* b = s.at(i);
        int64_t exp = expires_of(b);
        if (!is_tomb(b) && exp >= 0 && now >= exp) continue;
        out.push_back(KeyVersion{std::string(key_view(b)), version_of(b), is_tomb(b)});
    }
    return out;
}

bool Store::export_entry(const void* key, size_t klen, Exported* out) const {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    Guard g(s.lock);
    uint32_t i = s.find(tag_of(h0, seed_), key, klen);
    if (i == kNil) return false;
    Block* b = s.at(i);
    int64_t exp = expires_of(b);
    if (!is_tomb(b) && exp >= 0 && clock_.now_ms() >= exp) return false;
    *out = Exported{is_tomb(b) ? nullptr : value_ref(b), version_of(b), exp};
    return true;
}

}  // namespace mccache::store
