package analyze

import "github.com/a24ba333/indelible/internal/condition"

// MaxConditionCost bounds the work of one evaluation of one rule's
// condition (see condition.MaxCost): an evaluation that exceeds it fails,
// and the rule does not match that event, so that a pathological
// expression over a large event cannot stall analysis. The condition
// language is that of capture policies.
const MaxConditionCost = condition.MaxCost
