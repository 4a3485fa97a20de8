// The probes' results as JSON, for mccache_path_mtu() and mccache_hops()
// callers that want the steps (the CLI's --json, the bindings).
#include <cjson/cJSON.h>

#include <memory>
#include <new>

#include "metrics/json.h"
#include "probe/probe.h"

namespace mccache::probe {

namespace {

using JsonPtr = std::unique_ptr<cJSON, decltype(&cJSON_Delete)>;

cJSON* must(cJSON* item) {
    if (!item) throw std::bad_alloc();
    return item;
}

void add_text(cJSON* o, const char* key, const std::string& v) {
    if (v.empty()) must(cJSON_AddNullToObject(o, key));
    else must(cJSON_AddStringToObject(o, key, v.c_str()));
}

JsonPtr head(const std::string& host, const std::string& address) {
    JsonPtr root(must(cJSON_CreateObject()), cJSON_Delete);
    add_text(root.get(), "host", host);
    add_text(root.get(), "address", address);
    return root;
}

}  // namespace

std::string to_json(const MtuResult& r) {
    JsonPtr root = head(r.host, r.address);
    must(cJSON_AddNumberToObject(root.get(), "mtu", r.mtu));
    must(cJSON_AddNumberToObject(root.get(), "payload", r.payload));
    cJSON* steps = must(cJSON_AddArrayToObject(root.get(), "probes"));
    for (const MtuStep& s : r.steps) {
        cJSON* o = must(cJSON_CreateObject());
        cJSON_AddItemToArray(steps, o);
        must(cJSON_AddNumberToObject(o, "size", s.size));
        must(cJSON_AddStringToObject(o, "outcome", s.outcome.c_str()));
        add_text(o, "from", s.from);
        if (s.reported_mtu) must(cJSON_AddNumberToObject(o, "mtu", s.reported_mtu));
        must(cJSON_AddNumberToObject(o, "rtt_ms", s.rtt_ms));
    }
    return metrics::print(root.get());
}

std::string to_json(const HopsResult& r) {
    JsonPtr root = head(r.host, r.address);
    must(cJSON_AddNumberToObject(root.get(), "hops", r.hops));
    cJSON* route = must(cJSON_AddArrayToObject(root.get(), "route"));
    for (const Hop& h : r.route) {
        cJSON* o = must(cJSON_CreateObject());
        cJSON_AddItemToArray(route, o);
        must(cJSON_AddNumberToObject(o, "ttl", h.ttl));
        add_text(o, "from", h.from);
        if (!h.from.empty()) must(cJSON_AddNumberToObject(o, "rtt_ms", h.rtt_ms));
        must(cJSON_AddBoolToObject(o, "reached", h.reached));
    }
    return metrics::print(root.get());
}

}  // namespace mccache::probe
