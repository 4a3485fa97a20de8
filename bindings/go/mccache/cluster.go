package mccache

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
)

// MemberEventType says what happened to a member of the cluster.
type MemberEventType int

// The member events of mccache.h.
const (
	MemberJoined    MemberEventType = 1 // first heard from
	MemberLeft      MemberEventType = 2 // said goodbye (closed cleanly)
	MemberDown      MemberEventType = 3 // silent for member_timeout
	MemberRecovered MemberEventType = 4 // heard from again after being down or gone
	MemberRestarted MemberEventType = 5 // came back with a new incarnation
)

func (t MemberEventType) String() string {
	switch t {
	case MemberJoined:
		return "joined"
	case MemberLeft:
		return "left"
	case MemberDown:
		return "down"
	case MemberRecovered:
		return "recovered"
	case MemberRestarted:
		return "restarted"
	}
	return "MemberEventType(" + strconv.Itoa(int(t)) + ")"
}

// MemberEvent is one membership change.
type MemberEvent struct {
	Type        MemberEventType
	NodeID      uint64
	Incarnation uint64 // random per start of that member
	Address     string // "ip:port" of its unicast socket
	LastSeen    time.Time
}

// OnMember calls fn when members join, leave, go down, recover or restart,
// replacing an earlier registration; nil unregisters. fn runs on the node's
// callback thread, with the rules of Cache.OnChange.
func (n *Node) OnMember(fn func(MemberEvent)) error {
	if fn == nil {
		return cOnMember(n.c, 0)
	}
	h := newHandle(&callback{member: fn})
	err := cOnMember(n.c, uintptr(h))
	if errors.Is(err, ErrInvalid) {
		releaseHandle(h) // the one failure after which opaque_free is not called
	}
	return err
}

// Member is one entry of Node.Members.
type Member struct {
	ID       uint64
	Address  string
	State    string    // "alive", "down" or "left"; empty for Self
	LastSeen time.Time // zero for Self
}

// Membership is what a node knows of its cluster.
type Membership struct {
	Self    Member
	Members []Member
}

// MembersJSON returns the members this node knows:
// {"self":{"id":HEX,"address":"ip:port"},"members":[{"id":HEX,"address":...,"state":...,"last_seen_ms":N}]}.
func (n *Node) MembersJSON() (json.RawMessage, error) { return cMembersJSON("Node.MembersJSON", n.c) }

// Members returns MembersJSON decoded.
func (n *Node) Members() (*Membership, error) {
	raw, err := cMembersJSON("Node.Members", n.c)
	if err != nil {
		return nil, err
	}
	type member struct {
		ID         string `json:"id"`
		Address    string `json:"address"`
		State      string `json:"state"`
		LastSeenMs int64  `json:"last_seen_ms"`
	}
	var doc struct {
		Self    member   `json:"self"`
		Members []member `json:"members"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	conv := func(m member) (Member, error) {
		id, err := strconv.ParseUint(m.ID, 16, 64)
		return Member{ID: id, Address: m.Address, State: m.State, LastSeen: unixMilli(m.LastSeenMs)}, err
	}
	var out Membership
	if out.Self, err = conv(doc.Self); err != nil {
		return nil, err
	}
	for _, m := range doc.Members {
		c, err := conv(m)
		if err != nil {
			return nil, err
		}
		out.Members = append(out.Members, c)
	}
	return &out, nil
}

// Sync starts an anti-entropy round with every member now and returns at
// once; the repairs follow asynchronously.
func (n *Node) Sync() error { return cSync(n.c) }

// QueryKind is what a cluster-wide request asks every member for.
type QueryKind int

// The query kinds of mccache.h.
const (
	QueryMetrics   QueryKind = 1 // each member's metrics (Node.MetricsJSON)
	QueryChecksums QueryKind = 2 // {"node":HEX,"caches":{"NAME":{"checksum":HEX,"entries":N}}}
)

// timeoutMillis rounds up to whole milliseconds; the library checks the range.
func timeoutMillis(d time.Duration) int {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if d <= 0 {
		ms = 0
	}
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return int(ms)
}

// ClusterRequest asks every member (this node included) for its metrics or
// checksums, and returns at once. fn is called with each answer, then once
// more with memberID 0 and a nil answer when every live member has answered
// or timeout (1ms to 1m) has passed. cache restricts checksums to one cache;
// "" means every cache. fn runs on the node's callback thread (rules of
// Cache.OnChange); if the node closes first, the final call happens during
// Close.
func (n *Node) ClusterRequest(kind QueryKind, cache string, timeout time.Duration,
	fn func(memberID uint64, answer json.RawMessage)) error {
	if fn == nil {
		return invalid("Node.ClusterRequest", "fn is nil")
	}
	if err := noNUL("Node.ClusterRequest", "cache name", cache); err != nil {
		return err
	}
	h := newHandle(&callback{reply: func(id uint64, b []byte) { fn(id, b) }})
	// On every failure but a NULL node (never the case here) the library
	// has already released the handle through opaque_free.
	return cClusterRequest(n.c, int(kind), cache, timeoutMillis(timeout), uintptr(h))
}

// ClusterCollect asks every member and waits up to timeout: the answers as
// {"replies":{"HEX-ID":ANSWER,...},"members":N}, N being the members alive
// when asked. Compare the number of replies with N to see who did not
// answer. Not from the node's own callbacks (ErrBusy).
func (n *Node) ClusterCollect(kind QueryKind, cache string, timeout time.Duration) (json.RawMessage, error) {
	if err := noNUL("Node.ClusterCollect", "cache name", cache); err != nil {
		return nil, err
	}
	return cClusterCollect(n.c, int(kind), cache, timeoutMillis(timeout))
}

// GenerateKey returns a new cluster key (crypto_key): 32 random bytes from
// the OS, as base64.
func GenerateKey() (string, error) { return cGenerateKey() }

// SetKeys changes a running node's keys, for rotation without downtime:
// sealKey seals what the node sends and is accepted on receive, acceptKey
// is only accepted; "" means none. See docs/SECURITY.md for the procedure.
func (n *Node) SetKeys(sealKey, acceptKey string) error {
	if err := errors.Join(noNUL("Node.SetKeys", "seal key", sealKey),
		noNUL("Node.SetKeys", "accept key", acceptKey)); err != nil {
		return err
	}
	return cSetKeys(n.c, sealKey, acceptKey)
}
