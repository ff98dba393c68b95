package analyze

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fullConfig is the default configuration and two user rules.
func fullConfig() *Config {
	c := DefaultConfig()
	c.Rules = []Rule{
		{Name: "exports", Condition: `event.type == "data.export"`, Window: &Window{Duration: 10 * time.Minute, Threshold: 30}},
		{Name: "many-documents", Condition: `event.category == "data" && event.outcome == "success"`,
			Window: &Window{Duration: 5 * time.Minute, Distinct: "resource.id", Threshold: 40}},
		{Name: "grants", Condition: `event.action == "grant"`},
	}
	return c
}

// smallTraffic is synthetic traffic small enough to run many times, with
// incidents.
var smallTraffic = sync.OnceValue(func() []Labeled {
	events, _ := Synthesize(SynthConfig{Seed: 7, Users: 30, Days: 10, Incidents: 2})
	return events
})

// observeAll feeds events[from:to] to e.
func observeAll(e *Engine, events []Labeled, from, to int) []Finding {
	var out []Finding
	for _, l := range events[from:to] {
		out = append(out, e.Observe(l.Index, l.Entry)...)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	events := smallTraffic()
	var findings [2][]Finding
	var snaps [2][]byte
	for i := range 2 {
		e, err := New(fullConfig())
		if err != nil {
			t.Fatal(err)
		}
		findings[i] = observeAll(e, events, 0, len(events))
		if snaps[i], err = e.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	if len(findings[0]) == 0 {
		t.Fatal("no findings at all")
	}
	if !reflect.DeepEqual(findings[0], findings[1]) {
		t.Errorf("two runs over the same entries raised different findings")
	}
	if !bytes.Equal(snaps[0], snaps[1]) {
		t.Errorf("two runs over the same entries ended in different snapshots")
	}
	kinds := map[string]int{}
	for _, f := range findings[0] {
		kinds[f.Detector]++
	}
	t.Logf("%d entries, findings: %v, snapshot %d bytes", len(events), kinds, len(snaps[0]))
}

// TestSnapshotResume stops an engine at several points, restores it from
// its snapshot and checks that the findings, and the state at the end,
// are those of an engine that never stopped.
func TestSnapshotResume(t *testing.T) {
	events := smallTraffic()
	cfg := fullConfig()
	e, _ := New(cfg)
	want := observeAll(e, events, 0, len(events))
	wantSnap, _ := e.Snapshot()

	cuts := []int{1, len(events) / 7, len(events) / 3, len(events)/2 + 13, len(events) - 1}
	e, _ = New(cfg)
	var got []Finding
	prev := 0
	for _, cut := range cuts {
		got = append(got, observeAll(e, events, prev, cut)...)
		snap, err := e.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r, err := Restore(cfg, snap)
		if err != nil {
			t.Fatalf("Restore at %d: %v", cut, err)
		}
		again, _ := r.Snapshot()
		if !bytes.Equal(snap, again) {
			t.Fatalf("the snapshot of an engine restored at entry %d differs from the one it was restored from", cut)
		}
		if r.Next() != uint64(cut) {
			t.Errorf("Next() after restoring at %d = %d", cut, r.Next())
		}
		e, prev = r, cut
	}
	// A runner that crashed after observing a few entries but before it
	// stored anything resumes from the snapshot and observes them again.
	snap, _ := e.Snapshot()
	observeAll(e, events, prev, prev+1)
	e, _ = Restore(cfg, snap)
	got = append(got, observeAll(e, events, prev, len(events))...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resumed runs raised %d findings, an uninterrupted run %d; they differ", len(got), len(want))
	}
	gotSnap, _ := e.Snapshot()
	if !bytes.Equal(gotSnap, wantSnap) {
		t.Errorf("the final state of resumed runs differs from that of an uninterrupted run")
	}
}

func TestRestoreConfigChange(t *testing.T) {
	events := smallTraffic()
	cfg := fullConfig()
	e, _ := New(cfg)
	observeAll(e, events, 0, len(events)/2)
	snap, _ := e.Snapshot()

	states := func(b []byte) map[string]detectorState {
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return s.Detectors
	}
	before := states(snap)

	// Thresholds and severities change nothing learned; a window's
	// length and a time zone reset what depends on them.
	changed := fullConfig()
	changed.FailureBurst.Threshold = 50
	changed.RateAnomaly.Z = 10
	changed.FailureBurst.Severity = SeverityCritical
	changed.RepeatedErrors.Window = time.Hour
	changed.Timezone = "Asia/Tokyo"
	changed.Rules[0].Condition = `event.type == "data.export" && true`
	r, err := Restore(changed, snap)
	if err != nil {
		t.Fatal(err)
	}
	rsnap, _ := r.Snapshot()
	after := states(rsnap)
	fresh, _ := New(changed)
	fsnap, _ := fresh.Snapshot()
	empty := states(fsnap)
	for key, kept := range map[string]bool{
		FailureBurst: true, RateAnomaly: true, FirstSeen: true, Silence: true, "rule:many-documents": true,
		RepeatedErrors: false, OffHours: false, "rule:exports": false,
	} {
		want := empty[key].State
		if kept {
			want = before[key].State
		}
		if !bytes.Equal(after[key].State, want) {
			t.Errorf("after a configuration change, state of %s kept = %v, want %v", key, !kept, kept)
		}
	}
}

func TestRestoreErrors(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct{ snap, want string }{
		{"", "reading the analysis snapshot"},
		{`{"v":2}`, "analysis snapshot version 2, want 1"},
		{`{"v":1,"detectors":{"failure_burst":{"params":"window=5m0s","state":{"actors":[]}}}}`, "the state of failure_burst"},
		{`{"v":1,"detectors":{"first_seen":{"params":"dimensions=ip,type,resource_type ipv4=24/16 ipv6=48/32","state":{"actors":{"a":null}}}}}`, "the state of first_seen"},
	} {
		_, err := Restore(cfg, []byte(tc.snap))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Restore(%q) = %v, want an error about %q", tc.snap, err, tc.want)
		}
	}
	// A snapshot of another configuration's detectors restores nothing
	// and fails nothing.
	if _, err := Restore(cfg, []byte(`{"v":1,"detectors":{"rule:gone":{"params":"x","state":{}}}}`)); err != nil {
		t.Errorf("Restore(a snapshot with an unknown rule) = %v", err)
	}
}
