// Package storetest is the conformance suite for store.Store
// implementations. Every backend runs it unchanged from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
//	}
//
// The suite builds batches by hand: entry bodies, tile hashes and checkpoint
// notes are arbitrary bytes, since the store does not interpret them.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/a24ba333/indelible/internal/store"
)

// Run runs the conformance suite. newStore must return an empty store; Run
// closes it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"AppendReadBack", testAppendReadBack},
		{"EmptyLog", testEmptyLog},
		{"Conflict", testConflict},
		{"DuplicateID", testDuplicateID},
		{"SameIDOtherLog", testSameIDOtherLog},
		{"MalformedBatch", testMalformedBatch},
		{"TileGrows", testTileGrows},
		{"LogsIsolated", testLogsIsolated},
		{"EntryRanges", testEntryRanges},
		{"ScanStops", testScanStops},
		{"Checkpoints", testCheckpoints},
		{"Tiles", testTiles},
		{"LookupIDs", testLookupIDs},
		{"Logs", testLogs},
		{"ConcurrentOneLog", testConcurrentOneLog},
		{"ConcurrentManyLogs", testConcurrentManyLogs},
		{"CanceledContext", testCanceledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// entryID returns the idempotency key of entry i of a test log.
func entryID(prefix string, i uint64) string { return fmt.Sprintf("%s-%d", prefix, i) }

// entryBody returns the body of entry i.
func entryBody(i uint64) []byte { return fmt.Appendf(nil, "entry-%d", i) }

// leafHash stands in for the Merkle hash of entry i: the store does not
// check it, so any HashSize bytes do.
func leafHash(i uint64) []byte {
	h := sha256.Sum256(entryBody(i))
	return h[:]
}

// note stands in for the signed checkpoint of a tree of the given size.
func note(log string, size uint64) []byte {
	return fmt.Appendf(nil, "%s\n%d\nsignature\n", log, size)
}

// makeBatch builds the batch that grows log from start to start+n entries,
// with ids "<prefix>-<index>", the level-0 tiles it touches (partial ones
// included, as the ledger writes them) and a checkpoint.
func makeBatch(log, prefix string, start, n uint64) store.Batch {
	b := store.Batch{Start: start}
	for i := start; i < start+n; i++ {
		b.Entries = append(b.Entries, store.Entry{Index: i, ID: entryID(prefix, i), Body: entryBody(i)})
	}
	end := start + n
	if n > 0 {
		for idx := start / store.TileWidth; idx <= (end-1)/store.TileWidth; idx++ {
			b.Tiles = append(b.Tiles, makeTile(0, idx, min(end-idx*store.TileWidth, store.TileWidth)))
		}
	}
	b.Checkpoint = store.Checkpoint{Size: end, Note: note(log, end)}
	return b
}

// makeTile returns the tile (level, idx) holding width stand-in hashes.
func makeTile(level uint8, idx, width uint64) store.Tile {
	t := store.Tile{Level: level, Index: idx}
	for j := range width {
		h := leafHash(idx*store.TileWidth + j)
		h[0] ^= level // tiles of different levels differ
		t.Hashes = append(t.Hashes, h...)
	}
	return t
}

// appendN grows log from its current size by n entries with ids under prefix.
func appendN(t *testing.T, s store.Store, log, prefix string, n uint64) store.Batch {
	t.Helper()
	head, err := s.Head(t.Context(), log)
	if err != nil {
		t.Fatalf("Head(%q): %v", log, err)
	}
	b := makeBatch(log, prefix, head.Size, n)
	if err := s.Append(t.Context(), log, b); err != nil {
		t.Fatalf("Append(%q, [%d, %d)): %v", log, head.Size, head.Size+n, err)
	}
	return b
}

// checkEntries checks that got are the entries [start, end) written with
// ids under prefix.
func checkEntries(t *testing.T, what string, got []store.Entry, prefix string, start, end uint64) {
	t.Helper()
	if uint64(len(got)) != end-start {
		t.Errorf("%s: got %d entries, want %d", what, len(got), end-start)
		return
	}
	for k, e := range got {
		i := start + uint64(k)
		if e.Index != i || e.ID != entryID(prefix, i) || !bytes.Equal(e.Body, entryBody(i)) {
			t.Errorf("%s: entry %d = {%d %q %q}, want {%d %q %q}", what, k, e.Index, e.ID, e.Body, i, entryID(prefix, i), entryBody(i))
			return
		}
	}
}

// scanEntries collects ScanEntries into a slice.
func scanEntries(ctx context.Context, s store.Store, log string, start, end uint64) ([]store.Entry, error) {
	var got []store.Entry
	err := s.ScanEntries(ctx, log, start, end, func(e store.Entry) error {
		got = append(got, e)
		return nil
	})
	return got, err
}

// scanCheckpoints collects ScanCheckpoints into a slice.
func scanCheckpoints(ctx context.Context, s store.Store, log string, maxSize uint64) ([]store.Checkpoint, error) {
	var got []store.Checkpoint
	err := s.ScanCheckpoints(ctx, log, maxSize, func(c store.Checkpoint) error {
		got = append(got, c)
		return nil
	})
	return got, err
}

// scanTiles collects ScanTiles into a slice.
func scanTiles(ctx context.Context, s store.Store, log string) ([]store.Tile, error) {
	var got []store.Tile
	err := s.ScanTiles(ctx, log, func(t store.Tile) error {
		got = append(got, t)
		return nil
	})
	return got, err
}

// checkUnchanged checks that log still holds exactly size entries written
// with ids under prefix, the tiles and checkpoint of that size, and no
// trace of a failed batch.
func checkUnchanged(t *testing.T, s store.Store, log, prefix string, size uint64) {
	t.Helper()
	ctx := t.Context()
	head, err := s.Head(ctx, log)
	if err != nil {
		t.Fatalf("Head(%q): %v", log, err)
	}
	if head.Size != size {
		t.Errorf("Head(%q).Size = %d, want %d", log, head.Size, size)
	}
	if size > 0 && !bytes.Equal(head.Note, note(log, size)) {
		t.Errorf("Head(%q).Note = %q, want %q", log, head.Note, note(log, size))
	}
	entries, err := scanEntries(ctx, s, log, 0, ^uint64(0))
	if err != nil {
		t.Fatalf("ScanEntries(%q): %v", log, err)
	}
	checkEntries(t, "ScanEntries after failed Append", entries, prefix, 0, size)
	cps, err := scanCheckpoints(ctx, s, log, ^uint64(0))
	if err != nil {
		t.Fatalf("ScanCheckpoints(%q): %v", log, err)
	}
	if len(cps) > 0 && cps[len(cps)-1].Size != size {
		t.Errorf("newest checkpoint of %q has size %d, want %d", log, cps[len(cps)-1].Size, size)
	}
	if size == 0 && len(cps) != 0 {
		t.Errorf("ScanCheckpoints(%q) = %d checkpoints, want none", log, len(cps))
	}
	tiles, err := scanTiles(ctx, s, log)
	if err != nil {
		t.Fatalf("ScanTiles(%q): %v", log, err)
	}
	var want []store.Tile
	if size > 0 {
		want = makeBatch(log, prefix, 0, size).Tiles
	}
	checkTiles(t, "ScanTiles after failed Append", tiles, want)
}

// checkTiles checks that got equals want.
func checkTiles(t *testing.T, what string, got, want []store.Tile) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d tiles, want %d", what, len(got), len(want))
		return
	}
	for k := range got {
		g, w := got[k], want[k]
		if g.Level != w.Level || g.Index != w.Index || !bytes.Equal(g.Hashes, w.Hashes) {
			t.Errorf("%s: tile %d = %d/%d width %d, want %d/%d width %d", what, k, g.Level, g.Index, g.Width(), w.Level, w.Index, w.Width())
		}
	}
}
