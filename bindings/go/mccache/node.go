package mccache

import (
	"encoding/json"
	"errors"
	"log"
	"runtime"
	"sync"
	"sync/atomic"
)

// Node is one libmccache node: the named caches on it, a loop thread for
// the cluster and housekeeping, and a callback thread for every callback.
// All methods are safe for concurrent use, including Close.
type Node struct {
	c       nodeRef // stays a valid token after close: the library answers ErrClosed
	closed  atomic.Bool
	cleanup runtime.Cleanup

	mu     sync.Mutex
	caches map[string]*Cache
}

// Option configures Open.
type Option func(*openOptions)

type openOptions struct {
	files    []string
	settings [][2]string
	noEnv    bool
}

// WithSetting sets one setting (see Config.Set).
func WithSetting(key, value string) Option {
	return func(o *openOptions) { o.settings = append(o.settings, [2]string{key, value}) }
}

// WithConfigFile loads an INI file (see Config.LoadFile).
func WithConfigFile(path string) Option {
	return func(o *openOptions) { o.files = append(o.files, path) }
}

// WithoutEnv ignores the MCCACHE_* environment variables, which Open
// otherwise reads, as mccache_open(NULL) does.
func WithoutEnv() Option {
	return func(o *openOptions) { o.noEnv = true }
}

// Open opens a node with the built-in defaults, the MCCACHE_* environment
// and the given options. Close it when done.
func Open(opts ...Option) (*Node, error) {
	var o openOptions
	for _, opt := range opts {
		opt(&o)
	}
	const op = "Open"
	cfg, err := newConfig(op)
	if err != nil {
		return nil, err
	}
	defer cfg.Close()
	for _, f := range o.files {
		if err := cfg.loadFile(op, f); err != nil {
			return nil, err
		}
	}
	if !o.noEnv {
		if err := cfg.loadEnv(op); err != nil {
			return nil, err
		}
	}
	for _, kv := range o.settings {
		if err := cfg.set(op, kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return openWithConfig(op, cfg)
}

// OpenWithConfig opens a node with cfg, which it copies: the caller keeps
// cfg and may close it at once. A nil cfg means defaults plus the environment.
func OpenWithConfig(cfg *Config) (*Node, error) { return openWithConfig("OpenWithConfig", cfg) }

func openWithConfig(op string, cfg *Config) (*Node, error) {
	if versionErr != nil {
		return nil, withOp(op, versionErr)
	}
	var c nodeRef
	var err error
	if cfg == nil {
		c, err = cOpen(op, nil)
	} else {
		err = cfg.with(op, func(cc configRef) (err error) {
			c, err = cOpen(op, cc)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	n := &Node{c: c, caches: make(map[string]*Cache)}
	n.cleanup = runtime.AddCleanup(n, closeLeaked, c)
	return n, nil
}

// closeLeaked is the safety net for a Node dropped without Close. It
// cannot catch a Node that a registered callback still refers to.
func closeLeaked(c nodeRef) {
	if cClose(c) == nil {
		log.Printf("mccache: a Node was garbage-collected without Close; closed it")
	}
}

// Close delivers the callbacks still queued, stops the node's threads and
// frees its caches; registered callbacks are released. Calls in flight on
// other goroutines finish first, and later calls on the node or its caches
// return ErrClosed. Close is idempotent. From one of the node's own
// callbacks it returns ErrBusy.
func (n *Node) Close() error {
	err := cClose(n.c)
	if err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	if !n.closed.Swap(true) {
		n.cleanup.Stop()
	}
	return nil
}

// ID returns the node's 64-bit id (node_id, or random when that is 0).
func (n *Node) ID() (uint64, error) { return cNodeID(n.c) }

// ConfigJSON returns the node's effective configuration with the source of
// every value (the shape of Config.JSON).
func (n *Node) ConfigJSON() (json.RawMessage, error) { return cNodeConfigJSON(n.c) }

// MetricsJSON returns the metrics of the node and of every cache on it:
// {"node":{...},"caches":{"NAME":{...}}}.
func (n *Node) MetricsJSON() (json.RawMessage, error) { return cMetricsJSON("Node.MetricsJSON", n.c) }

// Metrics returns MetricsJSON decoded.
func (n *Node) Metrics() (*Metrics, error) {
	b, err := cMetricsJSON("Node.Metrics", n.c)
	if err != nil {
		return nil, err
	}
	return decodeMetrics[Metrics](b)
}

// Housekeep runs one housekeeping pass now (expire entries, collect
// tombstones) and waits for it. Not from the node's own callbacks (ErrBusy).
func (n *Node) Housekeep() error { return cHousekeep(n.c) }

// SetLogger sends the node's log lines to fn instead of log_filename (or
// stderr); nil restores that. Lines are delivered asynchronously, one at a
// time, on the node's callback thread: the call that logged a line has
// usually returned when fn gets it, and a slow fn never stalls a caller.
// Lines beyond 1024 waiting are dropped (and counted as log_lines_dropped).
func (n *Node) SetLogger(fn func(level LogLevel, message string)) error {
	if fn == nil {
		return cSetLogCb(n.c, 0)
	}
	h := newHandle(&callback{log: fn})
	err := cSetLogCb(n.c, uintptr(h))
	if errors.Is(err, ErrInvalid) {
		// The one failure after which the library does not call opaque_free.
		releaseHandle(h)
	}
	return err
}

// Cache opens (or finds) the cache name: 1 to 255 bytes of UTF-8, no '.'.
// The same name gives the same *Cache. Its settings come from the node's
// configuration (cache_ttl, or NAME.cache_ttl, ...).
func (n *Node) Cache(name string) (*Cache, error) {
	if err := noNUL("Node.Cache", "cache name", name); err != nil {
		return nil, err
	}
	// Not under n.mu: opening may log, and a log callback may call Cache.
	c, err := cCacheOpen(n.c, name)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if cache, ok := n.caches[name]; ok {
		return cache, nil
	}
	cache := &Cache{c: c, node: n, name: name}
	n.caches[name] = cache
	return cache, nil
}
