package mccache

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime/cgo"
	"runtime/debug"
	"time"
)

// A loadCall is what the cgo.Handle of one GetOrLoad call refers to: the
// loader and its context, and the loader's own error for the caller that
// ran it.
type loadCall struct {
	ctx  context.Context
	load func(context.Context) ([]byte, error)
	err  error
}

// run calls the loader (on the goroutine that called GetOrLoad, inside the
// library's call) and hands its outcome to the library.
func (lc *loadCall) run(load *loadHandle) (rc cInt) {
	defer func() {
		if r := recover(); r != nil {
			callbackPanics.Add(1)
			log.Printf("mccache: panic in loader (recovered): %v\n%s", r, debug.Stack())
			lc.err = fmt.Errorf("mccache: panic in loader: %v", r)
			rc = loadFail(load, int(ErrUser), lc.err.Error())
		}
	}()
	v, err := lc.load(lc.ctx)
	if err != nil {
		lc.err = err
		code := ErrUser
		if errors.Is(err, ErrNotFound) {
			code = ErrNotFound
		}
		return loadFail(load, int(code), err.Error())
	}
	return loadSetValue(load, v)
}

// GetOrLoad returns the value of key, calling load when it is absent, and
// stores what load returns (with the cache's cache_ttl) as Set would.
//
// Concurrent callers of one key on a node wait for one load; in a cache of
// mode replicate, one load serves the whole cluster: the member that misses
// first takes the key's load lease, and callers on the other members wait
// for its value (or take over when it goes down or its lease runs out). A
// refresh_after or stale_while_revalidate setting makes it serve a present
// value while one reload runs.
//
// load runs on the calling goroutine and receives ctx. When load fails, its
// error is returned as is to this caller; callers that waited for it, here
// or on other members, get an *Error wrapping ErrUser (or ErrNotFound, when
// errors.Is(err, ErrNotFound)) with its text. A panic in load is recovered
// and fails the load.
//
// GetOrLoad waits at most until ctx's deadline (ErrTimedOut), and returns
// ctx.Err() as soon as ctx is cancelled; a load it started still completes
// for the other callers. Without a deadline it waits as long as loads take.
func (c *Cache) GetOrLoad(ctx context.Context, key []byte, load func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	if load == nil {
		return nil, invalid("Cache.GetOrLoad", "load is nil")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := int64(-1) // no limit
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d).Milliseconds()
		if timeout < 1 {
			timeout = 1
		}
	}
	lc := &loadCall{ctx: ctx, load: load}
	call := func() ([]byte, error) {
		h := cgo.NewHandle(lc)
		defer h.Delete()
		v, err := cGetOrLoad(c.c, key, uintptr(h), timeout)
		if err != nil && lc.err != nil {
			return nil, lc.err
		}
		return v, err
	}
	if ctx.Done() == nil {
		return call()
	}
	// The library cannot be interrupted: the call goes on in its own
	// goroutine, and this one returns when ctx ends first.
	type outcome struct {
		v   []byte
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := call()
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// BumpNamespace invalidates every entry of a cache with a key_prefix or
// key_version, on every member, at O(1) cost, and returns the new
// generation. A cache without a namespace is ErrInvalid.
func (c *Cache) BumpNamespace() (uint64, error) { return cNamespaceBump(c.c) }

// Memoize returns fn wrapped by GetOrLoad in cache c: a call with a key
// the cache holds returns the held value; otherwise fn runs once for all
// concurrent callers of the key (across the cluster, in a replicated
// cache), and its value is stored.
func Memoize(c *Cache, fn func(ctx context.Context, key string) ([]byte, error)) func(ctx context.Context, key string) ([]byte, error) {
	return func(ctx context.Context, key string) ([]byte, error) {
		return c.GetOrLoad(ctx, []byte(key), func(ctx context.Context) ([]byte, error) { return fn(ctx, key) })
	}
}
