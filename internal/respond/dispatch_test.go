package respond

import (
	"context"
	"errors"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func newRegistry() *prometheus.Registry { return prometheus.NewRegistry() }

func nanJitter() float64 { return math.NaN() }

// TestDispatcherRetries delivers over HTTP to receivers that fail in
// various ways, and checks the attempts, the waits between them, and what
// the receiver saw.
func TestDispatcherRetries(t *testing.T) {
	s := time.Second
	tests := []struct {
		name      string
		codes     []int // the receiver's answers, the last one repeated
		maxTries  int
		wantTries int
		wantFinal string
		wantWaits []time.Duration
		wantErr   string // in each failed attempt's Err
	}{
		{"delivered at once", []int{204}, 0, 1, Delivered, nil, ""},
		{"fails 3 times, then succeeds", []int{500, 500, 500, 200}, 0, 4, Delivered, []time.Duration{s, 2 * s, 4 * s}, "status 500"},
		{"400 is permanent", []int{400, 200}, 0, 1, DeadLetter, nil, "status 400"},
		{"404 is permanent", []int{404, 200}, 0, 1, DeadLetter, nil, "status 404"},
		{"408 and 429 are retried", []int{408, 429, 200}, 0, 3, Delivered, []time.Duration{s, 2 * s}, "status 4"},
		{"a redirect is retried, not followed", []int{302, 200}, 0, 2, Delivered, []time.Duration{s}, "status 302"},
		{"Retry-After lengthens the wait", []int{503, 200}, 0, 2, Delivered, []time.Duration{30 * s}, "status 503"},
		{"always 500: dead letter after the default 8 tries", []int{500}, 0, 8, DeadLetter,
			[]time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s}, "status 500"},
		{"always 500: dead letter after 3 tries", []int{500}, 3, 3, DeadLetter, []time.Duration{s, 2 * s}, "status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newCaptureServer(t, tt.codes...)
			hook := newTestWebhook(t, srv.URL+"/hook", 0)
			d, rec, sleeps, reg := newTestDispatcher(t, mustRouter(t, []Sink{hook}, []Route{{Sinks: []string{"hook"}}}), DispatcherConfig{MaxTries: tt.maxTries})
			a := testAlert()
			if err := d.Enqueue(a); err != nil {
				t.Fatalf("Enqueue() = %v", err)
			}
			final := rec.final(t)
			attempts := rec.all()
			if final.Final != tt.wantFinal || final.Try != tt.wantTries || len(attempts) != tt.wantTries {
				t.Fatalf("attempts:%s\nwant %d, the last %q", attemptsString(attempts), tt.wantTries, tt.wantFinal)
			}
			for i, at := range attempts {
				if at.Try != i+1 || at.Sink != "hook" || at.FindingID != a.Finding.ID || at.Time.IsZero() {
					t.Errorf("attempt %d = %+v", i, at)
				}
				last := i == len(attempts)-1
				if (at.Final != "") != last {
					t.Errorf("attempt %d has final %q", i+1, at.Final)
				}
				switch failed := !last || tt.wantFinal == DeadLetter; {
				case failed && !strings.Contains(at.Err, tt.wantErr) || failed && at.Err == "":
					t.Errorf("attempt %d err = %q, want one with %q", i+1, at.Err, tt.wantErr)
				case !failed && at.Err != "":
					t.Errorf("attempt %d err = %q, want none", i+1, at.Err)
				}
			}
			if got := sleeps.all(); !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
			// The receiver got every attempt, each signed anew.
			reqs := srv.all()
			if len(reqs) != tt.wantTries {
				t.Errorf("receiver got %d requests, want %d", len(reqs), tt.wantTries)
			}
			for i, r := range reqs {
				if r.path != "/hook" {
					t.Errorf("request %d went to %s", i, r.path)
				}
				if err := VerifySignature(testSecret, r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature), r.body, sendTime, 0); err != nil {
					t.Errorf("request %d: VerifySignature() = %v", i, err)
				}
			}
			failed := float64(tt.wantTries)
			delivered := 0.0
			if tt.wantFinal == Delivered {
				failed, delivered = failed-1, 1
			}
			if got := metricValue(t, reg, "indelible_respond_deliveries_total", map[string]string{"sink": "hook", "result": "failed"}); got != failed {
				t.Errorf("failed deliveries = %v, want %v", got, failed)
			}
			if got := metricValue(t, reg, "indelible_respond_deliveries_total", map[string]string{"sink": "hook", "result": "delivered"}); got != delivered {
				t.Errorf("delivered = %v, want %v", got, delivered)
			}
			deadLetters := 0.0
			if tt.wantFinal == DeadLetter {
				deadLetters = 1
			}
			if got := metricValue(t, reg, "indelible_respond_dead_letters_total", map[string]string{"sink": "hook"}); got != deadLetters {
				t.Errorf("dead letters = %v, want %v", got, deadLetters)
			}
		})
	}
}

// TestDispatcherTimeout checks that a receiver that never answers counts
// as a failure, retried, then a dead letter.
func TestDispatcherTimeout(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	hook := newTestWebhook(t, srv.URL, 100*time.Millisecond)
	d, rec, sleeps, _ := newTestDispatcher(t, mustRouter(t, []Sink{hook}, []Route{{Sinks: []string{"hook"}}}), DispatcherConfig{MaxTries: 2})
	if err := d.Enqueue(testAlert()); err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	final := rec.final(t)
	attempts := rec.all()
	if final.Final != DeadLetter || len(attempts) != 2 {
		t.Fatalf("attempts:%s\nwant 2, the last a dead letter", attemptsString(attempts))
	}
	for _, at := range attempts {
		if !strings.Contains(at.Err, "Client.Timeout exceeded") {
			t.Errorf("attempt %d err = %q, want a timeout", at.Try, at.Err)
		}
	}
	if got := sleeps.all(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Errorf("waits = %v, want [1s]", got)
	}
	if hits.Load() != 2 {
		t.Errorf("receiver got %d requests, want 2", hits.Load())
	}
}

// TestDispatcherAttemptTimeout checks that the dispatcher's own timeout
// stops a sink without one.
func TestDispatcherAttemptTimeout(t *testing.T) {
	slow := &funcSink{name: "slow", deliver: func(ctx context.Context, a Alert) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	d, rec, _, _ := newTestDispatcher(t, mustRouter(t, []Sink{slow}, []Route{{Sinks: []string{"slow"}}}),
		DispatcherConfig{MaxTries: 1, AttemptTimeout: 50 * time.Millisecond})
	if err := d.Enqueue(testAlert()); err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	if at := rec.final(t); at.Final != DeadLetter || !strings.Contains(at.Err, "deadline exceeded") {
		t.Errorf("final attempt = %+v, want a dead letter after a deadline", at)
	}
}

// TestEnqueueNeverBlocks fills the queue of a sink that never returns:
// Enqueue must keep returning at once, dropping what does not fit, while
// the other sinks go on delivering.
func TestEnqueueNeverBlocks(t *testing.T) {
	const capacity, workers = 16, 2
	release := make(chan struct{})
	var started atomic.Int32
	stuck := &funcSink{name: "stuck", deliver: func(context.Context, Alert) error {
		started.Add(1)
		<-release // ignores its context, as a broken sink would
		return nil
	}}
	var delivered atomic.Int32
	ok := &funcSink{name: "ok", deliver: func(context.Context, Alert) error {
		delivered.Add(1)
		return nil
	}}
	router := mustRouter(t, []Sink{stuck, ok}, []Route{
		{Match: Match{Rule: []string{"to-stuck"}}, Sinks: []string{"stuck"}},
		{Match: Match{Rule: []string{"to-ok"}}, Sinks: []string{"ok"}},
	})
	d, rec, _, reg := newTestDispatcher(t, router, DispatcherConfig{QueueSize: capacity, Workers: workers})
	// Registered after the dispatcher's cleanup, this runs before it.
	t.Cleanup(func() { close(release) })

	a := alertWith("high", "to-stuck", "", "")
	done := make(chan int)
	go func() {
		full := 0
		for range 10 * capacity {
			if err := d.Enqueue(a); errors.Is(err, ErrQueueFull) {
				full++
			}
		}
		done <- full
	}()
	var full int
	select {
	case full = <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Enqueue blocked: %d calls did not return within 5s", 10*capacity)
	}
	// The workers take at most one alert each; the queue holds capacity.
	if lo, hi := 10*capacity-capacity-workers, 10*capacity-capacity; full < lo || full > hi {
		t.Errorf("%d of %d alerts dropped, want %d to %d", full, 10*capacity, lo, hi)
	}
	if got := metricValue(t, reg, "indelible_respond_dropped_total", map[string]string{"sink": "stuck", "reason": "queue_full"}); got != float64(full) {
		t.Errorf("dropped metric = %v, want %d", got, full)
	}
	if got := metricValue(t, reg, "indelible_respond_queue_length", map[string]string{"sink": "stuck"}); got < capacity-workers || got > capacity {
		t.Errorf("queue length = %v, want %d to %d", got, capacity-workers, capacity)
	}
	// Another sink is not held up.
	if err := d.Enqueue(alertWith("high", "to-ok", "", "")); err != nil {
		t.Fatalf("Enqueue(to the healthy sink) = %v", err)
	}
	if at := rec.final(t); at.Sink != "ok" || at.Final != Delivered {
		t.Errorf("final attempt = %+v, want a delivery to ok", at)
	}
}

func TestDispatcherClose(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	stuck := &funcSink{name: "stuck", deliver: func(ctx context.Context, a Alert) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-release:
			return nil
		}
	}}
	rec, reg := newRecorder(), newRegistry()
	d, err := NewDispatcher(DispatcherConfig{
		Router: mustRouter(t, []Sink{stuck}, []Route{{Sinks: []string{"stuck"}}}), Logger: testLogger(t),
		Registry: reg, OnAttempt: rec.record, Workers: 1, QueueSize: 10,
		Sleep: (&fakeSleep{}).sleep,
	})
	if err != nil {
		t.Fatalf("NewDispatcher() = %v", err)
	}
	for i := range 3 {
		if err := d.Enqueue(testAlert()); err != nil {
			t.Fatalf("Enqueue(%d) = %v", i, err)
		}
	}
	for started := time.Now(); metricValue(t, reg, "indelible_respond_queue_length", map[string]string{"sink": "stuck"}) != 2; {
		if time.Since(started) > 5*time.Second {
			t.Fatal("the worker did not take the first alert")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close() = %v, want a deadline error", err)
	}
	if err := d.Enqueue(testAlert()); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue(after Close) = %v, want ErrClosed", err)
	}
	// The attempt under way was canceled and reported; the two queued
	// alerts were dropped.
	want := map[string]float64{dropShutdown: 3, dropClosed: 1, dropQueueFull: 0}
	for started := time.Now(); ; time.Sleep(time.Millisecond) {
		got := map[string]float64{}
		for reason := range want {
			got[reason] = metricValue(t, reg, "indelible_respond_dropped_total", map[string]string{"sink": "stuck", "reason": reason})
		}
		if maps.Equal(got, want) {
			break
		}
		if time.Since(started) > 5*time.Second {
			t.Fatalf("dropped = %v, want %v", got, want)
		}
	}
	if as := rec.all(); len(as) != 1 || as[0].Final != "" || !strings.Contains(as[0].Err, "canceled") {
		t.Errorf("attempts:%s\nwant one, canceled, without a final outcome", attemptsString(as))
	}
	// Closing again is harmless.
	if err := d.Close(context.Background()); err != nil {
		t.Errorf("Close(again) = %v", err)
	}
}

func TestDispatcherSinkPanics(t *testing.T) {
	bad := &funcSink{name: "bad", deliver: func(context.Context, Alert) error { panic("oops") }}
	d, rec, _, _ := newTestDispatcher(t, mustRouter(t, []Sink{bad}, []Route{{Sinks: []string{"bad"}}}), DispatcherConfig{MaxTries: 2})
	if err := d.Enqueue(testAlert()); err != nil {
		t.Fatalf("Enqueue() = %v", err)
	}
	if at := rec.final(t); at.Final != DeadLetter || at.Try != 2 || !strings.Contains(at.Err, "sink bad panicked: oops") {
		t.Errorf("final attempt = %+v, want a dead letter after 2 panics", at)
	}
}

func TestBackoff(t *testing.T) {
	s := time.Second
	tests := []struct {
		name   string
		jitter float64
		base   time.Duration
		err    error
		want   []time.Duration // for tries 1, 2, ...
	}{
		{"no jitter: the full wait", 1, 0, nil, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 256 * s, 300 * s, 300 * s}},
		{"most jitter: half the wait", 0, 0, nil, []time.Duration{s / 2, s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, 64 * s, 128 * s, 150 * s, 150 * s}},
		{"some jitter", 0.5, 0, nil, []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * s}},
		{"jitter out of range is clamped", 7, 0, nil, []time.Duration{s, 2 * s}},
		{"NaN jitter", nanJitter(), 0, nil, []time.Duration{s / 2, s}},
		{"Retry-After longer", 1, 0, &StatusError{Code: 429, RetryAfter: 10 * s}, []time.Duration{10 * s, 10 * s, 10 * s, 10 * s, 16 * s}},
		{"Retry-After beyond the maximum", 1, 0, &StatusError{Code: 503, RetryAfter: time.Hour}, []time.Duration{300 * s}},
		{"another base", 1, 100 * time.Millisecond, nil, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDispatcher(DispatcherConfig{
				Router: mustRouter(t, []Sink{namedSink("a")}, []Route{{Sinks: []string{"a"}}}), Logger: testLogger(t),
				BaseDelay: tt.base, Jitter: func() float64 { return tt.jitter },
			})
			if err != nil {
				t.Fatalf("NewDispatcher() = %v", err)
			}
			defer d.Close(context.Background())
			for i, want := range tt.want {
				if got := d.backoff(i+1, tt.err); got != want {
					t.Errorf("backoff(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

func TestNewDispatcherChecks(t *testing.T) {
	router := mustRouter(t, []Sink{namedSink("a")}, []Route{{Sinks: []string{"a"}}})
	tests := []struct {
		name string
		c    DispatcherConfig
		want string
	}{
		{"no router", DispatcherConfig{Logger: testLogger(t)}, "a router is required"},
		{"no logger", DispatcherConfig{Router: router}, "a logger is required"},
		{"negative queue", DispatcherConfig{Router: router, Logger: testLogger(t), QueueSize: -1}, "negative"},
		{"negative delay", DispatcherConfig{Router: router, Logger: testLogger(t), BaseDelay: -1}, "negative"},
		{"max below base", DispatcherConfig{Router: router, Logger: testLogger(t), BaseDelay: time.Minute, MaxDelay: time.Second}, "shorter than BaseDelay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewDispatcher(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewDispatcher() = %v, want an error with %q", err, tt.want)
			}
		})
	}
	// The metrics of two dispatchers cannot share a registry.
	reg := newRegistry()
	d, err := NewDispatcher(DispatcherConfig{Router: router, Logger: testLogger(t), Registry: reg})
	if err != nil {
		t.Fatalf("NewDispatcher() = %v", err)
	}
	defer d.Close(context.Background())
	if _, err := NewDispatcher(DispatcherConfig{Router: router, Logger: testLogger(t), Registry: reg}); err == nil || !strings.Contains(err.Error(), "registering metrics") {
		t.Errorf("NewDispatcher(same registry) = %v, want a registration error", err)
	}
}
