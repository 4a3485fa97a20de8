// A read for loaders (src/node/loads.cc): the value with the version and
// expiry that decide whether it is fresh, due for a refresh, or stale.
#include "store/shard.h"

namespace mccache::store {

using namespace entry;

Value* Store::lookup(const void* key, size_t klen, Version* version, int64_t* expires_ms, bool count) {
    uint64_t h0 = hash_key(key, klen);
    Shard& s = shard_for(h0);
    uint64_t tag = tag_of(h0, seed_);
    Guard g(s.lock);
    uint32_t i = s.find(tag, key, klen);
    Block* b = i == kNil ? nullptr : s.at(i);
    if (!b || is_tomb(b) || expired_at_read(expires_of(b))) {
        if (count) s.misses.add();
        if (b && !is_tomb(b)) expire_now(s, i);
        return nullptr;
    }
    if (count) {
        s.hits.add();
        count_lookup(b);
        b->t_lookup = TimeCodec::enc_lookup(clock_.coarse_ms(), hlc(b));
        s.record_read(i, tag);
    }
    *version = version_of(b);
    *expires_ms = expires_of(b);
    return value_ref(b);
}

}  // namespace mccache::store
