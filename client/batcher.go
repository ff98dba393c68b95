package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/a24ba333/indelible/event"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("client: closed")

// SendError is an asynchronous failure: events given to Send that were
// not appended after every retry, or whose append could not be verified.
// Err says which: with ErrBadCheckpoint, ErrBadProof or ErrInconsistent
// (errors.Is) the server acknowledged the events but its proof failed, and
// the server must not be trusted; otherwise they were not appended, and
// may be sent again (with the same ids, so that nothing is duplicated).
type SendError struct {
	Events []*event.Event
	Err    error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("client: sending %d events: %v", len(e.Events), e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// batcher holds the events given to Send and sends them from one
// goroutine, in order, one request at a time.
type batcher struct {
	c     *Client
	slots chan struct{} // one token per event held (waiting or being sent): the bound on memory
	wake  chan struct{} // capacity 1: events were queued, a flush was asked for, or Close was called
	done  chan struct{} // closed when the goroutine ends
	ctx   context.Context
	stop  context.CancelFunc // ends the goroutine's requests when Close gives up

	mu        sync.Mutex // guards the fields below
	started   bool
	closed    bool
	queue     []*event.Event // waiting to be sent
	oldest    time.Time      // when queue[0] was queued
	sent      uint64         // events ever queued
	finished  uint64         // events acknowledged or failed (they finish in order)
	flushTo   uint64         // send at once, without waiting for the delay, until finished reaches it
	progress  chan struct{}  // closed (and replaced) whenever finished grows
	failed    int            // events failed since the last Flush returned
	firstFail error          // the first of those failures
}

func (b *batcher) init(c *Client) {
	b.c = c
	b.slots = make(chan struct{}, c.maxBuffered)
	b.wake = make(chan struct{}, 1)
	b.done = make(chan struct{})
	b.progress = make(chan struct{})
	b.ctx, b.stop = context.WithCancel(context.Background())
}

func (b *batcher) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Send validates ev, gives it an ID if it has none (NewID), and queues it
// to be appended by the background goroutine, which sends batches as
// WithBatching says, with Append's retries and verification. It returns
// once the event is queued: use Flush to wait until it is durable.
//
// If WithMaxBuffered events are already held, Send blocks until there is
// room, and returns ctx.Err() if ctx ends first (ev.ID may then have been
// set already). It returns a validation
// error at once for an invalid event, and ErrClosed after Close. ev must
// not be modified after Send. Failures after Send returned go to the
// error handler (WithErrorHandler) and to the next Flush.
func (c *Client) Send(ctx context.Context, ev *event.Event) error {
	if err := validate([]*event.Event{ev}); err != nil {
		return err
	}
	b := &c.b
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if ev.ID == "" {
		ev.ID = newID(c.now())
	}
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.slots
		return ErrClosed
	}
	if !b.started {
		b.started = true
		go b.run()
	}
	if len(b.queue) == 0 {
		b.oldest = time.Now()
	}
	b.queue = append(b.queue, ev)
	b.sent++
	b.mu.Unlock()
	b.poke()
	return nil
}

// run is the background goroutine.
func (b *batcher) run() {
	defer close(b.done)
	c := b.c
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		for {
			n := len(b.queue)
			if n == 0 && b.closed {
				b.mu.Unlock()
				return
			}
			wait := time.Duration(-1) // no event: wait for one
			if n > 0 {
				if n >= c.maxEvents || b.flushTo > b.finished || b.closed || b.ctx.Err() != nil {
					break
				}
				if wait = c.maxDelay - time.Since(b.oldest); wait <= 0 {
					break
				}
			}
			b.mu.Unlock()
			var tc <-chan time.Time
			if wait >= 0 {
				timer.Reset(wait)
				tc = timer.C
			}
			select {
			case <-b.wake:
			case <-tc:
			case <-b.ctx.Done():
			}
			timer.Stop()
			b.mu.Lock()
		}
		n := min(len(b.queue), c.maxEvents)
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		if len(b.queue) > 0 {
			b.oldest = time.Now()
		} else {
			b.queue = nil
		}
		b.mu.Unlock()

		_, _, err := c.appendBatch(b.ctx, batch)
		if err != nil {
			c.onError(&SendError{Events: batch, Err: err})
		}
		b.mu.Lock()
		b.finished += uint64(n)
		if err != nil {
			if b.failed == 0 {
				b.firstFail = err
			}
			b.failed += n
		}
		close(b.progress)
		b.progress = make(chan struct{})
		b.mu.Unlock()
		for range n {
			<-b.slots
		}
	}
}

// Flush sends at once what Send has queued and waits until every event
// sent before the call is durable or has failed, or until ctx ends. It
// returns an error if events failed since the previous Flush returned
// (each failure was also given to the error handler).
func (c *Client) Flush(ctx context.Context) error {
	b := &c.b
	b.mu.Lock()
	target := b.sent
	b.flushTo = max(b.flushTo, target)
	b.mu.Unlock()
	b.poke()
	for {
		b.mu.Lock()
		if b.finished >= target {
			failed, first := b.failed, b.firstFail
			b.failed, b.firstFail = 0, nil
			b.mu.Unlock()
			if failed > 0 {
				return fmt.Errorf("client: %d events were not appended or not verified; the first failure: %w", failed, first)
			}
			return nil
		}
		ch := b.progress
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close flushes (as Flush) and stops the background goroutine; Send
// fails afterwards. If ctx ends first, the requests in flight are
// cancelled and the events not yet durable are given to the error handler
// as failed. Append and the read methods keep working after Close.
func (c *Client) Close(ctx context.Context) error {
	b := &c.b
	b.mu.Lock()
	b.closed = true
	started := b.started
	b.mu.Unlock()
	if !started {
		return nil
	}
	b.poke()
	err := c.Flush(ctx)
	if ctx.Err() != nil {
		b.stop()
	}
	<-b.done
	b.stop()
	return err
}
