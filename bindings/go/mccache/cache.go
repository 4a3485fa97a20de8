package mccache

import (
	"encoding/json"
	"errors"
	"time"
)

// Cache is a named cache of a Node. It stays valid as long as its node;
// after Node.Close every method returns ErrClosed. All methods are safe for
// concurrent use. Keys are 1 to max_key_size bytes; keys and values passed
// in are copied by the library before the call returns.
type Cache struct {
	c    cacheRef
	node *Node // keeps the node reachable while the cache is
	name string
}

// Name returns the cache's name.
func (c *Cache) Name() string { return c.name }

// Node returns the node the cache belongs to.
func (c *Cache) Node() *Node { return c.node }

// Get returns a copy of the value of key, or an error that is ErrNotFound
// when the key is absent or expired.
func (c *Cache) Get(key []byte) ([]byte, error) { return cGet(c.c, key) }

// GetInto copies the value of key into buf and returns its size, without
// allocating. When buf is too small it returns the size needed and an error
// that is ErrBufferTooSmall (that attempt is not counted as a lookup).
func (c *Cache) GetInto(key, buf []byte) (int, error) { return cGetInto(c.c, key, buf) }

// Set inserts or replaces the entry for key. ttl is a positive duration
// (rounded up to milliseconds), TTLDefault for the cache's cache_ttl, or
// TTLNever. A key or value over the configured limits is ErrTooBig, and
// then nothing is stored.
func (c *Cache) Set(key, value []byte, ttl time.Duration) error {
	ms, err := ttlMillis("Cache.Set", ttl)
	if err != nil {
		return err
	}
	return cPut(c.c, key, value, ms)
}

// Delete deletes the entry for key and reports whether there was one. A
// versioned tombstone is kept either way, so the delete also wins over
// older writes still in flight.
func (c *Cache) Delete(key []byte) (bool, error) { return cDelete(c.c, key) }

// Contains reports whether a live entry exists, without counting a lookup.
func (c *Cache) Contains(key []byte) (bool, error) { return cContains(c.c, key) }

// Len returns the number of live entries.
func (c *Cache) Len() (int, error) { return cLen(c.c) }

// Clear removes every entry (each is reported as a delete to OnChange).
func (c *Cache) Clear() error { return cClear(c.c) }

// Range calls fn for each live entry until fn returns false. key and value
// are copies fn may keep. Each entry live for the whole walk is seen once;
// entries written meanwhile may or may not be. Writers are never blocked
// for long, and fn may call any method of the cache.
func (c *Cache) Range(fn func(key, value []byte) bool) error { return cRange(c.c, fn) }

// Metadata returns the metadata of the live entry for key (not a lookup).
func (c *Cache) Metadata(key []byte) (Metadata, error) { return cMetadata(c.c, key) }

// GetBatch looks up several keys in one call. values[i] is a copy of the
// value of keys[i], or nil when it is missing (a stored empty value is a
// non-nil empty slice). An invalid key fails the whole batch.
func (c *Cache) GetBatch(keys [][]byte) (values [][]byte, err error) { return cGetBatch(c.c, keys) }

// SetBatch stores several entries with the same TTL (as for Set). If any
// entry is invalid or too big, none is stored.
func (c *Cache) SetBatch(entries []Entry, ttl time.Duration) error {
	ms, err := ttlMillis("Cache.SetBatch", ttl)
	if err != nil {
		return err
	}
	return cPutBatch(c.c, entries, ms)
}

// Checksum returns an order-independent digest of every live entry: the sum
// of their KeyChecksums. Members holding the same data have equal checksums.
func (c *Cache) Checksum() (uint64, error) { return cChecksum(c.c) }

// KeyChecksum returns the checksum of one entry (over its key, version and value).
func (c *Cache) KeyChecksum(key []byte) (uint64, error) { return cKeyChecksum(c.c, key) }

// MetricsJSON returns the cache's metrics (the caches.NAME object of Node.MetricsJSON).
func (c *Cache) MetricsJSON() (json.RawMessage, error) {
	return cCacheMetricsJSON("Cache.MetricsJSON", c.c)
}

// Metrics returns MetricsJSON decoded.
func (c *Cache) Metrics() (MetricSet, error) {
	b, err := cCacheMetricsJSON("Cache.Metrics", c.c)
	if err != nil {
		return nil, err
	}
	m, err := decodeMetrics[MetricSet](b)
	if err != nil {
		return nil, err
	}
	return *m, nil
}

// OnChange calls fn for every change to the cache, replacing an earlier
// registration; nil unregisters. With callback_win > 0 only changes to keys
// looked up within that window are reported.
//
// fn runs on the node's callback thread, never on the goroutine that wrote,
// one event at a time, with this cache's changes in the order they were
// made. It should return quickly: while it runs the node's other callbacks
// wait, and events beyond event_queue_max are dropped (and counted). It
// never delays replication or the cluster's heartbeats, which run on
// another thread. Hand slow work to a goroutine. fn may call the cache
// (reads and writes) but not Node.Close, Node.Housekeep or
// Node.ClusterCollect (they return ErrBusy). A panic in fn is recovered and
// logged.
func (c *Cache) OnChange(fn func(Event)) error {
	if fn == nil {
		return cOnChange(c.c, 0)
	}
	h := newHandle(&callback{change: fn})
	err := cOnChange(c.c, uintptr(h))
	if errors.Is(err, ErrInvalid) {
		// The one failure after which the library does not call opaque_free.
		releaseHandle(h)
	}
	return err
}
