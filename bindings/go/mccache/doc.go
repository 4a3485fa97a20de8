// Package mccache is the Go binding of libmccache, an in-process cache whose
// members stay coherent over UDP. It is a thin layer over the C library
// (found with pkg-config): every operation is one or two cgo calls, and no
// cache logic lives in Go.
//
// A Node owns named caches, a loop thread for the cluster and a callback
// thread:
//
//	node, err := mccache.Open(mccache.WithSetting("cache_ttl", "10m"))
//	if err != nil { ... }
//	defer node.Close()
//	users, _ := node.Cache("users")
//	_ = users.Set([]byte("alice"), []byte("admin"), mccache.TTLDefault)
//	v, err := users.Get([]byte("alice"))
//
// A node joins its cluster when it opens (see cluster_name and transport in
// docs/CONFIG.md): writes replicate to the other members, OnMember reports
// membership, and ClusterCollect queries every member.
//
// # Errors
//
// Every error wraps one of the Errno sentinels (ErrNotFound, ErrTooBig,
// ErrClosed, ...), so test with errors.Is. Each is an *Error naming the
// function of this package that failed and, but for misses, the library's
// message naming the argument, key, source or range at fault:
// "mccache: Cache.Set: value of 2097152 bytes exceeds max_value_size (1048576); nothing was stored".
//
// # Memory
//
// The library copies keys and values before a call returns and never keeps
// a Go pointer, so the hot calls take them wherever they are, the stack
// included, without copying or moving them to the heap. Get returns a new
// slice; GetInto fills the caller's buffer without allocating. Values and
// keys given to callbacks are copies.
//
// # Concurrency
//
// Nodes, caches and configs are safe for concurrent use. Close may race
// with calls on other goroutines: calls in flight finish, later ones return
// ErrClosed, and Close is idempotent. A Node dropped without Close is closed
// when the garbage collector finds it, as a safety net only.
//
// # Callbacks
//
// Every callback (Cache.OnChange, Node.OnMember, Node.SetLogger,
// Node.ClusterRequest) runs on the node's callback thread, one at a time:
// never on the goroutine that wrote or logged, and never on the thread that
// sends heartbeats and replication, so a slow callback delays the node's
// other callbacks but not its cluster. Log lines arrive asynchronously,
// shortly after the call that logged them. Callbacks should still return
// quickly (changes beyond event_queue_max are dropped): send to a buffered
// channel or start a goroutine for real work. They may call the cache, but
// not Node.Close, Node.Housekeep or Node.ClusterCollect of their own node
// (ErrBusy). A panic in a callback is recovered and logged, since it cannot
// unwind through C.
//
// The package checks at load time that the libmccache it is linked with has
// the version it was built for; if not, Open and NewConfig return an error
// that is ErrNotSupported.
package mccache
