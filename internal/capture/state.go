package capture

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/policy"
	"github.com/a24ba333/indelible/internal/schema"
)

// Entry types of configuration changes.
const (
	TypeSchemaRegistered = "indelible.schema.registered"
	TypeSchemaProposed   = "indelible.schema.proposed"
	TypeSchemaApproved   = "indelible.schema.approved"
	TypeSchemaRejected   = "indelible.schema.rejected"
	TypePolicyActivated  = "indelible.policy.activated"
	TypePolicyProposed   = "indelible.policy.proposed"
	TypePolicyApproved   = "indelible.policy.approved"
	TypePolicyRejected   = "indelible.policy.rejected"
	TypePolicyFallback   = "indelible.policy.fallback"
	TypeRulesActivated   = "indelible.rules.activated"
	TypeRulesProposed    = "indelible.rules.proposed"
	TypeRulesApproved    = "indelible.rules.approved"
	TypeRulesRejected    = "indelible.rules.rejected"
)

// configPrefixes are the type prefixes of the entries State.Apply folds.
var configPrefixes = []string{"indelible.schema.", "indelible.policy.", "indelible.rules."}

// IsConfigType reports whether entries of type t change the configuration
// (or record an attempt to).
func IsConfigType(t string) bool {
	for _, p := range configPrefixes {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// Kinds of configuration.
const (
	KindSchema = "schema"
	KindPolicy = "policy"
	KindRules  = "rules" // the analysis configuration: detectors and user rules
)

// Change is one configuration entry as the history shows it.
type Change struct {
	Index        uint64    `json:"index"`
	Time         time.Time `json:"time"`
	Type         string    `json:"type"`
	Actor        string    `json:"actor"`
	EventType    string    `json:"event_type,omitempty"` // schemas: the event type
	Version      int       `json:"version,omitempty"`    // schemas: the version registered
	Hash         string    `json:"hash,omitempty"`
	PreviousHash string    `json:"previous_hash,omitempty"`
	Proposal     string    `json:"proposal,omitempty"`
	Diff         string    `json:"diff,omitempty"`
	Errors       []string  `json:"errors,omitempty"`
	Count        int       `json:"count,omitempty"` // fallbacks: events captured in full
}

// Proposal is a change waiting for a second admin's approval.
type Proposal struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	EventType string    `json:"event_type,omitempty"`
	Hash      string    `json:"hash"`
	Source    string    `json:"source"`
	By        string    `json:"by"`
	Index     uint64    `json:"index"`
	Time      time.Time `json:"time"`
}

// State is the configuration of one log as of its entries below Through.
// It is immutable: Apply returns a new State.
type State struct {
	Log string
	// Through is the number of the log's entries folded in (entries with
	// an index below it, as far as the caller has seen them).
	Through uint64
	// Schemas are the registered schemas.
	Schemas *schema.Set
	// Policy is the active capture policy, nil for none (capture
	// everything in full).
	Policy *policy.Policy
	// PolicyIndex is the index of the entry that activated Policy.
	PolicyIndex uint64
	// Analysis is the analysis configuration in force (detectors and user
	// rules), nil for the default; AnalysisSource is its document and
	// AnalysisIndex the entry that activated it.
	Analysis       *analyze.Config
	AnalysisSource []byte
	AnalysisIndex  uint64
	// Policies are every policy that was in force, oldest first.
	Policies []PolicyVersion
	// Pending are the proposals not yet approved, by id.
	Pending map[string]Proposal
	// History is every configuration entry, in log order.
	History []Change
	// Problems are configuration entries that could not be applied
	// (which an honest writer never produces), by index.
	Problems map[uint64]string
}

// PolicyVersion is a policy and the index of the entry that activated it.
type PolicyVersion struct {
	Index  uint64
	Policy *policy.Policy
}

// Empty returns the State of a log without configuration entries.
func Empty(log string) *State {
	return &State{Log: log}
}

// Settings returns the settings in force (those of the active policy, or
// the defaults).
func (st *State) Settings() policy.Settings {
	return st.Policy.Settings()
}

// AnalysisHash returns the hash of the analysis configuration in force,
// "" for the default.
func (st *State) AnalysisHash() string {
	if st.AnalysisSource == nil {
		return ""
	}
	return sourceHash(st.AnalysisSource)
}

// PolicyHash returns the hash of the active policy, "" for none.
func (st *State) PolicyHash() string {
	if st.Policy == nil {
		return ""
	}
	return st.Policy.Hash()
}

// Apply returns the State after entry e at index. Entries that are not
// configuration changes only advance Through. Entries must be applied in
// index order.
func (st *State) Apply(index uint64, e *event.Entry) *State {
	next := *st
	if index+1 > next.Through {
		next.Through = index + 1
	}
	if !IsConfigType(e.Type) {
		return &next
	}
	c := Change{Index: index, Time: e.Time, Type: e.Type, Actor: e.Actor.ID}
	d := e.Data
	c.EventType = str(d, "event_type")
	c.Hash = str(d, "hash")
	c.PreviousHash = str(d, "previous_hash")
	c.Proposal = str(d, "proposal")
	c.Diff = str(d, "diff")
	c.Errors = strs(d, "errors")
	if e.Type == TypePolicyFallback {
		c.Hash = str(d, "policy")
		c.Errors = []string{str(d, "error")}
		c.Count = num(d, "count")
	}
	problem := ""
	switch e.Type {
	case TypeSchemaRegistered:
		latest := next.Schemas.Latest(c.EventType)
		version := 1
		if latest != nil {
			version = latest.Version + 1
		}
		sc, err := schema.Compile(c.EventType, version, []byte(str(d, "source")))
		if err == nil {
			next.Schemas, err = next.Schemas.With(sc)
		}
		if err != nil {
			problem = fmt.Sprintf("schema of %q: %v", c.EventType, err)
			break
		}
		c.Version = version
		next.Pending = without(next.Pending, c.Proposal)
	case TypePolicyActivated:
		p, err := policy.Parse([]byte(str(d, "source")))
		if err != nil {
			problem = fmt.Sprintf("policy: %v", err)
			break
		}
		next.Policy, next.PolicyIndex = p, index
		next.Policies = append(next.Policies[:len(next.Policies):len(next.Policies)], PolicyVersion{index, p})
		next.Pending = without(next.Pending, c.Proposal)
	case TypeRulesActivated:
		src := []byte(str(d, "source"))
		a, err := analyze.ParseConfig(src)
		if err != nil {
			problem = fmt.Sprintf("rules: %v", err)
			break
		}
		next.Analysis, next.AnalysisSource, next.AnalysisIndex = a, src, index
		next.Pending = without(next.Pending, c.Proposal)
	case TypeSchemaProposed, TypePolicyProposed, TypeRulesProposed:
		kind := map[string]string{TypeSchemaProposed: KindSchema, TypePolicyProposed: KindPolicy, TypeRulesProposed: KindRules}[e.Type]
		next.Pending = maps.Clone(next.Pending)
		if next.Pending == nil {
			next.Pending = make(map[string]Proposal)
		}
		next.Pending[c.Proposal] = Proposal{
			ID: c.Proposal, Kind: kind, EventType: c.EventType, Hash: c.Hash,
			Source: str(d, "source"), By: c.Actor, Index: index, Time: e.Time,
		}
	}
	if problem != "" {
		next.Problems = maps.Clone(next.Problems)
		if next.Problems == nil {
			next.Problems = make(map[uint64]string)
		}
		next.Problems[index] = problem
		c.Errors = append(c.Errors, problem)
	}
	next.History = append(next.History[:len(next.History):len(next.History)], c)
	return &next
}

func without(m map[string]Proposal, id string) map[string]Proposal {
	if _, ok := m[id]; !ok {
		return m
	}
	m = maps.Clone(m)
	delete(m, id)
	return m
}

func str(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

func strs(d map[string]any, k string) []string {
	l, _ := d[k].([]any)
	var out []string
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func num(d map[string]any, k string) int {
	switch v := d[k].(type) {
	case interface{ Int64() (int64, error) }:
		n, _ := v.Int64()
		return int(n)
	case int:
		return v
	case float64:
		return int(v)
	}
	return 0
}
