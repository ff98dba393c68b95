package respond

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons for which an alert is dropped before its delivery ends.
const (
	dropQueueFull = "queue_full" // its sink's queue was full
	dropClosed    = "closed"     // enqueued after Close
	dropShutdown  = "shutdown"   // still queued or waiting to be retried when Close gave up
)

// metrics are the dispatcher's Prometheus metrics:
//
//	indelible_respond_deliveries_total{sink,result}  delivery attempts, by result: "delivered" or "failed"
//	indelible_respond_dead_letters_total{sink}       alerts given up on: refused for good or failed MaxTries times
//	indelible_respond_dropped_total{sink,reason}     alerts dropped before their delivery ended, by reason:
//	                                                 "queue_full", "closed" (enqueued after Close) or
//	                                                 "shutdown" (pending when Close gave up)
//	indelible_respond_queue_length{sink}             alerts waiting in the sink's queue, read at each scrape
type metrics struct {
	deliveries  *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	queues      *queueCollector
}

func newMetrics(reg *prometheus.Registry, queues []*queue) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_respond_deliveries_total",
			Help: "Attempts to deliver an alert to a sink, by result (delivered, failed).",
		}, []string{"sink", "result"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_respond_dead_letters_total",
			Help: "Alerts whose delivery was given up: refused for good, or failed on every try.",
		}, []string{"sink"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "indelible_respond_dropped_total",
			Help: "Alerts dropped before their delivery ended, by reason (queue_full, closed, shutdown).",
		}, []string{"sink", "reason"}),
		queues: &queueCollector{
			desc: prometheus.NewDesc("indelible_respond_queue_length",
				"Alerts waiting in the queue of a sink.", []string{"sink"}, nil),
			queues: queues,
		},
	}
	// Every series exists from the start, so that rates and alerts on
	// them work before the first failure.
	for _, q := range queues {
		name := q.sink.Name()
		m.deliveries.WithLabelValues(name, Delivered)
		m.deliveries.WithLabelValues(name, "failed")
		m.deadLetters.WithLabelValues(name)
		for _, r := range []string{dropQueueFull, dropClosed, dropShutdown} {
			m.dropped.WithLabelValues(name, r)
		}
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.deadLetters, m.dropped, m.queues} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	return m, nil
}

// queueCollector reports the length of each queue.
type queueCollector struct {
	desc   *prometheus.Desc
	queues []*queue // immutable
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.queues {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(len(q.ch)), q.sink.Name())
	}
}
