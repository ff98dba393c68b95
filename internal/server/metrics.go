package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics:
//
//	indelible_ingested_events_total{log}      events committed (duplicates of committed events included)
//	indelible_rejected_events_total{reason}   items of refused ingest requests; a request refused
//	                                          as a whole (not parsed, overloaded...) counts once
//	indelible_ingest_batch_events             events per accepted ingest request
//	indelible_commit_seconds                  time inside the ledger's Append
//	indelible_tree_size{log}                  the newest tree size this process has seen committed
//	indelible_http_requests_total{route,code} requests by route pattern and status code
//	indelible_streams                         open live streams (GET /v1/stream)
//	indelible_capture_dropped_total{log,rule} events the capture policy did not store (level none)
//	indelible_quarantined_total{log,source}   invalid events sent to the quarantine log
//	indelible_policy_fallbacks_total{log}     events captured in full because the policy failed for them
//	indelible_index_lag_entries{log}          committed entries the query index does not cover
//	                                          yet, read from Config.Follower at each scrape for
//	                                          the logs this process has committed to or queried
//
// The reasons of rejections are "malformed" (400), "unauthenticated"
// (401), "forbidden" (403), "conflict" (409), "too_large" (413),
// "invalid" (422), "overloaded" (503), "canceled" and "error" (500).
type metrics struct {
	ingested    *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	batch       prometheus.Histogram
	commit      prometheus.Histogram
	treeSize    *prometheus.GaugeVec
	requests    *prometheus.CounterVec
	streams     prometheus.Gauge
	dropped     *prometheus.CounterVec
	quarantined *prometheus.CounterVec
	fallbacks   *prometheus.CounterVec
	handler     http.Handler
	sizesMu     sync.Mutex
	sizes       map[string]uint64 // newest size set per log; guarded by sizesMu
	seen        map[string]bool   // logs whose index lag is reported; guarded by sizesMu
}

func newMetrics(reg *prometheus.Registry, f Follower) (*metrics, error) {
	m := &metrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_ingested_events_total",
			Help: "Events committed to a log by ingest requests, duplicates of committed events included.",
		}, []string{"log"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_rejected_events_total",
			Help: "Items of refused ingest requests, by reason; a request refused as a whole counts once.",
		}, []string{"reason"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "indelible_ingest_batch_events",
			Help:    "Events per accepted ingest request.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 to 16384
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "indelible_commit_seconds",
			Help:    "Time an ingest request spent in the ledger's Append (sequencing, group commit, fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5ms to 4s
		}),
		treeSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "indelible_tree_size",
			Help: "Size of the newest tree committed for a log through this process.",
		}, []string{"log"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "indelible_streams",
			Help: "Live streams (GET /v1/stream) open.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_capture_dropped_total",
			Help: "Events the capture policy did not store (level none), by log and rule.",
		}, []string{"log", "rule"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_quarantined_total",
			Help: "Invalid events sent to the log's quarantine log, by log and ingest source.",
		}, []string{"log", "source"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_policy_fallbacks_total",
			Help: "Events captured in full because the capture policy could not be evaluated for them.",
		}, []string{"log"}),
		sizes: map[string]uint64{},
		seen:  map[string]bool{},
	}
	cs := []prometheus.Collector{m.ingested, m.rejected, m.batch, m.commit, m.treeSize, m.requests, m.streams, m.dropped, m.quarantined, m.fallbacks}
	if f != nil {
		cs = append(cs, &lagCollector{m: m, f: f})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m, nil
}

// committed records an accepted ingest request.
func (m *metrics) committed(log string, events int, size uint64) {
	m.ingested.WithLabelValues(log).Add(float64(events))
	m.batch.Observe(float64(events))
	m.sizesMu.Lock()
	defer m.sizesMu.Unlock()
	m.seen[log] = true
	if size > m.sizes[log] {
		m.sizes[log] = size
		m.treeSize.WithLabelValues(log).Set(float64(size))
	}
}

// refused records a refused ingest request answered with code.
func (m *metrics) refused(code int, body errorBody) {
	n := 1
	if len(body.Details) > 0 {
		items := map[int]bool{}
		for _, d := range body.Details {
			items[d.Item] = true
		}
		n = len(items)
	}
	m.rejected.WithLabelValues(rejectReason(code)).Add(float64(n))
}

func rejectReason(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "malformed"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusServiceUnavailable:
		return "overloaded"
	case statusClientClosed:
		return "canceled"
	}
	return "error"
}

func (m *metrics) request(route string, code int) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// queried records that log was queried, so that its index lag is
// reported.
func (m *metrics) queried(log string) {
	m.sizesMu.Lock()
	defer m.sizesMu.Unlock()
	m.seen[log] = true
}

// lagTimeout bounds the Lag calls of one scrape.
const lagTimeout = 5 * time.Second

// lagCollector reports indelible_index_lag_entries from a Follower at each
// scrape.
type lagCollector struct {
	m *metrics
	f Follower
}

var lagDesc = prometheus.NewDesc("indelible_index_lag_entries",
	"Committed entries of a log that the query index does not cover yet.", []string{"log"}, nil)

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc }

// Collect reports the lag of every log seen; a log whose lag cannot be
// read is left out of this scrape.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.sizesMu.Lock()
	logs := make([]string, 0, len(c.m.seen))
	for log := range c.m.seen {
		logs = append(logs, log)
	}
	c.m.sizesMu.Unlock()
	slices.Sort(logs)
	ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
	defer cancel()
	for _, log := range logs {
		lag, err := c.f.Lag(ctx, log)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag), log)
	}
}
