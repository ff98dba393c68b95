package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// WriteIndex implements store.Index.
func (ix *IndexDB) WriteIndex(ctx context.Context, log string, from uint64, rows []store.IndexRow) error {
	if err := checkIndexRows(from, rows); err != nil {
		return fmt.Errorf("sqlite: indexing log %q from %d: %w: %v", log, from, store.ErrIndexBadRow, err)
	}
	if err := ix.write(ctx, log, from, rows); err != nil {
		return fmt.Errorf("sqlite: indexing [%d, %d) of log %q: %w", from, from+uint64(len(rows)), log, err)
	}
	return nil
}

func checkIndexRows(from uint64, rows []store.IndexRow) error {
	if from > 1<<62 || uint64(len(rows)) > 1<<62-from {
		return fmt.Errorf("index %d is too large", from)
	}
	for k, r := range rows {
		if r.Index != from+uint64(k) {
			return fmt.Errorf("row %d has index %d, want %d", k, r.Index, from+uint64(k))
		}
		if _, ok := outcomeCode(r.Outcome); !ok {
			return fmt.Errorf("row %d has outcome %q", r.Index, r.Outcome)
		}
		if y := r.Time.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("row %d has time %v", r.Index, r.Time)
		}
	}
	return nil
}

// The statements of write other than the row inserts, prepared when the
// index is opened.
const (
	selectWatermarkSQL = "SELECT id, watermark FROM logs WHERE name = ?"
	upsertHourlySQL    = `INSERT INTO hourly (log, hour, type, outcome, count) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (log, hour, type, outcome) DO UPDATE SET count = count + excluded.count`
	upsertBlockSQL = `INSERT INTO blocks (log, block, min_time, max_time) VALUES (?, ?, ?, ?)
		ON CONFLICT (log, block) DO UPDATE SET min_time = min(min_time, excluded.min_time),
		max_time = max(max_time, excluded.max_time)`
	updateWatermarkSQL = "UPDATE logs SET watermark = ? WHERE id = ?"
)

func indexWriterSQL() []string {
	return []string{selectWatermarkSQL, upsertHourlySQL, upsertBlockSQL, updateWatermarkSQL}
}

func (ix *IndexDB) write(ctx context.Context, log string, from uint64, rows []store.IndexRow) error {
	tx, err := ix.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var id, wm int64
	err = ix.ws.queryRow(ctx, tx, selectWatermarkSQL, log).Scan(&id, &wm)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err = tx.QueryRowContext(ctx, "INSERT INTO logs (name, watermark) VALUES (?, 0) RETURNING id", log).Scan(&id); err != nil {
			return fmt.Errorf("creating log: %w", err)
		}
	case err != nil:
		return fmt.Errorf("reading watermark: %w", err)
	}
	if uint64(wm) != from {
		return fmt.Errorf("index watermark is %d: %w", wm, store.ErrConflict)
	}
	if len(rows) == 0 {
		return nil
	}

	d := dictWriter{ix: ix, tx: tx, added: make(map[dictKey]int64)}
	ids, err := d.resolve(ctx, rows)
	if err != nil {
		return err
	}
	args := make([]any, 0, indexCols*min(len(rows), 100))
	err = ix.inserts.each(len(rows), func(st *sql.Stmt, lo, hi int) error {
		args = args[:0]
		for k := lo; k < hi; k++ {
			args = appendRow(args, id, rows[k], ids[k])
		}
		_, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("inserting rows: %w", err)
	}

	// Count the rows per hour, type and outcome.
	type hourKey struct{ hour, typ, outcome int64 }
	hours := map[hourKey]int64{}
	var order []hourKey
	for i, r := range rows {
		ms := r.Time.UnixMilli()
		const h = int64(time.Hour / time.Millisecond)
		typ := ids[i][fieldType]
		oc, _ := outcomeCode(r.Outcome)
		k := hourKey{ms - ((ms%h)+h)%h, typ, int64(oc)}
		if _, ok := hours[k]; !ok {
			order = append(order, k)
		}
		hours[k]++
	}
	for _, k := range order {
		_, err := ix.ws.exec(ctx, tx, upsertHourlySQL, id, k.hour, k.typ, k.outcome, hours[k])
		if err != nil {
			return fmt.Errorf("counting hour %d: %w", k.hour, err)
		}
	}

	// Widen the time summary of every block the rows fall in.
	type span struct{ min, max int64 }
	var blocks []int64
	spans := make(map[int64]span)
	for _, r := range rows {
		b, t := int64(r.Index>>blockShift), r.Time.UnixMilli()
		s, ok := spans[b]
		if !ok {
			blocks = append(blocks, b)
			s = span{t, t}
		}
		spans[b] = span{min(s.min, t), max(s.max, t)}
	}
	for _, b := range blocks {
		_, err := ix.ws.exec(ctx, tx, upsertBlockSQL, id, b, spans[b].min, spans[b].max)
		if err != nil {
			return fmt.Errorf("updating block %d: %w", b, err)
		}
	}
	end := from + uint64(len(rows))
	if _, err := ix.ws.exec(ctx, tx, updateWatermarkSQL, int64(end), id); err != nil {
		return fmt.Errorf("updating watermark: %w", err)
	}
	// synchronous=NORMAL: COMMIT writes the WAL without fsync (see IndexDB).
	if err := tx.Commit(); err != nil {
		return err
	}
	ix.mu.Lock()
	if len(ix.dict)+len(d.added) > maxDictCache {
		clear(ix.dict)
	}
	for k, v := range d.added {
		ix.dict[k] = v
	}
	ix.mu.Unlock()
	return nil
}

// dictWriter resolves strings to dict ids inside a write transaction,
// adding the values not yet in dict. The ids it adds become visible to
// other writers of the cache only after the commit (a rollback drops them).
type dictWriter struct {
	ix    *IndexDB
	tx    *sql.Tx
	added map[dictKey]int64
}

// The dictionary-encoded fields of a row, in the order of rowKeys and of
// the rows table's columns.
const (
	fieldType = iota
	fieldActor
	fieldResourceType
	fieldResource
	fieldProject
	fieldEnvironment
	fieldSource
	rowFields
)

// rowKeys returns the dictionary keys of r's fields.
func rowKeys(r *store.IndexRow) [rowFields]dictKey {
	return [rowFields]dictKey{
		{kindType, r.Type}, {kindActor, r.Actor}, {kindResourceType, r.ResourceType}, {kindResourceID, r.ResourceID},
		{kindProject, r.Project}, {kindEnvironment, r.Environment}, {kindSource, r.Source},
	}
}

// appendRow appends the columns of r, whose field ids are ids, to args.
func appendRow(args []any, log int64, r store.IndexRow, ids [rowFields]int64) []any {
	outcome, _ := outcomeCode(r.Outcome)
	return append(args, log, int64(r.Index), r.Time.UnixMilli(),
		ids[fieldType], ids[fieldActor], ids[fieldResourceType], ids[fieldResource], outcome,
		ids[fieldProject], ids[fieldEnvironment], ids[fieldSource])
}

// resolve returns the dict ids of every row's fields, looking them up in
// the cache under one lock and resolving the values it does not hold in
// a few statements: a batch of events with many new values (fresh
// resource ids, say) would otherwise cost two statements per value.
func (d *dictWriter) resolve(ctx context.Context, rows []store.IndexRow) ([][rowFields]int64, error) {
	ids := make([][rowFields]int64, len(rows))
	type pending struct{ row, field int }
	var (
		miss  []dictKey
		later []pending
		seen  = map[dictKey]bool{}
	)
	d.ix.mu.Lock()
	for i := range rows {
		for f, k := range rowKeys(&rows[i]) {
			if k.value == "" {
				continue // id 0
			}
			if id, ok := d.ix.dict[k]; ok {
				ids[i][f] = id
				continue
			}
			later = append(later, pending{i, f})
			if !seen[k] {
				seen[k] = true
				miss = append(miss, k)
			}
		}
	}
	d.ix.mu.Unlock()
	if err := d.add(ctx, miss); err != nil {
		return nil, err
	}
	for _, p := range later {
		k := rowKeys(&rows[p.row])[p.field]
		id, ok := d.added[k]
		if !ok {
			return nil, fmt.Errorf("adding %s %q to the dictionary: no id", kindNames[k.kind], k.value)
		}
		ids[p.row][p.field] = id
	}
	return ids, nil
}

// add adds keys to dict, where they are not already, and records the ids
// of all of them in d.added.
func (d *dictWriter) add(ctx context.Context, miss []dictKey) error {
	const chunk = 400 // 2 parameters each, well under SQLite's limit
	for len(miss) > 0 {
		n := min(len(miss), chunk)
		args := make([]any, 0, 2*n)
		for _, k := range miss[:n] {
			args = append(args, k.kind, k.value)
		}
		values := valuesSQL(n, 2)
		// Insert the new ones, then read every id: a value may also have
		// been added by another process since the cache was filled.
		if _, err := d.tx.ExecContext(ctx, "INSERT INTO dict (kind, value) VALUES "+values+" ON CONFLICT DO NOTHING", args...); err != nil {
			return fmt.Errorf("adding to the dictionary: %w", err)
		}
		rs, err := d.tx.QueryContext(ctx, "SELECT id, kind, value FROM dict WHERE (kind, value) IN (VALUES "+values+")", args...)
		if err != nil {
			return fmt.Errorf("reading the dictionary: %w", err)
		}
		for rs.Next() {
			var k dictKey
			var id int64
			if err := rs.Scan(&id, &k.kind, &k.value); err != nil {
				rs.Close()
				return err
			}
			d.added[k] = id
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			return err
		}
		miss = miss[n:]
	}
	return nil
}

// epochShift sets the size of the epochs of the secondary indexes: runs of
// 1<<epochShift rows, as index_schema.sql describes. It must equal the
// shift in the indexes' "idx >> 14", or queries cannot seek them
// (TestIndexQueryPlans fails).
const epochShift = 14

// maxArms is the most arms of one statement: a query runs as a sequence of
// statements, each a UNION ALL of arms merged in idx order, each arm one
// seek and a backward walk of one index.
const maxArms = 32
