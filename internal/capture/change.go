package capture

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/policy"
	"github.com/a24ba333/indelible/internal/schema"
	"github.com/a24ba333/indelible/internal/store"
)

// MaxSourceBytes bounds a submitted schema or policy: its text goes into
// an entry, which is at most event.MaxEntrySize with everything else.
const MaxSourceBytes = 32 << 10

var (
	// ErrNotFound is returned for an unknown proposal.
	ErrNotFound = errors.New("capture: no such pending proposal")
	// ErrSelfApproval is returned when the proposer tries to approve its
	// own proposal: the two-person rule needs a second admin.
	ErrSelfApproval = errors.New("capture: a proposal must be approved by another admin than its proposer")
)

// RefusedError is a configuration that was refused: it does not compile
// or parse. The refusal was recorded in the log (Index) unless Err
// says that recording failed too.
type RefusedError struct {
	Kind  string
	Err   error // *schema.CompileError, *policy.Error, or a size error
	Index uint64
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%s refused: %v", e.Kind, e.Err) }
func (e *RefusedError) Unwrap() error { return e.Err }

// Outcome is the result of a change.
type Outcome struct {
	// Entries are the entries recorded (none when Unchanged).
	Entries []store.Entry `json:"-"`
	// Index is the index of the last entry recorded.
	Index uint64 `json:"index"`
	// Status is "active" (in force now), "proposed" (waiting for a
	// second admin) or "unchanged" (identical to what is in force).
	Status string `json:"status"`
	// Proposal is the proposal's id, for "proposed".
	Proposal string `json:"proposal,omitempty"`
	// Hash is the version hash of the submitted document.
	Hash string `json:"hash"`
	// PreviousHash is the hash of the version in force before.
	PreviousHash string `json:"previous_hash,omitempty"`
	// Version is the schema version (schemas only).
	Version int `json:"version,omitempty"`
	// Diff is the readable change.
	Diff string `json:"diff,omitempty"`
}

func sourceHash(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

// refuse records the refusal of a configuration and returns it.
func (m *Manager) refuse(ctx context.Context, log string, ls *logState, by Actor, kind, eventType string, src []byte, cause error) error {
	typ, res := docs[KindPolicy].rejected, event.Resource{Type: kind, ID: sourceHash(src)}
	if d, ok := docs[kind]; ok {
		typ = d.rejected
	}
	data := map[string]any{"hash": sourceHash(src), "errors": []string{cause.Error()}}
	if kind == KindSchema {
		typ, res = TypeSchemaRejected, event.Resource{Type: "schema", ID: eventType}
		data["event_type"] = eventType
	}
	ev := m.event(by, typ, res, data)
	ev.Outcome = event.OutcomeFailure
	out, err := m.record(ctx, log, ls, ev)
	re := &RefusedError{Kind: kind, Err: cause}
	if err != nil {
		return errors.Join(re, fmt.Errorf("recording the refusal: %w", err))
	}
	re.Index = out[len(out)-1].Index
	return re
}

func tooLarge(kind string, n int) error {
	return fmt.Errorf("the %s is %d bytes, at most %d are accepted", kind, n, MaxSourceBytes)
}

// PutSchema registers src as the next version of the schema of
// eventType in log, or proposes it under the two-person rule. A schema
// that does not compile is refused (*RefusedError) and the refusal
// recorded. The caller has checked that by may change log's schemas.
func (m *Manager) PutSchema(ctx context.Context, by Actor, log, eventType string, src []byte) (Outcome, error) {
	ls := m.log(log)
	ls.change.Lock()
	defer ls.change.Unlock()
	st, err := m.State(ctx, log)
	if err != nil {
		return Outcome{}, err
	}
	latest := st.Schemas.Latest(eventType)
	version := 1
	if latest != nil {
		version = latest.Version + 1
	}
	if len(src) > MaxSourceBytes {
		return Outcome{}, m.refuse(ctx, log, ls, by, KindSchema, eventType, src, tooLarge("schema", len(src)))
	}
	sc, err := schema.Compile(eventType, version, src)
	if err != nil {
		return Outcome{}, m.refuse(ctx, log, ls, by, KindSchema, eventType, src, err)
	}
	o := Outcome{Hash: sc.Hash, Version: version}
	if latest != nil {
		o.PreviousHash = latest.Hash
		if latest.Hash == sc.Hash {
			o.Status, o.Version, o.Index = "unchanged", latest.Version, 0
			return o, nil
		}
	}
	o.Diff = schema.Diff(latest, sc)
	data := map[string]any{
		"event_type": eventType, "hash": sc.Hash, "previous_hash": o.PreviousHash,
		"source": string(sc.Source), "diff": o.Diff,
	}
	res := event.Resource{Type: "schema", ID: eventType}
	typ := TypeSchemaRegistered
	o.Status = "active"
	if st.Settings().Approval == policy.TwoPerson {
		typ, o.Status, o.Version = TypeSchemaProposed, "proposed", 0
		o.Proposal = newID()
		data["proposal"] = o.Proposal
	} else {
		data["version"] = version
	}
	return m.finish(ctx, log, ls, o, m.event(by, typ, res, data))
}

// ApplyPolicy makes src the capture policy of log, or proposes it under
// the two-person rule (of the policy in force). A policy that does not
// parse or type-check is refused (*RefusedError) and the refusal
// recorded; the policy in force stays.
func (m *Manager) ApplyPolicy(ctx context.Context, by Actor, log string, src []byte) (Outcome, error) {
	return m.applyDoc(ctx, by, log, KindPolicy, src)
}

// ApplyRules makes src (YAML, analyze.ParseConfig) the analysis
// configuration of log (detectors and user rules), as ApplyPolicy does
// for policies.
func (m *Manager) ApplyRules(ctx context.Context, by Actor, log string, src []byte) (Outcome, error) {
	return m.applyDoc(ctx, by, log, KindRules, src)
}

// doc describes one kind of whole-document configuration.
type doc struct {
	activated, proposed, approved, rejected string
	parse                                   func([]byte) error
	current                                 func(*State) []byte
}

var docs = map[string]doc{
	KindPolicy: {TypePolicyActivated, TypePolicyProposed, TypePolicyApproved, TypePolicyRejected,
		func(b []byte) error { _, err := policy.Parse(b); return err },
		func(st *State) []byte {
			if st.Policy == nil {
				return nil
			}
			return st.Policy.Source()
		}},
	KindRules: {TypeRulesActivated, TypeRulesProposed, TypeRulesApproved, TypeRulesRejected,
		func(b []byte) error { _, err := analyze.ParseConfig(b); return err },
		func(st *State) []byte { return st.AnalysisSource }},
}

func (m *Manager) applyDoc(ctx context.Context, by Actor, log, kind string, src []byte) (Outcome, error) {
	dk := docs[kind]
	ls := m.log(log)
	ls.change.Lock()
	defer ls.change.Unlock()
	st, err := m.State(ctx, log)
	if err != nil {
		return Outcome{}, err
	}
	if len(src) > MaxSourceBytes {
		return Outcome{}, m.refuse(ctx, log, ls, by, kind, "", src, tooLarge(kind, len(src)))
	}
	if err := dk.parse(src); err != nil {
		return Outcome{}, m.refuse(ctx, log, ls, by, kind, "", src, err)
	}
	old := dk.current(st)
	o := Outcome{Hash: sourceHash(src)}
	if old != nil {
		o.PreviousHash = sourceHash(old)
	}
	if o.Hash == o.PreviousHash {
		o.Status = "unchanged"
		return o, nil
	}
	o.Diff = policy.Diff(old, src)
	data := map[string]any{"hash": o.Hash, "previous_hash": o.PreviousHash, "source": string(src), "diff": o.Diff}
	res := event.Resource{Type: kind, ID: o.Hash}
	typ := dk.activated
	o.Status = "active"
	if st.Settings().Approval == policy.TwoPerson {
		typ, o.Status = dk.proposed, "proposed"
		o.Proposal = newID()
		data["proposal"] = o.Proposal
	}
	return m.finish(ctx, log, ls, o, m.event(by, typ, res, data))
}

// Approve approves a pending proposal of log as by, who must not be its
// proposer, and puts it in force: the approval and the activation are
// recorded in one commit.
func (m *Manager) Approve(ctx context.Context, by Actor, log, id string) (Outcome, error) {
	ls := m.log(log)
	ls.change.Lock()
	defer ls.change.Unlock()
	st, err := m.State(ctx, log)
	if err != nil {
		return Outcome{}, err
	}
	p, ok := st.Pending[id]
	if !ok {
		return Outcome{}, ErrNotFound
	}
	if p.By == by.ID {
		return Outcome{}, ErrSelfApproval
	}
	o := Outcome{Status: "active", Proposal: id, Hash: p.Hash}
	var approve, activate *event.Event
	switch p.Kind {
	case KindSchema:
		latest := st.Schemas.Latest(p.EventType)
		o.Version = 1
		if latest != nil {
			o.Version, o.PreviousHash = latest.Version+1, latest.Hash
		}
		sc, err := schema.Compile(p.EventType, o.Version, []byte(p.Source))
		if err != nil {
			return Outcome{}, fmt.Errorf("capture: proposal %s no longer compiles: %w", id, err)
		}
		o.Diff = schema.Diff(latest, sc)
		res := event.Resource{Type: "schema", ID: p.EventType}
		approve = m.event(by, TypeSchemaApproved, res, map[string]any{"proposal": id, "event_type": p.EventType, "hash": p.Hash})
		activate = m.event(by, TypeSchemaRegistered, res, map[string]any{
			"event_type": p.EventType, "version": o.Version, "hash": p.Hash, "previous_hash": o.PreviousHash,
			"source": p.Source, "diff": o.Diff, "proposal": id,
		})
	default:
		dk, ok := docs[p.Kind]
		if !ok {
			return Outcome{}, fmt.Errorf("capture: proposal %s is of an unknown kind %q", id, p.Kind)
		}
		old := dk.current(st)
		if old != nil {
			o.PreviousHash = sourceHash(old)
		}
		o.Diff = policy.Diff(old, []byte(p.Source))
		res := event.Resource{Type: p.Kind, ID: p.Hash}
		approve = m.event(by, dk.approved, res, map[string]any{"proposal": id, "hash": p.Hash})
		activate = m.event(by, dk.activated, res, map[string]any{
			"hash": p.Hash, "previous_hash": o.PreviousHash, "source": p.Source, "diff": o.Diff, "proposal": id,
		})
	}
	return m.finish(ctx, log, ls, o, approve, activate)
}

// finish records evs and completes o.
func (m *Manager) finish(ctx context.Context, log string, ls *logState, o Outcome, evs ...*event.Event) (Outcome, error) {
	out, err := m.record(ctx, log, ls, evs...)
	if err != nil {
		return Outcome{}, fmt.Errorf("capture: recording the change: %w", err)
	}
	o.Entries = out
	o.Index = out[len(out)-1].Index
	if o.Status == "active" && o.Version > 0 {
		// The log order decides the version (see the package doc).
		ls.mu.Lock()
		if latest := ls.st.Schemas.Latest(evs[len(evs)-1].Data["event_type"].(string)); latest != nil {
			o.Version = latest.Version
		}
		ls.mu.Unlock()
	}
	return o, nil
}

// RecordFallback records that count events of log were captured in full
// because the policy with hash policyHash failed for them (cause); ids
// names the first of them.
func (m *Manager) RecordFallback(ctx context.Context, log, policyHash string, cause error, count int, ids []string) error {
	ev := m.event(Actor{ID: "indelible", Type: "system"}, TypePolicyFallback, event.Resource{Type: "policy", ID: policyHash}, map[string]any{
		"policy": policyHash, "error": cause.Error(), "count": count, "ids": ids,
	})
	ev.Outcome = event.OutcomeFailure
	_, err := m.record(ctx, log, m.log(log), ev)
	return err
}

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
