package capture

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/policy"
	"github.com/a24ba333/indelible/internal/schema"
	"github.com/a24ba333/indelible/internal/seal"
)

// tenRules is a policy of ten rules, two with CEL conditions, as the
// pipeline benchmark wants.
const tenRules = `
settings:
  unregistered_types: accept
rules:
  - name: drop-health
    match: {type: "system.health*"}
    level: none
  - name: logins
    match: {category: auth}
    level: full
  - name: big-payments
    match: {type: "payment.*", condition: "event.data.amount > 1000"}
    level: full
    redact: ["/data/card_number"]
  - name: service-accounts
    match: {actor: {type: service}}
    level: metadata
  - name: failures
    match: {outcome: failure}
    level: full
  - name: staging
    match: {environment: staging}
    level: full
  - name: billing
    match: {source: billing-api, condition: "event.resource.type == 'invoice'"}
    level: full
  - name: reads
    match: {type: ["data.read", "data.list"]}
    level: metadata
  - name: config
    match: {category: config}
    level: full
  - name: default
    level: metadata
`

func sampleEvent(typ string, data map[string]any) *event.Event {
	return &event.Event{
		ID: "e1", Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Type: typ, Outcome: event.OutcomeSuccess,
		Actor:    event.Actor{ID: "alice@example.com", Type: "user", IP: "203.0.113.7"},
		Resource: &event.Resource{Type: "account", ID: "acct-42"}, Project: "payments", Environment: "production",
		Source: "billing-api", Message: "text", Data: data,
	}
}

func mustPolicy(t testing.TB, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustSchema(t testing.TB, typ string, version int, src string) *schema.Schema {
	t.Helper()
	s, err := schema.Compile(typ, version, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCapture(t *testing.T) {
	set, err := schema.NewSet(mustSchema(t, "payment.charge", 1, `{"type":"object","required":["amount"],"properties":{"amount":{"type":"number"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPolicy(t, tenRules)
	st := &State{Log: "acme", Policy: p, Schemas: set}
	tests := []struct {
		name    string
		ev      *event.Event
		source  string
		rule    string
		level   string
		dropped bool
		invalid string // path of the first invalid field
		action  string
	}{
		{"health dropped", sampleEvent("system.health.ping", nil), SourceAPI, "drop-health", "", true, "", ""},
		{"login full", sampleEvent("auth.login", map[string]any{"m": "pw"}), SourceAPI, "logins", "full", false, "", ""},
		{"big payment", sampleEvent("payment.charge", map[string]any{"amount": 5000, "card_number": "4111"}), SourceAPI, "big-payments", "full", false, "", ""},
		{"small payment", sampleEvent("payment.charge", map[string]any{"amount": 5}), SourceAPI, "default", "metadata", false, "", ""},
		{"invalid payment", sampleEvent("payment.charge", map[string]any{"amount": "x"}), SourceAPI, "", "", false, "/data/amount", ActionReject},
		{"invalid from kubernetes", sampleEvent("payment.charge", nil), SourceKubernetes, "", "", false, "/data", ActionQuarantine},
		{"reserved category", sampleEvent("indelible.key.created", nil), SourceAPI, "", "full", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.ev)
			r := st.Capture(tt.ev, tt.source, rand.Reader)
			if fmt.Sprint(tt.ev) != before {
				t.Errorf("Capture modified the event")
			}
			if tt.invalid != "" {
				if len(r.Invalid) == 0 || r.Invalid[0].Path != tt.invalid || r.Action != tt.action {
					t.Fatalf("Capture = %+v, want invalid at %s, action %s", r, tt.invalid, tt.action)
				}
				return
			}
			if r.Invalid != nil || r.Dropped != tt.dropped || r.Capture.Rule != tt.rule {
				t.Fatalf("Capture = %+v, want rule %q dropped %v", r, tt.rule, tt.dropped)
			}
			if tt.dropped {
				return
			}
			if r.Capture.Level != tt.level || r.Event == nil {
				t.Errorf("Capture level = %q, want %q", r.Capture.Level, tt.level)
			}
			if tt.rule != "" && r.Capture.Policy != p.Hash() {
				t.Errorf("Capture policy = %q, want %q", r.Capture.Policy, p.Hash())
			}
		})
	}
	// Unregistered types can be refused per log.
	strict := &State{Log: "acme", Policy: mustPolicy(t, "settings: {unregistered_types: reject}\n")}
	if r := strict.Capture(sampleEvent("data.read", nil), SourceAPI, rand.Reader); len(r.Invalid) != 1 || r.Invalid[0].Path != "/type" {
		t.Errorf("Capture of an unregistered type under reject = %+v", r)
	}
	// No configuration: everything in full, untouched.
	ev := sampleEvent("data.read", map[string]any{"x": 1})
	if r := Empty("acme").Capture(ev, SourceAPI, rand.Reader); r.Event != ev || r.Capture.Level != "full" || r.Capture.Rule != "" || r.Capture.Policy != "" {
		t.Errorf("Capture without configuration = %+v", r)
	}
}

// TestApplyOrder checks the fold: versions follow the log order, a
// proposal waits for its activation, bad entries are kept as problems.
func TestApplyOrder(t *testing.T) {
	entry := func(typ string, data map[string]any) *event.Entry {
		// Entries as the log returns them: parsed from canonical bytes.
		e := &event.Entry{Event: event.Event{ID: typ, Time: time.Unix(1e9, 0).UTC(), Type: typ, Outcome: "success",
			Actor: event.Actor{ID: "admin"}, Data: data}, Version: 1, Log: "acme", ReceivedAt: time.Unix(1e9, 0).UTC(),
			Digest: []byte{1}, Capture: event.Capture{Level: "full"}}
		b, err := e.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		pe, err := event.ParseEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		return pe
	}
	src := `{"type":"object"}`
	st := Empty("acme")
	st = st.Apply(0, entry(TypeSchemaRegistered, map[string]any{"event_type": "a.b", "version": 7, "source": src, "hash": "h1"}))
	st = st.Apply(1, entry("data.read", nil))
	st = st.Apply(2, entry(TypeSchemaRegistered, map[string]any{"event_type": "a.b", "source": `{"type":"array"}`}))
	st = st.Apply(3, entry(TypeSchemaRegistered, map[string]any{"event_type": "a.b", "source": `{"type":`}))
	st = st.Apply(4, entry(TypePolicyProposed, map[string]any{"proposal": "p1", "hash": "x", "source": "rules: []\n"}))
	if got := st.Schemas.Latest("a.b"); got == nil || got.Version != 2 {
		t.Fatalf("latest a.b = %+v, want version 2 (the log order decides, not the claimed 7)", got)
	}
	if _, ok := st.Problems[3]; !ok || len(st.History) != 4 || st.Through != 5 {
		t.Errorf("state = problems %v, history %d, through %d", st.Problems, len(st.History), st.Through)
	}
	if _, ok := st.Pending["p1"]; !ok || st.Policy != nil {
		t.Errorf("pending %v, policy %v: want p1 pending and no policy", st.Pending, st.Policy)
	}
	st2 := st.Apply(5, entry(TypePolicyActivated, map[string]any{"proposal": "p1", "hash": "x", "source": "rules: []\n"}))
	if len(st2.Pending) != 0 || st2.Policy == nil || st2.PolicyIndex != 5 {
		t.Errorf("after activation: pending %v, policy index %d", st2.Pending, st2.PolicyIndex)
	}
	if len(st.Pending) != 1 {
		t.Error("Apply modified the earlier state")
	}
}

// BenchmarkPipeline measures what the server does per event after
// decoding it: schema validation, the capture policy, and sealing (the
// canonical event, its keyed digest and the entry's canonical bytes).
func BenchmarkPipeline(b *testing.B) {
	schemaSrc := `{"type":"object","required":["amount","currency"],"properties":{
		"amount":{"type":"number","minimum":0,"maximum":1000000},
		"currency":{"enum":["EUR","USD","GBP"]},
		"card_number":{"type":"string","pattern":"^[0-9]{4,19}$"},
		"order":{"type":"string","maxLength":64}}}`
	types := []string{"payment.charge", "auth.login", "data.read", "config.update", "system.health.ping"}
	var schemas []*schema.Schema
	for _, t := range types {
		schemas = append(schemas, mustSchema(b, t, 1, schemaSrc))
	}
	set, err := schema.NewSet(schemas...)
	if err != nil {
		b.Fatal(err)
	}
	st := &State{Log: "acme", Policy: mustPolicy(b, tenRules), Schemas: set}
	sealer, err := seal.New(seal.Config{DigestKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	data := func() map[string]any {
		return map[string]any{"amount": 1500, "currency": "EUR", "card_number": "4111111111111111", "order": "o-123"}
	}
	for _, tt := range []struct {
		name string
		ev   *event.Event
	}{
		{"first-rule", sampleEvent("system.health.ping", data())},
		{"cel-redact", sampleEvent("payment.charge", data())},
		{"last-rule", sampleEvent("config.update", data())},
	} {
		tt.ev.Type = map[string]string{"first-rule": "system.health.ping", "cel-redact": "payment.charge", "last-rule": "data.update"}[tt.name]
		if tt.name == "last-rule" {
			tt.ev.Source, tt.ev.Environment = "web", "production"
		}
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				r := st.Capture(tt.ev, SourceAPI, rand.Reader)
				if r.Invalid != nil {
					b.Fatal(r.Invalid)
				}
				if r.Dropped {
					continue
				}
				e, err := sealer.SealCaptured("acme", tt.ev, r.Event, r.Capture)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Canonical(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
