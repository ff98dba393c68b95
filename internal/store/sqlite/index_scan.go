package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

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
