package mccache

import (
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync"
)

// Config is a set of string settings; docs/CONFIG.md lists the keys. Keys
// and values pass through as text, so a setting added to the library needs
// no new release of this package. Per-cache settings are "NAME.key".
//
// Precedence depends on the source, not on the order of calls: defaults <
// INI file < environment < Set. A Config is safe for concurrent use.
type Config struct {
	mu      sync.Mutex
	c       configRef // nil once closed
	cleanup runtime.Cleanup
}

// NewConfig returns a configuration holding the built-in defaults. Close it
// when done; Open and OpenWithConfig copy it.
func NewConfig() (*Config, error) { return newConfig("NewConfig") }

// newConfig is NewConfig; errors name op, the function the user called.
func newConfig(op string) (*Config, error) {
	if versionErr != nil {
		return nil, withOp(op, versionErr)
	}
	c, err := cConfigNew(op)
	if err != nil {
		return nil, err
	}
	cfg := &Config{c: c}
	cfg.cleanup = runtime.AddCleanup(cfg, cConfigFree, c)
	return cfg, nil
}

// Close frees the configuration. It is idempotent.
func (cfg *Config) Close() error {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	if cfg.c != nil {
		cfg.cleanup.Stop()
		cConfigFree(cfg.c)
		cfg.c = nil
	}
	return nil
}

// with runs fn on the C configuration under the lock: the C object must not
// be used by two threads at once. op names the caller in errors.
func (cfg *Config) with(op string, fn func(configRef) error) error {
	cfg.mu.Lock()
	defer cfg.mu.Unlock()
	if cfg.c == nil {
		return &Error{Op: op, Code: int(ErrClosed), Message: "the Config was closed"}
	}
	return fn(cfg.c)
}

// noNUL rejects strings that C would silently truncate.
func noNUL(op, what, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return invalid(op, what+" contains a NUL byte")
	}
	return nil
}

// Set sets one setting with the highest precedence, e.g. Set("cache_ttl", "30s").
func (cfg *Config) Set(key, value string) error { return cfg.set("Config.Set", key, value) }

func (cfg *Config) set(op, key, value string) error {
	if err := errors.Join(noNUL(op, "key", key), noNUL(op, "value", value)); err != nil {
		return err
	}
	return cfg.with(op, func(c configRef) error { return cConfigSet(op, c, key, value) })
}

// LoadFile loads an INI file: section [mccache] for the node, [NAME] for the
// cache NAME. On error the configuration is left unchanged.
func (cfg *Config) LoadFile(path string) error { return cfg.loadFile("Config.LoadFile", path) }

func (cfg *Config) loadFile(op, path string) error {
	if err := noNUL(op, "path", path); err != nil {
		return err
	}
	return cfg.with(op, func(c configRef) error { return cConfigLoadFile(op, c, path) })
}

// LoadEnv loads the MCCACHE_<KEY> environment variables.
func (cfg *Config) LoadEnv() error { return cfg.loadEnv("Config.LoadEnv") }

func (cfg *Config) loadEnv(op string) error {
	return cfg.with(op, func(c configRef) error { return cConfigLoadEnv(op, c) })
}

// Get returns a setting's effective value as text. Secrets read back as
// "(set)" or "".
func (cfg *Config) Get(key string) (string, error) {
	if err := noNUL("Config.Get", "key", key); err != nil {
		return "", err
	}
	var value string
	err := cfg.with("Config.Get", func(c configRef) error {
		buf := make([]byte, 128)
		for {
			n, err := cConfigGet(c, key, buf)
			if errors.Is(err, ErrBufferTooSmall) {
				buf = make([]byte, n)
				continue
			}
			if err != nil {
				return err
			}
			if n > 0 {
				value = string(buf[:n-1]) // n counts the NUL
			}
			return nil
		}
	})
	return value, err
}

// JSON returns every setting with its value and source:
// {"node":{"KEY":{"value":V,"source":"default|file:PATH:LINE|env:VAR|api"}},"caches":{...}}.
func (cfg *Config) JSON() (json.RawMessage, error) {
	var out []byte
	err := cfg.with("Config.JSON", func(c configRef) (err error) {
		out, err = cConfigJSON(c)
		return err
	})
	return out, err
}
