package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/a24ba333/indelible/internal/store"
)

// logID returns the numeric id of the named log, or ok == false if it has
// never been appended to. Ids never change, so a scan resolves it once.
func (db *DB) logID(ctx context.Context, log string) (id int64, ok bool, err error) {
	err = db.withConn(ctx, func(conn *pgx.Conn) error {
		return conn.QueryRow(ctx, "SELECT id FROM logs WHERE name = $1", log).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("postgres: looking up log %q: %w", log, err)
	}
	return id, true, nil
}

// Head implements store.Store. The head row and the checkpoint of its
// size are read in one statement, so from one snapshot.
func (db *DB) Head(ctx context.Context, log string) (store.Checkpoint, error) {
	var cp store.Checkpoint
	err := db.withConn(ctx, func(conn *pgx.Conn) error {
		var size int64
		err := conn.QueryRow(ctx, `SELECT c.size, c.note FROM logs l
			JOIN checkpoints c ON c.log_id = l.id AND c.size = l.size
			WHERE l.name = $1`, log).Scan(&size, &cp.Note)
		cp.Size = uint64(size)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Checkpoint{}, nil
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("postgres: reading head of log %q: %w", log, err)
	}
	return cp, nil
}

// Checkpoint implements store.Store.
func (db *DB) Checkpoint(ctx context.Context, log string, size uint64) (store.Checkpoint, error) {
	var note []byte
	err := ctx.Err()
	if err == nil && size > 1<<63-1 {
		err = store.ErrNotFound
	}
	if err == nil {
		err = db.withConn(ctx, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT note FROM checkpoints
				WHERE log_id = (SELECT id FROM logs WHERE name = $1) AND size = $2`, log, int64(size)).Scan(&note)
		})
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Checkpoint{}, fmt.Errorf("postgres: reading checkpoint %d of log %q: %w", size, log, err)
	}
	return store.Checkpoint{Size: size, Note: note}, nil
}

// ScanCheckpoints implements store.Store.
func (db *DB) ScanCheckpoints(ctx context.Context, log string, maxSize uint64, fn func(store.Checkpoint) error) error {
	id, ok, err := db.logID(ctx, log)
	if err != nil || !ok {
		return err
	}
	return scanChunks(ctx, db, fmt.Sprintf("scanning checkpoints of log %q", log), func(last *store.Checkpoint) (string, []any) {
		after := int64(-1)
		if last != nil {
			after = int64(last.Size)
		}
		return `SELECT size, note FROM checkpoints WHERE log_id = $1 AND size > $2 AND size <= $3
			ORDER BY size LIMIT $4`, []any{id, after, toInt64(maxSize), db.scanChunk}
	}, func(row pgx.CollectableRow) (store.Checkpoint, error) {
		var size int64
		var note []byte
		err := row.Scan(&size, &note)
		return store.Checkpoint{Size: uint64(size), Note: note}, err
	}, fn)
}

// lookupChunk is the number of ids LookupIDs asks for per query.
const lookupChunk = 1000

// LookupIDs implements store.Store.
func (db *DB) LookupIDs(ctx context.Context, log string, ids []string) (map[string]uint64, error) {
	found := make(map[string]uint64)
	id, ok, err := db.logID(ctx, log)
	if err != nil || !ok {
		return found, err
	}
	for chunk := range slices.Chunk(ids, lookupChunk) {
		err := db.withConn(ctx, func(conn *pgx.Conn) error {
			rows, err := conn.Query(ctx, "SELECT id, seq FROM entries WHERE log_id = $1 AND id = ANY($2::text[])", id, chunk)
			if err != nil {
				return err
			}
			var s string
			var seq int64
			_, err = pgx.ForEachRow(rows, []any{&s, &seq}, func() error {
				found[s] = uint64(seq)
				return nil
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("postgres: looking up ids in log %q: %w", log, err)
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

// ScanEntries implements store.Store. It reads scanChunk entries per
// query, each query seeing the latest committed state: entries never change
// once committed, so the result is the same as from one snapshot.
func (db *DB) ScanEntries(ctx context.Context, log string, start, end uint64, fn func(store.Entry) error) error {
	id, ok, err := db.logID(ctx, log)
	if err != nil || !ok || start >= end {
		return err
	}
	lo, hi := toInt64(start), toInt64(end)
	return scanChunks(ctx, db, fmt.Sprintf("reading entries [%d, %d) of log %q", start, end, log), func(last *store.Entry) (string, []any) {
		from := lo
		if last != nil {
			from = int64(last.Index) + 1
		}
		return `SELECT seq, id, body FROM entries WHERE log_id = $1 AND seq >= $2 AND seq < $3
			ORDER BY seq LIMIT $4`, []any{id, from, hi, db.scanChunk}
	}, func(row pgx.CollectableRow) (store.Entry, error) {
		var seq int64
		var e store.Entry
		err := row.Scan(&seq, &e.ID, &e.Body) // a new []byte per row
		e.Index = uint64(seq)
		return e, err
	}, fn)
}

// ReadTile implements store.Store.
func (db *DB) ReadTile(ctx context.Context, log string, level uint8, index uint64) (store.Tile, error) {
	var hashes []byte
	err := ctx.Err()
	if err == nil && index > 1<<63-1 {
		err = store.ErrNotFound
	}
	if err == nil {
		err = db.withConn(ctx, func(conn *pgx.Conn) error {
			return conn.QueryRow(ctx, `SELECT hashes FROM tiles
				WHERE log_id = (SELECT id FROM logs WHERE name = $1) AND level = $2 AND idx = $3`,
				log, int16(level), int64(index)).Scan(&hashes)
		})
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.Tile{}, fmt.Errorf("postgres: reading tile %d/%d of log %q: %w", level, index, log, err)
	}
	return store.Tile{Level: level, Index: index, Hashes: hashes}, nil
}

// ScanTiles implements store.Store.
func (db *DB) ScanTiles(ctx context.Context, log string, fn func(store.Tile) error) error {
	id, ok, err := db.logID(ctx, log)
	if err != nil || !ok {
		return err
	}
	return scanChunks(ctx, db, fmt.Sprintf("scanning tiles of log %q", log), func(last *store.Tile) (string, []any) {
		level, idx := int16(-1), int64(-1)
		if last != nil {
			level, idx = int16(last.Level), int64(last.Index)
		}
		return `SELECT level, idx, hashes FROM tiles WHERE log_id = $1 AND (level, idx) > ($2, $3)
			ORDER BY level, idx LIMIT $4`, []any{id, level, idx, db.scanChunk}
	}, func(row pgx.CollectableRow) (store.Tile, error) {
		var level int16
		var idx int64
		var t store.Tile
		err := row.Scan(&level, &idx, &t.Hashes)
		t.Level, t.Index = uint8(level), uint64(idx)
		return t, err
	}, fn)
}

// Logs implements store.Store. Names are COLLATE "C": ORDER BY compares
// their bytes.
func (db *DB) Logs(ctx context.Context) ([]string, error) {
	var names []string
	err := db.withConn(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, "SELECT name FROM logs WHERE size > 0 ORDER BY name")
		if err != nil {
			return err
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: listing logs: %w", err)
	}
	return names, nil
}

// scanChunks calls fn for every row of a query read in chunks of
// db.scanChunk rows (keyset pagination): next returns the query and
// arguments of the chunk that follows the row last (nil for the first
// chunk), read decodes one row. Each chunk is read whole and its
// connection given back before fn sees its rows. An error from fn, or
// ctx's, is returned as it is; others are wrapped with what.
func scanChunks[T any](ctx context.Context, db *DB, what string, next func(last *T) (string, []any),
	read func(pgx.CollectableRow) (T, error), fn func(T) error) error {
	var last *T
	for {
		query, args := next(last)
		var rows []T
		err := db.withConn(ctx, func(conn *pgx.Conn) error {
			r, err := conn.Query(ctx, query, args...)
			if err != nil {
				return err
			}
			rows, err = pgx.CollectRows(r, read)
			return err
		})
		if err := ctx.Err(); err != nil {
			return err
		}
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		for i := range rows {
			if i%256 == 255 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(rows[i]); err != nil {
				return err
			}
		}
		if len(rows) < db.scanChunk {
			return nil
		}
		last = &rows[len(rows)-1]
	}
}
