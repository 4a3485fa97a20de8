// Calls that take or return many entries: batches and iteration.
#include <vector>

#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::from_handle;
using mcjni::throw_error;
using mcjni::throw_message;

namespace {

// The elements of a byte[][] copied into one buffer, with the pointer and
// length arrays the batch calls take.
class ByteMatrix {
public:
    ByteMatrix(JNIEnv* env, jobjectArray rows, const char* what) {
        jsize n = env->GetArrayLength(rows);
        std::vector<size_t> offsets(static_cast<size_t>(n));
        lens_.resize(static_cast<size_t>(n));
        buf_.resize(1);  // never empty: an empty row still gets a non-NULL pointer
        for (jsize i = 0; i < n; ++i) {
            auto row = static_cast<jbyteArray>(env->GetObjectArrayElement(rows, i));
            if (env->ExceptionCheck()) return;
            if (!row) {
                std::string msg = std::string(what) + "[" + std::to_string(i) + "] is null";
                throw_message(env, MCCACHE_EINVAL, msg.c_str());
                return;
            }
            size_t len = static_cast<size_t>(env->GetArrayLength(row));
            offsets[i] = buf_.size();
            lens_[i] = len;
            buf_.resize(buf_.size() + len);
            env->GetByteArrayRegion(row, 0, static_cast<jsize>(len),
                                    reinterpret_cast<jbyte*>(buf_.data() + offsets[i]));
            env->DeleteLocalRef(row);
        }
        ptrs_.resize(static_cast<size_t>(n));
        for (size_t i = 0; i < ptrs_.size(); ++i) ptrs_[i] = buf_.data() + offsets[i];
        ok_ = true;
    }

    bool ok() const { return ok_; }
    size_t size() const { return ptrs_.size(); }
    const void* const* ptrs() const { return ptrs_.data(); }
    const size_t* lens() const { return lens_.data(); }

private:
    std::vector<char> buf_;
    std::vector<const void*> ptrs_;
    std::vector<size_t> lens_;
    bool ok_ = false;
};

// Owns the references a batch get returns.
struct Values {
    std::vector<mccache_value_t*> v;
    explicit Values(size_t n) : v(n, nullptr) {}
    ~Values() {
        for (mccache_value_t* x : v) mccache_value_free(x);
    }
};

struct Iter {
    mccache_iter_t* it = nullptr;
    ~Iter() { mccache_iter_free(it); }
};

}  // namespace

extern "C" {

JNIEXPORT jobjectArray JNICALL Java_io_libmccache_Native_getBatch(JNIEnv* env, jclass, jlong cache,
                                                                  jobjectArray keys) {
    ByteMatrix k(env, keys, "keys");
    if (!k.ok()) return nullptr;
    Values values(k.size());
    int rc = mccache_get_batch(from_handle<mccache_cache_t>(cache), k.size(), k.ptrs(), k.lens(),
                               values.v.data(), nullptr);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    jobjectArray out =
        env->NewObjectArray(static_cast<jsize>(k.size()), mcjni::g_refs.byte_array, nullptr);
    if (!out) return nullptr;
    for (size_t i = 0; i < k.size(); ++i) {
        if (!values.v[i]) continue;
        size_t len = 0;
        const void* data = mccache_value_data(values.v[i], &len);
        jbyteArray row = mcjni::new_bytes(env, data, len);
        if (!row) return nullptr;
        env->SetObjectArrayElement(out, static_cast<jsize>(i), row);
        env->DeleteLocalRef(row);
    }
    return out;
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_putBatch(JNIEnv* env, jclass, jlong cache,
                                                          jobjectArray keys, jobjectArray values,
                                                          jlong ttl_ms) {
    ByteMatrix k(env, keys, "keys");
    if (!k.ok()) return;
    ByteMatrix v(env, values, "values");
    if (!v.ok()) return;
    if (k.size() != v.size()) {
        throw_message(env, MCCACHE_EINVAL, "putBatch: keys and values differ in length");
        return;
    }
    int rc = mccache_put_batch(from_handle<mccache_cache_t>(cache), k.size(), k.ptrs(), k.lens(),
                               v.ptrs(), v.lens(), ttl_ms);
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

// One Java call per entry, with no native lock held: the action may call
// back into the cache.
JNIEXPORT void JNICALL Java_io_libmccache_Native_forEach(JNIEnv* env, jclass, jlong cache,
                                                         jobject action) {
    Iter iter;
    int rc = mccache_iter_new(from_handle<mccache_cache_t>(cache), &iter.it);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return;
    }
    for (;;) {
        const void* key = nullptr;
        size_t klen = 0;
        mccache_value_t* value = nullptr;
        rc = mccache_iter_next(iter.it, &key, &klen, &value);
        if (rc == MCCACHE_ENOTFOUND) return;
        if (rc != MCCACHE_OK) {
            throw_error(env, rc);
            return;
        }
        size_t vlen = 0;
        const void* vdata = mccache_value_data(value, &vlen);
        jbyteArray k = mcjni::new_bytes(env, key, klen);
        jbyteArray v = k ? mcjni::new_bytes(env, vdata, vlen) : nullptr;
        mccache_value_free(value);
        if (v) env->CallVoidMethod(action, mcjni::g_refs.bi_consumer_accept, k, v);
        if (k) env->DeleteLocalRef(k);
        if (v) env->DeleteLocalRef(v);
        if (env->ExceptionCheck()) return;
    }
}

}  // extern "C"
