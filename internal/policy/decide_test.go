package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// newEvent returns a valid event of the given type, changed by edits.
func newEvent(typ string, edits ...func(*event.Event)) *event.Event {
	e := &event.Event{
		Time:    time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC),
		Type:    typ,
		Outcome: event.OutcomeSuccess,
		Actor:   event.Actor{ID: "carol", Type: "user"},
	}
	for _, edit := range edits {
		edit(e)
	}
	return e
}

func withData(kv ...any) func(*event.Event) {
	return func(e *event.Event) {
		e.Data = make(map[string]any)
		for i := 0; i+1 < len(kv); i += 2 {
			e.Data[kv[i].(string)] = kv[i+1]
		}
	}
}

const criteriaPolicy = `
rules:
  - name: type-exact
    match: {type: "auth.login"}
    level: full
  - name: type-question
    match: {type: "auth.log?ut"}
    level: metadata
  - name: type-star-inside
    match: {type: "data.*.export"}
    level: full
  - name: category-list
    match: {category: [config, admin]}
    level: metadata
  - name: actor
    match: {actor: {id: [alice, bob], type: service}}
    level: none
  - name: resource
    match: {resource: {type: secret}}
    level: full
  - name: outcome
    match: {outcome: unknown}
    level: none
  - name: source
    match: {source: [billing-api, ledger]}
    level: metadata
  - name: project-without-environment
    match: {project: payments, environment: ""}
    level: none
  - name: big-payment
    match: {type: "payment.*", condition: "event.data.amount > 1000"}
    level: full
    redact: ["/data/card"]
  - name: time-and-fields
    match:
      category: session
      condition: >-
        event.time > timestamp("2026-01-01T00:00:00Z") &&
        event.actor.id.startsWith("car") && !has(event.resource) &&
        event.action == "start" && event.outcome == "success"
    level: metadata
  - name: payment
    match: {category: payment}
    level: metadata
  - name: default
    level: none
`

func TestDecideCriteria(t *testing.T) {
	p := mustParse(t, criteriaPolicy)
	tests := []struct {
		name string
		ev   *event.Event
		rule string
	}{
		{"exact type", newEvent("auth.login"), "type-exact"},
		{"exact type is not a prefix", newEvent("auth.login.sso"), "default"},
		{"? matches one character", newEvent("auth.logout"), "type-question"},
		{"? matches exactly one", newEvent("auth.loggout"), "default"},
		{"* inside", newEvent("data.customers.export"), "type-star-inside"},
		{"* spans dots", newEvent("data.a.b.export"), "type-star-inside"},
		{"* needs the suffix", newEvent("data.customers.exported"), "default"},
		{"category, first of a list", newEvent("config.changed"), "category-list"},
		{"category, second of a list", newEvent("admin.user.created"), "category-list"},
		{"category is the first segment", newEvent("x.config"), "default"},
		{"actor id and type", newEvent("x.y", func(e *event.Event) { e.Actor = event.Actor{ID: "bob", Type: "service"} }), "actor"},
		{"actor id without type", newEvent("x.y", func(e *event.Event) { e.Actor.ID = "bob" }), "default"},
		{"resource type", newEvent("x.y", func(e *event.Event) { e.Resource = &event.Resource{Type: "secret", ID: "s1"} }), "resource"},
		{"other resource type", newEvent("x.y", func(e *event.Event) { e.Resource = &event.Resource{Type: "account"} }), "default"},
		{"outcome", newEvent("x.y", func(e *event.Event) { e.Outcome = event.OutcomeUnknown }), "outcome"},
		{"empty outcome is unknown", newEvent("x.y", func(e *event.Event) { e.Outcome = "" }), "outcome"},
		{"source", newEvent("x.y", func(e *event.Event) { e.Source = "ledger" }), "source"},
		{"project and empty environment", newEvent("x.y", func(e *event.Event) { e.Project = "payments" }), "project-without-environment"},
		{"project with an environment", newEvent("x.y", func(e *event.Event) { e.Project, e.Environment = "payments", "production" }), "default"},
		{"condition: int above", newEvent("payment.charged", withData("amount", json.Number("1200"))), "big-payment"},
		{"condition: double above", newEvent("payment.charged", withData("amount", json.Number("1000.5"))), "big-payment"},
		{"condition: exponent above", newEvent("payment.charged", withData("amount", json.Number("1.2e3"))), "big-payment"},
		{"condition: huge integer", newEvent("payment.charged", withData("amount", json.Number("123456789012345678901234567890"))), "big-payment"},
		{"condition: int below", newEvent("payment.charged", withData("amount", json.Number("999"))), "payment"},
		{"condition: double below", newEvent("payment.charged", withData("amount", json.Number("999.99"))), "payment"},
		{"condition: equal is not above", newEvent("payment.charged", withData("amount", json.Number("1000"))), "payment"},
		{"condition: Go int", newEvent("payment.charged", withData("amount", 5000)), "big-payment"},
		{"condition: Go float64", newEvent("payment.charged", withData("amount", 1000.25)), "big-payment"},
		{"condition: not reached when the type differs", newEvent("card.charged", withData("amount", "n/a")), "default"},
		{"condition over fields", newEvent("session.start"), "time-and-fields"},
		{"condition over fields, false", newEvent("session.start", func(e *event.Event) { e.Actor.ID = "dave" }), "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Decide(tt.ev)
			if err != nil || d.Rule != tt.rule {
				t.Errorf("Decide(%+v) = %q, %v, want %q", tt.ev, d.Rule, err, tt.rule)
			}
		})
	}
}

func TestDecideDecision(t *testing.T) {
	p := mustParse(t, criteriaPolicy)
	d, err := p.Decide(newEvent("payment.charged", withData("amount", json.Number("2000"))))
	want := Decision{Rule: "big-payment", Level: LevelFull, Redact: []string{"/data/card"}}
	if err != nil || d.Rule != want.Rule || d.Level != want.Level || !slices.Equal(d.Redact, want.Redact) || d.Personal != nil {
		t.Errorf("Decide() = %+v, %v, want %+v", d, err, want)
	}
}

func TestDecideFirstMatchWins(t *testing.T) {
	p := mustParse(t, `
rules:
  - {name: one, match: {category: auth}, level: none}
  - {name: two, match: {type: "auth.login"}, level: full}
  - {name: three, match: {type: "auth.*"}, level: metadata}
`)
	for _, typ := range []string{"auth.login", "auth.logout"} {
		if d, err := p.Decide(newEvent(typ)); err != nil || d.Rule != "one" || d.Level != LevelNone {
			t.Errorf("Decide(%s) = %+v, %v, want rule one at level none", typ, d, err)
		}
	}
}

func TestDecideOverrides(t *testing.T) {
	p := mustParse(t, `
overrides:
  - match: {environment: staging}
    rules:
      - {name: env-only, level: metadata}
  - match: {project: payments}
    rules:
      - {name: project-only, match: {category: data}, level: none}
  - match: {project: [payments, billing], environment: staging}
    rules:
      - {name: both, match: {category: auth}, level: full}
  - match: {environment: [production, staging]}
    rules:
      - {name: env-list, match: {category: config}, level: full}
rules:
  - {name: base-auth, match: {category: auth}, level: none}
  - {name: base, level: metadata}
`)
	tests := []struct {
		project, environment, typ string
		rule                      string
	}{
		{"payments", "staging", "auth.login", "both"},
		{"billing", "staging", "auth.login", "both"},
		{"payments", "staging", "data.read", "project-only"},
		{"payments", "staging", "config.changed", "env-only"},
		{"payments", "production", "data.read", "project-only"},
		{"payments", "production", "auth.login", "base-auth"},
		{"payments", "production", "config.changed", "env-list"},
		{"other", "staging", "auth.login", "env-only"},
		{"other", "production", "auth.login", "base-auth"},
		{"other", "production", "x.y", "base"},
		{"", "", "data.read", "base"},
	}
	for _, tt := range tests {
		ev := newEvent(tt.typ, func(e *event.Event) { e.Project, e.Environment = tt.project, tt.environment })
		if d, err := p.Decide(ev); err != nil || d.Rule != tt.rule {
			t.Errorf("Decide(%s in %q/%q) = %q, %v, want %q", tt.typ, tt.project, tt.environment, d.Rule, err, tt.rule)
		}
	}
}

func TestDecideNoRule(t *testing.T) {
	tests := []struct {
		name string
		p    *Policy
	}{
		{"nil policy", nil},
		{"empty policy", mustParse(t, "")},
		{"no rule matches", mustParse(t, "rules: [{name: a, match: {category: auth}, level: none}]")},
		{"override without a matching rule", mustParse(t, "overrides: [{match: {project: p}, rules: [{name: a, match: {category: auth}, level: none}]}]")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEvent("data.read", func(e *event.Event) { e.Project = "p" })
			d, err := tt.p.Decide(ev)
			if err != nil || d.Rule != "" || d.Level != LevelFull || d.Redact != nil || d.Personal != nil {
				t.Errorf("Decide() = %+v, %v, want full capture without a rule", d, err)
			}
		})
	}
}

func TestDecideErrors(t *testing.T) {
	p := mustParse(t, `
rules:
  - name: amount
    match: {category: payment, condition: "event.data.amount > 1000"}
    level: none
  - name: costly
    match: {category: bulk, condition: "event.data.l.all(x, event.data.l.all(y, event.data.l.all(z, x + y + z >= 0)))"}
    level: none
  - name: list
    match: {category: list, condition: "event.data.l[3] == 1"}
    level: none
  - {name: default, level: none}
`)
	l := make([]any, 100)
	for i := range l {
		l[i] = json.Number(fmt.Sprint(i))
	}
	tests := []struct {
		name string
		ev   *event.Event
		rule string // of the *EvalError
		msg  string
	}{
		{"missing key", newEvent("payment.charged", withData("currency", "EUR")), "amount", "no such key: amount"},
		{"no data", newEvent("payment.charged"), "amount", "no such key: amount"},
		{"string compared to int", newEvent("payment.charged", withData("amount", "1200")), "amount", "no such overload"},
		{"null compared to int", newEvent("payment.charged", withData("amount", nil)), "amount", "no such overload"},
		{"cost limit", newEvent("bulk.import", withData("l", l)), "costly", "cost limit"},
		{"index out of range", newEvent("list.x", withData("l", []any{json.Number("1")})), "list", "index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := p.Decide(tt.ev)
			var ee *EvalError
			if !errors.As(err, &ee) || ee.Rule != tt.rule || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Decide() error = %v, want an *EvalError of rule %q containing %q", err, tt.rule, tt.msg)
			}
			if d.Rule != "" || d.Level != LevelFull {
				t.Errorf("Decide() = %+v with the error, want full capture without a rule", d)
			}
		})
	}
	if _, err := p.Decide(nil); err == nil {
		t.Errorf("Decide(nil) = nil error, want one")
	}
}

// TestDecideConcurrent runs one policy from many goroutines; with -race
// it checks that evaluation shares no mutable state.
func TestDecideConcurrent(t *testing.T) {
	p := mustParse(t, string(readFile(t, "testdata/example.yaml")))
	events := []*event.Event{
		newEvent("payment.charged", withData("amount", json.Number("1500"), "email", "a@example.com")),
		newEvent("payment.charged", withData("amount", json.Number("15.5"))),
		newEvent("auth.login"),
		newEvent("system.health.ok"),
		newEvent("data.read", func(e *event.Event) { e.Project, e.Environment = "payments", "production" }),
	}
	want := make([]Decision, len(events))
	for i, ev := range events {
		want[i], _ = p.Decide(ev)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for n := range 200 {
				i := n % len(events)
				if d, err := p.Decide(events[i]); err != nil || d.Rule != want[i].Rule {
					select {
					case errs <- fmt.Sprintf("Decide(%s) = %q, %v, want %q", events[i].Type, d.Rule, err, want[i].Rule):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"auth.login", "auth.login", true},
		{"auth.login", "auth.logins", false},
		{"auth.*", "auth.login", true},
		{"auth.*", "auth.", true},
		{"auth.*", "auth", false},
		{"*", "anything.at.all", true},
		{"*.login", "auth.login", true},
		{"*.login", "auth.sso.login", true},
		{"*.login", "auth.logout", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"**.x", "a.x", true},
		{"?*", "", false},
		{"?*", "a", true},
	}
	for _, tt := range tests {
		if got := newGlob(tt.pat).Match(tt.s); got != tt.want {
			t.Errorf("glob(%q).match(%q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}
