// A stored value: immutable bytes behind a reference count, so a reader that
// took a reference keeps valid bytes however the entry changes after.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

// The public opaque type is this struct: mccache_value_t* points at one.
struct mccache_value_s {
    std::atomic<uint32_t> refs;
    uint32_t reserved;
    size_t len;
    uint64_t hash;  // XXH3-64 (seed 0) of the bytes: part of checksums and digests

    unsigned char* bytes() { return reinterpret_cast<unsigned char*>(this + 1); }
    const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(this + 1); }
};

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
    v->reserved = 0;
    v->len = len;
    if (len) std::memcpy(v->bytes(), data, len);
    v->hash = value_hash(data, len);
    return v;
}

inline Value* value_ref(Value* v) {
    if (v) v->refs.fetch_add(1, std::memory_order_relaxed);
    return v;
}

inline void value_unref(Value* v) {
    if (v && v->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        v->~Value();
        std::free(v);
    }
}

}  // namespace mccache::store
