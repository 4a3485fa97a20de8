// Cache.get(key, mappingFunction): mccache_get_or_load with a Java Function
// as the loader. The loader runs inside the native call, on the calling Java
// thread, so it uses that thread's JNIEnv; an exception it throws is held and
// rethrown once the library has returned (never across the library's frames).
#include <vector>

#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::from_handle;
using mcjni::KeyBytes;
using mcjni::throw_error;

namespace {

struct JavaLoad {
    JNIEnv* env;
    jobject fn;
    jmethodID apply;
    jthrowable thrown = nullptr;  // a global reference, rethrown by the caller
};

// The text other members' waiters read: the exception's toString().
void describe(JNIEnv* env, jthrowable t, mccache_load_t* load) {
    jclass cls = env->GetObjectClass(t);
    jmethodID to_string = env->GetMethodID(cls, "toString", "()Ljava/lang/String;");
    jstring s = to_string ? static_cast<jstring>(env->CallObjectMethod(t, to_string)) : nullptr;
    if (env->ExceptionCheck()) env->ExceptionClear();
    const char* chars = s ? env->GetStringUTFChars(s, nullptr) : nullptr;
    mccache_load_set_error(load, chars ? chars : "the mapping function threw");
    if (chars) env->ReleaseStringUTFChars(s, chars);
}

int java_loader(mccache_load_t* load, const void* key, size_t klen, void* opaque) {
    auto* j = static_cast<JavaLoad*>(opaque);
    JNIEnv* env = j->env;
    jbyteArray k = mcjni::new_bytes(env, key, klen);
    jobject result = k ? env->CallObjectMethod(j->fn, j->apply, k) : nullptr;
    if (env->ExceptionCheck()) {
        jthrowable t = env->ExceptionOccurred();
        env->ExceptionClear();
        j->thrown = static_cast<jthrowable>(env->NewGlobalRef(t));
        describe(env, t, load);
        return MCCACHE_EUSER;
    }
    if (!result) {
        mccache_load_set_error(load, "the mapping function returned null");
        return MCCACHE_ENOTFOUND;
    }
    if (!env->IsInstanceOf(result, mcjni::g_refs.byte_array)) {
        mccache_load_set_error(load, "the mapping function returned something other than a byte[]");
        return MCCACHE_EINVAL;
    }
    auto arr = static_cast<jbyteArray>(result);
    std::vector<jbyte> bytes(static_cast<size_t>(env->GetArrayLength(arr)));
    if (!bytes.empty()) env->GetByteArrayRegion(arr, 0, static_cast<jsize>(bytes.size()), bytes.data());
    return mccache_load_set_value(load, bytes.data(), bytes.size(), MCCACHE_TTL_DEFAULT);
}

}  // namespace

extern "C" {

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_getOrLoad(JNIEnv* env, jclass, jlong cache, jbyteArray key,
                                                                 jobject fn) {
    KeyBytes k(env, key);
    if (!k.ok()) return nullptr;
    jclass function = env->GetObjectClass(fn);
    jmethodID apply = env->GetMethodID(function, "apply", "(Ljava/lang/Object;)Ljava/lang/Object;");
    if (!apply) return nullptr;  // NoSuchMethodError pending
    JavaLoad j{env, fn, apply};
    mccache_value_t* v = nullptr;
    int rc = mccache_get_or_load(from_handle<mccache_cache_t>(cache), k.data(), k.size(), java_loader, &j, 0, &v);
    if (j.thrown) {
        // This caller's own function failed: its exception, unchanged.
        env->Throw(j.thrown);
        env->DeleteGlobalRef(j.thrown);
        mccache_value_free(v);
        return nullptr;
    }
    if (rc != MCCACHE_OK) {
        if (rc != MCCACHE_ENOTFOUND) throw_error(env, rc);
        return nullptr;
    }
    size_t len = 0;
    const void* data = mccache_value_data(v, &len);
    jbyteArray out = mcjni::new_bytes(env, data, len);
    mccache_value_free(v);
    return out;
}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_namespaceBump(JNIEnv* env, jclass, jlong cache) {
    uint64_t g = 0;
    int rc = mccache_namespace_bump(from_handle<mccache_cache_t>(cache), &g);
    if (rc != MCCACHE_OK) throw_error(env, rc);
    return static_cast<jlong>(g);
}

}  // extern "C"
