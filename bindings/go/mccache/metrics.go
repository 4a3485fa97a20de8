package mccache

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// MetricSet is one metrics object of the library (docs/ARCHITECTURE.md
// lists the names) decoded generically, so that a metric the library adds
// later appears without a new binding. Values are json.Number (64-bit
// counters stay exact), string, or a nested MetricSet.
type MetricSet map[string]any

// lookup follows a path of names through nested objects.
func (m MetricSet) lookup(path []string) any {
	var v any = m
	for _, name := range path {
		obj, ok := v.(MetricSet)
		if !ok {
			if raw, isMap := v.(map[string]any); isMap {
				obj, ok = MetricSet(raw), true
			}
		}
		if !ok {
			return nil
		}
		v = obj[name]
	}
	return v
}

// Int returns the integer at path, e.g. m.Int("evictions", "total"); 0 if
// absent or not an integer.
func (m MetricSet) Int(path ...string) int64 {
	n, _ := m.lookup(path).(json.Number)
	v, _ := strconv.ParseInt(string(n), 10, 64)
	return v
}

// Uint returns the unsigned integer at path; 0 if absent or not one.
func (m MetricSet) Uint(path ...string) uint64 {
	n, _ := m.lookup(path).(json.Number)
	v, _ := strconv.ParseUint(string(n), 10, 64)
	return v
}

// Float returns the number at path, e.g. m.Float("hit_ratio"); 0 if absent.
func (m MetricSet) Float(path ...string) float64 {
	n, _ := m.lookup(path).(json.Number)
	v, _ := n.Float64()
	return v
}

// String returns the string at path, e.g. m.String("checksum"); "" if absent.
func (m MetricSet) String(path ...string) string {
	s, _ := m.lookup(path).(string)
	return s
}

// Metrics holds the metrics of a node and of each of its caches.
type Metrics struct {
	Node   MetricSet            `json:"node"`
	Caches map[string]MetricSet `json:"caches"`
}

func decodeMetrics[T any](b []byte) (*T, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m T
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return &m, nil
}
