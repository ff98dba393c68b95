package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/capture"
	"github.com/a24ba333/indelible/internal/index"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/seal"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

// testEnv is a server over real parts: a SQLite store in a temporary
// directory, the ledger, the sealer and the API key manager, served on a
// loopback port.
type testEnv struct {
	st       *sqlite.DB
	led      *ledger.Ledger
	sealer   *seal.Sealer
	keys     *apikey.Manager
	verifier note.Verifier
	vkey     string
	srv      *Server
	ts       *httptest.Server
	tokens   map[string]string // by credential name, see newEnv
	capture  *capture.Manager
	ix       *sqlite.IndexDB // the query index, with envOptions.query
	indexer  *index.Indexer  // the indexer filling ix, with envOptions.query
	hub      *Hub            // with envOptions.query unless noHub
	// onCommit, if set, also sees every commit (after checkCommitted).
	onCommit func(log string, start uint64, entries []*event.Entry)
}

type envOptions struct {
	ledger       ledger.Config
	limits       Limits
	privateTiles bool
	// wrap, if set, wraps the ledger the server uses (not the one that
	// records key changes).
	wrap func(*ledger.Ledger) Ledger

	// query adds the read side: a SQLite query index beside the store,
	// an index.Indexer running over it (Config.Index and
	// Config.Follower) and a Hub that the ledger notifies.
	query bool
	// lazyIndex keeps the ledger from notifying the indexer, which then
	// indexes only when a query waits for it (its poll is an hour).
	lazyIndex bool
	// noFollower leaves Config.Follower unset; noHub leaves Config.Hub
	// unset.
	noFollower, noHub bool
	// clock is the server's Config.Clock.
	clock func() time.Time
	// keepAlive and streamPoll, if set, replace the stream timings.
	keepAlive, streamPoll time.Duration
}

// The tenants of the test keys.
const (
	own   = "acme"
	other = "globex"
)

var roles = []apikey.Role{apikey.Writer, apikey.Reader, apikey.Auditor, apikey.Admin}

// newEnv starts a server and creates a key for every role of the tenants
// own and other and of the instance, named "<tenant>-<role>" ("instance"
// for instance-wide keys), plus a revoked key "revoked".
func newEnv(t testing.TB, opts envOptions) *testEnv {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "indelible.db"), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.example")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	lcfg := opts.ledger
	lcfg.Store, lcfg.Signer, lcfg.Logger = st, signer, logger
	var (
		ix      *sqlite.IndexDB
		indexer *index.Indexer
		hub     *Hub
	)
	if opts.query {
		ix, indexer = startIndexer(t, st, logger, opts.lazyIndex)
		if !opts.noHub {
			hub = NewHub()
		}
	}
	env := new(testEnv)
	lcfg.OnCommit = func(log string, start uint64, entries []*event.Entry) {
		checkCommitted(t, log, start, entries)
		if f := env.onCommit; f != nil {
			f(log, start, entries)
		}
		if indexer != nil && !opts.lazyIndex {
			indexer.Offer(log, start, entries)
		}
		if hub != nil {
			hub.Notify(log, start+uint64(len(entries)))
		}
	}
	led, err := ledger.New(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	sealer, err := seal.New(seal.Config{DigestKey: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := apikey.New(apikey.Config{
		Store: st,
		Record: func(ctx context.Context, log string, ev *event.Event) error {
			e, err := sealer.Seal(log, ev)
			if err != nil {
				return err
			}
			_, err = led.Append(ctx, log, []*event.Entry{e})
			return err
		},
		ValidTenant: ledger.ValidLogName,
	})
	if err != nil {
		t.Fatal(err)
	}
	cm := newCaptureManager(t, st, led, sealer, ix)
	var l Ledger = led
	if opts.wrap != nil {
		l = opts.wrap(led)
	}
	cfg := Config{
		Ledger:       l,
		Entries:      st,
		Sealer:       sealer,
		Keys:         keys,
		VerifierKey:  vkey,
		Limits:       opts.limits,
		PrivateTiles: opts.privateTiles,
		Logger:       logger,
		Registry:     prometheus.NewRegistry(),
		Clock:        opts.clock,
		Hub:          hub,
		Capture:      cm,
	}
	if ix != nil {
		cfg.Index = ix
		if !opts.noFollower {
			cfg.Follower = indexer
		}
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if opts.keepAlive != 0 {
		srv.keepAlive = opts.keepAlive
	}
	if opts.streamPoll != 0 {
		srv.streamPoll = opts.streamPoll
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	e := env
	*e = testEnv{capture: cm, st: st, led: led, sealer: sealer, keys: keys, verifier: verifier, vkey: vkey, srv: srv, ts: ts, tokens: map[string]string{},
		ix: ix, indexer: indexer, hub: hub}
	for _, tenant := range []string{own, other, ""} {
		for _, role := range roles {
			name := tenant
			if name == "" {
				name = "instance"
			}
			e.tokens[name+"-"+string(role)] = e.newKey(t, tenant, role)
		}
	}
	e.tokens["revoked"] = e.newKey(t, own, apikey.Admin)
	id := strings.Split(e.tokens["revoked"], "_")[1]
	if _, err := keys.Revoke(ctx, apikey.Principal{KeyID: "test", Role: apikey.Admin}, id); err != nil {
		t.Fatal(err)
	}
	return e
}

// startIndexer opens a query index beside the store and runs an indexer
// over it until the test ends. A lazy indexer polls only every hour.
func startIndexer(t testing.TB, st *sqlite.DB, logger *slog.Logger, lazy bool) (*sqlite.IndexDB, *index.Indexer) {
	t.Helper()
	ctx := context.Background()
	ix, err := sqlite.OpenIndex(ctx, sqlite.IndexConfig{Path: filepath.Join(t.TempDir(), "index.db"), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	poll := 20 * time.Millisecond
	if lazy {
		poll = time.Hour
	}
	x, err := index.New(index.Config{Store: st, Index: ix, Logger: logger, Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		x.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ix, x
}

// newKey creates a key directly with the manager.
func (e *testEnv) newKey(t testing.TB, tenant string, role apikey.Role) string {
	t.Helper()
	token, _, err := e.keys.Create(context.Background(), apikey.Principal{KeyID: "test", Role: apikey.Admin}, tenant, role, "test key")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// request is one HTTP request of a test.
type request struct {
	method      string
	path        string
	token       string // sent as a bearer token if not empty
	contentType string
	body        []byte
}

// do sends req to the server and returns the response, with its body read.
func (e *testEnv) do(t testing.TB, req request) (*http.Response, []byte) {
	t.Helper()
	r, err := http.NewRequest(req.method, e.ts.URL+req.path, bytes.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	if req.contentType != "" {
		r.Header.Set("Content-Type", req.contentType)
	}
	resp, err := e.ts.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// get sends a GET with the instance reader key.
func (e *testEnv) get(t testing.TB, path string) (*http.Response, []byte) {
	t.Helper()
	return e.do(t, request{method: http.MethodGet, path: path, token: e.tokens["instance-reader"]})
}

// ingest posts events to log own with its writer key and fails the test
// unless the answer is 200.
func (e *testEnv) ingest(t testing.TB, contentType string, body string) eventsResponse {
	t.Helper()
	resp, data := e.do(t, request{method: http.MethodPost, path: "/v1/events", token: e.tokens[own+"-writer"], contentType: contentType, body: []byte(body)})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/events = %d %s, want 200", resp.StatusCode, data)
	}
	var out eventsResponse
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// size returns the size of a log's newest checkpoint in the store.
func (e *testEnv) size(t testing.TB, log string) uint64 {
	t.Helper()
	h, err := e.st.Head(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	return h.Size
}

// checkpoints counts the stored checkpoints of a log.
func (e *testEnv) checkpoints(t testing.TB, log string) int {
	t.Helper()
	n := 0
	err := e.st.ScanCheckpoints(context.Background(), log, math.MaxUint64, func(store.Checkpoint) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// open verifies a checkpoint of log with the test key.
func (e *testEnv) open(t testing.TB, log string, text string) verify.SignedCheckpoint {
	t.Helper()
	cp, err := verify.OpenCheckpoint([]byte(text), note.VerifierList(e.verifier), e.led.Origin(log))
	if err != nil {
		t.Fatalf("OpenCheckpoint(%q) = %v", text, err)
	}
	return cp
}

// ev returns the text of a valid event.
func ev(id string, n int) string {
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"id":%q,`, id)
	}
	t := time.Date(2026, 11, 23, 19, 40, 0, n*1000, time.UTC).Format(time.RFC3339Nano)
	return fmt.Sprintf(`{%s"time":%q,"type":"auth.login","outcome":"failure","actor":{"id":"user-%d@example.com","ip":"203.0.113.7"},"data":{"n":%d}}`, idField, t, n%17, n)
}

// evs returns n events as a JSON array, or NDJSON if nd is set, with ids
// prefix-0, prefix-1...; an empty prefix leaves the ids to the server.
func evs(prefix string, first, n int, nd bool) string {
	parts := make([]string, n)
	for i := range parts {
		id := ""
		if prefix != "" {
			id = fmt.Sprintf("%s-%d", prefix, first+i)
		}
		parts[i] = ev(id, first+i)
	}
	if nd {
		return strings.Join(parts, "\n") + "\n"
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// newCaptureManager returns the capture configuration of the test
// server, recording its changes through led, and finding them through ix
// if it is not nil.
func newCaptureManager(t testing.TB, st *sqlite.DB, led *ledger.Ledger, sealer *seal.Sealer, ix *sqlite.IndexDB) *capture.Manager {
	t.Helper()
	cfg := capture.Config{
		Entries: st,
		Record: func(ctx context.Context, log string, evs []*event.Event) ([]store.Entry, error) {
			entries := make([]*event.Entry, len(evs))
			for i, ev := range evs {
				if err := ev.Validate(true); err != nil {
					return nil, err
				}
				e, err := sealer.Seal(log, ev)
				if err != nil {
					return nil, err
				}
				entries[i] = e
			}
			ap, err := led.Append(ctx, log, entries)
			if err != nil {
				return nil, err
			}
			out := make([]store.Entry, len(entries))
			for i, e := range entries {
				body, err := e.Canonical()
				if err != nil {
					return nil, err
				}
				out[i] = store.Entry{Index: ap.Results[i].Index, ID: e.ID, Body: body}
			}
			return out, nil
		},
	}
	if ix != nil {
		cfg.Index = ix
	}
	m, err := capture.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkCommitted checks, for every commit of every test, what the readers
// that follow the log rely on: an event entry committed from memory is
// equal to the entry decoded from its bytes, so that indexing or
// analysing it from memory gives what a replay from the store gives.
// Indelible's own entries and quarantined items, which hold Go types,
// are read back from their bytes by those readers.
func checkCommitted(t testing.TB, log string, start uint64, entries []*event.Entry) {
	if strings.HasSuffix(log, QuarantineSuffix) {
		return
	}
	for i, e := range entries {
		if e.Category() == event.ReservedCategory {
			continue
		}
		b, err := e.Canonical()
		if err != nil {
			t.Errorf("committed entry %d of %s: %v", start+uint64(i), log, err)
			continue
		}
		d, err := event.DecodeEntry(b)
		if err != nil || !reflect.DeepEqual(d, e) {
			t.Errorf("committed entry %d of %s differs from its bytes decoded (%v):\nmemory:  %#v\ndecoded: %#v", start+uint64(i), log, err, e, d)
		}
	}
}
