package analyze

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Quality measures the findings of a run over synthetic traffic against
// its labelled incidents.
//
// A finding is about an incident when one of its evidence entries belongs
// to the incident, or when its group key names the incident's actor,
// address or source and its time lies within the incident (to
// matchSlack after it). It is a true positive if it is about some
// incident, whichever; a false positive otherwise. An incident is
// detected when a finding of one of its expected detectors is about it.
type Quality struct {
	Kinds     []KindQuality     // per incident kind, in IncidentKinds order
	Detectors []DetectorQuality // per detector that raised or is expected
	// Confusion counts findings per incident kind ("" for none) and
	// detector.
	Confusion map[string]map[string]int
	// Over the findings of the detectors involved (those expected for
	// some incident kind):
	Findings, TruePositives int
	Precision               float64
}

// KindQuality is the recall of one incident kind.
type KindQuality struct {
	Kind      string
	Expected  []string // its expected detectors
	Incidents int
	Detected  int
	Recall    float64
	Missed    []string // the IDs of the incidents not detected
}

// DetectorQuality is the precision of one detector.
type DetectorQuality struct {
	Detector         string
	Involved         bool // expected for some incident kind
	Findings, TP, FP int
	Precision        float64
}

// matchSlack is how long after an incident a finding about its group
// still counts as about it.
const matchSlack = 30 * time.Minute

// Score matches findings to the incidents of synthetic traffic.
func Score(events []Labeled, incidents []Incident, findings []Finding) *Quality {
	label := make(map[uint64]string)
	for _, l := range events {
		if l.Incident != "" {
			label[l.Index] = l.Incident
		}
	}
	byID := make(map[string]*Incident, len(incidents))
	for i := range incidents {
		byID[incidents[i].ID] = &incidents[i]
	}
	involved := map[string]bool{}
	for _, k := range IncidentKinds() {
		for _, d := range ExpectedDetectors(k) {
			involved[d] = true
		}
	}
	q := &Quality{Confusion: map[string]map[string]int{}}
	detected := map[string]bool{}
	dets := map[string]*DetectorQuality{}
	for d := range involved {
		dets[d] = &DetectorQuality{Detector: d, Involved: true}
	}
	for _, f := range findings {
		about := aboutIncidents(f, label, byID, incidents)
		dq := dets[f.Detector]
		if dq == nil {
			dq = &DetectorQuality{Detector: f.Detector}
			dets[f.Detector] = dq
		}
		dq.Findings++
		kind := ""
		if len(about) > 0 {
			dq.TP++
			kind = byID[about[0]].Kind
		} else {
			dq.FP++
		}
		if q.Confusion[kind] == nil {
			q.Confusion[kind] = map[string]int{}
		}
		q.Confusion[kind][f.Detector]++
		for _, id := range about {
			if slices.Contains(ExpectedDetectors(byID[id].Kind), f.Detector) {
				detected[id] = true
			}
		}
	}
	for _, k := range IncidentKinds() {
		kq := KindQuality{Kind: k, Expected: ExpectedDetectors(k)}
		for _, in := range incidents {
			if in.Kind != k {
				continue
			}
			kq.Incidents++
			if detected[in.ID] {
				kq.Detected++
			} else {
				kq.Missed = append(kq.Missed, in.ID)
			}
		}
		kq.Recall = ratio(kq.Detected, kq.Incidents)
		q.Kinds = append(q.Kinds, kq)
	}
	for _, d := range dets {
		d.Precision = ratio(d.TP, d.Findings)
		q.Detectors = append(q.Detectors, *d)
		if d.Involved {
			q.Findings += d.Findings
			q.TruePositives += d.TP
		}
	}
	slices.SortFunc(q.Detectors, func(a, b DetectorQuality) int { return strings.Compare(a.Detector, b.Detector) })
	q.Precision = ratio(q.TruePositives, q.Findings)
	return q
}

// MergeQuality adds up the scores of several runs (several seeds, say).
func MergeQuality(qs ...*Quality) *Quality {
	m := &Quality{Confusion: map[string]map[string]int{}}
	kinds := map[string]*KindQuality{}
	dets := map[string]*DetectorQuality{}
	for _, q := range qs {
		for _, k := range q.Kinds {
			mk := kinds[k.Kind]
			if mk == nil {
				mk = &KindQuality{Kind: k.Kind, Expected: k.Expected}
				kinds[k.Kind] = mk
				m.Kinds = append(m.Kinds, KindQuality{Kind: k.Kind})
			}
			mk.Incidents += k.Incidents
			mk.Detected += k.Detected
			mk.Missed = append(mk.Missed, k.Missed...)
		}
		for _, d := range q.Detectors {
			md := dets[d.Detector]
			if md == nil {
				md = &DetectorQuality{Detector: d.Detector, Involved: d.Involved}
				dets[d.Detector] = md
			}
			md.Findings += d.Findings
			md.TP += d.TP
			md.FP += d.FP
		}
		for k, row := range q.Confusion {
			if m.Confusion[k] == nil {
				m.Confusion[k] = map[string]int{}
			}
			for d, n := range row {
				m.Confusion[k][d] += n
			}
		}
		m.Findings += q.Findings
		m.TruePositives += q.TruePositives
	}
	for i := range m.Kinds {
		k := kinds[m.Kinds[i].Kind]
		k.Recall = ratio(k.Detected, k.Incidents)
		m.Kinds[i] = *k
	}
	for _, d := range dets {
		d.Precision = ratio(d.TP, d.Findings)
		m.Detectors = append(m.Detectors, *d)
	}
	slices.SortFunc(m.Detectors, func(a, b DetectorQuality) int { return strings.Compare(a.Detector, b.Detector) })
	m.Precision = ratio(m.TruePositives, m.Findings)
	return m
}

// aboutIncidents returns the IDs of the incidents a finding is about.
func aboutIncidents(f Finding, label map[uint64]string, byID map[string]*Incident, incidents []Incident) []string {
	var ids []string
	for _, i := range f.Evidence {
		if id, ok := label[i]; ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		return ids
	}
	for _, in := range incidents {
		if f.Time.Before(in.Start) || f.Time.After(in.End.Add(matchSlack)) {
			continue
		}
		for part := range strings.SplitSeq(f.GroupKey, "|") {
			k, v, _ := strings.Cut(part, ":")
			if v != "" && (k == "actor" && v == in.Actor || k == "ip" && v == in.IP || k == "source" && v == in.Source) {
				ids = append(ids, in.ID)
				break
			}
		}
	}
	return ids
}

func ratio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// QualityReport writes a Quality as tables: recall per incident kind,
// the confusion of incident kinds and detectors, and precision per
// detector.
func QualityReport(q *Quality) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "incident kind\texpected detector\tincidents\tdetected\trecall\tmissed")
	for _, k := range q.Kinds {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%s\n", k.Kind, strings.Join(k.Expected, ","), k.Incidents, k.Detected, k.Recall, strings.Join(k.Missed, " "))
	}
	tw.Flush()
	b.WriteString("\nfindings by what they are about (rows) and detector (columns):\n")
	var cols []string
	for _, d := range q.Detectors {
		cols = append(cols, d.Detector)
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\t%s\t\n", strings.Join(cols, "\t"))
	for _, k := range append(IncidentKinds(), "") {
		name := k
		if k == "" {
			name = "(no incident)"
		}
		fmt.Fprintf(tw, "%s", name)
		for _, c := range cols {
			fmt.Fprintf(tw, "\t%d", q.Confusion[k][c])
		}
		fmt.Fprintln(tw, "\t")
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "detector\tinvolved\tfindings\ttrue\tfalse\tprecision")
	for _, d := range q.Detectors {
		inv := "no"
		if d.Involved {
			inv = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2f\n", d.Detector, inv, d.Findings, d.TP, d.FP, d.Precision)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nprecision of the detectors involved: %.2f (%d of %d findings about an incident)\n", q.Precision, q.TruePositives, q.Findings)
	return b.String()
}

// MeasureQuality runs an engine for cfg over the synthetic traffic sc
// describes and scores its findings.
func MeasureQuality(cfg *Config, sc SynthConfig) (*Quality, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	events, incidents := Synthesize(sc)
	var findings []Finding
	for _, l := range events {
		findings = append(findings, e.Observe(l.Index, l.Entry)...)
	}
	return Score(events, incidents, findings), nil
}
