package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// indexSchemaVersion is the version of index_schema.sql, kept in the index
// file's PRAGMA user_version.
const indexSchemaVersion = 1

//go:embed index_schema.sql
var indexSchema string

// blockShift sets the size of the blocks that summarise event times:
// 1<<blockShift rows each, as index_schema.sql describes.
const blockShift = 12

// indexInsertRows is the number of rows per INSERT statement of WriteIndex.
const indexInsertRows = 100

// indexCols is the number of columns of an index row.
const indexCols = 11

var (
	insertIndexRowsSQL = "INSERT INTO rows VALUES " +
		strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?,?,?,?), ", indexInsertRows), ", ")
	insertIndexRowSQL = "INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)

// Dictionary kinds, as in index_schema.sql.
const (
	kindType = iota + 1
	kindActor
	kindResourceType
	kindResourceID
	kindProject
	kindEnvironment
	kindSource
)

var kindNames = [...]string{"", "type", "actor", "resource type", "resource id", "project", "environment", "source"}

// outcomes are the stored codes of IndexRow.Outcome: its position.
var outcomes = [...]string{"", "success", "failure", "unknown"}

func outcomeCode(s string) (int64, bool) {
	for i, o := range outcomes {
		if o == s {
			return int64(i), true
		}
	}
	return 0, false
}

// maxDictCache bounds the writer's in-memory copy of dict: past it the
// copy starts again empty, so that a field with unbounded cardinality
// costs database lookups instead of memory.
const maxDictCache = 1 << 20

// IndexConfig configures OpenIndex.
type IndexConfig struct {
	// Path is the index file, conventionally index.db beside the store's
	// indelible.db. It is created if it does not exist.
	Path string
	// Logger receives rare events (schema creation). Nil discards them.
	Logger *slog.Logger
}

// IndexDB is a store.Index in its own SQLite database file, apart from the
// store's: indexing never takes the ledger's write lock, and the ledger's
// appends never wait for the index.
//
// # File format
//
// The schema is index_schema.sql, version 1, recorded in the file's PRAGMA
// user_version; OpenIndex creates it in an empty file and refuses a newer
// version. The file holds nothing that the entries do not: a version
// that changes the format may rebuild it rather than migrate it.
//
// # Durability
//
// The file is in WAL mode with synchronous=NORMAL: a commit is written to
// the WAL but not fsynced, so a power failure may lose the last commits.
// That is enough for an index derived from the durable entries: each
// WriteIndex is one transaction holding the rows and the new watermark, and
// SQLite's WAL never exposes part of a transaction, so a crash loses a
// suffix of the index (rows and watermark together), which the indexer
// writes again. It spares the fsync per commit that synchronous=FULL costs.
//
// # Concurrency
//
// WriteIndex runs on a single writer connection; readers use a pool of
// read-only connections and see the last committed state. Several
// processes may open the file: BEGIN IMMEDIATE and the watermark check turn
// a race between two indexers into store.ErrConflict.
type IndexDB struct {
	w *sql.DB // the single writer connection
	r *sql.DB // read-only connections

	insertMany, insertOne *sql.Stmt // prepared once on w

	// scanChunk is the number of rows ScanIndex reads per query.
	scanChunk int

	mu   sync.Mutex        // guards dict
	dict map[dictKey]int64 // committed dict rows, a cache
}

type dictKey struct {
	kind  int8
	value string
}

var _ store.Index = (*IndexDB)(nil)

// OpenIndex opens the index at cfg.Path, creating the file and its schema
// if needed.
func OpenIndex(ctx context.Context, cfg IndexConfig) (*IndexDB, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: IndexConfig.Path is empty")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	name := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	params := fmt.Sprintf("_busy_timeout=%d&_journal_mode=WAL&_pragma=temp_store(memory)", busyTimeout.Milliseconds())
	// The writer's page cache (256 MiB) holds the pages that inserts
	// touch in the secondary indexes, whose keys are not in idx order. A
	// WAL checkpoint every 64 MiB rather than 4 MiB (wal_autocheckpoint in
	// pages) copies each of those pages once for several commits that
	// rewrote it.
	w, err := sql.Open(driverName, name+"?"+params+"&_synchronous=NORMAL&_txlock=immediate"+
		"&_pragma=cache_size(-262144)&_pragma=wal_autocheckpoint(16384)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open(driverName, name+"?"+params+"&_query_only=1&_pragma=mmap_size(1073741824)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	r.SetMaxIdleConns(4)
	ix := &IndexDB{w: w, r: r, scanChunk: 8192, dict: make(map[dictKey]int64)}
	if err := ix.open(ctx, logger.With("path", cfg.Path)); err != nil {
		ix.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	return ix, nil
}

func (ix *IndexDB) open(ctx context.Context, logger *slog.Logger) error {
	if err := ix.migrate(ctx, logger); err != nil {
		return err
	}
	if err := ix.loadDictCache(ctx); err != nil {
		return err
	}
	var err error
	if ix.insertMany, err = ix.w.PrepareContext(ctx, insertIndexRowsSQL); err != nil {
		return err
	}
	ix.insertOne, err = ix.w.PrepareContext(ctx, insertIndexRowSQL)
	return err
}

// migrate creates the schema in a new file. The index is derived data:
// a later version that changes the schema may as well rebuild the file.
func (ix *IndexDB) migrate(ctx context.Context, logger *slog.Logger) error {
	return createSchema(ctx, ix.w, "index", indexSchema, indexSchemaVersion, logger)
}

// loadDictCache fills the dictionary cache from the file, up to its bound,
// so that a restarted indexer does not look its values up one by one.
func (ix *IndexDB) loadDictCache(ctx context.Context) error {
	rows, err := ix.w.QueryContext(ctx, "SELECT id, kind, value FROM dict LIMIT ?", maxDictCache)
	if err != nil {
		return fmt.Errorf("reading the dictionary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var k dictKey
		if err := rows.Scan(&id, &k.kind, &k.value); err != nil {
			return fmt.Errorf("reading the dictionary: %w", err)
		}
		ix.dict[k] = id
	}
	return rows.Err()
}

// Close closes the index.
func (ix *IndexDB) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{ix.insertMany, ix.insertOne} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(append(errs, ix.r.Close(), ix.w.Close())...)
}

// IndexWatermark implements store.Index.
func (ix *IndexDB) IndexWatermark(ctx context.Context, log string) (uint64, error) {
	var wm int64
	err := ix.r.QueryRowContext(ctx, "SELECT watermark FROM logs WHERE name = ?", log).Scan(&wm)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: reading index watermark of log %q: %w", log, err)
	}
	return uint64(wm), nil
}

// IndexLogs implements store.Index.
func (ix *IndexDB) IndexLogs(ctx context.Context) ([]string, error) {
	rows, err := ix.r.QueryContext(ctx, "SELECT name FROM logs ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing indexed logs: %w", err)
	}
	defer rows.Close()
	var logs []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("sqlite: listing indexed logs: %w", err)
		}
		logs = append(logs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing indexed logs: %w", err)
	}
	return logs, nil
}

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

func (ix *IndexDB) write(ctx context.Context, log string, from uint64, rows []store.IndexRow) error {
	tx, err := ix.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var id, wm int64
	err = tx.QueryRowContext(ctx, "SELECT id, watermark FROM logs WHERE name = ?", log).Scan(&id, &wm)
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
	args := make([]any, 0, indexCols*indexInsertRows)
	many, one := tx.StmtContext(ctx, ix.insertMany), tx.StmtContext(ctx, ix.insertOne)
	for chunk := rows; len(chunk) > 0; {
		n := indexInsertRows
		stmt := many
		if len(chunk) < n {
			n, stmt = 1, one
		}
		args = args[:0]
		for _, r := range chunk[:n] {
			if args, err = d.appendRow(ctx, args, id, r); err != nil {
				return err
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("inserting rows: %w", err)
		}
		chunk = chunk[n:]
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
		_, err := tx.ExecContext(ctx, `INSERT INTO blocks (log, block, min_time, max_time) VALUES (?, ?, ?, ?)
			ON CONFLICT (log, block) DO UPDATE SET min_time = min(min_time, excluded.min_time),
			max_time = max(max_time, excluded.max_time)`, id, b, spans[b].min, spans[b].max)
		if err != nil {
			return fmt.Errorf("updating block %d: %w", b, err)
		}
	}
	end := from + uint64(len(rows))
	if _, err := tx.ExecContext(ctx, "UPDATE logs SET watermark = ? WHERE id = ?", int64(end), id); err != nil {
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

func (d *dictWriter) appendRow(ctx context.Context, args []any, log int64, r store.IndexRow) ([]any, error) {
	outcome, _ := outcomeCode(r.Outcome)
	args = append(args, log, int64(r.Index), r.Time.UnixMilli())
	for _, f := range []struct {
		kind  int8
		value string
	}{
		{kindType, r.Type}, {kindActor, r.Actor}, {kindResourceType, r.ResourceType}, {kindResourceID, r.ResourceID},
	} {
		id, err := d.id(ctx, f.kind, f.value)
		if err != nil {
			return nil, err
		}
		args = append(args, id)
	}
	args = append(args, outcome)
	for _, f := range []struct {
		kind  int8
		value string
	}{
		{kindProject, r.Project}, {kindEnvironment, r.Environment}, {kindSource, r.Source},
	} {
		id, err := d.id(ctx, f.kind, f.value)
		if err != nil {
			return nil, err
		}
		args = append(args, id)
	}
	return args, nil
}

func (d *dictWriter) id(ctx context.Context, kind int8, value string) (int64, error) {
	if value == "" {
		return 0, nil
	}
	k := dictKey{kind, value}
	d.ix.mu.Lock()
	id, ok := d.ix.dict[k]
	d.ix.mu.Unlock()
	if ok {
		return id, nil
	}
	if id, ok := d.added[k]; ok {
		return id, nil
	}
	err := d.tx.QueryRowContext(ctx, "SELECT id FROM dict WHERE kind = ? AND value = ?", kind, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = d.tx.QueryRowContext(ctx, "INSERT INTO dict (kind, value) VALUES (?, ?) RETURNING id", kind, value).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("adding %s %q to the dictionary: %w", kindNames[kind], value, err)
	}
	d.added[k] = id
	return id, nil
}

// epochShift sets the size of the epochs of the secondary indexes: runs of
// 1<<epochShift rows, as index_schema.sql describes. It must equal the
// shift in the indexes' "idx >> 16", or queries cannot seek them
// (TestIndexQueryPlans fails).
const epochShift = 16

// maxArms is the most arms of one statement: a query runs as a sequence of
// statements, each a UNION ALL of arms merged in idx order, each arm one
// seek and a backward walk of one index.
const maxArms = 32

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

func (ix *IndexDB) query(ctx context.Context, q store.IndexQuery) ([]uint64, uint64, error) {
	tx, err := ix.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var id, wm int64
	err = tx.QueryRowContext(ctx, "SELECT id, watermark FROM logs WHERE name = ?", q.Log).Scan(&id, &wm)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
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
				b.WriteString("SELECT idx FROM rows WHERE log = ? AND idx >= ? AND idx < ?")
				args = append(args, p.log, int64(s.lo), int64(s.hi))
			} else {
				fmt.Fprintf(&b, "SELECT idx FROM rows INDEXED BY rows_%s WHERE log = ? AND idx >> %d = ? AND %s = ? AND idx >= ? AND idx < ?",
					p.driver, epochShift, p.col)
				args = append(args, p.log, int64(s.lo>>epochShift), v, int64(s.lo), int64(s.hi))
			}
			b.WriteString(p.conds)
			args = append(args, p.args...)
		}
	}
	b.WriteString(" ORDER BY idx DESC LIMIT ?")
	return b.String(), append(args, limit)
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

// ScanIndex implements store.Index. It reads the dictionary and the block
// summary afresh, rather than trusting a cache, and checks them against the
// rows: a row that refers to a dictionary value of another kind (which
// would make queries for its value miss it) or whose time its block's
// summary leaves out is reported as an *store.IndexDamageError.
func (ix *IndexDB) ScanIndex(ctx context.Context, log string, start uint64, fn func(store.IndexRow) error) error {
	var id int64
	err := ix.r.QueryRowContext(ctx, "SELECT id FROM logs WHERE name = ?", log).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: scanning index of log %q: %w", log, err)
	}
	s := indexScanner{ix: ix, log: log, id: id}
	for next := toInt64(start); ; {
		n, last, err := s.chunk(ctx, next, fn)
		if err != nil || n < ix.scanChunk {
			return err
		}
		next = last + 1
	}
}

// indexScanner decodes rows for ScanIndex.
type indexScanner struct {
	ix     *IndexDB
	log    string
	id     int64
	dict   map[int64]dictKey // nil until first needed
	blocks map[int64][2]int64
}

// chunk scans up to scanChunk rows from start. It returns how many it
// read and the last index.
func (s *indexScanner) chunk(ctx context.Context, start int64, fn func(store.IndexRow) error) (n int, last int64, err error) {
	rows, err := s.ix.r.QueryContext(ctx, `SELECT idx, time, type, actor, rtype, resource, outcome, project, environment, source
		FROM rows WHERE log = ? AND idx >= ? ORDER BY idx LIMIT ?`, s.id, start, s.ix.scanChunk)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: scanning index of log %q: %w", s.log, err)
	}
	// Rows are decoded after the query is closed: decoding may query.
	var batch [][10]int64
	for rows.Next() {
		var v [10]int64
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("sqlite: scanning index of log %q: %w", s.log, err)
		}
		batch = append(batch, v)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, 0, fmt.Errorf("sqlite: scanning index of log %q: %w", s.log, err)
	}
	for _, v := range batch {
		r, err := s.decode(ctx, v)
		if err != nil {
			return 0, 0, err
		}
		if err := fn(r); err != nil {
			return 0, 0, err
		}
		last = v[0]
	}
	return len(batch), last, nil
}

// decode turns the stored columns (idx, time, type, actor, rtype,
// resource, outcome, project, environment, source) into a row.
func (s *indexScanner) decode(ctx context.Context, v [10]int64) (store.IndexRow, error) {
	idx := uint64(v[0])
	r := store.IndexRow{Index: idx, Time: time.UnixMilli(v[1]).UTC()}
	if v[6] < 0 || v[6] >= int64(len(outcomes)) {
		return r, &store.IndexDamageError{Log: s.log, Index: idx, Detail: fmt.Sprintf("outcome code %d is not one of 0-3", v[6])}
	}
	r.Outcome = outcomes[v[6]]
	for _, f := range []struct {
		kind int8
		id   int64
		dst  *string
	}{
		{kindType, v[2], &r.Type}, {kindActor, v[3], &r.Actor}, {kindResourceType, v[4], &r.ResourceType},
		{kindResourceID, v[5], &r.ResourceID}, {kindProject, v[7], &r.Project},
		{kindEnvironment, v[8], &r.Environment}, {kindSource, v[9], &r.Source},
	} {
		if f.id == 0 {
			continue
		}
		d, ok := s.dict[f.id]
		if !ok {
			if err := s.loadDict(ctx); err != nil {
				return r, err
			}
			d, ok = s.dict[f.id]
		}
		switch {
		case !ok:
			return r, &store.IndexDamageError{Log: s.log, Index: idx, Detail: fmt.Sprintf("its %s is dictionary id %d, which does not exist", kindNames[f.kind], f.id)}
		case d.kind != f.kind:
			return r, &store.IndexDamageError{Log: s.log, Index: idx, Detail: fmt.Sprintf("its %s is dictionary id %d, which holds a %s (%q)", kindNames[f.kind], f.id, kindNames[d.kind], d.value)}
		}
		*f.dst = d.value
	}
	b := v[0] >> blockShift
	if !s.covers(b, v[1]) {
		if err := s.loadBlocks(ctx); err != nil { // a writer may have widened it since
			return r, err
		}
		if !s.covers(b, v[1]) {
			span, ok := s.blocks[b]
			detail := fmt.Sprintf("the time summary has no block %d, so time-range queries skip this row", b)
			if ok {
				detail = fmt.Sprintf("the time summary of block %d says [%d, %d], which leaves out this row's time %d (Unix ms), so time-range queries skip it", b, span[0], span[1], v[1])
			}
			return r, &store.IndexDamageError{Log: s.log, Index: idx, Detail: detail}
		}
	}
	return r, nil
}

func (s *indexScanner) covers(block, t int64) bool {
	span, ok := s.blocks[block]
	return ok && span[0] <= t && t <= span[1]
}

func (s *indexScanner) loadDict(ctx context.Context) error {
	rows, err := s.ix.r.QueryContext(ctx, "SELECT id, kind, value FROM dict")
	if err != nil {
		return fmt.Errorf("sqlite: reading index dictionary: %w", err)
	}
	defer rows.Close()
	s.dict = make(map[int64]dictKey)
	for rows.Next() {
		var id int64
		var d dictKey
		if err := rows.Scan(&id, &d.kind, &d.value); err != nil {
			return fmt.Errorf("sqlite: reading index dictionary: %w", err)
		}
		s.dict[id] = d
	}
	return rows.Err()
}

func (s *indexScanner) loadBlocks(ctx context.Context) error {
	rows, err := s.ix.r.QueryContext(ctx, "SELECT block, min_time, max_time FROM blocks WHERE log = ?", s.id)
	if err != nil {
		return fmt.Errorf("sqlite: reading index time blocks: %w", err)
	}
	defer rows.Close()
	s.blocks = make(map[int64][2]int64)
	for rows.Next() {
		var b, lo, hi int64
		if err := rows.Scan(&b, &lo, &hi); err != nil {
			return fmt.Errorf("sqlite: reading index time blocks: %w", err)
		}
		s.blocks[b] = [2]int64{lo, hi}
	}
	return rows.Err()
}
