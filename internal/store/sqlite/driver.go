package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
)

// connector opens connections to one database file with the driver the
// build links (see Driver) and sets each new connection's pragmas before
// database/sql hands it out. The two drivers spell their DSN options
// differently; PRAGMA statements mean the same to both.
type connector struct {
	drv     driver.Driver
	dsn     string
	pragmas []string
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, errors.New("the SQLite driver's connections cannot execute statements")
	}
	for _, p := range c.pragmas {
		if _, err := ex.ExecContext(ctx, "PRAGMA "+p, nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("PRAGMA %s: %w", p, err)
		}
	}
	return conn, nil
}

func (c connector) Driver() driver.Driver { return c.drv }

// pool opens a pool of connections to the database file path. Every
// connection waits for locks, uses WAL (persistent in the file: setting it
// on every connection only matters for the first) and keeps temporary
// tables and statement journals in memory, then runs the extra pragmas,
// in order. The busy timeout is set first, so that the others wait for a
// lock rather than fail. Writer pools begin their transactions with BEGIN
// IMMEDIATE, which takes the write lock at once instead of failing with
// SQLITE_BUSY at the first write when another connection wrote meanwhile.
func pool(path string, writer bool, extra ...string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	if writer {
		dsn += "?_txlock=immediate" // both drivers' name for it
	}
	pragmas := append([]string{
		"busy_timeout = " + strconv.FormatInt(busyTimeout.Milliseconds(), 10),
		"journal_mode = WAL",
		"temp_store = MEMORY",
	}, extra...)
	return sql.OpenDB(connector{drv: newDriver(), dsn: dsn, pragmas: pragmas}), nil
}

// OpenFile opens the SQLite file at path, a store's or an index's, as a
// plain pool, with the driver of this build and the settings every
// connection of this package has, but none of Open's or OpenIndex's
// schema checks. It is for inspecting a file by hand, and for tests that
// damage one the way someone with write access to it would.
func OpenFile(path string) (*sql.DB, error) {
	db, err := pool(path, false)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	return db, nil
}

// openPools opens a database file as two pools (see pool): one writer
// connection, with the extra pragmas writer, and read-only readers that
// map up to 1 GiB of the file into memory, sparing long scans a read(2)
// per page.
func openPools(path string, writer ...string) (w, r *sql.DB, err error) {
	w, err = pool(path, true, writer...)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// query_only last: the pragmas before it may write (journal_mode).
	r, err = pool(path, false, "mmap_size = 1073741824", "query_only = 1")
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	r.SetMaxIdleConns(4)
	return w, r, nil
}

// SQLite's extended result codes for constraint failures
// (https://sqlite.org/rescode.html), which both drivers' errors carry.
const (
	codeConstraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
	codeConstraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
)

// isUnique reports whether err is a UNIQUE constraint failure.
func isUnique(err error) bool {
	return extendedCode(err) == codeConstraintUnique
}

// isUniquePK reports whether err is a UNIQUE or PRIMARY KEY constraint
// failure.
func isUniquePK(err error) bool {
	c := extendedCode(err)
	return c == codeConstraintUnique || c == codeConstraintPrimaryKey
}
