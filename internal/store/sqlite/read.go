package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/a24ba333/indelible/internal/store"
)

// logID returns the numeric id of the named log, or ok == false if it has
// never been appended to. Ids never change, so a scan resolves it once.
func (db *DB) logID(ctx context.Context, log string) (id int64, ok bool, err error) {
	err = db.rs.queryRow(ctx, nil, "SELECT id FROM logs WHERE name = ?", log).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("sqlite: looking up log %q: %w", log, err)
	}
	return id, true, nil
}

// Head implements store.Store.
func (db *DB) Head(ctx context.Context, log string) (store.Checkpoint, error) {
	var size int64
	var note []byte
	err := db.rs.queryRow(ctx, nil, `SELECT size, note FROM checkpoints
		WHERE log = (SELECT id FROM logs WHERE name = ?) ORDER BY size DESC LIMIT 1`, log).Scan(&size, &note)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Checkpoint{}, nil
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlite: reading head of log %q: %w", log, err)
	}
	return store.Checkpoint{Size: uint64(size), Note: note}, nil
}

// Checkpoint implements store.Store.
func (db *DB) Checkpoint(ctx context.Context, log string, size uint64) (store.Checkpoint, error) {
	if size > 1<<63-1 {
		return store.Checkpoint{}, fmt.Errorf("sqlite: checkpoint %d of log %q: %w", size, log, store.ErrNotFound)
	}
	var note []byte
	err := db.rs.queryRow(ctx, nil, `SELECT note FROM checkpoints
		WHERE log = (SELECT id FROM logs WHERE name = ?) AND size = ?`, log, int64(size)).Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("sqlite: reading checkpoint %d of log %q: %w", size, log, err)
	}
	return store.Checkpoint{Size: size, Note: note}, nil
}

// ScanCheckpoints implements store.Store.
func (db *DB) ScanCheckpoints(ctx context.Context, log string, maxSize uint64, fn func(store.Checkpoint) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT size, note FROM checkpoints
		WHERE log = (SELECT id FROM logs WHERE name = ?) AND size <= ? ORDER BY size`, log, toInt64(maxSize))
	if err != nil {
		return fmt.Errorf("sqlite: scanning checkpoints of log %q: %w", log, err)
	}
	defer rows.Close()
	for rows.Next() {
		var size int64
		var note []byte
		if err := rows.Scan(&size, &note); err != nil {
			return fmt.Errorf("sqlite: scanning checkpoints of log %q: %w", log, err)
		}
		if err := fn(store.Checkpoint{Size: uint64(size), Note: note}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: scanning checkpoints of log %q: %w", log, err)
	}
	return nil
}

// lookupChunk is the number of ids LookupIDs asks for per query, well
// below SQLite's limit on bound parameters.
const lookupChunk = 500

// LookupIDs implements store.Store.
func (db *DB) LookupIDs(ctx context.Context, log string, ids []string) (map[string]uint64, error) {
	found := make(map[string]uint64)
	id, ok, err := db.logID(ctx, log)
	if err != nil || !ok {
		return found, err
	}
	args := make([]any, 0, 1+lookupChunk)
	for chunk := range slices.Chunk(ids, lookupChunk) {
		args = append(args[:0], id)
		for _, s := range chunk {
			args = append(args, s)
		}
		query := "SELECT id, seq FROM entries WHERE log = ? AND id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		rows, err := db.r.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: looking up ids in log %q: %w", log, err)
		}
		for rows.Next() {
			var s string
			var seq int64
			if err := rows.Scan(&s, &seq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: looking up ids in log %q: %w", log, err)
			}
			found[s] = uint64(seq)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("sqlite: looking up ids in log %q: %w", log, err)
		}
	}
	return found, nil
}

// ReadEntries implements store.Store.
func (db *DB) ReadEntries(ctx context.Context, log string, start, end uint64) ([]store.Entry, error) {
	var entries []store.Entry
	err := db.ScanEntries(ctx, log, start, end, func(e store.Entry) error {
		entries = append(entries, e)
		return nil
	})
	return entries, err
}

// ScanEntries implements store.Store. It reads scanChunk rows per query,
// each query seeing the latest committed state: entries never change once
// committed, so the result is the same as from one snapshot.
func (db *DB) ScanEntries(ctx context.Context, log string, start, end uint64, fn func(store.Entry) error) error {
	id, ok, err := db.logID(ctx, log)
	if err != nil || !ok {
		return err
	}
	lo, hi := toInt64(start), toInt64(end)
	for lo < hi {
		n, next, err := db.scanEntries(ctx, id, lo, hi, fn)
		if err != nil {
			return err
		}
		if n < db.scanChunk {
			return nil
		}
		lo = next
	}
	return nil
}

// scanEntries calls fn for up to scanChunk entries of [lo, hi). It returns
// the number of entries read and the index after the last one.
//
// It reads rows through the driver's own interface rather than Rows.Scan,
// which costs as much again per row as SQLite itself. The driver returns a
// new []byte for each BLOB value (the conformance suite checks that bodies
// stay intact after the scan), so the body is handed to fn without a copy.
func (db *DB) scanEntries(ctx context.Context, log, lo, hi int64, fn func(store.Entry) error) (n int, next int64, err error) {
	conn, err := db.r.Conn(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: reading entries from %d: %w", lo, err)
	}
	defer conn.Close()
	var fnErr error
	err = conn.Raw(func(dc any) error {
		// The range is on the rowid, (log << 40) | seq: a range scan of
		// the table itself.
		rows, err := dc.(driver.QueryerContext).QueryContext(ctx, `SELECT seq, id, body FROM entries
			WHERE k >= ? AND k < ? ORDER BY k LIMIT ?`, []driver.NamedValue{
			{Ordinal: 1, Value: entryKey(log, uint64(min(lo, maxSeq)))}, {Ordinal: 2, Value: entryKey(log, uint64(min(hi, maxSeq)))}, {Ordinal: 3, Value: int64(db.scanChunk)},
		})
		if err != nil {
			return err
		}
		defer rows.Close()
		row := make([]driver.Value, 3)
		for {
			if err := rows.Next(row); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			seq, ok1 := row[0].(int64)
			id, ok2 := row[1].(string)
			body, ok3 := row[2].([]byte)
			if !ok1 || !ok2 || !ok3 {
				return fmt.Errorf("entry row has types %T, %T, %T", row[0], row[1], row[2])
			}
			if fnErr = fn(store.Entry{Index: uint64(seq), ID: id, Body: body}); fnErr != nil {
				return fnErr
			}
			n++
			next = seq + 1
			if n%256 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
	})
	if fnErr != nil || ctx.Err() != nil {
		return 0, 0, cmp.Or(fnErr, ctx.Err())
	}
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: reading entries from %d: %w", lo, err)
	}
	return n, next, nil
}

// ReadTile implements store.Store.
func (db *DB) ReadTile(ctx context.Context, log string, level uint8, index uint64) (store.Tile, error) {
	if index > 1<<63-1 {
		return store.Tile{}, fmt.Errorf("sqlite: reading tile %d/%d of log %q: %w", level, index, log, store.ErrNotFound)
	}
	var hashes []byte
	err := db.rs.queryRow(ctx, nil, `SELECT hashes FROM tiles
		WHERE log = (SELECT id FROM logs WHERE name = ?) AND level = ? AND idx = ?`, log, level, int64(index)).Scan(&hashes)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Tile{}, fmt.Errorf("sqlite: reading tile %d/%d of log %q: %w", level, index, log, err)
	}
	return store.Tile{Level: level, Index: index, Hashes: hashes}, nil
}

// ScanTiles implements store.Store.
func (db *DB) ScanTiles(ctx context.Context, log string, fn func(store.Tile) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT level, idx, hashes FROM tiles
		WHERE log = (SELECT id FROM logs WHERE name = ?) ORDER BY level, idx`, log)
	if err != nil {
		return fmt.Errorf("sqlite: scanning tiles of log %q: %w", log, err)
	}
	defer rows.Close()
	for rows.Next() {
		var level uint8
		var idx int64
		var t store.Tile
		if err := rows.Scan(&level, &idx, &t.Hashes); err != nil {
			return fmt.Errorf("sqlite: scanning tiles of log %q: %w", log, err)
		}
		t.Level, t.Index = level, uint64(idx)
		if err := fn(t); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: scanning tiles of log %q: %w", log, err)
	}
	return nil
}

// Logs implements store.Store.
func (db *DB) Logs(ctx context.Context) ([]string, error) {
	rows, err := db.rs.query(ctx, "SELECT name FROM logs WHERE size > 0 ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing logs: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlite: listing logs: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing logs: %w", err)
	}
	return names, nil
}
