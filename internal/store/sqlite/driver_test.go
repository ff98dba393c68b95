package sqlite

import (
	"database/sql"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPragmas checks the settings that durability and latency rest on, on
// every pool of both files, whichever driver the build links (run the
// tests with CGO_ENABLED=0 as well as without). The drivers' own defaults
// differ: the cgo one compiles SQLite with synchronous=NORMAL in WAL mode,
// which would acknowledge appends that a power cut can lose.
func TestPragmas(t *testing.T) {
	dir := t.TempDir()
	db := open(t, filepath.Join(dir, "indelible.db"))
	defer db.Close()
	ix, err := OpenIndex(t.Context(), IndexConfig{Path: filepath.Join(dir, "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()

	// synchronous: 1 NORMAL, 2 FULL; temp_store: 2 MEMORY.
	common := map[string]string{"journal_mode": "wal", "busy_timeout": "10000", "temp_store": "2"}
	for _, tc := range []struct {
		name string
		pool *sql.DB
		want map[string]string
	}{
		{"store writer", db.w, map[string]string{"synchronous": "2", "wal_autocheckpoint": "0", "cache_size": "-65536", "query_only": "0"}},
		{"store readers", db.r, map[string]string{"query_only": "1", "mmap_size": "1073741824"}},
		{"store checkpointer", db.ckpt, map[string]string{"synchronous": "2"}},
		{"index writer", ix.w, map[string]string{"synchronous": "1", "wal_autocheckpoint": "2048", "cache_size": "-262144", "query_only": "0"}},
		{"index readers", ix.r, map[string]string{"query_only": "1", "mmap_size": "1073741824"}},
	} {
		want := maps.Clone(common)
		maps.Copy(want, tc.want)
		for name, want := range want {
			var got string
			if err := tc.pool.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", tc.name, name, err)
			}
			if strings.ToLower(got) != want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", tc.name, name, got, want)
			}
		}
	}
	// A reader connection cannot write.
	if _, err := db.r.ExecContext(t.Context(), "UPDATE logs SET size = size"); err == nil {
		t.Error("a reader connection wrote")
	}
	if !strings.Contains(Driver, "SQLite") {
		t.Errorf("Driver = %q", Driver)
	}
}

// TestPathWithURICharacters: the file is opened through a file: URI, in
// which a path's "#", "?", "%" and spaces must be escaped, or another
// file would be opened.
func TestPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b#c%d?e")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "indelible.db")
	db := open(t, path)
	if err := db.Append(t.Context(), "acme", batch(0, 3)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not where it was asked for: %v", err)
	}
	db = open(t, path)
	defer db.Close()
	checkSize(t, db, "acme", 3)
}
