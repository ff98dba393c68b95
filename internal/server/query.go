package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/query"
	"github.com/a24ba333/indelible/internal/store"
)

// Limits of GET /v1/events.
const (
	defaultQueryLimit = 100
	maxQueryLimit     = 1000
)

// eventsPage is the answer of GET /v1/events.
type eventsPage struct {
	// Events are the matching entries, newest first.
	Events []indexedEntry `json:"events"`
	// Watermark is the number of entries of the log that the query index
	// covered: entries at or above it were not searched.
	Watermark uint64 `json:"watermark"`
	// NextCursor, when set, fetches the next (older) page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// indexedEntry is one entry of a query answer. Entry holds the entry's
// canonical bytes verbatim, so that its leaf hash can be recomputed.
type indexedEntry struct {
	Index uint64          `json:"index"`
	Entry json.RawMessage `json:"entry"`
}

// eventsParams are the query parameters of GET /v1/events.
var eventsParams = []string{"log", "q", "from", "to", "type", "actor", "resource_type", "resource_id", "outcome", "limit", "cursor", "min_index"}

// getEvents answers GET /v1/events: the entries of one log that match the
// query parameters, newest first, from the query index.
//
//	log            the log, for an instance-wide key (a tenant key reads its own)
//	q              an expression of the query language (package query), ANDed
//	               with the other parameters
//	from, to       event time in [from, to): RFC 3339 ("2026-11-23T19:40:00Z";
//	               a "+" of an offset sent unescaped, which arrives as a space,
//	               is taken as "+"), or relative to now (see parseTimeBound)
//	type           a type prefix: "auth." matches the types below auth, "auth.login"
//	               that type and the types below it (store.IndexQuery.TypePrefix)
//	actor, resource_type, resource_id
//	               exact matches of actor.id, resource.type and resource.id
//	outcome        success, failure or unknown (which an entry without an
//	               outcome also matches)
//	limit          the most entries to answer, 1 to 1000 (default 100)
//	cursor         the next_cursor of the previous page
//	min_index      read your writes: first wait (up to Limits.MaxIndexWait) until
//	               the index covers this entry index; 503 if it does not
//
// An empty parameter is as if absent; an unknown or repeated one is a 400.
// The answer is an eventsPage. The cursor is opaque to clients; it is the
// decimal entry index below which the next page starts, so pages never
// overlap or skip entries, even while the log grows. The entries are read
// from the store after the query: an index that the store has no entry
// for is damage to the index, answered 500.
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Reader)
	if err != nil {
		return err
	}
	if s.cfg.Index == nil {
		return errIndexDisabled
	}
	params, err := singleParams(r.URL.Query(), eventsParams)
	if err != nil {
		return err
	}
	q, err := parseFilter(params)
	if err != nil {
		return err
	}
	q.Log = log
	now := s.cfg.Clock()
	var residual query.Expr
	if v := params["q"]; v != "" {
		var empty bool
		if q, residual, empty, err = withExpr(q, v, now); err != nil {
			return err
		}
		if empty {
			return writeJSON(w, http.StatusOK, eventsPage{Events: []indexedEntry{}})
		}
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := params[b.name]; v != "" {
			if *b.t, err = parseTimeBound(v, now); err != nil {
				return badRequest("the parameter %s: %v", b.name, err)
			}
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return badRequest("the parameter from (%s) is after to (%s)", q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))
	}
	limit := defaultQueryLimit
	if v := params["limit"]; v != "" {
		n, ok := decimal(v)
		if !ok || n == 0 || n > maxQueryLimit {
			return badRequest("the parameter limit must be a number from 1 to %d, not %q", maxQueryLimit, v)
		}
		limit = int(n)
	}
	if v := params["cursor"]; v != "" {
		n, ok := decimal(v)
		if !ok || n == 0 {
			return badRequest("the parameter cursor %q is not a cursor of this API: pass next_cursor as it came", v)
		}
		q.Before = n
	}
	var minIndex uint64
	hasMin := params["min_index"] != ""
	if hasMin {
		n, ok := decimal(params["min_index"])
		if !ok {
			return badRequest("the parameter min_index is not a decimal number: %q", params["min_index"])
		}
		if s.cfg.Follower == nil {
			return badRequest("the parameter min_index is not available: this server does not follow its query index")
		}
		minIndex = n
		if err := s.waitIndex(r.Context(), log, minIndex); err != nil {
			return err
		}
	}

	if residual != nil {
		page, err := s.scanQuery(r.Context(), q, residual, limit)
		if err != nil {
			return err
		}
		if hasMin && page.Watermark <= minIndex {
			return errIndexLags
		}
		return writeJSON(w, http.StatusOK, page)
	}
	q.Limit = limit + 1 // one more tells whether there is a next page
	idx, watermark, err := s.cfg.Index.QueryIndex(r.Context(), q)
	if err != nil {
		return fmt.Errorf("querying the index of log %q: %w", log, err)
	}
	if hasMin && watermark <= minIndex {
		// The index went back (rebuilt or restored) after Wait.
		return errIndexLags
	}
	page := eventsPage{Events: []indexedEntry{}, Watermark: watermark}
	if len(idx) > limit {
		idx = idx[:limit]
		page.NextCursor = strconv.FormatUint(idx[limit-1], 10)
	}
	if page.Events, err = s.readIndexed(r.Context(), log, idx); err != nil {
		return err
	}
	if watermark > 0 {
		s.m.queried(log)
	}
	return writeJSON(w, http.StatusOK, page)
}

// waitIndex waits, up to Limits.MaxIndexWait, until the query index of
// log covers index.
func (s *Server) waitIndex(ctx context.Context, log string, index uint64) error {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.Limits.MaxIndexWait)
	defer cancel()
	err := s.cfg.Follower.Wait(wctx, log, index)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case wctx.Err() != nil:
		return fmt.Errorf("%w (entry %d is not indexed after %v)", errIndexLags, index, s.cfg.Limits.MaxIndexWait)
	}
	return fmt.Errorf("waiting for the index of log %q to reach %d: %w", log, index, err)
}

// readIndexed reads the entries at idx (in decreasing order) from the
// store, one ReadEntries per run of consecutive indexes.
func (s *Server) readIndexed(ctx context.Context, log string, idx []uint64) ([]indexedEntry, error) {
	out := make([]indexedEntry, 0, len(idx))
	for i := 0; i < len(idx); {
		j := i + 1 // idx[i:j] is a run: idx[i], idx[i]-1, ...
		for j < len(idx) && idx[j] == idx[j-1]-1 {
			j++
		}
		lo, hi := idx[j-1], idx[i]
		es, err := s.cfg.Entries.ReadEntries(ctx, log, lo, hi+1)
		if err != nil {
			return nil, fmt.Errorf("reading entries [%d, %d] of log %q: %w", lo, hi, log, err)
		}
		for k := len(es) - 1; k >= 0; k-- {
			want := hi - uint64(len(es)-1-k)
			if es[k].Index != want {
				break
			}
			out = append(out, indexedEntry{Index: es[k].Index, Entry: es[k].Body})
		}
		if len(out) != len(idx[:j]) {
			missing := idx[len(out)]
			return nil, fmt.Errorf("the query index of log %q names entry %d, which the store does not hold: the index is damaged or belongs to another store", log, missing)
		}
		i = j
	}
	return out, nil
}

// singleParams returns the query parameters, refusing those not in
// allowed and those given more than once. Empty values are absent.
func singleParams(q url.Values, allowed []string) (map[string]string, error) {
	out := make(map[string]string, len(q))
	for name, vs := range q {
		if !slices.Contains(allowed, name) {
			return nil, badRequest("unknown parameter %s (known: %s)", strconv.Quote(name), strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return nil, badRequest("the parameter %s is given %d times", name, len(vs))
		}
		if vs[0] != "" {
			out[name] = vs[0]
		}
	}
	return out, nil
}

// parseFilter reads the field filters shared by GET /v1/events and GET
// /v1/stream: type, actor, resource_type, resource_id and outcome.
func parseFilter(params map[string]string) (store.IndexQuery, error) {
	q := store.IndexQuery{
		TypePrefix:   params["type"],
		Actor:        params["actor"],
		ResourceType: params["resource_type"],
		ResourceID:   params["resource_id"],
		Outcome:      params["outcome"],
	}
	switch q.Outcome {
	case "", event.OutcomeSuccess, event.OutcomeFailure, event.OutcomeUnknown:
	default:
		return q, badRequest("the parameter outcome must be success, failure or unknown, not %q", q.Outcome)
	}
	return q, nil
}

// matches reports whether the entry e passes the field filters of q, with
// the semantics of the query index (store.IndexQuery): an entry without an
// outcome has the outcome unknown. Time bounds and Before are not
// checked.
func matches(q *store.IndexQuery, e *event.Entry) bool {
	if q.TypePrefix != "" && !typeMatches(q.TypePrefix, e.Type) {
		return false
	}
	if q.Actor != "" && q.Actor != e.Actor.ID {
		return false
	}
	var rtype, rid string
	if e.Resource != nil {
		rtype, rid = e.Resource.Type, e.Resource.ID
	}
	if q.ResourceType != "" && q.ResourceType != rtype || q.ResourceID != "" && q.ResourceID != rid {
		return false
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = event.OutcomeUnknown
	}
	return q.Outcome == "" || q.Outcome == outcome
}

// typeMatches applies a type prefix as store.IndexQuery.TypePrefix does:
// "auth." matches the types that start with it; "auth.login" matches that
// type and the types below it.
func typeMatches(prefix, typ string) bool {
	if strings.HasSuffix(prefix, ".") {
		return strings.HasPrefix(typ, prefix)
	}
	return typ == prefix || strings.HasPrefix(typ, prefix+".")
}

// parseTimeBound parses a time bound of a query: an RFC 3339 time, or a
// time relative to now:
//
//	now
//	-<n><unit>[<n><unit>...]   now minus the sum: "-24h", "-1h30m", "-7d", "-2w"
//
// with n a decimal integer and unit one of ms, s, m, h, d (24h) and w (7d).
// Spaces in an RFC 3339 time are read as "+", as a "+" sent unescaped in a
// query string arrives as a space.
func parseTimeBound(s string, now time.Time) (time.Time, error) {
	if s == "now" {
		return now, nil
	}
	if strings.HasPrefix(s, "-") {
		d, err := parseRelative(s)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-11-23T19:40:00Z) or a relative one (-24h, -7d, now), not %q", s)
	}
	return t, nil
}

// parseRelative parses "-<n><unit>..." (see parseTimeBound) and returns
// the duration, which is not negative. It is query.ParseRelative without
// "now", which is not a duration.
func parseRelative(s string) (time.Duration, error) {
	if s == "now" {
		return 0, errors.New(`want a relative time such as -24h, -1h30m, -7d or -500ms (units ms, s, m, h, d, w), not "now"`)
	}
	return query.ParseRelative(s)
}
