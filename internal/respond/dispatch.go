package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of DispatcherConfig.
const (
	DefaultQueueSize      = 1024
	DefaultWorkers        = 2
	DefaultMaxTries       = 8
	DefaultBaseDelay      = time.Second
	DefaultMaxDelay       = 5 * time.Minute
	DefaultAttemptTimeout = 5 * time.Minute
)

// maxErrLen is the longest Attempt.Err, in characters.
const maxErrLen = 500

// Errors of Enqueue.
var (
	ErrQueueFull = errors.New("alert queue full")
	ErrClosed    = errors.New("alert dispatcher closed")
)

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	// Router picks the sinks of each alert; required.
	Router *Router
	// Logger receives a line for each dropped, retried and
	// dead-lettered alert; required.
	Logger *slog.Logger
	// Registry, if not nil, gets the dispatcher's metrics, each labelled
	// with the sink: indelible_respond_deliveries_total{result} counts
	// attempts ("delivered" or "failed"), indelible_respond_dead_letters_total
	// the alerts given up on, indelible_respond_dropped_total{reason}
	// the alerts dropped ("queue_full", "closed" for those enqueued
	// after Close, "shutdown" for those pending when Close gave up),
	// and indelible_respond_queue_length the alerts waiting.
	Registry *prometheus.Registry
	// OnAttempt, if not nil, is called after each attempt, from the
	// worker that made it: concurrently for different sinks and
	// workers, in order for one alert and sink. It must not block for
	// long, since its worker waits.
	OnAttempt func(Attempt)

	// QueueSize is the capacity of each sink's queue; DefaultQueueSize
	// when 0.
	QueueSize int
	// Workers is the number of workers per sink; DefaultWorkers when 0.
	Workers int
	// MaxTries is the number of attempts after which an alert is a dead
	// letter; DefaultMaxTries when 0.
	MaxTries int
	// BaseDelay and MaxDelay bound the wait before a retry: before try
	// n+1 it is BaseDelay·2^(n-1), at most MaxDelay, of which the
	// second half is random (see Jitter), and at least what the sink
	// asked for with Retry-After, up to MaxDelay. DefaultBaseDelay and
	// DefaultMaxDelay when 0.
	BaseDelay, MaxDelay time.Duration
	// AttemptTimeout bounds one attempt, on top of the sink's own
	// timeout; DefaultAttemptTimeout when 0.
	AttemptTimeout time.Duration

	// Now is the clock of Attempt.Time; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() then; a
	// timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a random number in [0, 1]; math/rand/v2's Float64
	// when nil.
	Jitter func() float64
}

// Dispatcher delivers alerts to the sinks a Router picks for them, in the
// background: each sink has a bounded queue and its own workers, which
// retry failed attempts with exponential backoff until the alert is
// delivered or becomes a dead letter. Its methods are safe for concurrent
// use.
type Dispatcher struct {
	c       DispatcherConfig // with the defaults applied
	router  *Router
	queues  map[string]*queue // by sink name; immutable
	metrics *metrics
	log     *slog.Logger

	ctx    context.Context // the workers'; canceled when Close gives up
	cancel context.CancelFunc
	wg     sync.WaitGroup // the workers

	mu     sync.RWMutex // held to send on the queues (read) and to close them (write)
	closed bool         // guarded by mu
}

// queue is the queue of one sink.
type queue struct {
	sink Sink
	ch   chan Alert
}

// NewDispatcher checks c and starts the workers of a dispatcher, which
// Close stops.
func NewDispatcher(c DispatcherConfig) (*Dispatcher, error) {
	switch {
	case c.Router == nil:
		return nil, errors.New("alert dispatcher: a router is required")
	case c.Logger == nil:
		return nil, errors.New("alert dispatcher: a logger is required")
	case c.QueueSize < 0 || c.Workers < 0 || c.MaxTries < 0:
		return nil, fmt.Errorf("alert dispatcher: negative QueueSize %d, Workers %d or MaxTries %d", c.QueueSize, c.Workers, c.MaxTries)
	case c.BaseDelay < 0 || c.MaxDelay < 0 || c.AttemptTimeout < 0:
		return nil, fmt.Errorf("alert dispatcher: negative BaseDelay %v, MaxDelay %v or AttemptTimeout %v", c.BaseDelay, c.MaxDelay, c.AttemptTimeout)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDuration := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.QueueSize, DefaultQueueSize)
	def(&c.Workers, DefaultWorkers)
	def(&c.MaxTries, DefaultMaxTries)
	defDuration(&c.BaseDelay, DefaultBaseDelay)
	defDuration(&c.MaxDelay, DefaultMaxDelay)
	defDuration(&c.AttemptTimeout, DefaultAttemptTimeout)
	if c.MaxDelay < c.BaseDelay {
		return nil, fmt.Errorf("alert dispatcher: MaxDelay %v is shorter than BaseDelay %v", c.MaxDelay, c.BaseDelay)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	d := &Dispatcher{c: c, router: c.Router, queues: map[string]*queue{}, log: c.Logger}
	var qs []*queue
	for _, s := range c.Router.Sinks() {
		q := &queue{sink: s, ch: make(chan Alert, c.QueueSize)}
		d.queues[s.Name()] = q
		qs = append(qs, q)
	}
	m, err := newMetrics(c.Registry, qs)
	if err != nil {
		return nil, fmt.Errorf("alert dispatcher: %w", err)
	}
	d.metrics = m
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for _, q := range qs {
		for range c.Workers {
			d.wg.Add(1)
			go d.work(q)
		}
	}
	return d, nil
}

// Enqueue queues a for each sink that the router picks for it, and
// returns at once. For a sink whose queue is full, a is dropped: that is
// counted, logged, and reported in an error that wraps ErrQueueFull.
// After Close, every alert is dropped and the error wraps ErrClosed. An
// alert that no route matches is not an error.
func (d *Dispatcher) Enqueue(a Alert) error {
	sinks := d.router.Route(a)
	if len(sinks) == 0 {
		return nil
	}
	// The workers keep their own copy: the caller may reuse its slice.
	a.Finding.Evidence = slices.Clone(a.Finding.Evidence)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		names := make([]string, len(sinks))
		for i, s := range sinks {
			names[i] = s.Name()
			d.drop(s.Name(), a, dropClosed)
		}
		return fmt.Errorf("%w: alert for finding %s not sent to %s", ErrClosed, a.Finding.ID, strings.Join(names, ", "))
	}
	var full []string
	for _, s := range sinks {
		select {
		case d.queues[s.Name()].ch <- a:
		default:
			full = append(full, s.Name())
			d.drop(s.Name(), a, dropQueueFull)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: alert for finding %s dropped for %s", ErrQueueFull, a.Finding.ID, strings.Join(full, ", "))
	}
	return nil
}

// Close stops accepting alerts and waits until the workers have
// delivered or dead-lettered every queued alert, or until ctx is done.
// Then it cancels the attempts under way and the waits for retries: the
// alerts not delivered yet are dropped, each logged with its finding id,
// and Close returns ctx.Err() without waiting for sinks that ignore
// cancellation.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		for _, q := range d.queues {
			close(q.ch)
		}
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		return fmt.Errorf("closing the alert dispatcher: %w", ctx.Err())
	}
}

// work delivers the alerts of q until it is closed and empty.
func (d *Dispatcher) work(q *queue) {
	defer d.wg.Done()
	for a := range q.ch {
		d.deliver(q.sink, a)
	}
}

// deliver makes the attempts to deliver a to s.
func (d *Dispatcher) deliver(s Sink, a Alert) {
	name := s.Name()
	for try := 1; ; try++ {
		if d.ctx.Err() != nil {
			d.drop(name, a, dropShutdown)
			return
		}
		at := Attempt{FindingID: a.Finding.ID, Sink: name, Try: try, Time: d.c.Now()}
		err := d.attempt(s, a)
		if err == nil {
			at.Final = Delivered
			d.metrics.deliveries.WithLabelValues(name, Delivered).Inc()
			d.report(at)
			return
		}
		at.Err = clip(err.Error(), maxErrLen)
		d.metrics.deliveries.WithLabelValues(name, "failed").Inc()
		attrs := []any{"sink", name, "finding", a.Finding.ID, "try", try, "err", at.Err}
		if errors.Is(err, ErrPermanent) || try >= d.c.MaxTries {
			at.Final = DeadLetter
			d.metrics.deadLetters.WithLabelValues(name).Inc()
			d.log.Error("alert not delivered: dead letter", attrs...)
			d.report(at)
			return
		}
		d.report(at)
		wait := d.backoff(try, err)
		d.log.Warn("alert delivery failed; will retry", append(attrs, "retry_in", wait)...)
		if d.c.Sleep(d.ctx, wait) != nil {
			d.drop(name, a, dropShutdown)
			return
		}
	}
}

// attempt makes one attempt, turning a panic of the sink into an error.
func (d *Dispatcher) attempt(s Sink, a Alert) (err error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.c.AttemptTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sink %s panicked: %v", s.Name(), r)
		}
	}()
	return s.Deliver(ctx, a)
}

// backoff returns the wait after the failure err of try.
func (d *Dispatcher) backoff(try int, err error) time.Duration {
	nominal := d.c.BaseDelay
	for i := 1; i < try && nominal < d.c.MaxDelay; i++ {
		nominal *= 2
	}
	nominal = min(nominal, d.c.MaxDelay)
	j := d.c.Jitter()
	if !(j >= 0) { // negative or NaN
		j = 0
	}
	j = min(j, 1)
	wait := nominal/2 + time.Duration(j*float64(nominal-nominal/2))
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > wait {
		wait = min(se.RetryAfter, d.c.MaxDelay)
	}
	return wait
}

func (d *Dispatcher) report(at Attempt) {
	if d.c.OnAttempt != nil {
		d.c.OnAttempt(at)
	}
}

// drop counts and logs that a was dropped for sink for reason.
func (d *Dispatcher) drop(sink string, a Alert, reason string) {
	d.metrics.dropped.WithLabelValues(sink, reason).Inc()
	d.log.Warn("alert dropped", "sink", sink, "finding", a.Finding.ID, "log", a.log(),
		"severity", a.Finding.Severity, "reason", reason)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
