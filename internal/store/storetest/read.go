package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/a24ba333/indelible/internal/store"
)

func testLogsIsolated(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	for round := range 3 {
		for l := range n {
			log := fmt.Sprintf("log-%d", l)
			appendN(t, s, log, log, uint64(l+1+round))
		}
	}
	for l := range n {
		log := fmt.Sprintf("log-%d", l)
		size := uint64(3*(l+1) + 3)
		checkUnchanged(t, s, log, log, size)
		ids, err := s.LookupIDs(ctx, log, []string{entryID(fmt.Sprintf("log-%d", (l+1)%n), 0)})
		if err != nil || len(ids) != 0 {
			t.Errorf("LookupIDs(%q, other log's id) = %v, %v; want empty", log, ids, err)
		}
	}
}

func testEntryRanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	appendN(t, s, "a", "id", 50)
	appendN(t, s, "b", "id", 70) // neighbours must not leak in
	tests := []struct {
		start, end uint64
		wantStart  uint64
		wantEnd    uint64
	}{
		{0, 50, 0, 50},
		{0, math.MaxUint64, 0, 50},
		{10, 20, 10, 20},
		{49, 50, 49, 50},
		{49, math.MaxUint64, 49, 50},
		{40, 1000, 40, 50},
		{0, 0, 0, 0},
		{20, 20, 20, 20},
		{30, 10, 30, 30}, // end before start: empty
		{50, 60, 50, 50},
		{1000, math.MaxUint64, 1000, 1000},
		{math.MaxUint64 - 1, math.MaxUint64, 0, 0},
	}
	for _, tt := range tests {
		want := fmt.Sprintf("[%d, %d)", tt.wantStart, tt.wantEnd)
		got, err := s.ReadEntries(ctx, "a", tt.start, tt.end)
		if err != nil {
			t.Errorf("ReadEntries(%d, %d): %v", tt.start, tt.end, err)
		} else {
			checkEntries(t, fmt.Sprintf("ReadEntries(%d, %d), want %s", tt.start, tt.end, want), got, "id", tt.wantStart, tt.wantEnd)
		}
		got, err = scanEntries(ctx, s, "a", tt.start, tt.end)
		if err != nil {
			t.Errorf("ScanEntries(%d, %d): %v", tt.start, tt.end, err)
		} else {
			checkEntries(t, fmt.Sprintf("ScanEntries(%d, %d), want %s", tt.start, tt.end, want), got, "id", tt.wantStart, tt.wantEnd)
		}
	}
}

func testScanStops(t *testing.T, s store.Store) {
	ctx := t.Context()
	appendN(t, s, "a", "id", 20)
	appendN(t, s, "a", "id", 300)
	stop := errors.New("stop")

	var seen int
	err := s.ScanEntries(ctx, "a", 0, math.MaxUint64, func(e store.Entry) error {
		seen++
		if e.Index == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 6 {
		t.Errorf("ScanEntries with fn failing at 5 = %v after %d calls, want %v after 6", err, seen, stop)
	}

	seen = 0
	err = s.ScanCheckpoints(ctx, "a", math.MaxUint64, func(store.Checkpoint) error { seen++; return stop })
	if !errors.Is(err, stop) || seen != 1 {
		t.Errorf("ScanCheckpoints with failing fn = %v after %d calls, want %v after 1", err, seen, stop)
	}

	seen = 0
	err = s.ScanTiles(ctx, "a", func(store.Tile) error { seen++; return stop })
	if !errors.Is(err, stop) || seen != 1 {
		t.Errorf("ScanTiles with failing fn = %v after %d calls, want %v after 1", err, seen, stop)
	}

	// Calling the store from inside fn works.
	err = s.ScanEntries(ctx, "a", 0, 3, func(e store.Entry) error {
		_, err := s.ReadEntries(ctx, "a", e.Index, e.Index+1)
		return err
	})
	if err != nil {
		t.Errorf("ScanEntries with fn reading the store: %v", err)
	}
}

func testCheckpoints(t *testing.T, s store.Store) {
	ctx := t.Context()
	sizes := []uint64{1, 3, 10, 11, 300}
	var prev uint64
	for _, size := range sizes {
		appendN(t, s, "a", "id", size-prev)
		prev = size
	}
	appendN(t, s, "b", "id", 2) // neighbours must not leak in
	for _, size := range sizes {
		cp, err := s.Checkpoint(ctx, "a", size)
		if err != nil || cp.Size != size || !bytes.Equal(cp.Note, note("a", size)) {
			t.Errorf("Checkpoint(%d) = {%d %q}, %v; want {%d %q}", size, cp.Size, cp.Note, err, size, note("a", size))
		}
	}
	for _, size := range []uint64{0, 2, 12, 301, math.MaxUint64} {
		if _, err := s.Checkpoint(ctx, "a", size); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Checkpoint(%d) = %v, want ErrNotFound", size, err)
		}
	}

	tests := []struct {
		maxSize uint64
		want    []uint64
	}{
		{0, nil},
		{1, []uint64{1}},
		{2, []uint64{1}},
		{10, []uint64{1, 3, 10}},
		{299, []uint64{1, 3, 10, 11}},
		{300, sizes},
		{math.MaxUint64, sizes},
	}
	for _, tt := range tests {
		cps, err := scanCheckpoints(ctx, s, "a", tt.maxSize)
		if err != nil {
			t.Errorf("ScanCheckpoints(%d): %v", tt.maxSize, err)
			continue
		}
		var got []uint64
		for _, cp := range cps {
			got = append(got, cp.Size)
			if !bytes.Equal(cp.Note, note("a", cp.Size)) {
				t.Errorf("ScanCheckpoints(%d): note of size %d = %q, want %q", tt.maxSize, cp.Size, cp.Note, note("a", cp.Size))
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ScanCheckpoints(%d) sizes = %v, want %v", tt.maxSize, got, tt.want)
		}
	}
}

func testTiles(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Tiles of several levels, written out of order.
	b := makeBatch("a", "id", 0, 600)
	b.Tiles = append([]store.Tile{makeTile(2, 0, 1), makeTile(1, 0, 2)}, b.Tiles...)
	if err := s.Append(ctx, "a", b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	appendN(t, s, "b", "id", 1) // neighbours must not leak in
	want := []store.Tile{makeTile(0, 0, 256), makeTile(0, 1, 256), makeTile(0, 2, 88), makeTile(1, 0, 2), makeTile(2, 0, 1)}
	got, err := scanTiles(ctx, s, "a")
	if err != nil {
		t.Fatalf("ScanTiles: %v", err)
	}
	checkTiles(t, "ScanTiles", got, want)
	for _, w := range want {
		tile, err := s.ReadTile(ctx, "a", w.Level, w.Index)
		if err != nil {
			t.Errorf("ReadTile(%d, %d): %v", w.Level, w.Index, err)
			continue
		}
		checkTiles(t, fmt.Sprintf("ReadTile(%d, %d)", w.Level, w.Index), []store.Tile{tile}, []store.Tile{w})
	}
	for _, k := range []struct {
		level uint8
		index uint64
	}{{0, 3}, {1, 1}, {3, 0}, {0, math.MaxUint64}} {
		if _, err := s.ReadTile(ctx, "a", k.level, k.index); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ReadTile(%d, %d) = %v, want ErrNotFound", k.level, k.index, err)
		}
	}
}

func testLookupIDs(t *testing.T, s store.Store) {
	ctx := t.Context()
	appendN(t, s, "a", "id", 2000)
	appendN(t, s, "b", "other", 10)
	var ids []string
	want := map[string]uint64{}
	for i := uint64(0); i < 2000; i += 3 {
		ids = append(ids, entryID("id", i))
		want[entryID("id", i)] = i
	}
	ids = append(ids, "absent", entryID("other", 1), entryID("id", 2000))
	got, err := s.LookupIDs(ctx, "a", ids)
	if err != nil {
		t.Fatalf("LookupIDs: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("LookupIDs returned %d ids, want %d", len(got), len(want))
	}
	for id, i := range want {
		if j, ok := got[id]; !ok || j != i {
			t.Errorf("LookupIDs[%q] = %d, %v; want %d", id, j, ok, i)
		}
	}
	if got, err := s.LookupIDs(ctx, "a", nil); err != nil || len(got) != 0 {
		t.Errorf("LookupIDs(nil) = %v, %v; want empty", got, err)
	}
}

func testLogs(t *testing.T, s store.Store) {
	names := []string{"zeta", "alpha", "Beta", "m/n", "alpha-2", "é"}
	for _, name := range names {
		appendN(t, s, name, "id", 1)
	}
	got, err := s.Logs(t.Context())
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Logs() = %q, want %q", got, want)
	}
}
