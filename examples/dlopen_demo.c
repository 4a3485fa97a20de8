/*
 * Loading libmccache at run time with dlopen(), as a plugin host or a
 * language runtime would. This program does not link libmccache: it only
 * uses the header for types and constants, and resolves every function with
 * dlsym().
 *
 * Usage: dlopen_demo [PATH-TO-libmccache.so.0]
 * Without an argument, the dynamic loader searches for "libmccache.so.0"
 * (LD_LIBRARY_PATH, the ld.so cache, the default directories).
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <mccache.h>

/* The subset of the API this demo calls. */
struct api {
    unsigned (*version)(void);
    const char *(*version_string)(void);
    const char *(*err_name)(int);
    const char *(*last_error)(void);
    int (*open)(const mccache_config_t *, mccache_t **);
    int (*close)(mccache_t *);
    int (*cache_open)(mccache_t *, const char *, mccache_cache_t **);
    int (*put)(mccache_cache_t *, const void *, size_t, const void *, size_t, int64_t);
    int (*get)(mccache_cache_t *, const void *, size_t, mccache_value_t **);
    const void *(*value_data)(const mccache_value_t *, size_t *);
    void (*value_free)(mccache_value_t *);
};

/* POSIX guarantees that a dlsym() result converts to a function pointer;
 * copying the bytes says so without a cast ISO C frowns upon. */
static int resolve(void *lib, const char *name, void *fn_ptr, size_t fn_size) {
    void *sym = dlsym(lib, name);
    if (sym == NULL) {
        fprintf(stderr, "dlopen_demo: %s: %s\n", name, dlerror());
        return -1;
    }
    memcpy(fn_ptr, &sym, fn_size);
    return 0;
}

#define RESOLVE(lib, api, field) resolve((lib), "mccache_" #field, &(api)->field, sizeof (api)->field)

static int load(void *lib, struct api *api) {
    int bad = 0;
    bad |= RESOLVE(lib, api, version);
    bad |= RESOLVE(lib, api, version_string);
    bad |= RESOLVE(lib, api, err_name);
    bad |= RESOLVE(lib, api, last_error);
    bad |= RESOLVE(lib, api, open);
    bad |= RESOLVE(lib, api, close);
    bad |= RESOLVE(lib, api, cache_open);
    bad |= RESOLVE(lib, api, put);
    bad |= RESOLVE(lib, api, get);
    bad |= RESOLVE(lib, api, value_data);
    bad |= RESOLVE(lib, api, value_free);
    return bad;
}

static int fail(const struct api *api, const char *what, int rc) {
    fprintf(stderr, "dlopen_demo: %s: %s (%s)\n", what, api->err_name(rc), api->last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "libmccache.so.0";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen_demo: cannot load %s: %s\n", path, dlerror());
        fprintf(stderr, "  pass the library's path, or set LD_LIBRARY_PATH\n");
        return 1;
    }
    struct api api;
    if (load(lib, &api) != 0) return 1;

    /* The ABI is stable within a major version (the soname's number). */
    unsigned v = api.version();
    printf("loaded %s: libmccache %s (header %s)\n", path, api.version_string(),
           MCCACHE_VERSION_STRING);
    if (v / 10000 != MCCACHE_VERSION_MAJOR || v < MCCACHE_VERSION_NUMBER) {
        fprintf(stderr, "dlopen_demo: library %u is not compatible with header %u\n", v,
                (unsigned)MCCACHE_VERSION_NUMBER);
        return 1;
    }

    mccache_t *node = NULL;
    mccache_cache_t *cache = NULL;
    mccache_value_t *value = NULL;
    int rc = api.open(NULL, &node);
    if (rc != MCCACHE_OK) return fail(&api, "mccache_open", rc);
    rc = api.cache_open(node, "plugin", &cache);
    if (rc != MCCACHE_OK) return fail(&api, "mccache_cache_open", rc);
    rc = api.put(cache, "loaded-by", 9, "dlopen", 6, MCCACHE_TTL_NEVER);
    if (rc != MCCACHE_OK) return fail(&api, "mccache_put", rc);
    rc = api.get(cache, "loaded-by", 9, &value);
    if (rc != MCCACHE_OK) return fail(&api, "mccache_get", rc);

    size_t len = 0;
    const char *data = (const char *)api.value_data(value, &len);
    printf("put/get loaded-by -> \"%.*s\"\n", (int)len, data);
    int ok = len == 6 && memcmp(data, "dlopen", 6) == 0;
    api.value_free(value);

    rc = api.close(node);
    if (rc != MCCACHE_OK) return fail(&api, "mccache_close", rc);
    /* No dlclose(): a closed node leaves a small token that answers
     * MCCACHE_ECLOSED until the process exits, so the library stays loaded. */
    return ok ? 0 : 1;
}
