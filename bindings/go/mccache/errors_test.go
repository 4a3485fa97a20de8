package mccache_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

// The generated mirror must agree with the library for every code, and
// codes it does not know must be unknown to both.
func TestErrnoNamesMatchTheLibrary(t *testing.T) {
	for code := 0; code >= -17; code-- {
		if got, want := mccache.Errno(code).Name(), mccache.CErrName(code); got != want {
			t.Errorf("Errno(%d).Name() = %q, mccache_err_name = %q", code, got, want)
		}
	}
	if got := mccache.CErrName(-17); got != "MCCACHE_EUNKNOWN" {
		t.Errorf("mccache_err_name(-17) = %q: the header has a new code, run go generate", got)
	}
}

func TestEveryCodeWorksWithErrorsIs(t *testing.T) {
	sentinels := []mccache.Errno{
		mccache.ErrInvalid, mccache.ErrNoMemory, mccache.ErrNotFound, mccache.ErrExists,
		mccache.ErrBufferTooSmall, mccache.ErrTooBig, mccache.ErrClosed, mccache.ErrTimedOut,
		mccache.ErrCanceled, mccache.ErrBusy, mccache.ErrConfig, mccache.ErrIO, mccache.ErrStale,
		mccache.ErrUser, mccache.ErrNotSupported, mccache.ErrInternal,
	}
	for i, s := range sentinels {
		code := -(i + 1)
		if int(s) != code {
			t.Fatalf("%s = %d, want %d", s.Name(), int(s), code)
		}
		var err error = &mccache.Error{Op: "Cache.Get", Code: code, Message: "why"}
		for _, other := range sentinels {
			if errors.Is(err, other) != (other == s) {
				t.Errorf("errors.Is(code %d, %s) = %v", code, other.Name(), !(other == s))
			}
		}
		if got := err.Error(); got != "mccache: Cache.Get: why" {
			t.Errorf("Error() = %q", got)
		}
		if got := (&mccache.Error{Code: code, Message: "why"}).Error(); got != "mccache: why" {
			t.Errorf("Error() without Op = %q", got)
		}
		if got, want := s.Error(), "mccache: "+mccache.CStrerror(code); got != want {
			t.Errorf("%s.Error() = %q, want %q", s.Name(), got, want)
		}
		// Without a message, the library's sentence stands in.
		if got := (&mccache.Error{Code: code}).Error(); !strings.Contains(got, mccache.CStrerror(code)) {
			t.Errorf("Error() without message = %q", got)
		}
	}
}

// Each code the library can return today, provoked for real: the error is
// the right sentinel and carries the library's message, read on the thread
// that failed.
func TestRealFailuresCarryTheLibraryMessage(t *testing.T) {
	n, c := openCache(t, "errs", mccache.WithSetting("max_value_size", "1KiB"))

	e := wantErr(t, c.Set(nil, []byte("v"), 0), mccache.ErrInvalid)
	if !strings.Contains(e.Message, "key is NULL") {
		t.Errorf("EINVAL message %q", e.Message)
	}
	e = wantErr(t, c.Set([]byte("k"), make([]byte, 2048), 0), mccache.ErrTooBig)
	if !strings.Contains(e.Message, "max_value_size") {
		t.Errorf("ETOOBIG message %q", e.Message)
	}
	_, err := c.Get([]byte("missing"))
	wantErr(t, err, mccache.ErrNotFound)

	must(t, c.Set([]byte("k"), []byte("0123456789"), 0))
	size, err := c.GetInto([]byte("k"), make([]byte, 4))
	wantErr(t, err, mccache.ErrBufferTooSmall)
	if size != 10 {
		t.Errorf("GetInto reported %d bytes needed, want 10", size)
	}

	_, err = mccache.Open(isolated(mccache.WithSetting("no_such_key", "1"))...)
	e = wantErr(t, err, mccache.ErrConfig)
	if !strings.Contains(e.Message, "no_such_key") {
		t.Errorf("ECONFIG message %q", e.Message)
	}
	_, err = mccache.Open(isolated(mccache.WithConfigFile(filepath.Join(t.TempDir(), "absent.ini")))...)
	wantErr(t, err, mccache.ErrIO)

	busy := make(chan error, 1)
	must(t, c.OnChange(func(mccache.Event) {
		select {
		case busy <- n.Close():
		default:
		}
	}))
	must(t, c.Set([]byte("trigger"), []byte("x"), 0))
	wantErr(t, <-busy, mccache.ErrBusy)

	must(t, n.Close())
	wantErr(t, c.Set([]byte("k"), []byte("v"), 0), mccache.ErrClosed)
}

func TestTheVersionCheck(t *testing.T) {
	if got := mccache.LibraryVersionNumber(); got != mccache.BuiltVersion {
		t.Fatalf("loaded libmccache %d, built against %d", got, mccache.BuiltVersion)
	}
	if v := mccache.LibraryVersion(); v == "" || strings.Count(v, ".") != 2 {
		t.Fatalf("LibraryVersion() = %q", v)
	}
	for _, tc := range []struct {
		loaded, built int
		ok            bool
	}{
		{100, 100, true},
		{101, 100, true},  // a newer patch
		{200, 100, false}, // 0.x: minors may break the ABI
		{99, 100, false},  // older than the header
		{10000, 100, false},
		{10300, 10200, true}, // 1.x: newer minors keep the ABI
		{10100, 10200, false},
		{20000, 10200, false},
	} {
		err := mccache.CheckVersion(tc.loaded, tc.built)
		if (err == nil) != tc.ok {
			t.Errorf("CheckVersion(%d, %d) = %v, want ok=%v", tc.loaded, tc.built, err, tc.ok)
		}
		if err != nil && !errors.Is(err, mccache.ErrNotSupported) {
			t.Errorf("CheckVersion error %v is not ErrNotSupported", err)
		}
	}
}

// What the user reads names the function of this package that failed, not
// the C function behind it: "mccache: Cache.Set: ...", never "mccache_put".
func TestErrorsNameTheFunctionCalled(t *testing.T) {
	n, c := openCache(t, "named", mccache.WithSetting("max_value_size", "1KiB"))
	k := []byte("k")
	must(t, c.Set(k, []byte("v"), 0))
	missing := []byte("missing")
	busy := make(chan error, 1)
	must(t, c.OnChange(func(mccache.Event) {
		select {
		case busy <- n.Close():
		default:
		}
	}))
	must(t, c.Set([]byte("trigger"), []byte("x"), 0))
	closeFromCallback := <-busy

	type call struct {
		op      string
		err     error
		message string // the whole message after "mccache: OP: ", when it is ours to fix
	}
	errOf := func(_ any, err error) error { return err }
	calls := []call{
		{"Cache.Get", errOf(c.Get(missing)), "key not found"},
		{"Cache.GetInto", errOf(c.GetInto(missing, make([]byte, 8))), "key not found"},
		{"Cache.Metadata", errOf(c.Metadata(missing)), "key not found"},
		{"Cache.KeyChecksum", errOf(c.KeyChecksum(missing)), "key not found"},
		{"Cache.Get", errOf(c.Get(nil)), ""},
		{"Cache.GetInto", errOf(c.GetInto(k, nil)), ""},
		{"Cache.Set", c.Set(nil, []byte("v"), 0), ""},
		{"Cache.Set", c.Set(k, make([]byte, 2048), 0), ""},
		{"Cache.Set", c.Set(k, []byte("v"), -time.Second), ""},
		{"Cache.Delete", errOf(c.Delete(nil)), ""},
		{"Cache.Contains", errOf(c.Contains([]byte{})), ""},
		{"Cache.GetBatch", errOf(c.GetBatch([][]byte{k, {}})), ""},
		{"Cache.SetBatch", c.SetBatch([]mccache.Entry{{Key: k, Value: make([]byte, 2048)}}, 0), ""},
		{"Cache.Metadata", errOf(c.Metadata(nil)), ""},
		{"Node.Cache", errOf(n.Cache("a.b")), ""},
		{"Node.ClusterCollect", errOf(n.ClusterCollect(mccache.QueryKind(9), "", time.Second)), ""},
		{"Node.ClusterRequest", n.ClusterRequest(mccache.QueryMetrics, "", time.Second, nil), "fn is nil"},
		{"Node.Close", closeFromCallback, ""},
		{"Open", errOf(mccache.Open(isolated(mccache.WithSetting("no_such_key", "1"))...)), ""},
		{"Open", errOf(mccache.Open(isolated(mccache.WithConfigFile(filepath.Join(t.TempDir(), "absent.ini")))...)), ""},
	}
	cfg, err := mccache.NewConfig()
	must(t, err)
	calls = append(calls,
		call{"Config.Set", cfg.Set("cache_ttl", "abc"), ""},
		call{"Config.LoadFile", cfg.LoadFile(filepath.Join(t.TempDir(), "absent.ini")), ""},
		call{"Config.Get", errOf(cfg.Get("no_such_key")), ""})
	must(t, cfg.Close())
	calls = append(calls, call{"Config.Set", cfg.Set("cache_ttl", "1s"), "the Config was closed"})

	must(t, c.OnChange(nil))
	must(t, n.Close())
	calls = append(calls,
		call{"Cache.Set", c.Set(k, k, 0), "the node is closed"},
		call{"Cache.Get", errOf(c.Get(k)), "the node is closed"},
		call{"Cache.Range", c.Range(func(_, _ []byte) bool { return true }), "the node is closed"},
		call{"Node.ID", errOf(n.ID()), "the node is closed"},
		call{"Node.Housekeep", n.Housekeep(), "the node is closed"},
		call{"Node.Metrics", errOf(n.Metrics()), "the node is closed"})

	for i, tc := range calls {
		var e *mccache.Error
		if !errors.As(tc.err, &e) {
			t.Errorf("%d: %s: error %v is not a *mccache.Error", i, tc.op, tc.err)
			continue
		}
		text := tc.err.Error()
		if e.Op != tc.op || !strings.HasPrefix(text, "mccache: "+tc.op+": ") {
			t.Errorf("%d: want an error of %s, got Op %q: %q", i, tc.op, e.Op, text)
		}
		if strings.Contains(text, "mccache_") || strings.TrimPrefix(text, "mccache: "+tc.op+": ") == "" {
			t.Errorf("%d: %s: %q names a C function or says nothing", i, tc.op, text)
		}
		if tc.message != "" && text != "mccache: "+tc.op+": "+tc.message {
			t.Errorf("%d: %q, want %q", i, text, "mccache: "+tc.op+": "+tc.message)
		}
	}
}
