package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

var _ store.Stats = (*IndexDB)(nil)

// statsColumns maps store.StatsQuery.By to a column of rows.
var statsColumns = map[string]string{
	"": "0", "type": "type", "actor": "actor", "resource_type": "rtype", "resource_id": "resource",
	"outcome": "outcome", "project": "project", "environment": "environment", "source": "source",
}

// IndexStats implements store.Stats. It walks the rows the query plan
// selects (as QueryIndex does) and counts them with GROUP BY in SQLite,
// then maps dictionary ids back to their strings.
func (ix *IndexDB) IndexStats(ctx context.Context, q store.StatsQuery) ([]store.StatsRow, uint64, error) {
	col, ok := statsColumns[q.By]
	if !ok {
		return nil, 0, fmt.Errorf("sqlite: cannot count by %q (want one of %s)", q.By, strings.Join(store.StatsFields, ", "))
	}
	if q.Interval < 0 || q.Interval > 0 && q.Interval < time.Millisecond {
		return nil, 0, fmt.Errorf("sqlite: stats interval %v is below a millisecond", q.Interval)
	}
	rows, wm, err := ix.stats(ctx, q, col)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: counting index rows of log %q: %w", q.Log, err)
	}
	return rows, wm, nil
}

func (ix *IndexDB) stats(ctx context.Context, q store.StatsQuery, col string) ([]store.StatsRow, uint64, error) {
	tx, id, wm, ok, err := ix.snapshot(ctx, q.Log)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	if !ok {
		return nil, 0, nil
	}
	if hourlyAnswers(q) {
		rows, err := ix.hourlyStats(ctx, tx, id, q)
		return rows, uint64(wm), err
	}
	iq := q.IndexQuery
	iq.Before, iq.Limit = 0, 0
	p, err := ix.plan(ctx, tx, id, uint64(wm), iq)
	if err != nil || p == nil {
		return nil, uint64(wm), err
	}
	width := q.Interval.Milliseconds()
	bucket := "0"
	if width > 0 {
		// Floor division, also for times before 1970.
		bucket = fmt.Sprintf("(time - ((time %% %[1]d) + %[1]d) %% %[1]d)", width)
	}
	counts := map[statsKey]uint64{}
	for segs := p.segs; len(segs) > 0; {
		n := min(len(segs), max(1, maxArms/max(1, len(p.types))))
		query, args := p.countStatement(segs[:n], bucket, col)
		segs = segs[n:]
		rs, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, 0, err
		}
		for rs.Next() {
			var k statsKey
			var c int64
			if err := rs.Scan(&k.bucket, &k.value, &c); err != nil {
				rs.Close()
				return nil, 0, err
			}
			counts[k] += uint64(c)
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			return nil, 0, err
		}
	}
	names, err := ix.names(ctx, tx, q.By, counts)
	if err != nil {
		return nil, 0, err
	}
	out := make([]store.StatsRow, 0, len(counts))
	for k, c := range counts {
		r := store.StatsRow{Value: names[k.value], Count: c}
		if width > 0 {
			r.Bucket = time.UnixMilli(k.bucket).UTC()
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.StatsRow) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), strings.Compare(a.Value, b.Value))
	})
	return out, uint64(wm), nil
}

// statsKey is one counter of IndexStats: a bucket start (Unix ms) and a
// column value.
type statsKey struct{ bucket, value int64 }

// countStatement is statement's counterpart for IndexStats: every arm
// counts its rows per bucket and column value.
func (p *queryPlan) countStatement(segs []idxRange, bucket, col string) (string, []any) {
	return p.arms(segs, fmt.Sprintf("%s AS b, %s AS v, count(*)", bucket, col), " GROUP BY 1, 2")
}

// names returns the strings of the values counted by field by.
func (ix *IndexDB) names(ctx context.Context, tx *sql.Tx, by string, counts map[statsKey]uint64) (map[int64]string, error) {
	names := map[int64]string{0: ""}
	switch by {
	case "":
		return names, nil
	case "outcome":
		for code, name := range []string{"", "success", "failure", "unknown"} {
			names[int64(code)] = name
		}
		return names, nil
	}
	for k := range counts {
		if _, ok := names[k.value]; ok {
			continue
		}
		var v string
		if err := tx.QueryRowContext(ctx, "SELECT value FROM dict WHERE id = ?", k.value).Scan(&v); err != nil {
			return nil, fmt.Errorf("looking up dictionary id %d: %w", k.value, err)
		}
		names[k.value] = v
	}
	return names, nil
}

const hourMillis = int64(time.Hour / time.Millisecond)

// hourlyAnswers reports whether the hourly counters answer q exactly: it
// filters on type, outcome and whole hours only, and counts by type or
// outcome (or nothing) in buckets of whole hours.
func hourlyAnswers(q store.StatsQuery) bool {
	aligned := func(t time.Time) bool { return t.IsZero() || t.UnixMilli()%hourMillis == 0 }
	return q.Actor == "" && q.ResourceType == "" && q.ResourceID == "" &&
		(q.By == "" || q.By == "type" || q.By == "outcome") &&
		q.Interval.Milliseconds()%hourMillis == 0 && aligned(q.From) && aligned(q.To)
}

// hourlyStats answers q from the hourly counters.
func (ix *IndexDB) hourlyStats(ctx context.Context, tx *sql.Tx, log int64, q store.StatsQuery) ([]store.StatsRow, error) {
	var b strings.Builder
	b.WriteString("SELECT hour, type, outcome, count FROM hourly WHERE log = ?")
	args := []any{log}
	if !q.From.IsZero() {
		b.WriteString(" AND hour >= ?")
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		b.WriteString(" AND hour < ?")
		args = append(args, q.To.UnixMilli())
	}
	if q.Outcome != "" {
		code, ok := outcomeCode(q.Outcome)
		if !ok {
			return nil, nil
		}
		b.WriteString(" AND outcome = ?")
		args = append(args, code)
	}
	if q.TypePrefix != "" {
		types, err := typeIDs(ctx, tx, q.TypePrefix)
		if err != nil || len(types) == 0 {
			return nil, err
		}
		b.WriteString(" AND type IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(types)), ", ") + ")")
		for _, t := range types {
			args = append(args, t)
		}
	}
	rs, err := tx.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	width := q.Interval.Milliseconds()
	counts := map[statsKey]uint64{}
	for rs.Next() {
		var hour, typ, outcome, n int64
		if err := rs.Scan(&hour, &typ, &outcome, &n); err != nil {
			rs.Close()
			return nil, err
		}
		var k statsKey
		if width > 0 {
			k.bucket = hour - ((hour%width)+width)%width
		}
		switch q.By {
		case "type":
			k.value = typ
		case "outcome":
			k.value = outcome
		}
		counts[k] += uint64(n)
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return nil, err
	}
	names, err := ix.names(ctx, tx, q.By, counts)
	if err != nil {
		return nil, err
	}
	out := make([]store.StatsRow, 0, len(counts))
	for k, c := range counts {
		r := store.StatsRow{Value: names[k.value], Count: c}
		if width > 0 {
			r.Bucket = time.UnixMilli(k.bucket).UTC()
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b store.StatsRow) int {
		return cmp.Or(a.Bucket.Compare(b.Bucket), strings.Compare(a.Value, b.Value))
	})
	return out, nil
}
