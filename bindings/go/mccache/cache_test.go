package mccache_test

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

func TestGetSetDeleteContains(t *testing.T) {
	_, c := openCache(t, "crud")
	k := []byte("key")
	if ok, err := c.Contains(k); err != nil || ok {
		t.Fatalf("Contains before Set = %v, %v", ok, err)
	}
	must(t, c.Set(k, []byte("v1"), mccache.TTLDefault))
	must(t, c.Set(k, []byte("v2"), mccache.TTLNever))
	v, err := c.Get(k)
	if err != nil || string(v) != "v2" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	// The result is the caller's: changing it changes nothing stored.
	v[0] = 'X'
	if v2, _ := c.Get(k); string(v2) != "v2" {
		t.Fatalf("stored value changed to %q", v2)
	}
	// So is the input: the library copied it.
	in := []byte("v3")
	must(t, c.Set(k, in, 0))
	in[0] = 'Y'
	if v3, _ := c.Get(k); string(v3) != "v3" {
		t.Fatalf("stored value follows the caller's buffer: %q", v3)
	}
	if ok, err := c.Contains(k); err != nil || !ok {
		t.Fatalf("Contains = %v, %v", ok, err)
	}
	if n, err := c.Len(); err != nil || n != 1 {
		t.Fatalf("Len = %d, %v", n, err)
	}
	if ok, err := c.Delete(k); err != nil || !ok {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if ok, err := c.Delete(k); err != nil || ok {
		t.Fatalf("second Delete = %v, %v", ok, err)
	}
	if _, err := c.Get(k); !errors.Is(err, mccache.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	_, err = c.Delete(nil)
	wantErr(t, err, mccache.ErrInvalid)
	_, err = c.Contains([]byte{})
	wantErr(t, err, mccache.ErrInvalid)
}

func TestEmptyAndBinaryValues(t *testing.T) {
	_, c := openCache(t, "bytes")
	must(t, c.Set([]byte("empty"), nil, 0))
	v, err := c.Get([]byte("empty"))
	if err != nil || v == nil || len(v) != 0 {
		t.Fatalf("empty value = %#v, %v", v, err)
	}
	bin := []byte{0, 1, 2, 0, 255}
	must(t, c.Set(bin, bin, 0))
	if v, err := c.Get(bin); err != nil || !bytes.Equal(v, bin) {
		t.Fatalf("binary value = %v, %v", v, err)
	}
	// Around the size Get copies through a scratch buffer, and far above it.
	for _, size := range []int{511, 512, 513, 4096} {
		val := bytes.Repeat([]byte{byte(size)}, size)
		must(t, c.Set([]byte("sized"), val, 0))
		if v, err := c.Get([]byte("sized")); err != nil || !bytes.Equal(v, val) || cap(v) != size {
			t.Fatalf("%d-byte value: %d bytes (cap %d), %v", size, len(v), cap(v), err)
		}
	}
	big := bytes.Repeat([]byte("0123456789"), 100_000) // 1,000,000 bytes: copied outside the shard lock
	must(t, c.Set([]byte("big"), big, 0))
	if v, err := c.Get([]byte("big")); err != nil || !bytes.Equal(v, big) {
		t.Fatalf("big value: %d bytes, %v", len(v), err)
	}
}

func TestKeyAndValueLimits(t *testing.T) {
	_, c := openCache(t, "limits",
		mccache.WithSetting("max_key_size", "16"), mccache.WithSetting("max_value_size", "64"))
	wantErr(t, c.Set(make([]byte, 17), []byte("v"), 0), mccache.ErrTooBig)
	wantErr(t, c.Set([]byte("k"), make([]byte, 65), 0), mccache.ErrTooBig)
	_, err := c.Get(make([]byte, 17))
	wantErr(t, err, mccache.ErrTooBig)
	if n, _ := c.Len(); n != 0 {
		t.Fatalf("a rejected write was stored: Len %d", n)
	}
}

func TestGetInto(t *testing.T) {
	_, c := openCache(t, "into")
	must(t, c.Set([]byte("k"), []byte("hello"), 0))
	buf := make([]byte, 16)
	n, err := c.GetInto([]byte("k"), buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("GetInto = %q, %v", buf[:n], err)
	}
	n, err = c.GetInto([]byte("k"), buf[:5])
	if err != nil || n != 5 {
		t.Fatalf("exact buffer: %d, %v", n, err)
	}
	n, err = c.GetInto([]byte("k"), nil)
	wantErr(t, err, mccache.ErrBufferTooSmall)
	if n != 5 {
		t.Fatalf("size needed %d", n)
	}
	_, err = c.GetInto([]byte("nope"), buf)
	wantErr(t, err, mccache.ErrNotFound)
	m, err := c.Metrics()
	must(t, err)
	if m.Int("hits") != 2 || m.Int("misses") != 1 {
		t.Fatalf("a too-small buffer must not count: hits %d misses %d", m.Int("hits"), m.Int("misses"))
	}
}

// The hot paths allocate only what they return.
func TestAllocations(t *testing.T) {
	_, c := openCache(t, "allocs")
	k, v, buf := []byte("key"), []byte("value"), make([]byte, 64)
	must(t, c.Set(k, v, 0))
	missing := []byte("missing")
	for name, want := range map[string]struct {
		fn   func()
		want float64
	}{
		"Set":      {func() { _ = c.Set(k, v, 0) }, 0},
		"GetInto":  {func() { _, _ = c.GetInto(k, buf) }, 0},
		"Get":      {func() { _, _ = c.Get(k) }, 1},
		"Get miss": {func() { _, _ = c.Get(missing) }, 0},
		"Contains": {func() { _, _ = c.Contains(k) }, 0},
	} {
		if got := testing.AllocsPerRun(200, want.fn); got > want.want {
			t.Errorf("%s: %.1f allocations per call, want at most %.0f", name, got, want.want)
		}
	}
}

// The hot calls pass keys and buffers to C as pointers under #cgo
// noescape: a key built in a local array stays on the goroutine stack
// (no allocation), which is safe because the library copies it and never
// calls back into Go on the caller's thread. If this starts allocating, the
// directive was lost and every stack key moves to the heap again.
func TestHotCallsLeaveStackKeysOnTheStack(t *testing.T) {
	_, c := openCache(t, "stack")
	buf := make([]byte, 64)
	key := "a key of 24 bytes, here."
	must(t, c.Set([]byte(key), []byte("v"), 0))
	// Each call is direct: a key passed through a func value would escape
	// whatever the binding does.
	for name, got := range map[string]float64{
		"GetInto": testing.AllocsPerRun(200, func() {
			var k [24]byte // over the tiny allocator's 16 bytes: counted on its own
			copy(k[:], key)
			if n, err := c.GetInto(k[:], buf); err != nil || string(buf[:n]) != "v" {
				t.Fatalf("GetInto: %q, %v", buf[:n], err)
			}
		}),
		"Contains": testing.AllocsPerRun(200, func() {
			var k [24]byte
			copy(k[:], key)
			if ok, err := c.Contains(k[:]); err != nil || !ok {
				t.Fatalf("Contains: %v, %v", ok, err)
			}
		}),
		"Set": testing.AllocsPerRun(200, func() {
			var k [24]byte
			v := [1]byte{'v'}
			copy(k[:], key)
			must(t, c.Set(k[:], v[:], 0))
		}),
	} {
		if got != 0 {
			t.Errorf("%s with a stack key: %.1f allocations per call, want 0", name, got)
		}
	}

	// Keys on stacks that grow (and so move) between calls read right.
	var deep func(depth int)
	deep = func(depth int) {
		var k [24]byte
		copy(k[:], key)
		if n, err := c.GetInto(k[:], buf); err != nil || string(buf[:n]) != "v" {
			t.Fatalf("depth %d: GetInto %q, %v", depth, buf[:n], err)
		}
		if depth > 0 {
			var pad [512]byte // grows the stack by a frame of its own
			pad[depth%len(pad)] = byte(depth)
			deep(depth - 1)
			_ = pad[(depth+1)%len(pad)]
		}
	}
	deep(200)
}

func TestTTLs(t *testing.T) {
	_, c := openCache(t, "ttl", mccache.WithSetting("ttl.cache_ttl", "1h"))
	must(t, c.Set([]byte("short"), []byte("v"), 30*time.Millisecond))
	must(t, c.Set([]byte("sub-ms"), []byte("v"), time.Microsecond)) // rounds up to 1 ms, not "default"
	must(t, c.Set([]byte("default"), []byte("v"), mccache.TTLDefault))
	must(t, c.Set([]byte("never"), []byte("v"), mccache.TTLNever))
	wantErr(t, c.Set([]byte("bad"), []byte("v"), -2*time.Second), mccache.ErrInvalid)
	wantErr(t, c.SetBatch([]mccache.Entry{{Key: []byte("bad")}}, -time.Millisecond), mccache.ErrInvalid)

	// What the binding owns is the conversion to milliseconds; the expiry
	// the library computed from it shows it exactly.
	for key, want := range map[string]time.Duration{
		"short": 30 * time.Millisecond, "sub-ms": time.Millisecond, "default": time.Hour,
	} {
		md, err := c.Metadata([]byte(key))
		if errors.Is(err, mccache.ErrNotFound) && key == "sub-ms" {
			continue // already gone: its TTL was 1 ms
		}
		must(t, err)
		if got := md.Expires.Sub(md.Updated); got != want {
			t.Errorf("%s: expires %v after the write, want %v", key, got, want)
		}
	}
	md, err := c.Metadata([]byte("never"))
	must(t, err)
	if !md.Expires.IsZero() {
		t.Errorf("TTLNever expires at %v", md.Expires)
	}
	waitFor(t, "the 30ms entry to expire", func() bool {
		_, err := c.Get([]byte("short"))
		return errors.Is(err, mccache.ErrNotFound)
	})
	waitFor(t, "the 1ms entry to expire", func() bool {
		ok, err := c.Contains([]byte("sub-ms"))
		return err == nil && !ok
	})
	for _, k := range []string{"default", "never"} {
		if ok, _ := c.Contains([]byte(k)); !ok {
			t.Errorf("%s expired", k)
		}
	}
}

func TestMetadata(t *testing.T) {
	n, c := openCache(t, "meta")
	before := time.Now().Add(-time.Second)
	must(t, c.Set([]byte("k"), []byte("value"), time.Minute))
	for i := 0; i < 3; i++ {
		_, err := c.Get([]byte("k"))
		must(t, err)
	}
	md, err := c.Metadata([]byte("k"))
	must(t, err)
	after := time.Now().Add(time.Second)
	id, _ := n.ID()
	if md.Version.Node != id || md.Version.HLC == 0 {
		t.Errorf("Version %+v, node id %d", md.Version, id)
	}
	for name, tm := range map[string]time.Time{"Created": md.Created, "Updated": md.Updated, "LastLookup": md.LastLookup} {
		if tm.Before(before) || tm.After(after) {
			t.Errorf("%s = %v, not within the test", name, tm)
		}
	}
	if d := md.Expires.Sub(md.Updated); d < 59*time.Second || d > 61*time.Second {
		t.Errorf("Expires - Updated = %v, want 1m", d)
	}
	if md.Lookups != 3 || md.KeySize != 1 || md.ValueSize != 5 || md.ChargedBytes < 6 {
		t.Errorf("metadata %+v", md)
	}
	sum, err := c.KeyChecksum([]byte("k"))
	must(t, err)
	if md.Checksum != sum || sum == 0 {
		t.Errorf("Metadata.Checksum %x, KeyChecksum %x", md.Checksum, sum)
	}
	// Reading metadata is not a lookup.
	md2, _ := c.Metadata([]byte("k"))
	if md2.Lookups != 3 {
		t.Errorf("Metadata counted a lookup: %d", md2.Lookups)
	}
	_, err = c.Metadata([]byte("absent"))
	wantErr(t, err, mccache.ErrNotFound)
	_, err = c.KeyChecksum([]byte("absent"))
	wantErr(t, err, mccache.ErrNotFound)
}

func TestChecksums(t *testing.T) {
	_, a := openCache(t, "sums")
	_, b := openCache(t, "sums")
	if s, err := a.Checksum(); err != nil || s != 0 {
		t.Fatalf("empty checksum %x, %v", s, err)
	}
	var total uint64
	for i := 0; i < 50; i++ {
		k := []byte(fmt.Sprint("key", i))
		must(t, a.Set(k, []byte(fmt.Sprint("value", i)), 0))
		s, err := a.KeyChecksum(k)
		must(t, err)
		total += s
	}
	if s, _ := a.Checksum(); s != total {
		t.Fatalf("Checksum %x, sum of KeyChecksums %x", s, total)
	}
	// Another node with other versions has another checksum.
	for i := 49; i >= 0; i-- {
		must(t, b.Set([]byte(fmt.Sprint("key", i)), []byte(fmt.Sprint("value", i)), 0))
	}
	sa, _ := a.Checksum()
	sb, _ := b.Checksum()
	if sa == sb {
		t.Fatal("different versions gave the same checksum")
	}
	must(t, a.Clear())
	if s, _ := a.Checksum(); s != 0 {
		t.Fatalf("checksum after Clear %x", s)
	}
}

func TestClearAndLen(t *testing.T) {
	_, c := openCache(t, "clear")
	for i := 0; i < 10; i++ {
		must(t, c.Set([]byte(fmt.Sprint(i)), []byte("v"), 0))
	}
	if n, _ := c.Len(); n != 10 {
		t.Fatalf("Len %d", n)
	}
	must(t, c.Clear())
	if n, _ := c.Len(); n != 0 {
		t.Fatalf("Len after Clear %d", n)
	}
}

func TestRange(t *testing.T) {
	_, c := openCache(t, "range")
	want := map[string]string{}
	for i := 0; i < 300; i++ {
		k, v := fmt.Sprintf("k%03d", i), fmt.Sprintf("value-%d", i)
		want[k] = v
		must(t, c.Set([]byte(k), []byte(v), 0))
	}
	must(t, c.Set([]byte("empty"), nil, 0))
	want["empty"] = ""
	got := map[string]string{}
	var kept [][]byte
	must(t, c.Range(func(k, v []byte) bool {
		if _, dup := got[string(k)]; dup {
			t.Errorf("key %q seen twice", k)
		}
		got[string(k)] = string(v)
		kept = append(kept, k)
		return true
	}))
	if len(got) != len(want) {
		t.Fatalf("Range saw %d entries, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// The keys handed out are copies that stay valid.
	sort.Slice(kept, func(i, j int) bool { return bytes.Compare(kept[i], kept[j]) < 0 })
	if string(kept[0]) != "empty" || string(kept[1]) != "k000" {
		t.Fatalf("kept keys changed: %q %q", kept[0], kept[1])
	}

	seen := 0
	must(t, c.Range(func(_, _ []byte) bool { seen++; return seen < 5 }))
	if seen != 5 {
		t.Fatalf("Range went on after false: %d calls", seen)
	}

	// fn may write to the cache it walks.
	must(t, c.Range(func(k, _ []byte) bool { return c.Set(k, []byte("x"), 0) == nil }))

	// A panic in fn frees the iterator and leaves the cache usable.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		_ = c.Range(func(_, _ []byte) bool { panic("stop") })
	}()
	if n, err := c.Len(); err != nil || n != len(want) {
		t.Fatalf("Len after a panicking Range: %d, %v", n, err)
	}

	_, empty := openCache(t, "empty-range")
	must(t, empty.Range(func(_, _ []byte) bool { t.Error("called on an empty cache"); return true }))
}

func TestBatches(t *testing.T) {
	_, c := openCache(t, "batch", mccache.WithSetting("max_value_size", "1KiB"))
	entries := []mccache.Entry{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Value: []byte("22")},
		{Key: []byte("empty"), Value: nil},
	}
	must(t, c.SetBatch(entries, time.Minute))
	vals, err := c.GetBatch([][]byte{[]byte("a"), []byte("missing"), []byte("b"), []byte("empty")})
	must(t, err)
	if len(vals) != 4 || string(vals[0]) != "1" || vals[1] != nil || string(vals[2]) != "22" ||
		vals[3] == nil || len(vals[3]) != 0 {
		t.Fatalf("GetBatch = %#v", vals)
	}
	if md, _ := c.Metadata([]byte("b")); md.Expires.Sub(md.Updated) != time.Minute {
		t.Errorf("SetBatch TTL: expires %v after the write", md.Expires.Sub(md.Updated))
	}

	// One bad entry stores nothing, and the message names its index.
	e := wantErr(t, c.SetBatch([]mccache.Entry{{Key: []byte("c"), Value: []byte("3")}, {Key: nil}}, 0), mccache.ErrInvalid)
	if !bytes.Contains([]byte(e.Message), []byte("[1]")) {
		t.Errorf("message %q does not name the index", e.Message)
	}
	wantErr(t, c.SetBatch([]mccache.Entry{{Key: []byte("c"), Value: make([]byte, 2048)}}, 0), mccache.ErrTooBig)
	if ok, _ := c.Contains([]byte("c")); ok {
		t.Fatal("a failed batch stored an entry")
	}
	_, err = c.GetBatch([][]byte{[]byte("a"), {}})
	wantErr(t, err, mccache.ErrInvalid)

	vals, err = c.GetBatch(nil)
	if err != nil || len(vals) != 0 {
		t.Fatalf("empty GetBatch = %v, %v", vals, err)
	}
	must(t, c.SetBatch(nil, 0))

	// A large batch.
	var many []mccache.Entry
	var keys [][]byte
	for i := 0; i < 1000; i++ {
		k := []byte(fmt.Sprint("many", i))
		many = append(many, mccache.Entry{Key: k, Value: []byte(fmt.Sprint(i))})
		keys = append(keys, k)
	}
	must(t, c.SetBatch(many, 0))
	vals, err = c.GetBatch(keys)
	must(t, err)
	for i, v := range vals {
		if string(v) != fmt.Sprint(i) {
			t.Fatalf("vals[%d] = %q", i, v)
		}
	}
}

func TestCacheMetrics(t *testing.T) {
	_, c := openCache(t, "cm")
	must(t, c.Set([]byte("k"), []byte("v"), 0))
	raw, err := c.MetricsJSON()
	must(t, err)
	if !bytes.Contains(raw, []byte(`"entries":1`)) {
		t.Fatalf("MetricsJSON %s", raw)
	}
	m, err := c.Metrics()
	must(t, err)
	if m.Int("puts") != 1 || m.Uint("entries") != 1 || m.Int("no", "such") != 0 || m.String("entries") != "" {
		t.Fatalf("Metrics %v", m)
	}
}
