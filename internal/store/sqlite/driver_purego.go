//go:build !cgo

package sqlite

import (
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// Driver names the SQLite this build uses: without cgo, modernc.org/sqlite,
// a translation of SQLite's C code to Go (see driver_cgo.go for builds
// with cgo).
const Driver = "SQLite translated to Go (modernc.org/sqlite)"

func newDriver() driver.Driver { return &sqlite.Driver{} }

// extendedCode returns the SQLite extended result code that err carries,
// 0 if none.
func extendedCode(err error) int {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return 0
	}
	return e.Code()
}
