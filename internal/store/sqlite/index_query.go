package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/a24ba333/indelible/internal/store"
)

// idxRange is the range [lo, hi) of indexes.
type idxRange struct{ lo, hi uint64 }

// QueryIndex implements store.Index. It reads the watermark and the rows in
// one read transaction, so the answer is that of one snapshot.
func (ix *IndexDB) QueryIndex(ctx context.Context, q store.IndexQuery) ([]uint64, uint64, error) {
	indexes, wm, err := ix.query(ctx, q)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: querying index of log %q: %w", q.Log, err)
	}
	return indexes, wm, nil
}

// snapshot begins a read transaction and returns it with the id and
// watermark of log; ok is false for a log the index has never seen.
func (ix *IndexDB) snapshot(ctx context.Context, log string) (tx *sql.Tx, id, wm int64, ok bool, err error) {
	tx, err = ix.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, 0, false, err
	}
	err = tx.QueryRowContext(ctx, "SELECT id, watermark FROM logs WHERE name = ?", log).Scan(&id, &wm)
	if errors.Is(err, sql.ErrNoRows) {
		return tx, 0, 0, false, nil
	}
	if err != nil {
		tx.Rollback()
		return nil, 0, 0, false, err
	}
	return tx, id, wm, true, nil
}

func (ix *IndexDB) query(ctx context.Context, q store.IndexQuery) ([]uint64, uint64, error) {
	tx, id, wm, ok, err := ix.snapshot(ctx, q.Log)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	if !ok {
		return nil, 0, nil
	}
	p, err := ix.plan(ctx, tx, id, uint64(wm), q)
	if err != nil || p == nil {
		return nil, uint64(wm), err
	}
	var indexes []uint64
	for segs := p.segs; len(segs) > 0; {
		n := min(len(segs), max(1, maxArms/max(1, len(p.types))))
		limit := -1 // no limit
		if q.Limit > 0 {
			limit = q.Limit - len(indexes)
		}
		query, args := p.statement(segs[:n], limit)
		segs = segs[n:]
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, 0, err
		}
		for rows.Next() {
			var idx int64
			if err := rows.Scan(&idx); err != nil {
				rows.Close()
				return nil, 0, err
			}
			indexes = append(indexes, uint64(idx))
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, 0, err
		}
		if q.Limit > 0 && len(indexes) >= q.Limit {
			break
		}
	}
	return indexes, uint64(wm), nil
}

// queryPlan is how a query walks the index.
//
// It walks rows_resource if the query names a resource id, else rows_actor
// for an actor, else rows_type for a type (one arm per matching type), else
// the primary key; the other conditions are checked on the rows the walk
// yields. The walk covers segs, ranges of idx newest first: [0, watermark)
// or, for a time range, the ranges of the blocks that overlap it; for a
// secondary index, each segment lies within one epoch.
type queryPlan struct {
	log    int64
	driver string  // "actor", "type", "resource" or "" for the primary key
	col    string  // the driver's column
	value  int64   // the driver's value, unless types
	types  []int64 // for driver "type": one arm each
	conds  string  // the other conditions, " AND ..."
	args   []any   // their arguments
	segs   []idxRange
}

// statement returns the statement that walks segs (newest first) and
// returns at most limit indexes (-1: all), newest first.
func (p *queryPlan) statement(segs []idxRange, limit int) (string, []any) {
	q, args := p.arms(segs, "idx", "")
	return q + " ORDER BY idx DESC LIMIT ?", append(args, limit)
}

// arms returns one SELECT of columns per segment (and per type, for the
// driver "type") joined by UNION ALL, each ending with suffix, and their
// arguments.
func (p *queryPlan) arms(segs []idxRange, columns, suffix string) (string, []any) {
	values := p.types
	if p.types == nil {
		values = []int64{p.value}
	}
	var b strings.Builder
	var args []any
	for _, s := range segs {
		for _, v := range values {
			if b.Len() > 0 {
				b.WriteString(" UNION ALL ")
			}
			if p.driver == "" {
				fmt.Fprintf(&b, "SELECT %s FROM rows WHERE log = ? AND idx >= ? AND idx < ?", columns)
				args = append(args, p.log, int64(s.lo), int64(s.hi))
			} else {
				fmt.Fprintf(&b, "SELECT %s FROM rows INDEXED BY rows_%s WHERE log = ? AND idx >> %d = ? AND %s = ? AND idx >= ? AND idx < ?",
					columns, p.driver, epochShift, p.col)
				args = append(args, p.log, int64(s.lo>>epochShift), v, int64(s.lo), int64(s.hi))
			}
			b.WriteString(p.conds)
			args = append(args, p.args...)
			b.WriteString(suffix)
		}
	}
	return b.String(), args
}

// plan returns the plan for q, or nil if nothing can match (a value that
// no row holds, an empty range).
func (ix *IndexDB) plan(ctx context.Context, tx *sql.Tx, log int64, wm uint64, q store.IndexQuery) (*queryPlan, error) {
	upper := wm
	if q.Before != 0 && q.Before < upper {
		upper = q.Before
	}
	if upper == 0 {
		return nil, nil
	}
	p := &queryPlan{log: log}
	var conds []string
	for _, f := range []struct {
		kind        int8
		value       string
		driver, col string
	}{
		{kindResourceID, q.ResourceID, "resource", "resource"},
		{kindActor, q.Actor, "actor", "actor"},
		{kindResourceType, q.ResourceType, "", "rtype"},
	} {
		if f.value == "" {
			continue
		}
		id, ok, err := ix.lookup(ctx, tx, f.kind, f.value)
		if err != nil || !ok {
			return nil, err
		}
		if p.driver == "" && f.driver != "" {
			p.driver, p.col, p.value = f.driver, f.col, id
			continue
		}
		conds = append(conds, f.col+" = ?")
		p.args = append(p.args, id)
	}
	if q.Outcome != "" {
		code, ok := outcomeCode(q.Outcome)
		if !ok {
			return nil, nil
		}
		conds = append(conds, "outcome = ?")
		p.args = append(p.args, code)
	}
	if q.TypePrefix != "" {
		types, err := typeIDs(ctx, tx, q.TypePrefix)
		if err != nil || len(types) == 0 {
			return nil, err
		}
		if p.driver != "" || len(types) > maxArms {
			conds = append(conds, "type IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(types)), ", ")+")")
			for _, t := range types {
				p.args = append(p.args, t)
			}
		} else {
			p.driver, p.col, p.types = "type", "type", types
		}
	}
	ranges := []idxRange{{0, upper}}
	if !q.From.IsZero() || !q.To.IsZero() {
		from, to := int64(-1<<63), int64(1<<63-1)
		if !q.From.IsZero() {
			from = q.From.UnixMilli()
			conds = append(conds, "time >= ?")
			p.args = append(p.args, from)
		}
		if !q.To.IsZero() {
			to = q.To.UnixMilli()
			conds = append(conds, "time < ?")
			p.args = append(p.args, to)
		}
		if from >= to {
			return nil, nil
		}
		var err error
		if ranges, err = blockRanges(ctx, tx, log, upper, from, to); err != nil || len(ranges) == 0 {
			return nil, err
		}
	}
	for _, c := range conds {
		p.conds += " AND " + c
	}
	if p.driver == "" {
		p.segs = ranges
		return p, nil
	}
	for _, r := range ranges {
		for hi := r.hi; hi > r.lo; {
			lo := max(r.lo, (hi-1)>>epochShift<<epochShift)
			p.segs = append(p.segs, idxRange{lo, hi})
			hi = lo
		}
	}
	return p, nil
}

// lookup returns the dict id of (kind, value), or ok == false if no row
// holds the value.
func (ix *IndexDB) lookup(ctx context.Context, tx *sql.Tx, kind int8, value string) (id int64, ok bool, err error) {
	k := dictKey{kind, value}
	ix.mu.Lock()
	id, ok = ix.dict[k]
	ix.mu.Unlock()
	if ok {
		return id, true, nil
	}
	err = tx.QueryRowContext(ctx, "SELECT id FROM dict WHERE kind = ? AND value = ?", kind, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlite: looking up %s %q: %w", kindNames[kind], value, err)
	}
	return id, true, nil
}

// typeIDs returns the dict ids of the types that prefix p selects, as
// store.IndexQuery.TypePrefix defines. '/' is the byte after '.', so the
// types that start with "a.b." are those in ["a.b.", "a.b/").
func typeIDs(ctx context.Context, tx *sql.Tx, p string) ([]int64, error) {
	var rows *sql.Rows
	var err error
	if stem, ok := strings.CutSuffix(p, "."); ok {
		rows, err = tx.QueryContext(ctx, "SELECT id FROM dict WHERE kind = ? AND value >= ? AND value < ?",
			kindType, p, stem+"/")
	} else {
		rows, err = tx.QueryContext(ctx, "SELECT id FROM dict WHERE kind = ? AND (value = ? OR value >= ? AND value < ?)",
			kindType, p, p+".", p+"/")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: looking up types %q: %w", p, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: looking up types %q: %w", p, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// blockRanges returns the idx ranges below upper whose blocks may hold
// times in [from, to), newest first, adjacent blocks merged.
func blockRanges(ctx context.Context, tx *sql.Tx, log int64, upper uint64, from, to int64) ([]idxRange, error) {
	rows, err := tx.QueryContext(ctx, `SELECT block FROM blocks WHERE log = ? AND block <= ?
		AND max_time >= ? AND min_time < ? ORDER BY block DESC`, log, int64((upper-1)>>blockShift), from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: reading time blocks: %w", err)
	}
	defer rows.Close()
	var ranges []idxRange
	for rows.Next() {
		var b int64
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("sqlite: reading time blocks: %w", err)
		}
		lo, hi := uint64(b)<<blockShift, min(uint64(b+1)<<blockShift, upper)
		if n := len(ranges); n > 0 && ranges[n-1].lo == hi {
			ranges[n-1].lo = lo
			continue
		}
		ranges = append(ranges, idxRange{lo, hi})
	}
	return ranges, rows.Err()
}
