package query

import (
	"errors"
	"strings"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// Plan is how to run an expression against the query index, which keeps
// a few fields of every entry (store.IndexRow) and answers only
// conjunctions of simple conditions on them. Running a plan means: if
// Empty, nothing matches; otherwise ask the index for Index, then keep the
// entries it returns that Residual matches.
type Plan struct {
	// Index holds the conditions of the expression that the index can
	// answer, taken from its top-level conjunction: the terms that must
	// hold, whatever the rest says.
	Index store.IndexQuery
	// Residual is the rest of the expression, to check with Match on each
	// entry the index returns, or nil when the index answers the whole
	// expression exactly. Its relative times are resolved.
	Residual Expr
	// Exact reports whether Residual is nil: the index's answer is the
	// answer, and its limit and cursor can be used as they are.
	Exact bool
	// Empty reports that the expression contradicts itself (two actors,
	// disjoint types, a time range that is empty), so that no entry can
	// match: the caller need not ask the index at all. Index is then only
	// the log, and Residual nil.
	Empty bool
}

// Compile plans x, an expression about the entries of log, for the query
// index; relative times are relative to now. The conditions it moves to
// Plan.Index, from the top-level AND only (a condition under OR or NOT
// does not have to hold):
//
//	actor.id:v, resource.type:v,    Actor, ResourceType, ResourceID,
//	resource.id:v, outcome:v        Outcome (v neither a pattern nor "")
//	type:a.b.*                      TypePrefix "a.b."
//	type:a.b                        TypePrefix "a.b", and the term stays in
//	                                Residual: the prefix also matches a.b.c
//	category:a                      TypePrefix "a."
//	time>=t, time>t, time<t,        From and To, at millisecond precision:
//	time<=t, time:t                 From = t, t+1ms, -, -, t;
//	                                To = -, -, t, t+1ms, t+1ms
//
// Several conditions on one field narrow each other; conditions that no
// entry can meet together make an Empty plan.
func Compile(x Expr, log string, now time.Time) (Plan, error) {
	if log == "" {
		return Plan{}, errors.New("query: compiling for no log")
	}
	if x == nil {
		x = all{}
	}
	x = x.resolve(now)
	var terms []Expr
	switch y := x.(type) {
	case all:
	case and:
		terms = y
	default:
		terms = []Expr{x}
	}
	c := compiler{q: store.IndexQuery{Log: log}}
	var residual and
	for _, y := range terms {
		t, ok := y.(*term)
		if !ok || !c.add(t) {
			residual = append(residual, y)
		}
	}
	if !c.q.From.IsZero() && !c.q.To.IsZero() && c.q.From.UnixMilli() >= c.q.To.UnixMilli() {
		c.empty = true
	}
	if c.empty {
		return Plan{Index: store.IndexQuery{Log: log}, Exact: true, Empty: true}, nil
	}
	p := Plan{Index: c.q}
	switch len(residual) {
	case 0:
		p.Exact = true
	case 1:
		p.Residual = residual[0]
	default:
		p.Residual = residual
	}
	return p, nil
}

// compiler collects the index conditions of a conjunction.
type compiler struct {
	q     store.IndexQuery
	empty bool
}

// add moves what it can of the term t into the index query. It reports
// whether the query now answers t exactly, so that t need not stay in the
// residual.
func (c *compiler) add(t *term) bool {
	v := &t.val
	switch t.field {
	case fieldActorID:
		return c.exact(&c.q.Actor, v)
	case fieldResourceType:
		return c.exact(&c.q.ResourceType, v)
	case fieldResourceID:
		return c.exact(&c.q.ResourceID, v)
	case fieldOutcome:
		return c.exact(&c.q.Outcome, v)
	case fieldType:
		if !v.glob && v.text != "" {
			c.typePrefix(v.text)
			return false // "a.b" also selects "a.b.c"
		}
		if prefix, ok := strings.CutSuffix(v.text, "*"); ok && strings.HasSuffix(prefix, ".") && !strings.ContainsAny(prefix, "*?") {
			c.typePrefix(prefix)
			return true
		}
	case fieldCategory:
		// A category has no dot; types have two segments or more, so
		// "a." selects exactly the types of category a.
		if !v.glob && v.text != "" && !strings.Contains(v.text, ".") {
			c.typePrefix(v.text + ".")
			return true
		}
	case fieldTime:
		return c.time(t.op, v.ms)
	}
	return false
}

// exact sets *dst to the value, if it is a plain, non-empty one. Two
// different values make the plan empty.
func (c *compiler) exact(dst *string, v *value) bool {
	if v.glob || v.text == "" {
		return false
	}
	if *dst != "" && *dst != v.text {
		c.empty = true
	}
	*dst = v.text
	return true
}

// typePrefix narrows the type prefix to p. The types that two prefixes
// select are nested or disjoint (see prefixWithin), so the narrower prefix
// is their intersection.
func (c *compiler) typePrefix(p string) {
	switch q := c.q.TypePrefix; {
	case q == "" || prefixWithin(p, q):
		c.q.TypePrefix = p
	case prefixWithin(q, p):
	default:
		c.empty = true
	}
}

// prefixWithin reports whether every type that prefix p selects is one
// that prefix q selects (store.IndexQuery.TypePrefix): a prefix "x."
// selects the types that start with "x."; a prefix "x" selects x and the
// types that start with "x.".
func prefixWithin(p, q string) bool {
	pBase, pSelf := strings.CutSuffix(p, ".")
	qBase, qSelf := strings.CutSuffix(q, ".")
	pSelf, qSelf = !pSelf, !qSelf
	if pBase == qBase {
		return !pSelf || qSelf
	}
	return strings.HasPrefix(pBase, qBase+".")
}

// time narrows the time bounds to those of the term time OP ms. The index
// compares whole milliseconds, as time terms do, so the bounds are exact.
// A bound that would be the zero time, which IndexQuery reads as no bound,
// stays in the residual.
func (c *compiler) time(o op, ms int64) bool {
	var from, to int64
	hasFrom, hasTo := false, false
	switch o {
	case opEq:
		from, to, hasFrom, hasTo = ms, ms+1, true, true
	case opGE:
		from, hasFrom = ms, true
	case opGT:
		from, hasFrom = ms+1, true
	case opLT:
		to, hasTo = ms, true
	case opLE:
		to, hasTo = ms+1, true
	}
	zero := time.Time{}.UnixMilli()
	if hasFrom && from == zero || hasTo && to == zero {
		return false
	}
	if hasFrom && (c.q.From.IsZero() || from > c.q.From.UnixMilli()) {
		c.q.From = time.UnixMilli(from).UTC()
	}
	if hasTo && (c.q.To.IsZero() || to < c.q.To.UnixMilli()) {
		c.q.To = time.UnixMilli(to).UTC()
	}
	return true
}
