// Command benchsummary reads the output of the bench package's benchmarks
// and prints the comparison table of the README: the median of each metric
// over -count runs, mccache against Otter, and the binding's overhead over
// the C API.
//
//	go test -run '^$' -bench . -benchmem -count 5 ./bench | go run ./internal/benchsummary
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var lineRe = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// samples maps a benchmark name to its metrics' values over the runs.
type samples map[string]map[string][]float64

func parse(r io.Reader) (samples, error) {
	s := samples{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := lineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if s[m[1]] == nil {
				s[m[1]] = map[string][]float64{}
			}
			s[m[1]][f[i+1]] = append(s[m[1]][f[i+1]], v)
		}
	}
	return s, sc.Err()
}

// get returns the median of a metric over the runs; ok is false if it is absent.
func (s samples) get(name, unit string) (float64, bool) {
	v := append([]float64(nil), s[name][unit]...)
	if len(v) == 0 {
		return 0, false
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

func cell(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func main() {
	s, err := parse(os.Stdin)
	if err != nil || len(s) == 0 {
		fmt.Fprintln(os.Stderr, "benchsummary: no benchmark lines on stdin", err)
		os.Exit(1)
	}
	fmt.Println("| Operation | mccache ns/op | cpu-ns/op | Otter ns/op | cpu-ns/op | mccache / Otter (cpu) |")
	fmt.Println("|---|---|---|---|---|---|")
	rows := []struct{ label, ours, otter string }{
		{"Get (copy)", "BenchmarkGet/mccache/Get", "BenchmarkGet/otter/GetIfPresent"},
		{"GetInto (no alloc)", "BenchmarkGet/mccache/GetInto", "BenchmarkGet/otter/GetIfPresent"},
		{"Set", "BenchmarkSet/mccache/Set", "BenchmarkSet/otter/Set"},
	}
	for _, r := range rows {
		ns, okNs := s.get(r.ours, "ns/op")
		cpu, okCPU := s.get(r.ours, "cpu-ns/op")
		ons, okONs := s.get(r.otter, "ns/op")
		ocpu, okOCPU := s.get(r.otter, "cpu-ns/op")
		ratio := "–"
		if okCPU && okOCPU && ocpu > 0 {
			ratio = strconv.FormatFloat(cpu/ocpu, 'f', 2, 64) + "×"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.label, cell(ns, okNs), cell(cpu, okCPU),
			cell(ons, okONs), cell(ocpu, okOCPU), ratio)
	}
	fmt.Println()
	fmt.Println("| Overhead over the C API (paired chunks) | binding cpu-ns/op | C loop cpu-ns/op | overhead ns/op |")
	fmt.Println("|---|---|---|---|")
	for _, r := range []struct{ label, name string }{
		{"Get vs mccache_get + mccache_value_free", "BenchmarkOverhead/Get"},
		{"GetInto vs mccache_get_copy", "BenchmarkOverhead/GetInto"},
		{"Set vs mccache_put", "BenchmarkOverhead/Set"},
		{"raw cgo call to mccache_get_copy (no binding) vs mccache_get_copy", "BenchmarkOverhead/cgo-direct/get_copy"},
		{"raw cgo call to mccache_put (no binding) vs mccache_put", "BenchmarkOverhead/cgo-direct/put"},
	} {
		b, ok1 := s.get(r.name, "binding-cpu-ns/op")
		c, ok2 := s.get(r.name, "c-cpu-ns/op")
		o, ok3 := s.get(r.name, "overhead-ns/op")
		fmt.Printf("| %s | %s | %s | %s |\n", r.label, cell(b, ok1), cell(c, ok2), cell(o, ok3))
	}
	fmt.Println()
	fmt.Println("| Parallel (all cores) | mccache ns/op | Otter ns/op | mccache / Otter |")
	fmt.Println("|---|---|---|---|")
	for _, r := range []struct{ label, ours, otter string }{
		{"Get", "BenchmarkGetParallel/mccache/Get", "BenchmarkGetParallel/otter/GetIfPresent"},
		{"GetInto", "BenchmarkGetParallel/mccache/GetInto", "BenchmarkGetParallel/otter/GetIfPresent"},
		{"Set", "BenchmarkSetParallel/mccache/Set", "BenchmarkSetParallel/otter/Set"},
	} {
		ns, ok1 := s.get(r.ours, "ns/op")
		ons, ok2 := s.get(r.otter, "ns/op")
		ratio := "–"
		if ok1 && ok2 && ons > 0 {
			ratio = strconv.FormatFloat(ns/ons, 'f', 2, 64) + "×"
		}
		fmt.Printf("| %s | %s | %s | %s |\n", r.label, cell(ns, ok1), cell(ons, ok2), ratio)
	}
	fmt.Println()
	fmt.Println("| Baselines | ns/op | cpu-ns/op |")
	fmt.Println("|---|---|---|")
	for _, name := range []string{"BenchmarkCgoCall/noop", "BenchmarkCgoCall/mccache_version",
		"BenchmarkGet/c-loop/mccache_get", "BenchmarkGet/c-loop/mccache_get_copy", "BenchmarkGet/cgo-direct/mccache_get_copy",
		"BenchmarkSet/c-loop/mccache_put", "BenchmarkSet/cgo-direct/mccache_put"} {
		ns, ok1 := s.get(name, "ns/op")
		cpu, ok2 := s.get(name, "cpu-ns/op")
		fmt.Printf("| %s | %s | %s |\n", strings.TrimPrefix(name, "Benchmark"), cell(ns, ok1), cell(cpu, ok2))
	}
}
