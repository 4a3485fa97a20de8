// The hot path: keys and small values cross through the calling thread's
// direct buffer (Scratch.java), so a get or put is one JNI transition and no
// JNI array call. Java guarantees that klen, vlen and cap fit the buffer.
#include <climits>

#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::from_handle;
using mcjni::throw_error;

namespace {

mccache_cache_t* cache_of(jlong h) { return from_handle<mccache_cache_t>(h); }
void* buffer_at(jlong address) { return reinterpret_cast<void*>(static_cast<intptr_t>(address)); }

}  // namespace

extern "C" {

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_address(JNIEnv* env, jclass, jobject direct) {
    void* p = env->GetDirectBufferAddress(direct);
    if (!p) mcjni::throw_message(env, MCCACHE_EINVAL, "not a direct buffer");
    return static_cast<jlong>(reinterpret_cast<intptr_t>(p));
}

JNIEXPORT jint JNICALL Java_io_libmccache_Native_getDirect(JNIEnv* env, jclass, jlong cache,
                                                           jobject scratch, jbyteArray dst,
                                                           jlong address, jint klen, jint cap) {
    void* buf = buffer_at(address);
    mccache_value_t* value = nullptr;
    int rc = mccache_get(cache_of(cache), buf, static_cast<size_t>(klen), &value);
    if (rc != MCCACHE_OK) {
        if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
        return -1;
    }
    size_t len = 0;
    const void* data = mccache_value_data(value, &len);
    if (len <= static_cast<size_t>(cap)) {
        std::memcpy(buf, data, len);
        mccache_value_free(value);
        return static_cast<jint>(len);
    }
    // Too large for the buffer: the rare path may use JNI array calls.
    jint result = static_cast<jint>(len);
    if (len > static_cast<size_t>(INT_MAX)) {
        mcjni::throw_message(env, MCCACHE_ETOOBIG, "a value over 2 GiB does not fit a Java array");
        result = -1;
    } else if (dst) {
        if (len <= static_cast<size_t>(env->GetArrayLength(dst)))
            env->SetByteArrayRegion(dst, 0, result, static_cast<const jbyte*>(data));
    } else if (jbyteArray big = mcjni::new_bytes(env, data, len)) {
        env->SetObjectField(scratch, mcjni::g_refs.scratch_big, big);
        env->DeleteLocalRef(big);
    }
    mccache_value_free(value);
    return result;
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_putDirect(JNIEnv* env, jclass, jlong cache,
                                                           jlong address, jint klen, jint vlen,
                                                           jlong ttl_ms) {
    const char* buf = static_cast<const char*>(buffer_at(address));
    int rc = mccache_put(cache_of(cache), buf, static_cast<size_t>(klen), buf + klen,
                         static_cast<size_t>(vlen), ttl_ms);
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT jboolean JNICALL Java_io_libmccache_Native_deleteDirect(JNIEnv* env, jclass, jlong cache,
                                                                  jlong address, jint klen) {
    int rc = mccache_delete(cache_of(cache), buffer_at(address), static_cast<size_t>(klen));
    if (rc == MCCACHE_OK) return JNI_TRUE;
    if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
    return JNI_FALSE;
}

JNIEXPORT jboolean JNICALL Java_io_libmccache_Native_containsDirect(JNIEnv* env, jclass,
                                                                    jlong cache, jlong address,
                                                                    jint klen) {
    int rc = mccache_contains(cache_of(cache), buffer_at(address), static_cast<size_t>(klen));
    if (rc == MCCACHE_OK) return JNI_TRUE;
    if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
    return JNI_FALSE;
}

}  // extern "C"
