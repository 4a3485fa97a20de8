/**
 * @file mccache.h
 * @brief libmccache: an in-process cache whose members stay coherent over UDP.
 *
 * This header is the whole contract. Anything not declared here is not API.
 *
 * # Object model
 *
 * - `mccache_config_t`: a bag of settings, built from defaults, an INI file,
 *   `MCCACHE_*` environment variables and explicit setters (later sources win).
 * - `mccache_t`: one node. It owns the named caches opened on it and two
 *   threads: a libuv loop that runs the cluster (sockets, heartbeats,
 *   repairs, timers) and a dispatcher that runs your callbacks.
 * - `mccache_cache_t`: a named cache, borrowed from its node. Opening the same
 *   name twice returns the same handle. It lives as long as its node.
 * - `mccache_value_t`: an immutable, reference-counted value. A reader that
 *   holds one never sees its bytes freed or changed, whatever writers do.
 * - `mccache_iter_t`: an iterator over one cache.
 *
 * # Threading model
 *
 * Unless a function says otherwise, every function is thread-safe: any thread
 * may call it at any time, on any handle, concurrently with any other call.
 * Gets never leave the calling thread. Writes update the store on the calling
 * thread and hand replication to the loop thread.
 *
 * Every callback (change events, membership changes, log lines, cluster
 * request replies) and every `opaque_free` runs on the node's dispatcher
 * thread, one at a time, in the order the work was queued (so changes to a
 * key arrive in order). It is never the loop thread: a callback that blocks
 * delays the callbacks behind it (change events past `event_queue_max` are
 * dropped and counted), never heartbeats, repairs or replication. Callbacks
 * may call any function of this API, including writes to their own node,
 * except the ones that wait for the node: mccache_close(),
 * mccache_housekeep() and mccache_cluster_collect() of that node return
 * #MCCACHE_EBUSY there. At close, work still queued runs on the closing
 * thread.
 *
 * # Conventions
 *
 * - Output parameters come last: `mccache_open(config, &node)`,
 *   `mccache_get(cache, key, klen, &value)`.
 * - Every struct that crosses this boundary starts with `uint32_t
 *   struct_size`, the size of the struct as known by whoever allocated it.
 *   A struct you pass in (mccache_metadata_t) you allocate: set
 *   `struct_size = sizeof(type)`; the library writes no more than that. A
 *   struct the library hands to a callback (mccache_event_t,
 *   mccache_member_t) carries the library's size: a field appended in a
 *   later version is there only when `struct_size` reaches past its offset.
 *   Fields are only ever appended, never moved.
 *
 * # Error model
 *
 * Every fallible function returns an `int`: #MCCACHE_OK (0) on success and a
 * negative `MCCACHE_E*` code on failure. Codes are stable and never
 * renumbered. mccache_strerror() and mccache_err_name() describe a code;
 * mccache_last_error() gives the message of the calling thread's last failure
 * in words (which argument, which key, which source, which range). No
 * function aborts the process on bad input, and no C++ exception crosses
 * this boundary.
 *
 * # Closed handles
 *
 * After mccache_close(), the node handle and every cache handle of that node
 * stay valid tokens: each call made with them returns #MCCACHE_ECLOSED. A call
 * that was already running when close began completes first; close waits
 * for it. (This costs a small, bounded allocation per node that is retained
 * until the process exits.) Value handles and iterators keep their own
 * references and stay usable after close until they are freed.
 */
#ifndef MCCACHE_H
#define MCCACHE_H

#include <stddef.h>
#include <stdint.h>

/** @name Declaration macros
 * All are `#ifndef`-guarded so that packagers can override them. @{ */
#ifdef __cplusplus
#define MCCACHE_BEGIN_DECL extern "C" {
#define MCCACHE_END_DECL }
#else
#define MCCACHE_BEGIN_DECL
#define MCCACHE_END_DECL
#endif

#ifndef MCCACHE_API
#if defined(_WIN32)
#if defined(MCCACHE_BUILDING_LIBRARY)
#define MCCACHE_API __declspec(dllexport)
#else
#define MCCACHE_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define MCCACHE_API __attribute__((visibility("default")))
#else
#define MCCACHE_API
#endif
#endif

#ifndef MCCACHE_DEPRECATED
#if defined(__GNUC__) || defined(__clang__)
#define MCCACHE_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define MCCACHE_DEPRECATED(msg)
#endif
#endif
/** @} */

/** @name Version
 * Compile-time version of this header. Compare with mccache_version() at run
 * time: `assert(mccache_version() == MCCACHE_VERSION_NUMBER);`. The ABI is
 * stable within a major version; the soname carries the major version. @{ */
#define MCCACHE_VERSION_MAJOR 0
#define MCCACHE_VERSION_MINOR 2
#define MCCACHE_VERSION_PATCH 0
#define MCCACHE_VERSION_NUMBER \
    (MCCACHE_VERSION_MAJOR * 10000 + MCCACHE_VERSION_MINOR * 100 + MCCACHE_VERSION_PATCH)
#define MCCACHE_VERSION_STRING "0.2.0"
/** True when this header is at least version a.b.c. */
#define MCCACHE_VERSION_CHECK(a, b, c) (MCCACHE_VERSION_NUMBER >= ((a) * 10000 + (b) * 100 + (c)))
/** @} */

MCCACHE_BEGIN_DECL

/* ------------------------------------------------------------------------ */
/** @name Error codes
 * Stable negative values. New codes are appended; none is ever renumbered. @{ */
typedef enum mccache_err {
    MCCACHE_OK = 0,          /**< Success. */
    MCCACHE_EINVAL = -1,     /**< An argument is invalid (NULL, empty, out of range). */
    MCCACHE_ENOMEM = -2,     /**< Out of memory. */
    MCCACHE_ENOTFOUND = -3,  /**< The key (or setting, or entry) does not exist. */
    MCCACHE_EEXISTS = -4,    /**< Already exists. */
    MCCACHE_EBUFS = -5,      /**< The caller's buffer is too small; the size needed was returned. */
    MCCACHE_ETOOBIG = -6,    /**< A key or value exceeds the configured maximum size. */
    MCCACHE_ECLOSED = -7,    /**< The node was closed. */
    MCCACHE_ETIMEDOUT = -8,  /**< A deadline passed. */
    MCCACHE_ECANCELED = -9,  /**< The operation was cancelled by shutdown. */
    MCCACHE_EBUSY = -10,     /**< Not allowed now (e.g. closing a node from its own callback). */
    MCCACHE_ECONFIG = -11,   /**< A setting is unknown or its value is invalid. */
    MCCACHE_EIO = -12,       /**< A file or socket operation failed. */
    MCCACHE_ESTALE = -13,    /**< A write was not applied because a newer version is held. */
    MCCACHE_EUSER = -14,     /**< Never produced by the library itself; free for callbacks to use (a loader's failure reaches its waiters with the loader's own code). */
    MCCACHE_ENOTSUP = -15,   /**< Not supported by this build or configuration. */
    MCCACHE_EINTERNAL = -16  /**< A bug in libmccache; please report it. */
} mccache_err;
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Opaque handles @{ */
typedef struct mccache_config_s mccache_config_t; /**< Settings. */
typedef struct mccache_s mccache_t;               /**< A node. */
typedef struct mccache_cache_s mccache_cache_t;   /**< A named cache of a node. */
typedef struct mccache_value_s mccache_value_t;   /**< A refcounted immutable value. */
typedef struct mccache_iter_s mccache_iter_t;     /**< An iterator over a cache. */
typedef struct mccache_load_s mccache_load_t;     /**< What a loader hands back (mccache_get_or_load()). */
/** @} */

/** Per-entry TTL: use the cache's configured `cache_ttl`. */
#define MCCACHE_TTL_DEFAULT ((int64_t)0)
/** Per-entry TTL: the entry never expires (it can still be evicted). */
#define MCCACHE_TTL_NEVER ((int64_t)-1)

/* ------------------------------------------------------------------------ */
/** @name Version and errors @{ */

/**
 * @brief The library's version as MAJOR*10000 + MINOR*100 + PATCH.
 * @returns The run-time version, to compare with #MCCACHE_VERSION_NUMBER.
 * Thread-safety: safe from any thread.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API unsigned mccache_version(void);

/**
 * @brief The library's version as a string, e.g. "0.1.0".
 * @returns A static string; never NULL.
 * Thread-safety: safe from any thread.
 * Ownership: static storage; do not free.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API const char *mccache_version_string(void);

/**
 * @brief A sentence describing an error code.
 * @param err A value returned by this library.
 * @returns A static string; "unknown error" for a code it does not know; never NULL.
 * Thread-safety: safe from any thread.
 * Ownership: static storage; do not free.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API const char *mccache_strerror(int err);

/**
 * @brief The symbolic name of an error code, e.g. "MCCACHE_ENOTFOUND".
 * @param err A value returned by this library.
 * @returns A static string; "MCCACHE_EUNKNOWN" for a code it does not know; never NULL.
 * Thread-safety: safe from any thread.
 * Ownership: static storage; do not free.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API const char *mccache_err_name(int err);

/**
 * @brief The message of the calling thread's most recent failure.
 *
 * Every function that returns an error sets it; successful calls leave it
 * alone, so read it right after the failing call, on the same thread.
 * @returns A thread-local string; "" if no call on this thread failed; never NULL.
 * Thread-safety: thread-local; each thread sees only its own failures.
 * Ownership: owned by the library; valid until the next failing call on this thread.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API const char *mccache_last_error(void);

/**
 * @brief Free memory that this library returned to the caller (JSON strings).
 * @param ptr A pointer returned through a `char **` out-parameter, or NULL.
 * Thread-safety: safe from any thread.
 * Ownership: takes ownership of @p ptr.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API void mccache_free(void *ptr);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Configuration
 *
 * Settings are string key/value pairs; `docs/CONFIG.md` lists every key, its
 * type, default and range. Node settings have plain names (`packet_mtu`).
 * Per-cache settings (`cache_ttl`, `cache_max`, `cache_size`, `cache_mode`)
 * given with a plain name are the default for every cache, and given as
 * `NAME.key` (or in an INI section `[NAME]`) apply to the cache `NAME` only.
 *
 * A setting from a source of lower precedence never overwrites one from a
 * higher source, whatever the order of the calls: defaults < INI file <
 * environment < mccache_config_set(). @{ */

/**
 * @brief Create a configuration holding the built-in defaults.
 * @param[out] out Receives the new configuration.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL if @p out is NULL, #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread.
 * Ownership: the caller owns `*out` and frees it with mccache_config_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_config_new(mccache_config_t **out);

/**
 * @brief Free a configuration.
 * @param config The configuration, or NULL (a no-op).
 * Thread-safety: must not race with other calls on the same configuration.
 * Ownership: takes ownership of @p config.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API void mccache_config_free(mccache_config_t *config);

/**
 * @brief Set one setting, with the precedence of an API setter (the highest).
 * @param config The configuration.
 * @param key A key from `docs/CONFIG.md`, or `CACHE.key` for a per-cache key.
 * @param value The value as text (e.g. "60", "30s", "64MiB", "replicate").
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL for a NULL argument; #MCCACHE_ECONFIG
 *          for an unknown key or an invalid value (mccache_last_error() names
 *          the key, the value and the accepted range).
 * Thread-safety: must not race with other calls on the same configuration.
 * Ownership: @p key and @p value are copied; the caller keeps them.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_config_set(mccache_config_t *config, const char *key, const char *value);

/**
 * @brief Load an INI file: section `[mccache]` for the node, `[NAME]` for cache NAME.
 * @param config The configuration.
 * @param path The file's path.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL for a NULL argument; #MCCACHE_EIO if the
 *          file cannot be read; #MCCACHE_ECONFIG for a syntax error, an unknown
 *          key or an invalid value (the message names `path:line`). On error
 *          the configuration is left unchanged.
 * Thread-safety: must not race with other calls on the same configuration.
 * Ownership: @p path is not retained.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_config_load_file(mccache_config_t *config, const char *path);

/**
 * @brief Load `MCCACHE_<KEY>` environment variables (e.g. `MCCACHE_CACHE_TTL`).
 *
 * Unknown `MCCACHE_*` variables are ignored (other tools share the prefix).
 * @param config The configuration.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL for a NULL argument; #MCCACHE_ECONFIG
 *          for an invalid value (the message names the variable). On error
 *          the configuration is left unchanged.
 * Thread-safety: must not race with other calls on the same configuration,
 *          nor with setenv() in other threads.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_config_load_env(mccache_config_t *config);

/**
 * @brief Read one setting's effective value as text.
 * @param config The configuration.
 * @param key The key (as for mccache_config_set()).
 * @param buf Receives the NUL-terminated value; may be NULL if `*len` is 0.
 * @param[in,out] len In: the size of @p buf. Out: the size needed, including the NUL.
 * @returns #MCCACHE_OK; #MCCACHE_EBUFS if @p buf is too small (`*len` holds the
 *          size needed); #MCCACHE_ECONFIG for an unknown key; #MCCACHE_EINVAL.
 *          Secrets (`crypto_key`) read back as "(set)" or "".
 * Thread-safety: must not race with writes to the same configuration.
 * Ownership: the caller owns @p buf.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_config_get(const mccache_config_t *config, const char *key, char *buf,
                                   size_t *len);

/**
 * @brief The configuration as JSON, with the source of every value.
 *
 * Shape: `{"node":{"KEY":{"value":V,"source":"default|file:PATH:LINE|env:VAR|api"}},
 * "caches":{"NAME":{...}}}`. Secrets are masked.
 * @param config The configuration.
 * @param[out] out Receives a NUL-terminated JSON string.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ENOMEM.
 * Thread-safety: must not race with writes to the same configuration.
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_config_to_json(const mccache_config_t *config, char **out);

/**
 * @brief Check a configuration as mccache_open() would, without opening a node.
 *
 * Runs every rule that spans several settings (e.g. `cache_size` must hold a
 * value of `max_value_size`, `tombstone_ttl` must be at least `cache_pulse`);
 * a single bad value was already refused when it was set or loaded. The
 * message names the keys, their values, where each came from and what would
 * be accepted, word for word as mccache_open() would fail.
 * @param config The configuration.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL if @p config is NULL,
 *          #MCCACHE_ECONFIG with mccache_last_error() saying what is wrong, #MCCACHE_ENOMEM.
 * Thread-safety: must not race with writes to the same configuration.
 * Ownership: none; @p config is only read.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_config_validate(const mccache_config_t *config);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Logging @{ */

/** Log levels, most severe first. */
typedef enum mccache_log_level {
    MCCACHE_LOG_ERROR = 0,
    MCCACHE_LOG_WARN = 1,
    MCCACHE_LOG_INFO = 2,
    MCCACHE_LOG_DEBUG = 3
} mccache_log_level;

/**
 * @brief A log sink.
 * @param level One of #mccache_log_level.
 * @param message The formatted line, without a trailing newline; borrowed for the call.
 * @param opaque The pointer given at registration.
 */
typedef void (*mccache_log_cb)(int level, const char *message, void *opaque);

/**
 * @brief Send a node's log lines to a callback instead of `log_filename`.
 * @param node The node.
 * @param cb The sink, or NULL to go back to the configured file (or stderr).
 * @param opaque Passed to @p cb.
 * @param opaque_free Called exactly once with @p opaque, after the last call
 *        to @p cb (on replacement or close), or at once if this function fails
 *        for any reason but #MCCACHE_EINVAL on @p node. May be NULL.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: the library owns @p opaque until it calls @p opaque_free.
 * Callback context: @p cb runs on the node's dispatcher thread, after the
 *        line was logged (at most 1024 lines wait; more are dropped and
 *        counted as `log_lines_dropped`). After close it runs on the thread
 *        that logs.
 */
MCCACHE_API int mccache_set_log_cb(mccache_t *node, mccache_log_cb cb, void *opaque,
                                   void (*opaque_free)(void *));
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Node @{ */

/**
 * @brief Open a node: validate the configuration, start its loop and dispatcher threads.
 * @param config The settings; copied, so the caller may free it right after.
 *        NULL means defaults plus the environment.
 * @param[out] out Receives the node.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL; #MCCACHE_ECONFIG if the settings are
 *          inconsistent; #MCCACHE_ENOMEM; #MCCACHE_EIO if the log file or the
 *          loop cannot be set up.
 * Thread-safety: safe from any thread.
 * Ownership: the caller owns `*out` and must close it with mccache_close().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_open(const mccache_config_t *config, mccache_t **out);

/**
 * @brief Close a node: stop its loop within a bounded time, free its caches.
 *
 * Calls in flight on other threads finish first; later calls with this node
 * or its caches return #MCCACHE_ECLOSED. Change events already queued may
 * still be delivered before close returns; any left are dropped and counted.
 * Then every registered `opaque_free` that has not run yet runs, on the
 * calling thread. Close waits for a callback that is running to return, so
 * a callback that never returns makes close wait forever.
 * @param node The node, or NULL (a no-op returning #MCCACHE_OK).
 * @returns #MCCACHE_OK; #MCCACHE_ECLOSED if already closed; #MCCACHE_EBUSY when
 *          called from one of this node's callbacks.
 * Thread-safety: safe from any thread, concurrently with any call on the node.
 * Ownership: the node's resources are released; the handle stays a token.
 * Callback context: not from this node's own callbacks (#MCCACHE_EBUSY).
 */
MCCACHE_API int mccache_close(mccache_t *node);

/**
 * @brief The node's 64-bit id (configured `node_id`, or random when 0).
 * @param node The node.
 * @param[out] out Receives the id.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_node_id(mccache_t *node, uint64_t *out);

/**
 * @brief The node's effective configuration as JSON, with sources (see mccache_config_to_json()).
 * @param node The node.
 * @param[out] out Receives the JSON string.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED, #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread.
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_node_config_json(mccache_t *node, char **out);

/**
 * @brief Metrics of the node and of every cache on it, as JSON.
 *
 * Shape: `{"node":{...},"caches":{"NAME":{...}},"cluster":{...}}`; every
 * key, its kind, unit and meaning is in `docs/METRICS.md`.
 * @param node The node.
 * @param[out] out Receives the JSON string.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED, #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread. Counters are read without stopping
 *          writers, so the figures are individually exact but not a snapshot.
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_metrics_json(mccache_t *node, char **out);

/**
 * @brief Metrics of the node, its caches and the cluster in Prometheus' text format.
 *
 * The text exposition format, version 0.0.4 (`Content-Type: text/plain;
 * version=0.0.4`), rendered from the same table as mccache_metrics_json():
 * one family per metric of `docs/METRICS.md`, named
 * `mccache_<group>_<name>` (dots become underscores; counters end in
 * `_total`), with `# HELP` and `# TYPE counter|gauge` lines. Cache metrics
 * carry a `cache="NAME"` label. Text facts (node id, address, checksums)
 * are the labels of `mccache_node_info`, `mccache_cluster_info` and
 * `mccache_cache_info`, whose value is 1. Label values and help text are
 * escaped as the format requires. The library serves no HTTP: hand this
 * text to your own endpoint (`examples/prometheus_exporter.c` shows one).
 * @param node The node.
 * @param[out] out Receives the NUL-terminated text.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED, #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread; figures as for mccache_metrics_json().
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_metrics_prometheus(mccache_t *node, char **out);

/**
 * @brief The Prometheus text format of metrics received as JSON.
 *
 * For metrics gathered from other members: @p json is either one
 * mccache_metrics_json() document, rendered exactly as
 * mccache_metrics_prometheus() renders that node, or a
 * mccache_cluster_collect() answer to #MCCACHE_QUERY_METRICS
 * (`{"replies":{"HEX-ID":{...}},...}`), rendered with a `node="HEX-ID"`
 * label on every sample so that one scrape holds the whole cluster. A
 * metric missing from a document (a member of an older version) reads 0.
 * @param json The NUL-terminated JSON text.
 * @param[out] out Receives the NUL-terminated exposition text.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL (NULL argument, not JSON, or
 *          another shape: the message says which), #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread.
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_prometheus_from_json(const char *json, char **out);

/**
 * @brief Run one housekeeping pass now (expire entries, collect tombstones), and wait for it.
 *
 * The loop thread does this every `daemon_sleep` anyway; this call is for
 * tests and for callers that want memory back at once.
 * @param node The node.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED,
 *          #MCCACHE_EBUSY from this node's callbacks (it would wait on itself).
 * Thread-safety: safe from any thread.
 * Ownership: none.
 * Callback context: not from this node's own callbacks.
 */
MCCACHE_API int mccache_housekeep(mccache_t *node);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Named caches @{ */

/** Coherence modes of a cache (`cache_mode`). */
typedef enum mccache_mode {
    MCCACHE_MODE_UPDATE = 0,     /**< A remote write applies only where the key is present. */
    MCCACHE_MODE_REPLICATE = 1,  /**< Every write applies on every member (the default). */
    MCCACHE_MODE_INVALIDATE = 2  /**< A remote write removes the local copy. */
} mccache_mode;

/**
 * @brief Open (or find) the cache @p name on @p node.
 * @param node The node.
 * @param name 1 to 255 bytes of UTF-8, no NUL, no '.'.
 * @param[out] out Receives the cache; the same handle for the same name.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED, #MCCACHE_ENOMEM,
 *          #MCCACHE_ECONFIG if its `[name]` settings do not fit the node.
 * Thread-safety: safe from any thread; concurrent opens of one name yield one cache.
 * Ownership: borrowed from the node; never free it. Valid until mccache_close(),
 *          after which calls with it return #MCCACHE_ECLOSED.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_cache_open(mccache_t *node, const char *name, mccache_cache_t **out);

/**
 * @brief The name of a cache.
 * @param cache The cache.
 * @returns The NUL-terminated name, or NULL if @p cache is NULL.
 * Thread-safety: safe from any thread.
 * Ownership: owned by the handle; valid as long as the handle (even after close).
 * Callback context: may be called from callbacks.
 */
MCCACHE_API const char *mccache_cache_name(const mccache_cache_t *cache);

/**
 * @brief Insert or replace an entry.
 *
 * The write is stamped with a new version (hybrid logical clock, node id).
 * The store copies @p key and @p value before returning.
 * @param cache The cache.
 * @param key The key's bytes (any bytes); @p klen from 1 to `max_key_size`.
 * @param klen The key's length.
 * @param value The value's bytes; may be NULL only when @p vlen is 0.
 * @param vlen The value's length, at most `max_value_size` and the cache's `cache_size`.
 * @param ttl_ms Time to live in milliseconds: #MCCACHE_TTL_DEFAULT (0) for the
 *        cache's `cache_ttl`, #MCCACHE_TTL_NEVER (-1) for no expiry.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL (NULL pointer, empty key, ttl < -1);
 *          #MCCACHE_ETOOBIG (key or value over the limit: nothing is stored
 *          or replicated); #MCCACHE_ECLOSED; #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread.
 * Ownership: @p key and @p value are copied; the caller keeps them.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_put(mccache_cache_t *cache, const void *key, size_t klen, const void *value,
                            size_t vlen, int64_t ttl_ms);

/**
 * @brief Look up an entry and take a reference to its value (zero copy).
 * @param cache The cache.
 * @param key The key's bytes.
 * @param klen The key's length (1 to `max_key_size`).
 * @param[out] out Receives the value on success; set to NULL otherwise.
 * @returns #MCCACHE_OK; #MCCACHE_ENOTFOUND if absent or expired;
 *          #MCCACHE_EINVAL; #MCCACHE_ETOOBIG for an over-long key; #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread; never waits for the loop thread.
 * Ownership: the caller owns one reference to `*out` and drops it with
 *          mccache_value_free(). The bytes never change while it is held.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_get(mccache_cache_t *cache, const void *key, size_t klen,
                            mccache_value_t **out);

/**
 * @brief Look up an entry and copy its value into the caller's buffer.
 * @param cache The cache.
 * @param key The key's bytes.
 * @param klen The key's length.
 * @param buf Receives the value; may be NULL when `*len` is 0.
 * @param[in,out] len In: the capacity of @p buf. Out: the value's size.
 * @returns #MCCACHE_OK; #MCCACHE_EBUFS when the value is larger than the buffer
 *          (`*len` holds the size needed; nothing is copied, and the miss is
 *          not counted); #MCCACHE_ENOTFOUND; #MCCACHE_EINVAL; #MCCACHE_ETOOBIG;
 *          #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: the caller owns @p buf.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_get_copy(mccache_cache_t *cache, const void *key, size_t klen, void *buf,
                                 size_t *len);

/**
 * @brief The bytes of a value.
 * @param value A value from a get, or NULL.
 * @param[out] len Receives the size; may be NULL.
 * @returns A pointer to the bytes (not NUL-terminated), valid while the
 *          reference is held; NULL if @p value is NULL.
 * Thread-safety: safe from any thread.
 * Ownership: borrowed from @p value.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API const void *mccache_value_data(const mccache_value_t *value, size_t *len);

/**
 * @brief Take another reference to a value (e.g. to keep one passed to a callback).
 * @param value The value, or NULL.
 * @returns @p value.
 * Thread-safety: safe from any thread.
 * Ownership: the caller owns the new reference; drop it with mccache_value_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API mccache_value_t *mccache_value_ref(mccache_value_t *value);

/**
 * @brief Drop a reference to a value; the last one frees it.
 * @param value The value, or NULL (a no-op).
 * Thread-safety: safe from any thread.
 * Ownership: takes ownership of one reference.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API void mccache_value_free(mccache_value_t *value);

/**
 * @brief Delete an entry. Leaves a versioned tombstone for `tombstone_ttl`.
 * @param cache The cache.
 * @param key The key's bytes.
 * @param klen The key's length.
 * @returns #MCCACHE_OK if an entry was deleted; #MCCACHE_ENOTFOUND if there was
 *          none (a tombstone is written all the same, so the delete also wins
 *          over older writes still in flight); #MCCACHE_EINVAL; #MCCACHE_ETOOBIG;
 *          #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: @p key is not retained.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_delete(mccache_cache_t *cache, const void *key, size_t klen);

/**
 * @brief Whether a live entry exists, without counting a lookup.
 * @param cache The cache.
 * @param key The key's bytes.
 * @param klen The key's length.
 * @returns #MCCACHE_OK if present; #MCCACHE_ENOTFOUND if absent or expired;
 *          #MCCACHE_EINVAL; #MCCACHE_ETOOBIG; #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: @p key is not retained.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_contains(mccache_cache_t *cache, const void *key, size_t klen);

/**
 * @brief The number of live entries (tombstones excluded).
 * @param cache The cache.
 * @param[out] out Receives the count.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread; exact at some instant during the call.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_len(mccache_cache_t *cache, size_t *out);

/**
 * @brief Remove every entry of the cache.
 *
 * The clear is a versioned operation: every entry older than it is removed
 * (and reported as a delete to the change callback).
 * @param cache The cache.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread; writes that race with it and carry a
 *          newer version survive.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_clear(mccache_cache_t *cache);

/** Metadata of one entry. Set `struct_size` to `sizeof(mccache_metadata_t)` before the call. */
typedef struct mccache_metadata_s {
    uint32_t struct_size;     /**< In: sizeof(mccache_metadata_t) as the caller compiled it. */
    uint32_t reserved0;
    uint64_t version_hlc;     /**< Version: 48-bit milliseconds << 16 | 16-bit counter. */
    uint64_t version_node;    /**< Version: id of the node that wrote it. */
    int64_t created_ms;       /**< Unix ms of the first write of this key on this node. */
    int64_t updated_ms;       /**< Unix ms of the last write applied on this node. */
    int64_t expires_ms;       /**< Absolute Unix ms of expiry; -1 for never. */
    int64_t last_lookup_ms;   /**< Unix ms of the last get; 0 if never looked up. */
    uint64_t lookups;         /**< Number of gets that hit this entry. */
    uint64_t key_size;        /**< Bytes of the key. */
    uint64_t value_size;      /**< Bytes of the value. */
    uint64_t charged_bytes;   /**< Bytes counted against `cache_size` (key, value, overhead). */
    uint64_t checksum;        /**< The entry's checksum (see mccache_key_checksum()). */
} mccache_metadata_t;

/**
 * @brief Metadata of one live entry.
 * @param cache The cache.
 * @param key The key's bytes.
 * @param klen The key's length.
 * @param[in,out] out In: `struct_size` set to `sizeof(mccache_metadata_t)`. Out:
 *        filled, up to `struct_size` bytes (a caller built against an
 *        older, shorter layout gets the fields it knows).
 * @returns #MCCACHE_OK; #MCCACHE_ENOTFOUND; #MCCACHE_EINVAL (also when
 *          `struct_size` is smaller than the first published layout);
 *          #MCCACHE_ETOOBIG; #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread. It is not a lookup: it changes no counter.
 * Ownership: the caller owns @p out.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_metadata(mccache_cache_t *cache, const void *key, size_t klen,
                                 mccache_metadata_t *out);

/**
 * @brief Get several keys in one call.
 * @param cache The cache.
 * @param n The number of keys (may be 0).
 * @param keys The keys.
 * @param klens Their lengths.
 * @param[out] values Receives a reference per key, or NULL where the key is missing.
 * @param[out] statuses Receives per key #MCCACHE_OK or #MCCACHE_ENOTFOUND; may be NULL.
 * @returns #MCCACHE_OK when every key was looked up (found or not);
 *          #MCCACHE_EINVAL or #MCCACHE_ETOOBIG if any key is invalid (nothing
 *          is looked up; the message names the index); #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread; each key is looked up atomically, the
 *          batch as a whole is not a snapshot.
 * Ownership: the caller owns each non-NULL `values[i]` (mccache_value_free()).
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_get_batch(mccache_cache_t *cache, size_t n, const void *const *keys,
                                  const size_t *klens, mccache_value_t **values, int *statuses);

/**
 * @brief Put several entries in one call, all with the same TTL.
 * @param cache The cache.
 * @param n The number of entries (may be 0).
 * @param keys The keys.
 * @param klens Their lengths.
 * @param values The values.
 * @param vlens Their lengths.
 * @param ttl_ms As for mccache_put().
 * @returns #MCCACHE_OK when all were stored; #MCCACHE_EINVAL or #MCCACHE_ETOOBIG
 *          if any entry is invalid (then none is stored; the message names
 *          the index); #MCCACHE_ECLOSED; #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread; each put is atomic, the batch is not.
 * Ownership: keys and values are copied.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_put_batch(mccache_cache_t *cache, size_t n, const void *const *keys,
                                  const size_t *klens, const void *const *values,
                                  const size_t *vlens, int64_t ttl_ms);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Iteration
 *
 * Consistency: the iterator walks the cache one shard at a time, taking a
 * snapshot of each shard (its keys and references to their values) under that
 * shard's lock. So each entry that is live for the whole iteration is returned
 * exactly once with a value it held during the iteration; an entry inserted
 * or deleted meanwhile may or may not be returned; and no entry is returned
 * that had expired when it is reached. Iteration never blocks writers for
 * longer than one shard copy, and it is not a lookup (no counter changes). @{ */

/**
 * @brief Start iterating over a cache.
 * @param cache The cache.
 * @param[out] out Receives the iterator.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED, #MCCACHE_ENOMEM.
 * Thread-safety: the iterator is for one thread at a time; the cache stays
 *          usable by all threads meanwhile.
 * Ownership: the caller frees `*out` with mccache_iter_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_iter_new(mccache_cache_t *cache, mccache_iter_t **out);

/**
 * @brief Advance to the next entry.
 * @param iter The iterator.
 * @param[out] key Receives the key's bytes; valid until the next call on @p iter.
 * @param[out] klen Receives the key's length.
 * @param[out] value Receives a new reference to the value; may be NULL if not wanted.
 * @returns #MCCACHE_OK; #MCCACHE_ENOTFOUND at the end; #MCCACHE_EINVAL;
 *          #MCCACHE_ECLOSED if the node closed meanwhile.
 * Thread-safety: not safe to call concurrently on the same iterator.
 * Ownership: the caller owns `*value` (mccache_value_free()); @p key is borrowed.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_iter_next(mccache_iter_t *iter, const void **key, size_t *klen,
                                  mccache_value_t **value);

/**
 * @brief Free an iterator.
 * @param iter The iterator, or NULL (a no-op).
 * Thread-safety: not concurrently with other calls on the same iterator.
 * Ownership: takes ownership of @p iter.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API void mccache_iter_free(mccache_iter_t *iter);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Checksums and metrics @{ */

/**
 * @brief An order-independent digest of every live entry of a cache.
 *
 * The digest is the sum, modulo 2^64, of each entry's checksum (see
 * mccache_key_checksum()), so two members with the same keys, versions and
 * values have the same checksum whatever the order of their writes. It is
 * kept incrementally: this call is O(number of shards).
 * @param cache The cache.
 * @param[out] out Receives the digest (0 for an empty cache).
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_checksum(mccache_cache_t *cache, uint64_t *out);

/**
 * @brief The checksum of one entry: XXH3-64 over its key, version and value hash.
 * @param cache The cache.
 * @param key The key's bytes.
 * @param klen The key's length.
 * @param[out] out Receives the checksum.
 * @returns #MCCACHE_OK, #MCCACHE_ENOTFOUND, #MCCACHE_EINVAL, #MCCACHE_ETOOBIG, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_key_checksum(mccache_cache_t *cache, const void *key, size_t klen,
                                     uint64_t *out);

/**
 * @brief Metrics of one cache as JSON (the `caches.NAME` object of mccache_metrics_json()).
 * @param cache The cache.
 * @param[out] out Receives the JSON string.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED, #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread.
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_cache_metrics_json(mccache_cache_t *cache, char **out);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Change events @{ */

/** What happened to an entry. */
typedef enum mccache_event_type {
    MCCACHE_EVENT_INSERT = 1,  /**< A new key was stored. */
    MCCACHE_EVENT_UPDATE = 2,  /**< An existing key got a newer value. */
    MCCACHE_EVENT_DELETE = 3,  /**< The key was deleted (or cleared). */
    MCCACHE_EVENT_EVICT = 4,   /**< The key was evicted to respect `cache_max`/`cache_size`. */
    MCCACHE_EVENT_EXPIRE = 5   /**< The key's TTL ran out. */
} mccache_event_type;

/** Where a change came from. */
typedef enum mccache_event_origin {
    MCCACHE_ORIGIN_LOCAL = 0,  /**< A call on this node. */
    MCCACHE_ORIGIN_REMOTE = 1, /**< A write replicated from another member. */
    MCCACHE_ORIGIN_REPAIR = 2  /**< Anti-entropy found this member incoherent and repaired it. */
} mccache_event_origin;

/** One change, borrowed for the duration of the callback. */
typedef struct mccache_event_s {
    uint32_t struct_size;          /**< sizeof(mccache_event_t) of the library; fields may be appended. */
    int32_t type;                  /**< A #mccache_event_type. */
    int32_t origin;                /**< A #mccache_event_origin. */
    int32_t reserved0;
    mccache_cache_t *cache;        /**< The cache. */
    const void *key;               /**< The key's bytes. */
    size_t klen;                   /**< The key's length. */
    mccache_value_t *value;        /**< The new value (insert, update), else the old one or NULL. Borrowed: take mccache_value_ref() to keep it. */
    uint64_t version_hlc;          /**< The version of the change. */
    uint64_t version_node;         /**< The node that made the change. */
    int64_t last_lookup_ms;        /**< Unix ms of the key's last get on this node before the change; 0 if never. */
    int64_t time_ms;               /**< Unix ms at which the change was applied on this node. */
} mccache_event_t;

/**
 * @brief A change callback.
 * @param event The change; borrowed for the call.
 * @param opaque The pointer given at registration.
 */
typedef void (*mccache_change_cb)(const mccache_event_t *event, void *opaque);

/**
 * @brief Be told about every change to a cache (replaces an earlier registration).
 *
 * With `callback_win` > 0 (McCache's lookup window), only changes to keys
 * that were looked up on this node within that many milliseconds before the
 * change are reported. Events are queued by the writer and delivered in order
 * per key on the dispatcher thread. If the queue exceeds `event_queue_max` (a
 * slow callback), further events are dropped and counted (`events_dropped`).
 * @param cache The cache.
 * @param cb The callback, or NULL to unregister.
 * @param opaque Passed to @p cb.
 * @param opaque_free Called exactly once with @p opaque after the last call to
 *        @p cb: on replacement, unregistration or close, or at once if this
 *        function fails (except for #MCCACHE_EINVAL on @p cache). May be NULL.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: the library owns @p opaque until it calls @p opaque_free.
 * Callback context: @p cb and @p opaque_free run on the node's dispatcher
 *        thread (or, at close, on the closing thread).
 */
MCCACHE_API int mccache_on_change(mccache_cache_t *cache, mccache_change_cb cb, void *opaque,
                                  void (*opaque_free)(void *));
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Loaders
 *
 * mccache_get_or_load() returns a key's value, loading it when it is absent:
 * Caffeine's `get(key, mappingFunction)`, with the load coordinated across
 * the cluster. Concurrent callers of one key on a node wait for one load
 * (a lock per key, not per cache). In a `replicate` cache, a member that
 * misses first claims the key's *load lease* from every member
 * (`docs/PROTOCOL.md` §4.6): the other members that miss wait for the
 * value the leaseholder loads and replicates, so a miss on N members costs
 * one load. When the lease (`load_lease`) runs out or its holder goes down,
 * another member loads. In `update` and `invalidate` caches a remote put does
 * not give a member the value, so there each member loads for itself (still
 * once per key per node).
 *
 * Per-cache settings (`docs/CONFIG.md`): `load_lease`, `refresh_after`
 * (refresh-ahead), `stale_while_revalidate`, `stale_if_error`,
 * `negative_ttl`. Statistics are in the cache's metrics (`loader.*`) and the
 * cluster's (`leases.*`), `docs/METRICS.md`. @{ */

/**
 * @brief A loader: produce the value of a key that get_or_load did not find.
 *
 * Call mccache_load_set_value() and return #MCCACHE_OK; or return an error:
 * a negative `MCCACHE_E*` code of your choice (#MCCACHE_EUSER is free for
 * this; #MCCACHE_ENOTFOUND says the key has no value), optionally with
 * mccache_load_set_error() for its text. A positive return counts as
 * #MCCACHE_EUSER. Every caller waiting for this load, on every member,
 * receives that code, and mccache_last_error() gives the text.
 * @param load Where the outcome goes; valid only during the call.
 * @param key The key as the caller gave it (without the cache's namespace).
 * @param klen Its length.
 * @param opaque The pointer given with the loader.
 * @returns #MCCACHE_OK, or the failure's code.
 */
typedef int (*mccache_loader_cb)(mccache_load_t *load, const void *key, size_t klen, void *opaque);

/**
 * @brief Hand a loader's value back (from inside the loader).
 *
 * The value is stored with @p ttl_ms as mccache_put() would, and
 * replicated; a second call replaces the first.
 * @param load The loader's argument.
 * @param value The value's bytes; may be NULL only when @p vlen is 0.
 * @param vlen Its length (at most `max_value_size`).
 * @param ttl_ms #MCCACHE_TTL_DEFAULT (the cache's `cache_ttl`), #MCCACHE_TTL_NEVER, or ms.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL (NULL @p load or @p value, ttl < -1).
 *          A value over the limits fails the load with #MCCACHE_ETOOBIG.
 * Thread-safety: call it only from the loader that received @p load.
 * Ownership: @p value is copied.
 * Callback context: inside a loader only.
 */
MCCACHE_API int mccache_load_set_value(mccache_load_t *load, const void *value, size_t vlen, int64_t ttl_ms);

/**
 * @brief Say why a load failed (from inside the loader, before returning an error).
 * @param load The loader's argument.
 * @param message The text every waiter's mccache_last_error() will read
 *        (truncated to 1024 bytes for other members).
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL for a NULL argument.
 * Thread-safety: call it only from the loader that received @p load.
 * Ownership: @p message is copied.
 * Callback context: inside a loader only.
 */
MCCACHE_API int mccache_load_set_error(mccache_load_t *load, const char *message);

/**
 * @brief Get a key's value, loading it once (per node, and per cluster in a
 *        replicated cache) when it is absent.
 *
 * - Present and fresh: returned at once, like mccache_get(). If it was
 *   written longer than `refresh_after` ago, one reload per cluster starts
 *   (the caller still gets the present value; see below for where it runs).
 * - Past its TTL but within `stale_while_revalidate`: returned at once, and
 *   one reload per cluster starts.
 * - Absent (or past both windows): one caller loads. The others on this
 *   node, and on other members that miss it meanwhile, wait for that
 *   load's value (or its error). If the load fails or times out while the
 *   entry is within `stale_if_error` of its TTL, the stale value is returned.
 *   A failure is remembered for `negative_ttl` on every member that hears
 *   of it, and returned meanwhile without loading again.
 *
 * Which thread loads: a miss runs @p loader (or, when it is NULL, the
 * registered one) on the calling thread, never on the node's loop thread.
 * A reload (refresh-ahead, stale-while-revalidate) runs the registered
 * loader on the node's dispatcher thread, so no caller waits for it; with
 * no registered loader, the caller that wins the reload's lease runs
 * @p loader itself and returns the new value, while every other caller is
 * served the old one.
 * @param cache The cache.
 * @param key The key's bytes (1 to `max_key_size`).
 * @param klen Its length.
 * @param loader The loader, or NULL for the one given to mccache_set_loader().
 * @param opaque Passed to @p loader.
 * @param timeout_ms The longest this call waits for another caller's load
 *        or a lease decision: > 0 ms, 0 for twice the cache's `load_lease`,
 *        -1 for no limit. A load this thread runs is never cut short.
 * @param[out] out Receives a reference to the value on success; NULL otherwise.
 * @returns #MCCACHE_OK; the loader's own code when it (or the load waited
 *          for, on any member) failed; #MCCACHE_ETIMEDOUT; #MCCACHE_EINVAL
 *          (NULL argument, no loader given or registered, timeout < -1);
 *          #MCCACHE_ETOOBIG (key, or the loaded value); #MCCACHE_ECLOSED
 *          (also when the node closes while this call waits); #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread. A loader must not call
 *          mccache_get_or_load() for the key it is loading (it would wait
 *          for itself until its timeout).
 * Ownership: the caller owns one reference to `*out` (mccache_value_free()).
 *          @p opaque stays the caller's; it is not used after this call returns.
 * Callback context: may be called from callbacks, but a wait there holds up
 *          the dispatcher thread (and background reloads with it).
 */
MCCACHE_API int mccache_get_or_load(mccache_cache_t *cache, const void *key, size_t klen,
                                    mccache_loader_cb loader, void *opaque, int64_t timeout_ms,
                                    mccache_value_t **out);

/**
 * @brief Register a cache's loader: the one background reloads run, and
 *        mccache_get_or_load() uses when given none (as Caffeine's CacheLoader).
 * @param cache The cache.
 * @param loader The loader, or NULL to unregister.
 * @param opaque Passed to @p loader.
 * @param opaque_free Called exactly once with @p opaque, once no load uses
 *        it any more after it is replaced or unregistered, or at close (or
 *        at once if this function fails, except for #MCCACHE_EINVAL on
 *        @p cache). May be NULL.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread; a load already running finishes with
 *        the loader it started with.
 * Ownership: the library owns @p opaque until it calls @p opaque_free.
 * Callback context: @p loader runs on the calling thread of
 *        mccache_get_or_load() (a miss) or on the dispatcher thread (a
 *        reload); @p opaque_free on the dispatcher thread (or, at close, on
 *        the closing thread).
 */
MCCACHE_API int mccache_set_loader(mccache_cache_t *cache, mccache_loader_cb loader, void *opaque,
                                   void (*opaque_free)(void *));
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Namespaces
 *
 * A cache with a `key_prefix` or a `key_version` (`docs/CONFIG.md`) stores
 * every key as `key_prefix`, then `key_version` and the cache's
 * *generation* in decimal (`"3.0:"`), then the key. Every call that takes a
 * key applies it, so callers never see it; iteration and change events
 * show the stored keys. Members must be configured alike. Bumping the
 * generation invalidates every entry of the cache on every member at O(1)
 * cost: nothing is deleted, the old keys are no longer reached (they leave
 * by TTL or eviction, and count in mccache_len() until then). The
 * generation is replicated like an entry (it lives in the cache
 * `mccache:namespaces`), so a member that was down learns it from
 * anti-entropy. @{ */

/**
 * @brief Invalidate every entry of a namespaced cache, cluster-wide, in O(1).
 * @param cache A cache with `key_prefix` or `key_version` set.
 * @param[out] generation Receives the new generation; may be NULL.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL (NULL @p cache, or the cache has no
 *          namespace: the message names the settings); #MCCACHE_ECLOSED;
 *          #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread. Two members bumping within the
 *          replication delay of each other may both reach the same
 *          generation: both invalidate everything older than it.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_namespace_bump(mccache_cache_t *cache, uint64_t *generation);

/**
 * @brief The generation a namespaced cache's keys are stored under now.
 * @param cache The cache.
 * @param[out] generation Receives it (0 before the first bump, and for a
 *        cache with no namespace).
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_namespace_generation(mccache_cache_t *cache, uint64_t *generation);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Cluster
 *
 * Every node joins its cluster when it opens (see `transport` in
 * `docs/CONFIG.md`): writes replicate to every member, and each cache
 * applies remote writes by its `cache_mode`. The calls below observe and
 * steer that. @{ */

/** What happened to a member. */
typedef enum mccache_member_event {
    MCCACHE_MEMBER_JOINED = 1,    /**< First heard from. */
    MCCACHE_MEMBER_LEFT = 2,      /**< Said goodbye (closed cleanly). */
    MCCACHE_MEMBER_DOWN = 3,      /**< Silent for `member_timeout`. */
    MCCACHE_MEMBER_RECOVERED = 4, /**< Heard from again after being down or gone. */
    MCCACHE_MEMBER_RESTARTED = 5  /**< Came back with a new incarnation (a restart). */
} mccache_member_event;

/** One membership change, borrowed for the duration of the callback. */
typedef struct mccache_member_s {
    uint32_t struct_size;   /**< sizeof(mccache_member_t) of the library; fields may be appended. */
    int32_t event;          /**< A #mccache_member_event. */
    uint64_t node_id;       /**< The member's id. */
    uint64_t incarnation;   /**< Random per start of that member. */
    const char *address;    /**< "ip:port" of its unicast socket. */
    int64_t last_seen_ms;   /**< Unix ms of the last datagram from it. */
} mccache_member_t;

/**
 * @brief A membership callback.
 * @param member The change; borrowed for the call.
 * @param opaque The pointer given at registration.
 */
typedef void (*mccache_member_cb)(const mccache_member_t *member, void *opaque);

/**
 * @brief Be told when members join, leave, go down, recover or restart (replaces an earlier registration).
 * @param node The node.
 * @param cb The callback, or NULL to unregister.
 * @param opaque Passed to @p cb.
 * @param opaque_free Called exactly once with @p opaque after the last call to @p cb
 *        (on replacement or close), or at once if this function fails (except
 *        for #MCCACHE_EINVAL on @p node). May be NULL.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: the library owns @p opaque until it calls @p opaque_free.
 * Callback context: @p cb and @p opaque_free run on the node's dispatcher thread.
 */
MCCACHE_API int mccache_on_member(mccache_t *node, mccache_member_cb cb, void *opaque,
                                  void (*opaque_free)(void *));

/**
 * @brief The members this node knows, as JSON.
 *
 * Shape: `{"self":{"id":HEX,"address":"ip:port"},"members":[{"id":HEX,
 * "address":"ip:port","state":"alive|down|left","last_seen_ms":N}]}`.
 * @param node The node.
 * @param[out] out Receives the JSON string.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED, #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread (it waits briefly for the loop thread).
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_members_json(mccache_t *node, char **out);

/**
 * @brief Start an anti-entropy round with every member now (McCache's pulse, on demand).
 *
 * Returns at once; the repairs follow asynchronously. Rounds also run every
 * `cache_pulse`, and with any member that joins or recovers.
 * @param node The node.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: none.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_sync(mccache_t *node);

/** What a cluster-wide request asks every member for. */
typedef enum mccache_query_kind {
    MCCACHE_QUERY_METRICS = 1,   /**< Each member's mccache_metrics_json(). */
    MCCACHE_QUERY_CHECKSUMS = 2  /**< `{"node":HEX,"caches":{"NAME":{"checksum":HEX,"entries":N}}}`. */
} mccache_query_kind;

/**
 * @brief A reply to a cluster-wide request.
 * @param member_id The answering member (this node answers too), or 0 for the
 *        final call that says the request is over (timeout, or every live
 *        member answered); then @p json is NULL.
 * @param json The member's answer; borrowed for the call.
 * @param opaque The pointer given with the request.
 */
typedef void (*mccache_reply_cb)(uint64_t member_id, const char *json, void *opaque);

/**
 * @brief Ask every member for its metrics or checksums; answers arrive by callback.
 *
 * @p cb runs once per answer, then once more with member 0 when every live
 * member has answered or @p timeout_ms has passed; then @p opaque_free runs.
 * The request goes to the group (or every peer); a live member whose answer
 * has not arrived is asked again by unicast, after `heartbeat_interval` (at
 * least 100 ms) and then at doubling intervals until the timeout, so a lost
 * request or reply costs time, not the answer (metric `queries_resent`).
 * @param node The node.
 * @param kind A #mccache_query_kind.
 * @param cache For checksums: one cache's name, or NULL for every cache.
 * @param timeout_ms How long to wait for answers: 1 to 60000. Precision is
 *        `heartbeat_interval`.
 * @param cb The reply callback.
 * @param opaque Passed to @p cb.
 * @param opaque_free Called exactly once after the final call (or at once
 *        if this function fails, except for #MCCACHE_EINVAL on @p node). May be NULL.
 * @returns #MCCACHE_OK, #MCCACHE_EINVAL, #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread.
 * Ownership: the library owns @p opaque until it calls @p opaque_free.
 * Callback context: @p cb runs on the node's dispatcher thread; if the node
 *        closes first, the final call happens during mccache_close().
 */
MCCACHE_API int mccache_cluster_request(mccache_t *node, int kind, const char *cache,
                                        int timeout_ms, mccache_reply_cb cb, void *opaque,
                                        void (*opaque_free)(void *));

/**
 * @brief Ask every member and wait: the answers as one JSON object.
 *
 * Shape: `{"replies":{"HEX-ID":ANSWER,...},"members":N}` where N is the
 * number of members (this one included) that were alive when asked.
 * @param node The node.
 * @param kind A #mccache_query_kind.
 * @param cache As for mccache_cluster_request().
 * @param timeout_ms As for mccache_cluster_request().
 * @param[out] out Receives the JSON string.
 * @returns #MCCACHE_OK (even if some member did not answer: compare the
 *          count of replies with "members"), #MCCACHE_EINVAL, #MCCACHE_ECLOSED,
 *          #MCCACHE_EBUSY from this node's own callbacks, #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread; blocks the caller up to @p timeout_ms.
 * Ownership: the caller frees `*out` with mccache_free().
 * Callback context: not from this node's callbacks (it would wait on itself).
 */
MCCACHE_API int mccache_cluster_collect(mccache_t *node, int kind, const char *cache,
                                        int timeout_ms, char **out);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Path diagnostics
 *
 * McCache's get_mtu() and get_hops(), done natively as tracepath and
 * traceroute do them, with an ordinary UDP socket (no raw socket, no
 * privilege, no external program). Use them to choose `packet_mtu` and
 * `multicast_hops` for a path between members. Probes go to UDP port 33434
 * of the host, where nothing is expected to listen: the host's ICMP "port
 * unreachable" is the sign that a probe got there, so a firewall that drops
 * UDP or ICMP turns the answer into #MCCACHE_ETIMEDOUT. Each call blocks
 * the calling thread while it probes, one probe in flight at a time, up to
 * 3 tries of @p timeout_ms for each size or hop. @{ */

/**
 * @brief Discover the path MTU to a host, as tracepath does.
 *
 * Probes leave with don't-fragment set (`IP_MTU_DISCOVER` /
 * `IPV6_MTU_DISCOVER`), first as large as the route's MTU; a hop that cannot
 * forward one answers ICMP "fragmentation needed" (IPv6: "packet too big")
 * with its own MTU, read from the socket's error queue (`IP_RECVERR`), and
 * the next probe has that size, until the host answers. The result is the
 * largest IP packet that reaches the host unfragmented, at most 65535; less
 * 28 bytes (IPv4) or 48 (IPv6) it is the largest UDP payload, the value
 * for `packet_mtu` on that path.
 * @param host A host name, or an IPv4 or IPv6 literal.
 * @param timeout_ms How long to wait for each probe's answer: 1 to 60000.
 * @param[out] mtu Receives the path MTU in bytes (0 on failure).
 * @param[out] detail If not NULL, receives NULL, or (whenever a probe was
 *        sent, success or not) a JSON string:
 *        `{"host":S,"address":S,"mtu":N,"payload":N,"probes":[{"size":N,
 *        "outcome":"reached|too big|too big locally|no answer|unreachable",
 *        "from":S|null,"mtu":N,"rtt_ms":X}]}`.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL (NULL or empty @p host, NULL @p mtu,
 *          @p timeout_ms out of range); #MCCACHE_ENOTFOUND if @p host does
 *          not resolve; #MCCACHE_ETIMEDOUT if the host never answered;
 *          #MCCACHE_EIO for no route, an ICMP "unreachable", or a socket error;
 *          #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread; blocks the caller while it probes.
 * Ownership: the caller frees `*detail` with mccache_free().
 * Callback context: may be called from callbacks, but blocks that thread.
 */
MCCACHE_API int mccache_path_mtu(const char *host, int timeout_ms, int *mtu, char **detail);

/**
 * @brief Count the network hops to a host, as traceroute does.
 *
 * Sends UDP probes with a TTL (IPv6: hop limit) of 1, 2, ... and reads the
 * socket's error queue (`IP_RECVERR`): ICMP "time exceeded" names a router
 * on the way, the host's "port unreachable" ends the count. A hop that
 * never answers is counted and passed. 1 means the host is on the same link;
 * set `multicast_hops` to at least this for multicast to reach it.
 * @param host A host name, or an IPv4 or IPv6 literal.
 * @param max_hops The largest TTL tried: 1 to 255.
 * @param timeout_ms How long to wait for each probe's answer: 1 to 60000.
 * @param[out] hops Receives the TTL at which the host answered (0 on failure).
 * @param[out] detail If not NULL, receives NULL, or (whenever a probe was
 *        sent, success or not) a JSON string: `{"host":S,"address":S,
 *        "hops":N,"route":[{"ttl":N,"from":S|null,"rtt_ms":X,"reached":B}]}`.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL (NULL or empty @p host, NULL
 *          @p hops, @p max_hops or @p timeout_ms out of range);
 *          #MCCACHE_ENOTFOUND if @p host does not resolve;
 *          #MCCACHE_ETIMEDOUT if it was not reached within @p max_hops;
 *          #MCCACHE_EIO for no route, an ICMP "unreachable", or a socket error;
 *          #MCCACHE_ENOMEM.
 * Thread-safety: safe from any thread; blocks the caller while it probes.
 * Ownership: the caller frees `*detail` with mccache_free().
 * Callback context: may be called from callbacks, but blocks that thread.
 */
MCCACHE_API int mccache_hops(const char *host, int max_hops, int timeout_ms, int *hops, char **detail);
/** @} */

/* ------------------------------------------------------------------------ */
/** @name Security
 *
 * With `crypto_key` set, every datagram is sealed with AES-256-GCM (the
 * header authenticated, the payload encrypted) and anything that does not
 * authenticate is dropped and counted. `docs/SECURITY.md` has the threat
 * model and the rotation procedure. @{ */

/**
 * @brief Generate a new cluster key: 32 random bytes from the OS, as base64.
 * @param buf Receives the NUL-terminated key (44 characters plus the NUL).
 * @param len The size of @p buf: at least 45.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL for a NULL @p buf; #MCCACHE_EBUFS if
 *          @p len < 45; #MCCACHE_EIO if the OS has no randomness to give.
 * Thread-safety: safe from any thread.
 * Ownership: the caller owns @p buf (wipe it after use).
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_generate_key(char *buf, size_t len);

/**
 * @brief Change a running node's keys (rotation without downtime).
 *
 * @p seal_key seals what this node sends and is accepted on receive;
 * @p accept_key is only accepted. The procedure: give every member the new
 * key as @p accept_key; then make it every member's @p seal_key, with the old
 * one as @p accept_key; then drop the old one.
 * @param node The node.
 * @param seal_key Base64 of 32 bytes; NULL or "" stops sealing (refused
 *        with `require_encryption`).
 * @param accept_key Base64 of 32 bytes, or NULL / "" for none.
 * @returns #MCCACHE_OK; #MCCACHE_EINVAL for a malformed key (the message
 *          names which); #MCCACHE_ECONFIG if two different keys have the same
 *          key id (a 1-in-255 chance: generate another);
 *          #MCCACHE_ECLOSED.
 * Thread-safety: safe from any thread; takes effect on the loop thread
 *          before the call returns.
 * Ownership: the keys are copied; wipe your copies.
 * Callback context: may be called from callbacks.
 */
MCCACHE_API int mccache_set_keys(mccache_t *node, const char *seal_key, const char *accept_key);
/** @} */

MCCACHE_END_DECL

#endif /* MCCACHE_H */
