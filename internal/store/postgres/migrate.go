package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered step of the schema.
type migration struct {
	version int
	name    string // the file name
	sql     string
}

// migrations returns the embedded migrations in order. Their versions are
// 1, 2, ... with no gap: the file name starts with the version.
func migrations() ([]migration, error) {
	files, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files { // ReadDir sorts by name
		num, _, _ := strings.Cut(f.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("migration file %s: want a name starting with %04d_", f.Name(), len(ms)+1)
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", f.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: f.Name(), sql: string(b)})
	}
	return ms, nil
}

// migrateLockClass is the first key of the advisory lock that serialises
// migrations; the second is schemaLockKey. The value is arbitrary: it only
// has to differ from other programs' advisory locks on the same database.
const migrateLockClass = 0x1de1_1b1e

// schemaLockKey returns the second key of the migration lock of a schema,
// so that migrations of different schemas do not wait for each other.
func schemaLockKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     PRIMARY KEY,
	applied_at timestamptz NOT NULL
)`

// Migrate applies the migrations that the database lacks, each in its own
// transaction, creating the schema (Config.Schema) and the
// schema_migrations table first if they are missing. Concurrent calls,
// from any number of processes, apply each migration once: every
// transaction starts by taking an advisory lock, and checks what is
// applied only once it holds it. Migrate refuses a database whose version
// is newer than this program's.
func (db *DB) Migrate(ctx context.Context) error {
	if err := db.migrate(ctx); err != nil {
		return fmt.Errorf("postgres: migrating %s: %w", db.where, err)
	}
	return nil
}

func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return db.withConn(ctx, func(conn *pgx.Conn) error {
		err := db.inLockedTx(ctx, conn, func(tx pgx.Tx) error {
			if db.cfgSchema != "" {
				if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{db.cfgSchema}.Sanitize()); err != nil {
					return fmt.Errorf("creating schema %q: %w", db.cfgSchema, err)
				}
			}
			_, err := tx.Exec(ctx, createMigrationsTable)
			return err
		})
		if err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		for _, m := range ms {
			var applied bool
			start := time.Now()
			err := db.inLockedTx(ctx, conn, func(tx pgx.Tx) error {
				have, err := version(ctx, tx)
				if err != nil {
					return err
				}
				if have > len(ms) {
					return fmt.Errorf("database schema version %d is newer than this program's %d", have, len(ms))
				}
				if have >= m.version {
					return nil
				}
				if _, err := tx.Exec(ctx, m.sql); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", m.version, db.now()); err != nil {
					return err
				}
				applied = true
				return nil
			})
			if err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if applied {
				db.logger.Info("applied migration", "version", m.version, "name", m.name, "took", time.Since(start).Round(time.Millisecond))
			}
		}
		return nil
	})
}

// inLockedTx runs fn in a transaction on conn that holds the migration
// lock, and commits it if fn returns nil.
func (db *DB) inLockedTx(ctx context.Context, conn *pgx.Conn, fn func(pgx.Tx) error) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", int32(migrateLockClass), db.lockKey); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// checkVersion fails unless the database's schema is at the version of
// this program's newest migration.
func (db *DB) checkVersion(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return db.withConn(ctx, func(conn *pgx.Conn) error {
		have, err := version(ctx, conn)
		switch {
		case err != nil:
			return err
		case have < len(ms):
			return fmt.Errorf("database schema version is %d, this program needs %d: run indelible migrate", have, len(ms))
		case have > len(ms):
			return fmt.Errorf("database schema version %d is newer than this program's %d: upgrade this program", have, len(ms))
		}
		return nil
	})
}

// version returns the newest migration recorded, 0 if none is (or if
// there is no schema_migrations table).
func version(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	if code, _ := pgCode(err); code == undefinedTable {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}
