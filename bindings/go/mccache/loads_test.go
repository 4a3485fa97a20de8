package mccache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

func TestGetOrLoadLoadsOnceForConcurrentCallers(t *testing.T) {
	_, c := openCache(t, "c", mccache.WithSetting("transport", "none"))
	var calls atomic.Int32
	release := make(chan struct{})
	load := func(ctx context.Context) ([]byte, error) {
		calls.Add(1)
		<-release
		return []byte("v"), nil
	}
	var wg sync.WaitGroup
	results := make([]string, 16)
	errs := make([]error, 16)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := c.GetOrLoad(context.Background(), []byte("k"), load)
			results[i], errs[i] = string(v), err
		}(i)
	}
	waitFor(t, "the load to start", func() bool { return calls.Load() == 1 })
	close(release)
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i] != "v" {
			t.Errorf("caller %d: %q, %v", i, results[i], errs[i])
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("loader ran %d times, want 1", n)
	}
	// Present now: no load.
	v, err := c.GetOrLoad(context.Background(), []byte("k"), load)
	if err != nil || string(v) != "v" || calls.Load() != 1 {
		t.Errorf("second call: %q, %v, %d loads", v, err, calls.Load())
	}
	got, err := c.Get([]byte("k"))
	if err != nil || string(got) != "v" {
		t.Errorf("Get after load: %q, %v", got, err)
	}
}

func TestGetOrLoadErrors(t *testing.T) {
	_, c := openCache(t, "c", mccache.WithSetting("transport", "none"))
	mine := errors.New("backend down")
	_, err := c.GetOrLoad(context.Background(), []byte("k"), func(context.Context) ([]byte, error) { return nil, mine })
	if err != mine {
		t.Errorf("the loading caller got %v, want its loader's own error", err)
	}
	// A loader reporting a miss.
	_, err = c.GetOrLoad(context.Background(), []byte("k"), func(context.Context) ([]byte, error) {
		return nil, mccache.ErrNotFound
	})
	if !errors.Is(err, mccache.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
	// A panic fails the load and is recovered.
	_, err = c.GetOrLoad(context.Background(), []byte("p"), func(context.Context) ([]byte, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panicking loader: %v", err)
	}
	if _, err := c.GetOrLoad(context.Background(), []byte("k"), nil); !errors.Is(err, mccache.ErrInvalid) {
		t.Errorf("nil loader: %v", err)
	}
	// A waiter gets the error as an *Error with the loader's text.
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		c.GetOrLoad(context.Background(), []byte("w"), func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return nil, errors.New("no such row")
		})
	}()
	<-started
	done := make(chan error)
	go func() {
		_, err := c.GetOrLoad(context.Background(), []byte("w"), func(context.Context) ([]byte, error) {
			return []byte("unexpected"), nil
		})
		done <- err
	}()
	waitFor(t, "the second caller to wait", func() bool {
		m, err := c.Metrics()
		return err == nil && m.Uint("loader", "waits") >= 1
	})
	close(release)
	e := wantErr(t, <-done, mccache.ErrUser)
	if !strings.Contains(e.Message, "no such row") {
		t.Errorf("waiter's message %q", e.Message)
	}
}

func TestGetOrLoadHonoursCancellationAndDeadline(t *testing.T) {
	_, c := openCache(t, "c", mccache.WithSetting("transport", "none"))
	release := make(chan struct{})
	started := make(chan struct{})
	loaded := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(context.Background(), []byte("k"), func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return []byte("late"), nil
		})
		loaded <- err
	}()
	<-started
	// A waiter whose context is cancelled returns at once with ctx.Err().
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.GetOrLoad(ctx, []byte("k"), func(context.Context) ([]byte, error) { return []byte("x"), nil })
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	// A waiter with a deadline times out.
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	_, err := c.GetOrLoad(dctx, []byte("k"), func(context.Context) ([]byte, error) { return []byte("x"), nil })
	if !errors.Is(err, mccache.ErrTimedOut) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter past its deadline: %v", err)
	}
	// An already cancelled context never calls in.
	if _, err := c.GetOrLoad(ctx, []byte("other"), func(context.Context) ([]byte, error) {
		t.Error("loader called with a cancelled context")
		return nil, nil
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before the call: %v", err)
	}
	close(release)
	if err := <-loaded; err != nil {
		t.Errorf("the load itself: %v", err)
	}
	v, err := c.Get([]byte("k"))
	if err != nil || string(v) != "late" {
		t.Errorf("value after the load: %q, %v", v, err)
	}
}

func TestGetOrLoadLoadsOnceInACluster(t *testing.T) {
	name := uniqueCluster()
	var caches []*mccache.Cache
	for i := 0; i < 3; i++ {
		_, c := openCache(t, "c", mccache.WithSetting("cluster_name", name))
		caches = append(caches, c)
	}
	for _, c := range caches {
		c := c
		waitFor(t, "three members", func() bool {
			m, err := c.Node().Members()
			return err == nil && len(m.Members) == 2
		})
	}
	var calls atomic.Int32
	load := func(ctx context.Context) ([]byte, error) {
		calls.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow backend: every caller arrives meanwhile
		return []byte("hot"), nil
	}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for _, c := range caches {
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(c *mccache.Cache) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				v, err := c.GetOrLoad(ctx, []byte("k"), load)
				if err != nil || string(v) != "hot" {
					bad.Add(1)
					t.Errorf("%q, %v", v, err)
				}
			}(c)
		}
	}
	wg.Wait()
	if n := calls.Load(); n != 1 || bad.Load() != 0 {
		t.Errorf("loader ran %d times in the cluster, want 1", n)
	}
}

func TestMemoize(t *testing.T) {
	_, c := openCache(t, "c", mccache.WithSetting("transport", "none"))
	var calls atomic.Int32
	square := mccache.Memoize(c, func(ctx context.Context, key string) ([]byte, error) {
		calls.Add(1)
		return []byte("f(" + key + ")"), nil
	})
	for i := 0; i < 3; i++ {
		for _, k := range []string{"a", "b"} {
			v, err := square(context.Background(), k)
			if err != nil || string(v) != "f("+k+")" {
				t.Errorf("%s: %q, %v", k, v, err)
			}
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("fn ran %d times, want 2", n)
	}
}

func TestBumpNamespace(t *testing.T) {
	_, c := openCache(t, "c", mccache.WithSetting("transport", "none"), mccache.WithSetting("key_prefix", "app:"))
	must(t, c.Set([]byte("k"), []byte("old"), 0))
	g, err := c.BumpNamespace()
	if err != nil || g != 1 {
		t.Fatalf("BumpNamespace: %d, %v", g, err)
	}
	if _, err := c.Get([]byte("k")); !errors.Is(err, mccache.ErrNotFound) {
		t.Errorf("after the bump: %v", err)
	}
	_, plain := openCache(t, "plain", mccache.WithSetting("transport", "none"))
	if _, err := plain.BumpNamespace(); !errors.Is(err, mccache.ErrInvalid) {
		t.Errorf("bump without a namespace: %v", err)
	}
}
