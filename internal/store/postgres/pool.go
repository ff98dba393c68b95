package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// errClosed is returned by every method called after Close.
var errClosed = errors.New("postgres: store is closed")

// pingAfter is how long a connection may sit idle before acquire checks,
// with a round trip, that the server still answers on it: a connection
// that the server or a firewall dropped while idle is replaced instead of
// failing the caller's query.
const pingAfter = 30 * time.Second

// pool is a bounded set of connections to one database, all opened with the
// same configuration (and so the same search_path). A connection is lent to
// one goroutine at a time by acquire and returned by release.
type pool struct {
	cfg *pgx.ConnConfig

	// slots holds one token per open connection, lent or idle, so at most
	// cap(slots) connections exist. A token is taken before connecting and
	// given back when a connection is closed.
	slots chan struct{}
	// idle holds the connections not lent, oldest first. Its capacity is
	// that of slots: putting a connection back never blocks.
	idle chan idleConn

	// done is closed by close: acquire stops waiting.
	done chan struct{}

	mu     sync.Mutex // guards closed, and idle against puts after close
	closed bool
}

type idleConn struct {
	c     *pgx.Conn
	since time.Time
}

func newPool(cfg *pgx.ConnConfig, maxConns int) *pool {
	return &pool{cfg: cfg, slots: make(chan struct{}, maxConns), idle: make(chan idleConn, maxConns), done: make(chan struct{})}
}

// acquire lends a connection: an idle one if there is one, else a new one
// if fewer than maxConns are open, else the first one released. It fails
// with ctx's error if ctx ends first.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		// Prefer an idle connection to opening a new one.
		select {
		case <-p.done:
			return nil, errClosed
		case ic := <-p.idle:
			if c := p.revive(ctx, ic); c != nil {
				return c, nil
			}
			continue
		default:
		}
		select {
		case ic := <-p.idle:
			if c := p.revive(ctx, ic); c != nil {
				return c, nil
			}
		case p.slots <- struct{}{}:
			c, err := pgx.ConnectConfig(ctx, p.cfg)
			if err != nil {
				<-p.slots
				return nil, err
			}
			return c, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.done:
			return nil, errClosed
		}
	}
}

// revive returns ic's connection if it is still usable, or closes it and
// returns nil.
func (p *pool) revive(ctx context.Context, ic idleConn) *pgx.Conn {
	if !ic.c.IsClosed() && (time.Since(ic.since) < pingAfter || ic.c.Ping(ctx) == nil) {
		return ic.c
	}
	p.discard(ic.c)
	return nil
}

// release gives c back. A connection that is broken, busy or inside a
// transaction (a caller that returned early) is closed instead of reused.
func (p *pool) release(c *pgx.Conn) {
	if c.IsClosed() || c.PgConn().IsBusy() || c.PgConn().TxStatus() != 'I' {
		p.discard(c)
		return
	}
	p.mu.Lock()
	if !p.closed {
		p.idle <- idleConn{c: c, since: time.Now()}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.discard(c)
}

// discard closes c and frees its slot.
func (p *pool) discard(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Close(ctx)
	<-p.slots
}

// close closes the idle connections, then waits for those lent to be
// released, and closes them too. No method holds a connection while it
// calls back into its caller, so the wait is bounded by the queries in
// flight.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	// Take every slot: each one is free, or held by an idle connection
	// (closed here, which frees it) or by a lent one (freed on release).
	for taken := 0; taken < cap(p.slots); {
		select {
		case ic := <-p.idle:
			p.discard(ic.c)
		case p.slots <- struct{}{}:
			taken++
		}
	}
}
