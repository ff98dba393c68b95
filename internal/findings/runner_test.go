package findings

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/index"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/seal"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/sqlite"
)

type memStates struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStates) Load(log string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[log], nil
}

func (s *memStates) Save(log string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[log] = append([]byte(nil), b...)
	return nil
}

type env struct {
	st     *sqlite.DB
	led    *ledger.Ledger
	sealer *seal.Sealer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvCommit(t, nil)
}

// newEnvCommit is newEnv with the ledger's OnCommit.
func newEnvCommit(t *testing.T, onCommit func(string, uint64, []*event.Entry)) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "indelible.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	skey, _, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.New(ledger.Config{Store: st, Signer: signer, OnCommit: onCommit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	sealer, err := seal.New(seal.Config{DigestKey: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	return &env{st, led, sealer}
}

func (e *env) append(t *testing.T, log string, evs ...*event.Event) {
	t.Helper()
	if err := e.record(t.Context(), log, evs); err != nil {
		t.Fatal(err)
	}
}

func (e *env) record(ctx context.Context, log string, evs []*event.Event) error {
	entries := make([]*event.Entry, len(evs))
	for i, ev := range evs {
		en, err := e.sealer.Seal(log, ev)
		if err != nil {
			return err
		}
		entries[i] = en
	}
	_, err := e.led.Append(ctx, log, entries)
	return err
}

func (e *env) runner(t *testing.T, states States) *Runner {
	t.Helper()
	r, err := NewRunner(RunnerConfig{Entries: e.st, States: states, Record: e.record, SaveEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// findingEntries returns the finding entries of log.
func (e *env) findingEntries(t *testing.T, log string) []Finding {
	t.Helper()
	es, err := e.st.ReadEntries(t.Context(), log, 0, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	var out []Finding
	for _, se := range es {
		en, err := event.ParseEntry(se.Body)
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := FromEntry(se.Index, en); ok {
			out = append(out, f)
		}
	}
	return out
}

func failedLogin(actor string, t time.Time) *event.Event {
	return &event.Event{Time: t, Type: "auth.login", Outcome: event.OutcomeFailure,
		Actor: event.Actor{ID: actor, IP: "203.0.113.9"}, Source: "sso"}
}

// TestRunnerResume: a burst of failed logins raises one finding, recorded
// as an entry; a restart from a state saved before it raises it again
// with the same id, which the ledger recognises: no finding is doubled.
func TestRunnerResume(t *testing.T) {
	e := newEnv(t)
	states := &memStates{m: map[string][]byte{}}
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	e.append(t, "acme", &event.Event{Time: base, Type: "data.read", Actor: event.Actor{ID: "bob"}, Source: "app"})
	r := e.runner(t, states)
	if err := r.Step(t.Context()); err != nil { // saves: the first save is due at once
		t.Fatal(err)
	}
	var burst []*event.Event
	for i := range 30 {
		burst = append(burst, failedLogin("alice@example.com", base.Add(time.Duration(i)*time.Second)))
	}
	e.append(t, "acme", burst...)
	if err := r.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := e.findingEntries(t, "acme")
	if len(got) != 2 || got[0].GroupKey != "actor:alice@example.com" || got[1].GroupKey != "ip:203.0.113.9" ||
		got[0].Detector != "failure_burst" || len(got[0].Evidence) == 0 {
		t.Fatalf("findings after the burst = %+v, want failure bursts for the actor and the IP, with evidence", got)
	}
	if err := r.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A restart from the state saved before the burst.
	r2 := e.runner(t, states)
	if err := r2.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	again := e.findingEntries(t, "acme")
	if len(again) != 2 || again[0].ID != got[0].ID || again[1].ID != got[1].ID {
		t.Errorf("findings after a restart = %+v, want the same two findings", again)
	}
	head, _ := e.st.Head(t.Context(), "acme")
	if lag := r2.Lag("acme"); lag != 0 {
		t.Errorf("Lag = %d after catching up with %d entries", lag, head.Size)
	}
	// The same burst again while the finding is open raises nothing new.
	var more []*event.Event
	for i := range 30 {
		more = append(more, failedLogin("alice@example.com", base.Add(time.Hour+time.Duration(i)*time.Second)))
	}
	e.append(t, "acme", more...)
	if err := r2.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.findingEntries(t, "acme")); n != 2 {
		t.Errorf("%d findings after a second burst while the first are open, want 2", n)
	}
}

// TestRunnerIgnoresFindings: finding entries are not analysed (no
// feedback), and quarantine logs are skipped.
func TestRunnerIgnoresFindings(t *testing.T) {
	e := newEnv(t)
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var evs []*event.Event
	for i := range 50 {
		ev := Event("acme", uint64(i), analyzeFinding(base.Add(time.Duration(i)*time.Second)), "")
		ev.Outcome = event.OutcomeFailure
		evs = append(evs, ev)
	}
	e.append(t, "acme", evs...)
	for i := range 30 {
		e.append(t, "acme.quarantine", failedLogin("mallory", base.Add(time.Duration(i)*time.Second)))
	}
	r := e.runner(t, &memStates{m: map[string][]byte{}})
	if err := r.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.findingEntries(t, "acme")); n != 50 {
		t.Errorf("%d finding entries, want the 50 written by the test", n)
	}
	if n := len(e.findingEntries(t, "acme.quarantine")); n != 0 {
		t.Errorf("the quarantine log got %d findings", n)
	}
}

func TestFindingRoundTrip(t *testing.T) {
	f := analyzeFinding(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	ev := Event("acme", 7, f, "sha256:ab")
	if err := ev.Validate(true); err != nil {
		t.Fatal(err)
	}
	s, _ := seal.New(seal.Config{DigestKey: []byte("0123456789abcdef0123456789abcdef")})
	en, err := s.Seal("acme", ev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := en.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := event.ParseEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := FromEntry(12, parsed)
	want := Finding{ID: ID("acme", f.Rule, f.GroupKey, 7), Log: "acme", Rule: f.Rule, Detector: f.Detector, Severity: f.Severity,
		GroupKey: f.GroupKey, Status: StatusOpen, OpenedAt: f.Time, Summary: f.Summary, Index: 12, Config: "sha256:ab",
		Evidence: []Evidence{{"acme", 1}, {"acme", 5}}}
	if !ok || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("FromEntry = %+v, want %+v", got, want)
	}
	if ID("acme", "r", "g", 1) == ID("acme", "r", "g", 2) || ID("a", "r", "g", 1) == ID("b", "r", "g", 1) {
		t.Error("ID does not depend on all its inputs")
	}
}

func analyzeFinding(t time.Time) analyze.Finding {
	return analyze.Finding{Rule: "failure-burst", Detector: "failure_burst", Severity: "high", GroupKey: "actor:x",
		Time: t, Summary: "10 failures", Evidence: []uint64{1, 5}}
}

// TestCheckBack resolves findings and follows them up on event time: a
// pattern that comes back reopens its finding ("recurred"), one that stops
// while the actor goes on is "effective", and an actor with no activity
// after the resolution is "inconclusive".
func TestCheckBack(t *testing.T) {
	e := newEnv(t)
	ix := openTestIndex(t, e)
	r, err := NewRunner(RunnerConfig{Entries: e.st, States: &memStates{m: map[string][]byte{}}, Record: e.record, FollowUp: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	step := func() {
		t.Helper()
		if err := r.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	find := func(group string) Finding {
		t.Helper()
		ix.catchUp(t)
		for _, f := range e.findingEntries(t, "acme") {
			if f.GroupKey == group {
				if err := Fold(t.Context(), ix, e.st, &f); err != nil {
					t.Fatal(err)
				}
				return f
			}
		}
		t.Fatalf("no finding for %s", group)
		return Finding{}
	}
	resolve := func(f Finding) {
		t.Helper()
		ev, err := Transition(f, Request{Action: ActionResolve, Taken: "locked the account"}, "admin", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		e.append(t, "acme", ev)
	}
	for _, who := range []string{"alice", "bob", "carol"} {
		var evs []*event.Event
		for i := range 12 {
			ev := failedLogin(who, base.Add(time.Duration(i)*time.Second))
			ev.Actor.IP = ""
			evs = append(evs, ev)
		}
		e.append(t, "acme", evs...)
	}
	step()
	for _, who := range []string{"alice", "bob", "carol"} {
		resolve(find("actor:" + who))
	}
	step()
	// alice starts again an hour later; bob logs in successfully; carol is gone.
	var later []*event.Event
	for i := range 12 {
		ev := failedLogin("alice", base.Add(time.Hour+time.Duration(i)*time.Second))
		ev.Actor.IP = ""
		later = append(later, ev)
	}
	later = append(later, &event.Event{Time: base.Add(2 * time.Hour), Type: "auth.login", Outcome: event.OutcomeSuccess, Actor: event.Actor{ID: "bob"}})
	// Time passes beyond the follow-up window.
	later = append(later, &event.Event{Time: base.Add(30 * time.Hour), Type: "data.read", Actor: event.Actor{ID: "dave"}})
	e.append(t, "acme", later...)
	step()
	for who, want := range map[string]struct {
		verdict, status string
	}{"alice": {VerdictRecurred, StatusOpen}, "bob": {VerdictEffective, StatusResolved}, "carol": {VerdictInconclusive, StatusResolved}} {
		f := find("actor:" + who)
		if len(f.Verdicts) != 1 || f.Verdicts[0].Verdict != want.verdict || f.Status != want.status {
			t.Errorf("%s: status %s, verdicts %+v; want %s and %s", who, f.Status, f.Verdicts, want.status, want.verdict)
		}
	}
	if f := find("actor:alice"); len(f.Verdicts) == 1 && len(f.Verdicts[0].Evidence) == 0 {
		t.Error("the recurrence has no evidence")
	}
	if n := len(e.findingEntries(t, "acme")); n != 3 {
		t.Errorf("%d findings, want 3: a recurrence reopens, it does not open another", n)
	}
}

// testIndex is a query index of the test store, brought up to date on
// demand.
type testIndex struct {
	*sqlite.IndexDB
	e *env
	x *index.Indexer
}

func openTestIndex(t *testing.T, e *env) *testIndex {
	t.Helper()
	ix, err := sqlite.OpenIndex(t.Context(), sqlite.IndexConfig{Path: filepath.Join(t.TempDir(), "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	x, err := index.New(index.Config{Store: e.st, Index: ix})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { x.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &testIndex{ix, e, x}
}

func (ix *testIndex) catchUp(t *testing.T) {
	t.Helper()
	head, err := ix.e.st.Head(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := ix.x.Wait(ctx, "acme", head.Size-1); err != nil {
		t.Fatal(err)
	}
}

// readCounter counts ReadEntries calls.
type readCounter struct {
	Entries
	reads, entries atomic.Int64
}

func (c *readCounter) ReadEntries(ctx context.Context, log string, start, end uint64) ([]store.Entry, error) {
	c.reads.Add(1)
	es, err := c.Entries.ReadEntries(ctx, log, start, end)
	c.entries.Add(int64(len(es)))
	return es, err
}

// offeredRun is a runner fed by Offer with the ledger's commits, less
// the last hold entries of each, beside a runner that replays the store,
// with the ids of the findings each raised.
type offeredRun struct {
	e                     *env
	offered, replay       *Runner
	reads                 *readCounter // the offered runner's store
	hold                  int
	fromMemory, fromStore []string
}

func newOfferedRun(t *testing.T) *offeredRun {
	o := &offeredRun{}
	o.e = newEnvCommit(t, func(log string, start uint64, es []*event.Entry) {
		if o.offered != nil {
			o.offered.Offer(log, start, es[:len(es)-o.hold])
		}
	})
	o.reads = &readCounter{Entries: o.e.st}
	var err error
	o.offered, err = NewRunner(RunnerConfig{Entries: o.reads, States: &memStates{m: map[string][]byte{}}, SaveEvery: time.Hour,
		Record: func(ctx context.Context, log string, evs []*event.Event) error {
			for _, ev := range evs {
				o.fromMemory = append(o.fromMemory, ev.ID)
			}
			o.hold = 0 // the findings are offered whole
			return o.e.record(ctx, log, evs)
		}})
	if err != nil {
		t.Fatal(err)
	}
	o.replay, err = NewRunner(RunnerConfig{Entries: o.e.st, States: &memStates{m: map[string][]byte{}}, SaveEvery: time.Hour,
		Record: func(_ context.Context, _ string, evs []*event.Event) error {
			for _, ev := range evs {
				o.fromStore = append(o.fromStore, ev.ID)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// checkReplay runs the replay and checks that it raised the findings
// that the offered runner raised, and that there were some.
func (o *offeredRun) checkReplay(t *testing.T) {
	t.Helper()
	if err := o.replay.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(o.fromMemory) == 0 || !slices.Equal(o.fromMemory, o.fromStore) {
		t.Errorf("findings from memory %v, from the store %v: want the same, and some", o.fromMemory, o.fromStore)
	}
}

// TestRunnerOffered: entries handed over by Offer are analysed from
// memory, without reading the store, and raise exactly the findings that
// analysing the stored entries raises.
func TestRunnerOffered(t *testing.T) {
	o := newOfferedRun(t)
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for round := range 4 {
		var evs []*event.Event
		for i := range 30 {
			at := base.Add(time.Duration(round)*time.Hour + time.Duration(i)*time.Second)
			evs = append(evs, failedLogin(fmt.Sprintf("user%d@example.com", round%2), at),
				&event.Event{Time: at, Type: "payment.sent", Actor: event.Actor{ID: "svc"}, Source: "billing",
					Data: map[string]any{"amount": json.Number("1.5"), "n": json.Number(fmt.Sprint(i))}})
		}
		o.e.append(t, "acme", evs...)
		if err := o.offered.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := o.reads.reads.Load(); n != 0 {
		t.Errorf("the runner read the store %d times for offered entries, want 0", n)
	}
	o.checkReplay(t)
}

// TestRunnerOfferedInPart: when the store holds entries that were not
// offered (the ledger offers a commit a moment after the store holds it;
// another writer's entries are never offered), the runner analyses what
// was offered from memory, reads only the rest, and raises the findings
// that a replay raises.
func TestRunnerOfferedInPart(t *testing.T) {
	o := newOfferedRun(t)
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var evs []*event.Event
	for i := range 40 {
		evs = append(evs, failedLogin("user@example.com", base.Add(time.Duration(i)*time.Second)))
	}
	o.hold = 15
	o.e.append(t, "acme", evs...)
	if err := o.offered.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := o.reads.entries.Load(); n != 15 {
		t.Errorf("the runner read %d entries from the store, want the 15 not offered", n)
	}
	o.checkReplay(t)
}
