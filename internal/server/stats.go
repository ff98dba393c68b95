package server

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/query"
	"github.com/a24ba333/indelible/internal/store"
)

// statsParams are the query parameters of GET /v1/stats.
var statsParams = []string{"log", "q", "from", "to", "by", "interval", "top"}

// maxStatsScanned bounds the entries that GET /v1/stats reads when its
// expression needs more than the query index (beyond: 422, narrow the
// query), and maxBuckets the buckets of one answer.
const (
	maxStatsScanned = 200000
	maxBuckets      = 10000
)

// indexStatsFields maps the field names of GET /v1/stats to the query
// index's (store.StatsFields).
var indexStatsFields = map[string]string{
	"": "", "type": "type", "actor": "actor", "actor.id": "actor", "resource.type": "resource_type",
	"resource_type": "resource_type", "resource.id": "resource_id", "resource_id": "resource_id",
	"outcome": "outcome", "project": "project", "environment": "environment", "source": "source",
}

type statsAnswer struct {
	Log      string        `json:"log"`
	By       string        `json:"by,omitempty"`
	Interval string        `json:"interval,omitempty"`
	Buckets  []statsBucket `json:"buckets"`
	// Totals are the counts over all buckets of the values kept (the top
	// values), largest first; the others are counted under "(other)".
	Totals    []valueCount `json:"totals"`
	Total     uint64       `json:"total"`
	Watermark uint64       `json:"watermark"`
}

type statsBucket struct {
	Start  *time.Time   `json:"start,omitempty"`
	Counts []valueCount `json:"counts"`
}

type valueCount struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}

// getStats answers GET /v1/stats: counts of the matching entries per
// time bucket (interval, such as 1h or 1d) and per value of a field (by),
// for trends and dashboards. top (default 10) keeps the most frequent
// values; the rest are counted as "(other)". Filters as GET /v1/events.
func (s *Server) getStats(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Reader)
	if err != nil {
		return err
	}
	if s.cfg.Index == nil {
		return errIndexDisabled
	}
	params, err := singleParams(r.URL.Query(), statsParams)
	if err != nil {
		return err
	}
	q := store.StatsQuery{IndexQuery: store.IndexQuery{Log: log}}
	now := s.cfg.Clock()
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
	by := params["by"]
	if v := params["interval"]; v != "" {
		d, err := parseRelative("-" + v)
		if err != nil || d < time.Second {
			return badRequest("the parameter interval must be a duration of at least 1s such as 1h or 1d, not %q", v)
		}
		q.Interval = d
	}
	top := 10
	if v := params["top"]; v != "" {
		n, ok := decimal(v)
		if !ok || n == 0 || n > 1000 {
			return badRequest("the parameter top must be a number from 1 to 1000, not %q", v)
		}
		top = int(n)
	}
	var residual query.Expr
	if v := params["q"]; v != "" {
		var empty bool
		if q.IndexQuery, residual, empty, err = withExpr(q.IndexQuery, v, now); err != nil {
			return err
		}
		if empty {
			return writeJSON(w, http.StatusOK, statsAnswer{Log: log, By: by, Buckets: []statsBucket{}, Totals: []valueCount{}})
		}
	}
	if q.Interval > 0 && !q.From.IsZero() && !q.To.IsZero() && q.To.Sub(q.From)/q.Interval > maxBuckets {
		return badRequest("the range holds more than %d buckets of %v: use a longer interval", maxBuckets, q.Interval)
	}
	field, indexed := indexStatsFields[by]
	var rows []store.StatsRow
	var wm uint64
	switch st, ok := s.cfg.Index.(store.Stats); {
	case ok && indexed && residual == nil:
		q.By = field
		rows, wm, err = st.IndexStats(r.Context(), q)
	default:
		if err := query.ValidStatsField(by); by != "" && err != nil {
			return badRequest("the parameter by: %v", err)
		}
		rows, wm, err = s.scanStats(r.Context(), q, residual, by)
	}
	if err != nil {
		return err
	}
	ans := summarize(rows, top, q.Interval)
	ans.Log, ans.By, ans.Watermark = log, by, wm
	if q.Interval > 0 {
		ans.Interval = q.Interval.String()
	}
	return writeJSON(w, http.StatusOK, ans)
}

// scanStats counts by reading the entries the index selects and checking
// residual on each, for expressions or fields the index cannot count.
func (s *Server) scanStats(ctx context.Context, q store.StatsQuery, residual query.Expr, by string) ([]store.StatsRow, uint64, error) {
	type key struct {
		bucket int64
		value  string
	}
	counts := map[key]uint64{}
	iq := q.IndexQuery
	scanned := 0
	var wm uint64
	for {
		iq.Limit = 2000
		idx, w, err := s.cfg.Index.QueryIndex(ctx, iq)
		if err != nil {
			return nil, 0, err
		}
		if wm == 0 {
			wm = w
		}
		es, err := s.readIndexed(ctx, iq.Log, idx)
		if err != nil {
			return nil, 0, err
		}
		for _, ie := range es {
			if scanned++; scanned > maxStatsScanned {
				return nil, 0, &tooManyError{fmt.Sprintf("the query selects more than %d entries that the index cannot count: narrow it with indexed fields (type, actor.id, resource.*, outcome) or a time range", maxStatsScanned)}
			}
			e, err := event.DecodeEntry(ie.Entry)
			if err != nil {
				return nil, 0, err
			}
			if residual != nil && !query.Match(residual, e, ie.Index) {
				continue
			}
			k := key{}
			if by != "" {
				k.value, _ = query.FieldValue(e, by)
			}
			if w := q.Interval.Milliseconds(); w > 0 {
				ms := e.Time.UnixMilli()
				k.bucket = ms - ((ms%w)+w)%w
			}
			counts[k]++
		}
		if len(idx) < iq.Limit {
			break
		}
		iq.Before = idx[len(idx)-1]
	}
	rows := make([]store.StatsRow, 0, len(counts))
	for k, c := range counts {
		r := store.StatsRow{Value: k.value, Count: c}
		if q.Interval > 0 {
			r.Bucket = time.UnixMilli(k.bucket).UTC()
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b store.StatsRow) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), strings.Compare(a.Value, b.Value))
	})
	return rows, wm, nil
}

// summarize groups rows into buckets, keeping the top values.
func summarize(rows []store.StatsRow, top int, interval time.Duration) statsAnswer {
	totals := map[string]uint64{}
	var total uint64
	for _, r := range rows {
		totals[r.Value] += r.Count
		total += r.Count
	}
	ranked := make([]valueCount, 0, len(totals))
	for v, c := range totals {
		ranked = append(ranked, valueCount{v, c})
	}
	slices.SortFunc(ranked, func(a, b valueCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
	})
	kept := map[string]bool{}
	var other uint64
	for i, vc := range ranked {
		if i < top {
			kept[vc.Value] = true
		} else {
			other += vc.Count
		}
	}
	ans := statsAnswer{Buckets: []statsBucket{}, Totals: ranked[:min(top, len(ranked))], Total: total}
	if other > 0 {
		ans.Totals = append(ans.Totals, valueCount{"(other)", other})
	}
	var cur *statsBucket
	for _, r := range rows {
		if cur == nil || (interval > 0 && !cur.Start.Equal(r.Bucket)) {
			ans.Buckets = append(ans.Buckets, statsBucket{Counts: []valueCount{}})
			cur = &ans.Buckets[len(ans.Buckets)-1]
			if interval > 0 {
				t := r.Bucket
				cur.Start = &t
			}
		}
		v := r.Value
		if !kept[v] {
			v = "(other)"
		}
		if n := len(cur.Counts); n > 0 && cur.Counts[n-1].Value == v {
			cur.Counts[n-1].Count += r.Count
			continue
		}
		if i := slices.IndexFunc(cur.Counts, func(c valueCount) bool { return c.Value == v }); i >= 0 {
			cur.Counts[i].Count += r.Count
			continue
		}
		cur.Counts = append(cur.Counts, valueCount{v, r.Count})
	}
	for i := range ans.Buckets {
		slices.SortFunc(ans.Buckets[i].Counts, func(a, b valueCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
		})
	}
	return ans
}

// tooManyError is a query that would read too much (422).
type tooManyError struct{ msg string }

func (e *tooManyError) Error() string { return e.msg }
