// mccache_open/close and the node-wide calls. A node handle stays a valid
// token after close (the C library answers ECLOSED), so Java passes it
// without a lock.
#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::from_handle;
using mcjni::throw_error;

extern "C" {

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_open(JNIEnv* env, jclass, jlong config) {
    mccache_t* node = nullptr;
    int rc = mccache_open(from_handle<mccache_config_t>(config), &node);
    if (rc != MCCACHE_OK) throw_error(env, rc);
    return mcjni::to_handle(node);
}

JNIEXPORT jboolean JNICALL Java_io_libmccache_Native_close(JNIEnv* env, jclass, jlong node) {
    int rc = mccache_close(from_handle<mccache_t>(node));
    if (rc == MCCACHE_OK) return JNI_TRUE;
    if (rc != MCCACHE_ECLOSED) throw_error(env, rc);
    return JNI_FALSE;
}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_nodeId(JNIEnv* env, jclass, jlong node) {
    uint64_t id = 0;
    int rc = mccache_node_id(from_handle<mccache_t>(node), &id);
    if (rc != MCCACHE_OK) throw_error(env, rc);
    return static_cast<jlong>(id);
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_nodeConfigJson(JNIEnv* env, jclass,
                                                                      jlong node) {
    char* json = nullptr;
    int rc = mccache_node_config_json(from_handle<mccache_t>(node), &json);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    return mcjni::take_c_string(env, json);
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_metricsJson(JNIEnv* env, jclass, jlong node) {
    char* json = nullptr;
    int rc = mccache_metrics_json(from_handle<mccache_t>(node), &json);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    return mcjni::take_c_string(env, json);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_housekeep(JNIEnv* env, jclass, jlong node) {
    int rc = mccache_housekeep(from_handle<mccache_t>(node));
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_cacheOpen(JNIEnv* env, jclass, jlong node,
                                                            jbyteArray name) {
    mcjni::CString n(env, name, "cache name");
    if (!n.ok()) return 0;
    mccache_cache_t* cache = nullptr;
    int rc = mccache_cache_open(from_handle<mccache_t>(node), n.c_str(), &cache);
    if (rc != MCCACHE_OK) throw_error(env, rc);
    return mcjni::to_handle(cache);
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_cacheName(JNIEnv* env, jclass, jlong cache) {
    const char* name = mccache_cache_name(from_handle<mccache_cache_t>(cache));
    if (!name) {
        mcjni::throw_message(env, MCCACHE_EINVAL, "mccache_cache_name: cache is NULL");
        return nullptr;
    }
    return mcjni::new_bytes(env, name, std::strlen(name));
}

}  // extern "C"
