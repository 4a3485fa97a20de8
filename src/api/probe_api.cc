// mccache_path_mtu and mccache_hops: path diagnostics (src/probe), no node needed.
#include "api/api.h"
#include "probe/probe.h"

using mccache::api::fail;
using mccache::api::guarded;

namespace {

// `detail` gets the probes' JSON when any probe was made, success or not.
template <typename Result>
int finish(const mccache::Status& st, const Result& r, bool probed, char** detail) {
    if (detail && probed) *detail = mccache::api::dup_string(mccache::probe::to_json(r));
    return st.ok() ? MCCACHE_OK : fail(st);
}

}  // namespace

extern "C" {

MCCACHE_API int mccache_path_mtu(const char* host, int timeout_ms, int* mtu, char** detail) {
    return guarded("mccache_path_mtu", [&]() -> int {
        if (detail) *detail = nullptr;
        if (mtu) *mtu = 0;
        if (!host || !*host) return fail(MCCACHE_EINVAL, "mccache_path_mtu: host is NULL or empty");
        if (!mtu) return fail(MCCACHE_EINVAL, "mccache_path_mtu: mtu is NULL");
        if (timeout_ms < 1 || timeout_ms > 60000)
            return fail(MCCACHE_EINVAL, "mccache_path_mtu: timeout_ms " + std::to_string(timeout_ms) +
                                            " is out of range: expected 1 to 60000");
        mccache::probe::MtuResult r;
        mccache::Status st = mccache::probe::path_mtu(host, timeout_ms, &r);
        if (st.ok()) *mtu = r.mtu;
        return finish(st, r, !r.steps.empty(), detail);
    });
}

MCCACHE_API int mccache_hops(const char* host, int max_hops, int timeout_ms, int* hops, char** detail) {
    return guarded("mccache_hops", [&]() -> int {
        if (detail) *detail = nullptr;
        if (hops) *hops = 0;
        if (!host || !*host) return fail(MCCACHE_EINVAL, "mccache_hops: host is NULL or empty");
        if (!hops) return fail(MCCACHE_EINVAL, "mccache_hops: hops is NULL");
        if (max_hops < 1 || max_hops > 255)
            return fail(MCCACHE_EINVAL, "mccache_hops: max_hops " + std::to_string(max_hops) +
                                            " is out of range: expected 1 to 255");
        if (timeout_ms < 1 || timeout_ms > 60000)
            return fail(MCCACHE_EINVAL, "mccache_hops: timeout_ms " + std::to_string(timeout_ms) +
                                            " is out of range: expected 1 to 60000");
        mccache::probe::HopsResult r;
        mccache::Status st = mccache::probe::hops(host, max_hops, timeout_ms, &r);
        if (st.ok()) *hops = r.hops;
        return finish(st, r, !r.route.empty(), detail);
    });
}

}  // extern "C"
