package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/a24ba333/indelible/internal/store"
)

// insertEntriesSQL returns the statement inserting n entries.
//
// OR ROLLBACK: a duplicate id ends the whole transaction, which the
// caller rolls back anyway. With the default (ABORT), SQLite must be able
// to undo a multi-row statement alone, and copies every page the
// statement changes into a statement journal first: a tenth of the cost
// of the inserts.
func insertEntriesSQL(n int) string {
	return "INSERT OR ROLLBACK INTO entries (k, id, body) VALUES " + valuesSQL(n, 3)
}

// writerSQL returns the statements that appends run, besides the entry
// inserts.
func writerSQL() []string {
	return []string{
		"SELECT id, size FROM logs WHERE name = ?",
		upsertTileSQL,
		insertCheckpointSQL,
		"UPDATE logs SET size = ? WHERE id = ?",
	}
}

const (
	insertCheckpointSQL = "INSERT INTO checkpoints (log, size, note, created_at) VALUES (?, ?, ?, ?)"

	// A tile is replaced only by a wider one: partial tiles grow, and a full
	// tile never changes.
	upsertTileSQL = `INSERT INTO tiles (log, level, idx, hashes) VALUES (?, ?, ?, ?)
		ON CONFLICT (log, level, idx) DO UPDATE SET hashes = excluded.hashes
		WHERE length(excluded.hashes) > length(tiles.hashes)`
)

// Append implements store.Store. It returns an error without writing
// anything if b is malformed.
func (db *DB) Append(ctx context.Context, log string, b store.Batch) error {
	if err := b.Check(maxSeq); err != nil {
		return fmt.Errorf("sqlite: appending to log %q: %w", log, err)
	}
	if err := db.append(ctx, log, b); err != nil {
		return fmt.Errorf("sqlite: appending [%d, %d) to log %q: %w", b.Start, b.Checkpoint.Size, log, err)
	}
	return nil
}

func (db *DB) append(ctx context.Context, log string, b store.Batch) error {
	tx, err := db.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock now
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var id, size int64
	err = db.ws.queryRow(ctx, tx, "SELECT id, size FROM logs WHERE name = ?", log).Scan(&id, &size)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = tx.QueryRowContext(ctx, "INSERT INTO logs (name, size) VALUES (?, 0) RETURNING id", log).Scan(&id)
		if err != nil {
			return fmt.Errorf("creating log: %w", err)
		}
		if id >= 1<<(63-seqBits) {
			return fmt.Errorf("creating log: the store holds the most logs it can (%d)", 1<<(63-seqBits))
		}
	case err != nil:
		return fmt.Errorf("reading log size: %w", err)
	}
	if uint64(size) != b.Start {
		return fmt.Errorf("log size is %d: %w", size, store.ErrConflict)
	}

	if err := db.insertEntries(ctx, tx, id, b.Entries); err != nil {
		if isUnique(err) {
			return fmt.Errorf("%w: %v", store.ErrDuplicateID, err)
		}
		return fmt.Errorf("inserting entries: %w", err)
	}
	for _, t := range b.Tiles {
		if _, err := db.ws.exec(ctx, tx, upsertTileSQL, id, t.Level, toInt64(t.Index), t.Hashes); err != nil {
			return fmt.Errorf("writing tile %d/%d: %w", t.Level, t.Index, err)
		}
	}
	_, err = db.ws.exec(ctx, tx, insertCheckpointSQL,
		id, toInt64(b.Checkpoint.Size), b.Checkpoint.Note, db.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("inserting checkpoint: %w", err)
	}
	if _, err := db.ws.exec(ctx, tx, "UPDATE logs SET size = ? WHERE id = ?", toInt64(b.Checkpoint.Size), id); err != nil {
		return fmt.Errorf("updating log size: %w", err)
	}
	// With synchronous=FULL, COMMIT returns once the WAL is fsynced.
	return tx.Commit()
}

// insertEntries inserts entries into log, as many per statement as
// db.inserts allows.
func (db *DB) insertEntries(ctx context.Context, tx *sql.Tx, log int64, entries []store.Entry) error {
	args := make([]any, 0, 3*min(len(entries), 100))
	return db.inserts.each(len(entries), func(st *sql.Stmt, lo, hi int) error {
		args = args[:0]
		for _, e := range entries[lo:hi] {
			args = append(args, entryKey(log, e.Index), e.ID, e.Body)
		}
		_, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return err
	})
}

// seqBits is the number of low bits of an entry's rowid that hold its
// index; the log's id is above them.
const seqBits = 40

// maxSeq is the number of entries a log can hold.
const maxSeq = 1 << seqBits

// entryKey returns the rowid of the entry at index seq of log.
func entryKey(log int64, seq uint64) int64 {
	return log<<seqBits + int64(seq) // seq == maxSeq gives the start of the next log
}
