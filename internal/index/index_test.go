package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

var base = time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)

// testEvent returns event i of a test log.
func testEvent(i uint64) event.Event {
	e := event.Event{
		ID:          fmt.Sprintf("ev-%d", i),
		Time:        base.Add(time.Duration(i) * 1500 * time.Millisecond),
		Type:        []string{"auth.login", "auth.logout", "data.read", "config.policy.update"}[i%4],
		Outcome:     []string{"success", "failure", "", "unknown", "success"}[i%5],
		Actor:       event.Actor{ID: fmt.Sprintf("user-%d@example.com", i%7), Type: "user"},
		Project:     "payments",
		Environment: []string{"production", "staging"}[i%2],
		Source:      "billing-api",
	}
	if i%3 != 0 {
		e.Resource = &event.Resource{Type: "account", ID: fmt.Sprintf("acct-%d", i%11)}
	}
	return e
}

// entryBytes returns the canonical bytes of entry i of log.
func entryBytes(t testing.TB, log string, i uint64) []byte {
	t.Helper()
	b, err := testEntry(log, i).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testEntry is the entry whose bytes entryBytes returns.
func testEntry(log string, i uint64) *event.Entry {
	digest := sha256.Sum256(fmt.Appendf(nil, "%s/%d", log, i))
	return &event.Entry{
		Event:      testEvent(i),
		Version:    event.EntryVersion,
		Log:        log,
		ReceivedAt: base.Add(time.Hour),
		Digest:     digest[:],
		Capture:    event.Capture{Level: event.CaptureFull},
	}
}

// appendEntries grows log by n test entries. The store checks no hashes
// or signatures, so the batch carries no tiles and a stand-in checkpoint.
func appendEntries(t testing.TB, st store.Store, log string, n uint64) {
	t.Helper()
	ctx := context.Background()
	head, err := st.Head(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	for start := head.Size; start < head.Size+n; start += 1000 {
		end := min(start+1000, head.Size+n)
		b := store.Batch{Start: start, Checkpoint: store.Checkpoint{Size: end, Note: fmt.Appendf(nil, "%s\n%d\n", log, end)}}
		for i := start; i < end; i++ {
			b.Entries = append(b.Entries, store.Entry{Index: i, ID: fmt.Sprintf("ev-%d", i), Body: entryBytes(t, log, i)})
		}
		if err := st.Append(ctx, log, b); err != nil {
			t.Fatal(err)
		}
	}
}

type env struct {
	dir   string
	st    *sqlite.DB
	ix    *sqlite.IndexDB
	index store.Index // ix, or a wrapper of it
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	var err error
	if e.st, err = sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(e.dir, "indelible.db")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.openIndex(t)
	return e
}

func (e *env) openIndex(t testing.TB) {
	t.Helper()
	ix, err := sqlite.OpenIndex(context.Background(), sqlite.IndexConfig{Path: filepath.Join(e.dir, "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	e.ix, e.index = ix, ix
	t.Cleanup(func() { ix.Close() })
}

// start runs an Indexer until the test ends or stop is called.
func (e *env) start(t testing.TB, batch int) (x *Indexer, stop func()) {
	t.Helper()
	x, err := New(Config{Store: e.st, Index: e.index, Batch: batch, Poll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(tLog{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := x.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
	stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(stop)
	return x, stop
}

// tLog routes log lines to t.Logf.
type tLog struct{ t testing.TB }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimSuffix(p, []byte("\n")))
	return len(p), nil
}

// checkRows checks that the index holds the rows of entries [0, n) of log.
func checkRows(t *testing.T, ix store.Index, log string, n uint64) {
	t.Helper()
	var got []store.IndexRow
	if err := ix.ScanIndex(t.Context(), log, 0, func(r store.IndexRow) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if uint64(len(got)) != n {
		t.Fatalf("index of %q has %d rows, want %d", log, len(got), n)
	}
	for i, r := range got {
		want, err := RowOf(uint64(i), entryBytes(t, log, uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(r, want); d != "" || r.Index != uint64(i) {
			t.Fatalf("row %d (index %d): %s", i, r.Index, d)
		}
	}
}

func TestRowOf(t *testing.T) {
	for i := range uint64(15) {
		r, err := RowOf(i, entryBytes(t, "acme", i))
		if err != nil {
			t.Fatal(err)
		}
		ev := testEvent(i)
		want := store.IndexRow{Index: i, Time: ev.Time, Type: ev.Type, Actor: ev.Actor.ID, Outcome: ev.Outcome,
			Project: ev.Project, Environment: ev.Environment, Source: ev.Source}
		if want.Outcome == "" {
			want.Outcome = "unknown"
		}
		if ev.Resource != nil {
			want.ResourceType, want.ResourceID = ev.Resource.Type, ev.Resource.ID
		}
		if r != want {
			t.Errorf("RowOf(%d) = %+v, want %+v", i, r, want)
		}
	}
	if _, err := RowOf(0, []byte(`{"not":"an entry"}`)); err == nil {
		t.Errorf("RowOf(not an entry) = nil error")
	}
}

func TestIndexerFollows(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	x, _ := e.start(t, 64)
	for round := range 5 {
		for _, log := range []string{"acme", "globex"} {
			appendEntries(t, e.st, log, uint64(100+round))
			head, _ := e.st.Head(ctx, log)
			x.Notify(log)
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := x.Wait(wctx, log, head.Size-1)
			cancel()
			if err != nil {
				t.Fatalf("Wait(%q, %d): %v", log, head.Size-1, err)
			}
			// Read-your-writes: the answer covers the last entry.
			got, wm, err := e.ix.QueryIndex(ctx, store.IndexQuery{Log: log, Limit: 1})
			if err != nil || wm < head.Size || !slices.Equal(got, []uint64{head.Size - 1}) {
				t.Fatalf("QueryIndex(%q) after Wait = %v, %d, %v; want [%d], watermark %d", log, got, wm, err, head.Size-1, head.Size)
			}
			if lag, err := x.Lag(ctx, log); err != nil || lag != 0 {
				t.Errorf("Lag(%q) = %d, %v; want 0", log, lag, err)
			}
		}
	}
	got, _, err := e.ix.QueryIndex(ctx, store.IndexQuery{Log: "acme", Actor: "user-3@example.com", TypePrefix: "auth", Limit: 5})
	if err != nil || len(got) != 5 {
		t.Fatalf("QueryIndex(acme, actor, type) = %v, %v", got, err)
	}
	for _, i := range got {
		if ev := testEvent(i); ev.Actor.ID != "user-3@example.com" || !strings.HasPrefix(ev.Type, "auth.") {
			t.Errorf("QueryIndex returned %d, an event of %s of type %s", i, ev.Actor.ID, ev.Type)
		}
	}
	for _, log := range []string{"acme", "globex"} {
		checkRows(t, e.ix, log, 510)
		if err := Check(ctx, e.st, e.ix, log); err != nil {
			t.Errorf("Check(%q) = %v", log, err)
		}
	}
}

func TestIndexerPolls(t *testing.T) {
	e := newEnv(t)
	x, _ := e.start(t, 0)
	appendEntries(t, e.st, "acme", 10) // no Notify: the poll finds it
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := x.Wait(ctx, "acme", 9); err != nil {
		t.Fatal(err)
	}
}

func TestWaitTimeout(t *testing.T) {
	e := newEnv(t)
	x, _ := e.start(t, 0)
	appendEntries(t, e.st, "acme", 10)
	if err := x.Wait(t.Context(), "acme", 9); err != nil {
		t.Fatal(err)
	}
	if lag, err := x.Lag(t.Context(), "acme"); err != nil || lag != 0 {
		t.Errorf("Lag = %d, %v; want 0", lag, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := x.Wait(ctx, "acme", 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait for an entry not yet committed = %v, want context.DeadlineExceeded", err)
	}
}

// faultyIndex stops the indexer after some writes: before or after the
// write reaches the index, as a crash would.
type faultyIndex struct {
	store.Index
	mu     sync.Mutex
	writes int
	after  int  // writes that succeed
	commit bool // whether the failing write is committed anyway
	stop   func()
}

var errCrash = errors.New("crash")

func (f *faultyIndex) WriteIndex(ctx context.Context, log string, from uint64, rows []store.IndexRow) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes++
	if f.writes <= f.after {
		return f.Index.WriteIndex(ctx, log, from, rows)
	}
	if f.writes == f.after+1 && f.commit {
		if err := f.Index.WriteIndex(ctx, log, from, rows); err != nil {
			return err
		}
	}
	f.stop()
	return errCrash
}

func TestIndexerResumes(t *testing.T) {
	for _, commit := range []bool{false, true} {
		t.Run(fmt.Sprintf("committed=%v", commit), func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			appendEntries(t, e.st, "acme", 3000)
			f := &faultyIndex{Index: e.ix, after: 7, commit: commit}
			e.index = f
			stopped := make(chan struct{})
			f.stop = sync.OnceFunc(func() { close(stopped) })
			_, stop := e.start(t, 100)
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
				t.Fatal("the indexer did not reach the fault")
			}
			stop()
			want := uint64(700) // 7 writes of 100
			if commit {
				want = 800
			}
			wm, err := e.ix.IndexWatermark(ctx, "acme")
			if err != nil || wm != want {
				t.Fatalf("watermark after the fault = %d, %v; want %d", wm, err, want)
			}
			if err := Check(ctx, e.st, e.ix, "acme"); err != nil {
				t.Errorf("Check after the fault = %v", err)
			}

			// A new process: reopen the index, resume from its watermark.
			e.ix.Close()
			e.openIndex(t)
			x, _ := e.start(t, 100)
			if lag, err := x.Lag(ctx, "acme"); err != nil || lag > 3000-wm {
				t.Errorf("Lag after restart = %d, %v; want at most %d", lag, err, 3000-wm)
			}
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := x.Wait(wctx, "acme", 2999); err != nil {
				t.Fatal(err)
			}
			checkRows(t, e.ix, "acme", 3000)
			if err := Check(ctx, e.st, e.ix, "acme"); err != nil {
				t.Errorf("Check after resuming = %v", err)
			}
		})
	}
}

// TestCheckDamage damages a real index file with SQL, as someone hiding
// events from queries would, and checks that Check names the first bad
// index.
func TestCheckDamage(t *testing.T) {
	const size = 1000
	tests := []struct {
		name   string
		sql    []string
		index  uint64
		detail string
	}{
		{"row deleted", []string{"DELETE FROM rows WHERE idx = 437"}, 437, "query index has no row for 437"},
		{"rows deleted at the end", []string{"DELETE FROM rows WHERE idx >= 990"}, 990, "query index has no row for 990"},
		{"actor changed", []string{
			"INSERT INTO dict (kind, value) VALUES (2, 'mallory')",
			"UPDATE rows SET actor = (SELECT id FROM dict WHERE value = 'mallory') WHERE idx = 437",
		}, 437, `query index row for 437 says actor "mallory", the entry says "user-3@example.com"`},
		{"outcome changed", []string{"UPDATE rows SET outcome = 1 WHERE idx = 501"}, 501, `says outcome "success", the entry says "failure"`},
		{"time changed", []string{"UPDATE rows SET time = time - 1500 WHERE idx = 600"}, 600, "says time 2026-11-23T19:54:58.500Z, the entry says 2026-11-23T19:55:00.000Z"},
		{"time moved out of its block's summary", []string{"UPDATE rows SET time = time + 3600000 WHERE idx = 600"}, 600, "leaves out this row's time"},
		{"resource dropped", []string{"UPDATE rows SET resource = 0 WHERE idx = 77"}, 77, `says resource id "", the entry says "acct-0"`},
		{"dictionary value changed", []string{"UPDATE dict SET value = 'mallory' WHERE kind = 2 AND value = 'user-5@example.com'"}, 5, `says actor "mallory", the entry says "user-5@example.com"`},
		{"dictionary kind changed", []string{"UPDATE dict SET kind = 1 WHERE kind = 2 AND value = 'user-2@example.com'"}, 2, "query index: its actor is dictionary id"},
		{"time summary narrowed", []string{"UPDATE blocks SET min_time = min_time + 1"}, 0, "time-range queries skip"},
		{"row added past the log", []string{
			"INSERT INTO rows SELECT log, 1005, time, type, actor, rtype, resource, outcome, project, environment, source FROM rows WHERE idx = 5",
		}, 1005, "query index has a row for 1005 past the log (size 1000)"},
		{"watermark past the log", []string{"UPDATE logs SET watermark = 1200"}, 1000, "query index covers 1200 entries, the log has 1000"},
		{"watermark lowered", []string{"UPDATE logs SET watermark = 900"}, 900, "query index has a row for 900 past its watermark 900"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			appendEntries(t, e.st, "acme", size)
			appendEntries(t, e.st, "other", 10)
			x, stop := e.start(t, 0)
			if err := x.Wait(ctx, "acme", size-1); err != nil {
				t.Fatal(err)
			}
			if err := x.Wait(ctx, "other", 9); err != nil {
				t.Fatal(err)
			}
			stop()
			if err := Check(ctx, e.st, e.ix, "acme"); err != nil {
				t.Fatalf("Check before the damage = %v", err)
			}
			db, err := sqlite.OpenFile(filepath.Join(e.dir, "index.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, s := range tt.sql {
				if _, err := db.ExecContext(ctx, strings.ReplaceAll(s, "FROM rows WHERE", "FROM rows WHERE log = 1 AND")); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			err = Check(ctx, e.st, e.ix, "acme")
			ve, ok := errors.AsType[*verify.Error](err)
			if !ok || ve.Log != "acme" || ve.Index != tt.index || ve.Kind != verify.ColumnMismatch || !strings.Contains(ve.Detail, tt.detail) {
				t.Errorf("Check = %v;\nwant a column mismatch at %d saying %q", err, tt.index, tt.detail)
			}
		})
	}
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// BenchmarkRowOf measures the parsing of one entry into its row.
func BenchmarkRowOf(b *testing.B) {
	body := entryBytes(b, "acme", 1)
	for b.Loop() {
		if _, err := RowOf(1, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexer measures the whole path from committed entries to index
// rows: scanning, parsing and writing 100,000 entries.
func BenchmarkIndexer(b *testing.B) {
	const n = 100_000
	e := newEnv(b)
	appendEntries(b, e.st, "acme", n)
	var total uint64
	for b.Loop() {
		b.StopTimer()
		e.ix.Close()
		for _, s := range []string{"", "-wal", "-shm"} {
			if err := removeIfExists(filepath.Join(e.dir, "index.db"+s)); err != nil {
				b.Fatal(err)
			}
		}
		e.openIndex(b)
		x, err := New(Config{Store: e.st, Index: e.ix})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for more := true; more; {
			if more, err = x.catchUp(b.Context(), "acme", 1<<30); err != nil {
				b.Fatal(err)
			}
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "entries/s")
}

// scanCounter counts ScanEntries calls of a store.
type scanCounter struct {
	store.Store
	scans, entries atomic.Int64
}

func (s *scanCounter) ScanEntries(ctx context.Context, log string, start, end uint64, fn func(store.Entry) error) error {
	s.scans.Add(1)
	return s.Store.ScanEntries(ctx, log, start, end, func(e store.Entry) error {
		s.entries.Add(1)
		return fn(e)
	})
}

// TestOfferedEntriesAreNotReadBack: entries handed over by Offer are
// indexed from memory; those not offered are read from the store; the
// result is the same index either way.
func TestOfferedEntriesAreNotReadBack(t *testing.T) {
	e := newEnv(t)
	sc := &scanCounter{Store: e.st}
	x, err := New(Config{Store: sc, Index: e.index, Batch: 100, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	defer func() { cancel(); <-done }()

	before := sc.scans.Load()
	const log = "acme"
	for start := uint64(0); start < 500; start += 100 {
		// Offered first, as the ledger does before it answers: whenever
		// the indexer looks, what the store holds was offered.
		entries := make([]*event.Entry, 100)
		for i := range entries {
			entries[i] = testEntry(log, start+uint64(i))
		}
		x.Offer(log, start, entries)
		appendEntries(t, e.st, log, 100)
		x.Notify(log)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := x.Wait(wctx, log, 499); err != nil {
		t.Fatal(err)
	}
	if n := sc.scans.Load() - before; n != 0 {
		t.Errorf("indexing offered entries read the store %d times, want 0", n)
	}
	// Entries committed by another writer (not offered) are read back.
	appendEntries(t, e.st, log, 50)
	x.Notify(log)
	if err := x.Wait(wctx, log, 549); err != nil {
		t.Fatal(err)
	}
	if sc.scans.Load() == before {
		t.Error("entries that were not offered were not read from the store")
	}
	checkRows(t, e.ix, log, 550)
	if err := Check(context.Background(), e.st, e.ix, log); err != nil {
		t.Fatal(err)
	}

	// The store holds a commit a moment before the ledger offers it: the
	// indexer takes the part of its batch that was offered from memory
	// and reads only the rest.
	before = sc.entries.Load()
	entries := make([]*event.Entry, 60)
	for i := range entries {
		entries[i] = testEntry(log, 550+uint64(i))
	}
	x.Offer(log, 550, entries)
	appendEntries(t, e.st, log, 100)
	x.Notify(log)
	if err := x.Wait(wctx, log, 649); err != nil {
		t.Fatal(err)
	}
	if n := sc.entries.Load() - before; n != 40 {
		t.Errorf("indexing 100 entries of which 60 were offered read %d from the store, want the 40 others", n)
	}
	checkRows(t, e.ix, log, 650)
	if err := Check(context.Background(), e.st, e.ix, log); err != nil {
		t.Fatal(err)
	}
}
