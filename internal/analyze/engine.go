package analyze

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/a24ba333/indelible/event"
)

// Finding is something worth a look that the engine found in the log.
type Finding struct {
	Rule     string    // the rule that raised it: a detector's rule name, like "failure-burst", or a user rule's name
	Detector string    // the detector kind: failure_burst, rate_anomaly, first_seen, off_hours, sensitive_action, repeated_errors, silence or rule
	Severity string    // low, medium, high or critical
	GroupKey string    // what the finding is about, the key to deduplicate it by within its rule, like "actor:alice@example.com"
	Time     time.Time // the event time that raised it (for silence, the newest event time of the log)
	Summary  string    // one readable line
	Evidence []uint64  // indexes of the entries that support it, in log order, at most MaxEvidence
}

// MaxEvidence is the largest number of entry indexes in a finding.
const MaxEvidence = 50

// Detector kinds, as in Finding.Detector.
const (
	FailureBurst    = "failure_burst"
	RateAnomaly     = "rate_anomaly"
	FirstSeen       = "first_seen"
	OffHours        = "off_hours"
	SensitiveAction = "sensitive_action"
	RepeatedErrors  = "repeated_errors"
	Silence         = "silence"
	UserRule        = "rule"
)

// Severities, from the least to the most urgent.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// ruleName returns the rule name of a built-in detector's findings: its
// kind with dashes, like "failure-burst".
func ruleName(kind string) string { return strings.ReplaceAll(kind, "_", "-") }

// maxFuture is how far past the time the server received it an event's
// time is believed. A later time (a client clock gone wrong) is taken as
// the receipt time plus maxFuture: one event from the year 2099 must not
// move the log's clock, which would close every window and make every
// source look silent.
const maxFuture = 5 * time.Minute

// sweepEvery is how often, in event time, state that can no longer
// matter is dropped.
const sweepEvery = int64(time.Minute)

// Engine runs the detectors and rules of one log over its entries, in log
// order. It is not safe for concurrent use: one goroutine feeds a log's
// entries to it.
//
// Everything it knows is in its state, which Snapshot serialises: an
// engine restored from a snapshot taken after entry i and fed the entries
// after i raises exactly the findings that an engine that never stopped
// would raise. A runner stores the findings of a batch of entries, the
// snapshot after it and its cursor together, so that after a crash it
// resumes with no finding missed or doubled.
type Engine struct {
	cfg  Config
	loc  *time.Location
	dets []detector // per-event detectors, in the order their findings are returned
	sens *sensitive
	sil  *silence

	clock clock
	o     obs // the entry under analysis, reused so that it is not allocated
}

// clock is the engine's own state besides its detectors'.
type clock struct {
	Started   bool   `json:"started,omitempty"`    // an entry has been observed
	Next      uint64 `json:"next"`                 // the index after the last observed entry
	Timed     bool   `json:"timed,omitempty"`      // Watermark is set
	Watermark int64  `json:"watermark"`            // the newest event time analysed, Unix nanoseconds
	NextSweep int64  `json:"next_sweep,omitempty"` // when stale state is next dropped
}

// detector is one per-event detector or user rule.
type detector interface {
	// key names the detector in a snapshot: its kind, or "rule:" and the
	// name of a user rule.
	key() string
	// params describes the configuration its state depends on. A
	// snapshot's state is restored only into a detector with the same
	// params.
	params() string
	// observe analyses one entry and appends the findings it raises.
	observe(o *obs, out []Finding) []Finding
	// sweep drops the state that can no longer change a finding, given
	// that no entry is analysed before time (Unix nanoseconds).
	sweep(before int64)
	// save returns the state, to be encoded as JSON, and load replaces
	// it with a decoded one.
	save() any
	load(data []byte) error
}

// obs is one entry under analysis.
type obs struct {
	index   uint64
	en      *event.Entry
	t       int64 // event time, Unix nanoseconds
	eff     int64 // the time windows count it at: t, or the oldest time still open if it is later
	failure bool  // outcome failure
}

// New returns an engine for cfg, which it validates (see Config.Validate).
// The engine keeps a copy: later changes to cfg do not affect it.
func New(cfg *Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.clone()
	e := &Engine{cfg: *c, loc: c.location()}
	if c.FailureBurst.Enabled {
		e.dets = append(e.dets, newBurst(&e.cfg))
	}
	if c.RepeatedErrors.Enabled {
		e.dets = append(e.dets, newRepeated(&e.cfg))
	}
	if c.RateAnomaly.Enabled {
		e.dets = append(e.dets, newRate(&e.cfg))
	}
	if c.FirstSeen.Enabled {
		e.dets = append(e.dets, newFirstSeen(&e.cfg))
	}
	if c.OffHours.Enabled {
		e.dets = append(e.dets, newOffHours(&e.cfg, e.loc))
	}
	for i := range c.Rules {
		r, err := newRuleDetector(&e.cfg, &e.cfg.Rules[i])
		if err != nil {
			return nil, err
		}
		e.dets = append(e.dets, r)
	}
	if c.SensitiveAction.Enabled {
		e.sens = newSensitive(&e.cfg.SensitiveAction)
	}
	if c.Silence.Enabled {
		e.sil = newSilence(&e.cfg)
	}
	return e, nil
}

// Next returns the index after the last entry observed: where a runner
// resumes. Observe ignores an entry below it.
func (e *Engine) Next() uint64 { return e.clock.Next }

// Observe analyses one committed entry of the log, at leaf index index,
// and returns the findings it raises now. Entries must come in log order;
// an index below Next (an entry already observed, fed again after a
// restart) is ignored, so replaying a batch raises nothing twice. Gaps
// are allowed (an entry that could not be read is simply not analysed).
//
// Entries of the reserved category "indelible" (Indelible's own
// meta-audit) go to sensitive_action only: they neither train baselines
// nor move the log's clock. Findings (type "indelible.finding.*") are
// ignored entirely, so that findings never feed back into analysis.
//
// Observe also advances the log's clock to the entry's event time, which
// can raise silence findings (see Tick).
func (e *Engine) Observe(index uint64, en *event.Entry) []Finding {
	if e.clock.Started && index < e.clock.Next {
		return nil
	}
	e.clock.Started, e.clock.Next = true, index+1
	t := eventTime(en)
	if en.Category() == event.ReservedCategory {
		if strings.HasPrefix(en.Type, event.ReservedCategory+".finding.") || e.sens == nil {
			return nil
		}
		e.o = obs{index: index, en: en, t: t, eff: t}
		out := e.sens.observe(&e.o, nil)
		e.o.en = nil
		return out
	}
	if !e.clock.Timed || t > e.clock.Watermark {
		e.clock.Timed, e.clock.Watermark = true, t
	}
	o := &e.o
	*o = obs{index: index, en: en, t: t, eff: max(t, e.openFrom()), failure: en.Outcome == event.OutcomeFailure}
	var out []Finding
	for _, d := range e.dets {
		out = d.observe(o, out)
	}
	if e.sens != nil {
		out = e.sens.observe(o, out)
	}
	if e.sil != nil {
		e.sil.observe(o)
	}
	e.o.en = nil
	return e.tick(out)
}

// Tick advances the log's clock to t, the newest event time seen, if it
// is later, and returns the findings that time-based detectors (silence)
// raise as a result. Observe does it for every entry, so a runner calls
// Tick only to let findings come due without a new entry; it must pass
// an event time, never the wall clock, or a log that stopped receiving
// events (no capture) would make every source look silent.
func (e *Engine) Tick(t time.Time) []Finding {
	ns := unixNano(t)
	if e.clock.Timed && ns <= e.clock.Watermark {
		return nil
	}
	e.clock.Timed, e.clock.Watermark = true, ns
	return e.tick(nil)
}

// tick runs the time-based work due at the watermark.
func (e *Engine) tick(out []Finding) []Finding {
	wm := e.clock.Watermark
	if e.sil != nil {
		out = e.sil.tick(wm, out)
	}
	if wm >= e.clock.NextSweep {
		e.clock.NextSweep = wm + sweepEvery
		before := e.openFrom()
		for _, d := range e.dets {
			d.sweep(before)
		}
	}
	return out
}

// openFrom returns the oldest event time still open: a later-arriving
// event older than it is counted as if it happened then, so that late
// events are analysed without reopening closed windows.
func (e *Engine) openFrom() int64 {
	return subSat(e.clock.Watermark, int64(e.cfg.Lateness))
}

// subSat returns a-b (b >= 0), or math.MinInt64 if that overflows.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// eventTime returns the time analysis uses for an entry: its event time,
// unless that is further in the future of its receipt than maxFuture.
// EventTime is the time the detectors give en: its event time, but no
// later than maxFuture after the server received it, so that one client
// with a wrong clock cannot move a log's clock years ahead.
func EventTime(en *event.Entry) time.Time { return time.Unix(0, eventTime(en)).UTC() }

func eventTime(en *event.Entry) int64 {
	t := en.Time
	if !en.ReceivedAt.IsZero() {
		if limit := en.ReceivedAt.Add(maxFuture); t.After(limit) {
			t = limit
		}
	}
	return unixNano(t)
}

// The times Unix nanoseconds can represent.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// unixNano returns t in Unix nanoseconds, clamped to the representable
// range (years 1678 to 2262).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// finding returns a finding of a built-in detector.
func finding(kind, severity, group string, t int64, evidence []uint64, format string, args ...any) Finding {
	if len(evidence) > MaxEvidence {
		evidence = evidence[len(evidence)-MaxEvidence:]
	}
	return Finding{
		Rule:     ruleName(kind),
		Detector: kind,
		Severity: severity,
		GroupKey: group,
		Time:     time.Unix(0, t).UTC(),
		Summary:  fmt.Sprintf(format, args...),
		Evidence: evidence,
	}
}
