package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/a24ba333/indelible/internal/store"
)

const (
	insertEntriesSQL = `INSERT INTO entries (log_id, seq, id, body)
		SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bytea[])`

	lockHeadSQL   = "SELECT id, size FROM logs WHERE name = $1 FOR UPDATE"
	createHeadSQL = "INSERT INTO logs (name, size) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING RETURNING id, size"

	// A tile is replaced only by a wider one: partial tiles grow, and a
	// full tile never changes. One statement writes all the batch's tiles.
	upsertTilesSQL = `INSERT INTO tiles (log_id, level, idx, hashes)
		SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::bytea[])
		ON CONFLICT (log_id, level, idx) DO UPDATE SET hashes = excluded.hashes
		WHERE length(excluded.hashes) > length(tiles.hashes)`
	insertCheckpointSQL = "INSERT INTO checkpoints (log_id, size, note, created_at) VALUES ($1, $2, $3, $4)"
	updateSizeSQL       = "UPDATE logs SET size = $2 WHERE id = $1"
)

// insertRows and insertBytes bound the entries that one INSERT statement
// writes. Entries go in as three arrays that unnest turns into rows.
// Measured against COPY on BenchmarkAppend (batches of 1000): no slower,
// and about 15% less CPU time in the server; COPY also needs one more
// round trip and cannot share the pipeline of the other statements.
const (
	insertRows  = 5000
	insertBytes = 64 << 20
)

// Append implements store.Store. It returns an error without writing
// anything if b is malformed.
func (db *DB) Append(ctx context.Context, log string, b store.Batch) error {
	if err := b.Check(1<<63 - 1); err != nil {
		return fmt.Errorf("postgres: appending to log %q: %w", log, err)
	}
	err := db.withConn(ctx, func(conn *pgx.Conn) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		// After a failed statement, or a canceled ctx (then pgx closes the
		// connection and the server rolls back), nothing is committed.
		defer tx.Rollback(ctx)
		if err := db.append(ctx, tx, log, b); err != nil {
			return err
		}
		// With synchronous_commit=on, COMMIT returns once the WAL is
		// flushed to disk.
		return tx.Commit(ctx)
	})
	if err != nil {
		return fmt.Errorf("postgres: appending [%d, %d) to log %q: %w", b.Start, b.Checkpoint.Size, log, err)
	}
	return nil
}

func (db *DB) append(ctx context.Context, tx pgx.Tx, log string, b store.Batch) error {
	id, size, err := lockHead(ctx, tx, log)
	if err != nil {
		return err
	}
	if uint64(size) != b.Start {
		return fmt.Errorf("log size is %d: %w", size, store.ErrConflict)
	}

	// Everything else in one round trip: the statements are pipelined,
	// and the first to fail aborts the transaction.
	var q pgx.Batch
	var what []string
	for chunk := range entryChunks(b.Entries, insertRows, insertBytes) {
		seqs := make([]int64, len(chunk))
		ids := make([]string, len(chunk))
		bodies := make([][]byte, len(chunk))
		for k, e := range chunk {
			seqs[k], ids[k], bodies[k] = int64(e.Index), e.ID, e.Body
		}
		q.Queue(insertEntriesSQL, id, seqs, ids, bodies)
		what = append(what, fmt.Sprintf("inserting entries [%d, %d)", chunk[0].Index, chunk[0].Index+uint64(len(chunk))))
	}
	if tiles := widest(b.Tiles); len(tiles) > 0 {
		levels := make([]int16, len(tiles))
		indexes := make([]int64, len(tiles))
		hashes := make([][]byte, len(tiles))
		for k, t := range tiles {
			levels[k], indexes[k], hashes[k] = int16(t.Level), int64(t.Index), t.Hashes
		}
		q.Queue(upsertTilesSQL, id, levels, indexes, hashes)
		what = append(what, "writing tiles")
	}
	q.Queue(insertCheckpointSQL, id, int64(b.Checkpoint.Size), b.Checkpoint.Note, db.now())
	q.Queue(updateSizeSQL, id, int64(b.Checkpoint.Size))
	what = append(what, "inserting checkpoint", "updating log size")

	results := tx.SendBatch(ctx, &q)
	for _, w := range what {
		if _, err := results.Exec(); err != nil {
			results.Close()
			if code, constraint := pgCode(err); code == uniqueViolation && constraint == "entries_id" {
				return fmt.Errorf("%w: %v", store.ErrDuplicateID, err)
			}
			return fmt.Errorf("%s: %w", w, err)
		}
	}
	return results.Close()
}

// entryChunks splits entries into runs of at most maxRows entries and
// maxBytes bytes of bodies (a single entry may exceed it): PostgreSQL
// refuses a message over 1 GiB.
func entryChunks(entries []store.Entry, maxRows, maxBytes int) iter.Seq[[]store.Entry] {
	return func(yield func([]store.Entry) bool) {
		for len(entries) > 0 {
			n, size := 0, 0
			for n < len(entries) && n < maxRows && (n == 0 || size+len(entries[n].Body) <= maxBytes) {
				size += len(entries[n].Body)
				n++
			}
			if !yield(entries[:n]) {
				return
			}
			entries = entries[n:]
		}
	}
}

// widest returns tiles with only the first of the widest tiles of each
// (Level, Index): what writing them one by one would leave. One INSERT ...
// ON CONFLICT statement may not touch a row twice.
func widest(tiles []store.Tile) []store.Tile {
	type key struct {
		level uint8
		index uint64
	}
	at := make(map[key]int, len(tiles))
	out := make([]store.Tile, 0, len(tiles))
	for _, t := range tiles {
		k := key{t.Level, t.Index}
		i, ok := at[k]
		switch {
		case !ok:
			at[k] = len(out)
			out = append(out, t)
		case t.Width() > out[i].Width():
			out[i] = t
		}
	}
	return out
}

// lockHead locks the head row of log until the end of tx, creating it if
// the log is new, and returns the log's id and size.
func lockHead(ctx context.Context, tx pgx.Tx, log string) (id, size int64, err error) {
	err = tx.QueryRow(ctx, lockHeadSQL, log).Scan(&id, &size)
	if !errors.Is(err, pgx.ErrNoRows) {
		if err != nil {
			return 0, 0, fmt.Errorf("locking log head: %w", err)
		}
		return id, size, nil
	}
	// A new log. If another transaction inserts the same name first, the
	// INSERT waits for it to end, then does nothing if it committed: the
	// row is then there to lock.
	err = tx.QueryRow(ctx, createHeadSQL, log).Scan(&id, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, lockHeadSQL, log).Scan(&id, &size)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("creating log head: %w", err)
	}
	return id, size, nil
}
