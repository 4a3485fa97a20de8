#include "metrics/metrics.h"

#include <cjson/cJSON.h>

#include <memory>
#include <new>
#include <string_view>

#include "metrics/json.h"

namespace mccache::metrics {

namespace {

#define MCCACHE_METRIC_DEF(id, name, kind, unit, help) Def{name, Kind::kind, unit, help},
constexpr Def kCache[] = {MCCACHE_CACHE_METRICS(MCCACHE_METRIC_DEF)};
constexpr Def kNode[] = {MCCACHE_NODE_METRICS(MCCACHE_METRIC_DEF)};
constexpr Def kCluster[] = {MCCACHE_CLUSTER_METRICS(MCCACHE_METRIC_DEF)};
#undef MCCACHE_METRIC_DEF

static_assert(std::size(kCache) == kCount<CacheMetric>);
static_assert(std::size(kNode) == kCount<NodeMetric>);
static_assert(std::size(kCluster) == kCount<ClusterMetric>);

// The object at the dotted path's parent, created on the way.
cJSON* parent_of(cJSON* root, std::string_view name, std::string_view* leaf) {
    cJSON* at = root;
    for (size_t dot; (dot = name.find('.')) != std::string_view::npos; name.remove_prefix(dot + 1)) {
        std::string part(name.substr(0, dot));
        cJSON* next = cJSON_GetObjectItemCaseSensitive(at, part.c_str());
        if (!next && !(next = cJSON_AddObjectToObject(at, part.c_str()))) throw std::bad_alloc();
        at = next;
    }
    *leaf = name;
    return at;
}

}  // namespace

template <>
std::span<const Def> defs<CacheMetric>() { return kCache; }
template <>
std::span<const Def> defs<NodeMetric>() { return kNode; }
template <>
std::span<const Def> defs<ClusterMetric>() { return kCluster; }
template <>
const char* group_name<CacheMetric>() { return "cache"; }
template <>
const char* group_name<NodeMetric>() { return "node"; }
template <>
const char* group_name<ClusterMetric>() { return "cluster"; }

template <typename E>
cJSON* to_cjson(const Snapshot<E>& s) {
    std::unique_ptr<cJSON, decltype(&cJSON_Delete)> root(cJSON_CreateObject(), cJSON_Delete);
    if (!root) throw std::bad_alloc();
    std::span<const Def> table = defs<E>();
    for (size_t i = 0; i < table.size(); ++i) {
        std::string_view leaf;
        cJSON* at = parent_of(root.get(), table[i].name, &leaf);
        std::string key(leaf);
        bool ok = table[i].kind == Kind::Info ? cJSON_AddStringToObject(at, key.c_str(), s.text[i].c_str()) != nullptr
                                              : cJSON_AddNumberToObject(at, key.c_str(), s.num[i]) != nullptr;
        if (!ok) throw std::bad_alloc();
    }
    return root.release();
}

template <typename E>
std::string to_json(const Snapshot<E>& s) {
    std::unique_ptr<cJSON, decltype(&cJSON_Delete)> root(to_cjson(s), cJSON_Delete);
    return print(root.get());
}

std::string print(const cJSON* root) {
    char* text = cJSON_PrintUnformatted(root);
    if (!text) throw std::bad_alloc();
    std::string out(text);
    cJSON_free(text);
    return out;
}

template cJSON* to_cjson(const Snapshot<CacheMetric>&);
template cJSON* to_cjson(const Snapshot<NodeMetric>&);
template cJSON* to_cjson(const Snapshot<ClusterMetric>&);
template std::string to_json(const Snapshot<CacheMetric>&);
template std::string to_json(const Snapshot<NodeMetric>&);
template std::string to_json(const Snapshot<ClusterMetric>&);

}  // namespace mccache::metrics
