package mccache_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

func Example() {
	node, err := mccache.Open(mccache.WithSetting("cache_ttl", "10m"))
	if err != nil {
		panic(err)
	}
	defer node.Close()

	users, err := node.Cache("users")
	if err != nil {
		panic(err)
	}
	if err := users.Set([]byte("alice"), []byte(`{"role":"admin"}`), mccache.TTLDefault); err != nil {
		panic(err)
	}
	v, err := users.Get([]byte("alice"))
	fmt.Println(string(v), err)

	_, err = users.Get([]byte("bob"))
	fmt.Println(errors.Is(err, mccache.ErrNotFound))
	// Output:
	// {"role":"admin"} <nil>
	// true
}

func ExampleCache_Set_ttl() {
	node, _ := mccache.Open()
	defer node.Close()
	sessions, _ := node.Cache("sessions")

	_ = sessions.Set([]byte("s1"), []byte("token"), 30*time.Minute)
	_ = sessions.Set([]byte("s2"), []byte("token"), mccache.TTLNever)

	md, _ := sessions.Metadata([]byte("s1"))
	fmt.Println(md.Expires.Sub(md.Updated))
	md, _ = sessions.Metadata([]byte("s2"))
	fmt.Println(md.Expires.IsZero())
	// Output:
	// 30m0s
	// true
}

func ExampleCache_GetInto() {
	node, _ := mccache.Open()
	defer node.Close()
	c, _ := node.Cache("buffers")
	_ = c.Set([]byte("k"), []byte("a longer value"), 0)

	buf := make([]byte, 4) // reuse one buffer across gets: no allocation
	n, err := c.GetInto([]byte("k"), buf)
	if errors.Is(err, mccache.ErrBufferTooSmall) {
		buf = make([]byte, n)
		n, err = c.GetInto([]byte("k"), buf)
	}
	fmt.Println(string(buf[:n]), err)
	// Output:
	// a longer value <nil>
}

func ExampleCache_OnChange() {
	node, _ := mccache.Open()
	defer node.Close()
	c, _ := node.Cache("watched")

	// The callback runs on the node's callback thread: hand events over and return.
	events := make(chan mccache.Event, 16)
	_ = c.OnChange(func(e mccache.Event) {
		select {
		case events <- e:
		default: // never block the node's other callbacks
		}
	})

	_ = c.Set([]byte("k"), []byte("v1"), 0)
	_ = c.Set([]byte("k"), []byte("v2"), 0)
	_, _ = c.Delete([]byte("k"))
	for i := 0; i < 3; i++ {
		e := <-events
		fmt.Println(e.Type, string(e.Key), string(e.Value), e.Origin)
	}
	// Output:
	// insert k v1 local
	// update k v2 local
	// delete k v2 local
}

func ExampleCache_Range() {
	node, _ := mccache.Open()
	defer node.Close()
	c, _ := node.Cache("walk")
	_ = c.SetBatch([]mccache.Entry{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Value: []byte("2")},
	}, mccache.TTLDefault)

	total := 0
	_ = c.Range(func(key, value []byte) bool {
		total += int(value[0] - '0')
		return true
	})
	fmt.Println(total)
	// Output:
	// 3
}

func ExampleCache_GetBatch() {
	node, _ := mccache.Open()
	defer node.Close()
	c, _ := node.Cache("batch")
	_ = c.Set([]byte("x"), []byte("10"), 0)

	values, _ := c.GetBatch([][]byte{[]byte("x"), []byte("y")})
	fmt.Printf("%q %v\n", values[0], values[1] == nil)
	// Output:
	// "10" true
}

func ExampleError() {
	node, _ := mccache.Open(mccache.WithSetting("max_value_size", "1KiB"))
	defer node.Close()
	c, _ := node.Cache("limits")

	err := c.Set([]byte("k"), make([]byte, 4096), 0)
	var e *mccache.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, mccache.ErrTooBig), mccache.Errno(e.Code).Name())
	}
	// Output:
	// true MCCACHE_ETOOBIG
}

func ExampleConfig() {
	cfg, _ := mccache.NewConfig()
	defer cfg.Close()
	_ = cfg.LoadEnv() // MCCACHE_* variables, below Set in precedence
	_ = cfg.Set("cache_max", "1000")
	_ = cfg.Set("users.cache_ttl", "5m") // for the cache "users" only

	maxEntries, _ := cfg.Get("cache_max")
	fmt.Println(maxEntries)

	err := cfg.Set("cache_max", "many")
	fmt.Println(errors.Is(err, mccache.ErrConfig))

	node, _ := mccache.OpenWithConfig(cfg)
	defer node.Close()
	// Output:
	// 1000
	// true
}

func ExampleNode_Metrics() {
	node, _ := mccache.Open()
	defer node.Close()
	c, _ := node.Cache("m")
	_ = c.Set([]byte("k"), []byte("v"), 0)
	_, _ = c.Get([]byte("k"))

	m, _ := node.Metrics()
	fmt.Println(m.Caches["m"].Int("hits"), m.Caches["m"].Float("hit_ratio"))
	// Output:
	// 1 1
}
