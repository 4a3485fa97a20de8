// A stored value: immutable bytes behind a reference count, so a reader that
// took a reference keeps valid bytes however the entry changes after.
//
// The same block also carries the store's entry: the key and the entry's
// metadata live in it (store/entry.h), so an entry is one allocation. A value
// built outside the store (value_new, malloc) is a bare block whose entry
// fields are unused; the store copies it into an entry block, or adopts it
// by appending the key when it is too big for the slab. Readers only see
// refs, len and the bytes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "store/slab.h"

// The public opaque type is this struct: mccache_value_t* points at one.
// 40 bytes, so that with a 16-byte key and a 100-byte value an entry is one
// 156-byte slab block (store/slab.h). Blocks are 4-byte aligned and so are
// the bytes (mccache.h promises no alignment).
struct mccache_value_s {
    std::atomic<uint32_t> refs;
    uint32_t len;          // value bytes, at bytes()
    uint32_t kw;           // key length (21 bits) | writer index (8 bits) | 3 flags: store/entry.h
    uint32_t lf;           // lookups (25 bits, saturating) | 7 flags: store/entry.h
    uint32_t hlc_lo, hlc_hi;
    uint32_t t_lookup;     // store/entry.h: time codec
    unsigned char links[12];  // four 24-bit slot indices: policy list, bucket list

    unsigned char* bytes() { return reinterpret_cast<unsigned char*>(this + 1); }
    const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(this + 1); }
};
static_assert(sizeof(mccache_value_s) == 40, "the entry header is sized for its slab class");

namespace mccache::store {

using Value = mccache_value_s;

uint64_t value_hash(const void* data, size_t len);
uint64_t value_hash_long(const void* data, size_t len);  // value_hash.cc: the vector-dispatched XXH3

// Returns nullptr when out of memory; the new value holds one reference.
inline Value* value_new(const void* data, size_t len) {
    void* mem = std::malloc(sizeof(Value) + (len ? len : 1));
    if (!mem) return nullptr;
    Value* v = new (mem) Value;
    v->refs.store(1, std::memory_order_relaxed);
    v->len = static_cast<uint32_t>(len);
    v->kw = 0;
    v->lf = 0;
    if (len) std::memcpy(v->bytes(), data, len);
    return v;
}

inline Value* value_ref(Value* v) {
    if (v) v->refs.fetch_add(1, std::memory_order_relaxed);
    return v;
}

// In kw: the block came from the store's slab, not from malloc.
constexpr uint32_t kValueInSlab = 1u << 29;

inline void value_unref(Value* v) {
    if (v && v->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        bool slab = v->kw & kValueInSlab;
        v->~Value();
        if (slab) Slab::free(v); else std::free(v);
    }
}

}  // namespace mccache::store
