package server

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one Server-Sent Event, or a comment.
type sseEvent struct {
	id, event, data string
	comment         string
}

// sseStream is an open GET /v1/stream, read by a goroutine into events.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent // closed when the stream ends
	cancel func()        // disconnects
	done   chan struct{} // closed when the reader returned
}

// openStream opens GET path with token and, if not empty, Last-Event-ID.
// It fails unless the answer is 200 text/event-stream. The stream is
// closed when the test ends.
func (e *testEnv) openStream(t *testing.T, path, token, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		r.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.ts.Client().Do(r)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" ||
		resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("X-Accel-Buffering") != "no" {
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s = %d %v, want 200 text/event-stream", path, resp.StatusCode, resp.Header)
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 1000), cancel: cancel, done: make(chan struct{})}
	go s.read()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) read() {
	defer close(s.done)
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(nil, 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				s.events <- ev
			}
			ev = sseEvent{}
		case field == "":
			s.events <- sseEvent{comment: value}
		case field == "id":
			ev.id = value
		case field == "event":
			ev.event = value
		case field == "data":
			if ev.data != "" {
				ev.data += "\n"
			}
			ev.data += value
		}
	}
}

// close disconnects and waits for the reader.
func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

// next returns the next event, skipping comments, or fails the test
// after a few seconds.
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatal("the stream ended, want another event")
			}
			if ev.comment != "" {
				continue
			}
			return ev
		case <-timeout:
			t.Fatal("no stream event within 10s")
		}
	}
}

// quiet checks that no event arrives for a moment.
func (s *sseStream) quiet(t *testing.T) {
	t.Helper()
	timeout := time.After(200 * time.Millisecond)
	for {
		select {
		case ev, ok := <-s.events:
			if ok && ev.comment == "" {
				t.Fatalf("unexpected stream event %+v", ev)
			}
		case <-timeout:
			return
		}
	}
}

// ended waits for the stream to end.
func (s *sseStream) ended(t *testing.T) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return
			}
			if ev.comment == "" {
				t.Fatalf("unexpected stream event %+v, want the stream to end", ev)
			}
		case <-timeout:
			t.Fatal("the stream did not end within 5s")
		}
	}
}

// expect reads events and checks that they are the entries at indexes,
// in order, with their stored bytes.
func (s *sseStream) expect(t *testing.T, e *testEnv, indexes ...uint64) {
	t.Helper()
	stored := map[uint64]string{}
	for _, x := range e.entries(t, own) {
		stored[x.index] = x.body
	}
	for _, i := range indexes {
		ev := s.next(t)
		if ev.id != strconv.FormatUint(i, 10) || ev.event != "entry" || ev.data != stored[i] {
			t.Fatalf("stream event = id %q event %q data %s, want id %d event entry data %s", ev.id, ev.event, ev.data, i, stored[i])
		}
	}
}

// ingestN ingests n query test events from qev(first) on and returns
// their indexes.
func (e *testEnv) ingestN(t *testing.T, first, n int) []uint64 {
	t.Helper()
	parts := make([]string, n)
	for i := range parts {
		parts[i] = qev(first + i)
	}
	res := e.ingest(t, "application/json", "["+strings.Join(parts, ",")+"]")
	out := make([]uint64, n)
	for i, r := range res.Results {
		out[i] = r.Index
	}
	return out
}

func TestStream(t *testing.T) {
	for _, name := range []string{"hub", "poll"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, envOptions{query: true, noHub: name == "poll", streamPoll: 20 * time.Millisecond})
			reader := e.tokens[own+"-reader"]
			s := e.openStream(t, "/v1/stream", reader, "")
			var got []uint64
			for b := range 5 {
				idx := e.ingestN(t, b*3, 3)
				s.expect(t, e, idx...)
				got = append(got, idx...)
			}
			s.quiet(t)
			s.close()

			// A client that processed only 8 of them, and missed more
			// while away, gets exactly the rest on reconnecting.
			last := got[7]
			missedBefore := got[8:]
			missed := e.ingestN(t, 100, 4)
			r := e.openStream(t, "/v1/stream", reader, strconv.FormatUint(last, 10))
			r.expect(t, e, append(missedBefore, missed...)...)
			more := e.ingestN(t, 200, 2)
			r.expect(t, e, more...)
			r.quiet(t)

			// from_index, and Last-Event-ID over it.
			f := e.openStream(t, fmt.Sprintf("/v1/stream?from_index=%d", more[0]), reader, "")
			f.expect(t, e, more[1])
			f.quiet(t)
			l := e.openStream(t, fmt.Sprintf("/v1/stream?from_index=%d", more[0]), reader, strconv.FormatUint(more[1], 10))
			l.quiet(t)

			// From the start of the log, with an instance-wide key.
			all := e.entries(t, own)
			a := e.openStream(t, "/v1/stream?log="+own+"&from_index=0", e.tokens["instance-reader"], "")
			var rest []uint64
			for _, x := range all[1:] {
				rest = append(rest, x.index)
			}
			a.expect(t, e, rest...)
		})
	}
}

func TestStreamFilters(t *testing.T) {
	e := newEnv(t, envOptions{query: true})
	const n = 48
	tests := []string{
		"type=auth.",
		"type=auth.login",
		"actor=user-2",
		"resource_type=invoice&resource_id=r-1",
		"outcome=unknown",
		"type=auth&outcome=failure&actor=user-1",
	}
	streams := make([]*sseStream, len(tests))
	for i, params := range tests {
		streams[i] = e.openStream(t, "/v1/stream?"+params, e.tokens[own+"-reader"], "")
	}
	first := e.size(t, own)
	e.ingestN(t, 0, n/2)
	e.ingestN(t, n/2, n/2)
	// The same filters through the query index.
	e.waitIndex(t, own)
	for i, params := range tests {
		all := e.queryAll(t, params+fmt.Sprintf("&from=%s", qbase.Format(time.RFC3339)), 1000)
		var want []uint64
		for j := len(all) - 1; j >= 0; j-- {
			if all[j] >= first {
				want = append(want, all[j])
			}
		}
		if len(want) == 0 {
			t.Fatalf("filter %s matches nothing: a useless test", params)
		}
		streams[i].expect(t, e, want...)
		streams[i].quiet(t)
	}
}

func TestStreamRefused(t *testing.T) {
	e := newEnv(t, envOptions{query: true})
	tests := []struct {
		cred, params, lastID string
		code                 int
	}{
		{"", "", "", http.StatusUnauthorized},
		{own + "-writer", "", "", http.StatusForbidden},
		{other + "-reader", "log=" + own, "", http.StatusForbidden},
		{"instance-reader", "", "", http.StatusBadRequest},
		{own + "-reader", "from=-1h", "", http.StatusBadRequest},
		{own + "-reader", "limit=10", "", http.StatusBadRequest},
		{own + "-reader", "query=x", "", http.StatusBadRequest},
		{own + "-reader", "outcome=maybe", "", http.StatusBadRequest},
		{own + "-reader", "from_index=x", "", http.StatusBadRequest},
		{own + "-reader", "from_index=18446744073709551615", "", http.StatusBadRequest},
		{own + "-reader", "", "abc", http.StatusBadRequest},
		{own + "-reader", "", "-1", http.StatusBadRequest},
	}
	for _, tt := range tests {
		r, err := http.NewRequest(http.MethodGet, e.ts.URL+"/v1/stream?"+tt.params, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok := e.tokens[tt.cred]; tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		if tt.lastID != "" {
			r.Header.Set("Last-Event-ID", tt.lastID)
		}
		resp, err := e.ts.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("GET /v1/stream?%s with %q, Last-Event-ID %q = %d, want %d", tt.params, tt.cred, tt.lastID, resp.StatusCode, tt.code)
		}
	}
}

func TestStreamKeepAlive(t *testing.T) {
	e := newEnv(t, envOptions{query: true, keepAlive: 30 * time.Millisecond})
	s := e.openStream(t, "/v1/stream", e.tokens[own+"-reader"], "")
	select {
	case ev := <-s.events:
		if ev.comment != "keep-alive" {
			t.Errorf("first stream event = %+v, want a keep-alive comment", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no keep-alive within 5s")
	}
	idx := e.ingestN(t, 0, 1)
	s.expect(t, e, idx...)
}

func TestStreamDisconnect(t *testing.T) {
	e := newEnv(t, envOptions{query: true})
	reader := e.tokens[own+"-reader"]
	// Warm up the client and server connections.
	warm := e.openStream(t, "/v1/stream", reader, "")
	warm.close()
	waitFor(t, "the warm-up stream to end", func() bool { return e.hub.subscribers(own) == 0 })
	base := runtime.NumGoroutine()

	streams := make([]*sseStream, 8)
	for i := range streams {
		streams[i] = e.openStream(t, "/v1/stream", reader, "")
	}
	idx := e.ingestN(t, 0, 2)
	for _, s := range streams {
		s.expect(t, e, idx...)
	}
	if n := e.hub.subscribers(own); n != len(streams) {
		t.Errorf("hub subscribers = %d, want %d", n, len(streams))
	}
	for _, s := range streams {
		s.close()
	}
	waitFor(t, "the hub to drop its subscribers", func() bool { return e.hub.subscribers(own) == 0 })
	e.ts.Client().CloseIdleConnections()
	waitFor(t, fmt.Sprintf("goroutines to return to %d", base), func() bool { return runtime.NumGoroutine() <= base })
	e.ingestN(t, 2, 1) // the hub has no one to tell
}

func TestStreamDraining(t *testing.T) {
	e := newEnv(t, envOptions{query: true})
	reader := e.tokens[own+"-reader"]
	s := e.openStream(t, "/v1/stream", reader, "")
	idx := e.ingestN(t, 0, 1)
	s.expect(t, e, idx...)
	start := time.Now()
	e.srv.SetDraining(true)
	s.ended(t)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the stream ended %v after draining started, want promptly", d)
	}
	resp, body := e.do(t, request{method: http.MethodGet, path: "/v1/stream", token: reader})
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("GET /v1/stream while draining = %d %s, want 503 with Retry-After", resp.StatusCode, body)
	}
	e.srv.SetDraining(false)
	// The client reconnects with the id it last received and misses
	// nothing.
	missed := e.ingestN(t, 1, 2)
	r := e.openStream(t, "/v1/stream", reader, strconv.FormatUint(idx[0], 10))
	r.expect(t, e, missed...)
}

// TestStreamSlowClient checks that a client that does not read holds up
// neither ingest nor the other streams.
func TestStreamSlowClient(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests several megabytes")
	}
	e := newEnv(t, envOptions{query: true})
	reader := e.tokens[own+"-reader"]
	// A stream whose body nobody reads.
	ctx, cancel := context.WithCancel(context.Background())
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ts.URL+"/v1/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+reader)
	stalled, err := e.ts.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stalled.Body.Close()
	})
	live := e.openStream(t, "/v1/stream", reader, "")
	pad := strings.Repeat("x", 16<<10)
	var want []uint64
	start := time.Now()
	for b := range 32 { // 10 MiB, more than the socket buffers hold
		parts := make([]string, 20)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"time":"2026-11-23T12:00:00Z","type":"bulk.write","actor":{"id":"bulk"},"data":{"n":%d,"pad":%q}}`, b*20+i, pad)
		}
		res := e.ingest(t, "application/json", "["+strings.Join(parts, ",")+"]")
		for _, r := range res.Results {
			want = append(want, r.Index)
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("ingesting beside a stalled stream took %v", d)
	}
	live.expect(t, e, want...)
}

func TestHub(t *testing.T) {
	h := NewHub()
	h.Notify("a", 1) // no subscriber: nothing happens, nothing blocks
	a, cancelA := h.Subscribe("a")
	b, cancelB := h.Subscribe("b")
	defer cancelB()
	for _, n := range []uint64{2, 5, 3} {
		h.Notify("a", n) // nobody receives: coalesced, never blocking
	}
	if got := <-a; got != 5 {
		t.Errorf("coalesced size = %d, want the largest, 5", got)
	}
	select {
	case n := <-a:
		t.Errorf("a second size %d after coalescing", n)
	case n := <-b:
		t.Errorf("log b was told of size %d of log a", n)
	default:
	}
	h.Notify("a", 7)
	if got := <-a; got != 7 {
		t.Errorf("size = %d, want 7", got)
	}
	cancelA()
	cancelA()
	h.Notify("a", 8)
	select {
	case n := <-a:
		t.Errorf("a canceled subscription received %d", n)
	default:
	}
	if n := h.subscribers("a"); n != 0 {
		t.Errorf("subscribers of a after cancel = %d, want 0", n)
	}
}

// TestHubConcurrent runs notifiers and subscribers together (for -race)
// and checks that every subscriber ends up told the final size.
func TestHubConcurrent(t *testing.T) {
	h := NewHub()
	const final = 1000
	done := make(chan bool)
	for range 8 {
		ch, cancel := h.Subscribe("log")
		go func() {
			defer cancel()
			for n := range ch {
				if n == final {
					done <- true
					return
				}
			}
		}()
	}
	notified := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { notified <- struct{}{} }()
			for n := uint64(w); n < final; n += 4 {
				h.Notify("log", n)
				_, cancel := h.Subscribe("other")
				cancel()
			}
		}()
	}
	for range 4 {
		<-notified
	}
	h.Notify("log", final)
	for range 8 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a subscriber was never told the final size")
		}
	}
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
