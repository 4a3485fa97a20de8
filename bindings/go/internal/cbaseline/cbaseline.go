// Package cbaseline calls the C API of libmccache directly, with no binding
// in between, so that benchmarks can measure in the same run what the
// mccache package adds: the cost of a bare cgo crossing, a cgo call straight
// into mccache_get_copy, and gets looped entirely in C.
package cbaseline

/*
#cgo pkg-config: mccache
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mccache.h"

static int cb_noop(void) { return 0; }

typedef struct { int rc; size_t len; } cb_res;

static cb_res cb_get_copy(mccache_cache_t *c, const void *k, size_t kn, void *buf, size_t cap) {
	cb_res r;
	r.len = cap;
	r.rc = mccache_get_copy(c, k, kn, buf, &r.len);
	return r;
}

// CPU time of the calling thread: unlike wall time, it does not grow when
// other processes take the CPU (the build machine is shared).
static int64_t cb_now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// The loops below walk keys start, start+1, ... (mod nkeys), laid out back
// to back in C memory, as the Go benchmarks do, and return the thread CPU ns
// they spent.
static int64_t cb_get_loop(mccache_cache_t *c, const char *keys, size_t klen, size_t nkeys, size_t start, size_t iters) {
	int64_t t0 = cb_now_ns();
	for (size_t i = start; i < start + iters; ++i) {
		mccache_value_t *v = NULL;
		if (mccache_get(c, keys + (i % nkeys) * klen, klen, &v) != MCCACHE_OK) return -1;
		mccache_value_free(v);
	}
	return cb_now_ns() - t0;
}
static int64_t cb_get_copy_loop(mccache_cache_t *c, const char *keys, size_t klen, size_t nkeys, size_t start, size_t iters) {
	char buf[4096];
	int64_t t0 = cb_now_ns();
	for (size_t i = start; i < start + iters; ++i) {
		size_t len = sizeof buf;
		if (mccache_get_copy(c, keys + (i % nkeys) * klen, klen, buf, &len) != MCCACHE_OK) return -1;
	}
	return cb_now_ns() - t0;
}
static int64_t cb_put_loop(mccache_cache_t *c, const char *keys, size_t klen, size_t nkeys,
                           const void *val, size_t vlen, size_t start, size_t iters) {
	int64_t t0 = cb_now_ns();
	for (size_t i = start; i < start + iters; ++i)
		if (mccache_put(c, keys + (i % nkeys) * klen, klen, val, vlen, MCCACHE_TTL_DEFAULT) != MCCACHE_OK) return -1;
	return cb_now_ns() - t0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// ThreadCPUNanos returns the CPU time of the calling thread; lock the
// goroutine to its thread around a measurement.
func ThreadCPUNanos() int64 { return int64(C.cb_now_ns()) }

// Noop is a cgo call to an empty C function: the price of one crossing.
func Noop() int { return int(C.cb_noop()) }

// Version is a cgo call to mccache_version().
func Version() int { return int(C.mccache_version()) }

// Raw is a node and cache opened through the C API only.
type Raw struct {
	node  *C.mccache_t
	cache *C.mccache_cache_t
	keys  *C.char // nkeys keys of klen bytes, in C memory
	klen  int
	nkeys int
	val   unsafe.Pointer
	vlen  int
}

// Open opens a purely local node (transport=none) with the cache "bench", and
// copies keys, which must all have the same length, into C memory.
func Open(keys [][]byte, value []byte) (*Raw, error) {
	r := &Raw{klen: len(keys[0]), nkeys: len(keys), vlen: len(value)}
	cfg := (*C.mccache_config_t)(nil)
	if rc := C.mccache_config_new(&cfg); rc != 0 {
		return nil, fmt.Errorf("mccache_config_new: %d", rc)
	}
	defer C.mccache_config_free(cfg)
	key, none := C.CString("transport"), C.CString("none")
	defer C.free(unsafe.Pointer(key))
	defer C.free(unsafe.Pointer(none))
	if rc := C.mccache_config_set(cfg, key, none); rc != 0 {
		return nil, fmt.Errorf("mccache_config_set(transport): %d", rc)
	}
	if rc := C.mccache_open(cfg, &r.node); rc != 0 {
		return nil, fmt.Errorf("mccache_open: %d", rc)
	}
	name := C.CString("bench")
	defer C.free(unsafe.Pointer(name))
	if rc := C.mccache_cache_open(r.node, name, &r.cache); rc != 0 {
		return nil, fmt.Errorf("mccache_cache_open: %d", rc)
	}
	r.keys = (*C.char)(C.malloc(C.size_t(r.klen * r.nkeys)))
	flat := unsafe.Slice((*byte)(unsafe.Pointer(r.keys)), r.klen*r.nkeys)
	for i, k := range keys {
		if len(k) != r.klen {
			return nil, errors.New("cbaseline: keys must have the same length")
		}
		copy(flat[i*r.klen:], k)
	}
	r.val = C.CBytes(value)
	return r, nil
}

// Close closes the node and frees the C copies.
func (r *Raw) Close() {
	C.mccache_close(r.node)
	C.free(unsafe.Pointer(r.keys))
	C.free(r.val)
}

// Put is a cgo call straight into mccache_put.
func (r *Raw) Put(key, value []byte) int {
	return int(C.mccache_put(r.cache, unsafe.Pointer(unsafe.SliceData(key)), C.size_t(len(key)),
		unsafe.Pointer(unsafe.SliceData(value)), C.size_t(len(value)), 0))
}

// GetCopy is a cgo call straight into mccache_get_copy.
func (r *Raw) GetCopy(key, buf []byte) (int, int) {
	res := C.cb_get_copy(r.cache, unsafe.Pointer(unsafe.SliceData(key)), C.size_t(len(key)),
		unsafe.Pointer(unsafe.SliceData(buf)), C.size_t(len(buf)))
	return int(res.len), int(res.rc)
}

// perOp returns nanoseconds per operation of a C loop.
func perOp(ns C.int64_t, iters int) (float64, error) {
	if ns < 0 {
		return 0, errors.New("cbaseline: a call in the C loop failed")
	}
	return float64(ns) / float64(iters), nil
}

// GetLoop runs iters mccache_get + mccache_value_free in C over keys
// start, start+1, ... and returns CPU ns per get.
func (r *Raw) GetLoop(start, iters int) (float64, error) {
	return perOp(C.cb_get_loop(r.cache, r.keys, C.size_t(r.klen), C.size_t(r.nkeys), C.size_t(start), C.size_t(iters)), iters)
}

// GetCopyLoop runs iters mccache_get_copy in C and returns CPU ns per get.
func (r *Raw) GetCopyLoop(start, iters int) (float64, error) {
	return perOp(C.cb_get_copy_loop(r.cache, r.keys, C.size_t(r.klen), C.size_t(r.nkeys), C.size_t(start), C.size_t(iters)), iters)
}

// PutLoop runs iters mccache_put in C and returns CPU ns per put.
func (r *Raw) PutLoop(start, iters int) (float64, error) {
	return perOp(C.cb_put_loop(r.cache, r.keys, C.size_t(r.klen), C.size_t(r.nkeys), r.val, C.size_t(r.vlen), C.size_t(start), C.size_t(iters)), iters)
}
