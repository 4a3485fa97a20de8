package mccache_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libmccache/mccache/bindings/go/mccache"
)

const wait = 5 * time.Second

func hexID(id uint64) string { return fmt.Sprintf("%016x", id) }

type reply struct {
	member uint64
	answer json.RawMessage
}

func TestALoneNodeAnswersItsOwnQueries(t *testing.T) {
	base := mccache.LiveHandles()
	n, c := openCache(t, "c")
	must(t, c.Set([]byte("k"), []byte("v"), 0))
	id, _ := n.ID()

	ms, err := n.Members()
	must(t, err)
	if ms.Self.ID != id || ms.Self.Address == "" || !strings.HasPrefix(ms.Self.Address, "127.0.0.1:") {
		t.Errorf("Self = %+v, node id %x", ms.Self, id)
	}
	raw, err := n.MembersJSON()
	must(t, err)
	if !strings.Contains(string(raw), `"self"`) {
		t.Errorf("MembersJSON %s", raw)
	}
	must(t, n.Sync())

	metrics, err := n.ClusterCollect(mccache.QueryMetrics, "", wait)
	must(t, err)
	if !strings.Contains(string(metrics), `"replies"`) || !strings.Contains(string(metrics), hexID(id)) {
		t.Errorf("metrics collect %s", metrics)
	}
	sums, err := n.ClusterCollect(mccache.QueryChecksums, "c", wait)
	must(t, err)
	if !strings.Contains(string(sums), `"c"`) {
		t.Errorf("checksums collect %s", sums)
	}

	replies := make(chan reply, 8)
	must(t, n.ClusterRequest(mccache.QueryChecksums, "", wait, func(m uint64, a json.RawMessage) {
		replies <- reply{m, a}
	}))
	first := <-replies
	if first.member != id || !strings.Contains(string(first.answer), `"checksum"`) {
		t.Errorf("first reply %d %s", first.member, first.answer)
	}
	if last := <-replies; last.member != 0 || last.answer != nil {
		t.Errorf("final call %d %q, want 0 and nil", last.member, last.answer)
	}
	waitHandles(t, base) // the reply callback is released after the final call

	// Failed requests release their callback at once.
	wantErr(t, n.ClusterRequest(mccache.QueryKind(9), "", wait, func(uint64, json.RawMessage) {}), mccache.ErrInvalid)
	wantErr(t, n.ClusterRequest(mccache.QueryMetrics, "", 0, func(uint64, json.RawMessage) {}), mccache.ErrInvalid)
	wantErr(t, n.ClusterRequest(mccache.QueryMetrics, "", wait, nil), mccache.ErrInvalid)
	if got := mccache.LiveHandles(); got != base {
		t.Fatalf("%d live handles after failed requests, want %d", got, base)
	}
	_, err = n.ClusterCollect(mccache.QueryKind(9), "", wait)
	wantErr(t, err, mccache.ErrInvalid)
	_, err = n.ClusterCollect(mccache.QueryChecksums, "c\x00", wait)
	wantErr(t, err, mccache.ErrInvalid)
	wantErr(t, n.ClusterRequest(mccache.QueryChecksums, "c\x00", wait, func(uint64, json.RawMessage) {}), mccache.ErrInvalid)

	// A callback must not wait on its node: collecting from one is refused.
	busy := make(chan error, 1)
	must(t, c.OnChange(func(mccache.Event) {
		_, err := n.ClusterCollect(mccache.QueryMetrics, "", wait)
		select {
		case busy <- err:
		default:
		}
	}))
	must(t, c.Set([]byte("k2"), []byte("v"), 0))
	wantErr(t, <-busy, mccache.ErrBusy)
}

// memberLog records membership changes.
type memberLog struct {
	mu     sync.Mutex
	events []mccache.MemberEvent
}

func (l *memberLog) record(e mccache.MemberEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *memberLog) has(typ mccache.MemberEventType, id uint64) (mccache.MemberEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Type == typ && e.NodeID == id {
			return e, true
		}
	}
	return mccache.MemberEvent{}, false
}

func TestTwoNodesFormOneCluster(t *testing.T) {
	base := mccache.LiveHandles()
	cluster := mccache.WithSetting("cluster_name", uniqueCluster())
	a, ca := openCache(t, "shared", cluster)
	var members memberLog
	must(t, a.OnMember(members.record))
	var events recorder
	b, cb := openCache(t, "shared", cluster)
	must(t, cb.OnChange(events.record))
	idB, _ := b.ID()

	waitFor(t, "a to see b join", func() bool {
		_, ok := members.has(mccache.MemberJoined, idB)
		return ok
	})
	joined, _ := members.has(mccache.MemberJoined, idB)
	if !strings.HasPrefix(joined.Address, "127.0.0.1:") || joined.Incarnation == 0 || joined.LastSeen.IsZero() {
		t.Errorf("join event %+v", joined)
	}
	waitFor(t, "a to list b", func() bool {
		ms, err := a.Members()
		if err != nil {
			return false
		}
		for _, m := range ms.Members {
			if m.ID == idB && m.State == "alive" {
				return true
			}
		}
		return false
	})

	// A write on a reaches b as a replicated change: by the stream (remote)
	// or, when anti-entropy gets there first (a round runs when a member
	// joins), by a repair. A race decides which; both are right.
	must(t, ca.Set([]byte("k"), []byte("from a"), 0))
	e := events.waitEvent(t, mccache.EventInsert, "k")
	idA, _ := a.ID()
	if (e.Origin != mccache.OriginRemote && e.Origin != mccache.OriginRepair) ||
		string(e.Value) != "from a" || e.Version.Node != idA {
		t.Errorf("event on b %+v", e)
	}
	must(t, a.Sync())
	waitFor(t, "equal checksums", func() bool {
		sa, _ := ca.Checksum()
		sb, _ := cb.Checksum()
		return sa == sb && sa != 0
	})

	collected, err := a.ClusterCollect(mccache.QueryChecksums, "shared", wait)
	must(t, err)
	var doc struct {
		Replies map[string]json.RawMessage `json:"replies"`
		Members int                        `json:"members"`
	}
	must(t, json.Unmarshal(collected, &doc))
	if doc.Members != 2 || len(doc.Replies) != 2 {
		t.Errorf("collect %s", collected)
	}

	// b leaves: a is told, and everything registered is released. The
	// goodbye is one datagram; if it is lost (other processes share the
	// multicast group), a declares b down after member_timeout instead.
	must(t, b.Close())
	waitFor(t, "a to see b leave", func() bool {
		_, left := members.has(mccache.MemberLeft, idB)
		_, down := members.has(mccache.MemberDown, idB)
		return left || down
	})
	must(t, a.OnMember(nil))
	waitHandles(t, base)
}

func TestKeys(t *testing.T) {
	k1, err := mccache.GenerateKey()
	must(t, err)
	k2, err := mccache.GenerateKey()
	must(t, err)
	if len(k1) != 44 || k1 == k2 {
		t.Fatalf("keys %q %q", k1, k2)
	}

	// Two nodes sharing a generated key form an encrypted cluster.
	cluster := mccache.WithSetting("cluster_name", uniqueCluster())
	a, ca := openCache(t, "secret", cluster, mccache.WithSetting("crypto_key", k1))
	_, cb := openCache(t, "secret", cluster, mccache.WithSetting("crypto_key", k1))
	must(t, ca.Set([]byte("k"), []byte("sealed"), 0))
	waitFor(t, "the sealed write to replicate", func() bool {
		v, err := cb.Get([]byte("k"))
		return err == nil && string(v) == "sealed"
	})

	// Rotation steps, on a running node. Two random keys share a key id
	// (one byte) once in 255, and SetKeys refuses such a pair: draw k2 again.
	for tries := 0; errors.Is(a.SetKeys(k1, k2), mccache.ErrConfig); tries++ {
		if tries == 10 {
			t.Fatal("ten generated keys all clashed with k1's key id")
		}
		k2, err = mccache.GenerateKey()
		must(t, err)
	}
	must(t, a.SetKeys(k1, k2))
	must(t, a.SetKeys(k2, k1))
	must(t, a.SetKeys(k2, ""))
	e := wantErr(t, a.SetKeys("not base64!", ""), mccache.ErrInvalid)
	if e.Message == "" {
		t.Error("no message for a malformed key")
	}
	must(t, a.SetKeys(k1, k1)) // the same key twice is one key, not a key-id clash
	wantErr(t, a.SetKeys("k\x00", ""), mccache.ErrInvalid)
}
