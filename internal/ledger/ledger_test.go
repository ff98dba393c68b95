package ledger_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/seal"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

type env struct {
	st       store.Store
	signer   note.Signer
	verifier note.Verifier
	sealer   *seal.Sealer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "indelible.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	sealer, err := seal.New(seal.Config{DigestKey: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, signer: signer, verifier: verifier, sealer: sealer}
}

func (e *env) ledger(t testing.TB, cfg ledger.Config) *ledger.Ledger {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = e.st
	}
	cfg.Signer = e.signer
	l, err := ledger.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func sample(id string, n int) *event.Event {
	return &event.Event{
		ID:      id,
		Time:    time.Date(2026, 11, 23, 19, 40, 0, n*1000, time.UTC),
		Type:    "auth.login",
		Outcome: "failure",
		Actor:   event.Actor{ID: fmt.Sprintf("user-%d@example.com", n%17), IP: "203.0.113.7"},
		Data:    map[string]any{"attempt": fmt.Sprint(n)},
	}
}

func (e *env) seal(t testing.TB, log string, evs ...*event.Event) []*event.Entry {
	t.Helper()
	out := make([]*event.Entry, len(evs))
	for i, ev := range evs {
		en, err := e.sealer.Seal(log, ev)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = en
	}
	return out
}

// checkAppended checks that a's checkpoint is signed, and proves every
// result's inclusion in it with both proof checkers.
func (e *env) checkAppended(t *testing.T, l *ledger.Ledger, log string, a ledger.Appended) {
	t.Helper()
	cp, err := verify.OpenCheckpoint(a.Checkpoint, note.VerifierList(e.verifier), l.Origin(log))
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if cp.Size != a.Size {
		t.Fatalf("checkpoint size %d, Appended.Size %d", cp.Size, a.Size)
	}
	for _, r := range a.Results {
		if r.Index >= cp.Size {
			t.Fatalf("result index %d not in checkpoint of size %d", r.Index, cp.Size)
		}
		p, err := l.InclusionProof(context.Background(), log, r.Index, cp.Size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", r.Index, cp.Size, err)
		}
		if err := verify.Inclusion(r.Index, cp.Size, r.LeafHash, p, cp.Root); err != nil {
			t.Fatal(err)
		}
		rp := make(tlog.RecordProof, len(p))
		for i := range p {
			copy(rp[i][:], p[i])
		}
		if err := tlog.CheckRecord(rp, int64(cp.Size), cp.Root, int64(r.Index), r.LeafHash); err != nil {
			t.Fatalf("tlog.CheckRecord(%d, %d): %v", r.Index, cp.Size, err)
		}
	}
}

func (e *env) audit(t *testing.T, l *ledger.Ledger, log string) *verify.SignedCheckpoint {
	t.Helper()
	cp, err := ledger.AuditLog(context.Background(), e.st, log, ledger.AuditConfig{Origin: l.Origin(log), Verifiers: note.VerifierList(e.verifier)})
	if err != nil {
		t.Fatalf("AuditLog(%q): %v", log, err)
	}
	return cp
}

func TestAppendProveAudit(t *testing.T) {
	e := newEnv(t)
	l := e.ledger(t, ledger.Config{})
	ctx := context.Background()
	var cps []ledger.Appended
	n := 0
	for _, size := range []int{1, 2, 253, 300, 1, 700} {
		evs := make([]*event.Event, size)
		for i := range evs {
			evs[i] = sample(fmt.Sprintf("ev-%d", n), n)
			n++
		}
		a, err := l.Append(ctx, "acme", e.seal(t, "acme", evs...))
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Results[0].Index; got != uint64(n-size) {
			t.Fatalf("first index %d, want %d", got, n-size)
		}
		e.checkAppended(t, l, "acme", a)
		cps = append(cps, a)
	}
	// Consistency proofs between every pair of checkpoints.
	known := note.VerifierList(e.verifier)
	for i := range cps {
		for j := i; j < len(cps); j++ {
			old, _ := verify.OpenCheckpoint(cps[i].Checkpoint, known, "")
			cur, _ := verify.OpenCheckpoint(cps[j].Checkpoint, known, "")
			p, err := l.ConsistencyProof(ctx, "acme", old.Size, cur.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify.Consistency(old.Size, cur.Size, old.Root, cur.Root, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cp := e.audit(t, l, "acme"); cp.Size != uint64(n) {
		t.Fatalf("audit size %d, want %d", cp.Size, n)
	}
	if _, err := l.InclusionProof(ctx, "acme", 5, uint64(n+1)); !errors.Is(err, ledger.ErrBadRange) {
		t.Errorf("InclusionProof past the head = %v, want ErrBadRange", err)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	l := e.ledger(t, ledger.Config{})
	ctx := context.Background()
	first, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("a", 1), sample("b", 2)))
	if err != nil {
		t.Fatal(err)
	}
	// The same events again (sealed anew, so received_at differs): the
	// original results, nothing written.
	again, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("a", 1), sample("b", 2)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range first.Results {
		if r := again.Results[i]; !r.Duplicate || r.Index != first.Results[i].Index || r.LeafHash != first.Results[i].LeafHash {
			t.Errorf("retry result %d = %+v, want duplicate of %+v", i, r, first.Results[i])
		}
	}
	// A mix of old and new.
	mix, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("c", 3), sample("a", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if mix.Results[0].Index != 2 || mix.Results[0].Duplicate || !mix.Results[1].Duplicate || mix.Results[1].Index != 0 {
		t.Errorf("mixed append = %+v", mix.Results)
	}
	// Same id, other content: a conflict, and nothing of the call written.
	changed := sample("b", 2)
	changed.Outcome = "success"
	_, err = l.Append(ctx, "acme", e.seal(t, "acme", sample("d", 4), changed))
	var ce *ledger.ConflictError
	if !errors.As(err, &ce) || ce.ID != "b" || ce.Index != 1 {
		t.Fatalf("conflicting append = %v, want ConflictError for b at 1", err)
	}
	// The same id twice in one call.
	dup, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("e", 5), sample("e", 5)))
	if err != nil {
		t.Fatal(err)
	}
	if dup.Results[0].Index != dup.Results[1].Index || !dup.Results[1].Duplicate {
		t.Errorf("in-call duplicate = %+v", dup.Results)
	}
	if _, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("f", 5), sample("f", 6))); err == nil {
		t.Error("two different events with one id in one call were accepted")
	}
	// Ids are per log.
	other, err := l.Append(ctx, "other", e.seal(t, "other", sample("a", 1)))
	if err != nil || other.Results[0].Index != 0 || other.Results[0].Duplicate {
		t.Errorf("same id in another log = %+v, %v", other, err)
	}
	if cp := e.audit(t, l, "acme"); cp.Size != 4 {
		t.Errorf("log size %d, want 4 (a, b, c, e)", cp.Size)
	}
}

func TestConcurrentAppends(t *testing.T) {
	e := newEnv(t)
	l := e.ledger(t, ledger.Config{MaxBatch: 64})
	ctx := context.Background()
	const workers, per = 32, 40
	var mu sync.Mutex
	seen := map[uint64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				// Every worker also re-sends a shared id: exactly one wins.
				ids := []string{fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("shared-%d", i)}
				var entries []*event.Entry
				for _, id := range ids {
					en, err := e.sealer.Seal("acme", sample(id, i))
					if err != nil {
						errs <- err
						return
					}
					entries = append(entries, en)
				}
				a, err := l.Append(ctx, "acme", entries)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, r := range a.Results {
					if prev, ok := seen[r.Index]; ok && prev != r.ID {
						errs <- fmt.Errorf("index %d given to %s and %s", r.Index, prev, r.ID)
					}
					seen[r.Index] = r.ID
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := workers*per + per
	if len(seen) != want {
		t.Fatalf("%d distinct indexes, want %d", len(seen), want)
	}
	for i := 0; i < want; i++ {
		if _, ok := seen[uint64(i)]; !ok {
			t.Fatalf("index %d never acknowledged", i)
		}
	}
	if cp := e.audit(t, l, "acme"); cp.Size != uint64(want) {
		t.Fatalf("audit size %d, want %d", cp.Size, want)
	}
}

func TestRestartContinues(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	l1, err := ledger.New(ledger.Config{Store: e.st, Signer: e.signer})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if _, err := l1.Append(ctx, "acme", e.seal(t, "acme", sample(fmt.Sprint(i), i))); err != nil {
			t.Fatal(err)
		}
	}
	l1.Close()
	if _, err := l1.Append(ctx, "acme", e.seal(t, "acme", sample("late", 1))); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	l2 := e.ledger(t, ledger.Config{})
	a, err := l2.Append(ctx, "acme", e.seal(t, "acme", sample("next", 1), sample("5", 5)))
	if err != nil {
		t.Fatal(err)
	}
	if a.Results[0].Index != 300 || !a.Results[1].Duplicate || a.Results[1].Index != 5 {
		t.Fatalf("after restart: %+v", a.Results)
	}
	e.checkAppended(t, l2, "acme", a)
	e.audit(t, l2, "acme")
}

// twoNodes: two ledgers on one store (as two server processes on one
// database) never fork the tree.
func TestTwoLedgersOneStore(t *testing.T) {
	e := newEnv(t)
	ls := []*ledger.Ledger{e.ledger(t, ledger.Config{}), e.ledger(t, ledger.Config{})}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				id := fmt.Sprintf("w%d-%d", w, i%40) // some retries
				en, err := e.sealer.Seal("acme", sample(id, i%40))
				if err != nil {
					errs <- err
					return
				}
				a, err := ls[(w+i)%2].Append(ctx, "acme", []*event.Entry{en})
				if err != nil {
					errs <- err
					return
				}
				if a.Size <= a.Results[0].Index {
					errs <- fmt.Errorf("checkpoint size %d does not cover index %d", a.Size, a.Results[0].Index)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if cp := e.audit(t, ls[0], "acme"); cp.Size != 8*40 {
		t.Fatalf("size %d, want %d", cp.Size, 8*40)
	}
}

// faultyStore fails Append before or after the real commit.
type faultyStore struct {
	store.Store
	mu    sync.Mutex
	fails int  // how many Appends to fail
	after bool // commit, then report failure
}

func (f *faultyStore) Append(ctx context.Context, log string, b store.Batch) error {
	f.mu.Lock()
	fail := f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if !fail {
		return f.Store.Append(ctx, log, b)
	}
	if f.after {
		if err := f.Store.Append(ctx, log, b); err != nil {
			return err
		}
	}
	return errors.New("disk on fire")
}

func TestStoreFaults(t *testing.T) {
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("after=%v", after), func(t *testing.T) {
			e := newEnv(t)
			fs := &faultyStore{Store: e.st}
			l := e.ledger(t, ledger.Config{Store: fs})
			ctx := context.Background()
			if _, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("0", 0))); err != nil {
				t.Fatal(err)
			}
			fs.fails, fs.after = 1, after
			a, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("1", 1)))
			if after {
				// The commit reached the store: the ledger sees that and
				// acknowledges.
				if err != nil || a.Results[0].Index != 1 {
					t.Fatalf("append whose commit succeeded but reported failure = %+v, %v", a, err)
				}
			} else if err == nil {
				t.Fatal("append through a failing store succeeded")
			}
			// Appending goes on, and a retry of the failed event is safe.
			a, err = l.Append(ctx, "acme", e.seal(t, "acme", sample("1", 1), sample("2", 2)))
			if err != nil {
				t.Fatal(err)
			}
			if a.Results[0].Index != 1 || a.Results[1].Index != 2 {
				t.Fatalf("after the fault: %+v", a.Results)
			}
			e.checkAppended(t, l, "acme", a)
			e.audit(t, l, "acme")
		})
	}
}

func TestAppendErrors(t *testing.T) {
	e := newEnv(t)
	l := e.ledger(t, ledger.Config{})
	ctx := context.Background()
	if _, err := l.Append(ctx, "bad log", e.seal(t, "bad log", sample("x", 1))); err == nil {
		t.Error("append to an invalid log name succeeded")
	}
	if _, err := l.Append(ctx, "acme", e.seal(t, "other", sample("x", 1))); err == nil {
		t.Error("append of an entry sealed for another log succeeded")
	}
	big := sample("big", 1)
	big.Data = map[string]any{"blob": string(make([]byte, 70000))}
	if _, err := l.Append(ctx, "acme", e.seal(t, "acme", big)); !errors.Is(err, event.ErrEntryTooLarge) {
		t.Errorf("append of a 70 kB entry = %v, want ErrEntryTooLarge", err)
	}
	if _, err := l.Append(ctx, "acme", nil); err == nil {
		t.Error("empty append succeeded")
	}
}

func TestValidLogName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{{"acme", true}, {"_system", true}, {"a.b-c_d", true}, {"", false}, {".hidden", false}, {"-x", false}, {"a/b", false}, {"a b", false}, {string(make([]byte, 65)), false}} {
		if err := ledger.ValidLogName(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidLogName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestMaxWaitBatches(t *testing.T) {
	e := newEnv(t)
	l := e.ledger(t, ledger.Config{MaxWait: 100 * time.Millisecond, MaxBatch: 1000})
	ctx := context.Background()
	var wg sync.WaitGroup
	sizes := make(chan uint64, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.Append(ctx, "acme", e.seal(t, "acme", sample(fmt.Sprint(i), i)))
			if err != nil {
				t.Error(err)
				return
			}
			sizes <- a.Size
		}()
	}
	wg.Wait()
	close(sizes)
	distinct := map[uint64]bool{}
	for s := range sizes {
		distinct[s] = true
	}
	// 20 concurrent single appends within a 100 ms window share commits.
	if len(distinct) >= 20 {
		t.Errorf("20 appends made %d commits; want them batched", len(distinct))
	}
	e.audit(t, l, "acme")
}

func TestOnCommit(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var seen []uint64
	var groups []int // entries of each group commit to acme
	onGroup := func(log string, n int, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if took <= 0 {
			t.Errorf("group commit of %d took %v", n, took)
		}
		if log == "acme" {
			groups = append(groups, n)
		}
	}
	l := e.ledger(t, ledger.Config{OnGroupCommit: onGroup, OnCommit: func(log string, start uint64, entries []*event.Entry) {
		mu.Lock()
		defer mu.Unlock()
		if log != "acme" {
			return
		}
		if len(seen) > 0 && start != seen[len(seen)-1] {
			t.Errorf("commit starts at %d, the previous one ended at %d", start, seen[len(seen)-1])
		}
		// The entries are the committed ones: they encode to the stored
		// bytes, and decoding those gives them back.
		es, err := e.st.ReadEntries(context.Background(), "acme", start, start+uint64(len(entries)))
		if err != nil || len(es) != len(entries) {
			t.Errorf("ReadEntries = %d, %v", len(es), err)
		}
		for i := range es {
			body, err := entries[i].Canonical()
			if err != nil || string(es[i].Body) != string(body) {
				t.Errorf("entry %d differs from the stored entry (%v)", start+uint64(i), err)
			}
			d, err := event.DecodeEntry(es[i].Body)
			if err != nil || !reflect.DeepEqual(d, entries[i]) {
				t.Errorf("entry %d: decoding the stored bytes gives %+v (%v), not the committed %+v", start+uint64(i), d, err, entries[i])
			}
		}
		seen = append(seen, start+uint64(len(entries)))
	}})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		a, err := l.Append(ctx, "acme", e.seal(t, "acme", sample(fmt.Sprint(i), i), sample(fmt.Sprint(i+10), i)))
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		last := seen[len(seen)-1]
		mu.Unlock()
		if last != a.Size {
			t.Fatalf("OnCommit saw size %d before the answer with size %d", last, a.Size)
		}
	}
	// A pure retry commits nothing.
	if _, err := l.Append(ctx, "acme", e.seal(t, "acme", sample("0", 0))); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Errorf("OnCommit called %d times, want 3: %v", len(seen), seen)
	}
	if !reflect.DeepEqual(groups, []int{2, 2, 2}) {
		t.Errorf("group commits of %v entries, want 3 of 2", groups)
	}
}
