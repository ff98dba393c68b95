package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a24ba333/indelible/client"
	"github.com/a24ba333/indelible/event"
)

func benchCommand() *command {
	return &command{
		name:     "bench",
		summary:  "measure a server's ingest throughput and latency with generated events",
		synopsis: "bench --server URL [--api-key KEY] [--log LOG] [--concurrency N] [--batch B] [--rate R] [--duration D] [--single] [--json]",
		help: `
Sends generated events to POST /v1/events of the server at URL and measures
it: N workers (--concurrency) each send a batch of B events (--batch) as a
JSON array, wait for the answer, and send the next, until --duration has
passed or --max-requests requests were sent. Each event is realistic and
about 400 bytes: authentication, data access and configuration events with
varied actors, resources and outcomes. Each worker generates 32 batches
before the run and sends them in turn, every time with a fresh UUIDv7 id
per event and the current time, so that the generator costs little of the
machine it shares with the server. For the same reason each worker keeps
one HTTP/1.1 connection of its own (plain or TLS; no proxy) and writes its
requests with one system call. With --single every request carries one
event as a bare JSON object.

By default the workers send as fast as the server answers (a closed loop),
which measures the most the server takes; the latency is then what N
requests queued on a saturated server wait. --rate R sends R events per
second instead (an open loop): requests are due at fixed intervals
(B/R seconds apart, shared by the workers), and each one's latency runs
from when it was due, not from when a worker got to send it, so that a
server that falls behind shows it in the latency (no "coordinated
omission"). This measures the latency at a given load.

Answers 429 and 503 are counted, and the worker waits as long as their
Retry-After asks (1 s if absent) before sending again; other failures are
counted by status ("network" when there was no answer). A progress line
goes to standard error every few seconds. At the end it prints events and
requests per second, the latency of the accepted requests (p50, p95, p99
and max) and the count of answers by status; with --json, the same as one
JSON object on standard output.

The events are really appended: run it against a test instance, or a log of
its own (--log with an instance-wide writer key). The API key is read from
--api-key or INDELIBLE_API_KEY.

Exit status: 0 if some requests were accepted, 2 on usage errors or if no
request was accepted.`,
		examples: `
indelible bench --server http://127.0.0.1:8080 --api-key $WRITER_KEY --concurrency 8 --batch 100 --duration 30s
indelible bench --server http://127.0.0.1:8080 --log bench --single --concurrency 64 --duration 10s --json`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			var o benchOptions
			fs.StringVar(&o.server, "server", "", "base `URL` of the server; several nodes of one store comma-separated")
			fs.StringVar(&o.apiKey, "api-key", "", "writer API `key`")
			fs.StringVar(&o.log, "log", "", "log `name` to append to (needed with an instance-wide key; sent as ?log=)")
			fs.IntVar(&o.concurrency, "concurrency", 4, "`number` of workers, each with one request in flight")
			fs.IntVar(&o.batch, "batch", 100, "`events` per request")
			fs.Float64Var(&o.rate, "rate", 0, "send this many `events` per second in all, each request due at its time (0: as fast as the server answers)")
			fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send requests")
			fs.IntVar(&o.maxRequests, "max-requests", 1_000_000, "stop after this many `requests` even if --duration has not passed")
			fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "`timeout` of one request")
			fs.BoolVar(&o.single, "single", false, "send one event per request, as a JSON object (ignores --batch)")
			fs.BoolVar(&o.json, "json", false, "print the results as one JSON object")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				return runBench(ctx, sio, common.logger(), o)
			}
		},
	}
}

type benchOptions struct {
	server, apiKey, log             string
	concurrency, batch, maxRequests int
	duration, timeout               time.Duration
	rate                            float64 // events/s; 0 for a closed loop
	single, json                    bool
	tls                             *tls.Config // nil: the system's roots for https://
}

// benchWorker holds what one worker measured; only it writes them until
// it ends.
type benchWorker struct {
	latencies []time.Duration   // of accepted requests
	statuses  map[string]int    // answers by status, "network" for none
	details   map[string]string // by status, what its first failure said
}

// benchCounters are read by the progress line while workers run.
type benchCounters struct {
	requests, events, failures atomic.Int64
}

func runBench(ctx context.Context, sio *stdio, logger *slog.Logger, o benchOptions) error {
	switch {
	case o.server == "":
		return usageErrorf("--server is required (or set %s)", envName("server"))
	case o.concurrency < 1 || o.concurrency > 10000:
		return usageErrorf("--concurrency %d: want 1 to 10000", o.concurrency)
	case o.batch < 1 || o.batch > 100000:
		return usageErrorf("--batch %d: want 1 to 100000", o.batch)
	case o.duration <= 0:
		return usageErrorf("--duration %v: want a positive duration such as 10s", o.duration)
	case o.maxRequests < 1:
		return usageErrorf("--max-requests %d: want at least 1", o.maxRequests)
	case o.timeout <= 0:
		return usageErrorf("--timeout %v: want a positive duration", o.timeout)
	case o.rate < 0 || o.rate > 1e7:
		return usageErrorf("--rate %v: want 0 (as fast as possible) up to 10000000 events/s", o.rate)
	}
	if o.single {
		o.batch = 1
	}
	// With --rate, request k is due at start + k*interval.
	var interval time.Duration
	if o.rate > 0 {
		interval = time.Duration(float64(o.batch) / o.rate * float64(time.Second))
	}
	// Several servers (nodes on one shared store), comma-separated: each
	// worker sends to one of them, in turn.
	var targets []string
	for _, srv := range strings.Split(o.server, ",") {
		u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(srv), "/") + "/v1/events")
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return usageErrorf("--server %q: want an http:// or https:// URL (or several, comma-separated)", srv)
		}
		if o.log != "" {
			u.RawQuery = url.Values{"log": {o.log}}.Encode()
		}
		targets = append(targets, u.String())
	}
	conns := make([]*benchConn, o.concurrency)
	for i := range conns {
		c, err := newBenchConn(targets[i%len(targets)], o.apiKey, o.timeout, o.tls)
		if err != nil {
			return usageErrorf("--server: %v", err)
		}
		conns[i] = c
		defer c.close()
	}
	pools := make([]*benchBodies, o.concurrency)
	seed := uint64(time.Now().UnixNano())
	for i := range pools {
		pools[i] = newBenchBodies(newEventGen(seed, uint64(i)), o.batch, o.single)
	}

	// Workers start no request after the deadline; a request in flight at
	// the deadline runs to its end (at most --timeout), so that it is not
	// counted as a failure.
	start := time.Now()
	runCtx, cancel := context.WithDeadline(ctx, start.Add(o.duration))
	defer cancel()
	var left, ticket atomic.Int64
	left.Store(int64(o.maxRequests))
	var cnt benchCounters
	workers := make([]*benchWorker, o.concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &benchWorker{statuses: map[string]int{}, details: map[string]string{}}
		workers[i] = w
		bodies := pools[i]
		conn := conns[i]
		wg.Go(func() {
			for runCtx.Err() == nil && left.Add(-1) >= 0 {
				body := bodies.take()
				var due time.Time // zero: now
				if interval > 0 {
					due = start.Add(time.Duration(ticket.Add(1)-1) * interval)
					if due.After(start.Add(o.duration)) {
						break
					}
					sleepCtx(runCtx, time.Until(due))
					if runCtx.Err() != nil {
						break
					}
				}
				a := conn.post(ctx, body, due)
				w.statuses[a.status]++
				cnt.requests.Add(1)
				if a.status == "200" {
					w.latencies = append(w.latencies, a.lat)
					cnt.events.Add(int64(o.batch))
					continue
				}
				cnt.failures.Add(1)
				if _, ok := w.details[a.status]; !ok {
					w.details[a.status] = a.detail
				}
				wait := a.wait
				switch a.status {
				case "429", "503":
					if wait <= 0 {
						wait = time.Second
					}
				case "network":
					wait = 100 * time.Millisecond // do not spin on a server that is down
				}
				sleepCtx(runCtx, wait)
			}
		})
	}

	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(benchProgressEvery)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			el := time.Since(start).Seconds()
			ev := cnt.events.Load()
			fmt.Fprintf(sio.err, "bench: %.0fs: %d requests, %d events acknowledged (%.0f events/s), %d failed requests\n",
				el, cnt.requests.Load(), ev, float64(ev)/el, cnt.failures.Load())
		}
	}
	elapsed := time.Since(start)
	rep := benchReport(o, elapsed, workers)
	if o.json {
		b, _ := json.Marshal(rep)
		fmt.Fprintf(sio.out, "%s\n", b)
	} else {
		printBenchReport(sio.out, rep)
	}
	logger.Debug("bench done", "requests", rep.Requests, "elapsed", elapsed)
	if rep.Statuses["200"] == 0 {
		return errors.New("no request was accepted (see the answers by status above)")
	}
	return nil // an interrupted run still reports what it measured
}

// benchProgressEvery is the interval between progress lines.
const benchProgressEvery = 3 * time.Second

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// benchResult is the report, as --json prints it.
type benchResult struct {
	Seconds        float64            `json:"seconds"`
	Concurrency    int                `json:"concurrency"`
	Batch          int                `json:"batch"`
	Rate           float64            `json:"rate,omitempty"` // events/s offered with --rate
	Requests       int                `json:"requests"`
	Events         int                `json:"events"` // acknowledged
	EventsPerSec   float64            `json:"events_per_second"`
	RequestsPerSec float64            `json:"requests_per_second"`
	LatencyMillis  map[string]float64 `json:"latency_ms"` // p50, p95, p99, max of accepted requests
	Statuses       map[string]int     `json:"statuses"`   // answers by status, "network" for none
	// Failures holds, for each status other than 200, what the first
	// answer with it said (the start of its body, or the network error).
	Failures map[string]string `json:"failures,omitempty"`
}

func benchReport(o benchOptions, elapsed time.Duration, workers []*benchWorker) benchResult {
	r := benchResult{Seconds: elapsed.Seconds(), Concurrency: o.concurrency, Batch: o.batch, Rate: o.rate, Statuses: map[string]int{}}
	var lat []time.Duration
	for _, w := range workers {
		lat = append(lat, w.latencies...)
		for s, n := range w.statuses {
			r.Statuses[s] += n
			r.Requests += n
		}
		for s, d := range w.details {
			if r.Failures == nil {
				r.Failures = map[string]string{}
			}
			if _, ok := r.Failures[s]; !ok {
				r.Failures[s] = d
			}
		}
	}
	slices.Sort(lat)
	r.Events = len(lat) * o.batch
	r.EventsPerSec = float64(r.Events) / elapsed.Seconds()
	r.RequestsPerSec = float64(r.Requests) / elapsed.Seconds()
	r.LatencyMillis = map[string]float64{}
	if len(lat) > 0 {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		r.LatencyMillis["p50"] = ms(percentile(lat, 0.50))
		r.LatencyMillis["p95"] = ms(percentile(lat, 0.95))
		r.LatencyMillis["p99"] = ms(percentile(lat, 0.99))
		r.LatencyMillis["max"] = ms(lat[len(lat)-1])
	}
	return r
}

// percentile returns the q-quantile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func printBenchReport(w io.Writer, r benchResult) {
	fmt.Fprintf(w, "%.1fs, %d workers, %d events per request", r.Seconds, r.Concurrency, r.Batch)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", %.0f events/s offered (latency from each request's due time)", r.Rate)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "requests:  %d (%.1f/s)\n", r.Requests, r.RequestsPerSec)
	fmt.Fprintf(w, "events:    %d acknowledged (%.1f/s)\n", r.Events, r.EventsPerSec)
	if len(r.LatencyMillis) > 0 {
		fmt.Fprintf(w, "latency:   p50 %.1fms  p95 %.1fms  p99 %.1fms  max %.1fms (accepted requests)\n",
			r.LatencyMillis["p50"], r.LatencyMillis["p95"], r.LatencyMillis["p99"], r.LatencyMillis["max"])
	}
	statuses := make([]string, 0, len(r.Statuses))
	for s := range r.Statuses {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	fmt.Fprintf(w, "answers:  ")
	for _, s := range statuses {
		fmt.Fprintf(w, " %s: %d", s, r.Statuses[s])
	}
	fmt.Fprintln(w)
	for _, s := range statuses {
		if d, ok := r.Failures[s]; ok {
			fmt.Fprintf(w, "first %s: %s\n", s, d)
		}
	}
}

// eventGen generates realistic events. Each worker has its own.
type eventGen struct {
	r *rand.Rand
}

func newEventGen(seed1, seed2 uint64) *eventGen {
	return &eventGen{r: rand.New(rand.NewPCG(seed1, seed2))}
}

var (
	benchUsers    = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"}
	benchDomains  = []string{"example.com", "corp.example.net", "partner.example.org"}
	benchServices = []string{"billing-api", "identity-svc", "report-worker", "deploy-bot", "backup-agent"}
	benchProjects = []string{"payments", "identity", "analytics", "storefront"}
	benchEnvs     = []string{"production", "production", "production", "staging", "development"}
	benchAgents   = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"curl/8.10.1", "okhttp/4.12.0", "python-requests/2.32.3",
	}
	benchKinds = []struct {
		types     []string
		resources []string
	}{
		{[]string{"auth.login", "auth.logout", "auth.mfa.challenge", "auth.password.reset", "auth.token.issue"}, []string{"account", "session"}},
		{[]string{"data.record.read", "data.record.export", "data.record.delete", "data.query.run"}, []string{"table", "bucket", "record"}},
		{[]string{"config.policy.update", "config.secret.rotate", "config.role.grant", "config.flag.toggle"}, []string{"policy", "secret", "role", "feature-flag"}},
	}
)

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

func (g *eventGen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return hex.EncodeToString(b)
}

// event returns one event of about 400 bytes as JSON.
func (g *eventGen) event() *event.Event {
	r := g.r
	kind := benchKinds[r.IntN(len(benchKinds))]
	typ := pick(r, kind.types)
	outcome := event.OutcomeSuccess
	switch p := r.IntN(100); {
	case p < 12:
		outcome = event.OutcomeFailure
	case p < 15:
		outcome = event.OutcomeUnknown
	}
	ev := &event.Event{
		ID:          client.NewID(),
		Time:        time.Now().UTC(),
		Type:        typ,
		Outcome:     outcome,
		Project:     pick(r, benchProjects),
		Environment: pick(r, benchEnvs),
		Source:      pick(r, benchServices),
		TraceID:     g.hex(16),
		Resource:    &event.Resource{Type: pick(r, kind.resources), ID: fmt.Sprintf("%s-%d", pick(r, kind.resources), r.IntN(5000))},
	}
	if r.IntN(5) == 0 {
		ev.Actor = event.Actor{ID: pick(r, benchServices), Type: "service", IP: fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254))}
	} else {
		ev.Actor = event.Actor{ID: pick(r, benchUsers) + "@" + pick(r, benchDomains), Type: "user",
			IP: fmt.Sprintf("203.0.113.%d", 1+r.IntN(254)), UserAgent: pick(r, benchAgents)}
	}
	switch strings.SplitN(typ, ".", 2)[0] {
	case "auth":
		ev.Data = map[string]any{"method": pick(r, []string{"password", "sso", "webauthn", "api-token"}), "mfa": r.IntN(2) == 0, "session_id": g.hex(8)}
		if outcome == event.OutcomeFailure {
			ev.Message = pick(r, []string{"invalid credentials", "MFA challenge failed", "account locked"})
		}
	case "data":
		ev.Data = map[string]any{"rows": r.IntN(100000), "bytes": r.IntN(50 << 20), "purpose": pick(r, []string{"support", "analytics", "legal-hold", "customer-request"})}
	default:
		ev.Data = map[string]any{"key": fmt.Sprintf("settings.%s", g.hex(3)), "previous_version": r.IntN(100), "change_ticket": fmt.Sprintf("CHG-%06d", r.IntN(1000000))}
		ev.Message = "changed by " + ev.Actor.ID
	}
	return ev
}

// Placeholders that body writes for an event's id and time, and that
// benchBodies.next overwrites in place. Both are unique in a body and as
// wide as what replaces them: a UUID, and a time with 9 fraction digits.
const (
	benchIDMark  = "00000000-0000-7000-8000-0000deadbeef"
	benchTimeFmt = "2006-01-02T15:04:05.000000000Z"
)

var benchTimeMark = time.Date(2000, 1, 1, 0, 0, 0, 123456789, time.UTC)

// body returns the body of one request (n events as a JSON array, or one
// bare event) with placeholders for the ids and times, and where they
// are.
func (g *eventGen) body(n int, single bool) (b []byte, ids, times []int) {
	if single {
		n = 1
	} else {
		b = append(b, '[')
	}
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		ev := g.event()
		ev.ID, ev.Time = benchIDMark, benchTimeMark
		e, _ := ev.CanonicalJSON()
		base := len(b)
		b = append(b, e...)
		ids = append(ids, base+bytes.Index(e, []byte(benchIDMark)))
		times = append(times, base+bytes.Index(e, []byte(benchTimeMark.Format(time.RFC3339Nano))))
	}
	if !single {
		b = append(b, ']')
	}
	return b, ids, times
}

// benchBodies is one worker's request bodies: a pool of generated
// batches, sent in turn, each time with fresh ids and the current time
// written over the previous ones. Generating and encoding every event
// anew would cost the load generator more than the server spends on
// parsing it, on the machine they share; the pool keeps the events
// varied (benchPool batches per worker) and every sent event is new to
// the server.
type benchBodies struct {
	pool []benchBody
	next int
}

type benchBody struct {
	b          []byte
	ids, times []int
}

// benchPool is the number of batches a worker generates before it starts.
const benchPool = 32

func newBenchBodies(g *eventGen, n int, single bool) *benchBodies {
	bb := &benchBodies{pool: make([]benchBody, benchPool)}
	for i := range bb.pool {
		b, ids, times := g.body(n, single)
		bb.pool[i] = benchBody{b, ids, times}
	}
	return bb
}

// take returns the next body, with fresh ids and the current time. It is
// valid until the pool comes round to it again.
func (bb *benchBodies) take() []byte {
	p := &bb.pool[bb.next]
	bb.next = (bb.next + 1) % len(bb.pool)
	now := time.Now().UTC()
	var t [len(benchTimeFmt)]byte
	now.AppendFormat(t[:0], benchTimeFmt)
	for _, at := range p.times {
		copy(p.b[at:], t[:])
	}
	for _, at := range p.ids {
		copy(p.b[at:], client.NewID())
	}
	return p.b
}
