package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/a24ba333/indelible/internal/store"
)

func testAppendReadBack(t *testing.T, s store.Store) {
	ctx := t.Context()
	var batches []store.Batch
	for _, n := range []uint64{1, 99, 300, 1} { // crosses a tile boundary
		batches = append(batches, appendN(t, s, "a", "id", n))
	}
	const size = 401

	head, err := s.Head(ctx, "a")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if head.Size != size || !bytes.Equal(head.Note, note("a", size)) {
		t.Errorf("Head = {%d %q}, want {%d %q}", head.Size, head.Note, size, note("a", size))
	}
	entries, err := s.ReadEntries(ctx, "a", 0, size)
	if err != nil {
		t.Fatalf("ReadEntries: %v", err)
	}
	checkEntries(t, "ReadEntries(0, 401)", entries, "id", 0, size)
	entries, err = scanEntries(ctx, s, "a", 0, size)
	if err != nil {
		t.Fatalf("ScanEntries: %v", err)
	}
	checkEntries(t, "ScanEntries(0, 401)", entries, "id", 0, size)

	for _, b := range batches {
		cp, err := s.Checkpoint(ctx, "a", b.Checkpoint.Size)
		if err != nil {
			t.Errorf("Checkpoint(%d): %v", b.Checkpoint.Size, err)
		} else if cp.Size != b.Checkpoint.Size || !bytes.Equal(cp.Note, b.Checkpoint.Note) {
			t.Errorf("Checkpoint(%d) = {%d %q}, want %q", b.Checkpoint.Size, cp.Size, cp.Note, b.Checkpoint.Note)
		}
	}
	tiles, err := scanTiles(ctx, s, "a")
	if err != nil {
		t.Fatalf("ScanTiles: %v", err)
	}
	checkTiles(t, "ScanTiles", tiles, makeBatch("a", "id", 0, size).Tiles)
}

func testEmptyLog(t *testing.T, s store.Store) {
	ctx := t.Context()
	head, err := s.Head(ctx, "nobody")
	if err != nil || head.Size != 0 || head.Note != nil {
		t.Errorf("Head(unknown) = {%d %q}, %v; want zero checkpoint, nil", head.Size, head.Note, err)
	}
	if _, err := s.Checkpoint(ctx, "nobody", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Checkpoint(unknown, 0) = %v, want ErrNotFound", err)
	}
	if _, err := s.ReadTile(ctx, "nobody", 0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadTile(unknown) = %v, want ErrNotFound", err)
	}
	if got, err := s.ReadEntries(ctx, "nobody", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("ReadEntries(unknown) = %d entries, %v; want none", len(got), err)
	}
	if got, err := scanEntries(ctx, s, "nobody", 0, ^uint64(0)); err != nil || len(got) != 0 {
		t.Errorf("ScanEntries(unknown) = %d entries, %v; want none", len(got), err)
	}
	if got, err := scanCheckpoints(ctx, s, "nobody", ^uint64(0)); err != nil || len(got) != 0 {
		t.Errorf("ScanCheckpoints(unknown) = %d, %v; want none", len(got), err)
	}
	if got, err := scanTiles(ctx, s, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("ScanTiles(unknown) = %d, %v; want none", len(got), err)
	}
	if got, err := s.LookupIDs(ctx, "nobody", []string{"x"}); err != nil || len(got) != 0 {
		t.Errorf("LookupIDs(unknown) = %v, %v; want empty", got, err)
	}
	if got, err := s.Logs(ctx); err != nil || len(got) != 0 {
		t.Errorf("Logs() = %q, %v; want none", got, err)
	}
}

func testConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	// A new log has size 0: a batch that starts later conflicts.
	if err := s.Append(ctx, "a", makeBatch("a", "x", 5, 3)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Append(start 5) to empty log = %v, want ErrConflict", err)
	}
	checkUnchanged(t, s, "a", "id", 0)

	appendN(t, s, "a", "id", 10)
	for _, start := range []uint64{0, 9, 11, 1000} {
		err := s.Append(ctx, "a", makeBatch("a", "x", start, 3))
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("Append(start %d) to log of size 10 = %v, want ErrConflict", start, err)
		}
	}
	checkUnchanged(t, s, "a", "id", 10)
	// The conflict left the log usable.
	appendN(t, s, "a", "id", 5)
	checkUnchanged(t, s, "a", "id", 15)
}

func testDuplicateID(t *testing.T, s store.Store) {
	ctx := t.Context()

	// Twice in the first batch of a new log: the log is not created.
	b := makeBatch("a", "id", 0, 200)
	b.Entries[150].ID = b.Entries[3].ID
	if err := s.Append(ctx, "a", b); !errors.Is(err, store.ErrDuplicateID) {
		t.Errorf("Append(id twice in batch) = %v, want ErrDuplicateID", err)
	}
	checkUnchanged(t, s, "a", "id", 0)
	if logs, err := s.Logs(ctx); err != nil || len(logs) != 0 {
		t.Errorf("Logs() after failed first Append = %q, %v; want none", logs, err)
	}

	appendN(t, s, "a", "id", 300)

	// An id already in the log, late in a batch that crosses tiles.
	b = makeBatch("a", "id", 300, 250)
	b.Entries[249].ID = entryID("id", 7)
	if err := s.Append(ctx, "a", b); !errors.Is(err, store.ErrDuplicateID) {
		t.Errorf("Append(id already in log) = %v, want ErrDuplicateID", err)
	}
	checkUnchanged(t, s, "a", "id", 300)

	// Twice in a batch appended to an existing log.
	b = makeBatch("a", "id", 300, 20)
	b.Entries[19].ID = b.Entries[0].ID
	if err := s.Append(ctx, "a", b); !errors.Is(err, store.ErrDuplicateID) {
		t.Errorf("Append(id twice in batch) = %v, want ErrDuplicateID", err)
	}
	checkUnchanged(t, s, "a", "id", 300)

	// The failures left the log usable.
	appendN(t, s, "a", "id", 20)
	checkUnchanged(t, s, "a", "id", 320)
}

func testSameIDOtherLog(t *testing.T, s store.Store) {
	appendN(t, s, "a", "id", 10)
	appendN(t, s, "b", "id", 10) // same ids, other log
	checkUnchanged(t, s, "a", "id", 10)
	checkUnchanged(t, s, "b", "id", 10)
}

func testMalformedBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	appendN(t, s, "a", "id", 10)
	tests := []struct {
		name   string
		mangle func(b *store.Batch)
	}{
		{"no entries", func(b *store.Batch) { b.Entries = nil; b.Tiles = nil; b.Checkpoint.Size = 10 }},
		{"index gap", func(b *store.Batch) { b.Entries[2].Index++ }},
		{"index off start", func(b *store.Batch) { b.Entries[0].Index = 0 }},
		{"checkpoint size", func(b *store.Batch) { b.Checkpoint.Size-- }},
		{"tile hashes not whole", func(b *store.Batch) { b.Tiles[0].Hashes = b.Tiles[0].Hashes[:33] }},
		{"tile too wide", func(b *store.Batch) {
			b.Tiles[0].Hashes = bytes.Repeat([]byte{1}, (store.TileWidth+1)*store.HashSize)
		}},
		{"empty tile", func(b *store.Batch) { b.Tiles[0].Hashes = nil }},
	}
	for _, tt := range tests {
		b := makeBatch("a", "x", 10, 5)
		tt.mangle(&b)
		if err := s.Append(ctx, "a", b); err == nil {
			t.Errorf("Append(%s) = nil, want error", tt.name)
		}
	}
	checkUnchanged(t, s, "a", "id", 10)
}

func testTileGrows(t *testing.T, s store.Store) {
	ctx := t.Context()
	appendN(t, s, "a", "id", 3)
	tile, err := s.ReadTile(ctx, "a", 0, 0)
	if err != nil {
		t.Fatalf("ReadTile(0, 0): %v", err)
	}
	if tile.Width() != 3 {
		t.Errorf("ReadTile(0, 0).Width() = %d, want 3", tile.Width())
	}

	appendN(t, s, "a", "id", 300) // fills tile 0/0, starts 0/1
	tile, err = s.ReadTile(ctx, "a", 0, 0)
	if err != nil {
		t.Fatalf("ReadTile(0, 0): %v", err)
	}
	if want := makeTile(0, 0, store.TileWidth); tile.Level != 0 || tile.Index != 0 || !bytes.Equal(tile.Hashes, want.Hashes) {
		t.Errorf("ReadTile(0, 0) after growth has width %d, want full tile", tile.Width())
	}
	tile, err = s.ReadTile(ctx, "a", 0, 1)
	if err != nil {
		t.Fatalf("ReadTile(0, 1): %v", err)
	}
	if want := makeTile(0, 1, 303-store.TileWidth); !bytes.Equal(tile.Hashes, want.Hashes) {
		t.Errorf("ReadTile(0, 1).Width() = %d, want %d", tile.Width(), want.Width())
	}

	// A full tile is never replaced, nor a partial one by a narrower one.
	b := makeBatch("a", "id", 303, 1)
	full, narrow := makeTile(0, 0, store.TileWidth), makeTile(0, 1, 2)
	full.Hashes = bytes.Repeat([]byte{0xff}, len(full.Hashes))
	b.Tiles = append(b.Tiles, full, narrow)
	if err := s.Append(ctx, "a", b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	tiles, err := scanTiles(ctx, s, "a")
	if err != nil {
		t.Fatalf("ScanTiles: %v", err)
	}
	checkTiles(t, "ScanTiles after rewriting a full tile", tiles, makeBatch("a", "id", 0, 304).Tiles)

	// A higher-level partial tile grows too.
	b = makeBatch("a", "id", 304, 1)
	b.Tiles = append(b.Tiles, makeTile(1, 0, 1))
	if err := s.Append(ctx, "a", b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	b = makeBatch("a", "id", 305, 1)
	b.Tiles = append(b.Tiles, makeTile(1, 0, 2))
	if err := s.Append(ctx, "a", b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	tile, err = s.ReadTile(ctx, "a", 1, 0)
	if err != nil {
		t.Fatalf("ReadTile(1, 0): %v", err)
	}
	if want := makeTile(1, 0, 2); tile.Level != 1 || !bytes.Equal(tile.Hashes, want.Hashes) {
		t.Errorf("ReadTile(1, 0).Width() = %d, want 2", tile.Width())
	}
}
