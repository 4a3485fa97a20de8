#include "config/config.h"

namespace mccache::config {

const char* source_name(Source src) {
    switch (src) {
        case Source::Default: return "default";
        case Source::File: return "file";
        case Source::Env: return "env";
        case Source::Api: return "api";
    }
    return "unknown";
}

const CacheSettings& NodeSettings::for_cache(std::string_view name) const {
    auto it = caches.find(name);
    return it == caches.end() ? cache_defaults : it->second;
}

Config::Config() = default;

Status Config::lookup_key(std::string_view key, std::string_view where, std::string* cache,
                          const Setting** s) const {
    size_t dot = key.find('.');
    if (dot == std::string_view::npos) {
        *s = find(key);
        if (!*s) return Error(MCCACHE_ECONFIG, unknown_key_message(key, where, false));
        cache->clear();
        return Status::Ok();
    }
    std::string_view name = key.substr(0, dot), setting = key.substr(dot + 1);
    std::string why;
    if (!valid_cache_name(name, &why))
        return Error(MCCACHE_ECONFIG, "invalid cache name " + quote(name) + " in key " +
                                          quote(key) + (where.empty() ? "" : " ") +
                                          std::string(where) + ": " + why);
    *s = find_cache_key(setting);
    if (!*s) {
        if (const Setting* node = find(setting))
            return Error(MCCACHE_ECONFIG, quote(key) + (where.empty() ? "" : " ") +
                                              std::string(where) + ": " + node->name +
                                              " is a node setting; it cannot be set per cache");
        return Error(MCCACHE_ECONFIG, unknown_key_message(key, where, true));
    }
    *cache = std::string(name);
    return Status::Ok();
}

void Config::apply(Change change, Source src) {
    Slots& slots = change.cache.empty() ? node_ : caches_[change.cache];
    auto it = slots.find(change.setting->name);
    if (it != slots.end() && it->second.source > src) return;  // a stronger source holds it
    slots.insert_or_assign(change.setting->name,
                           Slot{std::move(change.value), src, std::move(change.origin)});
}

Status Config::set(std::string_view key, std::string_view value, Source src, std::string origin) {
    if (origin.empty()) origin = source_name(src);
    std::string cache;
    const Setting* s = nullptr;
    if (Status st = lookup_key(key, "from " + display_origin(origin), &cache, &s); !st.ok())
        return st;
    Value v;
    if (Status st = parse_value(*s, value, display_key(cache, *s), origin, &v); !st.ok())
        return st;
    apply(Change{std::move(cache), s, std::move(v), std::move(origin)}, src);
    return Status::Ok();
}

Config::Effective Config::effective(std::string_view cache, const Setting& s) const {
    if (!cache.empty()) {
        if (auto c = caches_.find(cache); c != caches_.end())
            if (auto it = c->second.find(s.name); it != c->second.end())
                return {&it->second.value, it->second.source, it->second.origin};
    }
    // A cache without its own value inherits the all-caches default, with its source.
    if (auto it = node_.find(s.name); it != node_.end())
        return {&it->second.value, it->second.source, it->second.origin};
    return {&default_value(s), Source::Default, "default"};
}

std::vector<std::string> Config::cache_names() const {
    std::vector<std::string> out;
    for (const auto& [name, slots] : caches_)
        if (!slots.empty()) out.push_back(name);
    return out;
}

Status Config::get_text(std::string_view key, std::string* out) const {
    std::string cache;
    const Setting* s = nullptr;
    if (Status st = lookup_key(key, "", &cache, &s); !st.ok()) return st;
    const Value& v = *effective(cache, *s).value;
    if (s->secret)
        *out = format_value(*s, v).empty() ? "" : "(set)";
    else
        *out = format_value(*s, v);
    return Status::Ok();
}

Status Config::load_env(char** envp) {
    if (!envp) return Error(MCCACHE_EINVAL, "load_env: envp is NULL");
    constexpr std::string_view kPrefix = "MCCACHE_";

    struct Found {
        std::string var;
        std::string_view text;
        bool alias;
    };
    std::vector<Found> found(settings().size());
    std::vector<bool> have(settings().size(), false);
    std::vector<std::string> ignored;

    for (char** e = envp; *e; ++e) {
        std::string_view entry(*e);
        size_t eq = entry.find('=');
        if (!entry.starts_with(kPrefix) || eq == std::string_view::npos) continue;
        std::string_view var = entry.substr(0, eq);
        std::string_view rest = var.substr(kPrefix.size());
        const Setting* match = nullptr;
        bool alias = false;
        for (const Setting& s : settings()) {
            if (env_name(s) == var) {
                match = &s;
                break;
            }
            if (s.env_alias && rest == s.env_alias) {
                match = &s;
                alias = true;
                break;
            }
        }
        if (!match) {
            ignored.emplace_back(var);
            continue;
        }
        size_t i = index_of(*match);
        // Like getenv(), the first occurrence counts; the canonical name beats McCache's alias.
        if (have[i] && !(found[i].alias && !alias)) continue;
        have[i] = true;
        found[i] = Found{std::string(var), entry.substr(eq + 1), alias};
    }

    std::vector<Change> changes;
    Status first;
    size_t errors = 0;
    for (const Setting& s : settings()) {
        size_t i = index_of(s);
        if (!have[i]) continue;
        std::string origin = "env:" + found[i].var;
        Value v;
        Status st = parse_value(s, found[i].text, s.name, origin, &v);
        if (!st.ok()) {
            if (errors++ == 0) first = st;
            continue;
        }
        changes.push_back(Change{"", &s, std::move(v), std::move(origin)});
    }
    if (errors > 1)
        first.message += " (and " + std::to_string(errors - 1) + " more invalid variables)";
    if (!first.ok()) return first;
    for (Change& c : changes) apply(std::move(c), Source::Env);
    ignored_env_ = std::move(ignored);
    return Status::Ok();
}

}  // namespace mccache::config
