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

// pool opens a pool of connections to the database file path whose every
// connection runs pragmas, in order, when it opens. Writer pools begin
// their transactions with BEGIN IMMEDIATE, which takes the write lock at
// once instead of failing with SQLITE_BUSY at the first write when
// another connection wrote meanwhile.
func pool(path string, writer bool, pragmas ...string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	if writer {
		dsn += "?_txlock=immediate" // both drivers' name for it
	}
	return sql.OpenDB(connector{drv: newDriver(), dsn: dsn, pragmas: pragmas}), nil
}

// OpenFile opens the SQLite file at path, a store's or an index's, as a
// plain pool, with the driver of this build and the settings every
// connection of this package has, but none of Open's or OpenIndex's
// schema checks. It is for inspecting a file by hand, and for tests that
// damage one the way someone with write access to it would.
func OpenFile(path string) (*sql.DB, error) {
	db, err := pool(path, false, common()...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	return db, nil
}

// openPools opens a database file as two pools: one writer connection,
// with the extra pragmas writer, and read-only readers that map up to
// 1 GiB of the file into memory, sparing long scans a read(2) per page.
// Every connection waits for locks, uses WAL (persistent in the file:
// setting it on every connection only matters for the first) and keeps
// temporary tables and statement journals in memory. common returns those
// shared pragmas, for further connections.
func openPools(path string, writer ...string) (w, r *sql.DB, err error) {
	w, err = pool(path, true, append(common(), writer...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// query_only last: the pragmas before it may write (journal_mode).
	r, err = pool(path, false, append(common(), "mmap_size = 1073741824", "query_only = 1")...)
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	r.SetMaxIdleConns(4)
	return w, r, nil
}

// common returns the pragmas of every connection. The busy timeout comes
// first, so that the others wait for a lock rather than fail.
func common() []string {
	return []string{
		"busy_timeout = " + strconv.FormatInt(busyTimeout.Milliseconds(), 10),
		"journal_mode = WAL",
		"temp_store = MEMORY",
	}
}
