package index

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// trickyEntries returns canonical entries whose strings need escapes,
// hold non-ASCII text, or whose optional members are absent.
func trickyEntries(t testing.TB) [][]byte {
	t.Helper()
	digest := sha256.Sum256([]byte("x"))
	var out [][]byte
	for i, ev := range []event.Event{
		{Time: base, Type: "auth.login", Actor: event.Actor{ID: "a"}},
		{Time: base.Add(123456789 * time.Nanosecond), Type: "data.read", Outcome: "failure",
			Actor:    event.Actor{ID: "quote\" back\\slash \n\t\x01\x1f é 😀 \u2028", Type: "user", IP: "203.0.113.7"},
			Resource: &event.Resource{Type: "k8s.\"pod\"", ID: "ns/name\\x"},
			Project:  "p\"", Environment: "ünïcode", Source: "s\b\f\r", Message: "m\"{[,]}", TraceID: "t",
			Data: map[string]any{"nested": map[string]any{"actor": map[string]any{"id": "not me"}, "list": []any{1.5, true, nil, "x", []any{}}},
				"type": "not the type", "empty": map[string]any{}}},
		{Time: base, Type: "config.x.y", Outcome: "unknown", Actor: event.Actor{ID: "b"}, Resource: &event.Resource{Type: "only-type"}},
		{Time: base, Type: "config.x.y", Outcome: "success", Actor: event.Actor{ID: "c"}, Resource: &event.Resource{ID: "only-id"}},
	} {
		e := event.Entry{Event: ev, Version: 1, Log: "acme", ReceivedAt: base, Digest: digest[:],
			Capture: event.Capture{Level: event.CaptureMetadata, Redacted: []string{"/data/x"}}}
		b, err := e.Canonical()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		out = append(out, b)
	}
	for i := range uint64(20) {
		out = append(out, entryBytes(t, "acme", i))
	}
	return out
}

// TestScanRow checks that the fast path reads every test entry, and reads
// it as RowOf does.
func TestScanRow(t *testing.T) {
	for i, b := range trickyEntries(t) {
		want, err := RowOf(uint64(i), b)
		if err != nil {
			t.Fatalf("RowOf(%s): %v", b, err)
		}
		got, ok := scanRow(uint64(i), b)
		if !ok || got != want {
			t.Errorf("scanRow(%s) = %+v, %v; want %+v", b, got, ok, want)
		}
	}
}

// FuzzRowOf checks that rowOf agrees with RowOf on every input RowOf
// accepts.
func FuzzRowOf(f *testing.F) {
	for _, b := range trickyEntries(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err2 := rowOf(7, b) // never panics
		want, err := RowOf(7, b)
		if err != nil {
			return // the fast path may read what RowOf refuses; Check uses RowOf
		}
		if err2 != nil || got != want {
			t.Errorf("rowOf(%q) = %+v, %v; RowOf = %+v", b, got, err2, want)
		}
	})
}

// BenchmarkScanRow measures the fast path that the indexer uses.
func BenchmarkScanRow(b *testing.B) {
	body := entryBytes(b, "acme", 1)
	for b.Loop() {
		if _, ok := scanRow(1, body); !ok {
			b.Fatal("scanRow failed")
		}
	}
}
