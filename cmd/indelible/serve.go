package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/findings"
	"github.com/a24ba333/indelible/internal/index"
	"github.com/a24ba333/indelible/internal/integrity"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/server"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

// watchDir holds, in a data directory, the newest checkpoint of each log
// that the integrity watch verified: a store rolled back behind it is
// reported.
const watchDir = "verified"

// bootstrapKeyFile is where serve writes the first admin key of an empty
// data directory.
const bootstrapKeyFile = "bootstrap-admin.key"

type serveOptions struct {
	dataDir, addr, name string
	maxBatch            int
	maxWait             time.Duration
	limits              server.Limits
	privateTiles        bool
	shutdownTimeout     time.Duration
	debugAddr           string
	verifyEvery         time.Duration
	store               storeOptions
	alerts              string
	followUp            time.Duration
	reviewEvery         time.Duration
}

func serveCommand() *command {
	return &command{
		name:     "serve",
		summary:  "serve the HTTP API on a data directory",
		synopsis: "serve --data-dir DIR [--addr HOST:PORT] [--config FILE]",
		help: `
Serves the HTTP API (ingest, checkpoints, C2SP tiles, proofs, API keys,
metrics) on the embedded store of DIR, creating the directory, its signing
key and its database on first start.

An empty data directory also gets a bootstrap admin API key (instance-wide),
written once to DIR/bootstrap-admin.key with mode 0600: use it to create
the keys your applications use (indelible keys create, or POST /v1/keys),
then delete the file.

An event is acknowledged (2xx) only once it is durable and covered by a
signed checkpoint, which the answer carries. Concurrent requests share
commits. On SIGTERM or Ctrl-C the server stops accepting connections,
answers /readyz with 503, lets the requests in flight finish (their events
are committed), then exits.

Flags come from the command line, then INDELIBLE_* environment variables,
then the optional --config file, whose lines are "flag-name = value"
(blank lines and lines starting with # are ignored).`,
		examples: `
indelible serve --data-dir /var/lib/indelible --addr 127.0.0.1:8080
INDELIBLE_DATA_DIR=/var/lib/indelible indelible serve
indelible serve --config /etc/indelible/serve.conf`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			var o serveOptions
			fs.StringVar(&o.dataDir, "data-dir", "", "`directory` holding the database and keys (created if missing)")
			fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "`address` to listen on")
			fs.StringVar(&o.name, "name", defaultInstanceName, "instance `name` for a new signing key (the checkpoint origin prefix)")
			fs.IntVar(&o.maxBatch, "max-batch", 4096, "most `events` committed in one transaction")
			fs.DurationVar(&o.maxWait, "max-wait", 0, "how long a commit waits for more events (0: commit what queued up during the previous commit)")
			fs.Int64Var(&o.limits.MaxBodyBytes, "max-body", server.DefaultMaxBodyBytes, "largest ingest request body in `bytes`")
			fs.IntVar(&o.limits.MaxBatchEvents, "max-request-events", server.DefaultMaxBatchEvents, "most `events` in one ingest request")
			fs.IntVar(&o.limits.MaxInFlight, "max-in-flight", server.DefaultMaxInFlight, "most ingest `requests` served at once; more get 503 with Retry-After")
			fs.BoolVar(&o.privateTiles, "private-tiles", false, "require a reader key for checkpoints, hash tiles and the verifier key")
			fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to wait for requests in flight on shutdown")
			fs.DurationVar(&o.followUp, "follow-up", 7*24*time.Hour, "how long, in event time, a resolved finding is watched before its verdict (effective, recurred or inconclusive)")
			fs.DurationVar(&o.reviewEvery, "review-every", 0, "write a review of every log at the end of each period of this `length` (168h: weekly, on UTC boundaries) into DIR/reviews, and announce it to the alert sinks (rule \"review\"); 0: never")
			fs.StringVar(&o.alerts, "alerts", "", "alert configuration `file` (YAML: sinks and routes; default: findings go to the log)")
			fs.DurationVar(&o.verifyEvery, "verify-every", 10*time.Minute, "pause between the full re-verifications of every log, which catch tampering with the stored data (0: never)")
			fs.StringVar(&o.debugAddr, "debug-addr", "", "if set, serve Go's pprof profiles on this loopback `address` (never expose it)")
			config := fs.String("config", "", "optional config `file` of \"flag-name = value\" lines")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if *config != "" {
					if err := applyConfigFile(fs, *config, sio.getenv); err != nil {
						return usageErrorf("--config: %v", err)
					}
				}
				o.store = common.storeOptions()
				return serve(ctx, sio, common.logger(), o)
			}
		},
	}
}

// applyConfigFile sets, from a file of "flag-name = value" lines, every
// flag that neither the command line nor the environment set.
func applyConfigFile(fs *flag.FlagSet, path string, getenv func(string) string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		name, value, ok := strings.Cut(text, "=")
		if !ok {
			return fmt.Errorf("%s:%d: want \"flag-name = value\"", path, line)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if fs.Lookup(name) == nil || name == "config" {
			return fmt.Errorf("%s:%d: unknown setting %q", path, line, name)
		}
		if set[name] || getenv(envName(name)) != "" {
			continue
		}
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("%s:%d: %s: %v", path, line, name, err)
		}
	}
	return sc.Err()
}

func serve(ctx context.Context, sio *stdio, logger *slog.Logger, o serveOptions) error {
	if o.maxBatch <= 0 {
		return usageErrorf("--max-batch must be positive, got %d", o.maxBatch)
	}
	// The query indexer, the detectors and live streams follow the
	// commits; OnCommit hands them the entries and signals them.
	var (
		indexer *index.Indexer
		runner  *findings.Runner
	)
	hub := server.NewHub()
	onCommit := func(log string, start uint64, entries []*event.Entry) {
		if indexer != nil {
			indexer.Offer(log, start, entries)
		}
		if runner != nil {
			runner.Offer(log, start, entries)
		}
		hub.Notify(log, start+uint64(len(entries)))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	groups := newGroupCommitMetrics()
	reg.MustRegister(groups.entries, groups.seconds)
	lcfg := ledger.Config{MaxBatch: o.maxBatch, MaxWait: o.maxWait, OnCommit: onCommit, OnGroupCommit: groups.observe}
	in, err := openInstance(ctx, o.dataDir, o.name, logger, lcfg, o.store)
	if err != nil {
		return err
	}
	defer in.Close()
	ix, err := sqlite.OpenIndex(ctx, sqlite.IndexConfig{Path: filepath.Join(o.dataDir, indexFile), Logger: logger})
	if err != nil {
		return err
	}
	defer ix.Close()
	indexer, err = index.New(index.Config{Store: in.db, Index: ix, Logger: logger})
	if err != nil {
		return err
	}
	if err := in.withIndex(ix, logger); err != nil {
		return err
	}
	// New findings go to the alert sinks; the outcome of each delivery is
	// recorded on the finding.
	alerts, err := newAlerter(o.alerts, in.key.Name(), logger, reg, in.record)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		alerts.close(ctx)
	}()
	// The detectors follow the committed entries and record findings.
	runner, err = findings.NewRunner(findings.RunnerConfig{
		Entries: in.db,
		States:  fileStates{filepath.Join(o.dataDir, analysisDir)},
		Record: func(ctx context.Context, log string, evs []*event.Event) error {
			if _, err := in.recordAll(ctx, log, evs); err != nil {
				return err
			}
			alerts.send(log, evs)
			return nil
		},
		Config: func(ctx context.Context, log string) (*analyze.Config, string, error) {
			st, err := in.capture.State(ctx, log)
			if err != nil {
				return nil, "", err
			}
			if st.Analysis == nil {
				return analyze.DefaultConfig(), "", nil
			}
			return st.Analysis, st.AnalysisHash(), nil
		},
		FollowUp: o.followUp,
		Logger:   logger,
	})
	if err != nil {
		return err
	}
	indexCtx, stopIndexer := context.WithCancel(context.WithoutCancel(ctx))
	indexDone := make(chan error, 1)
	go func() { indexDone <- indexer.Run(indexCtx) }()
	stopIndex := sync.OnceFunc(func() {
		stopIndexer()
		if err := <-indexDone; err != nil && !errors.Is(err, context.Canceled) {
			logger.Warn("query indexer stopped", "err", err)
		}
	})
	defer stopIndex()
	analysisDone := make(chan error, 1)
	go func() { analysisDone <- runner.Run(indexCtx) }()
	stopAnalysis := sync.OnceFunc(func() {
		stopIndexer()
		if err := <-analysisDone; err != nil && !errors.Is(err, context.Canceled) {
			logger.Warn("analysis stopped", "err", err)
		}
	})
	defer stopAnalysis()
	// The integrity watch re-verifies every log, so that tampering with
	// the stored data raises a critical finding at once.
	if o.verifyEvery > 0 {
		nv, err := note.NewVerifier(in.key.Verifier)
		if err != nil {
			return err
		}
		watcher, err := integrity.New(integrity.Config{
			Store: in.db, Verifiers: note.VerifierList(nv), Dir: filepath.Join(o.dataDir, watchDir),
			Origin: func(log string) string { return verify.Origin(in.key.Name(), log) },
			Record: func(ctx context.Context, log string, ev *event.Event) error {
				if err := in.record(ctx, log, ev); err != nil {
					return err
				}
				alerts.send(log, []*event.Event{ev})
				return nil
			},
			Every: o.verifyEvery, Logger: logger,
		})
		if err != nil {
			return err
		}
		watchDone := make(chan struct{})
		go func() { watcher.Run(indexCtx); close(watchDone) }()
		defer func() { stopIndexer(); <-watchDone }()
	}

	token, _, err := in.keys.Bootstrap(ctx)
	if err != nil {
		return fmt.Errorf("creating the bootstrap admin key: %w", err)
	}
	keyPath := filepath.Join(o.dataDir, bootstrapKeyFile)
	if token != "" {
		if err := os.WriteFile(keyPath, []byte(token+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing the bootstrap admin key: %w", err)
		}
		logger.Info("created a bootstrap admin API key (instance-wide); create your own keys with it, then delete the file", "path", keyPath)
	}

	reg.MustRegister(lagCollector{runner})
	scfg := server.Config{
		Ledger:       in.ledger,
		Entries:      in.db,
		Sealer:       in.sealer,
		Keys:         in.keys,
		VerifierKey:  in.key.Verifier,
		Limits:       o.limits,
		PrivateTiles: o.privateTiles,
		Index:        ix,
		Follower:     indexer,
		Hub:          hub,
		Capture:      in.capture,
		Logger:       logger,
		Registry:     reg,
	}
	srv, err := server.New(scfg)
	if err != nil {
		return err
	}
	if o.reviewEvery > 0 {
		rv, err := newReviewer(o.reviewEvery, o.dataDir, scfg, in, alerts, logger)
		if err != nil {
			return err
		}
		go rv.run(indexCtx)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", o.addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	addr := ln.Addr().String()
	logger.Info("serving", "addr", addr, "data_dir", o.dataDir, "instance", in.key.Name(), "verifier_key", in.key.Verifier, "sqlite", sqlite.Driver)
	fmt.Fprintf(sio.err, `Indelible is serving on http://%s
Send a first event (to the log "demo") with the bootstrap admin key:

  curl -sS -H "Authorization: Bearer $(cat %s)" \
    -H 'Content-Type: application/json' \
    -d '{"time":"%s","type":"auth.login","outcome":"success","actor":{"id":"alice@example.com"}}' \
    'http://%s/v1/events?log=demo'

`, addr, keyPath, time.Now().UTC().Format(time.RFC3339), addr)

	if o.debugAddr != "" {
		startDebug(o.debugAddr, logger)
	}
	// Configuration changes made by other processes (a "policy apply"
	// on the data directory) reach this server through the index.
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-indexCtx.Done():
				return
			case <-t.C:
				if err := in.capture.Refresh(indexCtx); err != nil && indexCtx.Err() == nil {
					logger.Warn("refreshing the capture configuration", "err", err)
				}
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	// Drain: refuse new work, let requests in flight commit and answer.
	logger.Info("shutting down: finishing the requests in flight")
	srv.SetDraining(true)
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		logger.Warn("requests still in flight at the shutdown timeout", "err", err)
	}
	stopIndex()
	stopAnalysis()
	if err := in.Close(); err != nil && !errors.Is(err, ledger.ErrClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// startDebug serves the pprof profiles on addr, apart from the API.
func startDebug(addr string, logger *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		logger.Info("serving profiles", "addr", addr)
		if err := http.ListenAndServe(addr, mux); err != nil {
			logger.Warn("profile server stopped", "err", err)
		}
	}()
}

// lagCollector reports how far the analysis is behind each log.
type lagCollector struct{ r *findings.Runner }

var analysisLag = prometheus.NewDesc("indelible_analysis_lag_entries",
	"Committed entries of a log that the detectors have not analysed yet.", []string{"log"}, nil)

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- analysisLag }

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	for log, lag := range c.r.Lags() {
		ch <- prometheus.MustNewConstMetric(analysisLag, prometheus.GaugeValue, float64(lag), log)
	}
}

// groupCommitMetrics describe the ledger's store transactions, which
// --max-batch and --max-wait shape:
//
//	indelible_group_commit_entries  entries per store transaction
//	indelible_group_commit_seconds  time the store took for one (write, fsync)
type groupCommitMetrics struct {
	entries, seconds prometheus.Histogram
}

func newGroupCommitMetrics() groupCommitMetrics {
	return groupCommitMetrics{
		entries: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "indelible_group_commit_entries",
			Help:    "Entries written per store transaction: the requests of every client that queued during the previous one.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 to 8192
		}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "indelible_group_commit_seconds",
			Help:    "Time the store took for one transaction of appends (writing, fsync).",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 14), // 0.25ms to 2s
		}),
	}
}

func (m groupCommitMetrics) observe(_ string, entries int, took time.Duration) {
	m.entries.Observe(float64(entries))
	m.seconds.Observe(took.Seconds())
}
