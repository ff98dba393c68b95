// Package postgres is the scale-out store.Store: many stateless
// `indelible serve` nodes share one PostgreSQL database, every log in the
// same tables.
//
// # Schema and migrations
//
// The tables are created by numbered migrations, migrations/NNNN_*.sql,
// embedded in the binary; migrations/0001_init.sql documents each table.
// The schema_migrations table records the version of every migration
// applied. Migrate applies the missing ones, each in its own transaction
// that first takes a transaction-scoped advisory lock, so nodes starting at
// once apply each migration exactly once. A released migration never
// changes. Migrations need the right to create tables and triggers: they
// run as the schema's owner, through `indelible migrate` (Config.Migrate).
// A server opens the store without Config.Migrate: Open then only checks
// the recorded version and refuses a database that is behind or ahead of
// this program.
//
// # Sequencing
//
// Each Append is one transaction. It locks the log's head row in the logs
// table (SELECT ... FOR UPDATE, creating the row first if the log is new),
// compares the log's size with the batch's start, and returns
// store.ErrConflict without writing anything if they differ. Otherwise it
// inserts the entries, writes the tiles and the checkpoint and updates the
// size, all in one pipelined round trip, and commits. An entry id already
// in the log violates the unique constraint entries_id: the transaction
// rolls back and Append returns store.ErrDuplicateID. Appends to one log,
// from any number of nodes, are serialised by the row lock, so two nodes
// never fork a tree; appends to different logs lock different rows and run
// in parallel.
//
// # Durability
//
// COMMIT returns once the transaction's WAL records are flushed to disk
// (synchronous_commit=on, PostgreSQL's default, or a stronger setting that
// also waits for replicas), so a batch is durable when Append returns nil.
// Open refuses a connection whose synchronous_commit is off. As with any
// client-server database, a connection lost while COMMIT is in flight
// leaves the outcome unknown to the caller: Append then returns an error
// although the batch may have been committed. Reloading the head tells,
// and the entries' ids make a retry safe: sequenced again after a batch
// that did commit, it fails with store.ErrDuplicateID.
//
// # Connections
//
// A DB keeps at most Config.MaxConns connections (a pgxpool.Pool), each with the
// configured search_path. No method holds a connection while it calls a
// caller's function: scans read a chunk of rows, give the connection back,
// then hand the rows over.
//
// # Defence in depth
//
// The server's role needs no DELETE, no DDL, and no UPDATE on entries or
// checkpoints: Grants returns the GRANT statements of that minimal role, and
// GRANTS.md explains them. Triggers created by the first migration refuse
// UPDATE, DELETE and TRUNCATE on entries and checkpoints, DELETE and
// TRUNCATE on logs and tiles, a tile rewrite that is not a growth, and a
// head row that shrinks, whoever tries, with an error that names the table.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/a24ba333/indelible/internal/store"
)

// Config configures Open.
type Config struct {
	// URL is the database's connection string, postgres://user@host/db?...
	// or any form that pgx.ParseConfig accepts, with its parameters: for
	// example default_query_exec_mode=exec behind a connection pooler in
	// transaction mode, which cannot keep prepared statements.
	URL string
	// Schema, if set, is the PostgreSQL schema that holds the tables: the
	// search_path of every connection. Migrate creates it if it is
	// missing. Empty means the URL's or the role's default search_path
	// (usually the schema "public").
	Schema string
	// Migrate makes Open apply the missing migrations, which needs a role
	// that may create tables. Without it, Open fails if the database is
	// not at this program's schema version.
	Migrate bool
	// Logger receives the store's rare events (migrations). Nil discards
	// them.
	Logger *slog.Logger
	// MaxConns is the most connections the DB opens; 0 means
	// max(4, runtime.NumCPU()).
	MaxConns int
	// Now stamps checkpoints with their creation time. Nil means time.Now.
	Now func() time.Time
}

// DB is a store.Store and a store.Keys in one PostgreSQL database.
// Its methods are safe for concurrent use. Its fields are set by Open and
// not changed afterwards.
type DB struct {
	pool      *pgxpool.Pool
	where     string // the database and schema, for errors and logs
	cfgSchema string // Config.Schema
	schema    string // the schema holding the tables, as current_schema() names it
	logger    *slog.Logger
	now       func() time.Time

	// lockKey is the advisory lock that serialises migrations of this
	// schema, computed from Config.Schema.
	lockKey int32

	// scanChunk is the number of rows that a scan reads per query. A scan
	// reads a chunk, gives its connection back, and only then calls the
	// caller's function: a slow caller holds no connection and no
	// snapshot, and may use the store from inside the function.
	scanChunk int
}

var (
	_ store.Store = (*DB)(nil)
	_ store.Keys  = (*DB)(nil)
)

// Open connects to the database and checks, or with cfg.Migrate brings
// up to date, its schema version. Any number of DBs, in one process or
// many, may open the same database.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres: Config.URL is empty")
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: Config.MaxConns is %d", cfg.MaxConns)
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing Config.URL: %w", err)
	}
	pc := poolCfg.ConnConfig
	if cfg.Schema != "" {
		pc.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	if pc.RuntimeParams["application_name"] == "" {
		pc.RuntimeParams["application_name"] = "indelible"
	}
	maxConns := cfg.MaxConns
	if maxConns == 0 {
		maxConns = max(4, runtime.NumCPU())
	}
	poolCfg.MaxConns = int32(maxConns)
	// A connection idle for a while is checked with a round trip before it
	// is lent, so that one the server or a firewall dropped is replaced
	// instead of failing the caller's query.
	poolCfg.MaxConnIdleTime = 5 * time.Minute
	poolCfg.HealthCheckPeriod = 30 * time.Second
	p, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{
		pool:      p,
		cfgSchema: cfg.Schema,
		logger:    cfg.Logger,
		now:       cfg.Now,
		lockKey:   schemaLockKey(cfg.Schema),
		scanChunk: 1000,
	}
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	if db.now == nil {
		db.now = time.Now
	}
	where := fmt.Sprintf("%s@%s:%d/%s", pc.User, pc.Host, pc.Port, pc.Database)
	if cfg.Schema != "" {
		where += " schema " + cfg.Schema
	}
	db.where = where
	db.logger = db.logger.With("database", where)
	if err := db.open(ctx, cfg.Migrate); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: opening %s: %w", where, err)
	}
	return db, nil
}

func (db *DB) open(ctx context.Context, migrate bool) error {
	if migrate {
		if err := db.migrate(ctx); err != nil {
			return err
		}
	} else if err := db.checkVersion(ctx); err != nil {
		return err
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer pc.Release()
	conn := pc.Conn()
	var syncCommit string
	var schema *string
	if err := conn.QueryRow(ctx, "SELECT current_setting('synchronous_commit'), current_schema()").Scan(&syncCommit, &schema); err != nil {
		return err
	}
	if syncCommit == "off" {
		return errors.New("synchronous_commit is off: a committed Append could be lost in a crash; set it to on (the default)")
	}
	if schema == nil {
		return errors.New("no schema on the search_path exists")
	}
	db.schema = *schema
	return nil
}

// Close closes the connections, after waiting for the queries in flight.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// withConn runs fn on a connection of the pool. A connection returned in
// the middle of a transaction or broken is closed by the pool, not lent
// again.
func (db *DB) withConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return fn(c.Conn())
}

// toInt64 converts a size or index to a bigint, saturating: no stored
// value exceeds math.MaxInt64, so a larger bound selects the same rows.
func toInt64(u uint64) int64 {
	return int64(min(u, 1<<63-1))
}

// pgCode returns the SQLSTATE code of err and the constraint it names, if
// err is an error from the server.
func pgCode(err error) (code, constraint string) {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code, e.ConstraintName
	}
	return "", ""
}

// SQLSTATE codes this package branches on.
const (
	uniqueViolation = "23505"
	undefinedTable  = "42P01"
)
