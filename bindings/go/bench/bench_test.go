// Package bench compares the mccache binding with Otter, the leading
// native Go cache, and with the C API called without the binding, all in
// one run:
//
//	go test -run '^$' -bench . -benchmem ./bench
//
// Besides wall time (ns/op), each single-goroutine benchmark reports
// cpu-ns/op, the CPU time of its thread per op: the build machine is
// shared, and CPU time moves less than wall time when other processes take
// the cores. BenchmarkOverhead measures what the binding adds to the C API:
// it alternates chunks of binding calls with the same C calls looped in C,
// over the same keys, and reports the median difference per op.
package bench

import (
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/internal/cbaseline"
	"github.com/libmccache/mccache/bindings/go/mccache"
	"github.com/maypok86/otter/v2"
)

const nKeys = 50_000 // below the default cache_max (65536): no evictions

var (
	keys  = make([][]byte, nKeys)
	skeys = make([]string, nKeys)
	value = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") // 64 bytes
)

func init() {
	for i := range keys {
		skeys[i] = fmt.Sprintf("key-%08d", i)
		keys[i] = []byte(skeys[i])
	}
}

type fixture struct {
	node  *mccache.Node
	cache *mccache.Cache
	raw   *cbaseline.Raw
	otter *otter.Cache[string, []byte]
}

// setup opens one binding node, one raw C node and one Otter cache, each
// holding every key, with the same bounds (65536 entries, 1h TTL on write).
func setup(b testing.TB) *fixture {
	b.Helper()
	var f fixture
	var err error
	// transport=none: a purely local cache, like Otter (and no multicast
	// traffic to disturb other processes on the machine).
	if f.node, err = mccache.Open(mccache.WithoutEnv(), mccache.WithSetting("transport", "none")); err != nil {
		b.Fatal(err)
	}
	if f.cache, err = f.node.Cache("bench"); err != nil {
		b.Fatal(err)
	}
	if f.raw, err = cbaseline.Open(keys, value); err != nil {
		b.Fatal(err)
	}
	f.otter = otter.Must(&otter.Options[string, []byte]{
		MaximumSize:      65536,
		ExpiryCalculator: otter.ExpiryWriting[string, []byte](time.Hour),
	})
	for i, k := range keys {
		if err := f.cache.Set(k, value, mccache.TTLDefault); err != nil {
			b.Fatal(err)
		}
		if rc := f.raw.Put(k, value); rc != 0 {
			b.Fatalf("mccache_put: %d", rc)
		}
		f.otter.Set(skeys[i], value)
	}
	b.Cleanup(func() {
		f.raw.Close()
		_ = f.node.Close()
	})
	return &f
}

// The fixture and the C baselines work, so that a broken benchmark shows
// up in `go test`, not only when someone runs -bench.
func TestBaselines(t *testing.T) {
	f := setup(t)
	buf := make([]byte, 128)
	if n, rc := f.raw.GetCopy(keys[7], buf); rc != 0 || string(buf[:n]) != string(value) {
		t.Fatalf("mccache_get_copy through cgo: rc %d, %q", rc, buf[:n])
	}
	for name, loop := range map[string]func(int, int) (float64, error){
		"get": f.raw.GetLoop, "get_copy": f.raw.GetCopyLoop, "put": f.raw.PutLoop,
	} {
		if ns, err := loop(nKeys-5, 10); err != nil || ns <= 0 {
			t.Errorf("C %s loop: %v ns/op, %v", name, ns, err)
		}
	}
	if v, err := f.cache.Get(keys[nKeys-1]); err != nil || string(v) != string(value) {
		t.Fatalf("binding Get: %q, %v", v, err)
	}
	if v, ok := f.otter.GetIfPresent(skeys[nKeys-1]); !ok || string(v) != string(value) {
		t.Fatal("otter lost a key")
	}
	if cbaseline.Noop() != 0 || cbaseline.Version() != mccache.LibraryVersionNumber() {
		t.Fatal("cgo baselines disagree with the binding")
	}
}

// cpuStart pins the goroutine to its thread and reads the thread's CPU clock.
func cpuStart(b *testing.B) int64 {
	runtime.LockOSThread()
	b.ResetTimer()
	return cbaseline.ThreadCPUNanos()
}

// cpuStop reports and returns the thread CPU time per op since t0.
func cpuStop(b *testing.B, t0 int64) float64 {
	cpu := float64(cbaseline.ThreadCPUNanos()-t0) / float64(b.N)
	b.StopTimer()
	runtime.UnlockOSThread()
	b.ReportMetric(cpu, "cpu-ns/op")
	return cpu
}

// cLoop runs a C loop of b.N ops and reports its CPU time per op.
func cLoop(b *testing.B, loop func(int, int) (float64, error)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu, err := loop(0, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(cpu, "cpu-ns/op")
}

const chunk = 256

// overhead runs b.N binding ops in chunks, each paired with the same C calls
// looped in C over the same keys (which of the two goes first alternates,
// so neither always finds the other's keys in cache). Pairing small chunks
// makes both sides see the same machine load; the medians ignore chunks a
// burst of load hit.
func overhead(b *testing.B, binding func(start, n int), cLoop func(start, n int) (float64, error)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var goPer, cPer, diff []float64
	b.ResetTimer()
	for done, k := 0, 0; done < b.N; k++ {
		n := min(chunk, b.N-done)
		start := done % nKeys
		var g, c float64
		runGo := func() {
			t0 := cbaseline.ThreadCPUNanos()
			binding(start, n)
			g = float64(cbaseline.ThreadCPUNanos()-t0) / float64(n)
		}
		runC := func() {
			var err error
			if c, err = cLoop(start, n); err != nil {
				b.Fatal(err)
			}
		}
		if k%2 == 0 {
			runGo()
			runC()
		} else {
			runC()
			runGo()
		}
		goPer, cPer, diff = append(goPer, g), append(cPer, c), append(diff, g-c)
		done += n
	}
	b.ReportMetric(median(goPer), "binding-cpu-ns/op")
	b.ReportMetric(median(cPer), "c-cpu-ns/op")
	b.ReportMetric(median(diff), "overhead-ns/op")
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

func BenchmarkCgoCall(b *testing.B) {
	b.Run("noop", func(b *testing.B) {
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			cbaseline.Noop()
		}
		cpuStop(b, t0)
	})
	b.Run("mccache_version", func(b *testing.B) {
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			cbaseline.Version()
		}
		cpuStop(b, t0)
	})
}

func BenchmarkGet(b *testing.B) {
	f := setup(b)
	b.Run("c-loop/mccache_get", func(b *testing.B) { cLoop(b, f.raw.GetLoop) })
	b.Run("c-loop/mccache_get_copy", func(b *testing.B) { cLoop(b, f.raw.GetCopyLoop) })
	b.Run("cgo-direct/mccache_get_copy", func(b *testing.B) {
		buf := make([]byte, 128)
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			if _, rc := f.raw.GetCopy(keys[i%nKeys], buf); rc != 0 {
				b.Fatal(rc)
			}
		}
		cpuStop(b, t0)
	})
	b.Run("mccache/Get", func(b *testing.B) {
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			if _, err := f.cache.Get(keys[i%nKeys]); err != nil {
				b.Fatal(err)
			}
		}
		cpuStop(b, t0)
	})
	b.Run("mccache/GetInto", func(b *testing.B) {
		buf := make([]byte, 128)
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			if _, err := f.cache.GetInto(keys[i%nKeys], buf); err != nil {
				b.Fatal(err)
			}
		}
		cpuStop(b, t0)
	})
	b.Run("otter/GetIfPresent", func(b *testing.B) {
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			if _, ok := f.otter.GetIfPresent(skeys[i%nKeys]); !ok {
				b.Fatal("miss")
			}
		}
		cpuStop(b, t0)
	})
}

func BenchmarkSet(b *testing.B) {
	f := setup(b)
	b.Run("c-loop/mccache_put", func(b *testing.B) { cLoop(b, f.raw.PutLoop) })
	b.Run("cgo-direct/mccache_put", func(b *testing.B) {
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			if rc := f.raw.Put(keys[i%nKeys], value); rc != 0 {
				b.Fatal(rc)
			}
		}
		cpuStop(b, t0)
	})
	b.Run("mccache/Set", func(b *testing.B) {
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			if err := f.cache.Set(keys[i%nKeys], value, mccache.TTLDefault); err != nil {
				b.Fatal(err)
			}
		}
		cpuStop(b, t0)
	})
	b.Run("otter/Set", func(b *testing.B) {
		t0 := cpuStart(b)
		for i := 0; i < b.N; i++ {
			f.otter.Set(skeys[i%nKeys], value)
		}
		cpuStop(b, t0)
	})
}

// BenchmarkOverhead's ns/op covers the binding and the C loops together;
// read its binding-cpu-ns/op, c-cpu-ns/op and overhead-ns/op.
func BenchmarkOverhead(b *testing.B) {
	f := setup(b)
	b.Run("Get", func(b *testing.B) {
		overhead(b, func(start, n int) {
			for i := start; i < start+n; i++ {
				if _, err := f.cache.Get(keys[i%nKeys]); err != nil {
					b.Fatal(err)
				}
			}
		}, f.raw.GetLoop)
	})
	b.Run("GetInto", func(b *testing.B) {
		buf := make([]byte, 128)
		overhead(b, func(start, n int) {
			for i := start; i < start+n; i++ {
				if _, err := f.cache.GetInto(keys[i%nKeys], buf); err != nil {
					b.Fatal(err)
				}
			}
		}, f.raw.GetCopyLoop)
	})
	// The floor: a cgo call straight into mccache_get_copy, without the binding.
	b.Run("cgo-direct/get_copy", func(b *testing.B) {
		buf := make([]byte, 128)
		overhead(b, func(start, n int) {
			for i := start; i < start+n; i++ {
				if _, rc := f.raw.GetCopy(keys[i%nKeys], buf); rc != 0 {
					b.Fatal(rc)
				}
			}
		}, f.raw.GetCopyLoop)
	})
	b.Run("cgo-direct/put", func(b *testing.B) {
		overhead(b, func(start, n int) {
			for i := start; i < start+n; i++ {
				if rc := f.raw.Put(keys[i%nKeys], value); rc != 0 {
					b.Fatal(rc)
				}
			}
		}, f.raw.PutLoop)
	})
	b.Run("Set", func(b *testing.B) {
		overhead(b, func(start, n int) {
			for i := start; i < start+n; i++ {
				if err := f.cache.Set(keys[i%nKeys], value, mccache.TTLDefault); err != nil {
					b.Fatal(err)
				}
			}
		}, f.raw.PutLoop)
	})
}

// The parallel runs use every core (GOMAXPROCS goroutines).
func BenchmarkGetParallel(b *testing.B) {
	f := setup(b)
	b.Run("mccache/Get", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, err := f.cache.Get(keys[i%nKeys]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("mccache/GetInto", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 128)
			for i := 0; pb.Next(); i++ {
				if _, err := f.cache.GetInto(keys[i%nKeys], buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("otter/GetIfPresent", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if _, ok := f.otter.GetIfPresent(skeys[i%nKeys]); !ok {
					b.Fatal("miss")
				}
			}
		})
	})
}

func BenchmarkSetParallel(b *testing.B) {
	f := setup(b)
	b.Run("mccache/Set", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				if err := f.cache.Set(keys[i%nKeys], value, mccache.TTLDefault); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("otter/Set", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				f.otter.Set(skeys[i%nKeys], value)
			}
		})
	})
}
