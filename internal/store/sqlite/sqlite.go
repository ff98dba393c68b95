// Package sqlite is the embedded store.Store: every log in one SQLite
// database file, in WAL mode with synchronous=FULL.
//
// # File format
//
// The database schema is schema.sql, version 1, recorded in the file's
// PRAGMA user_version. Open creates it in an empty file and refuses a file
// with a newer version; a later version of this package migrates older files
// forward, one numbered step at a time, and never changes a step once
// released.
//
// # Durability and concurrency
//
// Each Append is one BEGIN IMMEDIATE transaction on the single writer
// connection. In WAL mode with synchronous=FULL, SQLite appends the
// transaction's pages to the -wal file and fsyncs it before COMMIT returns,
// so a batch is durable when Append returns nil; SQLite copies the WAL back
// into the main file (and fsyncs it) at checkpoints, without ever exposing a
// partial transaction. Readers use a separate pool of read-only connections:
// WAL lets them read the last committed state while the writer commits, also
// from another process (such as the verify command) that opens the same file.
// Several processes may also write: BEGIN IMMEDIATE takes SQLite's write lock
// and waits up to the busy timeout for it, and the size check inside the
// transaction turns a lost race into store.ErrConflict.
package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// schemaVersion is the version of schema.sql, kept in PRAGMA user_version.
const schemaVersion = 1

//go:embed schema.sql
var schema string

// busyTimeout is how long a connection waits for a lock held by another
// connection (a writer in another process, or a WAL checkpoint) before it
// fails with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Config configures Open.
type Config struct {
	// Path is the database file. It is created if it does not exist; its
	// directory must exist. SQLite keeps the -wal and -shm files beside it.
	Path string
	// Logger receives the store's rare events (schema creation). Nil
	// discards them.
	Logger *slog.Logger
	// Now stamps checkpoints with their creation time. Nil means time.Now.
	Now func() time.Time
}

// DB is a store.Store in one SQLite database file.
type DB struct {
	w    *sql.DB // the single writer connection: Append and schema changes
	r    *sql.DB // read-only connections, as many as there are readers
	ckpt *sql.DB // one connection for background WAL checkpoints
	now  func() time.Time

	ws, rs  *stmts   // prepared statements of w and r
	inserts *inserts // the entry inserts, prepared on w

	// scanChunk is the number of rows ScanEntries reads per query, so that
	// a long scan does not pin one WAL snapshot (which would stop
	// checkpoints from recycling the WAL) for its whole duration.
	scanChunk int

	// stopCheckpoints ends the background WAL checkpointer; checkpointsDone
	// is closed when it has ended.
	stopCheckpoints chan struct{}
	checkpointsDone chan struct{}
}

// checkpointEvery is how often the background checkpointer copies the WAL
// back into the database file. The writer's automatic checkpoints are off:
// they would run inside an Append, on the latency path, fsyncing the
// database file while the batch waits. Frequent small checkpoints keep
// each fsync short: it competes with the commits' fsyncs for the disk.
const checkpointEvery = 100 * time.Millisecond

var _ store.Store = (*DB)(nil)

// Open opens the database at cfg.Path, creating the file and its schema if
// needed. Several DBs, in one process or several, may open the same file.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: Config.Path is empty")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	// The writer does no automatic WAL checkpoints (see checkpointEvery).
	w, r, err := openPools(cfg.Path, "synchronous = FULL", "cache_size = -65536", "wal_autocheckpoint = 0")
	if err != nil {
		return nil, err
	}
	ckpt, err := pool(cfg.Path, false, "synchronous = FULL")
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	ckpt.SetMaxOpenConns(1)
	db := &DB{w: w, r: r, ckpt: ckpt, now: now, ws: newStmts(w, false), rs: newStmts(r, true), inserts: newInserts(insertEntriesSQL), scanChunk: 4096, stopCheckpoints: make(chan struct{}), checkpointsDone: make(chan struct{})}
	if err := db.migrate(ctx, logger.With("path", cfg.Path)); err != nil {
		close(db.checkpointsDone)
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	if err := errors.Join(db.ws.prepare(ctx, writerSQL()...), db.inserts.prepare(ctx, db.ws)); err != nil {
		close(db.checkpointsDone)
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	go db.checkpoints(logger)
	return db, nil
}

// checkpoints copies the WAL into the database file every checkpointEvery,
// on a connection of its own: a PASSIVE checkpoint never blocks the writer
// or readers, and skips frames that a reader still needs.
func (db *DB) checkpoints(logger *slog.Logger) {
	defer close(db.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-db.stopCheckpoints:
			return
		case <-t.C:
		}
		var busy, logPages, done int
		err := db.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
		if err != nil {
			logger.Warn("WAL checkpoint failed", "err", err)
		}
	}
}

// migrate brings the schema to schemaVersion.
func (db *DB) migrate(ctx context.Context, logger *slog.Logger) error {
	return createSchema(ctx, db.w, "store", schema, schemaVersion, logger)
}

// createSchema creates schema, of the given version, in a new file whose
// writer pool is w, and refuses a file of a newer version. The file's
// version is kept in PRAGMA user_version.
func createSchema(ctx context.Context, w *sql.DB, what, schema string, version int, logger *slog.Logger) error {
	have, err := userVersion(ctx, w)
	if err != nil || have == version {
		return err
	}
	tx, err := w.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have created it while we waited for the lock.
	if have, err = userVersion(ctx, tx); err != nil {
		return err
	}
	switch {
	case have == version:
		return nil
	case have > version:
		return fmt.Errorf("%s schema version %d is newer than this program's %d", what, have, version)
	}
	// have == 0: a new file.
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("creating %s schema: %w", what, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return fmt.Errorf("setting %s schema version: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("creating %s schema: %w", what, err)
	}
	logger.Info("created "+what+" schema", "version", version)
	return nil
}

func userVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}

// Close closes the database. Appends in flight finish or fail first.
func (db *DB) Close() error {
	select {
	case <-db.stopCheckpoints:
	default:
		close(db.stopCheckpoints)
	}
	<-db.checkpointsDone
	return errors.Join(db.ws.close(), db.rs.close(), db.r.Close(), db.w.Close(), db.ckpt.Close())
}

// toInt64 converts a size or index to SQLite's INTEGER, saturating: no
// stored value exceeds math.MaxInt64, so a larger bound selects the same rows.
func toInt64(u uint64) int64 {
	return int64(min(u, 1<<63-1))
}
