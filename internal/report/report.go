// Package report builds a periodic review of one log (tenant) for a
// period, from the HTTP API alone, and writes it as Markdown, as one
// self-contained HTML page, or as JSON.
//
// A report has eight sections, in this order:
//
//  1. volume: events per category per time bucket (GET /v1/stats by=category);
//  2. failure rate: failures over all events per bucket (by=outcome);
//  3. top actors and resources (by=actor, by=resource.id);
//  4. findings: what was opened, acknowledged, resolved and dismissed in the
//     period, the mean times to acknowledge and to resolve, the verdicts on
//     resolutions, and the noisiest rules with their dismissal ratio
//     (GET /v1/findings);
//  5. silent sources: findings of the detector "silence" opened in the period;
//  6. configuration changes in the period (GET /v1/config/history);
//  7. change impact: for each configuration change and each tenant event of
//     type config.* or deploy.* (GET /v1/events), the failure rate of the
//     affected source in the 24 hours before and after it;
//  8. verification state: the newest checkpoint (GET /v1/logs/{log}/checkpoint).
//
// The period is [From, To). Times are written in UTC, numbers with a fixed
// precision, and every list in a fixed order, so that the same answers give
// the same bytes. The JSON form is the Report struct; its fields may grow,
// but existing ones keep their name and meaning.
//
// A section whose API call fails (an API key without the auditor role
// cannot list findings, for instance) is left empty and its error is named
// in Report.Unavailable; only the statistics of sections 1 to 3 are
// required.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// Getter performs GET path?query against the Indelible API and decodes
// the JSON answer into out. If out is a *[]byte, the body is stored as it
// came instead (for text answers such as the checkpoint). An answer with a
// status other than 2xx is an error.
type Getter func(ctx context.Context, path string, query url.Values, out any) error

// Params says what to report on.
type Params struct {
	// Log is the log (tenant) to review; empty means the one the API key
	// belongs to.
	Log string
	// From and To bound the period, [From, To). Both are required.
	From, To time.Time
	// Interval is the width of a time bucket; 0 means one day if the
	// period is longer than three days, else one hour.
	Interval time.Duration
	// Top is how many actors, resources, categories and rules to list; 0
	// means 10.
	Top int
}

// impactWindow is how far before and after a change its impact is
// measured, and maxImpacts how many changes (the newest) are measured.
const (
	impactWindow = 24 * time.Hour
	maxImpacts   = 50
	maxPages     = 100
	pageLimit    = 1000
)

// Report is a review of one log for one period.
type Report struct {
	Log      string    `json:"log"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Interval string    `json:"interval"` // as the stats API takes it: "1h", "1d"
	Top      int       `json:"top"`

	Volume        Volume      `json:"volume"`
	FailureRate   []RatePoint `json:"failure_rate"`
	TopActors     []Count     `json:"top_actors"`
	TopResources  []Count     `json:"top_resources"`
	Findings      Findings    `json:"findings"`
	Silent        []Silent    `json:"silent_sources"`
	Changes       []Change    `json:"config_changes"`
	Impact        []Impact    `json:"change_impact"`
	ImpactOmitted int         `json:"change_impact_omitted,omitempty"` // changes beyond maxImpacts, not measured
	Checkpoint    *Checkpoint `json:"checkpoint"`

	// Unavailable maps a section ("findings", "config", "events",
	// "checkpoint") to the error that left it empty.
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// Count is how often a value occurred.
type Count struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}

// Volume is the number of events per category per bucket. Counts[i][j] is
// the count of Categories[j] in Buckets[i]; "(other)" gathers the
// categories beyond the top ones.
type Volume struct {
	Categories []string    `json:"categories"`
	Buckets    []time.Time `json:"buckets"`
	Counts     [][]uint64  `json:"counts"`
	Totals     []Count     `json:"totals"`
	Total      uint64      `json:"total"`
}

// Rate is a number of failures among a number of events.
type Rate struct {
	Failures uint64  `json:"failures"`
	Total    uint64  `json:"total"`
	Rate     float64 `json:"rate"` // Failures/Total, 0 without events
}

// RatePoint is the failure rate of one bucket.
type RatePoint struct {
	Start time.Time `json:"start"`
	Rate
}

// Findings summarises the findings work of the period.
type Findings struct {
	// Opened counts the findings opened in the period; Acknowledged,
	// Resolved, Dismissed and Reopened the transitions made in the period
	// (of any finding).
	Opened       int `json:"opened"`
	Acknowledged int `json:"acknowledged"`
	Resolved     int `json:"resolved"`
	Dismissed    int `json:"dismissed"`
	Reopened     int `json:"reopened"`
	// StillOpen counts the findings opened in the period that are open now.
	StillOpen  int     `json:"still_open"`
	BySeverity []Count `json:"by_severity"`
	// MTTA is the mean time from opening to the first response
	// (acknowledgement, resolution or dismissal) of the findings opened in
	// the period that had one (MTTASamples of them); MTTR the mean time to
	// the first resolution.
	MTTA        time.Duration `json:"mtta_ns"`
	MTTASamples int           `json:"mtta_samples"`
	MTTR        time.Duration `json:"mttr_ns"`
	MTTRSamples int           `json:"mttr_samples"`
	// Verdicts counts the check-backs of resolutions made in the period.
	Verdicts Verdicts `json:"verdicts"`
	// Rules are the rules that opened the most findings in the period.
	Rules []RuleNoise `json:"rules"`
}

// Verdicts counts check-backs by verdict.
type Verdicts struct {
	Effective    int `json:"effective"`
	Recurred     int `json:"recurred"`
	Inconclusive int `json:"inconclusive"`
}

// RuleNoise is how much a rule raised and how much of it was dismissed.
type RuleNoise struct {
	Rule      string  `json:"rule"`
	Detector  string  `json:"detector"`
	Opened    int     `json:"opened"`
	Dismissed int     `json:"dismissed"` // of those opened, dismissed at least once
	Ratio     float64 `json:"dismissal_ratio"`
	Advice    string  `json:"advice,omitempty"`
}

// Silent is a source that fell silent in the period.
type Silent struct {
	Source   string    `json:"source"`
	OpenedAt time.Time `json:"opened_at"`
	Status   string    `json:"status"`
	Severity string    `json:"severity"`
	Summary  string    `json:"summary"`
}

// Change is one configuration entry of the period.
type Change struct {
	Index     uint64    `json:"index"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Actor     string    `json:"actor"`
	EventType string    `json:"event_type,omitempty"`
	Version   int       `json:"version,omitempty"`
	Hash      string    `json:"hash,omitempty"`
	Errors    []string  `json:"errors,omitempty"`
}

// Impact compares the failure rate around one change.
type Impact struct {
	Time   time.Time `json:"time"`
	Index  uint64    `json:"index"`
	Kind   string    `json:"kind"` // "config" (the log's own configuration) or "event"
	Type   string    `json:"type"`
	Actor  string    `json:"actor,omitempty"`
	Source string    `json:"source,omitempty"` // empty: every source
	Before Rate      `json:"before"`
	After  Rate      `json:"after"`
	// Delta is After.Rate-Before.Rate, in percentage points.
	Delta   float64 `json:"delta_points"`
	Verdict string  `json:"verdict"` // worse, better, unchanged or "no data"
}

// Checkpoint is the newest checkpoint of the log.
type Checkpoint struct {
	Origin   string `json:"origin"`
	Size     uint64 `json:"tree_size"`
	RootHash string `json:"root_hash"` // base64, as in the note
}

// Build asks the API for what the report needs and computes it.
func Build(ctx context.Context, get Getter, p Params) (*Report, error) {
	if p.From.IsZero() || p.To.IsZero() || !p.From.Before(p.To) {
		return nil, errors.New("report: want a period with From before To")
	}
	if p.Interval == 0 {
		p.Interval = time.Hour
		if p.To.Sub(p.From) > 72*time.Hour {
			p.Interval = 24 * time.Hour
		}
	}
	if p.Interval < time.Second {
		return nil, fmt.Errorf("report: interval %v is shorter than a second", p.Interval)
	}
	if p.Top <= 0 {
		p.Top = 10
	}
	b := &builder{get: get, p: p, r: &Report{
		Log: p.Log, From: p.From.UTC(), To: p.To.UTC(), Interval: formatInterval(p.Interval), Top: p.Top,
	}}
	if err := b.traffic(ctx); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name string
		fn   func(context.Context) error
	}{{"findings", b.findings}, {"config", b.config}, {"events", b.events}, {"checkpoint", b.checkpoint}} {
		if err := s.fn(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if b.r.Unavailable == nil {
				b.r.Unavailable = map[string]string{}
			}
			b.r.Unavailable[s.name] = err.Error()
		}
	}
	b.r.Impact, b.r.ImpactOmitted = limitImpacts(b.impacts)
	for i := range b.r.Impact {
		if err := b.measure(ctx, &b.r.Impact[i]); err != nil {
			return nil, err
		}
	}
	return b.r, nil
}

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// formatInterval writes d as the stats API reads it: "1d", "6h", "15m", "30s".
func formatInterval(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
