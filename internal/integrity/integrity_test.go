package integrity

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/seal"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

type recorder struct {
	mu  sync.Mutex
	evs []*event.Event
}

func (r *recorder) record(_ context.Context, log string, ev *event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if log != SystemLog {
		panic("recorded to " + log)
	}
	r.evs = append(r.evs, ev)
	return nil
}

// TestRollback: a store restored from an older copy, whose tree is
// smaller than a checkpoint the watcher verified before, is a violation;
// so is a store with a changed entry; each is reported once.
func TestRollback(t *testing.T) {
	ctx := t.Context()
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	sealer, _ := seal.New(seal.Config{DigestKey: []byte("0123456789abcdef0123456789abcdef"),
		Clock: func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }})
	events := func(from, to int) []*event.Entry {
		var out []*event.Entry
		for i := from; i < to; i++ {
			ev := &event.Event{ID: string(rune('a' + i)), Time: time.Date(2026, 11, 23, 9, 0, i, 0, time.UTC), Type: "data.read", Actor: event.Actor{ID: "bob"}}
			e, err := sealer.Seal("acme", ev)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}
	open := func(name string, batches ...[]*event.Entry) *sqlite.DB {
		st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), name)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		led, err := ledger.New(ledger.Config{Store: st, Signer: signer})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			if _, err := led.Append(ctx, "acme", b); err != nil {
				t.Fatal(err)
			}
		}
		led.Close()
		return st
	}
	dir := t.TempDir()
	rec := &recorder{}
	watch := func(st *sqlite.DB) []Violation {
		w, err := New(Config{Store: st, Verifiers: note.VerifierList(verifier), Dir: dir, Record: rec.record,
			Origin: func(log string) string { return verify.Origin("test.example", log) }})
		if err != nil {
			t.Fatal(err)
		}
		v, err := w.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Pass(ctx); err != nil { // a second pass reports nothing new
			t.Fatal(err)
		}
		return v
	}
	old := events(0, 5)
	if v := watch(open("full.db", old, events(5, 10))); len(v) != 0 {
		t.Fatalf("a clean store: violations %+v", v)
	}
	v := watch(open("restored.db", old))
	if len(v) != 1 || v[0].Log != "acme" || v[0].Kind != string(verify.Rollback) {
		t.Errorf("a store restored from an older copy: violations %+v, want a rollback of acme", v)
	}
	if len(rec.evs) != 1 || rec.evs[0].Data["severity"] != "critical" || rec.evs[0].Data["rule"] != TypeViolation {
		t.Errorf("recorded %+v, want one critical violation", rec.evs)
	}
}

// TestTail: between two full passes, an entry committed after the last
// pass and then changed is caught by the tail check.
func TestTail(t *testing.T) {
	ctx := t.Context()
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	sealer, _ := seal.New(seal.Config{DigestKey: []byte("0123456789abcdef0123456789abcdef")})
	path := filepath.Join(t.TempDir(), "indelible.db")
	st, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	led, err := ledger.New(ledger.Config{Store: st, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	appendN := func(from, to int) {
		var es []*event.Entry
		for i := from; i < to; i++ {
			e, err := sealer.Seal("acme", &event.Event{ID: fmt.Sprint("e", i), Time: time.Date(2026, 11, 23, 9, 0, i, 0, time.UTC),
				Type: "data.read", Actor: event.Actor{ID: "bob"}, Message: fmt.Sprint("event ", i)})
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, e)
		}
		if _, err := led.Append(ctx, "acme", es); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	w, err := New(Config{Store: st, Verifiers: note.VerifierList(verifier), Dir: t.TempDir(), Record: rec.record,
		Origin: func(log string) string { return verify.Origin("test.example", log) }})
	if err != nil {
		t.Fatal(err)
	}
	appendN(0, 300)
	if v, err := w.Pass(ctx); err != nil || len(v) != 0 {
		t.Fatalf("Pass = %v, %v", v, err)
	}
	appendN(300, 320)
	if v, err := w.Tail(ctx); err != nil || len(v) != 0 {
		t.Fatalf("Tail after honest appends = %v, %v", v, err)
	}
	appendN(320, 340)
	// The attacker changes entry 330 before the tail check sees it.
	db, err := sqlite.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var body []byte
	if err := db.QueryRow("SELECT body FROM entries WHERE id = 'e330'").Scan(&body); err != nil {
		t.Fatal(err)
	}
	body = bytes.Replace(body, []byte("event 330"), []byte("Event 330"), 1)
	if _, err := db.Exec("UPDATE entries SET body = ? WHERE id = 'e330'", body); err != nil {
		t.Fatal(err)
	}
	v, err := w.Tail(ctx)
	if err != nil || len(v) != 1 || v[0].Index != 320 || v[0].Kind != string(verify.CheckpointRoot) {
		t.Errorf("Tail after tampering = %+v, %v; want a root mismatch from index 320", v, err)
	}
	if len(rec.evs) != 1 {
		t.Errorf("recorded %d violations, want 1", len(rec.evs))
	}
}
