// Package findings turns what the detectors notice into findings that
// are themselves entries of the log, and keeps the analysis of every log
// following its committed entries.
//
// A finding is recorded as an entry "indelible.finding.opened" of the
// log it is about, so that detection itself is auditable: nobody can
// quietly drop a finding, and the findings can be listed and rebuilt from
// the log alone. The entry's data members are rule, detector, severity,
// group_key, summary, evidence (the indexes of the entries that are its
// evidence, in the same log) and config (the hash of the analysis
// configuration that raised it); its time is the event time of the entry
// that triggered it, and its id is derived from the log, the rule, the
// group key and that entry's index. The whole event is therefore a
// function of the log's entries, so an analysis that resumes from an
// older saved state after a crash raises the same finding with the same
// id and content, which the ledger recognises as already appended: no
// finding is missed and none is doubled.
package findings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
)

// TypeOpened is the type of the entry that records a new finding.
const TypeOpened = "indelible.finding.opened"

// Prefix is the type prefix of every finding entry, which the analysis
// never looks at (a finding must not feed the detectors).
const Prefix = "indelible.finding."

// Finding is a finding as the log records it.
type Finding struct {
	ID       string    `json:"id"`
	Log      string    `json:"log"`
	Rule     string    `json:"rule"`
	Detector string    `json:"detector"`
	Severity string    `json:"severity"`
	GroupKey string    `json:"group_key"`
	Status   string    `json:"status"`
	OpenedAt time.Time `json:"opened_at"` // the event time of the triggering entry
	Summary  string    `json:"summary"`
	// Index is the index of the finding's own entry.
	Index    uint64     `json:"index"`
	Evidence []Evidence `json:"evidence"`
	Config   string     `json:"config,omitempty"`
	// Project and Environment are those of the triggering entry, for
	// routing alerts.
	Project     string `json:"project,omitempty"`
	Environment string `json:"environment,omitempty"`
	// History is what people did about it, oldest first.
	History []Change `json:"history,omitempty"`
	// Deliveries are the outcomes of its alerts' delivery attempts.
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// Verdicts are the check-backs after its resolutions.
	Verdicts []Verdict `json:"verdicts,omitempty"`
}

// Verdict is the check-back of a resolution: did the action work?
type Verdict struct {
	Verdict string    `json:"verdict"` // effective, recurred or inconclusive
	Time    time.Time `json:"time"`    // event time
	// ActivityAfter counts the group's events between the resolution and
	// the verdict.
	ActivityAfter int      `json:"activity_after"`
	Evidence      []uint64 `json:"evidence,omitempty"` // of a recurrence
}

// TypeAlerted records the outcome of one attempt to deliver a finding's
// alert to one sink.
const TypeAlerted = "indelible.finding.alerted"

// Delivery is the outcome of one attempt to deliver an alert to one sink.
type Delivery struct {
	Sink    string    `json:"sink"`
	Outcome string    `json:"outcome"` // "delivered", "retrying" (the attempt failed) or "dead-letter"
	Tries   int       `json:"tries"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
}

// AlertedEvent returns the entry event that records the outcome of the
// alert of finding id (in the same log) to sink.
func AlertedEvent(id string, d Delivery) *event.Event {
	data := map[string]any{"finding": id, "sink": d.Sink, "outcome": d.Outcome, "tries": d.Tries}
	if d.Error != "" {
		data["error"] = d.Error
	}
	outcome := event.OutcomeSuccess
	if d.Outcome != "delivered" {
		outcome = event.OutcomeFailure
	}
	return &event.Event{
		Time: d.Time.UTC(), Type: TypeAlerted, Outcome: outcome,
		Actor:    event.Actor{ID: "indelible/respond", Type: "system"},
		Resource: &event.Resource{Type: "finding", ID: id}, Source: "indelible", Data: data,
	}
}

// Evidence is an entry that a finding rests on.
type Evidence struct {
	Log   string `json:"log"`
	Index uint64 `json:"index"`
}

// Status values.
const StatusOpen = "open"

// ID returns the id of the finding of rule for group key in log,
// triggered by the entry at index.
func ID(log, rule, groupKey string, index uint64) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d", log, rule, groupKey, index)
	return "finding-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Event returns the entry event that records f, raised in log by the
// entry at trigger under the analysis configuration with hash config.
func Event(log string, trigger uint64, f analyze.Finding, config string) *event.Event {
	evidence := make([]any, len(f.Evidence))
	for i, x := range f.Evidence {
		evidence[i] = x
	}
	id := ID(log, f.Rule, f.GroupKey, trigger)
	return &event.Event{
		ID:       id,
		Time:     f.Time.UTC(),
		Type:     TypeOpened,
		Outcome:  event.OutcomeSuccess,
		Actor:    event.Actor{ID: "indelible/analyze", Type: "system"},
		Resource: &event.Resource{Type: "finding", ID: id},
		Source:   "indelible",
		Message:  f.Summary,
		Data: map[string]any{
			"rule": f.Rule, "detector": f.Detector, "severity": f.Severity, "group_key": f.GroupKey,
			"summary": f.Summary, "evidence": evidence, "trigger": trigger, "config": config,
		},
	}
}

// FromEntry returns the finding that entry e at index records, if it
// records one.
func FromEntry(index uint64, e *event.Entry) (Finding, bool) {
	if e.Type != TypeOpened {
		return Finding{}, false
	}
	d := e.Data
	f := Finding{
		ID: e.ID, Log: e.Log, Status: StatusOpen, OpenedAt: e.Time, Index: index,
		Project: e.Project, Environment: e.Environment,
		Rule: str(d, "rule"), Detector: str(d, "detector"), Severity: str(d, "severity"),
		GroupKey: str(d, "group_key"), Summary: str(d, "summary"), Config: str(d, "config"),
		Evidence: []Evidence{},
	}
	if l, ok := d["evidence"].([]any); ok {
		for _, v := range l {
			switch n := v.(type) {
			case interface{ Int64() (int64, error) }:
				if i, err := n.Int64(); err == nil && i >= 0 {
					f.Evidence = append(f.Evidence, Evidence{Log: e.Log, Index: uint64(i)})
				}
			case uint64: // an event not yet sealed
				f.Evidence = append(f.Evidence, Evidence{Log: e.Log, Index: n})
			}
		}
	}
	return f, true
}

func str(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}
