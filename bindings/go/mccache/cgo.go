package mccache

// This file is the only one with C code. Every function below crosses into
// C once. The helpers exist for three reasons:
//   - the code and mccache_last_error() must be read on the same OS thread,
//     and a goroutine may change threads between two cgo calls, so one
//     crossing returns both;
//   - results come back in a struct returned by value, so no Go out-variable
//     has its address taken (which would move it to the heap on every call);
//   - a get copies the value in the same crossing as the lookup.

/*
#cgo pkg-config: mccache
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mccache.h"

#if MCCACHE_VERSION_MAJOR != 0 || !MCCACHE_VERSION_CHECK(0, 2, 0)
#error "this binding is written for libmccache 0.x, from 0.2.0 on"
#endif

typedef struct {
	int rc;
	char *err;        // malloc'd copy of mccache_last_error(), or NULL
	uint64_t u;       // a scalar result
	void *p;          // a handle or a value reference
	const void *data; // bytes borrowed from p, or a string to mccache_free()
	size_t len;
} mcgo_res;

static mcgo_res mcgo_done(int rc) {
	mcgo_res r;
	memset(&r, 0, sizeof r);
	r.rc = rc;
	// A miss is an answer, and a hot one: no message is copied for it.
	if (rc < 0 && rc != MCCACHE_ENOTFOUND && rc != MCCACHE_EBUFS)
		r.err = strdup(mccache_last_error());
	return r;
}

// The result of the hot calls (get, put, contains, delete): small, so that
// returning it by value costs nothing measurable.
typedef struct {
	int rc;
	char *err;
	size_t len;
} mcgo_hot;

static inline mcgo_hot mcgo_hot_done(int rc, size_t len) {
	mcgo_hot r = {rc, NULL, len};
	if (rc < 0 && rc != MCCACHE_ENOTFOUND && rc != MCCACHE_EBUFS)
		r.err = strdup(mccache_last_error());
	return r;
}

// Go strings are not NUL-terminated; the C API wants C strings.
static char *mcgo_cstr(const char *p, size_t n) {
	char *s = malloc(n + 1);
	if (!s) return NULL;
	if (n) memcpy(s, p, n);
	s[n] = 0;
	return s;
}

// The trampolines of callbacks.go.
extern void mcgoChange(uintptr_t h, mccache_event_t *ev, void *data, size_t vlen);
extern void mcgoLog(uintptr_t h, int level, char *msg);
extern void mcgoRelease(uintptr_t h);
extern void mcgoMember(uintptr_t h, mccache_member_t *m);
extern void mcgoReply(uintptr_t h, uint64_t member, char *json);

static void mcgo_change_shim(const mccache_event_t *ev, void *opaque) {
	size_t vlen = 0;
	const void *data = ev->value ? mccache_value_data(ev->value, &vlen) : NULL;
	mcgoChange((uintptr_t)opaque, (mccache_event_t *)ev, (void *)data, vlen);
}
static void mcgo_log_shim(int level, const char *msg, void *opaque) {
	mcgoLog((uintptr_t)opaque, level, (char *)msg);
}
static void mcgo_release_shim(void *opaque) { mcgoRelease((uintptr_t)opaque); }
static void mcgo_member_shim(const mccache_member_t *m, void *opaque) {
	mcgoMember((uintptr_t)opaque, (mccache_member_t *)m);
}
static void mcgo_reply_shim(uint64_t member, const char *json, void *opaque) {
	mcgoReply((uintptr_t)opaque, member, (char *)json);
}

// ---- configuration
static mcgo_res mcgo_config_new(void) {
	mccache_config_t *c = NULL;
	mcgo_res r = mcgo_done(mccache_config_new(&c));
	r.p = c;
	return r;
}
static mcgo_res mcgo_config_set(mccache_config_t *c, const char *k, size_t kn, const char *v, size_t vn) {
	char *ks = mcgo_cstr(k, kn), *vs = mcgo_cstr(v, vn);
	mcgo_res r = (ks && vs) ? mcgo_done(mccache_config_set(c, ks, vs)) : mcgo_done(MCCACHE_ENOMEM);
	free(ks);
	free(vs);
	return r;
}
static mcgo_res mcgo_config_load_file(mccache_config_t *c, const char *p, size_t pn) {
	char *ps = mcgo_cstr(p, pn);
	mcgo_res r = ps ? mcgo_done(mccache_config_load_file(c, ps)) : mcgo_done(MCCACHE_ENOMEM);
	free(ps);
	return r;
}
static mcgo_res mcgo_config_load_env(mccache_config_t *c) { return mcgo_done(mccache_config_load_env(c)); }
static mcgo_res mcgo_config_get(mccache_config_t *c, const char *k, size_t kn, char *buf, size_t cap) {
	char *ks = mcgo_cstr(k, kn);
	size_t len = cap;
	mcgo_res r = ks ? mcgo_done(mccache_config_get(c, ks, buf, &len)) : mcgo_done(MCCACHE_ENOMEM);
	free(ks);
	r.len = len;
	return r;
}
static mcgo_res mcgo_config_json(mccache_config_t *c) {
	char *s = NULL;
	mcgo_res r = mcgo_done(mccache_config_to_json(c, &s));
	r.data = s;
	r.len = s ? strlen(s) : 0;
	return r;
}

// ---- node
static mcgo_res mcgo_open(mccache_config_t *c) {
	mccache_t *n = NULL;
	mcgo_res r = mcgo_done(mccache_open(c, &n));
	r.p = n;
	return r;
}
static mcgo_res mcgo_close(mccache_t *n) { return mcgo_done(mccache_close(n)); }
static mcgo_res mcgo_node_id(mccache_t *n) {
	uint64_t id = 0;
	mcgo_res r = mcgo_done(mccache_node_id(n, &id));
	r.u = id;
	return r;
}
static mcgo_res mcgo_json_result(int rc, char *s) {
	mcgo_res r = mcgo_done(rc);
	r.data = s;
	r.len = s ? strlen(s) : 0;
	return r;
}
static mcgo_res mcgo_node_config_json(mccache_t *n) {
	char *s = NULL;
	int rc = mccache_node_config_json(n, &s);
	return mcgo_json_result(rc, s);
}
static mcgo_res mcgo_metrics_json(mccache_t *n) {
	char *s = NULL;
	int rc = mccache_metrics_json(n, &s);
	return mcgo_json_result(rc, s);
}
static mcgo_res mcgo_housekeep(mccache_t *n) { return mcgo_done(mccache_housekeep(n)); }
static mcgo_res mcgo_set_log_cb(mccache_t *n, uintptr_t h) {
	return mcgo_done(mccache_set_log_cb(n, h ? mcgo_log_shim : NULL, (void *)h, h ? mcgo_release_shim : NULL));
}

// ---- cluster and security
static mcgo_res mcgo_on_member(mccache_t *n, uintptr_t h) {
	return mcgo_done(mccache_on_member(n, h ? mcgo_member_shim : NULL, (void *)h, h ? mcgo_release_shim : NULL));
}
static mcgo_res mcgo_members_json(mccache_t *n) {
	char *s = NULL;
	int rc = mccache_members_json(n, &s);
	return mcgo_json_result(rc, s);
}
static mcgo_res mcgo_sync(mccache_t *n) { return mcgo_done(mccache_sync(n)); }
// An empty cache name means every cache (NULL in the C API).
static mcgo_res mcgo_cluster_request(mccache_t *n, int kind, const char *cache, size_t cn, int timeout_ms, uintptr_t h) {
	char *cs = cn ? mcgo_cstr(cache, cn) : NULL;
	if (cn && !cs) {
		mcgo_release_shim((void *)h);
		return mcgo_done(MCCACHE_ENOMEM);
	}
	mcgo_res r = mcgo_done(mccache_cluster_request(n, kind, cs, timeout_ms, mcgo_reply_shim, (void *)h, mcgo_release_shim));
	free(cs);
	return r;
}
static mcgo_res mcgo_cluster_collect(mccache_t *n, int kind, const char *cache, size_t cn, int timeout_ms) {
	char *cs = cn ? mcgo_cstr(cache, cn) : NULL;
	if (cn && !cs) return mcgo_done(MCCACHE_ENOMEM);
	char *s = NULL;
	int rc = mccache_cluster_collect(n, kind, cs, timeout_ms, &s);
	free(cs);
	return mcgo_json_result(rc, s);
}
static mcgo_res mcgo_generate_key(char *buf, size_t len) { return mcgo_done(mccache_generate_key(buf, len)); }
// An empty key means none (NULL in the C API).
static mcgo_res mcgo_set_keys(mccache_t *n, const char *seal, size_t sn, const char *accept, size_t an) {
	char *ss = sn ? mcgo_cstr(seal, sn) : NULL, *as = an ? mcgo_cstr(accept, an) : NULL;
	mcgo_res r = ((sn && !ss) || (an && !as)) ? mcgo_done(MCCACHE_ENOMEM) : mcgo_done(mccache_set_keys(n, ss, as));
	// The copies held key material.
	if (ss) { memset(ss, 0, sn); free(ss); }
	if (as) { memset(as, 0, an); free(as); }
	return r;
}

// ---- caches
static mcgo_res mcgo_cache_open(mccache_t *n, const char *name, size_t nn) {
	mccache_cache_t *c = NULL;
	char *s = mcgo_cstr(name, nn);
	mcgo_res r = s ? mcgo_done(mccache_cache_open(n, s, &c)) : mcgo_done(MCCACHE_ENOMEM);
	free(s);
	r.p = c;
	return r;
}
// The hot calls. Keys, values and buffers are Go memory passed as char
// pointers for the duration of the call, as the cgo pointer rules allow:
// the bytes hold no Go pointers, which cgo sees from the type, so it adds no
// run-time check (it would for a void *). noescape: the library copies keys
// and values before it returns and keeps no pointer, so they need not move
// to the heap. nocallback: the library runs every callback on the node's
// callback thread, never on the caller's, so no Go code runs on this
// goroutine (and its stack cannot move) until C returns; were that ever
// broken, the runtime would panic rather than let C write to a moved stack.
#cgo noescape mcgo_put
#cgo nocallback mcgo_put
#cgo noescape mcgo_get_copy
#cgo nocallback mcgo_get_copy
#cgo noescape mcgo_delete
#cgo nocallback mcgo_delete
#cgo noescape mcgo_contains
#cgo nocallback mcgo_contains
static mcgo_hot mcgo_put(mccache_cache_t *c, const char *k, size_t kn, const char *v, size_t vn, int64_t ttl) {
	return mcgo_hot_done(mccache_put(c, k, kn, v, vn, ttl), 0);
}
static mcgo_hot mcgo_get_copy(mccache_cache_t *c, const char *k, size_t kn, char *buf, size_t cap) {
	size_t len = cap;
	int rc = mccache_get_copy(c, k, kn, buf, &len);
	return mcgo_hot_done(rc, len);
}
static mcgo_hot mcgo_delete(mccache_cache_t *c, const char *k, size_t kn) {
	return mcgo_hot_done(mccache_delete(c, k, kn), 0);
}
static mcgo_hot mcgo_contains(mccache_cache_t *c, const char *k, size_t kn) {
	return mcgo_hot_done(mccache_contains(c, k, kn), 0);
}
static mcgo_res mcgo_len(mccache_cache_t *c) {
	size_t n = 0;
	mcgo_res r = mcgo_done(mccache_len(c, &n));
	r.u = n;
	return r;
}
static mcgo_res mcgo_clear(mccache_cache_t *c) { return mcgo_done(mccache_clear(c)); }
static mcgo_res mcgo_checksum(mccache_cache_t *c) {
	uint64_t s = 0;
	mcgo_res r = mcgo_done(mccache_checksum(c, &s));
	r.u = s;
	return r;
}
static mcgo_res mcgo_key_checksum(mccache_cache_t *c, const char *k, size_t kn) {
	uint64_t s = 0;
	mcgo_res r = mcgo_done(mccache_key_checksum(c, k, kn, &s));
	r.u = s;
	return r;
}
static mcgo_res mcgo_cache_metrics_json(mccache_cache_t *c) {
	char *s = NULL;
	int rc = mccache_cache_metrics_json(c, &s);
	return mcgo_json_result(rc, s);
}

typedef struct {
	mcgo_res r;
	mccache_metadata_t m;
} mcgo_meta_res;

static mcgo_meta_res mcgo_metadata(mccache_cache_t *c, const char *k, size_t kn) {
	mcgo_meta_res out;
	memset(&out.m, 0, sizeof out.m);
	out.m.struct_size = sizeof out.m;
	out.r = mcgo_done(mccache_metadata(c, k, kn, &out.m));
	return out;
}

// keys holds pinned Go pointers for the duration of the call only.
static mcgo_res mcgo_get_batch(mccache_cache_t *c, size_t n, void **keys, size_t *klens,
                               mccache_value_t **values, void **datas, size_t *lens) {
	mcgo_res r = mcgo_done(mccache_get_batch(c, n, (const void *const *)keys, klens, values, NULL));
	if (r.rc == MCCACHE_OK)
		for (size_t i = 0; i < n; ++i) datas[i] = (void *)mccache_value_data(values[i], &lens[i]);
	return r;
}
static void mcgo_values_free(mccache_value_t **values, size_t n) {
	for (size_t i = 0; i < n; ++i) mccache_value_free(values[i]);
}
static mcgo_res mcgo_put_batch(mccache_cache_t *c, size_t n, void **keys, size_t *klens,
                               void **values, size_t *vlens, int64_t ttl) {
	return mcgo_done(mccache_put_batch(c, n, (const void *const *)keys, klens,
	                                   (const void *const *)values, vlens, ttl));
}

static mcgo_res mcgo_iter_new(mccache_cache_t *c) {
	mccache_iter_t *it = NULL;
	mcgo_res r = mcgo_done(mccache_iter_new(c, &it));
	r.p = it;
	return r;
}

typedef struct {
	mcgo_res r;
	const void *key;
	size_t klen;
} mcgo_iter_res;

// Drops the previous entry's value and moves on, in one crossing.
static mcgo_iter_res mcgo_iter_next(mccache_iter_t *it, mccache_value_t *prev) {
	mcgo_iter_res out;
	mccache_value_t *v = NULL;
	mccache_value_free(prev);
	out.key = NULL;
	out.klen = 0;
	out.r = mcgo_done(mccache_iter_next(it, &out.key, &out.klen, &v));
	out.r.p = v;
	out.r.data = mccache_value_data(v, &out.r.len);
	return out;
}
static void mcgo_iter_free(mccache_iter_t *it, mccache_value_t *last) {
	mccache_value_free(last);
	mccache_iter_free(it);
}

// ---- loaders
extern int mcgoLoad(uintptr_t h, mccache_load_t *load, void *key, size_t klen);
static int mcgo_load_shim(mccache_load_t *load, const void *key, size_t klen, void *opaque) {
	return mcgoLoad((uintptr_t)opaque, load, (void *)key, klen);
}
// A value reference in p, its bytes borrowed in data/len.
static mcgo_res mcgo_get_or_load(mccache_cache_t *c, const char *key, size_t klen, uintptr_t h, int64_t timeout_ms) {
	mccache_value_t *v = NULL;
	mcgo_res r = mcgo_done(mccache_get_or_load(c, key, klen, mcgo_load_shim, (void *)h, timeout_ms, &v));
	if (r.rc == MCCACHE_OK) {
		r.p = v;
		r.data = mccache_value_data(v, &r.len);
	}
	return r;
}
static void mcgo_value_free(void *v) { mccache_value_free((mccache_value_t *)v); }
// The loader's failure text (Go strings are not NUL-terminated).
static int mcgo_load_fail(mccache_load_t *load, int code, const char *msg, size_t n) {
	char *s = mcgo_cstr(msg, n);
	if (s) mccache_load_set_error(load, s);
	free(s);
	return code;
}
static mcgo_res mcgo_namespace_bump(mccache_cache_t *c) {
	uint64_t g = 0;
	mcgo_res r = mcgo_done(mccache_namespace_bump(c, &g));
	r.u = g;
	return r;
}

static mcgo_res mcgo_on_change(mccache_cache_t *c, uintptr_t h) {
	return mcgo_done(mccache_on_change(c, h ? mcgo_change_shim : NULL, (void *)h, h ? mcgo_release_shim : NULL));
}
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// The C handles, named so that the other files need no import "C".
type (
	configRef = *C.mccache_config_t
	nodeRef   = *C.mccache_t
	cacheRef  = *C.mccache_cache_t
	// What a loader receives (loads.go), and the code it returns.
	loadHandle = C.mccache_load_t
	cInt       = C.int
)

// builtVersion is the header version this package was compiled against.
const builtVersion = int(C.MCCACHE_VERSION_NUMBER)

// The TTL sentinels of the C API, in milliseconds.
const (
	cTTLDefault = int64(C.MCCACHE_TTL_DEFAULT)
	cTTLNever   = int64(C.MCCACHE_TTL_NEVER)
)

func cVersion() int          { return int(C.mccache_version()) }
func cVersionString() string { return C.GoString(C.mccache_version_string()) }
func cErrName(code int) string {
	return C.GoString(C.mccache_err_name(C.int(code)))
}
func cStrerror(code int) string { return C.GoString(C.mccache_strerror(C.int(code))) }

// ptr returns the address of b's bytes, for pointer arrays that are pinned.
func ptr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// bytesArg passes b's bytes to one C call. The call pins them until it
// returns, and a []byte holds no Go pointers, so passing them is within the
// cgo rules; as a char pointer, cgo needs no run-time check to know that.
// nil for an empty b.
func bytesArg(b []byte) *C.char { return (*C.char)(unsafe.Pointer(unsafe.SliceData(b))) }

func strPtr(s string) *C.char { return (*C.char)(unsafe.Pointer(unsafe.StringData(s))) }

// result turns a helper's outcome into an error of op, freeing the message copy.
func result(op string, r C.mcgo_res) error {
	if r.rc == 0 {
		return nil
	}
	return resultErr(op, int(r.rc), r.err)
}

func resultErr(op string, code int, cerr *C.char) error {
	if cerr == nil {
		return &Error{Op: op, Code: code}
	}
	msg := C.GoString(cerr)
	C.free(unsafe.Pointer(cerr))
	return newError(op, code, msg)
}

// takeString copies a string the library allocated and frees it.
func takeString(op string, r C.mcgo_res) ([]byte, error) {
	if err := result(op, r); err != nil {
		return nil, err
	}
	b := C.GoBytes(unsafe.Pointer(r.data), C.int(r.len))
	C.mccache_free(unsafe.Pointer(r.data))
	return b, nil
}

// ---- configuration

func cConfigNew(op string) (configRef, error) {
	r := C.mcgo_config_new()
	return configRef(r.p), result(op, r)
}
func cConfigFree(c configRef) { C.mccache_config_free(c) }
func cConfigSet(op string, c configRef, key, value string) error {
	return result(op, C.mcgo_config_set(c, strPtr(key), C.size_t(len(key)), strPtr(value), C.size_t(len(value))))
}
func cConfigLoadFile(op string, c configRef, path string) error {
	return result(op, C.mcgo_config_load_file(c, strPtr(path), C.size_t(len(path))))
}
func cConfigLoadEnv(op string, c configRef) error { return result(op, C.mcgo_config_load_env(c)) }

// cConfigGet fills buf; when buf is too small it returns ErrBufferTooSmall and the size needed.
func cConfigGet(c configRef, key string, buf []byte) (int, error) {
	r := C.mcgo_config_get(c, strPtr(key), C.size_t(len(key)), bytesArg(buf), C.size_t(len(buf)))
	return int(r.len), result("Config.Get", r)
}
func cConfigJSON(c configRef) ([]byte, error) {
	return takeString("Config.JSON", C.mcgo_config_json(c))
}

// ---- node

func cOpen(op string, c configRef) (nodeRef, error) {
	r := C.mcgo_open(c)
	return nodeRef(r.p), result(op, r)
}
func cClose(n nodeRef) error { return result("Node.Close", C.mcgo_close(n)) }
func cNodeID(n nodeRef) (uint64, error) {
	r := C.mcgo_node_id(n)
	return uint64(r.u), result("Node.ID", r)
}
func cNodeConfigJSON(n nodeRef) ([]byte, error) {
	return takeString("Node.ConfigJSON", C.mcgo_node_config_json(n))
}
func cMetricsJSON(op string, n nodeRef) ([]byte, error) {
	return takeString(op, C.mcgo_metrics_json(n))
}
func cHousekeep(n nodeRef) error { return result("Node.Housekeep", C.mcgo_housekeep(n)) }
func cSetLogCb(n nodeRef, h uintptr) error {
	return result("Node.SetLogger", C.mcgo_set_log_cb(n, C.uintptr_t(h)))
}

// ---- caches

func cCacheOpen(n nodeRef, name string) (cacheRef, error) {
	r := C.mcgo_cache_open(n, strPtr(name), C.size_t(len(name)))
	return cacheRef(r.p), result("Node.Cache", r)
}

func cPut(c cacheRef, key, value []byte, ttlMs int64) error {
	r := C.mcgo_put(c, bytesArg(key), C.size_t(len(key)), bytesArg(value), C.size_t(len(value)), C.int64_t(ttlMs))
	if r.rc != 0 {
		return resultErr("Cache.Set", int(r.rc), r.err)
	}
	return nil
}

// scratchSize is the stack buffer cGet copies a value into, so that a get
// is one crossing (mccache_get_copy) instead of two (mccache_get, then
// mccache_value_free). A larger value costs a second lookup.
const scratchSize = 512

// cGet copies the value into a new slice of its exact size.
func cGet(c cacheRef, key []byte) ([]byte, error) {
	var buf [scratchSize]byte // stays on the stack: mcgo_get_copy is noescape
	r := C.mcgo_get_copy(c, bytesArg(key), C.size_t(len(key)), bytesArg(buf[:]), scratchSize)
	if r.rc == 0 {
		// make+copy of the same length: the compiler skips zeroing out.
		src := buf[:r.len]
		out := make([]byte, len(src))
		copy(out, src)
		return out, nil
	}
	// A value over the scratch size: nothing was copied and no lookup was
	// counted; fetch it into a buffer of its size (again if it grew meanwhile).
	for r.rc == C.MCCACHE_EBUFS {
		out := make([]byte, int(r.len))
		r = C.mcgo_get_copy(c, bytesArg(key), C.size_t(len(key)), bytesArg(out), C.size_t(len(out)))
		if r.rc == 0 {
			return out[:r.len], nil
		}
	}
	return nil, missOr(errGetMiss, r.rc, r.err)
}

// cGetInto copies the value into buf and returns its size (the size needed on ErrBufferTooSmall).
func cGetInto(c cacheRef, key, buf []byte) (int, error) {
	r := C.mcgo_get_copy(c, bytesArg(key), C.size_t(len(key)), bytesArg(buf), C.size_t(len(buf)))
	if r.rc != 0 {
		return int(r.len), missOr(errGetIntoMiss, r.rc, r.err)
	}
	return int(r.len), nil
}

// missOr answers a miss with the operation's shared not-found error (misses
// are hot and carry no message) and anything else with the library's message.
func missOr(miss *Error, rc C.int, cerr *C.char) error {
	if rc == C.MCCACHE_ENOTFOUND {
		return miss
	}
	return resultErr(miss.Op, int(rc), cerr)
}

// found maps a hot call's outcome to (true, nil), (false, nil) for a miss,
// or an error of op.
func found(op string, r C.mcgo_hot) (bool, error) {
	switch r.rc {
	case 0:
		return true, nil
	case C.MCCACHE_ENOTFOUND:
		return false, nil
	}
	return false, resultErr(op, int(r.rc), r.err)
}

func cDelete(c cacheRef, key []byte) (bool, error) {
	return found("Cache.Delete", C.mcgo_delete(c, bytesArg(key), C.size_t(len(key))))
}
func cContains(c cacheRef, key []byte) (bool, error) {
	return found("Cache.Contains", C.mcgo_contains(c, bytesArg(key), C.size_t(len(key))))
}
func cLen(c cacheRef) (int, error) {
	r := C.mcgo_len(c)
	return int(r.u), result("Cache.Len", r)
}
func cClear(c cacheRef) error { return result("Cache.Clear", C.mcgo_clear(c)) }
func cChecksum(c cacheRef) (uint64, error) {
	r := C.mcgo_checksum(c)
	return uint64(r.u), result("Cache.Checksum", r)
}
func cKeyChecksum(c cacheRef, key []byte) (uint64, error) {
	r := C.mcgo_key_checksum(c, bytesArg(key), C.size_t(len(key)))
	if r.rc != 0 {
		return 0, missOr(errKeyChecksumMiss, r.rc, r.err)
	}
	return uint64(r.u), nil
}
func cCacheMetricsJSON(op string, c cacheRef) ([]byte, error) {
	return takeString(op, C.mcgo_cache_metrics_json(c))
}

func cMetadata(c cacheRef, key []byte) (Metadata, error) {
	out := C.mcgo_metadata(c, bytesArg(key), C.size_t(len(key)))
	if out.r.rc != 0 {
		return Metadata{}, missOr(errMetadataMiss, out.r.rc, out.r.err)
	}
	m := &out.m
	return Metadata{
		Version:      Version{HLC: uint64(m.version_hlc), Node: uint64(m.version_node)},
		Created:      unixMilli(int64(m.created_ms)),
		Updated:      unixMilli(int64(m.updated_ms)),
		Expires:      unixMilli(int64(m.expires_ms)),
		LastLookup:   unixMilli(int64(m.last_lookup_ms)),
		Lookups:      uint64(m.lookups),
		KeySize:      int(m.key_size),
		ValueSize:    int(m.value_size),
		ChargedBytes: int(m.charged_bytes),
		Checksum:     uint64(m.checksum),
	}, nil
}

// unixMilli maps the C API's "never" values (0 and -1) to the zero time.
func unixMilli(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// pinKeys pins each non-empty slice and returns the C arrays of pointers
// and lengths. The pointer array lives in Go memory and holds only pinned
// pointers, which cgo allows; C does not keep it after the call.
func pinKeys(p *runtime.Pinner, bufs [][]byte) ([]unsafe.Pointer, []C.size_t) {
	ptrs := make([]unsafe.Pointer, len(bufs))
	lens := make([]C.size_t, len(bufs))
	for i, b := range bufs {
		if len(b) > 0 {
			ptrs[i] = ptr(b)
			p.Pin(ptrs[i])
		}
		lens[i] = C.size_t(len(b))
	}
	return ptrs, lens
}

func cGetBatch(c cacheRef, keys [][]byte) ([][]byte, error) {
	const op = "Cache.GetBatch"
	n := len(keys)
	if n == 0 {
		// Still ask the library, so that a closed node says so.
		return [][]byte{}, result(op, C.mcgo_get_batch(c, 0, nil, nil, nil, nil, nil))
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	kp, kl := pinKeys(&pin, keys)
	values := make([]*C.mccache_value_t, n)
	datas := make([]unsafe.Pointer, n)
	lens := make([]C.size_t, n)
	r := C.mcgo_get_batch(c, C.size_t(n), &kp[0], &kl[0], &values[0], &datas[0], &lens[0])
	if err := result(op, r); err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i, v := range values {
		if v != nil {
			out[i] = make([]byte, int(lens[i]))
			copy(out[i], unsafe.Slice((*byte)(datas[i]), int(lens[i])))
		}
	}
	C.mcgo_values_free(&values[0], C.size_t(n))
	return out, nil
}

func cPutBatch(c cacheRef, entries []Entry, ttlMs int64) error {
	const op = "Cache.SetBatch"
	n := len(entries)
	if n == 0 {
		return result(op, C.mcgo_put_batch(c, 0, nil, nil, nil, nil, C.int64_t(ttlMs)))
	}
	keys := make([][]byte, n)
	vals := make([][]byte, n)
	for i, e := range entries {
		keys[i], vals[i] = e.Key, e.Value
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	kp, kl := pinKeys(&pin, keys)
	vp, vl := pinKeys(&pin, vals)
	return result(op, C.mcgo_put_batch(c, C.size_t(n), &kp[0], &kl[0], &vp[0], &vl[0], C.int64_t(ttlMs)))
}

// cRange walks the cache with the C iterator, one crossing per entry.
func cRange(c cacheRef, fn func(key, value []byte) bool) error {
	const op = "Cache.Range"
	r := C.mcgo_iter_new(c)
	if err := result(op, r); err != nil {
		return err
	}
	it := (*C.mccache_iter_t)(r.p)
	var prev *C.mccache_value_t
	// Runs even if fn panics, so the iterator and its last value are freed.
	defer func() { C.mcgo_iter_free(it, prev) }()
	for {
		next := C.mcgo_iter_next(it, prev)
		prev = (*C.mccache_value_t)(next.r.p)
		if next.r.rc == C.MCCACHE_ENOTFOUND {
			return nil
		}
		if err := result(op, next.r); err != nil {
			return err
		}
		key := C.GoBytes(next.key, C.int(next.klen))
		value := make([]byte, int(next.r.len))
		copy(value, unsafe.Slice((*byte)(next.r.data), int(next.r.len)))
		if !fn(key, value) {
			return nil
		}
	}
}

func cOnMember(n nodeRef, h uintptr) error {
	return result("Node.OnMember", C.mcgo_on_member(n, C.uintptr_t(h)))
}
func cMembersJSON(op string, n nodeRef) ([]byte, error) {
	return takeString(op, C.mcgo_members_json(n))
}
func cSync(n nodeRef) error { return result("Node.Sync", C.mcgo_sync(n)) }
func cClusterRequest(n nodeRef, kind int, cache string, timeoutMs int, h uintptr) error {
	return result("Node.ClusterRequest", C.mcgo_cluster_request(n, C.int(kind), strPtr(cache), C.size_t(len(cache)),
		C.int(timeoutMs), C.uintptr_t(h)))
}
func cClusterCollect(n nodeRef, kind int, cache string, timeoutMs int) ([]byte, error) {
	return takeString("Node.ClusterCollect", C.mcgo_cluster_collect(n, C.int(kind), strPtr(cache),
		C.size_t(len(cache)), C.int(timeoutMs)))
}
func cGenerateKey() (string, error) {
	var buf [64]byte
	if err := result("GenerateKey", C.mcgo_generate_key((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))); err != nil {
		return "", err
	}
	return C.GoString((*C.char)(unsafe.Pointer(&buf[0]))), nil
}
func cSetKeys(n nodeRef, seal, accept string) error {
	return result("Node.SetKeys", C.mcgo_set_keys(n, strPtr(seal), C.size_t(len(seal)), strPtr(accept), C.size_t(len(accept))))
}

func cOnChange(c cacheRef, h uintptr) error {
	return result("Cache.OnChange", C.mcgo_on_change(c, C.uintptr_t(h)))
}

// eventFromC copies a borrowed C event into Go memory; it is the one place
// where C events become Go events.
func eventFromC(ev *C.mccache_event_t, data unsafe.Pointer, vlen C.size_t) Event {
	e := Event{
		Type:       EventType(ev._type),
		Origin:     Origin(ev.origin),
		Key:        C.GoBytes(ev.key, C.int(ev.klen)),
		Version:    Version{HLC: uint64(ev.version_hlc), Node: uint64(ev.version_node)},
		LastLookup: unixMilli(int64(ev.last_lookup_ms)),
		Time:       unixMilli(int64(ev.time_ms)),
	}
	if ev.value != nil {
		e.Value = make([]byte, int(vlen))
		copy(e.Value, unsafe.Slice((*byte)(data), int(vlen)))
	}
	return e
}

// memberFromC copies a borrowed membership change into Go memory.
func memberFromC(m *C.mccache_member_t) MemberEvent {
	return MemberEvent{
		Type:        MemberEventType(m.event),
		NodeID:      uint64(m.node_id),
		Incarnation: uint64(m.incarnation),
		Address:     C.GoString(m.address),
		LastSeen:    unixMilli(int64(m.last_seen_ms)),
	}
}

func goString(s *C.char) string { return C.GoString(s) }

// goBytes copies a NUL-terminated C string; nil for NULL.
func goBytes(s *C.char) []byte {
	if s == nil {
		return nil
	}
	return []byte(C.GoString(s))
}

// cGetOrLoad runs mccache_get_or_load with the loader behind handle h
// (loads.go), and copies the value out in Go memory.
func cGetOrLoad(c cacheRef, key []byte, h uintptr, timeoutMs int64) ([]byte, error) {
	r := C.mcgo_get_or_load(c, bytesArg(key), C.size_t(len(key)), C.uintptr_t(h), C.int64_t(timeoutMs))
	if err := result("Cache.GetOrLoad", r); err != nil {
		return nil, err
	}
	out := make([]byte, int(r.len))
	copy(out, unsafe.Slice((*byte)(r.data), int(r.len)))
	C.mcgo_value_free(r.p)
	return out, nil
}

// loadSetValue hands a loader's value back to the library (inside the loader).
func loadSetValue(load *C.mccache_load_t, v []byte) C.int {
	return C.mccache_load_set_value(load, ptr(v), C.size_t(len(v)), 0) // MCCACHE_TTL_DEFAULT: the cache's cache_ttl
}

// loadFail fails a load with code and msg (inside the loader).
func loadFail(load *C.mccache_load_t, code int, msg string) C.int {
	return C.mcgo_load_fail(load, C.int(code), strPtr(msg), C.size_t(len(msg)))
}

func cNamespaceBump(c cacheRef) (uint64, error) {
	r := C.mcgo_namespace_bump(c)
	return uint64(r.u), result("Cache.BumpNamespace", r)
}
