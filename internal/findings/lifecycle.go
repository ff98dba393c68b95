package findings

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/a24ba333/indelible/event"
)

// The entry types of a finding's life after it opened. Each names the
// finding as its resource (resource.id is the finding id), so that a
// finding's whole history is one query of the index.
const (
	TypeAcknowledged = "indelible.finding.acknowledged"
	TypeResolved     = "indelible.finding.resolved"
	TypeDismissed    = "indelible.finding.dismissed"
	TypeReopened     = "indelible.finding.reopened"
)

// Statuses.
const (
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
	StatusDismissed    = "dismissed"
)

// Actions on a finding.
const (
	ActionAck     = "ack"
	ActionResolve = "resolve"
	ActionDismiss = "dismiss"
	ActionReopen  = "reopen"
)

// Change is one transition of a finding, as its entry records it.
type Change struct {
	Index  uint64    `json:"index"`
	Type   string    `json:"type"`
	Status string    `json:"status"` // the status after it
	By     string    `json:"by"`
	Time   time.Time `json:"time"`
	Note   string    `json:"note,omitempty"`
	// Action is what was done (resolve), Reason why it is not a problem
	// (dismiss); Links point to tickets, commits, runbooks.
	Action string   `json:"action,omitempty"`
	Reason string   `json:"reason,omitempty"`
	Links  []string `json:"links,omitempty"`
	// SuppressUntil, on a dismissal, silences the finding's rule for its
	// group key until then (event time).
	SuppressUntil time.Time `json:"suppress_until,omitzero"`
}

// Request is what a person asks to do to a finding.
type Request struct {
	Action        string    `json:"-"`
	Note          string    `json:"note,omitempty"`
	Taken         string    `json:"action_taken,omitempty"` // resolve: what was done (required)
	Reason        string    `json:"reason,omitempty"`       // dismiss: why (required)
	Links         []string  `json:"links,omitempty"`
	SuppressUntil time.Time `json:"suppress_until,omitzero"` // dismiss: silence the rule for this key until then
}

// ErrTransition is wrapped by Transition for an action the finding's
// status does not allow.
var ErrTransition = errors.New("findings: not allowed in this status")

// next returns the status after action from status, or an error.
func next(status, action string) (string, error) {
	allowed := map[string][]string{
		ActionAck:     {StatusOpen},
		ActionResolve: {StatusOpen, StatusAcknowledged},
		ActionDismiss: {StatusOpen, StatusAcknowledged},
		ActionReopen:  {StatusResolved, StatusDismissed},
	}
	to := map[string]string{ActionAck: StatusAcknowledged, ActionResolve: StatusResolved, ActionDismiss: StatusDismissed, ActionReopen: StatusOpen}
	from, ok := allowed[action]
	if !ok {
		return "", fmt.Errorf("findings: unknown action %q (want ack, resolve, dismiss or reopen)", action)
	}
	if !slices.Contains(from, status) {
		return "", fmt.Errorf("%w: a finding that is %s cannot be %s", ErrTransition, status, map[string]string{
			ActionAck: "acknowledged", ActionResolve: "resolved", ActionDismiss: "dismissed", ActionReopen: "reopened"}[action])
	}
	return to[action], nil
}

// Transition returns the entry event that applies r to f, done by (an API
// key id or operator name) at now. It checks that f's status allows it
// and that r has what its action needs.
func Transition(f Finding, r Request, by string, now time.Time) (*event.Event, error) {
	status, err := next(f.Status, r.Action)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Action == ActionResolve && r.Taken == "":
		return nil, errors.New("findings: say what was done (action_taken) to resolve a finding")
	case r.Action == ActionDismiss && r.Reason == "":
		return nil, errors.New("findings: give a reason to dismiss a finding")
	case r.Action != ActionDismiss && !r.SuppressUntil.IsZero():
		return nil, errors.New("findings: only a dismissal may suppress a rule")
	case len(r.Note) > 4000 || len(r.Taken) > 4000 || len(r.Reason) > 4000 || len(r.Links) > 20:
		return nil, errors.New("findings: notes are at most 4000 bytes and links at most 20")
	}
	typ := map[string]string{ActionAck: TypeAcknowledged, ActionResolve: TypeResolved, ActionDismiss: TypeDismissed, ActionReopen: TypeReopened}[r.Action]
	data := map[string]any{"finding": f.ID, "status": status, "rule": f.Rule, "group_key": f.GroupKey}
	if r.Note != "" {
		data["note"] = r.Note
	}
	if r.Taken != "" {
		data["action_taken"] = r.Taken
	}
	if r.Reason != "" {
		data["reason"] = r.Reason
	}
	if len(r.Links) > 0 {
		links := make([]any, len(r.Links))
		for i, l := range r.Links {
			links[i] = l
		}
		data["links"] = links
	}
	if !r.SuppressUntil.IsZero() {
		data["suppress_until"] = r.SuppressUntil.UTC().Format(time.RFC3339Nano)
	}
	return &event.Event{
		Time:     now.UTC(),
		Type:     typ,
		Outcome:  event.OutcomeSuccess,
		Actor:    event.Actor{ID: by, Type: "api_key"},
		Resource: &event.Resource{Type: "finding", ID: f.ID},
		Source:   "indelible",
		Data:     data,
	}, nil
}

// ChangeFromEntry returns the transition that entry e at index records.
func ChangeFromEntry(index uint64, e *event.Entry) (Change, bool) {
	switch e.Type {
	case TypeAcknowledged, TypeResolved, TypeDismissed, TypeReopened:
	default:
		return Change{}, false
	}
	d := e.Data
	c := Change{Index: index, Type: e.Type, Status: str(d, "status"), By: e.Actor.ID, Time: e.Time,
		Note: str(d, "note"), Action: str(d, "action_taken"), Reason: str(d, "reason")}
	if l, ok := d["links"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				c.Links = append(c.Links, s)
			}
		}
	}
	if s := str(d, "suppress_until"); s != "" {
		c.SuppressUntil, _ = time.Parse(time.RFC3339Nano, s)
	}
	return c, true
}

// Apply folds c into f.
func (f *Finding) Apply(c Change) {
	f.Status = c.Status
	f.History = append(f.History, c)
}
