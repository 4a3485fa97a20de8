// Shared pieces of the JNI glue: the references cached at load, thread
// attachment for callbacks, exceptions, and copies of Java byte arrays.
#pragma once

#include <jni.h>
#include <mccache.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>

namespace mcjni {

// Filled once by JNI_OnLoad; read-only afterwards, so any thread may use it.
struct Refs {
    JavaVM* vm = nullptr;
    jclass exception = nullptr;  // io.libmccache.MccacheException
    jmethodID exception_ctor = nullptr;
    jclass change_binding = nullptr;  // io.libmccache.ChangeBinding
    jmethodID change_dispatch = nullptr;
    jclass log_binding = nullptr;  // io.libmccache.LogBinding
    jmethodID log_dispatch = nullptr;
    jclass member_binding = nullptr;  // io.libmccache.MemberBinding
    jmethodID member_dispatch = nullptr;
    jclass reply_binding = nullptr;  // io.libmccache.ReplyBinding
    jmethodID reply_dispatch = nullptr;
    jclass bi_consumer = nullptr;  // java.util.function.BiConsumer
    jmethodID bi_consumer_accept = nullptr;
    jclass byte_array = nullptr;  // byte[]
    jfieldID scratch_big = nullptr;  // io.libmccache.Scratch.big
};
extern Refs g_refs;

constexpr jint kJniVersion = JNI_VERSION_1_8;

// The JNIEnv of the calling thread. A thread the JVM does not know (the
// node's callback thread) is attached once, as the daemon "mccache-callbacks"
// so it never holds up JVM exit, and detached by a thread-exit destructor.
// NULL if attaching failed.
JNIEnv* attached_env();

// Throws MccacheException(rc, mccache_last_error()). Call it right after the
// failing C call, before anything else can overwrite the thread's last error.
void throw_error(JNIEnv* env, int rc);
void throw_message(JNIEnv* env, int rc, const char* message);

template <typename T>
T* from_handle(jlong h) {
    return reinterpret_cast<T*>(static_cast<intptr_t>(h));
}
template <typename T>
jlong to_handle(T* p) {
    return static_cast<jlong>(reinterpret_cast<intptr_t>(p));
}

// A copy of a Java byte[] taken with GetByteArrayRegion: on the stack when it
// fits, else on the heap. Copying (rather than pinning with
// GetPrimitiveArrayCritical) lets the C call block or log into Java, and
// measured no slower for small keys (see BindingBench).
template <size_t N>
class Bytes {
public:
    Bytes(JNIEnv* env, jbyteArray a) {
        size_ = static_cast<size_t>(env->GetArrayLength(a));
        jbyte* dst = small_;
        if (size_ > N) {
            big_.reset(new (std::nothrow) jbyte[size_]);
            if (!big_) {
                throw_message(env, MCCACHE_ENOMEM, "out of memory copying a byte array");
                return;
            }
            dst = big_.get();
        }
        env->GetByteArrayRegion(a, 0, static_cast<jsize>(size_), dst);
        data_ = dst;
        ok_ = true;
    }
    Bytes(const Bytes&) = delete;
    Bytes& operator=(const Bytes&) = delete;

    bool ok() const { return ok_; }
    const void* data() const { return data_; }
    size_t size() const { return size_; }

private:
    jbyte small_[N];
    std::unique_ptr<jbyte[]> big_;
    const jbyte* data_ = small_;
    size_t size_ = 0;
    bool ok_ = false;
};

using KeyBytes = Bytes<256>;
using ValueBytes = Bytes<1024>;

// A NUL-terminated copy of a UTF-8 byte[]; throws EINVAL if it holds a NUL.
class CString {
public:
    CString(JNIEnv* env, jbyteArray a, const char* what);
    bool ok() const { return ok_; }
    const char* c_str() const { return text_.get(); }

private:
    std::unique_ptr<char[]> text_;
    bool ok_ = false;
};

// A new byte[] holding a copy of [data, data+len); NULL with an exception pending on failure.
jbyteArray new_bytes(JNIEnv* env, const void* data, size_t len);

// new_bytes() of a string the library allocated, which it then frees.
jbyteArray take_c_string(JNIEnv* env, char* s);

}  // namespace mcjni
