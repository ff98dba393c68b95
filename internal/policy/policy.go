package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/yamldoc"
)

// Level is how much of an event is captured.
type Level string

// Capture levels. The values of LevelMetadata and LevelFull are those an
// entry records in capture.level.
const (
	LevelNone     Level = "none"                // not stored; the caller counts it under the rule
	LevelMetadata Level = event.CaptureMetadata // the envelope only: data and message left out
	LevelFull     Level = event.CaptureFull     // everything, after redaction and personal fields
)

// Values of the settings.
const (
	Accept     = "accept"     // unregistered_types: store events whose type has no schema
	Reject     = "reject"     // unregistered_types, invalid: refuse the event
	Quarantine = "quarantine" // invalid: keep the event aside for review instead of refusing it
	Single     = "single"     // approval: one admin changes the policy alone
	TwoPerson  = "two-person" // approval: a change needs a second admin's approval
)

// Ingest sources, the keys of settings.invalid.
const (
	SourceAPI        = "api"        // POST /v1/events
	SourceKubernetes = "kubernetes" // the Kubernetes audit webhook
)

// Settings are the per-log settings of a policy document.
type Settings struct {
	// UnregisteredTypes is what happens to an event whose type has no
	// schema: Accept (the default) or Reject.
	UnregisteredTypes string
	// Invalid maps an ingest source (SourceAPI, SourceKubernetes) to what
	// happens to an event that fails validation: Reject or Quarantine.
	// Use InvalidAction, which knows the defaults.
	Invalid map[string]string
	// Approval is Single (the default) or TwoPerson.
	Approval string
}

// InvalidAction returns what happens to an invalid event from the given
// ingest source: Reject or Quarantine. The default is Quarantine for
// SourceKubernetes, whose webhook cannot usefully be told to resend, and
// Reject for every other source, whose client can fix and resend.
func (s Settings) InvalidAction(source string) string {
	if a := s.Invalid[source]; a != "" {
		return a
	}
	if source == SourceKubernetes {
		return Quarantine
	}
	return Reject
}

func defaultSettings() Settings {
	return Settings{
		UnregisteredTypes: Accept,
		Invalid:           map[string]string{SourceAPI: Reject, SourceKubernetes: Quarantine},
		Approval:          Single,
	}
}

// Decision is how one event is to be captured.
type Decision struct {
	// Rule is the name of the rule that matched; "" when no rule did (no
	// policy, no matching rule, or an evaluation error).
	Rule string
	// Level is the capture level.
	Level Level
	// Redact and Personal are the rule's JSON Pointers, shared with the
	// policy: they must not be modified.
	Redact, Personal []string
}

// fullCapture is the decision when no rule decides: capture everything.
var fullCapture = Decision{Level: LevelFull}

// Policy is a parsed capture policy. It is immutable and safe for
// concurrent use. A nil *Policy is valid and captures every event in
// full.
type Policy struct {
	src       []byte
	hash      string
	settings  Settings
	overrides []override // most specific first, then in document order
	rules     []rule
	names     []string // RuleNames
}

// rule is one compiled rule.
type rule struct {
	name string
	m    matcher
	d    Decision
}

// override is a list of rules tried first for the events of some
// projects and environments.
type override struct {
	project, environment []string // nil means any
	rules                []rule
}

// matcher holds one rule's criteria; a nil list matches anything.
type matcher struct {
	category, outcome, source, project, environment []string
	actorID, actorType, resourceType                []string
	types                                           []glob
	cond                                            cel.Program
}

// Hash returns "sha256:" and the hex SHA-256 of the source bytes as they
// were submitted: the version of the policy recorded in every entry
// captured under it. A nil policy has the hash "".
func (p *Policy) Hash() string {
	if p == nil {
		return ""
	}
	return p.hash
}

// Source returns a copy of the document the policy was parsed from.
func (p *Policy) Source() []byte {
	if p == nil {
		return nil
	}
	return slices.Clone(p.src)
}

// Settings returns the policy's settings with the defaults filled in; a
// nil policy has the default settings. The map is the caller's to keep.
func (p *Policy) Settings() Settings {
	if p == nil {
		return defaultSettings()
	}
	s := p.settings
	s.Invalid = maps.Clone(s.Invalid)
	return s
}

// InvalidAction is Settings().InvalidAction(source) without copying the
// settings: capture asks it for every invalid event.
func (p *Policy) InvalidAction(source string) string {
	if p == nil {
		return Settings{}.InvalidAction(source) // the defaults
	}
	return p.settings.InvalidAction(source)
}

// RejectsUnregistered reports whether events of a type without a schema
// are refused (settings.unregistered_types: reject). Capture asks it for
// every such event, so it does not copy the settings.
func (p *Policy) RejectsUnregistered() bool {
	return p != nil && p.settings.UnregisteredTypes == Reject
}

// RuleNames returns the names of the rules in the order Decide tries
// them (the overrides' rules, most specific first, then the base rules),
// so that callers can set up one counter per rule.
func (p *Policy) RuleNames() []string {
	if p == nil {
		return nil
	}
	return slices.Clone(p.names)
}

func newPolicy(src []byte) *Policy {
	sum := sha256.Sum256(src)
	return &Policy{
		src:      slices.Clone(src),
		hash:     "sha256:" + hex.EncodeToString(sum[:]),
		settings: defaultSettings(),
	}
}

// Problem is one thing wrong with a policy document; its Path reads like
// "rules[2].match.condition".
type Problem = yamldoc.Problem

// Error lists every problem found in a policy document, in document
// order.
type Error struct {
	Problems []Problem
}

// Error returns one line per problem, like
//
//	policy: line 14, column 17 (rules[2].match.condition): undeclared reference to 'actr' (at 1:1 of the expression)
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "policy: " + p.String()
	}
	return strings.Join(lines, "\n")
}

// EvalError reports that a rule's condition failed at run time. The
// caller captures the event in full and records the fallback.
type EvalError struct {
	Rule string // the rule whose condition failed
	Err  error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("policy: rule %q: condition: %v", e.Rule, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }
