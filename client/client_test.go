package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/verify"
)

// testLogger routes the client's logs to t.Logf.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newClient returns a client of l with a pinned key and fast retries.
func newClient(t *testing.T, l *testLog, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithLog(l.log), WithVerifierKey(l.vkey), WithLogger(testLogger(t)),
		WithRetry(5, time.Millisecond, 10*time.Millisecond),
	}
	c, err := New(l.srv.URL, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Close(ctx)
	})
	return c
}

var testTime = time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)

func testEvent(i int) *event.Event {
	return &event.Event{
		Time:     testTime.Add(time.Duration(i) * time.Second),
		Type:     "auth.login",
		Outcome:  event.OutcomeSuccess,
		Actor:    event.Actor{ID: fmt.Sprintf("user-%d@example.com", i), IP: "203.0.113.7"},
		Resource: &event.Resource{Type: "account", ID: fmt.Sprintf("acct-%d", i)},
	}
}

func testEvents(from, n int) []*event.Event {
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = testEvent(from + i)
	}
	return evs
}

func TestAppend(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l, WithBatching(10, time.Hour))
	ctx := context.Background()
	evs := testEvents(0, 25)
	evs[3].ID = "evt-3"
	res, cp, err := c.Append(ctx, evs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(res) != 25 || cp == nil || cp.Size != 25 {
		t.Fatalf("Append: %d results, checkpoint %+v; want 25 results and size 25", len(res), cp)
	}
	for i, r := range res {
		if r.Index != uint64(i) || r.Duplicate || r.ID != evs[i].ID || r.ID == "" {
			t.Errorf("result %d = %+v, want index %d and id %q", i, r, i, evs[i].ID)
		}
	}
	if res[3].ID != "evt-3" {
		t.Errorf("result 3 id = %q, want the caller's id evt-3", res[3].ID)
	}
	if _, batches := l.counts(); fmt.Sprint(batches) != "[10 10 5]" {
		t.Errorf("requests of %v events, want [10 10 5] (split at the batch size)", batches)
	}
	// Appending the same events again gives the original results.
	res2, cp2, err := c.Append(ctx, evs[:4])
	if err != nil {
		t.Fatalf("Append again: %v", err)
	}
	for i, r := range res2 {
		if !r.Duplicate || r.Index != uint64(i) {
			t.Errorf("resent result %d = %+v, want a duplicate at index %d", i, r, i)
		}
	}
	if cp2.Size != 25 {
		t.Errorf("checkpoint after resending: size %d, want 25", cp2.Size)
	}
	got, err := c.Checkpoint(ctx)
	if err != nil || got.Size != 25 || got.Root != cp.Root {
		t.Errorf("Checkpoint() = %+v, %v; want size 25 and root %x", got, err, cp.Root)
	}
}

func TestAppendInvalid(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l)
	evs := testEvents(0, 2)
	evs[1].Actor.ID = ""
	if _, _, err := c.Append(context.Background(), evs); err == nil || !strings.Contains(err.Error(), "event 1") {
		t.Errorf("Append(invalid) = %v, want an error about event 1", err)
	}
	if posts, _ := l.counts(); posts != 0 {
		t.Errorf("%d requests sent for invalid events, want 0", posts)
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l)
	evs := testEvents(0, 3)
	evs[2].Type = "data.export" // the server wants data.rows
	_, _, err := c.Append(context.Background(), evs)
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("Append = %v, want an *APIError", err)
	}
	if ae.Status != http.StatusUnprocessableEntity || len(ae.Details) != 1 ||
		ae.Details[0] != (Detail{Item: 2, Path: "/data/rows", Message: "is required"}) {
		t.Errorf("APIError = %+v, want 422 with item 2 /data/rows", ae)
	}
	if posts, _ := l.counts(); posts != 1 {
		t.Errorf("%d requests, want 1 (no retry of a 4xx)", posts)
	}
	if l.size() != 0 {
		t.Errorf("log size %d, want 0", l.size())
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		fault     func(l *testLog)
		wantPosts int
		wantDup   bool
		minDelay  time.Duration
	}{
		{"503", func(l *testLog) { l.fail503, l.retryAfter = 2, "0" }, 3, false, 0},
		{"503 Retry-After", func(l *testLog) { l.fail503, l.retryAfter = 1, "1" }, 2, false, time.Second},
		{"connection dropped before commit", func(l *testLog) { l.dropBefore = 2 }, 3, false, 0},
		// The first attempt is committed but its answer is lost: the
		// retry carries the same ids, so the events are not appended
		// twice and the answer is the original results.
		{"connection dropped after commit", func(l *testLog) { l.dropAfter = 1 }, 2, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog(t)
			c := newClient(t, l)
			tt.fault(l)
			start := time.Now()
			res, cp, err := c.Append(context.Background(), testEvents(0, 5))
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if d := time.Since(start); d < tt.minDelay {
				t.Errorf("Append took %v, want at least %v (Retry-After)", d, tt.minDelay)
			}
			posts, _ := l.counts()
			if posts != tt.wantPosts {
				t.Errorf("%d requests, want %d", posts, tt.wantPosts)
			}
			if l.size() != 5 || cp.Size != 5 {
				t.Errorf("log size %d, checkpoint size %d; want 5 (appended once)", l.size(), cp.Size)
			}
			for i, r := range res {
				if r.Index != uint64(i) || r.Duplicate != tt.wantDup {
					t.Errorf("result %d = %+v, want index %d, duplicate %v", i, r, i, tt.wantDup)
				}
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			for i := 1; i < len(l.ids); i++ {
				if fmt.Sprint(l.ids[i]) != fmt.Sprint(l.ids[0]) {
					t.Errorf("attempt %d sent ids %v, attempt 1 sent %v: want the same ids", i+1, l.ids[i], l.ids[0])
				}
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l, WithRetry(3, time.Millisecond, time.Millisecond))
	l.fail503, l.retryAfter = 100, "0"
	_, _, err := c.Append(context.Background(), testEvents(0, 1))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Fatalf("Append = %v, want a 503 *APIError", err)
	}
	if posts, _ := l.counts(); posts != 3 {
		t.Errorf("%d requests, want 3", posts)
	}
}

func TestVerificationFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault func(l *testLog)
		want  error
	}{
		{"bad inclusion proof", func(l *testLog) { l.badProof = true }, ErrBadProof},
		{"wrong leaf hash", func(l *testLog) { l.badLeafHash = true }, ErrBadProof},
		{"checkpoint signed by another key", func(l *testLog) { l.wrongSigner = l.otherSigner() }, ErrBadCheckpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog(t)
			c := newClient(t, l)
			if _, _, err := c.Append(context.Background(), testEvents(0, 3)); err != nil {
				t.Fatalf("Append before the fault: %v", err)
			}
			tt.fault(l)
			res, cp, err := c.Append(context.Background(), testEvents(3, 3))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Append = %v, want %v", err, tt.want)
			}
			if cp != nil || len(res) != 3 {
				t.Errorf("Append returned checkpoint %v and %d results, want none and the 3 unverified results", cp, len(res))
			}
		})
	}
}

func TestCheckpointWrongKey(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l)
	l.wrongSigner = l.otherSigner()
	if _, err := c.Checkpoint(context.Background()); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("Checkpoint() = %v, want ErrBadCheckpoint", err)
	}
	other := newTestLog(t) // same name, other key, other server
	c2 := newClient(t, l, WithVerifierKey(other.vkey))
	l.wrongSigner = nil
	if _, err := c2.Checkpoint(context.Background()); !errors.Is(err, ErrBadCheckpoint) {
		t.Errorf("Checkpoint() with another pinned key = %v, want ErrBadCheckpoint", err)
	}
}

func TestInconsistent(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		fault    func(t *testing.T, l *testLog)
		op       func(c *Client) error
		old, new uint64
	}{
		{
			name:  "rolled back, seen by Checkpoint",
			fault: func(t *testing.T, l *testLog) { l.truncate(2) },
			op:    func(c *Client) error { _, err := c.Checkpoint(ctx); return err },
			old:   5, new: 2,
		},
		{
			name:  "rolled back, seen by Append",
			fault: func(t *testing.T, l *testLog) { l.truncate(2) },
			op:    func(c *Client) error { _, _, err := c.Append(ctx, testEvents(100, 1)); return err },
			old:   3, new: 5, // the new tree of size 3 cannot be proved into the size 5 seen before
		},
		{
			name: "forked, seen by Append",
			fault: func(t *testing.T, l *testLog) {
				l.truncate(2)
				l.addRaw(t, testEvents(50, 4)...)
			},
			op:  func(c *Client) error { _, _, err := c.Append(ctx, testEvents(100, 1)); return err },
			old: 5, new: 7,
		},
		{
			name: "forked at the same size, seen by Checkpoint",
			fault: func(t *testing.T, l *testLog) {
				l.truncate(4)
				l.addRaw(t, testEvent(60))
			},
			op:  func(c *Client) error { _, err := c.Checkpoint(ctx); return err },
			old: 5, new: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog(t)
			c := newClient(t, l)
			if _, _, err := c.Append(ctx, testEvents(0, 5)); err != nil {
				t.Fatalf("Append: %v", err)
			}
			tt.fault(t, l)
			err := tt.op(c)
			var ie *InconsistentError
			if !errors.Is(err, ErrInconsistent) || !errors.As(err, &ie) {
				t.Fatalf("got %v, want ErrInconsistent", err)
			}
			if ie.Old != tt.old || ie.New != tt.new {
				t.Errorf("InconsistentError sizes %d, %d; want %d, %d (%v)", ie.Old, ie.New, tt.old, tt.new, err)
			}
		})
	}
}

func TestConsistentGrowth(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	c := newClient(t, l)
	for i := range 5 {
		if _, _, err := c.Append(ctx, testEvents(10*i, i+1)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		l.addRaw(t, testEvent(1000+i)) // another writer
	}
	cp, err := c.Checkpoint(ctx)
	if err != nil || cp.Size != 20 {
		t.Fatalf("Checkpoint() = %v, %v; want size 20", cp, err)
	}
}

func TestSendBatchesBySize(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l, WithBatching(10, time.Hour))
	ctx := context.Background()
	for _, ev := range testEvents(0, 25) {
		if err := c.Send(ctx, ev); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	waitFor(t, "two full batches", func() bool { return l.size() == 20 })
	if _, batches := l.counts(); fmt.Sprint(batches) != "[10 10]" {
		t.Errorf("batches %v before Flush, want [10 10]", batches)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if _, batches := l.counts(); fmt.Sprint(batches) != "[10 10 5]" || l.size() != 25 {
		t.Errorf("batches %v, size %d after Flush, want [10 10 5] and 25", batches, l.size())
	}
}

func TestSendBatchesByTime(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l, WithBatching(1000, 30*time.Millisecond))
	ctx := context.Background()
	start := time.Now()
	for _, ev := range testEvents(0, 3) {
		if err := c.Send(ctx, ev); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	waitFor(t, "a batch sent by time", func() bool { return l.size() == 3 })
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("batch sent after %v, want at least the 30ms delay", d)
	}
	if _, batches := l.counts(); fmt.Sprint(batches) != "[3]" {
		t.Errorf("batches %v, want [3]", batches)
	}
}

func TestSendConcurrent(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l, WithBatching(50, 5*time.Millisecond), WithMaxBuffered(120))
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for _, ev := range testEvents(1000*g, 100) {
				if err := c.Send(ctx, ev); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if l.size() != 800 {
		t.Errorf("log size %d, want 800", l.size())
	}
	if err := c.Send(ctx, testEvent(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

func TestBackpressure(t *testing.T) {
	l := newTestLog(t)
	l.stall, l.stalled = make(chan struct{}), make(chan struct{}, 10)
	c := newClient(t, l, WithBatching(2, time.Millisecond), WithMaxBuffered(4))
	ctx := context.Background()
	evs := testEvents(0, 5)
	for _, ev := range evs[:4] {
		if err := c.Send(ctx, ev); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	<-l.stalled // a batch is in flight, held by the server
	// The buffer is full: Send blocks until its context ends.
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := c.Send(sctx, evs[4]); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send with a full buffer = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("Send returned after %v, want it to block until the deadline", d)
	}
	// A cancelled context unblocks it too.
	cctx, cancel2 := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- c.Send(cctx, evs[4]) }()
	time.Sleep(10 * time.Millisecond)
	cancel2()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a full buffer = %v, want context.Canceled", err)
	}
	// The server recovers: everything held is appended, and there is room again.
	l.mu.Lock()
	close(l.stall)
	l.mu.Unlock()
	if err := c.Send(ctx, evs[4]); err != nil {
		t.Fatalf("Send after the server recovered: %v", err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if l.size() != 5 {
		t.Errorf("log size %d, want 5", l.size())
	}
}

func TestSendFailureReported(t *testing.T) {
	l := newTestLog(t)
	var mu sync.Mutex
	var failures []*SendError
	c := newClient(t, l, WithBatching(10, time.Millisecond), WithErrorHandler(func(e *SendError) {
		mu.Lock()
		failures = append(failures, e)
		mu.Unlock()
	}))
	ctx := context.Background()
	ev := testEvent(0)
	ev.Type = "data.export" // refused by the server
	if err := c.Send(ctx, ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
	err := c.Flush(ctx)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity {
		t.Errorf("Flush = %v, want the 422 *APIError", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) != 1 || len(failures[0].Events) != 1 || failures[0].Events[0] != ev {
		t.Fatalf("error handler got %v, want one failure holding the event", failures)
	}
	if err := c.Flush(ctx); err != nil {
		t.Errorf("second Flush = %v, want nil (the failure was returned once)", err)
	}
}

func TestSendInvalid(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l)
	ev := testEvent(0)
	ev.Time = time.Time{}
	var ve *event.ValidationError
	if err := c.Send(context.Background(), ev); !errors.As(err, &ve) {
		t.Errorf("Send(invalid) = %v, want an *event.ValidationError", err)
	}
}

func TestCloseTimeout(t *testing.T) {
	l := newTestLog(t)
	l.stall, l.stalled = make(chan struct{}), make(chan struct{}, 10)
	var mu sync.Mutex
	lost := 0
	c := newClient(t, l, WithBatching(2, time.Millisecond), WithErrorHandler(func(e *SendError) {
		mu.Lock()
		lost += len(e.Events)
		mu.Unlock()
	}))
	ctx := context.Background()
	for _, ev := range testEvents(0, 5) {
		if err := c.Send(ctx, ev); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	<-l.stalled
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := c.Close(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want context.DeadlineExceeded", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if lost != 5 {
		t.Errorf("the error handler got %d lost events, want 5", lost)
	}
}

func TestWithoutVerifierKey(t *testing.T) {
	l := newTestLog(t)
	c, err := New(l.srv.URL+"/", WithLog(l.log), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	res, cp, err := c.Append(context.Background(), testEvents(0, 2))
	if err != nil || cp != nil || len(res) != 2 {
		t.Errorf("Append without a key = %d results, %v, %v; want 2 results and no checkpoint", len(res), cp, err)
	}
	if l.proofQueries != 0 {
		t.Errorf("%d proofs fetched without a key, want 0", l.proofQueries)
	}
	if _, err := c.Checkpoint(context.Background()); err == nil {
		t.Error("Checkpoint without a key succeeded, want an error")
	}
}

func TestLearnsLog(t *testing.T) {
	l := newTestLog(t)
	l.requireKey = "k1"
	c, err := New(l.srv.URL, WithAPIKey("k1"), WithVerifierKey(l.vkey), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Checkpoint(ctx); err == nil {
		t.Error("Checkpoint before any append, without WithLog: want an error")
	}
	if _, _, err := c.Append(ctx, testEvents(0, 3)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	cp, err := c.Checkpoint(ctx)
	if err != nil || cp.Origin != "test.example/acme" {
		t.Errorf("Checkpoint() = %v, %v; want the log learned from the append", cp, err)
	}
}

func TestReads(t *testing.T) {
	l := newTestLog(t)
	c := newClient(t, l, WithBatching(500, time.Hour))
	ctx := context.Background()
	if _, _, err := c.Append(ctx, testEvents(0, 300)); err != nil {
		t.Fatal(err)
	}
	cp, err := c.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild the tree from the entry bundles and compare with the
	// checkpoint and the hash tiles.
	tree := verify.NewTree()
	for _, b := range []struct {
		index uint64
		width int
	}{{0, 256}, {1, 44}} {
		entries, err := c.EntryBundle(ctx, b.index, b.width)
		if err != nil {
			t.Fatalf("EntryBundle(%d, %d): %v", b.index, b.width, err)
		}
		for _, e := range entries {
			tree.Append(verify.LeafHash(e), nil)
		}
	}
	if tree.Root() != cp.Root {
		t.Errorf("entries give root %x, checkpoint %x", tree.Root(), cp.Root)
	}
	loaded, err := verify.LoadTree(300, func(level uint8, index uint64) ([]byte, error) {
		w := int(min(256, 300>>(8*uint64(level))-index*256))
		return c.Tile(ctx, level, index, w)
	})
	if err != nil || loaded.Root() != cp.Root {
		t.Errorf("tree loaded from tiles: %v; root %x, want %x", err, loaded.Root(), cp.Root)
	}
	if _, err := c.Tile(ctx, 0, 5, 256); !isStatus(err, http.StatusNotFound) {
		t.Errorf("Tile past the tree = %v, want a 404", err)
	}
	if _, err := c.Tile(ctx, 0, 0, 0); err == nil {
		t.Error("Tile with width 0: want an error")
	}
	p, err := c.InclusionProof(ctx, 7, 300)
	if err != nil || verify.Inclusion(7, 300, verify.LeafHash(l.entries[7]), p, cp.Root) != nil {
		t.Errorf("InclusionProof(7, 300) = %v, %v; want a valid proof", p, err)
	}
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
