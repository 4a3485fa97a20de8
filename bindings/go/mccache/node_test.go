package mccache_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

func TestNodeBasics(t *testing.T) {
	n, c := openCache(t, "basics", mccache.WithSetting("node_id", "77"))
	if id, err := n.ID(); err != nil || id != 77 {
		t.Fatalf("ID = %d, %v", id, err)
	}
	js, err := n.ConfigJSON()
	must(t, err)
	if got := source(t, js, "node_id"); got != "api" {
		t.Errorf("node_id source %q", got)
	}
	if !strings.Contains(string(js), `"127.0.0.1"`) {
		t.Errorf("the node is not on 127.0.0.1: %s", js)
	}
	must(t, c.Set([]byte("k"), []byte("v"), 0))
	_, _ = c.Get([]byte("k"))
	_, _ = c.Get([]byte("absent"))

	m, err := n.Metrics()
	must(t, err)
	cm := m.Caches["basics"]
	if cm.Int("entries") != 1 || cm.Int("hits") != 1 || cm.Int("misses") != 1 {
		t.Errorf("cache metrics %v", cm)
	}
	if cm.Float("hit_ratio") != 0.5 {
		t.Errorf("hit_ratio %v", cm.Float("hit_ratio"))
	}
	if cm.Int("evictions", "total") != 0 || cm.String("checksum") == "" {
		t.Errorf("nested or string metrics missing: %v", cm)
	}
	if m.Node.Int("entries") != 1 || m.Node.String("id") == "" {
		t.Errorf("node metrics %v", m.Node)
	}
	raw, err := n.MetricsJSON()
	must(t, err)
	if !strings.Contains(string(raw), `"basics"`) {
		t.Errorf("MetricsJSON %s", raw)
	}
	must(t, n.Housekeep())
	m, err = n.Metrics()
	must(t, err)
	if m.Node.Int("housekeeper_runs") < 1 {
		t.Errorf("housekeeper_runs %v", m.Node["housekeeper_runs"])
	}
}

func TestOpenOptions(t *testing.T) {
	ini := filepath.Join(t.TempDir(), "n.ini")
	must(t, os.WriteFile(ini, []byte("[mccache]\nnode_id = 5\n[small]\nmax_entries = 3\n"), 0o600))
	t.Setenv("MCCACHE_NODE_ID", "6")

	n := openNode(t, mccache.WithConfigFile(ini))
	if id, _ := n.ID(); id != 5 {
		t.Errorf("WithoutEnv: ID %d, want the file's 5", id)
	}
	n2, err := mccache.Open(mccache.WithConfigFile(ini))
	must(t, err)
	defer n2.Close()
	if id, _ := n2.ID(); id != 6 {
		t.Errorf("with the environment: ID %d, want 6", id)
	}
	n3 := openNode(t, mccache.WithConfigFile(ini), mccache.WithSetting("node_id", "7"))
	if id, _ := n3.ID(); id != 7 {
		t.Errorf("WithSetting: ID %d, want 7", id)
	}
	small, err := n3.Cache("small")
	must(t, err)
	m, err := small.Metrics()
	must(t, err)
	if m.Int("max_entries") != 3 {
		t.Errorf("[small] max_entries not applied: %v", m)
	}
	n4, err := mccache.OpenWithConfig(nil)
	must(t, err)
	defer n4.Close()
	if id, _ := n4.ID(); id != 6 {
		t.Errorf("OpenWithConfig(nil): ID %d, want the environment's 6", id)
	}
}

func TestCacheHandles(t *testing.T) {
	n := openNode(t)
	a, err := n.Cache("same")
	must(t, err)
	b, err := n.Cache("same")
	must(t, err)
	if a != b || a.Name() != "same" || a.Node() != n {
		t.Fatal("the same name must give the same *Cache")
	}
	for _, bad := range []string{"", "a.b", strings.Repeat("x", 256), "nul\x00"} {
		_, err := n.Cache(bad)
		wantErr(t, err, mccache.ErrInvalid)
	}
}

// Every method of a closed node, and of its caches, answers ErrClosed.
func TestEverythingAfterCloseIsErrClosed(t *testing.T) {
	before := mccache.LiveHandles()
	n, c := openCache(t, "closing")
	must(t, c.Set([]byte("k"), []byte("v"), 0))
	must(t, n.Close())
	must(t, n.Close()) // idempotent
	k := []byte("k")
	calls := map[string]error{}
	_, calls["ID"] = n.ID()
	_, calls["ConfigJSON"] = n.ConfigJSON()
	_, calls["MetricsJSON"] = n.MetricsJSON()
	_, calls["Metrics"] = n.Metrics()
	calls["Housekeep"] = n.Housekeep()
	calls["SetLogger"] = n.SetLogger(func(mccache.LogLevel, string) {})
	calls["SetLogger(nil)"] = n.SetLogger(nil)
	_, calls["Cache"] = n.Cache("other")
	_, calls["Cache(same)"] = n.Cache("closing")
	_, calls["Get"] = c.Get(k)
	_, calls["GetInto"] = c.GetInto(k, make([]byte, 8))
	calls["Set"] = c.Set(k, k, 0)
	_, calls["Delete"] = c.Delete(k)
	_, calls["Contains"] = c.Contains(k)
	_, calls["Len"] = c.Len()
	calls["Clear"] = c.Clear()
	calls["Range"] = c.Range(func(_, _ []byte) bool { return true })
	_, calls["Metadata"] = c.Metadata(k)
	_, calls["GetBatch"] = c.GetBatch([][]byte{k})
	_, calls["GetBatch(empty)"] = c.GetBatch(nil)
	calls["SetBatch"] = c.SetBatch([]mccache.Entry{{Key: k, Value: k}}, 0)
	calls["SetBatch(empty)"] = c.SetBatch(nil, 0)
	_, calls["Checksum"] = c.Checksum()
	_, calls["KeyChecksum"] = c.KeyChecksum(k)
	_, calls["MetricsJSON(cache)"] = c.MetricsJSON()
	_, calls["Metrics(cache)"] = c.Metrics()
	calls["OnChange"] = c.OnChange(func(mccache.Event) {})
	calls["OnChange(nil)"] = c.OnChange(nil)
	calls["OnMember"] = n.OnMember(func(mccache.MemberEvent) {})
	calls["OnMember(nil)"] = n.OnMember(nil)
	_, calls["MembersJSON"] = n.MembersJSON()
	_, calls["Members"] = n.Members()
	calls["Sync"] = n.Sync()
	calls["ClusterRequest"] = n.ClusterRequest(mccache.QueryMetrics, "", time.Second, func(uint64, json.RawMessage) {})
	_, calls["ClusterCollect"] = n.ClusterCollect(mccache.QueryMetrics, "", time.Second)
	calls["SetKeys"] = n.SetKeys("", "")
	for name, err := range calls {
		t.Run(name, func(t *testing.T) { wantErr(t, err, mccache.ErrClosed) })
	}
	if got := mccache.LiveHandles(); got != before {
		t.Fatalf("callbacks given to a closed node were not released: %d live, want %d", got, before)
	}
}

func TestConcurrentClosesAllSucceed(t *testing.T) {
	n, err := mccache.Open(isolated()...)
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- n.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
}

func TestLogger(t *testing.T) {
	before := mccache.LiveHandles()
	n := openNode(t, mccache.WithSetting("log_level", "info"))
	var mu sync.Mutex
	var lines []string
	must(t, n.SetLogger(func(level mccache.LogLevel, msg string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, level.String()+": "+msg)
	}))
	_, err := n.Cache("logged")
	must(t, err)
	// Lines reach the logger on the node's callback thread, soon after.
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got = strings.Join(lines, "\n")
		mu.Unlock()
		if strings.Contains(got, `info: cache "logged" open`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(got, `info: cache "logged" open`) {
		t.Fatalf("log lines %q", got)
	}

	// Replacing the logger releases the old one; nil releases the last.
	must(t, n.SetLogger(func(mccache.LogLevel, string) {}))
	waitHandles(t, before+1)
	must(t, n.SetLogger(nil))
	waitHandles(t, before)

	// A logger still set at close is released by close.
	must(t, n.SetLogger(func(mccache.LogLevel, string) {}))
	must(t, n.Close())
	waitHandles(t, before)
	// Registering on a closed node releases the handle at once.
	wantErr(t, n.SetLogger(func(mccache.LogLevel, string) {}), mccache.ErrClosed)
	waitHandles(t, before)
}

// Log lines reach the logger on the node's callback thread, after the call
// that logged them: a logger that blocks never holds up a caller.
func TestLogLinesAreAsynchronous(t *testing.T) {
	n := openNode(t, mccache.WithSetting("log_level", "info"))
	lines := make(chan string, 1)
	release := make(chan struct{})
	defer close(release) // before the cleanup's Close, which delivers what is queued
	must(t, n.SetLogger(func(_ mccache.LogLevel, msg string) {
		if strings.Contains(msg, "logged-async") {
			select {
			case lines <- msg:
			default:
			}
			<-release // blocks the logger, never the caller
		}
	}))
	opened := make(chan error, 1)
	go func() {
		_, err := n.Cache("logged-async") // logs at info
		opened <- err
	}()
	select {
	case err := <-opened:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Node.Cache waited for a blocked logger")
	}
	select {
	case <-lines:
	case <-time.After(10 * time.Second):
		t.Fatal("the cache-open line never reached the logger")
	}
}

func TestLoggerPanicIsRecovered(t *testing.T) {
	n := openNode(t, mccache.WithSetting("log_level", "info"))
	before := mccache.CallbackPanics()
	must(t, n.SetLogger(func(mccache.LogLevel, string) { panic("boom") }))
	_, err := n.Cache("panicky")
	must(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for mccache.CallbackPanics() < before+1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := mccache.CallbackPanics(); got < before+1 {
		t.Fatalf("CallbackPanics = %d, want at least %d", got, before+1)
	}
}

func TestLevelAndTypeNames(t *testing.T) {
	for v, want := range map[string]string{
		mccache.LogError.String(): "error", mccache.LogWarn.String(): "warn",
		mccache.LogInfo.String(): "info", mccache.LogDebug.String(): "debug",
		mccache.LogLevel(9).String(): "LogLevel(9)",
		mccache.EventInsert.String(): "insert", mccache.EventUpdate.String(): "update",
		mccache.EventDelete.String(): "delete", mccache.EventEvict.String(): "evict",
		mccache.EventExpire.String(): "expire", mccache.EventType(0).String(): "EventType(0)",
		mccache.OriginLocal.String(): "local", mccache.OriginRemote.String(): "remote",
		mccache.OriginRepair.String(): "repair",
		mccache.Origin(7).String():    "Origin(7)",
		mccache.MemberJoined.String(): "joined", mccache.MemberLeft.String(): "left",
		mccache.MemberDown.String(): "down", mccache.MemberRecovered.String(): "recovered",
		mccache.MemberRestarted.String(): "restarted", mccache.MemberEventType(0).String(): "MemberEventType(0)",
	} {
		if v != want {
			t.Errorf("got %q, want %q", v, want)
		}
	}
}
