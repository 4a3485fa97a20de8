package mccache_test

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

// TestMain fails the run if any callback handle given to C was not released
// exactly once, or if a callback panicked unexpectedly.
func TestMain(m *testing.M) {
	// Nodes that read the environment (the examples, Open without
	// WithoutEnv) join a cluster of this process only: other test processes
	// on the machine use the default cluster name and must not mix with it.
	os.Setenv("MCCACHE_CLUSTER_NAME", fmt.Sprintf("go-test-%d", os.Getpid()))
	os.Setenv("MCCACHE_LOG_LEVEL", "error")
	code := m.Run()
	// Nodes leaked on purpose are closed by their cleanups: give the GC a chance.
	deadline := time.Now().Add(10 * time.Second)
	for mccache.LiveHandles() != 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := mccache.LiveHandles(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d callback handles were never released\n", n)
		code = 1
	}
	if n := mccache.BadReleases(); n != 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d callback handles were released twice\n", n)
		code = 1
	}
	os.Exit(code)
}

var clusters atomic.Int64

// uniqueCluster returns a cluster name no other node of any process uses.
func uniqueCluster() string {
	return fmt.Sprintf("go-test-%d-%d", os.Getpid(), clusters.Add(1))
}

// isolated returns the options of a node alone in its own cluster (on the
// default interface, 127.0.0.1), ignoring the environment. Fast heartbeats
// let cluster tests see joins and leaves quickly.
func isolated(opts ...mccache.Option) []mccache.Option {
	return append([]mccache.Option{
		mccache.WithoutEnv(),
		mccache.WithSetting("cluster_name", uniqueCluster()),
		mccache.WithSetting("heartbeat_interval", "50ms"),
		mccache.WithSetting("member_timeout", "1s"),
		mccache.WithSetting("log_level", "error"),
	}, opts...)
}

// openNode opens an isolated node and closes it at the end of the test.
func openNode(t testing.TB, opts ...mccache.Option) *mccache.Node {
	t.Helper()
	n, err := mccache.Open(isolated(opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

func openCache(t testing.TB, name string, opts ...mccache.Option) (*mccache.Node, *mccache.Cache) {
	t.Helper()
	n := openNode(t, opts...)
	c, err := n.Cache(name)
	if err != nil {
		t.Fatalf("Cache(%q): %v", name, err)
	}
	return n, c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err is the sentinel want and carries a message.
func wantErr(t testing.TB, err error, want mccache.Errno) *mccache.Error {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %s", err, want.Name())
	}
	var e *mccache.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *mccache.Error", err)
	}
	if e.Code != int(want) {
		t.Fatalf("Code = %d, want %d", e.Code, int(want))
	}
	return e
}

func waitHandles(t testing.TB, want int64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d live callback handles", want), func() bool { return mccache.LiveHandles() == want })
}
