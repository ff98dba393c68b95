package analyze

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// silenceCheckEvery is how often, on the log's clock, silence looks for
// silent sources: a silence is found at most this late.
const silenceCheckEvery = int64(time.Minute)

// silence is the silence detector.
type silence struct {
	cfg       SilenceConfig
	maxGroups int
	st        silenceState
}

type silenceState struct {
	Sources   map[string]*source `json:"sources"`
	NextCheck int64              `json:"next_check"` // the log time of the next look
}

// source is what silence knows of one source.
type source struct {
	First     int64   `json:"first"`      // its first event time
	Last      int64   `json:"last"`       // its latest event time
	LastIndex uint64  `json:"last_index"` // the entry of its latest event
	Events    int     `json:"events"`     // how many it sent, up to MaxInt32
	MaxGap    float64 `json:"max_gap"`    // the longest gap between two of its events, in nanoseconds, decaying
	Silent    bool    `json:"silent,omitempty"`
}

func newSilence(c *Config) *silence {
	return &silence{cfg: c.Silence, maxGroups: c.MaxGroups, st: silenceState{Sources: map[string]*source{}}}
}

func (s *silence) params() string { return fmt.Sprintf("memory=%s", s.cfg.Memory) }

// observe records an event of its source.
func (s *silence) observe(o *obs) {
	name := o.en.Source
	if name == "" {
		return
	}
	src := s.st.Sources[name]
	if src == nil {
		if len(s.st.Sources) >= s.maxGroups {
			evictIdle(s.st.Sources, s.maxGroups-1, func(s *source) int64 { return s.Last }, strings.Compare)
		}
		s.st.Sources[name] = &source{First: o.t, Last: o.t, LastIndex: o.index, Events: 1}
		return
	}
	if src.Events < math.MaxInt32 {
		src.Events++
	}
	if o.t <= src.Last {
		return // a late event leaves no gap
	}
	gap := float64(o.t - src.Last)
	if src.Silent {
		// The gap that raised is not a usual one.
		src.Silent = false
	} else {
		src.MaxGap = max(gap, src.MaxGap*math.Exp(-gap/float64(s.cfg.Memory)))
	}
	src.Last, src.LastIndex = o.t, o.index
}

// tick raises the sources silent at log time now.
func (s *silence) tick(now int64, out []Finding) []Finding {
	if now < s.st.NextCheck {
		return out
	}
	s.st.NextCheck = now + silenceCheckEvery
	var silent []string
	for name, src := range s.st.Sources {
		if src.Silent || src.Events < s.cfg.MinEvents || src.Last-src.First < int64(s.cfg.Learning) {
			continue
		}
		if float64(now-src.Last) > s.threshold(src) {
			silent = append(silent, name)
		}
	}
	slices.Sort(silent)
	for _, name := range silent {
		src := s.st.Sources[name]
		src.Silent = true
		out = append(out, finding(Silence, s.cfg.Severity, "source:"+name, now, []uint64{src.LastIndex},
			"source %s has sent nothing for %s, while the log's other sources still send; its longest usual gap is %s",
			name, roundDuration(now-src.Last), roundDuration(int64(src.MaxGap))))
	}
	return out
}

// threshold returns how long src may stay quiet, in nanoseconds.
func (s *silence) threshold(src *source) float64 {
	return max(s.cfg.Factor*src.MaxGap, float64(s.cfg.MinSilence))
}

// roundDuration writes a duration to the second, or the minute past an
// hour.
func roundDuration(ns int64) string {
	d := time.Duration(ns)
	if d >= time.Hour {
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

func (s *silence) save() any { return &s.st }

func (s *silence) load(data []byte) error {
	st := silenceState{Sources: map[string]*source{}}
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	for name, src := range st.Sources {
		if src == nil {
			return fmt.Errorf("source %q without state", name)
		}
	}
	s.st = st
	return nil
}
