package capture

import (
	"context"
	"fmt"
	"slices"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/policy"
	"github.com/a24ba333/indelible/internal/store"
)

// RuleReport counts what one rule of a candidate policy would do to the
// replayed events.
type RuleReport struct {
	Rule     string `json:"rule"`
	Level    string `json:"level"`
	Matched  int    `json:"matched"`
	Dropped  int    `json:"dropped"`  // level none
	Reduced  int    `json:"reduced"`  // level metadata while the active policy kept more
	Redacted int    `json:"redacted"` // events with at least one value redacted or made personal
	// Changed counts the events whose level differs from the active
	// policy's decision.
	Changed int `json:"changed"`
}

// Report is the result of a dry run.
type Report struct {
	Log        string       `json:"log"`
	Replayed   int          `json:"replayed"`
	From       uint64       `json:"from"` // first index replayed
	Active     string       `json:"active_policy,omitempty"`
	Candidate  string       `json:"candidate_policy"`
	Rules      []RuleReport `json:"rules"`
	Fallbacks  int          `json:"fallbacks"` // events the candidate could not evaluate (captured in full)
	Transition []LevelCount `json:"transitions"`
}

// LevelCount counts the events that move from one level to another.
type LevelCount struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

const noRule = "(no policy: full)"

// Compare replays entries through the active and the candidate policy
// (nil for none) and reports, per rule of the candidate, what it would
// do differently. Entries that Indelible wrote about itself are skipped:
// no policy applies to them.
func Compare(active, candidate *policy.Policy, entries []*event.Entry) Report {
	r := Report{Candidate: candidate.Hash()}
	if active != nil {
		r.Active = active.Hash()
	}
	rules := map[string]*RuleReport{}
	trans := map[[2]string]int{}
	for _, e := range entries {
		ev := &e.Event
		if ev.Category() == event.ReservedCategory {
			continue
		}
		r.Replayed++
		was := decide(active, ev)
		d, err := candidate.Decide(ev)
		if err != nil {
			r.Fallbacks++
			d = policy.Decision{Level: policy.LevelFull}
		}
		name := d.Rule
		if name == "" {
			name = noRule
		}
		rr := rules[name]
		if rr == nil {
			rr = &RuleReport{Rule: name, Level: string(d.Level)}
			rules[name] = rr
		}
		rr.Matched++
		switch d.Level {
		case policy.LevelNone:
			rr.Dropped++
		case policy.LevelMetadata:
			if was != policy.LevelMetadata && was != policy.LevelNone {
				rr.Reduced++
			}
		}
		if d.Level != policy.LevelNone && (len(d.Redact) > 0 || len(d.Personal) > 0) {
			a, err := policy.Apply(ev, d, zeroReader{})
			if err == nil && len(a.Redacted)+len(a.Personal) > 0 {
				rr.Redacted++
			}
		}
		if d.Level != was {
			rr.Changed++
		}
		trans[[2]string{string(was), string(d.Level)}]++
	}
	for _, name := range append(candidate.RuleNames(), noRule) {
		if rr := rules[name]; rr != nil {
			r.Rules = append(r.Rules, *rr)
			delete(rules, name)
		}
	}
	for k, n := range trans {
		r.Transition = append(r.Transition, LevelCount{From: k[0], To: k[1], Count: n})
	}
	slices.SortFunc(r.Transition, func(a, b LevelCount) int {
		if a.From != b.From {
			return compareStr(a.From, b.From)
		}
		return compareStr(a.To, b.To)
	})
	return r
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func decide(p *policy.Policy, ev *event.Event) policy.Level {
	d, err := p.Decide(ev)
	if err != nil {
		return policy.LevelFull
	}
	return d.Level
}

// zeroReader supplies salts for a dry run, whose commitments are thrown
// away.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// DryRun replays the last n entries of log through the candidate policy
// src and compares with the policy in force. A src that does not parse is
// returned as *policy.Error, nothing recorded.
func (m *Manager) DryRun(ctx context.Context, log string, src []byte, n int) (Report, error) {
	candidate, err := policy.Parse(src)
	if err != nil {
		return Report{}, err
	}
	st, err := m.State(ctx, log)
	if err != nil {
		return Report{}, err
	}
	head, err := m.cfg.Entries.Head(ctx, log)
	if err != nil {
		return Report{}, err
	}
	from := uint64(0)
	if n > 0 && head.Size > uint64(n) {
		from = head.Size - uint64(n)
	}
	var entries []*event.Entry
	err = m.cfg.Entries.ScanEntries(ctx, log, from, head.Size, func(se store.Entry) error {
		e, err := event.ParseEntry(se.Body)
		if err != nil {
			return fmt.Errorf("entry %d: %w", se.Index, err)
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("capture: reading log %q: %w", log, err)
	}
	r := Compare(st.Policy, candidate, entries)
	r.Log, r.From = log, from
	return r, nil
}
