// Change, log and member listeners, and cluster-request replies. The C opaque
// of each registration is a GlobalRef to a ChangeBinding, LogBinding,
// MemberBinding or ReplyBinding, deleted exactly once in opaque_free.
// Callbacks run on the node's callback thread (the library's dispatcher,
// attached to the JVM once as the daemon "mccache-callbacks") or, for what
// is still pending when the node closes (the final reply of a request cut
// short, a release), on the Java thread calling close().
#include <atomic>
#include <optional>

#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::g_refs;

namespace {

std::atomic<int64_t> g_live_refs{0};

jobject new_listener_ref(JNIEnv* env, jobject binding) {
    jobject ref = env->NewGlobalRef(binding);
    if (!ref) {
        mcjni::throw_message(env, MCCACHE_ENOMEM, "out of memory taking a reference to the listener");
        return nullptr;
    }
    g_live_refs.fetch_add(1, std::memory_order_relaxed);
    return ref;
}

void release_listener_ref(void* opaque) {
    JNIEnv* env = mcjni::attached_env();
    if (!env) return;  // no JVM to release it to
    env->DeleteGlobalRef(static_cast<jobject>(opaque));
    g_live_refs.fetch_sub(1, std::memory_order_relaxed);
}

// Runs `call` in its own local frame: the callback thread never returns to Java,
// so its local references would otherwise never be freed. An exception the
// dispatch method let through (it catches Throwable, so only an
// OutOfMemoryError building the arrays) is printed and cleared here, since
// no Java caller waits for it.
template <typename F>
void in_local_frame(JNIEnv* env, F&& call) {
    // A Java caller's thread that is already unwinding must not call Java.
    if (env->ExceptionCheck()) return;
    if (env->PushLocalFrame(8) != 0) {
        env->ExceptionClear();
        return;
    }
    call();
    if (env->ExceptionCheck()) {
        env->ExceptionDescribe();
        env->ExceptionClear();
    }
    env->PopLocalFrame(nullptr);
}

// The one place where a C event becomes Java arguments; fields appended to
// mccache_event_t later are read only when ev->struct_size covers them.
void deliver_change(JNIEnv* env, jobject binding, const mccache_event_t* ev) {
    jbyteArray key = mcjni::new_bytes(env, ev->key, ev->klen);
    if (!key) return;
    jbyteArray value = nullptr;
    if (ev->value) {
        size_t len = 0;
        const void* data = mccache_value_data(ev->value, &len);
        if (!(value = mcjni::new_bytes(env, data, len))) return;
    }
    env->CallVoidMethod(binding, g_refs.change_dispatch, static_cast<jint>(ev->type),
                        static_cast<jint>(ev->origin), key, value,
                        static_cast<jlong>(ev->version_hlc), static_cast<jlong>(ev->version_node),
                        static_cast<jlong>(ev->last_lookup_ms), static_cast<jlong>(ev->time_ms));
}

void on_change(const mccache_event_t* ev, void* opaque) {
    JNIEnv* env = mcjni::attached_env();
    if (!env) return;
    in_local_frame(env, [&] { deliver_change(env, static_cast<jobject>(opaque), ev); });
}

void on_log(int level, const char* message, void* opaque) {
    JNIEnv* env = mcjni::attached_env();
    if (!env) return;
    in_local_frame(env, [&] {
        jbyteArray text = mcjni::new_bytes(env, message, std::strlen(message));
        if (text)
            env->CallVoidMethod(static_cast<jobject>(opaque), g_refs.log_dispatch,
                                static_cast<jint>(level), text);
    });
}

// Fields appended to mccache_member_t later are read only when
// m->struct_size covers them; these are all in the first version.
void on_member(const mccache_member_t* m, void* opaque) {
    JNIEnv* env = mcjni::attached_env();
    if (!env) return;
    in_local_frame(env, [&] {
        const char* address = m->address ? m->address : "";
        jbyteArray text = mcjni::new_bytes(env, address, std::strlen(address));
        if (!text) return;
        env->CallVoidMethod(static_cast<jobject>(opaque), g_refs.member_dispatch,
                            static_cast<jint>(m->event), static_cast<jlong>(m->node_id),
                            static_cast<jlong>(m->incarnation), text,
                            static_cast<jlong>(m->last_seen_ms));
    });
}

// member_id 0 with a NULL json is the final call; Java gets null for it.
void on_reply(uint64_t member_id, const char* json, void* opaque) {
    JNIEnv* env = mcjni::attached_env();
    if (!env) return;
    in_local_frame(env, [&] {
        jbyteArray text = nullptr;
        if (json && !(text = mcjni::new_bytes(env, json, std::strlen(json)))) return;
        env->CallVoidMethod(static_cast<jobject>(opaque), g_refs.reply_dispatch,
                            static_cast<jlong>(member_id), text);
    });
}

}  // namespace

extern "C" {

// On failure the C library has already called release_listener_ref (it does
// for every error but EINVAL on the handle, which a Java handle never is).
JNIEXPORT void JNICALL Java_io_libmccache_Native_setChangeListener(JNIEnv* env, jclass, jlong cache,
                                                                   jobject binding) {
    jobject ref = nullptr;
    if (binding && !(ref = new_listener_ref(env, binding))) return;
    int rc = mccache_on_change(mcjni::from_handle<mccache_cache_t>(cache), ref ? on_change : nullptr,
                               ref, ref ? release_listener_ref : nullptr);
    if (rc != MCCACHE_OK) mcjni::throw_error(env, rc);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_setLogListener(JNIEnv* env, jclass, jlong node,
                                                                jobject binding) {
    jobject ref = nullptr;
    if (binding && !(ref = new_listener_ref(env, binding))) return;
    int rc = mccache_set_log_cb(mcjni::from_handle<mccache_t>(node), ref ? on_log : nullptr, ref,
                                ref ? release_listener_ref : nullptr);
    if (rc != MCCACHE_OK) mcjni::throw_error(env, rc);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_setMemberListener(JNIEnv* env, jclass, jlong node,
                                                                   jobject binding) {
    jobject ref = nullptr;
    if (binding && !(ref = new_listener_ref(env, binding))) return;
    int rc = mccache_on_member(mcjni::from_handle<mccache_t>(node), ref ? on_member : nullptr, ref,
                               ref ? release_listener_ref : nullptr);
    if (rc != MCCACHE_OK) mcjni::throw_error(env, rc);
}

// The cache name is copied before the reference is taken, so that a name the
// glue refuses leaks nothing; after that every failure releases the reference
// through opaque_free (Java never passes a NULL node).
JNIEXPORT void JNICALL Java_io_libmccache_Native_clusterRequest(JNIEnv* env, jclass, jlong node,
                                                                jint kind, jbyteArray cache,
                                                                jint timeout_ms, jobject binding) {
    std::optional<mcjni::CString> name;  // empty: every cache
    if (cache) {
        name.emplace(env, cache, "cache name");
        if (!name->ok()) return;
    }
    if (!binding) {
        mcjni::throw_message(env, MCCACHE_EINVAL, "mccache_cluster_request: listener is NULL");
        return;
    }
    jobject ref = new_listener_ref(env, binding);
    if (!ref) return;
    int rc = mccache_cluster_request(mcjni::from_handle<mccache_t>(node), kind,
                                     name ? name->c_str() : nullptr, timeout_ms, on_reply, ref,
                                     release_listener_ref);
    if (rc != MCCACHE_OK) mcjni::throw_error(env, rc);
}

JNIEXPORT jlong JNICALL Java_io_libmccache_Native_liveListenerRefs(JNIEnv*, jclass) {
    return static_cast<jlong>(g_live_refs.load(std::memory_order_relaxed));
}

}  // extern "C"
