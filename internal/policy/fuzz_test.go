package policy

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/a24ba333/indelible/event"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, name := range append(files, bad...) {
		f.Add(readFile(f, name))
	}
	f.Add([]byte(criteriaPolicy))
	f.Add([]byte("rules: [{name: a, match: {condition: \"event.data.x.exists(y, y == 1)\"}, level: full}]"))
	events := []*event.Event{
		newEvent("payment.charged", withData("amount", "1200")),
		newEvent("auth.login", func(e *event.Event) { e.Project, e.Environment = "payments", "staging" }),
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse(src)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || len(perr.Problems) == 0 {
				t.Fatalf("Parse(%q) = %v, want a *Error with problems", src, err)
			}
			for _, pr := range perr.Problems {
				if pr.Message == "" || pr.Line < 0 || pr.Column < 0 {
					t.Errorf("Parse(%q): problem %+v", src, pr)
				}
			}
			if _, err2 := Parse(src); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Parse(%q) twice = %v, then %v", src, err, err2)
			}
			return
		}
		if !strings.HasPrefix(p.Hash(), "sha256:") || len(p.Hash()) != 7+64 {
			t.Errorf("Parse(%q).Hash() = %q", src, p.Hash())
		}
		names := p.RuleNames()
		for _, ev := range events {
			d, err := p.Decide(ev)
			checkDecision(t, d, err, names)
		}
	})
}

func checkDecision(t *testing.T, d Decision, err error, names []string) {
	t.Helper()
	if err != nil {
		var ee *EvalError
		if !errors.As(err, &ee) {
			t.Errorf("Decide() error = %v, want an *EvalError", err)
		}
		if d.Rule != "" || d.Level != LevelFull {
			t.Errorf("Decide() = %+v with an error, want full capture", d)
		}
		return
	}
	if d.Rule != "" && !slices.Contains(names, d.Rule) {
		t.Errorf("Decide() = rule %q, not one of %q", d.Rule, names)
	}
	switch d.Level {
	case LevelNone, LevelMetadata, LevelFull:
	default:
		t.Errorf("Decide() = level %q", d.Level)
	}
}

func FuzzDecide(f *testing.F) {
	p := mustParse(f, string(readFile(f, "testdata/example.yaml")))
	names := p.RuleNames()
	f.Add("payment.charged", "success", "alice", "payments", "production", "billing-api", "", []byte(`{"amount": 1200, "card_number": "4111", "email": "a@example.com"}`))
	f.Add("payment.refunded", "failure", "bob", "", "", "", "hi", []byte(`{"amount": 10.5}`))
	f.Add("payment.charged", "", "carol", "x", "staging", "", "", []byte(`{"amount": "high"}`))
	f.Add("payment.charged", "unknown", "dave", "", "", "", "", []byte(`{"email": {"nested": [1, 2]}}`))
	f.Add("system.health.ok", "success", "k8s", "", "", "", "", []byte(`null`))
	f.Add("data.read", "success", "erin", "payments", "production", "", "m", []byte(`{"x": [true, null]}`))
	f.Add("auth.login", "failure", "frank", "", "", "", "", []byte(`{}`))
	f.Fuzz(func(t *testing.T, typ, outcome, actor, project, environment, source, message string, data []byte) {
		ev := &event.Event{
			Type: typ, Outcome: outcome, Actor: event.Actor{ID: actor},
			Project: project, Environment: environment, Source: source, Message: message,
		}
		if v, err := event.ParseJSON(data, event.Limits{}); err == nil {
			ev.Data, _ = v.(map[string]any)
		}
		before := clone(ev)
		d, err := p.Decide(ev)
		checkDecision(t, d, err, names)
		if d.Level == LevelNone {
			return
		}
		a, err := Apply(ev, d, &counter{})
		if err != nil {
			t.Fatalf("Apply(%+v, %+v) = %v", ev, d, err)
		}
		for i, pv := range a.Values {
			toks, _ := splitPointer(pv.Path, false)
			c, _ := lookup(a.Event.Data, toks)
			if err := event.CheckCommitment(c, pv.Salt, pv.Value); err != nil {
				t.Errorf("CheckCommitment(Values[%d]) = %v", i, err)
			}
		}
		if !reflect.DeepEqual(ev, before) {
			t.Errorf("Decide and Apply changed the event: %+v, was %+v", ev, before)
		}
	})
}
