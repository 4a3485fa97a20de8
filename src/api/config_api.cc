// mccache_config_*: thin wrappers over config::Config.
#include <cstring>

#include "api/api.h"

extern char** environ;

using mccache::api::check;
using mccache::api::fail;
using mccache::api::guarded;
using mccache::config::Source;

extern "C" {

MCCACHE_API int mccache_config_new(mccache_config_t** out) {
    return guarded("mccache_config_new", [&]() -> int {
        if (!out) return fail(MCCACHE_EINVAL, "mccache_config_new: out is NULL");
        *out = new mccache_config_s();
        return MCCACHE_OK;
    });
}

MCCACHE_API void mccache_config_free(mccache_config_t* config) { delete config; }

MCCACHE_API int mccache_config_set(mccache_config_t* config, const char* key, const char* value) {
    return guarded("mccache_config_set", [&]() -> int {
        if (!config) return fail(MCCACHE_EINVAL, "mccache_config_set: config is NULL");
        if (!key) return fail(MCCACHE_EINVAL, "mccache_config_set: key is NULL");
        if (!value) return fail(MCCACHE_EINVAL, "mccache_config_set: value is NULL");
        return check(config->config.set(key, value, Source::Api, "api"));
    });
}

MCCACHE_API int mccache_config_load_file(mccache_config_t* config, const char* path) {
    return guarded("mccache_config_load_file", [&]() -> int {
        if (!config) return fail(MCCACHE_EINVAL, "mccache_config_load_file: config is NULL");
        if (!path) return fail(MCCACHE_EINVAL, "mccache_config_load_file: path is NULL");
        return check(config->config.load_file(path));
    });
}

MCCACHE_API int mccache_config_load_env(mccache_config_t* config) {
    return guarded("mccache_config_load_env", [&]() -> int {
        if (!config) return fail(MCCACHE_EINVAL, "mccache_config_load_env: config is NULL");
        return check(config->config.load_env(environ));
    });
}

MCCACHE_API int mccache_config_validate(const mccache_config_t* config) {
    return guarded("mccache_config_validate", [&]() -> int {
        if (!config) return fail(MCCACHE_EINVAL, "mccache_config_validate: config is NULL");
        mccache::config::NodeSettings settings;
        return check(config->config.resolve(&settings));
    });
}

MCCACHE_API int mccache_config_get(const mccache_config_t* config, const char* key, char* buf,
                                   size_t* len) {
    return guarded("mccache_config_get", [&]() -> int {
        if (!config) return fail(MCCACHE_EINVAL, "mccache_config_get: config is NULL");
        if (!key) return fail(MCCACHE_EINVAL, "mccache_config_get: key is NULL");
        if (!len) return fail(MCCACHE_EINVAL, "mccache_config_get: len is NULL");
        if (!buf && *len > 0)
            return fail(MCCACHE_EINVAL, "mccache_config_get: buf is NULL but *len is not 0");
        std::string text;
        mccache::Status st = config->config.get_text(key, &text);
        if (!st.ok()) return fail(st);
        size_t need = text.size() + 1;
        if (*len < need) {
            *len = need;
            return fail(MCCACHE_EBUFS, "mccache_config_get: the buffer needs " +
                                           std::to_string(need) + " bytes");
        }
        std::memcpy(buf, text.c_str(), need);
        *len = need;
        return MCCACHE_OK;
    });
}

MCCACHE_API int mccache_config_to_json(const mccache_config_t* config, char** out) {
    return guarded("mccache_config_to_json", [&]() -> int {
        if (!config) return fail(MCCACHE_EINVAL, "mccache_config_to_json: config is NULL");
        if (!out) return fail(MCCACHE_EINVAL, "mccache_config_to_json: out is NULL");
        *out = mccache::api::dup_string(config->config.to_json());
        return MCCACHE_OK;
    });
}

}  // extern "C"
