package report

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/a24ba333/indelible/internal/findings"
)

// Thresholds of the judgements the report makes.
const (
	// A rule is noisy when more than noisyRatio of at least noisyMin
	// findings it opened were dismissed.
	noisyRatio = 0.5
	noisyMin   = 3
	// A change made things worse (better) when the failure rate rose
	// (fell) by at least impactPoints percentage points and by at least
	// impactRelative of the rate before.
	impactPoints   = 2.0
	impactRelative = 0.5
)

// noisyAdvice is the tuning suggestion for a noisy rule.
const noisyAdvice = "more than half dismissed: raise the threshold or add a suppression for the expected groups"

// volume turns a stats answer by category into a matrix over grid (plus
// any bucket the answer has beyond it).
func volume(a *statsAnswer, grid []time.Time) Volume {
	v := Volume{Categories: []string{}, Totals: []Count{}, Total: a.Total}
	col := map[string]int{}
	for _, t := range a.Totals {
		col[t.Value] = len(v.Categories)
		v.Categories = append(v.Categories, label(t.Value))
		v.Totals = append(v.Totals, Count{label(t.Value), t.Count})
	}
	v.Buckets = buckets(a, grid)
	row := map[int64]int{}
	for i, t := range v.Buckets {
		row[t.Unix()] = i
	}
	v.Counts = make([][]uint64, len(v.Buckets))
	for i := range v.Counts {
		v.Counts[i] = make([]uint64, len(v.Categories))
	}
	for _, b := range a.Buckets {
		if b.Start == nil {
			continue
		}
		for _, c := range b.Counts {
			j, ok := col[c.Value]
			if !ok {
				continue
			}
			v.Counts[row[b.Start.Unix()]][j] += c.Count
		}
	}
	return v
}

// label names an empty value.
func label(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// buckets returns the union of grid and the answer's bucket starts, in
// order, in UTC.
func buckets(a *statsAnswer, grid []time.Time) []time.Time {
	seen := map[int64]bool{}
	out := []time.Time{}
	add := func(t time.Time) {
		if !seen[t.Unix()] {
			seen[t.Unix()] = true
			out = append(out, t.UTC())
		}
	}
	for _, t := range grid {
		add(t)
	}
	for _, b := range a.Buckets {
		if b.Start != nil {
			add(*b.Start)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// failureRates turns a stats answer by outcome into a rate per bucket.
func failureRates(a *statsAnswer, grid []time.Time) []RatePoint {
	bs := buckets(a, grid)
	row := map[int64]int{}
	out := make([]RatePoint, len(bs))
	for i, t := range bs {
		row[t.Unix()] = i
		out[i].Start = t
	}
	for _, b := range a.Buckets {
		if b.Start == nil {
			continue
		}
		p := &out[row[b.Start.Unix()]]
		for _, c := range b.Counts {
			p.Total += c.Count
			if c.Value == "failure" {
				p.Failures += c.Count
			}
		}
	}
	for i := range out {
		out[i].Rate.Rate = ratio(out[i].Failures, out[i].Total)
	}
	return out
}

// rateOf is the failure rate of an outcome count.
func rateOf(totals []Count) Rate {
	var r Rate
	for _, c := range totals {
		r.Total += c.Count
		if c.Value == "failure" {
			r.Failures += c.Count
		}
	}
	r.Rate = ratio(r.Failures, r.Total)
	return r
}

func ratio[T uint64 | int](n, d T) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// compare returns the change of the failure rate in percentage points
// (rounded to 0.01) and the verdict on it.
func compare(before, after Rate) (float64, string) {
	if before.Total == 0 || after.Total == 0 {
		return 0, "no data"
	}
	delta := math.Round((after.Rate-before.Rate)*10000) / 100
	switch {
	case delta >= impactPoints && after.Rate >= before.Rate*(1+impactRelative):
		return delta, "worse"
	case -delta >= impactPoints && after.Rate <= before.Rate*(1-impactRelative):
		return delta, "better"
	}
	return delta, "unchanged"
}

// summarizeFindings computes section 4 from every finding of the log.
func summarizeFindings(all []findings.Finding, from, to time.Time, top int) Findings {
	s := Findings{BySeverity: []Count{}, Rules: []RuleNoise{}}
	sev := map[string]uint64{}
	rules := map[string]*RuleNoise{}
	var tta, ttr time.Duration
	for _, f := range all {
		for _, h := range f.History {
			if !inPeriod(h.Time, from, to) {
				continue
			}
			switch strings.TrimPrefix(h.Type, findings.Prefix) {
			case "acknowledged":
				s.Acknowledged++
			case "resolved":
				s.Resolved++
			case "dismissed":
				s.Dismissed++
			case "reopened":
				s.Reopened++
			}
		}
		for _, v := range f.Verdicts {
			if !inPeriod(v.Time, from, to) {
				continue
			}
			switch v.Verdict {
			case "effective":
				s.Verdicts.Effective++
			case "recurred":
				s.Verdicts.Recurred++
			default:
				s.Verdicts.Inconclusive++
			}
		}
		if !inPeriod(f.OpenedAt, from, to) {
			continue
		}
		s.Opened++
		sev[label(f.Severity)]++
		if f.Status == findings.StatusOpen {
			s.StillOpen++
		}
		rn := rules[f.Rule]
		if rn == nil {
			rn = &RuleNoise{Rule: f.Rule, Detector: f.Detector}
			rules[f.Rule] = rn
		}
		rn.Opened++
		if d, ok := firstChange(f, "acknowledged", "resolved", "dismissed"); ok {
			tta += d
			s.MTTASamples++
		}
		if d, ok := firstChange(f, "resolved"); ok {
			ttr += d
			s.MTTRSamples++
		}
		if _, ok := firstChange(f, "dismissed"); ok {
			rn.Dismissed++
		}
	}
	s.MTTA, s.MTTR = mean(tta, s.MTTASamples), mean(ttr, s.MTTRSamples)
	for v, c := range sev {
		s.BySeverity = append(s.BySeverity, Count{v, c})
	}
	slices.SortFunc(s.BySeverity, func(a, b Count) int {
		return cmp.Or(cmp.Compare(severityRank(a.Value), severityRank(b.Value)), strings.Compare(a.Value, b.Value))
	})
	for _, rn := range rules {
		rn.Ratio = ratio(rn.Dismissed, rn.Opened)
		if rn.Opened >= noisyMin && rn.Ratio > noisyRatio {
			rn.Advice = noisyAdvice
		}
		s.Rules = append(s.Rules, *rn)
	}
	slices.SortFunc(s.Rules, func(a, b RuleNoise) int {
		return cmp.Or(cmp.Compare(b.Opened, a.Opened), cmp.Compare(b.Ratio, a.Ratio), strings.Compare(a.Rule, b.Rule))
	})
	s.Rules = s.Rules[:min(top, len(s.Rules))]
	return s
}

// firstChange returns the time from f's opening to its first change of
// one of the kinds (the suffix of the history type), never negative.
func firstChange(f findings.Finding, kinds ...string) (time.Duration, bool) {
	for _, h := range f.History {
		if slices.Contains(kinds, strings.TrimPrefix(h.Type, findings.Prefix)) {
			return max(0, h.Time.Sub(f.OpenedAt)), true
		}
	}
	return 0, false
}

// mean is sum/n rounded to the second, 0 for no samples.
func mean(sum time.Duration, n int) time.Duration {
	if n == 0 {
		return 0
	}
	return (sum / time.Duration(n)).Round(time.Second)
}

func severityRank(s string) int {
	if i := slices.Index([]string{"critical", "high", "medium", "low", "info"}, s); i >= 0 {
		return i
	}
	return 100
}

// silentSources lists the findings of the silence detector opened in the
// period, oldest first.
func silentSources(all []findings.Finding, from, to time.Time) []Silent {
	out := []Silent{}
	for _, f := range all {
		if f.Detector != "silence" || !inPeriod(f.OpenedAt, from, to) {
			continue
		}
		out = append(out, Silent{
			Source: strings.TrimPrefix(f.GroupKey, "source:"), OpenedAt: f.OpenedAt.UTC(),
			Status: f.Status, Severity: f.Severity, Summary: f.Summary,
		})
	}
	slices.SortFunc(out, func(a, b Silent) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), strings.Compare(a.Source, b.Source))
	})
	return out
}
