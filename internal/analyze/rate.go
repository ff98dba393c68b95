package analyze

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The weights of a new bucket in the moving averages of rate_anomaly. A
// baseline has two: a fast one, about the last 10 active buckets of an
// actor and type, and a slow one, about the last 2000 (a week of 5-minute
// buckets of a steady stream), so that the daily and weekly swings of a
// service count as usual. The baselines of a type's actors weigh ten
// times less.
const (
	rateFast = 0.1
	rateSlow = 1.0 / 2000
	typeFast = 0.01
	typeSlow = 1.0 / 20000
)

// rateEvidence is how many entries a rate_anomaly finding cites: the
// first of the bucket, then the latest.
const rateEvidence = 8

// rate is the rate_anomaly detector.
type rate struct {
	cfg       RateAnomalyConfig
	maxGroups int
	cells     map[rateKey]*rateCell
	types     map[string]*baseline // every actor's buckets, by type
}

type rateKey struct{ actor, typ string }

// rateCell counts the events of one actor and type in its current bucket.
type rateCell struct {
	Bucket int64    `json:"bucket"` // the current bucket: time / bucket length
	Count  int      `json:"count"`
	High   bool     `json:"high,omitempty"`  // the current bucket is anomalous
	Spike  bool     `json:"spike,omitempty"` // the previous bucket was anomalous: the spike goes on, and raises no more
	Ev     []uint64 `json:"ev,omitempty"`    // evidence of the current bucket
	Base   baseline `json:"base"`            // of the closed buckets
}

// baseline is the exponentially weighted means and variances (fast and
// slow) of the counts of the buckets in which an actor (or a type's
// actors) was active. Its first buckets are averaged with equal weights.
type baseline struct {
	N    int    `json:"n"` // buckets folded in
	Fast moment `json:"fast"`
	Slow moment `json:"slow"`
}

// moment is an exponentially weighted mean and variance.
type moment struct {
	Mean float64 `json:"mean"`
	Var  float64 `json:"var"`
}

// z returns how many standard deviations above both means count lies:
// a count is unusual only if it is unusual both for the last hour or so
// of activity and for the last week or so.
func (b *baseline) z(count int) float64 {
	c := float64(count)
	return min((c-b.Fast.Mean)/b.Fast.sd(), (c-b.Slow.Mean)/b.Slow.sd())
}

// mean returns the mean that z is measured against.
func (b *baseline) mean(count int) float64 {
	c := float64(count)
	if (c-b.Fast.Mean)/b.Fast.sd() < (c-b.Slow.Mean)/b.Slow.sd() {
		return b.Fast.Mean
	}
	return b.Slow.Mean
}

// fold adds the count of a closed bucket, with the weights fast and slow.
// A count beyond z standard deviations is folded as if it were z: an
// anomaly must not teach that anomalies are normal.
func (b *baseline) fold(count int, fast, slow, z float64) {
	c := float64(count)
	if b.N > 0 {
		c = min(c, max(b.Fast.Mean+z*b.Fast.sd(), b.Slow.Mean+z*b.Slow.sd()))
	}
	n := 1 / float64(b.N+1)
	b.Fast.fold(c, max(fast, n))
	b.Slow.fold(c, max(slow, n))
	if b.N < math.MaxInt32 {
		b.N++
	}
}

func (m *moment) fold(c, a float64) {
	d := c - m.Mean
	m.Mean += a * d
	m.Var = (1 - a) * (m.Var + a*d*d)
}

// sd returns the standard deviation, at least that of a Poisson count of
// the same mean and at least 1: a quiet, steady baseline must not make a
// few events more look like a storm.
func (m *moment) sd() float64 {
	return max(math.Sqrt(m.Var), math.Sqrt(m.Mean), 1)
}

func newRate(c *Config) *rate {
	return &rate{cfg: c.RateAnomaly, maxGroups: c.MaxGroups, cells: map[rateKey]*rateCell{}, types: map[string]*baseline{}}
}

func (r *rate) key() string { return RateAnomaly }

func (r *rate) params() string {
	return fmt.Sprintf("bucket=%s", r.cfg.Bucket)
}

func (r *rate) observe(o *obs, out []Finding) []Finding {
	k := rateKey{o.en.Actor.ID, o.en.Type}
	b := floorDiv(o.eff, int64(r.cfg.Bucket))
	c := r.cells[k]
	switch {
	case c == nil:
		if len(r.cells) >= r.maxGroups {
			evictIdle(r.cells, r.maxGroups-1, func(c *rateCell) int64 { return c.Bucket }, compareRateKeys)
		}
		c = &rateCell{Bucket: b}
		r.cells[k] = c
	case b > c.Bucket:
		r.close(k.typ, c, b)
	}
	// An event of an earlier bucket (late, within the lateness) counts in
	// the current one: a closed bucket is never reopened.
	c.Count++
	if len(c.Ev) < rateEvidence {
		c.Ev = append(c.Ev, o.index)
	} else {
		c.Ev[rateEvidence-1] = o.index
	}
	if c.High || c.Count < r.cfg.MinCount {
		return out
	}
	base, whose := &c.Base, "its own"
	if base.N < r.cfg.LearningBuckets {
		base, whose = r.types[k.typ], "all actors'"
		if base == nil || base.N < r.cfg.LearningBuckets {
			return out
		}
	}
	z := base.z(c.Count)
	if z <= r.cfg.Z {
		return out
	}
	c.High = true
	if c.Spike {
		return out
	}
	return append(out, finding(RateAnomaly, r.cfg.Severity, "actor:"+k.actor+"|type:"+k.typ, o.t, slices.Clone(c.Ev),
		"%d %s events by %s in %s, against %.1f usually (%s baseline, z=%.1f)",
		c.Count, k.typ, k.actor, formatDuration(r.cfg.Bucket), base.mean(c.Count), whose, z))
}

// close folds the current bucket of c into the baselines and starts
// bucket b. A spike goes on while consecutive buckets are anomalous.
func (r *rate) close(typ string, c *rateCell, b int64) {
	c.Spike = c.High && b == c.Bucket+1
	c.Bucket = b
	c.Base.fold(c.Count, rateFast, rateSlow, r.cfg.Z)
	t := r.types[typ]
	if t == nil {
		if len(r.types) >= r.maxGroups {
			return // a type beyond the bound has no population baseline
		}
		t = new(baseline)
		r.types[typ] = t
	}
	t.fold(c.Count, typeFast, typeSlow, r.cfg.Z)
	c.Count, c.High, c.Ev = 0, false, c.Ev[:0]
}

// floorDiv returns a/b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func compareRateKeys(a, b rateKey) int {
	return cmp.Or(strings.Compare(a.actor, b.actor), strings.Compare(a.typ, b.typ))
}

// sweep keeps everything: baselines are what the detector learned.
func (r *rate) sweep(int64) {}

// rateState is the JSON form of the detector's state: cells are listed in
// key order, since a JSON object's keys are strings.
type rateState struct {
	Cells []rateCellJSON       `json:"cells"`
	Types map[string]*baseline `json:"types"`
}

type rateCellJSON struct {
	Actor string `json:"actor"`
	Type  string `json:"type"`
	rateCell
}

func (r *rate) save() any {
	st := rateState{Cells: make([]rateCellJSON, 0, len(r.cells)), Types: r.types}
	for k, c := range r.cells {
		st.Cells = append(st.Cells, rateCellJSON{k.actor, k.typ, *c})
	}
	slices.SortFunc(st.Cells, func(a, b rateCellJSON) int {
		return compareRateKeys(rateKey{a.Actor, a.Type}, rateKey{b.Actor, b.Type})
	})
	return &st
}

func (r *rate) load(data []byte) error {
	var st rateState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	r.cells = make(map[rateKey]*rateCell, len(st.Cells))
	for i := range st.Cells {
		c := &st.Cells[i]
		r.cells[rateKey{c.Actor, c.Type}] = &c.rateCell
	}
	r.types = map[string]*baseline{}
	for t, b := range st.Types {
		if b == nil {
			return fmt.Errorf("baseline of type %q without state", t)
		}
		r.types[t] = b
	}
	return nil
}
