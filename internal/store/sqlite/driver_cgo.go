//go:build cgo

package sqlite

import (
	"database/sql/driver"
	"errors"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Driver names the SQLite this build uses. Builds with cgo (the default
// where a C compiler is installed) link the SQLite C library through
// github.com/mattn/go-sqlite3, which is faster on this project's write
// paths than the translation to Go (README, "SQLite driver"). Builds
// without cgo (CGO_ENABLED=0, cross-compiling) use modernc.org/sqlite
// (driver_purego.go); the file format is SQLite's either way, so either
// build opens the other's files.
const Driver = "SQLite C library (cgo, github.com/mattn/go-sqlite3)"

func newDriver() driver.Driver { return &sqlite3.SQLiteDriver{} }

// extendedCode returns the SQLite extended result code that err carries,
// 0 if none.
func extendedCode(err error) int {
	var e sqlite3.Error
	if !errors.As(err, &e) {
		return 0
	}
	return int(e.ExtendedCode)
}
