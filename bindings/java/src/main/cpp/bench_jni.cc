// Baselines for BindingBench (not API): the raw C calls timed in C, an empty
// JNI call, and the two ways of moving bytes across JNI.
#include <time.h>

#include <string>
#include <vector>

#include "io_libmccache_Native.h"
#include "jni_util.h"

namespace {

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool copy_rows(JNIEnv* env, jobjectArray rows, std::vector<std::string>* out) {
    jsize n = env->GetArrayLength(rows);
    for (jsize i = 0; i < n; ++i) {
        auto row = static_cast<jbyteArray>(env->GetObjectArrayElement(rows, i));
        if (!row) return false;
        std::string s(static_cast<size_t>(env->GetArrayLength(row)), '\0');
        env->GetByteArrayRegion(row, 0, static_cast<jsize>(s.size()), reinterpret_cast<jbyte*>(s.data()));
        env->DeleteLocalRef(row);
        out->push_back(std::move(s));
    }
    return true;
}

const jbyte kFill[4096] = {1};

}  // namespace

extern "C" {

JNIEXPORT void JNICALL Java_io_libmccache_Native_noop(JNIEnv*, jclass) {}

JNIEXPORT void JNICALL Java_io_libmccache_Native_noopObjects(JNIEnv*, jclass, jobject, jobject) {}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_benchCGet(JNIEnv* env, jclass, jlong cache,
                                                            jobjectArray keys, jint iterations) {
    std::vector<std::string> k;
    if (!copy_rows(env, keys, &k)) return -1;
    auto* c = mcjni::from_handle<mccache_cache_t>(cache);
    size_t sink = 0;
    int64_t start = now_ns();
    for (jint it = 0; it < iterations; ++it) {
        for (const std::string& key : k) {
            mccache_value_t* v = nullptr;
            int rc = mccache_get(c, key.data(), key.size(), &v);
            if (rc != MCCACHE_OK) {
                mcjni::throw_error(env, rc);
                return -1;
            }
            size_t len = 0;
            mccache_value_data(v, &len);
            sink += len;
            mccache_value_free(v);
        }
    }
    int64_t elapsed = now_ns() - start;
    return sink ? elapsed : -1;
}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_benchCPut(JNIEnv* env, jclass, jlong cache,
                                                            jobjectArray keys, jbyteArray value,
                                                            jint iterations) {
    std::vector<std::string> k;
    if (!copy_rows(env, keys, &k)) return -1;
    mcjni::ValueBytes v(env, value);
    if (!v.ok()) return -1;
    auto* c = mcjni::from_handle<mccache_cache_t>(cache);
    int64_t start = now_ns();
    for (jint it = 0; it < iterations; ++it) {
        for (const std::string& key : k) {
            int rc = mccache_put(c, key.data(), key.size(), v.data(), v.size(), MCCACHE_TTL_NEVER);
            if (rc != MCCACHE_OK) {
                mcjni::throw_error(env, rc);
                return -1;
            }
        }
    }
    return now_ns() - start;
}

JNIEXPORT jint JNICALL Java_io_libmccache_Native_keyRegionOnce(JNIEnv* env, jclass, jbyteArray key) {
    mcjni::KeyBytes k(env, key);
    return k.ok() && k.size() ? static_cast<const jbyte*>(k.data())[0] : -1;
}

JNIEXPORT jint JNICALL Java_io_libmccache_Native_keyCriticalOnce(JNIEnv* env, jclass, jbyteArray key) {
    jbyte buf[256];
    jsize n = env->GetArrayLength(key);
    if (n <= 0 || n > static_cast<jsize>(sizeof buf)) return -1;
    void* p = env->GetPrimitiveArrayCritical(key, nullptr);
    if (!p) return -1;
    std::memcpy(buf, p, static_cast<size_t>(n));
    env->ReleasePrimitiveArrayCritical(key, p, JNI_ABORT);
    return buf[0];
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_valueRegionOnce(JNIEnv* env, jclass, jint len) {
    if (len < 0 || len > static_cast<jint>(sizeof kFill)) return nullptr;
    return mcjni::new_bytes(env, kFill, static_cast<size_t>(len));
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_valueCriticalOnce(JNIEnv* env, jclass,
                                                                         jint len) {
    if (len < 0 || len > static_cast<jint>(sizeof kFill)) return nullptr;
    jbyteArray a = env->NewByteArray(len);
    if (!a) return nullptr;
    void* p = env->GetPrimitiveArrayCritical(a, nullptr);
    if (!p) return nullptr;
    std::memcpy(p, kFill, static_cast<size_t>(len));
    env->ReleasePrimitiveArrayCritical(a, p, 0);
    return a;
}

}  // extern "C"
