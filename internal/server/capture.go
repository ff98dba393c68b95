package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/capture"
	"github.com/a24ba333/indelible/internal/ledger"
)

// Capturer holds the capture configuration of every log and changes it
// (*capture.Manager). Safe for concurrent use.
type Capturer interface {
	// State returns the configuration in force for log.
	State(ctx context.Context, log string) (*capture.State, error)
	// PutSchema registers (or proposes) the next schema version of a type.
	PutSchema(ctx context.Context, by capture.Actor, log, eventType string, src []byte) (capture.Outcome, error)
	// ApplyPolicy activates (or proposes) a capture policy.
	ApplyPolicy(ctx context.Context, by capture.Actor, log string, src []byte) (capture.Outcome, error)
	// ApplyRules activates (or proposes) an analysis configuration.
	ApplyRules(ctx context.Context, by capture.Actor, log string, src []byte) (capture.Outcome, error)
	// Approve approves a pending proposal as a second admin.
	Approve(ctx context.Context, by capture.Actor, log, id string) (capture.Outcome, error)
	// DryRun compares a candidate policy with the active one on the last
	// n entries.
	DryRun(ctx context.Context, log string, src []byte, n int) (capture.Report, error)
	// RecordFallback records events captured in full because the policy
	// failed for them.
	RecordFallback(ctx context.Context, log, policyHash string, cause error, count int, ids []string) error
}

// QuarantineSuffix names a tenant's quarantine log: "<log>.quarantine".
const QuarantineSuffix = apikey.QuarantineSuffix

// quarantineType is the type of the entries of a quarantine log.
const quarantineType = "indelible.quarantine.event"

// maxQuarantinedText bounds the text of a quarantined item kept in its
// entry; longer items keep their first bytes and are marked truncated.
const maxQuarantinedText = 48 << 10

// captureState returns the configuration in force for log (the empty
// one, which captures everything in full, without a Capturer).
func (s *Server) captureState(ctx context.Context, log string) (*capture.State, error) {
	if s.cfg.Capture == nil {
		return capture.Empty(log), nil
	}
	st, err := s.cfg.Capture.State(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("loading the capture configuration of log %q: %w", log, err)
	}
	return st, nil
}

// quarantined is an item that failed validation and goes to the
// quarantine log.
type quarantined struct {
	item   int
	ev     *event.Event // the event, if it could be decoded
	raw    []byte       // else its text
	errors []event.FieldError
}

// itemTime is the time of a quarantined item: the event's, or for an item
// that could not be decoded the time it names (a Kubernetes audit event's
// stageTimestamp or requestReceivedTimestamp), or else the Unix epoch.
// It depends only on the item, so that the sender's retry of the same
// item is recognised as a duplicate (the time of receipt is in the entry
// anyway).
func itemTime(q quarantined) time.Time {
	if q.ev != nil {
		return q.ev.Time
	}
	var v struct {
		Stage    string `json:"stageTimestamp"`
		Received string `json:"requestReceivedTimestamp"`
	}
	if json.Unmarshal(q.raw, &v) == nil {
		for _, s := range []string{v.Stage, v.Received} {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil && t.Year() >= 0 && t.Year() <= 9999 {
				return t.UTC()
			}
		}
	}
	return time.Unix(0, 0).UTC()
}

// quarantineEvent builds the entry event of q, from source, for log.
func quarantineEvent(log, source string, q quarantined) (*event.Event, error) {
	var (
		item any
		text []byte
	)
	if q.ev != nil {
		b, err := q.ev.CanonicalJSON()
		if err != nil {
			return nil, err
		}
		text = b
	} else {
		text = q.raw
	}
	truncated := false
	if len(text) > maxQuarantinedText {
		text, truncated = text[:maxQuarantinedText], true
	}
	if !truncated {
		if v, err := event.ParseJSON(text, event.Limits{MaxBytes: maxQuarantinedText, MaxDepth: 40}); err == nil {
			item = v
		}
	}
	if item == nil {
		item = strings.ToValidUTF8(string(text), "\uFFFD")
	}
	errs := make([]any, len(q.errors))
	for i, fe := range q.errors {
		errs[i] = map[string]any{"path": fe.Path, "message": fe.Message}
	}
	sum := sha256.Sum256(text)
	ev := event.Event{Time: itemTime(q)}
	ev.ID = "q-" + hex.EncodeToString(sum[:16])
	ev.Type = quarantineType
	ev.Outcome = event.OutcomeFailure
	ev.Actor = event.Actor{ID: source, Type: "source"}
	ev.Source = source
	ev.Resource = &event.Resource{Type: "log", ID: log}
	ev.Data = map[string]any{"source": source, "item": q.item, "errors": errs, "event": item, "truncated": truncated}
	if q.ev != nil {
		ev.Data["event_id"] = q.ev.ID
		ev.Data["event_type"] = q.ev.Type
	}
	return &ev, nil
}

// quarantine appends qs to the quarantine log of log, durably, and
// returns the index of each.
func (s *Server) quarantine(ctx context.Context, log, source string, qs []quarantined) ([]uint64, error) {
	qlog := log + QuarantineSuffix
	if err := ledger.ValidLogName(qlog); err != nil {
		return nil, fmt.Errorf("quarantine log of %q: %w", log, err)
	}
	entries := make([]*event.Entry, 0, len(qs))
	pos := make([]int, len(qs)) // position of qs[i] in entries
	seen := map[string]int{}
	for i, q := range qs {
		ev, err := quarantineEvent(log, source, q)
		if err != nil {
			return nil, err
		}
		if j, ok := seen[ev.ID]; ok { // the same item twice in one request
			pos[i] = j
			continue
		}
		seen[ev.ID] = len(entries)
		pos[i] = len(entries)
		e, err := s.cfg.Sealer.Seal(qlog, ev)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	ap, err := s.cfg.Ledger.Append(ctx, qlog, entries)
	if err != nil {
		return nil, fmt.Errorf("appending %d items to the quarantine log %q: %w", len(entries), qlog, err)
	}
	s.m.quarantined.WithLabelValues(log, source).Add(float64(len(qs)))
	s.m.committed(qlog, len(entries), ap.Size)
	idx := make([]uint64, len(qs))
	for i := range qs {
		idx[i] = ap.Results[pos[i]].Index
	}
	return idx, nil
}
