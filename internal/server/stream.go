package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/query"
	"github.com/a24ba333/indelible/internal/store"
)

// Stream timing.
const (
	// streamKeepAlive is the time between keep-alive comments, which
	// keep proxies from closing an idle stream. At each one the stream
	// also reads the log's head, so that commits by other processes
	// sharing the store reach it even with a Hub.
	streamKeepAlive = 15 * time.Second
	// streamPoll is the time between head reads without a Hub.
	streamPoll = 500 * time.Millisecond
	// streamChunk is the most entries read from the store at once.
	streamChunk = 256
	// streamWriteTimeout bounds writing one chunk to a client, so that a
	// client that stopped reading does not hold the stream forever.
	streamWriteTimeout = time.Minute
)

// streamParams are the query parameters of GET /v1/stream.
var streamParams = []string{"log", "q", "type", "actor", "resource_type", "resource_id", "outcome", "from_index"}

// getStream answers GET /v1/stream: the committed entries of one log, in
// index order, as Server-Sent Events, as long as the client stays. Each
// entry that passes the filters is one event:
//
//	id: <entry index>
//	event: entry
//	data: <the entry's canonical JSON, one line>
//
// followed by an empty line; a ": keep-alive" comment is sent every 15s.
//
// The parameters log, type, actor, resource_type, resource_id and outcome
// are those of GET /v1/events; the filters apply to each entry as it is
// read. The stream starts after the entry index given by the Last-Event-ID
// header (what a reconnecting EventSource sends) or else by the
// from_index parameter, so that a client that reconnects gets exactly the
// entries it missed; with neither, it starts at the log's head (only new
// entries). It reads the entries from the store up to the head, then waits
// for commits (Config.Hub, else polling). It ends when the client goes
// away or the server starts draining; a client then reconnects with
// Last-Event-ID.
func (s *Server) getStream(w http.ResponseWriter, r *http.Request) error {
	log, err := s.targetLog(r, apikey.Reader)
	if err != nil {
		return err
	}
	params, err := singleParams(r.URL.Query(), streamParams)
	if err != nil {
		return err
	}
	f, err := parseFilter(params)
	if err != nil {
		return err
	}
	// A stream checks each entry itself, so the whole expression is its
	// filter (time bounds included).
	var expr query.Expr
	if v := params["q"]; v != "" {
		x, err := query.Parse(v)
		var se *query.SyntaxError
		if errors.As(err, &se) {
			return &exprError{se}
		}
		if err != nil {
			return badRequest("the parameter q: %v", err)
		}
		expr = query.Resolve(x, s.cfg.Clock()) // relative times count from the request
	}
	var (
		next    uint64 // the next entry index to send
		resumed = true
	)
	switch last, from := r.Header.Get("Last-Event-ID"), params["from_index"]; {
	case last != "":
		n, ok := decimal(last)
		if !ok || n == ^uint64(0) {
			return badRequest("the Last-Event-ID header is not an entry index: %q", last)
		}
		next = n + 1
	case from != "":
		n, ok := decimal(from)
		if !ok || n == ^uint64(0) {
			return badRequest("the parameter from_index is not an entry index: %q", from)
		}
		next = n + 1
	default:
		resumed = false
	}
	drained := s.drained()
	select {
	case <-drained:
		return fmt.Errorf("%w: draining", errNotReady)
	default:
	}

	ctx := r.Context()
	var (
		commits <-chan uint64 // sizes from the Hub
		poll    <-chan time.Time
	)
	if s.cfg.Hub != nil {
		ch, cancel := s.cfg.Hub.Subscribe(log) // before reading the head, to miss no commit
		defer cancel()
		commits = ch
	} else {
		t := time.NewTicker(s.streamPoll)
		defer t.Stop()
		poll = t.C
	}
	size, err := s.headSize(ctx, log)
	if err != nil {
		return err
	}
	if !resumed {
		next = size
	}

	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // the connection may serve other requests
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil // the client went away
	}
	s.m.streams.Inc()
	defer s.m.streams.Dec()

	keepAlive := time.NewTicker(s.keepAlive)
	defer keepAlive.Stop()
	st := &stream{s: s, w: w, rc: rc, log: log, filter: &f, expr: expr, drained: drained}
	for {
		if next < size {
			if next, err = st.send(ctx, next, size); err != nil || st.done(ctx) {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-drained:
			return nil
		case n := <-commits:
			size = max(size, n)
		case <-poll:
			if size, err = st.refresh(ctx, size); err != nil {
				return err
			}
		case <-keepAlive.C:
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			if size, err = st.refresh(ctx, size); err != nil {
				return err
			}
		}
	}
}

// headSize returns the size of log's newest checkpoint.
func (s *Server) headSize(ctx context.Context, log string) (uint64, error) {
	head, err := s.cfg.Ledger.Head(ctx, log)
	if err != nil {
		return 0, fmt.Errorf("reading the head of log %q: %w", log, err)
	}
	return head.Size, nil
}

// stream is one GET /v1/stream being served.
type stream struct {
	s       *Server
	w       http.ResponseWriter
	rc      *http.ResponseController
	log     string
	filter  *store.IndexQuery
	expr    query.Expr // nil: no expression
	drained <-chan struct{}
	buf     []byte
}

// done reports whether the stream must end: the client went away or the
// server is draining.
func (st *stream) done(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-st.drained:
		return true
	default:
		return false
	}
}

// refresh returns the larger of size and the log's head. A failure to
// read the head is an error only if the client is still there.
func (st *stream) refresh(ctx context.Context, size uint64) (uint64, error) {
	n, err := st.s.headSize(ctx, st.log)
	if err != nil {
		if ctx.Err() != nil {
			return size, nil
		}
		return size, err
	}
	return max(size, n), nil
}

// errClientGone stops send when writing to the client fails.
var errClientGone = errors.New("the client went away")

// send sends the entries [next, size) that pass the filter, a chunk at a
// time, and returns the next index to send. It stops early, without an
// error, when the client goes away or the server drains.
func (st *stream) send(ctx context.Context, next, size uint64) (uint64, error) {
	for next < size && !st.done(ctx) {
		end := min(size, next+streamChunk)
		es, err := st.s.cfg.Entries.ReadEntries(ctx, st.log, next, end)
		if err != nil {
			if ctx.Err() != nil {
				return next, nil
			}
			return next, fmt.Errorf("reading entries [%d, %d) of log %q: %w", next, end, st.log, err)
		}
		_ = st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		for _, e := range es {
			if e.Index != next {
				return next, fmt.Errorf("log %q has no entry %d below its size %d: the store is damaged", st.log, next, size)
			}
			err := st.sendEntry(e)
			if errors.Is(err, errClientGone) {
				return next, nil
			}
			if err != nil {
				return next, err
			}
			next++
		}
		if next < end {
			return next, fmt.Errorf("log %q has no entry %d below its size %d: the store is damaged", st.log, next, size)
		}
	}
	return next, nil
}

// sendEntry sends one entry, if it passes the filter, and flushes it.
func (st *stream) sendEntry(e store.Entry) error {
	if !unfiltered(st.filter) || st.expr != nil {
		ent, err := event.DecodeEntry(e.Body)
		if err != nil {
			return fmt.Errorf("entry %d of log %q: %w", e.Index, st.log, err)
		}
		if !matches(st.filter, ent) || st.expr != nil && !query.Match(st.expr, ent, e.Index) {
			return nil
		}
	}
	if bytes.ContainsAny(e.Body, "\r\n") {
		// Canonical JSON escapes every line break; one here is damage.
		return fmt.Errorf("entry %d of log %q holds a line break: it is not canonical", e.Index, st.log)
	}
	b := append(st.buf[:0], "id: "...)
	b = strconv.AppendUint(b, e.Index, 10)
	b = append(b, "\nevent: entry\ndata: "...)
	b = append(b, e.Body...)
	b = append(b, "\n\n"...)
	st.buf = b
	if _, err := st.w.Write(b); err != nil {
		return errClientGone
	}
	if err := st.rc.Flush(); err != nil {
		return errClientGone
	}
	return nil
}

// unfiltered reports whether q has no field filter.
func unfiltered(q *store.IndexQuery) bool {
	return q.TypePrefix == "" && q.Actor == "" && q.ResourceType == "" && q.ResourceID == "" && q.Outcome == ""
}
