package analyze

import (
	"testing"
	"time"
)

// TestDetectorQuality runs the default configuration over two weeks of
// synthetic traffic of several seeds, each with four incidents of every
// kind after the first eight days, and checks the recall of each
// incident kind and the precision of the detectors involved, over all
// seeds.
func TestDetectorQuality(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	var qs []*Quality
	for _, seed := range seeds {
		start := time.Now()
		events, incidents := Synthesize(SynthConfig{Seed: seed})
		e, err := New(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		var findings []Finding
		for _, l := range events {
			findings = append(findings, e.Observe(l.Index, l.Entry)...)
		}
		q := Score(events, incidents, findings)
		qs = append(qs, q)
		t.Logf("seed %d: %d entries, %d incidents, %d findings, precision %.2f (%v)", seed, len(events), len(incidents), len(findings), q.Precision, time.Since(start).Round(time.Millisecond))
		logged := 0
		lab, by := labels(events), incidentsByID(incidents)
		for _, f := range findings {
			if logged < 10 && len(aboutIncidents(f, lab, by, incidents)) == 0 {
				t.Logf("  about no incident: %s %s: %s", f.Time.Format(time.RFC3339), f.Rule, f.Summary)
				logged++
			}
		}
	}
	q := MergeQuality(qs...)
	t.Logf("seeds %v:\n%s", seeds, QualityReport(q))
	for _, k := range q.Kinds {
		if k.Incidents == 0 {
			t.Errorf("no incident of kind %s", k.Kind)
		}
		if k.Recall < 0.9 {
			t.Errorf("recall of %s = %.2f, want at least 0.9 (missed %v)", k.Kind, k.Recall, k.Missed)
		}
	}
	if q.Precision < 0.8 {
		t.Errorf("precision of the detectors involved = %.2f, want at least 0.8", q.Precision)
	}
}

func TestScore(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	events := []Labeled{{Index: 0}, {Index: 1, Incident: "bf-1"}, {Index: 2}}
	incidents := []Incident{
		{ID: "bf-1", Kind: IncidentBruteForce, Start: at(0), End: at(10), Actor: "alice", IP: "203.0.113.7"},
		{ID: "sil-1", Kind: IncidentSourceSilence, Start: at(0), End: at(60), Source: "cron"},
		{ID: "sil-2", Kind: IncidentSourceSilence, Start: at(100), End: at(160), Source: "cron"},
	}
	findings := []Finding{
		{Detector: FailureBurst, GroupKey: "ip:203.0.113.7", Time: at(5), Evidence: []uint64{1}},              // by evidence
		{Detector: RateAnomaly, GroupKey: "actor:alice|type:auth.login", Time: at(12), Evidence: []uint64{2}}, // by group and time, not expected
		{Detector: Silence, GroupKey: "source:cron", Time: at(30), Evidence: []uint64{0}},                     // by group and time
		{Detector: Silence, GroupKey: "source:cron", Time: at(300), Evidence: []uint64{0}},                    // too late
		{Detector: FirstSeen, GroupKey: "actor:bob", Time: at(5), Evidence: []uint64{0}},                      // about nothing
	}
	q := Score(events, incidents, findings)
	if q.Findings != 5 || q.TruePositives != 3 {
		t.Errorf("Score: %d of %d findings true, want 3 of 5", q.TruePositives, q.Findings)
	}
	for _, k := range q.Kinds {
		want := map[string]int{IncidentBruteForce: 1, IncidentSourceSilence: 1}[k.Kind]
		if k.Detected != want {
			t.Errorf("Score: %d incidents of kind %s detected, want %d", k.Detected, k.Kind, want)
		}
	}
	if got := q.Confusion[IncidentBruteForce][RateAnomaly]; got != 1 {
		t.Errorf("Score: confusion[brute_force][rate_anomaly] = %d, want 1", got)
	}
	m := MergeQuality(q, q)
	if m.Findings != 10 || m.Precision != q.Precision || m.Kinds[4].Recall != 0.5 {
		t.Errorf("MergeQuality(q, q) = %+v, want twice q", m)
	}
	if QualityReport(m) == "" {
		t.Errorf("QualityReport is empty")
	}
}

func TestSynthesize(t *testing.T) {
	sc := SynthConfig{Seed: 3, Users: 20, Days: 10, Incidents: 2}
	a, ia := Synthesize(sc)
	b, ib := Synthesize(sc)
	if len(a) != len(b) || len(ia) != len(ib) {
		t.Fatalf("Synthesize is not deterministic: %d and %d entries", len(a), len(b))
	}
	for i := range a {
		if a[i].Incident != b[i].Incident || a[i].Entry.Time != b[i].Entry.Time || a[i].Entry.Type != b[i].Entry.Type {
			t.Fatalf("Synthesize is not deterministic at entry %d", i)
		}
	}
	kinds := map[string]int{}
	for _, in := range ia {
		kinds[in.Kind]++
		if in.Start.Before(t0.AddDate(0, 0, synthLearnDays)) || in.End.After(t0.AddDate(0, 0, sc.Days)) {
			t.Errorf("incident %s from %v to %v, outside the days after learning", in.ID, in.Start, in.End)
		}
	}
	for _, k := range IncidentKinds() {
		if kinds[k] != 2 {
			t.Errorf("%d incidents of kind %s, want 2", kinds[k], k)
		}
	}
	late := 0
	for i, l := range a {
		if uint64(i) != l.Index {
			t.Fatalf("entry %d has index %d", i, l.Index)
		}
		if err := l.Entry.Validate(); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if i > 0 && l.Entry.ReceivedAt.Before(a[i-1].Entry.ReceivedAt) {
			t.Fatalf("entry %d received before entry %d", i, i-1)
		}
		if i > 0 && l.Entry.Time.Before(a[i-1].Entry.Time) {
			late++
		}
	}
	if late == 0 {
		t.Errorf("no entry arrives out of order")
	}
	// Tiny tenants have what incidents their people allow.
	for users := 1; users <= 4; users++ {
		Synthesize(SynthConfig{Seed: 1, Users: users, Days: 9})
	}
}

func labels(events []Labeled) map[uint64]string {
	m := map[uint64]string{}
	for _, l := range events {
		if l.Incident != "" {
			m[l.Index] = l.Incident
		}
	}
	return m
}

func incidentsByID(incs []Incident) map[string]*Incident {
	m := map[string]*Incident{}
	for i := range incs {
		m[incs[i].ID] = &incs[i]
	}
	return m
}
