package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// counter is a deterministic source of salts: 0, 1, 2, ... as bytes.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// clone deep-copies an event, to compare with after Apply.
func clone(e *event.Event) *event.Event {
	c := *e
	if e.Resource != nil {
		r := *e.Resource
		c.Resource = &r
	}
	if e.Data != nil {
		c.Data = cloneValue(e.Data).(map[string]any)
	}
	return &c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneValue(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = cloneValue(x)
		}
		return l
	case []string:
		return slices.Clone(v)
	}
	return v
}

func richEvent() *event.Event {
	return newEvent("payment.charged", func(e *event.Event) {
		e.Message = "charged a card"
		e.Subject = "customer-7"
		e.Resource = &event.Resource{Type: "card", ID: "c-1"}
		e.Data = map[string]any{
			"amount":      json.Number("1200.5"),
			"card_number": "4111111111111111",
			"email":       "ann@example.com",
			"a/b":         "slash",
			"customer":    map[string]any{"name": "Ann", "phones": []any{"+1 555", "+1 556"}},
			"tags":        []string{"x", "y"},
			"nothing":     nil,
		}
	})
}

func TestApplyLevels(t *testing.T) {
	ev := richEvent()
	before := clone(ev)

	a, err := Apply(ev, Decision{Rule: "m", Level: LevelMetadata, Redact: []string{"/data/email"}}, nil)
	if err != nil {
		t.Fatalf("Apply(metadata) = %v", err)
	}
	want := clone(ev)
	want.Data, want.Message = nil, ""
	if !reflect.DeepEqual(a.Event, want) || a.Redacted != nil || a.Personal != nil || a.Values != nil {
		t.Errorf("Apply(metadata) = %+v, want %+v and nothing redacted", a, want)
	}

	a, err = Apply(ev, Decision{Level: LevelFull}, nil)
	if err != nil || !reflect.DeepEqual(a.Event, ev) || a.Event == ev {
		t.Errorf("Apply(full) = %+v, %v, want an equal copy", a.Event, err)
	}

	for _, d := range []Decision{{Rule: "n", Level: LevelNone}, {Level: "verbose"}, {}} {
		if a, err := Apply(ev, d, nil); err == nil || a.Event != nil {
			t.Errorf("Apply(%+v) = %+v, %v, want an error", d, a, err)
		}
	}
	if _, err := Apply(nil, Decision{Level: LevelFull}, nil); err == nil {
		t.Errorf("Apply(nil event) = nil error, want one")
	}
	if !reflect.DeepEqual(ev, before) {
		t.Errorf("Apply changed its event: %+v, was %+v", ev, before)
	}
}

func TestApplyRedact(t *testing.T) {
	tests := []struct {
		name     string
		redact   []string
		redacted []string
		check    func(e *event.Event) bool
	}{
		{
			"top-level key", []string{"/data/card_number"}, []string{"/data/card_number"},
			func(e *event.Event) bool {
				return e.Data["card_number"] == RedactedMarker && e.Data["email"] == "ann@example.com"
			},
		},
		{
			"absent paths are not listed", []string{"/data/cvv", "/data/customer/age", "/data/customer/phones/2", "/data/amount/x", "/data/customer/phones/01"}, nil,
			func(e *event.Event) bool { return reflect.DeepEqual(e.Data, richEvent().Data) },
		},
		{
			"null is present", []string{"/data/nothing"}, []string{"/data/nothing"},
			func(e *event.Event) bool { return e.Data["nothing"] == RedactedMarker },
		},
		{
			"message", []string{"/message"}, []string{"/message"},
			func(e *event.Event) bool { return e.Message == RedactedMarker },
		},
		{
			"nested, array and escaped", []string{"/data/customer/name", "/data/customer/phones/1", "/data/a~1b", "/data/tags/0"},
			[]string{"/data/customer/name", "/data/customer/phones/1", "/data/a~1b", "/data/tags/0"},
			func(e *event.Event) bool {
				c := e.Data["customer"].(map[string]any)
				return c["name"] == RedactedMarker && reflect.DeepEqual(c["phones"], []any{"+1 555", RedactedMarker}) &&
					e.Data["a/b"] == RedactedMarker && reflect.DeepEqual(e.Data["tags"], []any{RedactedMarker, "y"})
			},
		},
		{
			"whole object", []string{"/data/customer"}, []string{"/data/customer"},
			func(e *event.Event) bool { return e.Data["customer"] == RedactedMarker },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := richEvent()
			before := clone(ev)
			a, err := Apply(ev, Decision{Level: LevelFull, Redact: tt.redact}, nil)
			if err != nil {
				t.Fatalf("Apply(redact %q) = %v", tt.redact, err)
			}
			if !slices.Equal(a.Redacted, tt.redacted) {
				t.Errorf("Apply(redact %q).Redacted = %q, want %q", tt.redact, a.Redacted, tt.redacted)
			}
			if !tt.check(a.Event) {
				t.Errorf("Apply(redact %q).Event = %+v", tt.redact, a.Event)
			}
			if !reflect.DeepEqual(ev, before) {
				t.Errorf("Apply(redact %q) changed its event: %+v, was %+v", tt.redact, ev, before)
			}
		})
	}
}

func TestApplyPersonal(t *testing.T) {
	for _, subject := range []string{"customer-7", ""} {
		ev := richEvent()
		ev.Subject = subject
		before := clone(ev)
		d := Decision{
			Level:    LevelFull,
			Redact:   []string{"/data/card_number"},
			Personal: []string{"/data/email", "/data/absent", "/data/customer/phones/0", "/data/customer/name", "/data/amount"},
		}
		a, err := Apply(ev, d, &counter{})
		if err != nil {
			t.Fatalf("Apply(personal, subject %q) = %v", subject, err)
		}
		wantPaths := []string{"/data/email", "/data/customer/phones/0", "/data/customer/name", "/data/amount"}
		if !slices.Equal(a.Personal, wantPaths) || !slices.Equal(a.Redacted, []string{"/data/card_number"}) {
			t.Errorf("Apply(personal).Personal, Redacted = %q, %q, want %q, [/data/card_number]", a.Personal, a.Redacted, wantPaths)
		}
		if len(a.Values) != len(wantPaths) {
			t.Fatalf("Apply(personal).Values = %+v, want %d values", a.Values, len(wantPaths))
		}
		wantValues := []any{"ann@example.com", "+1 555", "Ann", json.Number("1200.5")}
		for i, pv := range a.Values {
			toks, _ := splitPointer(pv.Path, false)
			commitment, _ := lookup(a.Event.Data, toks)
			if pv.Path != wantPaths[i] || !reflect.DeepEqual(pv.Value, wantValues[i]) || len(pv.Salt) != event.SaltSize {
				t.Errorf("Values[%d] = %+v, want path %s, value %v and a %d-byte salt", i, pv, wantPaths[i], wantValues[i], event.SaltSize)
			}
			if err := event.CheckCommitment(commitment, pv.Salt, pv.Value); err != nil {
				t.Errorf("CheckCommitment(%v, Values[%d]) = %v", commitment, i, err)
			}
			if err := event.CheckCommitment(commitment, pv.Salt, "someone else"); err == nil {
				t.Errorf("CheckCommitment(%v, another value) = nil, want an error", commitment)
			}
			for j := range i {
				if bytes.Equal(a.Values[j].Salt, pv.Salt) {
					t.Errorf("Values[%d] and Values[%d] share a salt", j, i)
				}
			}
		}
		if !reflect.DeepEqual(ev, before) {
			t.Errorf("Apply(personal) changed its event: %+v, was %+v", ev, before)
		}
		// The captured event makes a valid entry that holds no personal value.
		en := event.Entry{
			Event: *a.Event, Version: event.EntryVersion, Log: "acme", ReceivedAt: ev.Time, Digest: []byte{1},
			Capture: event.Capture{Level: string(LevelFull), Redacted: a.Redacted, Personal: a.Personal},
		}
		b, err := en.Canonical()
		if err != nil {
			t.Fatalf("Canonical() = %v", err)
		}
		if _, err := event.ParseEntry(b); err != nil {
			t.Errorf("ParseEntry(%s) = %v", b, err)
		}
		for _, secret := range []string{"ann@example.com", "+1 555", "Ann", "1200.5", "4111111111111111"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("entry %s holds %q", b, secret)
			}
		}
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name string
		ev   *event.Event
		d    Decision
		msg  string
	}{
		{"pointer outside data", richEvent(), Decision{Level: LevelFull, Redact: []string{"/actor/id"}}, "under /data/"},
		{"personal message", richEvent(), Decision{Level: LevelFull, Personal: []string{"/message"}}, "under /data/"},
		{"bad escape", richEvent(), Decision{Level: LevelFull, Redact: []string{"/data/a~"}}, "RFC 6901"},
		{"not canonical", newEvent("a.b", withData("x", math.Inf(1))), Decision{Level: LevelFull, Personal: []string{"/data/x"}}, "/data/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Apply(tt.ev, tt.d, nil); err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Apply(%+v) = %v, want an error containing %q", tt.d, err, tt.msg)
			}
		})
	}
	_, err := Apply(richEvent(), Decision{Level: LevelFull, Personal: []string{"/data/email"}}, failingReader{})
	if err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Errorf("Apply(failing reader) = %v, want the reader's error", err)
	}
}

// TestDecideApply runs the example policy from decision to entry.
func TestDecideApply(t *testing.T) {
	p := mustParse(t, string(readFile(t, "testdata/example.yaml")))
	ev := newEvent("payment.charged", withData("amount", json.Number("2500"), "card_number", "4111", "email", "ann@example.com"))
	ev.Message = "hello"
	d, err := p.Decide(ev)
	if err != nil || d.Rule != "cards" {
		t.Fatalf("Decide() = %+v, %v, want rule cards", d, err)
	}
	a, err := Apply(ev, d, &counter{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Event.Data["card_number"] != RedactedMarker || a.Event.Message != "hello" ||
		!slices.Equal(a.Personal, []string{"/data/email"}) || a.Event.Data["amount"] != json.Number("2500") {
		t.Errorf("Apply(cards) = %+v", a)
	}
	ev.Data["amount"] = json.Number("10")
	d, err = p.Decide(ev)
	if err != nil || d.Rule != "default" || d.Level != LevelMetadata {
		t.Fatalf("Decide(small payment) = %+v, %v, want rule default", d, err)
	}
	if a, err := Apply(ev, d, nil); err != nil || a.Event.Data != nil || a.Event.Message != "" || a.Event.Time != ev.Time.In(time.UTC) {
		t.Errorf("Apply(default) = %+v, %v, want metadata only", a.Event, err)
	}
}
