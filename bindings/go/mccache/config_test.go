package mccache_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

func newConfig(t *testing.T) *mccache.Config {
	t.Helper()
	cfg, err := mccache.NewConfig()
	must(t, err)
	t.Cleanup(func() { cfg.Close() })
	return cfg
}

// source returns the "source" the JSON view gives a node setting.
func source(t *testing.T, js json.RawMessage, key string) string {
	t.Helper()
	var doc struct {
		Node map[string]struct {
			Source string `json:"source"`
		} `json:"node"`
	}
	must(t, json.Unmarshal(js, &doc))
	return doc.Node[key].Source
}

func TestConfigSetAndGet(t *testing.T) {
	cfg := newConfig(t)
	must(t, cfg.Set("cache_ttl", "30s"))
	must(t, cfg.Set("users.cache_max", "10"))
	if v, err := cfg.Get("cache_max"); err != nil || v != "65536" {
		t.Fatalf("default cache_max = %q, %v", v, err)
	}
	if v, err := cfg.Get("cache_ttl"); err != nil || v == "" || v == "1h" {
		t.Fatalf("cache_ttl after Set = %q, %v", v, err)
	}
	if v, err := cfg.Get("users.cache_max"); err != nil || v != "10" {
		t.Fatalf("users.cache_max = %q, %v", v, err)
	}
	// A value longer than Get's first buffer.
	long := strings.Repeat("x", 300)
	must(t, cfg.Set("log_filename", filepath.Join(t.TempDir(), long)))
	if v, err := cfg.Get("log_filename"); err != nil || !strings.HasSuffix(v, long) {
		t.Fatalf("long value read back as %q, %v", v, err)
	}
	e := wantErr(t, cfg.Set("cache_ttl", "soon"), mccache.ErrConfig)
	if !strings.Contains(e.Message, "cache_ttl") {
		t.Errorf("message %q does not name the key", e.Message)
	}
	_, err := cfg.Get("no_such_key")
	wantErr(t, err, mccache.ErrConfig)
	wantErr(t, cfg.Set("cache\x00ttl", "1s"), mccache.ErrInvalid)
	wantErr(t, cfg.Set("cache_ttl", "1s\x00"), mccache.ErrInvalid)
}

func TestConfigSecretsAreMasked(t *testing.T) {
	cfg := newConfig(t)
	must(t, cfg.Set("crypto_key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
	if v, err := cfg.Get("crypto_key"); err != nil || v != "(set)" {
		t.Fatalf("crypto_key reads back as %q, %v", v, err)
	}
	js, err := cfg.JSON()
	must(t, err)
	if strings.Contains(string(js), "AAAAAAAA") {
		t.Fatal("JSON shows the secret")
	}
}

func TestConfigLoadFileAndEnvWithPrecedence(t *testing.T) {
	ini := filepath.Join(t.TempDir(), "mccache.ini")
	must(t, os.WriteFile(ini, []byte("[mccache]\ncache_max = 100\nevent_queue_max = 64\n[users]\nttl = 5m\n"), 0o600))
	t.Setenv("MCCACHE_CACHE_MAX", "200")

	cfg := newConfig(t)
	must(t, cfg.Set("event_queue_max", "128")) // API beats the file, whatever the order
	must(t, cfg.LoadFile(ini))
	must(t, cfg.LoadEnv())
	for key, want := range map[string]string{"cache_max": "200", "event_queue_max": "128"} {
		if v, err := cfg.Get(key); err != nil || v != want {
			t.Errorf("%s = %q, %v; want %q", key, v, err, want)
		}
	}
	js, err := cfg.JSON()
	must(t, err)
	if got := source(t, js, "cache_max"); got != "env:MCCACHE_CACHE_MAX" {
		t.Errorf("cache_max source %q", got)
	}
	if got := source(t, js, "event_queue_max"); got != "api" {
		t.Errorf("event_queue_max source %q", got)
	}
	if !strings.Contains(string(js), `"users"`) {
		t.Errorf("JSON lacks the [users] section: %s", js)
	}

	bad := filepath.Join(t.TempDir(), "bad.ini")
	must(t, os.WriteFile(bad, []byte("[mccache]\ncache_max = lots\n"), 0o600))
	e := wantErr(t, cfg.LoadFile(bad), mccache.ErrConfig)
	if !strings.Contains(e.Message, "bad.ini:2") {
		t.Errorf("message %q does not name path:line", e.Message)
	}
	wantErr(t, cfg.LoadFile(filepath.Join(t.TempDir(), "none.ini")), mccache.ErrIO)
	wantErr(t, cfg.LoadFile("bad\x00.ini"), mccache.ErrInvalid)

	t.Setenv("MCCACHE_CACHE_MAX", "-5")
	e = wantErr(t, cfg.LoadEnv(), mccache.ErrConfig)
	if !strings.Contains(e.Message, "MCCACHE_CACHE_MAX") {
		t.Errorf("message %q does not name the variable", e.Message)
	}
}

func TestConfigCloseIsIdempotentAndFinal(t *testing.T) {
	cfg, err := mccache.NewConfig()
	must(t, err)
	must(t, cfg.Close())
	must(t, cfg.Close())
	wantErr(t, cfg.Set("cache_ttl", "1s"), mccache.ErrClosed)
	wantErr(t, cfg.LoadEnv(), mccache.ErrClosed)
	_, err = cfg.Get("cache_ttl")
	wantErr(t, err, mccache.ErrClosed)
	_, err = cfg.JSON()
	wantErr(t, err, mccache.ErrClosed)
	_, err = mccache.OpenWithConfig(cfg)
	wantErr(t, err, mccache.ErrClosed)
}

// The C configuration must not be used by two threads at once, so Config
// serialises its callers.
func TestConfigIsSafeForConcurrentUse(t *testing.T) {
	cfg := newConfig(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if err := cfg.Set("cache_max", "1000"); err != nil {
					t.Error(err)
					return
				}
				if v, err := cfg.Get("cache_max"); err != nil || v != "1000" {
					t.Errorf("Get = %q, %v", v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestOpenWithConfigCopiesTheConfig(t *testing.T) {
	cfg := newConfig(t)
	must(t, cfg.Set("node_id", "4242"))
	must(t, cfg.Set("cluster_name", uniqueCluster()))
	n, err := mccache.OpenWithConfig(cfg)
	must(t, err)
	defer n.Close()
	must(t, cfg.Close()) // the node keeps its own copy
	if id, err := n.ID(); err != nil || id != 4242 {
		t.Fatalf("ID = %d, %v", id, err)
	}
}
