// Membership, anti-entropy, cluster-wide collection, and key rotation. The
// callback registrations (mccache_on_member, mccache_cluster_request) live in
// callbacks_jni.cc with the other listeners.
#include <optional>

#include "io_libmccache_Native.h"
#include "jni_util.h"

using mcjni::from_handle;
using mcjni::throw_error;

namespace {

// Overwrites key material; volatile so that the stores are not elided.
void wipe(void* p, size_t n) {
    volatile unsigned char* b = static_cast<volatile unsigned char*>(p);
    while (n--) *b++ = 0;
}

// A NUL-terminated copy of a key given as a byte[] (NULL stays NULL), wiped
// when it goes out of scope. Throws EINVAL if the key holds a NUL.
class SecretString {
public:
    SecretString(JNIEnv* env, jbyteArray a, const char* what) {
        if (!a) {
            ok_ = true;
            return;
        }
        size_ = static_cast<size_t>(env->GetArrayLength(a));
        text_.reset(new (std::nothrow) char[size_ + 1]);
        if (!text_) {
            mcjni::throw_message(env, MCCACHE_ENOMEM, "out of memory copying a key");
            return;
        }
        env->GetByteArrayRegion(a, 0, static_cast<jsize>(size_), reinterpret_cast<jbyte*>(text_.get()));
        text_[size_] = '\0';
        if (std::memchr(text_.get(), '\0', size_)) {
            std::string msg = std::string(what) + " contains a NUL character";
            mcjni::throw_message(env, MCCACHE_EINVAL, msg.c_str());
            return;
        }
        ok_ = true;
    }
    ~SecretString() {
        if (text_) wipe(text_.get(), size_ + 1);
    }
    SecretString(const SecretString&) = delete;
    SecretString& operator=(const SecretString&) = delete;

    bool ok() const { return ok_; }
    const char* c_str() const { return text_.get(); }

private:
    std::unique_ptr<char[]> text_;
    size_t size_ = 0;
    bool ok_ = false;
};

}  // namespace

extern "C" {

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_membersJson(JNIEnv* env, jclass, jlong node) {
    char* json = nullptr;
    int rc = mccache_members_json(from_handle<mccache_t>(node), &json);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    return mcjni::take_c_string(env, json);
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_sync(JNIEnv* env, jclass, jlong node) {
    int rc = mccache_sync(from_handle<mccache_t>(node));
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_clusterCollect(JNIEnv* env, jclass, jlong node,
                                                                      jint kind, jbyteArray cache,
                                                                      jint timeout_ms) {
    std::optional<mcjni::CString> name;  // empty: every cache
    if (cache) {
        name.emplace(env, cache, "cache name");
        if (!name->ok()) return nullptr;
    }
    char* json = nullptr;
    int rc = mccache_cluster_collect(from_handle<mccache_t>(node), kind, name ? name->c_str() : nullptr,
                                     timeout_ms, &json);
    if (rc != MCCACHE_OK) {
        throw_error(env, rc);
        return nullptr;
    }
    return mcjni::take_c_string(env, json);
}

JNIEXPORT jbyteArray JNICALL Java_io_libmccache_Native_generateKey(JNIEnv* env, jclass) {
    char buf[64];
    int rc = mccache_generate_key(buf, sizeof buf);
    jbyteArray key = nullptr;
    if (rc != MCCACHE_OK)
        throw_error(env, rc);
    else
        key = mcjni::new_bytes(env, buf, std::strlen(buf));
    wipe(buf, sizeof buf);
    return key;
}

JNIEXPORT void JNICALL Java_io_libmccache_Native_setKeys(JNIEnv* env, jclass, jlong node,
                                                         jbyteArray seal_key, jbyteArray accept_key) {
    SecretString seal(env, seal_key, "seal key");
    if (!seal.ok()) return;
    SecretString accept(env, accept_key, "accept key");
    if (!accept.ok()) return;
    int rc = mccache_set_keys(from_handle<mccache_t>(node), seal.c_str(), accept.c_str());
    if (rc != MCCACHE_OK) throw_error(env, rc);
}

}  // extern "C"
