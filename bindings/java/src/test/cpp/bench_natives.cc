// The natives of BenchNatives (test sources): BindingBench's baselines, in a
// library of their own so that libmccache_jni.so carries no benchmark code.
// They time the raw C calls in C, an empty JNI call, and the two ways of
// moving bytes across JNI. Self-contained: the production glue's helpers
// are hidden in libmccache_jni.so, so this file does its own copies.
#include <jni.h>
#include <mccache.h>
#include <time.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "io_libmccache_BenchNatives.h"

namespace {

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

mccache_cache_t* cache_of(jlong handle) {
    return reinterpret_cast<mccache_cache_t*>(static_cast<intptr_t>(handle));
}

// The keys are copied out of Java before the clock starts, so that the C
// loops time the library alone.
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

JNIEXPORT void JNICALL Java_io_libmccache_BenchNatives_noop(JNIEnv*, jclass) {}

JNIEXPORT void JNICALL Java_io_libmccache_BenchNatives_noopObjects(JNIEnv*, jclass, jobject, jobject) {}

JNIEXPORT jlong JNICALL Java_io_libmccache_BenchNatives_cGet(JNIEnv* env, jclass, jlong cache, jobjectArray keys,
                                                             jint iterations) {
    std::vector<std::string> k;
    if (!copy_rows(env, keys, &k)) return -1;
    mccache_cache_t* c = cache_of(cache);
    size_t sink = 0;
    int64_t start = now_ns();
    for (jint it = 0; it < iterations; ++it) {
        for (const std::string& key : k) {
            mccache_value_t* v = nullptr;
            if (mccache_get(c, key.data(), key.size(), &v) != MCCACHE_OK) return -1;
            size_t len = 0;
            mccache_value_data(v, &len);
            sink += len;
            mccache_value_free(v);
        }
    }
    int64_t elapsed = now_ns() - start;
    // Uses the lengths, so the compiler cannot drop the reads.
    return sink ? elapsed : -1;
}

JNIEXPORT jlong JNICALL Java_io_libmccache_BenchNatives_cPut(JNIEnv* env, jclass, jlong cache, jobjectArray keys,
                                                             jbyteArray value, jint iterations) {
    std::vector<std::string> k;
    if (!copy_rows(env, keys, &k)) return -1;
    std::string v(static_cast<size_t>(env->GetArrayLength(value)), '\0');
    env->GetByteArrayRegion(value, 0, static_cast<jsize>(v.size()), reinterpret_cast<jbyte*>(v.data()));
    mccache_cache_t* c = cache_of(cache);
    int64_t start = now_ns();
    for (jint it = 0; it < iterations; ++it) {
        for (const std::string& key : k) {
            if (mccache_put(c, key.data(), key.size(), v.data(), v.size(), MCCACHE_TTL_NEVER) != MCCACHE_OK)
                return -1;
        }
    }
    return now_ns() - start;
}

// The production glue's copy of a key (GetByteArrayRegion into a stack buffer).
JNIEXPORT jint JNICALL Java_io_libmccache_BenchNatives_keyRegionOnce(JNIEnv* env, jclass, jbyteArray key) {
    jbyte buf[256];
    jsize n = env->GetArrayLength(key);
    if (n <= 0 || n > static_cast<jsize>(sizeof buf)) return -1;
    env->GetByteArrayRegion(key, 0, n, buf);
    return buf[0];
}

JNIEXPORT jint JNICALL Java_io_libmccache_BenchNatives_keyCriticalOnce(JNIEnv* env, jclass, jbyteArray key) {
    jbyte buf[256];
    jsize n = env->GetArrayLength(key);
    if (n <= 0 || n > static_cast<jsize>(sizeof buf)) return -1;
    void* p = env->GetPrimitiveArrayCritical(key, nullptr);
    if (!p) return -1;
    std::memcpy(buf, p, static_cast<size_t>(n));
    env->ReleasePrimitiveArrayCritical(key, p, JNI_ABORT);
    return buf[0];
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_BenchNatives_valueRegionOnce(JNIEnv* env, jclass, jint len) {
    if (len < 0 || len > static_cast<jint>(sizeof kFill)) return nullptr;
    jbyteArray a = env->NewByteArray(len);
    if (a && len) env->SetByteArrayRegion(a, 0, len, kFill);
    return a;
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_BenchNatives_valueCriticalOnce(JNIEnv* env, jclass, jint len) {
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
