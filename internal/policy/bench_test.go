package policy

import (
	"encoding/json"
	"testing"

	"github.com/a24ba333/indelible/event"
)

// benchPolicy has 10 rules, 2 of them with conditions.
const benchPolicy = `
rules:
  - name: drop-health
    match: {type: "system.health*"}
    level: none
  - name: logins
    match: {category: auth}
    level: full
  - name: config
    match: {category: [config, admin]}
    level: full
  - name: k8s-reads
    match: {source: kubernetes, type: "k8s.*.get"}
    level: none
  - name: big-payments
    match: {type: "payment.*", condition: "event.data.amount > 1000"}
    level: full
    redact: ["/data/card_number"]
    personal: ["/data/email"]
  - name: secrets
    match: {resource: {type: secret}}
    level: full
  - name: service-actors
    match: {actor: {type: service}, outcome: success}
    level: metadata
  - name: exports
    match:
      category: data
      condition: event.data.rows > 10000 || event.actor.id.endsWith("@partner.example")
    level: full
  - name: staging
    match: {environment: staging}
    level: full
  - name: default
    level: metadata
`

func BenchmarkDecide(b *testing.B) {
	p := mustParse(b, benchPolicy)
	benchmarks := []struct {
		name string
		ev   *event.Event
		rule string
	}{
		{"rule1", newEvent("system.health.ok"), "drop-health"},
		{"rule5-condition", newEvent("payment.charged", withData("amount", json.Number("2500"), "card_number", "4111", "email", "a@example.com")), "big-payments"},
		{"rule10-after-false-condition", newEvent("data.read", withData("rows", json.Number("10"))), "default"},
		{"rule10", newEvent("user.updated"), "default"},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			if d, err := p.Decide(bm.ev); err != nil || d.Rule != bm.rule {
				b.Fatalf("Decide() = %q, %v, want %q", d.Rule, err, bm.rule)
			}
			b.ReportAllocs()
			for b.Loop() {
				p.Decide(bm.ev)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	ev := newEvent("payment.charged", withData("amount", json.Number("2500"), "card_number", "4111", "email", "a@example.com", "currency", "EUR"))
	ev.Message = "charged"
	benchmarks := []struct {
		name string
		d    Decision
	}{
		{"metadata", Decision{Level: LevelMetadata}},
		{"full", Decision{Level: LevelFull}},
		{"full-redact-personal", Decision{Level: LevelFull, Redact: []string{"/data/card_number"}, Personal: []string{"/data/email"}}},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Apply(ev, bm.d, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	src := readFile(b, "testdata/example.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
