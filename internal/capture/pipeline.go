package capture

import (
	"fmt"
	"io"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/policy"
)

// Sources name where events came from; the policy's settings decide per
// source what happens to an invalid event.
const (
	SourceAPI        = policy.SourceAPI
	SourceKubernetes = policy.SourceKubernetes
)

// Invalid-event actions (policy.Settings.Invalid).
const (
	ActionReject     = policy.Reject
	ActionQuarantine = policy.Quarantine
)

// Result is what Capture decided for one event.
type Result struct {
	// Event is the event as it is to be stored (a copy when the policy
	// changed it), nil when Invalid is set or Dropped.
	Event *event.Event
	// Capture is how it was captured, for the entry.
	Capture event.Capture
	// Values are the personal values taken out of Event, with their
	// salts, for the vault.
	Values []policy.PersonalValue
	// Dropped is set when the matching rule's level is none: the event
	// is not stored, only counted under Capture.Rule.
	Dropped bool
	// Invalid lists why the event failed its schema (or why its type is
	// refused). Action says what the settings want done with it.
	Invalid []event.FieldError
	Action  string
	// Fallback is the run-time policy error for which the event was
	// captured in full instead of by its rule.
	Fallback error
}

// Capture validates ev against its type's schema and applies the policy.
// It never fails: a policy that cannot be evaluated for ev captures ev in
// full (Result.Fallback says why), because a broken configuration must
// never stop logging. Events that Indelible writes about itself (the
// reserved category) are always captured in full and unvalidated. rand
// supplies the salts of personal values.
func (st *State) Capture(ev *event.Event, source string, rand io.Reader) Result {
	full := Result{Event: ev, Capture: event.Capture{Level: event.CaptureFull}}
	if ev.Category() == event.ReservedCategory {
		return full
	}
	sc, known, errs := st.Schemas.Check(ev)
	switch {
	case len(errs) > 0:
		return Result{Invalid: errs, Action: st.Policy.InvalidAction(source)}
	case !known && st.Policy.RejectsUnregistered():
		return Result{Invalid: []event.FieldError{{
			Path: "/type", Message: fmt.Sprintf("no schema is registered for %q and this log refuses unregistered types", ev.Type),
		}}, Action: st.Policy.InvalidAction(source)}
	}
	schemaRef := ""
	if sc != nil {
		schemaRef = sc.Ref()
	}
	full.Capture.Schema = schemaRef
	full.Capture.Policy = st.PolicyHash()
	d, err := st.Policy.Decide(ev)
	if err != nil {
		full.Fallback = err
		return full
	}
	full.Capture.Rule = d.Rule
	switch d.Level {
	case policy.LevelNone:
		return Result{Capture: full.Capture, Dropped: true}
	case policy.LevelFull:
		if len(d.Redact) == 0 && len(d.Personal) == 0 {
			return full
		}
	}
	a, err := policy.Apply(ev, d, rand)
	if err != nil {
		full.Capture.Rule = ""
		full.Fallback = fmt.Errorf("rule %q: %w", d.Rule, err)
		return full
	}
	c := full.Capture
	c.Level = string(d.Level)
	c.Redacted, c.Personal = a.Redacted, a.Personal
	return Result{Event: a.Event, Capture: c, Values: a.Values}
}
