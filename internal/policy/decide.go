package policy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/condition"
)

// Decide returns the decision of the first rule that matches ev: the
// rules of the overrides that match ev's project and environment, most
// specific first, then the base rules. When no rule matches, and for a
// nil *Policy, the decision is full capture with Rule "": without a
// policy that says otherwise, everything is captured.
//
// An error (an *EvalError for a condition that failed at run time, such
// as a missing data key or an exceeded MaxConditionCost) means the policy
// could not decide. The decision returned with it is full capture with
// Rule "": the caller captures the event in full and records the
// fallback; it never drops or blocks the event. Decide does not panic.
func (p *Policy) Decide(ev *event.Event) (d Decision, err error) {
	if p == nil {
		return fullCapture, nil
	}
	if ev == nil {
		return fullCapture, errors.New("policy: no event")
	}
	defer func() {
		if r := recover(); r != nil {
			d, err = fullCapture, fmt.Errorf("policy: evaluation failed: %v", r)
		}
	}()
	for i := range p.overrides {
		o := &p.overrides[i]
		if !anyOf(o.project, ev.Project) || !anyOf(o.environment, ev.Environment) {
			continue
		}
		if d, ok, err := decide(o.rules, ev); ok || err != nil {
			return d, err
		}
	}
	if d, ok, err := decide(p.rules, ev); ok || err != nil {
		return d, err
	}
	return fullCapture, nil
}

// decide returns the decision of the first of rules that matches ev.
func decide(rules []rule, ev *event.Event) (Decision, bool, error) {
	for i := range rules {
		r := &rules[i]
		ok, err := r.m.matches(ev)
		if err != nil {
			return fullCapture, false, &EvalError{Rule: r.name, Err: err}
		}
		if ok {
			return r.d, true, nil
		}
	}
	return Decision{}, false, nil
}

// matches reports whether ev meets every criterion of m. The condition,
// the only costly one, is evaluated last.
func (m *matcher) matches(ev *event.Event) (bool, error) {
	if m.types != nil && !slices.ContainsFunc(m.types, func(g glob) bool { return g.Match(ev.Type) }) {
		return false, nil
	}
	if m.category != nil && !anyOf(m.category, ev.Category()) ||
		m.outcome != nil && !anyOf(m.outcome, outcome(ev)) ||
		!anyOf(m.source, ev.Source) ||
		!anyOf(m.project, ev.Project) ||
		!anyOf(m.environment, ev.Environment) ||
		!anyOf(m.actorID, ev.Actor.ID) ||
		!anyOf(m.actorType, ev.Actor.Type) {
		return false, nil
	}
	if m.resourceType != nil {
		rt := ""
		if ev.Resource != nil {
			rt = ev.Resource.Type
		}
		if !anyOf(m.resourceType, rt) {
			return false, nil
		}
	}
	if m.cond == nil {
		return true, nil
	}
	return condition.Eval(m.cond, ev)
}

// anyOf reports whether s is in l; a nil l holds everything.
func anyOf(l []string, s string) bool {
	if l == nil {
		return true
	}
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// glob is a pattern of event types (event.TypePattern).
type glob = event.TypePattern

// newGlob compiles a pattern that checkGlob accepted.
func newGlob(pat string) glob {
	g, _ := event.NewTypePattern(pat)
	return g
}

// checkGlob vets a type pattern: one that holds a character no event type
// can hold would never match.
func checkGlob(pat string) string {
	if _, err := event.NewTypePattern(pat); err != nil {
		return err.Error()
	}
	return ""
}
