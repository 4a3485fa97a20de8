package mccache

import (
	"log"
	"runtime/cgo"
	"runtime/debug"
	"sync/atomic"
)

// callback is what a cgo.Handle given to C as `opaque` refers to.
type callback struct {
	change func(Event)
	log    func(LogLevel, string)
	member func(MemberEvent)
	reply  func(memberID uint64, answer []byte)
}

// Handle accounting, read by the tests: every handle given to C must come
// back through opaque_free exactly once.
var (
	liveHandles    atomic.Int64
	badReleases    atomic.Int64
	callbackPanics atomic.Int64
)

func newHandle(cb *callback) cgo.Handle {
	liveHandles.Add(1)
	return cgo.NewHandle(cb)
}

// releaseHandle runs in opaque_free, which the library calls exactly once
// per registration. Deleting a handle twice panics in runtime/cgo, and a
// panic must not unwind into C, so a second release is counted instead.
func releaseHandle(h cgo.Handle) {
	defer func() {
		if recover() != nil {
			badReleases.Add(1)
		}
	}()
	h.Delete()
	liveHandles.Add(-1)
}

// recoverCallback stops a panic in user code at the C boundary (unwinding
// through the library's frames is not possible) and logs it with its stack,
// as net/http does for a panicking handler.
func recoverCallback(kind string) {
	if r := recover(); r != nil {
		callbackPanics.Add(1)
		log.Printf("mccache: panic in %s callback (recovered): %v\n%s", kind, r, debug.Stack())
	}
}
