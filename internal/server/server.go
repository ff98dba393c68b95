// Package server is Indelible's HTTP API: routes, request limits,
// authentication by API key, authorisation by role and tenant, and
// metrics. It is the one place that maps errors to HTTP status codes
// (see classify).
//
// # Routes
//
//	POST   /v1/events                          ingest one event, a JSON array or NDJSON (writer)
//	POST   /v1/ingest/kubernetes               ingest a Kubernetes audit webhook batch (writer)
//	GET    /v1/logs/{log}/checkpoint           newest signed checkpoint, text/plain (public*)
//	GET    /v1/logs/{log}/tile/{L}/{N}[.p/{W}] C2SP tlog-tiles hash tile (public*)
//	GET    /v1/logs/{log}/tile/entries/{N}[.p/{W}]  C2SP tlog-tiles entry bundle (reader)
//	GET    /v1/logs/{log}/entries/{index}      one entry (reader)
//	GET    /v1/logs/{log}/proof/inclusion?index=I&size=N    (reader)
//	GET    /v1/logs/{log}/proof/consistency?from=M&to=N     (reader)
//	GET    /v1/events                          query a log through the query index (reader)
//	GET    /v1/stream                          live tail of a log, Server-Sent Events (reader)
//	GET    /v1/key                             checkpoint verifier key, text/plain (public*)
//	POST   /v1/keys                            create an API key (admin)
//	GET    /v1/keys                            list API keys (admin)
//	DELETE /v1/keys/{id}                       revoke an API key (admin)
//	GET    /metrics                            Prometheus metrics (public*)
//	GET    /healthz, /readyz                   liveness and readiness (public)
//
// (*) Public unless Config.PrivateTiles is set; then the checkpoint, hash
// tiles and key need a reader key for the log and /metrics an
// instance-wide reader key. Public routes ignore any key sent.
//
// # Ingest
//
// An ingest request is all or nothing: every event is parsed and
// validated, then sealed, then the batch is appended to the log with one
// ledger Append; the response (200) is written only after the Append
// returned, that is after the events, their tiles and a checkpoint that
// includes them are durable. The target log is the tenant of the key; an
// instance-wide key names it with the "log" query parameter or the
// X-Indelible-Log header. At most Limits.MaxInFlight ingest requests are
// served at once; beyond that requests are answered 503 with
// Retry-After at once, never queued.
//
// # Reading
//
// GET /v1/events answers from the query index (Config.Index), which an
// indexer fills from the committed entries off the append path; see
// getEvents for the parameters and the answer. GET /v1/stream follows a
// log's commits (Config.Hub) and sends its entries as Server-Sent Events;
// see getStream. Both read the entries themselves from Config.Entries. The
// log is the key's tenant; an instance-wide key names it with the "log"
// query parameter.
//
// # Errors
//
// Every error response is JSON:
//
//	{"error": "...", "details": [{"item": 3, "line": 4, "path": "/actor/id", "message": "..."}]}
//
// "details" lists every bad item of a refused batch: its 0-based
// position, the line where it starts (when known), the JSON Pointer of the
// field within the item (within the body for Kubernetes batches) and what
// is wrong. classify documents the status codes.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/store"
)

// Appender appends sealed entries to a log (*ledger.Ledger).
type Appender interface {
	// Append appends entries to log all or nothing and returns once they
	// are durable, with their results and a signed checkpoint that
	// includes them. An id that the log holds with other content fails
	// with a *ledger.ConflictError; an entry too large to store with an
	// error wrapping event.ErrEntryTooLarge. Safe for concurrent use.
	Append(ctx context.Context, log string, entries []*event.Entry) (ledger.Appended, error)
}

// Prover reads a log's tree (*ledger.Ledger). Methods are safe for
// concurrent use and see only committed data.
type Prover interface {
	// Head returns the newest checkpoint of log, zero for an unknown or
	// empty log.
	Head(ctx context.Context, log string) (store.Checkpoint, error)
	// InclusionProof proves the entry at index in the tree of size. It
	// returns an error wrapping ledger.ErrBadRange for index >= size or a
	// size of 0 or beyond the tree.
	InclusionProof(ctx context.Context, log string, index, size uint64) ([][]byte, error)
	// ConsistencyProof proves that the tree of size to extends the tree
	// of size from; ledger.ErrBadRange as for InclusionProof.
	ConsistencyProof(ctx context.Context, log string, from, to uint64) ([][]byte, error)
	// ReadTile returns the stored hashes of a tile, which may be partial
	// (the widest stored), or an error wrapping fs.ErrNotExist.
	ReadTile(ctx context.Context, log string, level uint8, index uint64) ([]byte, error)
}

// Ledger is what the server needs of the ledger.
type Ledger interface {
	Appender
	Prover
}

// EntryReader reads committed entries (store.Store).
type EntryReader interface {
	// ReadEntries returns the stored entries with start <= Index < end,
	// in Index order; missing indexes are absent.
	ReadEntries(ctx context.Context, log string, start, end uint64) ([]store.Entry, error)
}

// Sealer turns a validated event into the entry of a log (*seal.Sealer).
// Safe for concurrent use.
type Sealer interface {
	// Seal seals an event captured in full.
	Seal(log string, ev *event.Event) (*event.Entry, error)
	// SealCaptured seals what the capture policy kept of ev.
	SealCaptured(log string, ev, captured *event.Event, c event.Capture) (*event.Entry, error)
}

// Authenticator checks API keys (*apikey.Manager).
type Authenticator interface {
	// Authenticate returns the caller a token belongs to, or an error
	// wrapping apikey.ErrUnauthenticated for a malformed, unknown or
	// revoked token; other errors are failures to check.
	Authenticate(ctx context.Context, token string) (apikey.Principal, error)
}

// KeyAdmin administers API keys (*apikey.Manager). Every method checks
// that by may do what it asks (apikey.ErrForbidden otherwise) and records
// the change in the log before returning.
type KeyAdmin interface {
	// Create issues a key and returns its token, which is shown once.
	Create(ctx context.Context, by apikey.Principal, tenant string, role apikey.Role, name string) (string, apikey.Key, error)
	// List returns the keys of tenant ("" for all), never their secrets.
	List(ctx context.Context, by apikey.Principal, tenant string) ([]apikey.Key, error)
	// Revoke revokes a key; apikey.ErrNotFound for an id unknown to by.
	Revoke(ctx context.Context, by apikey.Principal, id string) (apikey.Key, error)
}

// KeyManager authenticates and administers keys.
type KeyManager interface {
	Authenticator
	KeyAdmin
}

// Limits bounds what one request may ask. A zero field takes its default.
type Limits struct {
	// MaxBodyBytes bounds an ingest request body (default 8 MiB: the
	// Kubernetes API server sends batches of up to 400 events).
	MaxBodyBytes int64
	// MaxEventBytes bounds the JSON text of one event (default 64 KiB,
	// the C2SP tlog-tiles entry limit).
	MaxEventBytes int
	// MaxBatchEvents bounds the events of one request (default 10000).
	MaxBatchEvents int
	// MaxInFlight bounds the ingest requests served at once (default
	// 256); more are answered 503 with Retry-After.
	MaxInFlight int
	// MaxIndexWait bounds how long a query with min_index waits for the
	// query index to cover that index (default 10s); then it is answered
	// 503 with Retry-After.
	MaxIndexWait time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxBodyBytes   = 8 << 20
	DefaultMaxEventBytes  = 64 << 10
	DefaultMaxBatchEvents = 10000
	DefaultMaxInFlight    = 256
	DefaultMaxIndexWait   = 10 * time.Second
)

// maxSmallBody bounds the bodies of the requests that are not ingest.
const maxSmallBody = 64 << 10

// Config configures a Server. Ledger, Entries, Sealer, Keys and
// VerifierKey are required.
type Config struct {
	// Ledger appends to and proves logs.
	Ledger Ledger
	// Entries reads committed entries, for entries and entry bundles.
	Entries EntryReader
	// Sealer seals ingested events into entries. No project or
	// environment defaults are applied yet.
	Sealer Sealer
	// Keys authenticates callers and administers API keys.
	Keys KeyManager
	// VerifierKey is the signed-note verifier key of the checkpoint
	// signer ("<name>+<hash>+<base64>"), served at /v1/key.
	VerifierKey string
	// Limits bounds requests.
	Limits Limits
	// PrivateTiles requires a reader key for checkpoints, hash tiles and
	// the verifier key, and an instance-wide reader key for /metrics. By
	// default they are public (they reveal only sizes and hashes), so
	// that outside verifiers and witnesses can follow the logs. Entry
	// bundles always need a reader key.
	PrivateTiles bool
	// Logger receives request failures (default: discarded).
	Logger *slog.Logger
	// Registry receives the server's metrics and is served at /metrics
	// (default: a new registry).
	Registry *prometheus.Registry
	// Clock times commits and resolves relative query times such as
	// "-24h" (default time.Now).
	Clock func() time.Time
	// Index answers GET /v1/events (a store.Index such as
	// *sqlite.IndexDB). Optional: without it, GET /v1/events answers 503.
	Index Querier
	// Follower waits for the query index to catch up with the logs (an
	// *index.Indexer), for the min_index parameter of GET /v1/events, and
	// reports its lag as the metric indelible_index_lag_entries. Optional:
	// without it, min_index is refused (400) and the lag is not reported.
	Follower Follower
	// Capture holds the schemas and capture policy of every log and
	// changes them (/v1/schemas, /v1/policies). Optional: without it,
	// every event is captured in full and those routes answer 404.
	Capture Capturer
	// Hub signals commits to the live streams of GET /v1/stream; the
	// ledger's Config.OnCommit must call its Notify. Optional: without
	// it, each stream polls its log's head every 500ms.
	Hub *Hub
}

// Querier answers queries from a query index (store.Index).
type Querier interface {
	// QueryIndex returns the indexes of the entries that match q, newest
	// first, at most q.Limit of them, and the watermark of q.Log that the
	// answer reflects: every entry below it was searched. Safe for
	// concurrent use.
	QueryIndex(ctx context.Context, q store.IndexQuery) (indexes []uint64, watermark uint64, err error)
}

// Follower follows the query index as it catches up with the logs
// (*index.Indexer). Safe for concurrent use.
type Follower interface {
	// Wait returns once the index covers entry index of log (its
	// watermark is above index), or with an error wrapping ctx's error.
	Wait(ctx context.Context, log string, index uint64) error
	// Lag returns how many committed entries of log the index does not
	// cover yet.
	Lag(ctx context.Context, log string) (uint64, error)
}

// Server serves the HTTP API. It is safe for concurrent use.
type Server struct {
	cfg      Config
	lim      event.Limits
	inflight chan struct{} // a token per ingest request being served
	draining atomic.Bool
	m        *metrics
	handler  http.Handler

	drainMu sync.Mutex
	drain   chan struct{} // closed while draining, to end streams; guarded by drainMu

	// Stream timing, fixed by New (tests shorten them before serving).
	keepAlive  time.Duration // between keep-alive comments
	streamPoll time.Duration // between head reads without a Hub
}

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Ledger == nil:
		return nil, errors.New("server: Config.Ledger is nil")
	case cfg.Entries == nil:
		return nil, errors.New("server: Config.Entries is nil")
	case cfg.Sealer == nil:
		return nil, errors.New("server: Config.Sealer is nil")
	case cfg.Keys == nil:
		return nil, errors.New("server: Config.Keys is nil")
	}
	if _, err := note.NewVerifier(cfg.VerifierKey); err != nil {
		return nil, fmt.Errorf("server: Config.VerifierKey: %w", err)
	}
	l := &cfg.Limits
	if l.MaxBodyBytes < 0 || l.MaxEventBytes < 0 || l.MaxBatchEvents < 0 || l.MaxInFlight < 0 || l.MaxIndexWait < 0 {
		return nil, errors.New("server: negative Config.Limits")
	}
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxEventBytes == 0 {
		l.MaxEventBytes = DefaultMaxEventBytes
	}
	if l.MaxBatchEvents == 0 {
		l.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if l.MaxInFlight == 0 {
		l.MaxInFlight = DefaultMaxInFlight
	}
	if l.MaxIndexWait == 0 {
		l.MaxIndexWait = DefaultMaxIndexWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	m, err := newMetrics(cfg.Registry, cfg.Follower)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		lim:        event.Limits{MaxBytes: l.MaxEventBytes},
		inflight:   make(chan struct{}, l.MaxInFlight),
		m:          m,
		drain:      make(chan struct{}),
		keepAlive:  streamKeepAlive,
		streamPoll: streamPoll,
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.handler }

// SetDraining makes /readyz fail (while draining is true), so that load
// balancers stop sending requests before the server shuts down. Starting
// to drain also ends every open stream (its client reconnects elsewhere
// with Last-Event-ID), so that streams do not hold up a graceful shutdown,
// and refuses new ones.
func (s *Server) SetDraining(draining bool) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	s.draining.Store(draining)
	select {
	case <-s.drain:
		if !draining {
			s.drain = make(chan struct{})
		}
	default:
		if draining {
			close(s.drain)
		}
	}
}

// drained returns a channel that is closed when draining starts.
func (s *Server) drained() <-chan struct{} {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	return s.drain
}

// handlerFunc is an HTTP handler that returns its error for writeError.
// A handler that returns an error must not have written anything.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, maxBody int64, ingest bool, h handlerFunc) {
		mux.Handle(pattern, http.MaxBytesHandler(s.instrument(pattern, ingest, h), maxBody))
	}
	body := s.cfg.Limits.MaxBodyBytes
	handle("POST /v1/events", body, true, s.postEvents)
	handle("POST /v1/ingest/kubernetes", body, true, s.postKubernetes)
	handle("GET /v1/logs/{log}/checkpoint", 0, false, s.getCheckpoint)
	handle("GET /v1/logs/{log}/tile/{path...}", 0, false, s.getTile)
	handle("GET /v1/logs/{log}/entries/{index}", 0, false, s.getEntry)
	handle("GET /v1/logs/{log}/proof/inclusion", 0, false, s.getInclusion)
	handle("GET /v1/logs/{log}/proof/consistency", 0, false, s.getConsistency)
	handle("GET /v1/events", 0, false, s.getEvents)
	handle("GET /v1/stream", 0, false, s.getStream)
	handle("GET /v1/key", 0, false, s.getKey)
	handle("POST /v1/keys", maxSmallBody, false, s.postKey)
	handle("GET /v1/keys", 0, false, s.listKeys)
	handle("DELETE /v1/keys/{id}", 0, false, s.deleteKey)
	handle("GET /v1/schemas", 0, false, s.getSchemas)
	handle("GET /v1/schemas/{type}", 0, false, s.getSchema)
	handle("PUT /v1/schemas/{type}", maxConfigBody, false, s.putSchema)
	handle("GET /v1/policies", 0, false, s.getPolicy)
	handle("PUT /v1/policies", maxConfigBody, false, s.putPolicy)
	handle("GET /v1/rules", 0, false, s.getRules)
	handle("PUT /v1/rules", maxConfigBody, false, s.putRules)
	handle("GET /v1/config/history", 0, false, s.getConfigHistory)
	handle("POST /v1/proposals/{id}/approve", 0, false, s.approve)
	handle("GET /v1/stats", 0, false, s.getStats)
	handle("GET /v1/findings", 0, false, s.getFindings)
	handle("GET /v1/findings/{id}", 0, false, s.getFinding)
	handle("POST /v1/findings/{id}/{action}", maxSmallBody, false, s.postFindingAction)
	handle("GET /metrics", 0, false, s.getMetrics)
	handle("GET /healthz", 0, false, s.healthz)
	handle("GET /readyz", 0, false, s.readyz)
	return mux
}

// instrument runs h, answers its error and counts the request.
func (s *Server) instrument(route string, ingest bool, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		err := h(sw, r)
		code := sw.code
		switch {
		case err != nil && sw.code != 0:
			// Too late to answer with the error.
			s.cfg.Logger.ErrorContext(r.Context(), "request failed after its response started",
				"method", r.Method, "path", r.URL.Path, "err", err)
		case err != nil:
			var body errorBody
			code, body = s.writeError(sw, r, err)
			if ingest {
				s.m.refused(code, body)
			}
		case code == 0:
			code = http.StatusOK
		}
		s.m.request(route, code)
	})
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeText(w, "no-store", []byte("ok\n"))
}

// readyz answers 200 when the store answers and the server is not
// draining.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return fmt.Errorf("%w: draining", errNotReady)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.cfg.Ledger.Head(ctx, apikey.SystemLog); err != nil {
		s.cfg.Logger.WarnContext(r.Context(), "readiness check failed", "err", err)
		return fmt.Errorf("%w: the store does not answer", errNotReady)
	}
	return writeText(w, "no-store", []byte("ok\n"))
}

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.PrivateTiles {
		if _, err := s.authorize(r, apikey.Reader, ""); err != nil {
			return err
		}
	}
	s.m.handler.ServeHTTP(w, r)
	return nil
}
