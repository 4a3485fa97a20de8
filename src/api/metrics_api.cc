// mccache_prometheus_from_json: the Prometheus exposition of metrics that
// arrived as JSON (another member's answer to a cluster request).
#include <cjson/cJSON.h>

#include <memory>
#include <stdexcept>

#include "api/api.h"
#include "metrics/prometheus.h"

using mccache::api::fail;
using mccache::api::guarded;

extern "C" {

MCCACHE_API int mccache_prometheus_from_json(const char* json, char** out) {
    return guarded("mccache_prometheus_from_json", [&]() -> int {
        if (out) *out = nullptr;
        if (!json) return fail(MCCACHE_EINVAL, "mccache_prometheus_from_json: json is NULL");
        if (!out) return fail(MCCACHE_EINVAL, "mccache_prometheus_from_json: out is NULL");
        std::unique_ptr<cJSON, decltype(&cJSON_Delete)> doc(cJSON_Parse(json), cJSON_Delete);
        if (!doc || !cJSON_IsObject(doc.get()))
            return fail(MCCACHE_EINVAL, "mccache_prometheus_from_json: json is not a JSON object");
        std::vector<std::pair<std::string, mccache::metrics::Reading>> nodes;
        try {
            const cJSON* replies = cJSON_GetObjectItemCaseSensitive(doc.get(), "replies");
            if (cJSON_IsObject(replies)) {
                const cJSON* r = nullptr;
                cJSON_ArrayForEach(r, replies) {
                    nodes.emplace_back(r->string ? r->string : "", mccache::metrics::reading_from_json(r));
                }
            } else {
                nodes.emplace_back("", mccache::metrics::reading_from_json(doc.get()));
            }
        } catch (const std::invalid_argument& e) {
            return fail(MCCACHE_EINVAL, std::string("mccache_prometheus_from_json: ") + e.what());
        }
        *out = mccache::api::dup_string(mccache::metrics::to_prometheus(nodes));
        return MCCACHE_OK;
    });
}

}  // extern "C"
