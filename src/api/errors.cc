// Version, error text and the thread-local last error.
#include <cstdlib>
#include <cstring>

#include "api/api.h"

namespace mccache::api {

namespace {
thread_local std::string t_last_error __attribute__((tls_model("initial-exec")));
std::atomic<size_t> g_next_stripe{0};
}  // namespace

int fail(int code, std::string message) {
    try {
        t_last_error = std::move(message);
    } catch (...) {
        // Keep the code even if the message cannot be stored.
    }
    return code;
}

int fail(const Status& st) { return fail(st.code, st.message); }

int fail_literal(int code, const char* fn, const char* what) {
    try {
        t_last_error.assign(fn);
        t_last_error.append(what);
    } catch (...) {
    }
    return code;
}

char* dup_string(const std::string& s) {
    char* p = static_cast<char*>(std::malloc(s.size() + 1));
    if (!p) throw std::bad_alloc();
    std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

size_t CallScope::next_stripe() {
    return g_next_stripe.fetch_add(1, std::memory_order_relaxed) % mccache_s::kStripes;
}

const char* t_last_error_cstr() { return t_last_error.c_str(); }

void retain_shell(mccache_s* shell) {
    // Never destroyed: a static destructor would free shells that other
    // threads may still call with during exit.
    static std::mutex* mu = new std::mutex;
    static std::vector<mccache_s*>* shells = new std::vector<mccache_s*>;
    std::lock_guard<std::mutex> lock(*mu);
    shells->push_back(shell);
}

int closed_error(const char* fn) { return fail(MCCACHE_ECLOSED, std::string(fn) + ": the node is closed"); }

}  // namespace mccache::api

using mccache::api::fail;

extern "C" {

MCCACHE_API unsigned mccache_version(void) { return MCCACHE_VERSION_NUMBER; }

MCCACHE_API const char* mccache_version_string(void) { return MCCACHE_VERSION_STRING; }

MCCACHE_API const char* mccache_strerror(int err) {
    switch (err) {
        case MCCACHE_OK: return "success";
        case MCCACHE_EINVAL: return "invalid argument";
        case MCCACHE_ENOMEM: return "out of memory";
        case MCCACHE_ENOTFOUND: return "not found";
        case MCCACHE_EEXISTS: return "already exists";
        case MCCACHE_EBUFS: return "buffer too small";
        case MCCACHE_ETOOBIG: return "key or value too large";
        case MCCACHE_ECLOSED: return "node closed";
        case MCCACHE_ETIMEDOUT: return "timed out";
        case MCCACHE_ECANCELED: return "operation cancelled";
        case MCCACHE_EBUSY: return "resource busy";
        case MCCACHE_ECONFIG: return "invalid configuration";
        case MCCACHE_EIO: return "input/output error";
        case MCCACHE_ESTALE: return "a newer version is held";
        case MCCACHE_EUSER: return "user-defined error";
        case MCCACHE_ENOTSUP: return "not supported";
        case MCCACHE_EINTERNAL: return "internal error";
        default: return "unknown error";
    }
}

MCCACHE_API const char* mccache_err_name(int err) {
    switch (err) {
        case MCCACHE_OK: return "MCCACHE_OK";
        case MCCACHE_EINVAL: return "MCCACHE_EINVAL";
        case MCCACHE_ENOMEM: return "MCCACHE_ENOMEM";
        case MCCACHE_ENOTFOUND: return "MCCACHE_ENOTFOUND";
        case MCCACHE_EEXISTS: return "MCCACHE_EEXISTS";
        case MCCACHE_EBUFS: return "MCCACHE_EBUFS";
        case MCCACHE_ETOOBIG: return "MCCACHE_ETOOBIG";
        case MCCACHE_ECLOSED: return "MCCACHE_ECLOSED";
        case MCCACHE_ETIMEDOUT: return "MCCACHE_ETIMEDOUT";
        case MCCACHE_ECANCELED: return "MCCACHE_ECANCELED";
        case MCCACHE_EBUSY: return "MCCACHE_EBUSY";
        case MCCACHE_ECONFIG: return "MCCACHE_ECONFIG";
        case MCCACHE_EIO: return "MCCACHE_EIO";
        case MCCACHE_ESTALE: return "MCCACHE_ESTALE";
        case MCCACHE_EUSER: return "MCCACHE_EUSER";
        case MCCACHE_ENOTSUP: return "MCCACHE_ENOTSUP";
        case MCCACHE_EINTERNAL: return "MCCACHE_EINTERNAL";
        default: return "MCCACHE_EUNKNOWN";
    }
}

MCCACHE_API const char* mccache_last_error(void) {
    return mccache::api::t_last_error_cstr();
}

MCCACHE_API void mccache_free(void* ptr) { std::free(ptr); }

}  // extern "C"
