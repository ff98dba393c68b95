//go:build !cgo

package sqlite

import (
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Driver names the SQLite this build uses: without cgo, modernc.org/sqlite,
// a translation of SQLite's C code to Go (see driver_cgo.go for builds
// with cgo).
const Driver = "SQLite translated to Go (modernc.org/sqlite)"

func newDriver() driver.Driver { return &sqlite.Driver{} }

// isUnique reports whether err is a UNIQUE constraint failure.
func isUnique(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// isUniquePK reports whether err is a UNIQUE or PRIMARY KEY constraint
// failure.
func isUniquePK(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}
