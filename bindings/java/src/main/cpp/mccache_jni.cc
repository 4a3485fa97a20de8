// JNI_OnLoad/OnUnload, thread attachment, exceptions and byte-array helpers.
#include <pthread.h>

#include "io_libmccache_Native.h"
#include "jni_util.h"

namespace mcjni {

Refs g_refs;

namespace {

pthread_key_t g_detach_key;

// Runs at exit of a thread that attached_env() attached (the callback
// thread, joined by mccache_close()). Nodes still open at process exit never get
// here: their threads die with the process.
void detach_at_thread_exit(void* vm) { static_cast<JavaVM*>(vm)->DetachCurrentThread(); }

bool global_class(JNIEnv* env, const char* name, jclass* out) {
    jclass local = env->FindClass(name);
    if (!local) return false;
    *out = static_cast<jclass>(env->NewGlobalRef(local));
    env->DeleteLocalRef(local);
    return *out != nullptr;
}

bool load_refs(JNIEnv* env) {
    Refs& r = g_refs;
    if (!global_class(env, "io/libmccache/MccacheException", &r.exception) ||
        !(r.exception_ctor = env->GetMethodID(r.exception, "<init>", "(I[B)V")))
        return false;
    if (!global_class(env, "io/libmccache/ChangeBinding", &r.change_binding) ||
        !(r.change_dispatch = env->GetMethodID(r.change_binding, "dispatch", "(II[B[BJJJJ)V")))
        return false;
    if (!global_class(env, "io/libmccache/LogBinding", &r.log_binding) ||
        !(r.log_dispatch = env->GetMethodID(r.log_binding, "dispatch", "(I[B)V")))
        return false;
    if (!global_class(env, "io/libmccache/MemberBinding", &r.member_binding) ||
        !(r.member_dispatch = env->GetMethodID(r.member_binding, "dispatch", "(IJJ[BJ)V")))
        return false;
    if (!global_class(env, "io/libmccache/ReplyBinding", &r.reply_binding) ||
        !(r.reply_dispatch = env->GetMethodID(r.reply_binding, "dispatch", "(J[B)V")))
        return false;
    if (!global_class(env, "java/util/function/BiConsumer", &r.bi_consumer) ||
        !(r.bi_consumer_accept = env->GetMethodID(r.bi_consumer, "accept",
                                                  "(Ljava/lang/Object;Ljava/lang/Object;)V")))
        return false;
    jclass scratch = env->FindClass("io/libmccache/Scratch");
    if (!scratch || !(r.scratch_big = env->GetFieldID(scratch, "big", "[B"))) return false;
    env->DeleteLocalRef(scratch);
    return global_class(env, "[B", &r.byte_array);
}

}  // namespace

JNIEnv* attached_env() {
    JNIEnv* env = nullptr;
    jint rc = g_refs.vm->GetEnv(reinterpret_cast<void**>(&env), kJniVersion);
    if (rc == JNI_OK) return env;
    if (rc != JNI_EDETACHED) return nullptr;
    JavaVMAttachArgs args{kJniVersion, const_cast<char*>("mccache-callbacks"), nullptr};
    if (g_refs.vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void**>(&env), &args) != JNI_OK)
        return nullptr;
    pthread_setspecific(g_detach_key, g_refs.vm);
    return env;
}

void throw_message(JNIEnv* env, int rc, const char* message) {
    if (env->ExceptionCheck()) return;  // the first failure wins
    jbyteArray bytes = new_bytes(env, message, std::strlen(message));
    if (!bytes) return;
    jobject ex = env->NewObject(g_refs.exception, g_refs.exception_ctor, static_cast<jint>(rc), bytes);
    env->DeleteLocalRef(bytes);
    if (ex) {
        env->Throw(static_cast<jthrowable>(ex));
        env->DeleteLocalRef(ex);
    }
}

void throw_error(JNIEnv* env, int rc) {
    const char* message = mccache_last_error();
    throw_message(env, rc, *message ? message : mccache_strerror(rc));
}

CString::CString(JNIEnv* env, jbyteArray a, const char* what) {
    jsize n = env->GetArrayLength(a);
    text_.reset(new (std::nothrow) char[static_cast<size_t>(n) + 1]);
    if (!text_) {
        throw_message(env, MCCACHE_ENOMEM, "out of memory copying a string");
        return;
    }
    env->GetByteArrayRegion(a, 0, n, reinterpret_cast<jbyte*>(text_.get()));
    text_[n] = '\0';
    if (std::memchr(text_.get(), '\0', static_cast<size_t>(n))) {
        std::string msg = std::string(what) + " contains a NUL character";
        throw_message(env, MCCACHE_EINVAL, msg.c_str());
        return;
    }
    ok_ = true;
}

jbyteArray new_bytes(JNIEnv* env, const void* data, size_t len) {
    if (len > static_cast<size_t>(INT32_MAX)) {
        throw_message(env, MCCACHE_ETOOBIG, "a value over 2 GiB does not fit a Java array");
        return nullptr;
    }
    jbyteArray a = env->NewByteArray(static_cast<jsize>(len));
    if (a && len) env->SetByteArrayRegion(a, 0, static_cast<jsize>(len), static_cast<const jbyte*>(data));
    return a;
}

jbyteArray take_c_string(JNIEnv* env, char* s) {
    jbyteArray a = new_bytes(env, s, std::strlen(s));
    mccache_free(s);
    return a;
}

}  // namespace mcjni

using mcjni::g_refs;

extern "C" {

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void*) {
    JNIEnv* env = nullptr;
    if (vm->GetEnv(reinterpret_cast<void**>(&env), mcjni::kJniVersion) != JNI_OK) return JNI_ERR;
    g_refs.vm = vm;
    if (pthread_key_create(&mcjni::g_detach_key, mcjni::detach_at_thread_exit) != 0) return JNI_ERR;
    if (!mcjni::load_refs(env)) return JNI_ERR;  // FindClass left NoClassDefFoundError pending
    return mcjni::kJniVersion;
}

// Only reached when the class loader that loaded the library is collected,
// which requires every node to be closed (a listener pins its loader).
JNIEXPORT void JNICALL JNI_OnUnload(JavaVM* vm, void*) {
    JNIEnv* env = nullptr;
    if (vm->GetEnv(reinterpret_cast<void**>(&env), mcjni::kJniVersion) != JNI_OK) return;
    for (jclass c : {g_refs.exception, g_refs.change_binding, g_refs.log_binding,
                     g_refs.member_binding, g_refs.reply_binding, g_refs.bi_consumer,
                     g_refs.byte_array})
        if (c) env->DeleteGlobalRef(c);
    g_refs = mcjni::Refs{};
    pthread_key_delete(mcjni::g_detach_key);
}

JNIEXPORT jint JNICALL Java_io_libmccache_Native_version(JNIEnv*, jclass) {
    return static_cast<jint>(mccache_version());
}

JNIEXPORT jint JNICALL Java_io_libmccache_Native_headerVersion(JNIEnv*, jclass) {
    return MCCACHE_VERSION_NUMBER;
}

// The library's static strings are ASCII, so NewStringUTF's modified UTF-8 is exact.
JNIEXPORT jstring JNICALL Java_io_libmccache_Native_versionString(JNIEnv* env, jclass) {
    return env->NewStringUTF(mccache_version_string());
}

JNIEXPORT jstring JNICALL Java_io_libmccache_Native_errName(JNIEnv* env, jclass, jint code) {
    return env->NewStringUTF(mccache_err_name(code));
}

JNIEXPORT jstring JNICALL Java_io_libmccache_Native_strerror(JNIEnv* env, jclass, jint code) {
    return env->NewStringUTF(mccache_strerror(code));
}

}  // extern "C"
