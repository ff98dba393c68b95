package policy

import (
	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/condition"
)

// MaxConditionCost bounds the work of one evaluation of one rule's
// condition (see condition.MaxCost): an evaluation that exceeds it fails,
// and the event is captured in full, as for any other evaluation error.
const MaxConditionCost = condition.MaxCost

// outcome is the event's outcome, "unknown" when absent.
func outcome(e *event.Event) string {
	if e.Outcome == "" {
		return event.OutcomeUnknown
	}
	return e.Outcome
}
