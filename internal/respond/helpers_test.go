package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/findings"
	"github.com/prometheus/client_golang/prometheus"
)

// testFinding returns a finding like the analysis raises.
func testFinding() findings.Finding {
	return findings.Finding{
		ID:       "finding-0123456789abcdef0123456789abcdef",
		Log:      "payments",
		Rule:     "failure-burst",
		Detector: "failure_burst",
		Severity: SeverityHigh,
		GroupKey: "alice@example.com",
		Status:   findings.StatusOpen,
		OpenedAt: time.Date(2026, 11, 23, 19, 40, 0, 123e6, time.UTC),
		Summary:  "12 failed logins for alice@example.com in 5m",
		Index:    1234,
		Evidence: []findings.Evidence{{Log: "payments", Index: 1200}, {Log: "payments", Index: 1201}},
		Config:   "sha256:abc",
	}
}

func testAlert() Alert {
	return Alert{
		Finding:     testFinding(),
		Log:         "payments",
		Instance:    "audit.example.com",
		Project:     "payments",
		Environment: "production",
		Link:        "https://audit.example.com/findings/finding-0123456789abcdef0123456789abcdef",
	}
}

// testLogger returns a logger that writes to t.Log until the test ends.
func testLogger(t testing.TB) *slog.Logger {
	t.Helper()
	w := &logWriter{t: t}
	// Registered first, this cleanup runs last: after the dispatchers
	// of the test are closed.
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type logWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool // guarded by mu
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// recorder collects the attempts a dispatcher reports.
type recorder struct {
	mu       sync.Mutex
	attempts []Attempt // guarded by mu
	finals   chan Attempt
}

func newRecorder() *recorder { return &recorder{finals: make(chan Attempt, 1000)} }

func (r *recorder) record(a Attempt) {
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
	if a.Final != "" {
		r.finals <- a
	}
}

func (r *recorder) all() []Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Attempt(nil), r.attempts...)
}

// final waits for the next attempt with a final outcome.
func (r *recorder) final(t *testing.T) Attempt {
	t.Helper()
	select {
	case a := <-r.finals:
		return a
	case <-time.After(5 * time.Second):
		t.Fatalf("no final attempt after 5s; attempts: %+v", r.all())
		return Attempt{}
	}
}

// fakeSleep records the waits and returns at once.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration // guarded by mu
}

func (s *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *fakeSleep) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestDispatcher starts a dispatcher that the test closes, with
// attempts going to a recorder, waits to a fakeSleep, and no jitter:
// every wait is the longest it can be.
func newTestDispatcher(t *testing.T, router *Router, c DispatcherConfig) (*Dispatcher, *recorder, *fakeSleep, *prometheus.Registry) {
	t.Helper()
	rec, fs, reg := newRecorder(), &fakeSleep{}, prometheus.NewRegistry()
	c.Router, c.Registry, c.OnAttempt = router, reg, rec.record
	if c.Logger == nil {
		c.Logger = testLogger(t)
	}
	if c.Sleep == nil {
		c.Sleep = fs.sleep
	}
	if c.Jitter == nil {
		c.Jitter = func() float64 { return 1 }
	}
	d, err := NewDispatcher(c)
	if err != nil {
		t.Fatalf("NewDispatcher() = %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return d, rec, fs, reg
}

func mustRouter(t *testing.T, sinks []Sink, routes []Route) *Router {
	t.Helper()
	r, err := NewRouter(sinks, routes)
	if err != nil {
		t.Fatalf("NewRouter() = %v", err)
	}
	return r
}

// metricValue returns the value of the counter or gauge name with
// labels in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

// funcSink is a sink made of a function.
type funcSink struct {
	name    string
	deliver func(ctx context.Context, a Alert) error
}

func (s *funcSink) Name() string                               { return s.name }
func (s *funcSink) Deliver(ctx context.Context, a Alert) error { return s.deliver(ctx, a) }

// errorIs reports whether err matches want (nil: no error).
func errorIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func attemptsString(as []Attempt) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "\n  try %d final %q err %q", a.Try, a.Final, a.Err)
	}
	return b.String()
}
