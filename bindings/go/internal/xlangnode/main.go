// Command xlangnode is the Go member of the cross-language cluster test
// (tests/xlang/run_xlang.py starts it beside the C, Rust and Java nodes).
//
// It speaks the line protocol of tests/xlang/README.md on stdin/stdout:
// "ready", then one reply line per command (members, write PHASE, sync,
// checksum, events, probe KEY..., quit). It uses only the public mccache
// package; errors go to stderr, stdout carries protocol lines only. It lives
// under internal/ so that it is not part of the binding's API.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

type prefixStats struct {
	local, remote, repair uint64
	seen                  map[int]bool // key indexes that got a remote or repair insert/update
	from                  map[string]uint64
}

type state struct {
	mu         sync.Mutex
	self       uint64
	label      string
	index      int
	keys       int
	shared     int
	pace       time.Duration // pause between write iterations, so that the four writers overlap
	prefixes   map[string]*prefixStats
	order      []string
	mineOwn    map[int]mccache.Version
	mineShared map[int]mccache.Version
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "xlang_node(go): %s: %v\n", what, err)
	os.Exit(1)
}

func less(a, b mccache.Version) bool {
	return a.HLC < b.HLC || (a.HLC == b.HLC && a.Node < b.Node)
}

// splitKey splits "PREFIX-INDEX"; ok is false for any other shape.
func splitKey(key string) (prefix string, idx int, ok bool) {
	dash := strings.IndexByte(key, '-')
	if dash <= 0 {
		return "", 0, false
	}
	idx, err := strconv.Atoi(key[dash+1:])
	if err != nil || idx < 0 {
		return "", 0, false
	}
	return key[:dash], idx, true
}

// onChange runs on the node's callback thread.
func (s *state) onChange(ev mccache.Event) {
	prefix, idx, ok := splitKey(string(ev.Key))
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.prefixes[prefix]
	if p == nil {
		p = &prefixStats{seen: map[int]bool{}, from: map[string]uint64{}}
		s.prefixes[prefix] = p
		s.order = append(s.order, prefix)
	}
	switch ev.Origin {
	case mccache.OriginLocal:
		p.local++
	case mccache.OriginRemote:
		p.remote++
	case mccache.OriginRepair:
		p.repair++
	}
	upsert := ev.Type == mccache.EventInsert || ev.Type == mccache.EventUpdate
	if ev.Origin != mccache.OriginLocal && upsert {
		p.seen[idx] = true
		if colon := strings.IndexByte(string(ev.Value), ':'); colon > 0 {
			p.from[string(ev.Value[:colon])]++
		}
	}
	if ev.Version.Node == s.self {
		var mine map[int]mccache.Version
		switch {
		case prefix == "shared" && idx < s.shared:
			mine = s.mineShared
		case prefix == s.label && idx < s.keys:
			mine = s.mineOwn
		}
		if mine != nil && less(mine[idx], ev.Version) {
			mine[idx] = ev.Version
		}
	}
}

// writePhase runs one write phase, as tests/xlang/README.md defines it.
func (s *state) writePhase(c *mccache.Cache, phase int) {
	ops, errs := 0, 0
	start := time.Now()
	count := func(err error) {
		ops++
		if err != nil {
			errs++
			fmt.Fprintf(os.Stderr, "xlang_node(go): phase %d: %v\n", phase, err)
		}
	}
	put := func(key, value string) { count(c.Set([]byte(key), []byte(value), mccache.TTLNever)) }
	del := func(key string) {
		_, err := c.Delete([]byte(key))
		count(err)
	}
	for i := 0; i < s.keys; i++ {
		// Each writer starts the shared keys at another quarter, so that which
		// writer writes a key last (and wins it) varies from key to key.
		j := (i + s.index*(s.shared/4)) % s.shared
		value := fmt.Sprintf("%s:%d:%d", s.label, phase, i)
		own := fmt.Sprintf("%s-%d", s.label, i)
		switch {
		case phase == 1:
			put(own, value)
		case i%5 == 0:
			del(own)
		case i%5 == 1:
			put(own, value)
		}
		shared := fmt.Sprintf("shared-%d", j)
		if phase == 2 && j%8 == 0 {
			if i < s.shared && (j/8)%4 == s.index {
				del(shared)
			}
		} else {
			put(shared, value)
		}
		// Pacing, not synchronisation: iteration i+1 starts pace*(i+1) after
		// the phase began, so the four writers keep in step.
		time.Sleep(time.Until(start.Add(s.pace * time.Duration(i+1))))
	}
	fmt.Printf("written %d %d %d\n", phase, ops, errs)
}

func (s *state) printEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	b.WriteString("events {")
	for n, name := range s.order {
		p := s.prefixes[name]
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:{\"local\":%d,\"remote\":%d,\"repair\":%d,\"seen\":[", name, p.local, p.remote, p.repair)
		seen := make([]int, 0, len(p.seen))
		for k := range p.seen {
			seen = append(seen, k)
		}
		sort.Ints(seen)
		for k, idx := range seen {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(idx))
		}
		b.WriteString("],\"from\":{")
		first := true
		for label, n := range p.from {
			if !first {
				b.WriteByte(',')
			}
			first = false
			fmt.Fprintf(&b, "%q:%d", label, n)
		}
		b.WriteString("}}")
	}
	b.WriteString("}")
	fmt.Println(b.String())
}

func (s *state) printProbe(c *mccache.Cache, keys []string) {
	var b strings.Builder
	b.WriteString("probe {")
	for n, key := range keys {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:{", key)
		value, err := c.Get([]byte(key))
		var md mccache.Metadata
		if err == nil {
			md, err = c.Metadata([]byte(key))
		}
		switch {
		case err == nil:
			fmt.Fprintf(&b, "\"value\":%q,\"hlc\":\"%016x\",\"node\":\"%016x\"", value, md.Version.HLC, md.Version.Node)
		case errors.Is(err, mccache.ErrNotFound):
			b.WriteString("\"value\":null")
		default:
			fail("probe "+key, err)
		}
		prefix, idx, ok := splitKey(key)
		var mine mccache.Version
		s.mu.Lock()
		if ok && prefix == "shared" {
			mine = s.mineShared[idx]
		} else if ok && prefix == s.label {
			mine = s.mineOwn[idx]
		}
		s.mu.Unlock()
		if mine.Node != 0 {
			fmt.Fprintf(&b, ",\"mine\":[\"%016x\",\"%016x\"]", mine.HLC, mine.Node)
		}
		b.WriteByte('}')
	}
	b.WriteString("}")
	fmt.Println(b.String())
}

func args() map[string]string {
	m := map[string]string{}
	for i := 1; i+1 < len(os.Args); i += 2 {
		m[os.Args[i]] = os.Args[i+1]
	}
	return m
}

func main() {
	a := args()
	need := func(name string) string {
		v, ok := a[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "xlang_node(go): missing %s\n", name)
			os.Exit(2)
		}
		return v
	}
	number := func(name string) int {
		n, err := strconv.Atoi(need(name))
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "xlang_node(go): bad %s\n", name)
			os.Exit(2)
		}
		return n
	}
	s := &state{
		label:      need("--label"),
		index:      number("--index"),
		keys:       number("--keys"),
		shared:     number("--shared"),
		pace:       time.Duration(number("--pace-us")) * time.Microsecond,
		prefixes:   map[string]*prefixStats{},
		mineOwn:    map[int]mccache.Version{},
		mineShared: map[int]mccache.Version{},
	}
	if s.keys < 1 || s.shared < 1 {
		fmt.Fprintln(os.Stderr, "xlang_node(go): --keys and --shared must be positive")
		os.Exit(2)
	}

	// Built-in defaults plus these settings; the environment is not read.
	cfg, err := mccache.NewConfig()
	if err != nil {
		fail("NewConfig", err)
	}
	for _, kv := range [][2]string{
		{"interface", "127.0.0.1"}, // loopback only, whatever the caller says
		{"cluster_name", need("--cluster")},
		{"transport", "multicast"},
		{"multicast_ip", need("--group")},
		{"multicast_port", need("--port")},
	} {
		if err := cfg.Set(kv[0], kv[1]); err != nil {
			fail("Config.Set", err)
		}
	}
	iface, err := cfg.Get("interface")
	if err != nil {
		fail("Config.Get", err)
	}
	node, err := mccache.OpenWithConfig(cfg)
	if err != nil {
		fail("OpenWithConfig", err)
	}
	_ = cfg.Close()
	if s.self, err = node.ID(); err != nil {
		fail("ID", err)
	}
	cache, err := node.Cache("xlang")
	if err != nil {
		fail("Cache", err)
	}
	if err := cache.OnChange(s.onChange); err != nil {
		fail("OnChange", err)
	}
	fmt.Printf("ready %016x %s\n", s.self, iface)

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	for in.Scan() {
		line := in.Text()
		cmd, rest, _ := strings.Cut(line, " ")
		switch cmd {
		case "members":
			alive := 0
			m, err := node.Members()
			if err != nil {
				fail("Members", err)
			}
			for _, member := range m.Members {
				if member.State == "alive" {
					alive++
				}
			}
			fmt.Printf("members %d\n", alive)
		case "write":
			phase, err := strconv.Atoi(rest)
			if err != nil {
				fail("write", err)
			}
			s.writePhase(cache, phase)
		case "sync":
			if err := node.Sync(); err != nil {
				fail("Sync", err)
			}
			fmt.Println("synced")
		case "checksum":
			sum, err := cache.Checksum()
			if err != nil {
				fail("Checksum", err)
			}
			n, err := cache.Len()
			if err != nil {
				fail("Len", err)
			}
			fmt.Printf("checksum %016x %d\n", sum, n)
		case "events":
			s.printEvents()
		case "probe":
			s.printProbe(cache, strings.Fields(rest))
		case "quit":
			if err := node.Close(); err != nil {
				fail("Close", err)
			}
			fmt.Println("bye")
			return
		default:
			fmt.Fprintf(os.Stderr, "xlang_node(go): unknown command %q\n", line)
			fmt.Println("error unknown command")
		}
	}
	// stdin closed (the coordinator went away): leave the cluster cleanly.
	if err := node.Close(); err != nil {
		fail("Close", err)
	}
}
