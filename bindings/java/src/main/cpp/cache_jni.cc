// Single-entry calls on a cache. Keys and values are copied out of Java
// before the C call and copied into a new array after it: nothing is pinned
// while the library runs.
#include <climits>

#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::from_handle;
using mcjni::KeyBytes;
using mcjni::throw_error;

namespace {

mccache_cache_t* cache_of(jlong h) { return from_handle<mccache_cache_t>(h); }

// Drops a value reference on every path.
struct ValueRef {
    mccache_value_t* v = nullptr;
    ~ValueRef() { mccache_value_free(v); }
};

}  // namespace

extern "C" {

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_get(JNIEnv* env, jclass, jlong cache,
                                                           jbyteArray key) {
    KeyBytes k(env, key);
    if (!k.ok()) return nullptr;
    ValueRef value;
    int rc = mccache_get(cache_of(cache), k.data(), k.size(), &value.v);
    if (rc != MCCACHE_OK) {
        if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
        return nullptr;
    }
    size_t len = 0;
    const void* data = mccache_value_data(value.v, &len);
    return mcjni::new_bytes(env, data, len);
}

JNIEXPORT jint JNICALL Java_io_libmccache_Native_getInto(JNIEnv* env, jclass, jlong cache,
                                                         jbyteArray key, jbyteArray dst) {
    KeyBytes k(env, key);
    if (!k.ok()) return -1;
    ValueRef value;
    int rc = mccache_get(cache_of(cache), k.data(), k.size(), &value.v);
    if (rc != MCCACHE_OK) {
        if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
        return -1;
    }
    size_t len = 0;
    const void* data = mccache_value_data(value.v, &len);
    if (len > static_cast<size_t>(INT_MAX)) {
        mcjni::throw_message(env, MCCACHE_ETOOBIG, "a value over 2 GiB does not fit a Java array");
        return -1;
    }
    if (len <= static_cast<size_t>(env->GetArrayLength(dst)))
        env->SetByteArrayRegion(dst, 0, static_cast<jsize>(len), static_cast<const jbyte*>(data));
    return static_cast<jint>(len);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_put(JNIEnv* env, jclass, jlong cache,
                                                     jbyteArray key, jbyteArray value, jlong ttl_ms) {
    KeyBytes k(env, key);
    if (!k.ok()) return;
    mcjni::ValueBytes v(env, value);
    if (!v.ok()) return;
    int rc = mccache_put(cache_of(cache), k.data(), k.size(), v.data(), v.size(), ttl_ms);
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT jboolean JNICALL Java_io_libmccache_Native_delete(JNIEnv* env, jclass, jlong cache,
                                                            jbyteArray key) {
    KeyBytes k(env, key);
    if (!k.ok()) return JNI_FALSE;
    int rc = mccache_delete(cache_of(cache), k.data(), k.size());
    if (rc == MCCACHE_OK) return JNI_TRUE;
    if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
    return JNI_FALSE;
}

JNIEXPORT jboolean JNICALL Java_io_libmccache_Native_contains(JNIEnv* env, jclass, jlong cache,
                                                              jbyteArray key) {
    KeyBytes k(env, key);
    if (!k.ok()) return JNI_FALSE;
    int rc = mccache_contains(cache_of(cache), k.data(), k.size());
    if (rc == MCCACHE_OK) return JNI_TRUE;
    if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
    return JNI_FALSE;
}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_len(JNIEnv* env, jclass, jlong cache) {
    size_t n = 0;
    int rc = mccache_len(cache_of(cache), &n);
    if (rc != MCCACHE_OK) throw_error(env, rc);
    return static_cast<jlong>(n);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_clear(JNIEnv* env, jclass, jlong cache) {
    int rc = mccache_clear(cache_of(cache));
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT jboolean JNICALL Java_io_libmccache_Native_metadata(JNIEnv* env, jclass, jlong cache,
                                                              jbyteArray key, jlongArray out) {
    KeyBytes k(env, key);
    if (!k.ok()) return JNI_FALSE;
    mccache_metadata_t md{};
    md.struct_size = sizeof md;
    int rc = mccache_metadata(cache_of(cache), k.data(), k.size(), &md);
    if (rc != MCCACHE_OK) {
        if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
        return JNI_FALSE;
    }
    // Metadata.java's component order.
    const jlong fields[] = {
        static_cast<jlong>(md.version_hlc), static_cast<jlong>(md.version_node),
        md.created_ms, md.updated_ms, md.expires_ms, md.last_lookup_ms,
        static_cast<jlong>(md.lookups), static_cast<jlong>(md.key_size),
        static_cast<jlong>(md.value_size), static_cast<jlong>(md.charged_bytes),
        static_cast<jlong>(md.checksum)};
    constexpr jsize kFields = sizeof fields / sizeof fields[0];
    if (env->GetArrayLength(out) != kFields) {
        mcjni::throw_message(env, MCCACHE_EINTERNAL, "metadata: field count differs from Metadata.FIELDS");
        return JNI_FALSE;
    }
    env->SetLongArrayRegion(out, 0, kFields, fields);
    return JNI_TRUE;
}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_checksum(JNIEnv* env, jclass, jlong cache) {
    uint64_t sum = 0;
    int rc = mccache_checksum(cache_of(cache), &sum);
    if (rc != MCCACHE_OK) throw_error(env, rc);
    return static_cast<jlong>(sum);
}

JNIEXPORT jboolean JNICALL Java_io_libmccache_Native_keyChecksum(JNIEnv* env, jclass, jlong cache,
                                                                 jbyteArray key, jlongArray out) {
    KeyBytes k(env, key);
    if (!k.ok()) return JNI_FALSE;
    uint64_t sum = 0;
    int rc = mccache_key_checksum(cache_of(cache), k.data(), k.size(), &sum);
    if (rc != MCCACHE_OK) {
        if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
        return JNI_FALSE;
    }
    jlong v = static_cast<jlong>(sum);
    env->SetLongArrayRegion(out, 0, 1, &v);
    return JNI_TRUE;
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_cacheMetricsJson(JNIEnv* env, jclass,
                                                                        jlong cache) {
    char* json = nullptr;
    int rc = mccache_cache_metrics_json(cache_of(cache), &json);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    return mcjni::take_c_string(env, json);
}

}  // extern "C"
