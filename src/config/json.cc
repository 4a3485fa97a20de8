// Config::to_json: the effective configuration with the source of each value.
#include <cjson/cJSON.h>

#include <memory>
#include <new>

#include "config/config.h"

namespace mccache::config {
namespace {

using JsonPtr = std::unique_ptr<cJSON, decltype(&cJSON_Delete)>;

cJSON* check(cJSON* item) {
    if (!item) throw std::bad_alloc();
    return item;
}

void add(cJSON* parent, const char* name, cJSON* item) {
    check(item);
    if (!cJSON_AddItemToObject(parent, name, item)) {
        cJSON_Delete(item);
        throw std::bad_alloc();
    }
}

// Numbers stay numbers: durations in seconds (the unit of a plain number in
// the INI), sizes in bytes. Integers beyond 2^53 are written as exact raw text
// because a double would round them.
cJSON* json_value(const Setting& s, const Value& v) {
    switch (s.type) {
        case Type::Int:
        case Type::Size:
            if (v.num > (uint64_t{1} << 53)) return cJSON_CreateRaw(std::to_string(v.num).c_str());
            return cJSON_CreateNumber(static_cast<double>(v.num));
        case Type::Duration: return cJSON_CreateNumber(static_cast<double>(v.num) / 1000.0);
        case Type::Key32: return cJSON_CreateString(v.str.empty() ? "" : "(set)");
        default: return cJSON_CreateString(format_value(s, v).c_str());
    }
}

void add_setting(cJSON* parent, const Setting& s, const Config::Effective& e) {
    cJSON* entry = check(cJSON_CreateObject());
    add(parent, s.name, entry);
    add(entry, "value", json_value(s, *e.value));
    add(entry, "source", cJSON_CreateString(std::string(e.origin).c_str()));
}

}  // namespace

std::string Config::to_json() const {
    JsonPtr root(check(cJSON_CreateObject()), &cJSON_Delete);
    cJSON* node = check(cJSON_CreateObject());
    add(root.get(), "node", node);
    for (const Setting& s : settings()) add_setting(node, s, effective("", s));

    cJSON* caches = check(cJSON_CreateObject());
    add(root.get(), "caches", caches);
    for (const std::string& name : cache_names()) {
        cJSON* cache = check(cJSON_CreateObject());
        add(caches, name.c_str(), cache);
        for (const Setting& s : settings())
            if (s.scope == Scope::Cache) add_setting(cache, s, effective(name, s));
    }

    std::unique_ptr<char, decltype(&cJSON_free)> text(cJSON_PrintUnformatted(root.get()),
                                                      &cJSON_free);
    if (!text) throw std::bad_alloc();
    return std::string(text.get());
}

}  // namespace mccache::config
