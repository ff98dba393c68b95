package sqlite

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"testing"

	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/storetest"
)

// open opens a database at path, logging to t.
func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), Config{Path: path, Logger: slog.New(slog.NewTextHandler(tLog{t}, nil))})
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	return db
}

// tLog routes log lines to t.Logf.
type tLog struct{ t *testing.T }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimSuffix(p, []byte("\n")))
	return len(p), nil
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "indelible.db"))
	})
}

// TestStoreSmallChunks runs the suite with scans that take many queries.
func TestStoreSmallChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := open(t, filepath.Join(t.TempDir(), "indelible.db"))
		db.scanChunk = 7
		return db
	})
}

func batch(start, n uint64) store.Batch {
	b := store.Batch{Start: start}
	for i := start; i < start+n; i++ {
		b.Entries = append(b.Entries, store.Entry{Index: i, ID: string(rune('a' + i)), Body: []byte{byte(i)}})
	}
	b.Tiles = []store.Tile{{Level: 0, Index: 0, Hashes: bytes.Repeat([]byte{1}, int(start+n)*store.HashSize)}}
	b.Checkpoint = store.Checkpoint{Size: start + n, Note: []byte{byte(start + n)}}
	return b
}

// checkSize checks that db sees log with size entries.
func checkSize(t *testing.T, db *DB, log string, size uint64) {
	t.Helper()
	ctx := t.Context()
	head, err := db.Head(ctx, log)
	if err != nil || head.Size != size {
		t.Errorf("Head(%q) = %d, %v; want %d", log, head.Size, err, size)
	}
	entries, err := db.ReadEntries(ctx, log, 0, math.MaxUint64)
	if err != nil || uint64(len(entries)) != size {
		t.Errorf("ReadEntries(%q) = %d entries, %v; want %d", log, len(entries), err, size)
	}
	tile, err := db.ReadTile(ctx, log, 0, 0)
	if err != nil || uint64(tile.Width()) != size {
		t.Errorf("ReadTile(%q, 0, 0) width = %d, %v; want %d", log, tile.Width(), err, size)
	}
}

func TestTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "indelible.db")
	a := open(t, path)
	defer a.Close()
	b := open(t, path)
	defer b.Close()
	ctx := t.Context()

	if err := a.Append(ctx, "log", batch(0, 3)); err != nil {
		t.Fatalf("Append via a: %v", err)
	}
	checkSize(t, b, "log", 3)
	if err := b.Append(ctx, "log", batch(3, 2)); err != nil {
		t.Fatalf("Append via b: %v", err)
	}
	checkSize(t, a, "log", 5)
	// a's view of the head is stale: the size check catches it.
	if err := a.Append(ctx, "log", batch(3, 1)); err == nil {
		t.Errorf("Append via a at stale start = nil, want ErrConflict")
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "indelible.db")
	ctx := t.Context()
	db := open(t, path)
	if err := db.Append(ctx, "log", batch(0, 4)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := db.Append(ctx, "other", batch(0, 1)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = open(t, path)
	defer db.Close()
	checkSize(t, db, "log", 4)
	checkSize(t, db, "other", 1)
	logs, err := db.Logs(ctx)
	if err != nil || len(logs) != 2 {
		t.Errorf("Logs() = %q, %v; want 2 logs", logs, err)
	}
	if err := db.Append(ctx, "log", batch(4, 2)); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	checkSize(t, db, "log", 6)
}

func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "indelible.db")
	db := open(t, path)
	if _, err := db.w.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err := Open(context.Background(), Config{Path: path}); err == nil {
		db.Close()
		t.Errorf("Open of a file with schema version 99 = nil error, want error")
	}
}

func TestKeys(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) store.Keys {
		db := open(t, filepath.Join(t.TempDir(), "indelible.db"))
		t.Cleanup(func() { db.Close() })
		return db
	})
}
