package analyze

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// benchTraffic is two weeks of synthetic traffic of 120 people and their
// services, with incidents.
var benchTraffic = sync.OnceValue(func() []Labeled {
	events, _ := Synthesize(SynthConfig{Seed: 42})
	return events
})

// BenchmarkObserve measures the cost of one entry: with every detector
// and three user rules, with the defaults, and with each detector alone.
// An engine starts afresh at each pass over the traffic, so the cost
// includes learning.
func BenchmarkObserve(b *testing.B) {
	events := benchTraffic()
	for _, bc := range []struct {
		name string
		cfg  func() *Config
	}{
		{"all", fullConfig},
		{"defaults", DefaultConfig},
		{FailureBurst, func() *Config { return only(FailureBurst, nil) }},
		{RateAnomaly, func() *Config { return only(RateAnomaly, nil) }},
		{FirstSeen, func() *Config { return only(FirstSeen, nil) }},
		{OffHours, func() *Config { return only(OffHours, nil) }},
		{SensitiveAction, func() *Config { return only(SensitiveAction, nil) }},
		{RepeatedErrors, func() *Config { return only(RepeatedErrors, nil) }},
		{Silence, func() *Config { return only(Silence, nil) }},
		{"one_rule", func() *Config { return only("", func(c *Config) { c.Rules = fullConfig().Rules[:1] }) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bc.cfg()
			var e *Engine
			i := len(events)
			b.ReportAllocs()
			for b.Loop() {
				if i == len(events) {
					var err error
					if e, err = New(cfg); err != nil {
						b.Fatal(err)
					}
					i = 0
				}
				e.Observe(events[i].Index, events[i].Entry)
				i++
			}
		})
	}
}

// BenchmarkSnapshot measures Snapshot and Restore of an engine that has
// seen two weeks of traffic.
func BenchmarkSnapshot(b *testing.B) {
	events := benchTraffic()
	cfg := fullConfig()
	e, _ := New(cfg)
	observeAll(e, events, 0, len(events))
	snap, err := e.Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Snapshot", func(b *testing.B) {
		b.SetBytes(int64(len(snap)))
		for b.Loop() {
			if _, err := e.Snapshot(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Restore", func(b *testing.B) {
		b.SetBytes(int64(len(snap)))
		for b.Loop() {
			if _, err := Restore(cfg, snap); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFirstSeenNewValues measures first_seen when every event comes
// from a network its actor was never seen on (as with the load
// generator's random addresses), so that the actor's values are always
// at their bound.
func BenchmarkFirstSeenNewValues(b *testing.B) {
	const n = 1 << 16
	events := make([]*event.Entry, n)
	for i := range events {
		events[i] = mk(time.Duration(i)*time.Second, "data.read", fmt.Sprintf("user%d", i%16), ip(fmt.Sprintf("10.%d.%d.1", i>>8&255, i&255)))
	}
	e, err := New(only(FirstSeen, nil))
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == n {
			if e, err = New(only(FirstSeen, nil)); err != nil {
				b.Fatal(err)
			}
			i = 0
		}
		e.Observe(uint64(i), events[i])
		i++
	}
}
