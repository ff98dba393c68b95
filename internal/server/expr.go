package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/query"
	"github.com/a24ba333/indelible/internal/store"
)

// maxScanned bounds the index candidates that one request checks against
// the part of a query expression that the index cannot answer. A page
// that reaches it ends early, with a cursor to go on from.
const maxScanned = 20000

// exprError is a query expression that does not parse (400, with the
// column).
type exprError struct{ err *query.SyntaxError }

func (e *exprError) Error() string { return e.err.Error() }
func (e *exprError) Unwrap() error { return e.err }

// withExpr ANDs the expression src with the filter q. It returns the
// combined index query, the part of src that the index cannot answer (nil
// if none), and whether nothing can match.
func withExpr(q store.IndexQuery, src string, now time.Time) (store.IndexQuery, query.Expr, bool, error) {
	x, err := query.Parse(src)
	var se *query.SyntaxError
	if errors.As(err, &se) {
		return q, nil, false, &exprError{se}
	}
	if err != nil {
		return q, nil, false, badRequest("the parameter q: %v", err)
	}
	plan, err := query.Compile(x, q.Log, now)
	if errors.As(err, &se) {
		return q, nil, false, &exprError{se}
	}
	if err != nil {
		return q, nil, false, badRequest("the parameter q: %v", err)
	}
	if plan.Empty {
		return q, nil, true, nil
	}
	pi := plan.Index
	empty := false
	same := func(a *string, b string) {
		switch {
		case b == "":
		case *a == "":
			*a = b
		case *a != b:
			empty = true
		}
	}
	same(&q.Actor, pi.Actor)
	same(&q.ResourceType, pi.ResourceType)
	same(&q.ResourceID, pi.ResourceID)
	same(&q.Outcome, pi.Outcome)
	switch {
	case pi.TypePrefix == "":
	case q.TypePrefix == "":
		q.TypePrefix = pi.TypePrefix
	case typeMatches(q.TypePrefix, pi.TypePrefix) || typeMatches(q.TypePrefix, pi.TypePrefix+"x"):
		q.TypePrefix = pi.TypePrefix // the narrower one
	case typeMatches(pi.TypePrefix, q.TypePrefix) || typeMatches(pi.TypePrefix, q.TypePrefix+"x"):
	default:
		empty = true
	}
	if !pi.From.IsZero() && pi.From.After(q.From) {
		q.From = pi.From
	}
	if !pi.To.IsZero() && (q.To.IsZero() || pi.To.Before(q.To)) {
		q.To = pi.To
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		empty = true
	}
	return q, plan.Residual, empty, nil
}

// scanQuery answers a page of a query whose residual the index cannot
// answer: it walks the index's candidates newest first and keeps those
// that match residual.
func (s *Server) scanQuery(ctx context.Context, q store.IndexQuery, residual query.Expr, limit int) (eventsPage, error) {
	page := eventsPage{Events: []indexedEntry{}}
	scanned := 0
	chunk := max(4*limit, 500)
	for {
		q.Limit = chunk
		idx, wm, err := s.cfg.Index.QueryIndex(ctx, q)
		if err != nil {
			return page, fmt.Errorf("querying the index of log %q: %w", q.Log, err)
		}
		if page.Watermark == 0 {
			page.Watermark = wm
		}
		es, err := s.readIndexed(ctx, q.Log, idx)
		if err != nil {
			return page, err
		}
		for _, ie := range es {
			scanned++
			e, err := event.DecodeEntry(ie.Entry)
			if err != nil {
				return page, fmt.Errorf("entry %d of log %q: %w", ie.Index, q.Log, err)
			}
			if query.Match(residual, e, ie.Index) {
				if len(page.Events) == limit {
					page.NextCursor = strconv.FormatUint(page.Events[limit-1].Index, 10)
					return page, nil
				}
				page.Events = append(page.Events, ie)
			}
			if scanned >= maxScanned && ie.Index > 0 {
				// Stop here; the client goes on from this entry.
				page.NextCursor = strconv.FormatUint(ie.Index, 10)
				return page, nil
			}
		}
		if len(idx) < chunk {
			return page, nil
		}
		q.Before = idx[len(idx)-1]
	}
}
