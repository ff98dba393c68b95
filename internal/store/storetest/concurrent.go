package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// appendRetry appends n entries with ids "<prefix>-<k>" (k counting the
// writer's own entries) to log, sequencing again on ErrConflict as the
// ledger does. It runs off the test goroutine, so it reports with Errorf.
func appendRetry(ctx context.Context, t *testing.T, s store.Store, log, prefix string, k, n uint64) bool {
	for {
		head, err := s.Head(ctx, log)
		if err != nil {
			t.Errorf("Head(%q): %v", log, err)
			return false
		}
		b := store.Batch{Start: head.Size}
		for j := range n {
			i := head.Size + j
			b.Entries = append(b.Entries, store.Entry{Index: i, ID: entryID(prefix, k+j), Body: entryBody(i)})
		}
		b.Tiles = makeBatch(log, prefix, head.Size, n).Tiles
		b.Checkpoint = store.Checkpoint{Size: head.Size + n, Note: note(log, head.Size+n)}
		err = s.Append(ctx, log, b)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			t.Errorf("Append(%q, start %d): %v", log, head.Size, err)
			return false
		}
		return true
	}
}

func testConcurrentOneLog(t *testing.T, s store.Store) {
	const writers, batches, perBatch = 8, 10, 5
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			prefix := fmt.Sprintf("w%d", w)
			for k := range uint64(batches) {
				if !appendRetry(t.Context(), t, s, "a", prefix, k*perBatch, perBatch) {
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	const size = writers * batches * perBatch
	ctx := t.Context()
	head, err := s.Head(ctx, "a")
	if err != nil || head.Size != size {
		t.Fatalf("Head = %d, %v; want %d", head.Size, err, size)
	}
	entries, err := scanEntries(ctx, s, "a", 0, math.MaxUint64)
	if err != nil {
		t.Fatalf("ScanEntries: %v", err)
	}
	if len(entries) != size {
		t.Fatalf("ScanEntries returned %d entries, want %d", len(entries), size)
	}
	seen := map[string]bool{}
	for i, e := range entries {
		if e.Index != uint64(i) || string(e.Body) != string(entryBody(uint64(i))) {
			t.Fatalf("entry %d = {%d %q}, want a gap-free log", i, e.Index, e.Body)
		}
		if seen[e.ID] {
			t.Fatalf("entry %d: id %q stored twice", i, e.ID)
		}
		seen[e.ID] = true
	}
	cps, err := scanCheckpoints(ctx, s, "a", math.MaxUint64)
	if err != nil {
		t.Fatalf("ScanCheckpoints: %v", err)
	}
	if len(cps) != writers*batches {
		t.Errorf("ScanCheckpoints returned %d checkpoints, want one per batch (%d)", len(cps), writers*batches)
	}
	for k, cp := range cps {
		if want := uint64(k+1) * perBatch; cp.Size != want {
			t.Errorf("checkpoint %d has size %d, want %d", k, cp.Size, want)
		}
	}
	tiles, err := scanTiles(ctx, s, "a")
	if err != nil {
		t.Fatalf("ScanTiles: %v", err)
	}
	checkTiles(t, "ScanTiles", tiles, makeBatch("a", "", 0, size).Tiles)
}

func testConcurrentManyLogs(t *testing.T, s store.Store) {
	const logs, batches, perBatch = 4, 6, 20
	var wg sync.WaitGroup
	for l := range logs {
		// Two writers per log, each log at its own pace.
		for w := range 2 {
			wg.Go(func() {
				log := fmt.Sprintf("log-%d", l)
				prefix := fmt.Sprintf("w%d", w)
				for k := range uint64(batches) {
					if !appendRetry(t.Context(), t, s, log, prefix, k*perBatch, perBatch) {
						return
					}
				}
			})
		}
	}
	// Readers run alongside the writers and must only see whole batches.
	done := make(chan struct{})
	var readers sync.WaitGroup
	for l := range logs {
		readers.Go(func() {
			log := fmt.Sprintf("log-%d", l)
			for {
				select {
				case <-done:
					return
				case <-time.After(time.Millisecond): // leave the writers room
				}
				head, err := s.Head(t.Context(), log)
				if err != nil {
					t.Errorf("Head(%q): %v", log, err)
					return
				}
				if head.Size%perBatch != 0 {
					t.Errorf("Head(%q).Size = %d, not a whole number of batches", log, head.Size)
					return
				}
				entries, err := s.ReadEntries(t.Context(), log, 0, head.Size)
				if err != nil {
					t.Errorf("ReadEntries(%q): %v", log, err)
					return
				}
				if uint64(len(entries)) != head.Size {
					t.Errorf("ReadEntries(%q, 0, %d) returned %d entries after Head", log, head.Size, len(entries))
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if t.Failed() {
		return
	}

	ctx := t.Context()
	for l := range logs {
		log := fmt.Sprintf("log-%d", l)
		const size = 2 * batches * perBatch
		head, err := s.Head(ctx, log)
		if err != nil || head.Size != size {
			t.Errorf("Head(%q) = %d, %v; want %d", log, head.Size, err, size)
			continue
		}
		entries, err := s.ReadEntries(ctx, log, 0, math.MaxUint64)
		if err != nil || len(entries) != size {
			t.Errorf("ReadEntries(%q) = %d entries, %v; want %d", log, len(entries), err, size)
			continue
		}
		for i, e := range entries {
			if e.Index != uint64(i) {
				t.Errorf("log %q: entry %d has index %d", log, i, e.Index)
				break
			}
		}
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	appendN(t, s, "a", "id", 10)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if err := s.Append(ctx, "a", makeBatch("a", "id", 10, 5)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append(canceled) = %v, want context.Canceled", err)
	}
	checkUnchanged(t, s, "a", "id", 10)

	nop := func(any) error { return nil }
	calls := []struct {
		name string
		call func() error
	}{
		{"Head", func() error { _, err := s.Head(ctx, "a"); return err }},
		{"Checkpoint", func() error { _, err := s.Checkpoint(ctx, "a", 10); return err }},
		{"ScanCheckpoints", func() error {
			return s.ScanCheckpoints(ctx, "a", math.MaxUint64, func(c store.Checkpoint) error { return nop(c) })
		}},
		{"LookupIDs", func() error { _, err := s.LookupIDs(ctx, "a", []string{entryID("id", 1)}); return err }},
		{"ReadEntries", func() error { _, err := s.ReadEntries(ctx, "a", 0, 10); return err }},
		{"ScanEntries", func() error {
			return s.ScanEntries(ctx, "a", 0, math.MaxUint64, func(e store.Entry) error { return nop(e) })
		}},
		{"ReadTile", func() error { _, err := s.ReadTile(ctx, "a", 0, 0); return err }},
		{"ScanTiles", func() error { return s.ScanTiles(ctx, "a", func(t store.Tile) error { return nop(t) }) }},
		{"Logs", func() error { _, err := s.Logs(ctx); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s(canceled) = %v, want context.Canceled", c.name, err)
		}
	}

	// A scan whose context is canceled midway stops.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	appendN(t, s, "a", "id", 5000)
	var seen int
	err := s.ScanEntries(ctx, "a", 0, math.MaxUint64, func(store.Entry) error {
		seen++
		if seen == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || seen >= 5010 {
		t.Errorf("ScanEntries canceled after 10 entries = %v after %d calls, want context.Canceled before the end", err, seen)
	}
}
