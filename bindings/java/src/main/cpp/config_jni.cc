// mccache_config_*: a Config handle is freed by Java only under its lock.
#include <vector>

#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::CString;
using mcjni::from_handle;
using mcjni::throw_error;

extern "C" {

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_configNew(JNIEnv* env, jclass) {
    mccache_config_t* config = nullptr;
    int rc = mccache_config_new(&config);
    if (rc != MCCACHE_OK) throw_error(env, rc);
    return mcjni::to_handle(config);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_configFree(JNIEnv*, jclass, jlong config) {
    mccache_config_free(from_handle<mccache_config_t>(config));
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_configSet(JNIEnv* env, jclass, jlong config,
                                                           jbyteArray key, jbyteArray value) {
    CString k(env, key, "key");
    if (!k.ok()) return;
    CString v(env, value, "value");
    if (!v.ok()) return;
    int rc = mccache_config_set(from_handle<mccache_config_t>(config), k.c_str(), v.c_str());
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_configLoadFile(JNIEnv* env, jclass, jlong config,
                                                                jbyteArray path) {
    CString p(env, path, "path");
    if (!p.ok()) return;
    int rc = mccache_config_load_file(from_handle<mccache_config_t>(config), p.c_str());
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_configLoadEnv(JNIEnv* env, jclass, jlong config) {
    int rc = mccache_config_load_env(from_handle<mccache_config_t>(config));
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_configGet(JNIEnv* env, jclass, jlong config,
                                                                 jbyteArray key) {
    CString k(env, key, "key");
    if (!k.ok()) return nullptr;
    auto* c = from_handle<mccache_config_t>(config);
    char small[256];
    size_t len = sizeof small;
    int rc = mccache_config_get(c, k.c_str(), small, &len);
    if (rc == MCCACHE_OK) return mcjni::new_bytes(env, small, len - 1);
    if (rc != MCCACHE_EBUFS) {
        throw_error(env, rc);
        return nullptr;
    }
    std::vector<char> big(len);
    rc = mccache_config_get(c, k.c_str(), big.data(), &len);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    return mcjni::new_bytes(env, big.data(), len - 1);
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_configToJson(JNIEnv* env, jclass,
                                                                    jlong config) {
    char* json = nullptr;
    int rc = mccache_config_to_json(from_handle<mccache_config_t>(config), &json);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    return mcjni::take_c_string(env, json);
}

}  // extern "C"
