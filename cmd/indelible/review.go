package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/atomicfile"
	"github.com/a24ba333/indelible/internal/findings"
	"github.com/a24ba333/indelible/internal/report"
	"github.com/a24ba333/indelible/internal/respond"
	"github.com/a24ba333/indelible/internal/server"
)

// reviewsDir holds, in a data directory, the scheduled reviews.
const reviewsDir = "reviews"

// reviewer writes a review of every tenant log each period and announces
// it through the alert sinks (as a low-severity alert of the rule
// "review", which routes can select).
type reviewer struct {
	every  time.Duration
	dir    string
	t      *target // answers the API in process as the local operator
	logs   func(ctx context.Context) ([]string, error)
	alerts *alerter
	logger *slog.Logger
}

// newReviewer returns a reviewer over the server configuration cfg (the
// same components as the server, with the local operator as the caller).
func newReviewer(every time.Duration, dataDir string, cfg server.Config, in *instance, alerts *alerter, logger *slog.Logger) (*reviewer, error) {
	cfg.Keys = operatorKeys{in.keys}
	cfg.Registry = prometheus.NewRegistry() // its own, not the served metrics
	cfg.Hub = nil
	srv, err := server.New(cfg)
	if err != nil {
		return nil, err
	}
	return &reviewer{
		every: every, dir: filepath.Join(dataDir, reviewsDir), alerts: alerts, logger: logger,
		t:    &target{handler: srv.Handler(), key: localToken},
		logs: in.db.Logs,
	}, nil
}

// run writes the reviews at the end of every period, until ctx is done.
func (rv *reviewer) run(ctx context.Context) {
	for {
		now := time.Now().UTC()
		next := now.Truncate(rv.every).Add(rv.every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(now)):
		}
		if err := rv.review(ctx, next.Add(-rv.every), next); err != nil && ctx.Err() == nil {
			rv.logger.Warn("writing the scheduled reviews", "err", err)
		}
	}
}

// review writes the review of [from, to) of every tenant log.
func (rv *reviewer) review(ctx context.Context, from, to time.Time) error {
	logs, err := rv.logs(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(rv.dir, 0o700); err != nil {
		return err
	}
	for _, log := range logs {
		if log == apikey.SystemLog || strings.HasSuffix(log, apikey.QuarantineSuffix) {
			continue
		}
		t := *rv.t
		t.log = log
		r, err := report.Build(ctx, t.getter(), report.Params{Log: log, From: from, To: to})
		if err != nil {
			rv.logger.Warn("building a review", "log", log, "err", err)
			continue
		}
		var md, html bytes.Buffer
		if err := r.Markdown(&md); err != nil {
			return err
		}
		if err := r.HTML(&html); err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%s", log, from.Format("20060102T1504Z"))
		for ext, b := range map[string][]byte{".md": md.Bytes(), ".html": html.Bytes()} {
			if err := atomicfile.Write(filepath.Join(rv.dir, name+ext), b, 0o644); err != nil {
				return err
			}
		}
		summary := fmt.Sprintf("Review of log %s for %s to %s: %d events, %d findings opened (%d still open); %s",
			log, from.Format(time.RFC3339), to.Format(time.RFC3339), r.Volume.Total, r.Findings.Opened, r.Findings.StillOpen,
			filepath.Join(reviewsDir, name+".html"))
		rv.logger.Info("wrote a scheduled review", "log", log, "path", filepath.Join(rv.dir, name+".html"))
		if rv.alerts != nil {
			rv.alerts.announce(respond.Alert{
				Finding: findings.Finding{ID: "review-" + name, Log: log, Rule: "review", Detector: "review", Severity: "low",
					GroupKey: "log:" + log, Status: findings.StatusOpen, OpenedAt: to, Summary: summary},
				Log: log, Summary: summary,
			})
		}
	}
	return nil
}
