package mccache_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

func TestConcurrentUse(t *testing.T) {
	_, c := openCache(t, "shared")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k := []byte(fmt.Sprint("key", (g*7919+i)%128))
				switch i % 4 {
				case 0:
					if err := c.Set(k, k, 0); err != nil {
						t.Error(err)
						return
					}
				case 1:
					if v, err := c.Get(k); err == nil && string(v) != string(k) {
						t.Errorf("Get(%s) = %s", k, v)
						return
					} else if err != nil && !errors.Is(err, mccache.ErrNotFound) {
						t.Error(err)
						return
					}
				case 2:
					if _, err := c.Delete(k); err != nil {
						t.Error(err)
						return
					}
				case 3:
					if _, err := c.GetBatch([][]byte{k, []byte("x")}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
}

// Get sees whole values while a writer keeps changing their size across the
// scratch-buffer boundary.
func TestGetWhileTheValueChangesSize(t *testing.T) {
	_, c := openCache(t, "resize")
	small, large := []byte("small"), make([]byte, 8192)
	for i := range large {
		large[i] = byte(i)
	}
	must(t, c.Set([]byte("k"), small, 0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			v := small
			if i%2 == 0 {
				v = large
			}
			if err := c.Set([]byte("k"), v, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 5000; i++ {
		v, err := c.Get([]byte("k"))
		if err != nil || !(bytes.Equal(v, small) || bytes.Equal(v, large)) {
			t.Fatalf("Get = %d bytes, %v", len(v), err)
		}
	}
	close(stop)
	wg.Wait()
}

// Close races with calls from many goroutines and with callbacks: every
// call answers normally or with ErrClosed, nothing crashes, and every
// callback handle is released once.
func TestCloseRacesWithCalls(t *testing.T) {
	base := mccache.LiveHandles()
	for round := 0; round < 20; round++ {
		n, err := mccache.Open(isolated()...)
		must(t, err)
		c, err := n.Cache("race")
		must(t, err)
		var events atomic.Int64
		must(t, c.OnChange(func(mccache.Event) { events.Add(1) }))

		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := 0; g < 6; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				<-start
				buf := make([]byte, 32)
				for i := 0; ; i++ {
					k := []byte(fmt.Sprint(g, ":", i%64))
					var err error
					switch rand.IntN(7) {
					case 0:
						err = c.Set(k, k, 0)
					case 1:
						_, err = c.Get(k)
					case 2:
						_, err = c.GetInto(k, buf)
					case 3:
						err = c.SetBatch([]mccache.Entry{{Key: k, Value: k}}, 0)
					case 4:
						err = c.Range(func(_, _ []byte) bool { return true })
					case 5:
						err = c.OnChange(func(mccache.Event) { events.Add(1) })
					case 6:
						_, err = c.Metadata(k)
					}
					if errors.Is(err, mccache.ErrClosed) {
						return
					}
					if err != nil && !errors.Is(err, mccache.ErrNotFound) {
						t.Errorf("call during close: %v", err)
						return
					}
				}
			}(g)
		}
		close(start)
		for events.Load() == 0 {
			must(t, c.Set([]byte("warm"), nil, 0))
		}
		closers := make(chan error, 2)
		go func() { closers <- n.Close() }()
		go func() { closers <- n.Close() }()
		must(t, <-closers)
		must(t, <-closers)
		wg.Wait()
		if got := mccache.LiveHandles(); got != base {
			t.Fatalf("round %d: %d live handles after Close, want %d", round, got, base)
		}
	}
	if mccache.BadReleases() != 0 {
		t.Fatal("a handle was released twice")
	}
}
