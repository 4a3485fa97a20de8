package mccache

import (
	"strconv"
	"time"
)

// TTLs for Cache.Set and Cache.SetBatch besides a positive duration.
const (
	// TTLDefault uses the cache's configured cache_ttl.
	TTLDefault time.Duration = 0
	// TTLNever stores an entry that never expires (it can still be evicted).
	TTLNever time.Duration = -1
)

// ttlMillis converts a TTL for the C API, rounding a positive duration up
// to whole milliseconds so that a short TTL never becomes "default".
func ttlMillis(op string, ttl time.Duration) (int64, error) {
	switch {
	case ttl == TTLDefault:
		return cTTLDefault, nil
	case ttl == TTLNever:
		return cTTLNever, nil
	case ttl < 0:
		return 0, invalid(op, "ttl "+ttl.String()+" is invalid (use TTLDefault, TTLNever or a positive duration)")
	}
	return int64((ttl + time.Millisecond - 1) / time.Millisecond), nil
}

// Version is the version of a write: a hybrid logical clock (48-bit Unix
// milliseconds << 16 | a 16-bit counter) and the id of the node that wrote it.
type Version struct {
	HLC  uint64
	Node uint64
}

// Metadata describes one live entry. Reading it is not a lookup.
type Metadata struct {
	Version      Version
	Created      time.Time // first write of this key on this node
	Updated      time.Time // last write applied on this node
	Expires      time.Time // zero if the entry never expires
	LastLookup   time.Time // zero if never looked up
	Lookups      uint64    // gets that hit the entry
	KeySize      int
	ValueSize    int
	ChargedBytes int    // bytes counted against cache_size
	Checksum     uint64 // as Cache.KeyChecksum
}

// Entry is one key and value of Cache.SetBatch.
type Entry struct {
	Key, Value []byte
}

// EventType says what happened to an entry.
type EventType int

// The event types of mccache.h.
const (
	EventInsert EventType = 1 // a new key was stored
	EventUpdate EventType = 2 // an existing key got a newer value
	EventDelete EventType = 3 // the key was deleted (or cleared)
	EventEvict  EventType = 4 // the key was evicted to respect cache_max/cache_size
	EventExpire EventType = 5 // the key's TTL ran out
)

func (t EventType) String() string {
	switch t {
	case EventInsert:
		return "insert"
	case EventUpdate:
		return "update"
	case EventDelete:
		return "delete"
	case EventEvict:
		return "evict"
	case EventExpire:
		return "expire"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Origin says where a change came from.
type Origin int

// The origins of mccache.h.
const (
	OriginLocal  Origin = 0 // a call on this node
	OriginRemote Origin = 1 // a write replicated from another member
	OriginRepair Origin = 2 // anti-entropy found this member incoherent and repaired it
)

func (o Origin) String() string {
	switch o {
	case OriginLocal:
		return "local"
	case OriginRemote:
		return "remote"
	case OriginRepair:
		return "repair"
	}
	return "Origin(" + strconv.Itoa(int(o)) + ")"
}

// Event is one change to a cache. Key and Value are copies the callback may
// keep. Value is the new value for an insert or update, else the old one,
// or nil when there is none.
type Event struct {
	Type       EventType
	Origin     Origin
	Key        []byte
	Value      []byte
	Version    Version
	LastLookup time.Time // the key's last get on this node before the change; zero if never
	Time       time.Time // when the change was applied on this node
}

// LogLevel is the severity of a log line.
type LogLevel int

// The log levels of mccache.h, most severe first.
const (
	LogError LogLevel = 0
	LogWarn  LogLevel = 1
	LogInfo  LogLevel = 2
	LogDebug LogLevel = 3
)

func (l LogLevel) String() string {
	switch l {
	case LogError:
		return "error"
	case LogWarn:
		return "warn"
	case LogInfo:
		return "info"
	case LogDebug:
		return "debug"
	}
	return "LogLevel(" + strconv.Itoa(int(l)) + ")"
}
