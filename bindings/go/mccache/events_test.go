package mccache_test

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

// recorder collects events; its callback never blocks the callback thread.
type recorder struct {
	mu     sync.Mutex
	events []mccache.Event
}

func (r *recorder) record(e mccache.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []mccache.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mccache.Event(nil), r.events...)
}

// waitEvent waits for an event of type typ on key and returns it.
func (r *recorder) waitEvent(t *testing.T, typ mccache.EventType, key string) mccache.Event {
	t.Helper()
	var found mccache.Event
	waitFor(t, fmt.Sprintf("a %v event for %q", typ, key), func() bool {
		for _, e := range r.snapshot() {
			if e.Type == typ && string(e.Key) == key {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func TestChangeEvents(t *testing.T) {
	n, c := openCache(t, "events")
	var r recorder
	must(t, c.OnChange(r.record))
	id, _ := n.ID()
	start := time.Now().Add(-time.Second)

	must(t, c.Set([]byte("k"), []byte("v1"), 0))
	ins := r.waitEvent(t, mccache.EventInsert, "k")
	md, _ := c.Metadata([]byte("k"))
	if string(ins.Value) != "v1" || ins.Origin != mccache.OriginLocal || ins.Version != md.Version ||
		ins.Version.Node != id || ins.Time.Before(start) || !ins.LastLookup.IsZero() {
		t.Errorf("insert event %+v (metadata version %+v)", ins, md.Version)
	}

	_, _ = c.Get([]byte("k"))
	must(t, c.Set([]byte("k"), []byte("v2"), 0))
	upd := r.waitEvent(t, mccache.EventUpdate, "k")
	if string(upd.Value) != "v2" || upd.LastLookup.Before(start) || upd.Version.HLC <= ins.Version.HLC {
		t.Errorf("update event %+v", upd)
	}

	if ok, _ := c.Delete([]byte("k")); !ok {
		t.Fatal("Delete found nothing")
	}
	del := r.waitEvent(t, mccache.EventDelete, "k")
	if string(del.Value) != "v2" {
		t.Errorf("delete event carries %q, want the old value", del.Value)
	}

	must(t, c.Set([]byte("c1"), []byte("x"), 0))
	must(t, c.Clear())
	r.waitEvent(t, mccache.EventDelete, "c1")

	must(t, c.Set([]byte("exp"), []byte("x"), time.Millisecond))
	waitFor(t, "the entry to expire", func() bool {
		ok, _ := c.Contains([]byte("exp"))
		return !ok
	})
	must(t, n.Housekeep())
	r.waitEvent(t, mccache.EventExpire, "exp")

	// Events for one key arrive in order.
	for i := 0; i < 50; i++ {
		must(t, c.Set([]byte("seq"), []byte(fmt.Sprint(i)), 0))
	}
	waitFor(t, "50 events for seq", func() bool {
		k := 0
		for _, e := range r.snapshot() {
			if string(e.Key) == "seq" {
				k++
			}
		}
		return k == 50
	})
	i := 0
	for _, e := range r.snapshot() {
		if string(e.Key) == "seq" {
			if string(e.Value) != fmt.Sprint(i) {
				t.Fatalf("event %d for seq carries %q", i, e.Value)
			}
			i++
		}
	}
}

func TestEvictionEvents(t *testing.T) {
	_, c := openCache(t, "tiny", mccache.WithSetting("tiny.cache_max", "2"))
	var r recorder
	must(t, c.OnChange(r.record))
	for _, k := range []string{"a", "b", "c"} {
		must(t, c.Set([]byte(k), []byte(k), 0))
	}
	waitFor(t, "an eviction", func() bool {
		for _, e := range r.snapshot() {
			if e.Type == mccache.EventEvict {
				return true
			}
		}
		return false
	})
	if n, _ := c.Len(); n != 2 {
		t.Fatalf("Len %d, want 2", n)
	}
}

// Event bytes are copies: the callback may keep them after it returns.
func TestEventBytesAreCopies(t *testing.T) {
	_, c := openCache(t, "copies")
	kept := make(chan mccache.Event, 100)
	must(t, c.OnChange(func(e mccache.Event) { kept <- e }))
	for i := 0; i < 20; i++ {
		must(t, c.Set([]byte(fmt.Sprint("key", i)), bytes.Repeat([]byte{byte(i)}, 100), 0))
	}
	for i := 0; i < 20; i++ {
		e := <-kept
		if string(e.Key) != fmt.Sprint("key", i) || !bytes.Equal(e.Value, bytes.Repeat([]byte{byte(i)}, 100)) {
			t.Fatalf("event %d: key %q value %v", i, e.Key, e.Value[:4])
		}
	}
}

// Each handle given to C is released exactly once: on replacement, on
// unregistration, on close, and at once when registration fails.
func TestChangeHandlesAreReleasedExactlyOnce(t *testing.T) {
	base := mccache.LiveHandles()
	n, c := openCache(t, "handles")
	var first, second recorder
	must(t, c.OnChange(first.record))
	waitHandles(t, base+1)
	must(t, c.OnChange(second.record)) // replaces: the first is released on the callback thread
	waitHandles(t, base+1)
	must(t, c.Set([]byte("k"), []byte("v"), 0))
	second.waitEvent(t, mccache.EventInsert, "k")
	if len(first.snapshot()) != 0 {
		t.Fatal("a replaced callback still got events")
	}
	must(t, c.OnChange(nil))
	waitHandles(t, base)
	must(t, c.Set([]byte("k2"), []byte("v"), 0))

	// A callback still registered at close is released by close.
	must(t, c.OnChange(second.record))
	other, err := n.Cache("other")
	must(t, err)
	must(t, other.OnChange(second.record))
	waitHandles(t, base+2)
	must(t, n.Close())
	if got := mccache.LiveHandles(); got != base {
		t.Fatalf("after Close: %d live handles, want %d", got, base)
	}
	wantErr(t, c.OnChange(second.record), mccache.ErrClosed)
	if got := mccache.LiveHandles(); got != base {
		t.Fatalf("after a failed OnChange: %d live handles, want %d", got, base)
	}
	if mccache.BadReleases() != 0 {
		t.Fatal("a handle was released twice")
	}
}

func TestCallbackMayCallTheCacheButNotCloseOrHousekeep(t *testing.T) {
	n, c := openCache(t, "reentrant")
	type result struct {
		get               []byte
		getErr, close, hk error
	}
	done := make(chan result, 1)
	must(t, c.OnChange(func(e mccache.Event) {
		if string(e.Key) != "trigger" {
			return
		}
		var r result
		_ = c.Set([]byte("written-from-callback"), []byte("yes"), 0)
		r.get, r.getErr = c.Get([]byte("trigger"))
		r.close = n.Close()
		r.hk = n.Housekeep()
		done <- r
	}))
	must(t, c.Set([]byte("trigger"), []byte("t"), 0))
	r := <-done
	if r.getErr != nil || string(r.get) != "t" {
		t.Errorf("Get from the callback: %q, %v", r.get, r.getErr)
	}
	wantErr(t, r.close, mccache.ErrBusy)
	wantErr(t, r.hk, mccache.ErrBusy)
	if v, err := c.Get([]byte("written-from-callback")); err != nil || string(v) != "yes" {
		t.Errorf("write from the callback: %q, %v", v, err)
	}
	// Close from the callback failed, so the node is still open.
	if _, err := n.ID(); err != nil {
		t.Fatal(err)
	}
}

func TestChangeCallbackPanicIsRecovered(t *testing.T) {
	_, c := openCache(t, "panics")
	before := mccache.CallbackPanics()
	var r recorder
	must(t, c.OnChange(func(e mccache.Event) {
		if string(e.Key) == "bad" {
			panic("callback bug")
		}
		r.record(e)
	}))
	must(t, c.Set([]byte("bad"), []byte("x"), 0))
	must(t, c.Set([]byte("good"), []byte("x"), 0))
	r.waitEvent(t, mccache.EventInsert, "good")
	if got := mccache.CallbackPanics(); got != before+1 {
		t.Fatalf("CallbackPanics %d, want %d", got, before+1)
	}
}

// A Node dropped without Close is closed by its cleanup, which releases
// its callbacks. (A callback that refers to the node would keep it alive.)
func TestLeakedNodeIsClosedByTheSafetyNet(t *testing.T) {
	base := mccache.LiveHandles()
	func() {
		n, err := mccache.Open(isolated()...)
		must(t, err)
		c, err := n.Cache("leaked")
		must(t, err)
		must(t, c.OnChange(func(mccache.Event) {}))
	}()
	waitHandles(t, base+1)
	waitFor(t, "the leaked node's cleanup", func() bool {
		runtime.GC()
		return mccache.LiveHandles() == base
	})
}
