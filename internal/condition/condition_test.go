package condition

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/cel"

	"github.com/a24ba333/indelible/event"
)

func newEvent(typ string, edit func(*event.Event)) *event.Event {
	e := &event.Event{Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Type: typ, Actor: event.Actor{ID: "alice"}}
	if edit != nil {
		edit(e)
	}
	return e
}

func TestCompileAndEval(t *testing.T) {
	for _, tt := range []struct {
		cond string
		ev   *event.Event
		want bool
		err  string // a part of the compile error; "" for none
	}{
		{"event.data.amount > 1000", newEvent("payment.charge", func(e *event.Event) { e.Data = map[string]any{"amount": json.Number("1200")} }), true, ""},
		{"event.data.amount > 1000", newEvent("payment.charge", func(e *event.Event) { e.Data = map[string]any{"amount": json.Number("999.5")} }), false, ""},
		{`event.category == "payment" && event.action == "charge"`, newEvent("payment.card.charge", nil), true, ""},
		{`event.outcome == "unknown"`, newEvent("a.b", nil), true, ""},
		{`event.resource.type == ""`, newEvent("a.b", nil), true, ""},
		{"event.actr.id == 'a'", nil, false, "actr"},
		{"event.data.amount", nil, false, "bool"},
		{"1 +", nil, false, "Syntax"},
	} {
		prg, msgs := Compile(tt.cond)
		if tt.err != "" {
			if len(msgs) == 0 || !strings.Contains(strings.Join(msgs, " "), tt.err) {
				t.Errorf("Compile(%q) = %v, want an error about %q", tt.cond, msgs, tt.err)
			}
			continue
		}
		if len(msgs) > 0 {
			t.Fatalf("Compile(%q) = %v", tt.cond, msgs)
		}
		if got, err := Eval(prg, tt.ev); got != tt.want || err != nil {
			t.Errorf("Eval(%q) = %v, %v; want %v", tt.cond, got, err, tt.want)
		}
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"1200", "int 1200"},
		{"-7", "int -7"},
		{"1200.0", "int 1200"},
		{"1.2e3", "int 1200"},
		{"1200.5", "double 1200.5"},
		{"9223372036854775807", "int 9223372036854775807"},
		{"9223372036854775808", "double 9.223372036854776e+18"},
		{"-9223372036854775808", "int -9223372036854775808"},
		{"1e300", "double 1e+300"},
	}
	for _, tt := range tests {
		v := number(tt.in)
		if got := fmt.Sprintf("%s %v", v.Type().TypeName(), v.Value()); got != tt.want {
			t.Errorf("number(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestConditionCost checks which conditions run without tracking their
// cost, and that those stay within MaxCost on the largest
// values an event can hold.
func TestConditionCost(t *testing.T) {
	big := strings.Repeat("a", int(maxValueSize)-2)
	list := make([]any, maxValueSize/2)
	for i := range list {
		list[i] = json.Number("1")
	}
	ev := newEvent("x.y", func(e *event.Event) {
		e.Actor.ID, e.Message = big, big
		e.Data = map[string]any{"s": big, "l": list, "amount": json.Number("5")}
	})
	tests := []struct {
		cond  string
		cheap bool
	}{
		{"event.data.amount > 1000", true},
		{`event.actor.id.endsWith("@partner.example") || event.message.contains("secret")`, true},
		{`event.data.s.startsWith("a") && size(event.data.s) > 3`, true},
		{`event.message.matches("^a+b$")`, true},
		{"event.data.l.exists(x, x == 2)", false},
		{"event.data.l.all(x, event.data.l.all(y, x == y))", false},
	}
	env, err := Env()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		ast, iss := env.Compile(tt.cond)
		if iss.Err() != nil {
			t.Fatalf("Compile(%q) = %v", tt.cond, iss.Err())
		}
		if got := cheap(env, ast); got != tt.cheap {
			t.Errorf("cheap(%q) = %v, want %v", tt.cond, got, tt.cheap)
		}
		if !tt.cheap {
			continue
		}
		prg, err := env.Program(ast, cel.CostLimit(MaxCost))
		if err != nil {
			t.Fatal(err)
		}
		_, det, err := prg.Eval(&activation{ev: object{v: ev, t: eventType}})
		if err != nil {
			t.Errorf("Eval(%q) on the largest values = %v", tt.cond, err)
		} else if c := det.ActualCost(); c == nil || *c > MaxCost {
			t.Errorf("Eval(%q) cost %v, want at most %d", tt.cond, c, MaxCost)
		}
	}
}
