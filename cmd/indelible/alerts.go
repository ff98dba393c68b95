package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/findings"
	"github.com/a24ba333/indelible/internal/respond"
)

// alerter sends new findings to the sinks of the alert configuration and
// records the outcome of every delivery attempt in the finding's log
// (indelible.finding.alerted: delivered, retrying or dead-letter), so that
// it shows on the finding.
type alerter struct {
	d        *respond.Dispatcher
	instance string
	logger   *slog.Logger

	mu   sync.Mutex
	logs map[string]string // finding id -> log, until its deliveries end; guarded by mu
}

// newAlerter reads the alert configuration file path ("" for the log
// sink only) and starts the dispatcher. record appends an event to a log.
func newAlerter(path, instance string, logger *slog.Logger, reg *prometheus.Registry, record func(context.Context, string, *event.Event) error) (*alerter, error) {
	var router *respond.Router
	if path == "" {
		sink, err := respond.NewLogSink("log", logger)
		if err != nil {
			return nil, err
		}
		if router, err = respond.NewRouter([]respond.Sink{sink}, nil); err != nil {
			return nil, err
		}
	} else {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the alert configuration: %w", err)
		}
		cfg, err := respond.ParseConfig(src)
		if err != nil {
			return nil, badData(fmt.Errorf("%s: %w", path, err))
		}
		if router, err = cfg.Router(respond.SinkOptions{LookupEnv: os.LookupEnv, Logger: logger}); err != nil {
			return nil, badData(fmt.Errorf("%s: %w", path, err))
		}
	}
	a := &alerter{instance: instance, logger: logger, logs: map[string]string{}}
	d, err := respond.NewDispatcher(respond.DispatcherConfig{
		Router: router, Logger: logger, Registry: reg,
		OnAttempt: func(at respond.Attempt) {
			a.mu.Lock()
			log, ok := a.logs[at.FindingID]
			a.mu.Unlock()
			if !ok {
				return
			}
			outcome := at.Final
			if outcome == "" {
				outcome = "retrying" // this attempt failed; another follows
			}
			ev := findings.AlertedEvent(at.FindingID, findings.Delivery{Sink: at.Sink, Outcome: outcome, Tries: at.Try, Error: at.Err, Time: at.Time})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := record(ctx, log, ev); err != nil {
				logger.Warn("recording an alert delivery", "finding", at.FindingID, "sink", at.Sink, "err", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	a.d = d
	return a, nil
}

// send queues alerts for the findings recorded in log. It never blocks.
func (a *alerter) send(log string, evs []*event.Event) {
	for _, ev := range evs {
		f, ok := findings.FromEntry(0, &event.Entry{Event: *ev, Log: log})
		if !ok {
			continue
		}
		a.mu.Lock()
		a.logs[f.ID] = log
		if len(a.logs) > 100000 { // bounded: outcomes of very old alerts go unrecorded
			clear(a.logs)
			a.logs[f.ID] = log
		}
		a.mu.Unlock()
		if err := a.d.Enqueue(respond.Alert{Finding: f, Log: log, Instance: a.instance, Project: f.Project, Environment: f.Environment}); err != nil {
			a.logger.Warn("alert not queued", "finding", f.ID, "err", err)
		}
	}
}

// close lets queued alerts finish until ctx is done.
func (a *alerter) close(ctx context.Context) error { return a.d.Close(ctx) }

// announce queues an alert that is not about a finding of the log (a
// scheduled review): its delivery outcome is not recorded.
func (a *alerter) announce(al respond.Alert) {
	al.Instance = a.instance
	if err := a.d.Enqueue(al); err != nil {
		a.logger.Warn("alert not queued", "alert", al.Finding.ID, "err", err)
	}
}
