package event

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleEvent is a realistic client event of about 400 bytes.
const sampleEvent = `{
  "id": "01JDQ9X3V8W6N2C5R7T4Y1B0AZ",
  "time": "2026-11-23T20:40:00.123+01:00",
  "type": "auth.login",
  "outcome": "failure",
  "actor": {"id": "alice@example.com", "type": "user", "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"},
  "resource": {"type": "account", "id": "acct-42"},
  "project": "payments", "environment": "production", "source": "billing-api",
  "message": "login failed: bad password",
  "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
  "data": {"method": "password", "attempt": 3, "mfa": false, "reasons": ["bad_password"]}
}`

func TestParse(t *testing.T) {
	e, err := Parse([]byte(sampleEvent), DefaultLimits())
	if err != nil {
		t.Fatalf("Parse(sampleEvent) error: %v", err)
	}
	want := &Event{
		ID:          "01JDQ9X3V8W6N2C5R7T4Y1B0AZ",
		Time:        time.Date(2026, 11, 23, 19, 40, 0, 123e6, time.UTC),
		Type:        "auth.login",
		Outcome:     "failure",
		Actor:       Actor{ID: "alice@example.com", Type: "user", IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"},
		Resource:    &Resource{Type: "account", ID: "acct-42"},
		Project:     "payments",
		Environment: "production",
		Source:      "billing-api",
		Message:     "login failed: bad password",
		TraceID:     "4bf92f3577b34da6a3ce929d0e0e4736",
		Data: map[string]any{"method": "password", "attempt": jsonNumber("3"), "mfa": false,
			"reasons": []any{"bad_password"}},
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("Parse(sampleEvent) = %+v, want %+v", e, want)
	}
	if e.Time.Location() != time.UTC {
		t.Errorf("Parse(sampleEvent).Time is in %v, want UTC", e.Time.Location())
	}
	if got := e.Category(); got != "auth" {
		t.Errorf("Category() = %q, want auth", got)
	}
	if got := e.Action(); got != "login" {
		t.Errorf("Action() = %q, want login", got)
	}
}

func TestParseMinimal(t *testing.T) {
	in := `{"time":"2026-01-02T03:04:05Z","type":"a.b.c","actor":{"id":"x"},"project":null,"data":null}`
	e, err := Parse([]byte(in), DefaultLimits())
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", in, err)
	}
	if e.Outcome != OutcomeUnknown || e.Category() != "a" || e.Action() != "c" || e.Resource != nil || e.Data != nil {
		t.Errorf("Parse(%q) = %+v, want outcome unknown, category a, action c, no resource or data", in, e)
	}
}

// base is a valid event into which the tests below splice fields.
const base = `"time":"2026-01-02T03:04:05Z","type":"auth.login","actor":{"id":"alice"}`

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want []FieldError
	}{
		{`[]`, []FieldError{{"", "an event must be a JSON object, not array"}}},
		{`"x"`, []FieldError{{"", "an event must be a JSON object, not string"}}},
		{`{}`, []FieldError{{"/actor", "is required"}, {"/time", "is required"}, {"/type", "is required"}}},
		{`{` + base + `,"extra":1,"Type":"x"}`, []FieldError{{"/Type", "unknown field"}, {"/extra", "unknown field"}}},
		{`{"time":1,"type":true,"actor":"bob","outcome":null}`, []FieldError{
			{"/time", "must be a string, not number"},
			{"/type", "must be a string, not boolean"},
			{"/actor", "must be an object, not string"},
		}},
		{`{` + base + `,"outcome":"failed"}`, []FieldError{{"/outcome", `must be "success", "failure" or "unknown"`}}},
		{`{"time":"2026-01-02 03:04:05","type":"auth.login","actor":{"id":"a"}}`, []FieldError{
			{"/time", `must be an RFC 3339 time with a time zone, like "2026-11-23T19:40:00.123Z"`}}},
		{`{"time":"2026-01-02T03:04:05","type":"auth.login","actor":{"id":"a"}}`, []FieldError{
			{"/time", `must be an RFC 3339 time with a time zone, like "2026-11-23T19:40:00.123Z"`}}},
		{`{"time":"2026-01-02T03:04:05.1234567891Z","type":"auth.login","actor":{"id":"a"}}`, []FieldError{
			{"/time", "must have at most 9 fractional digits of seconds"}}},
		{`{"time":"0000-01-01T00:00:00+01:00","type":"auth.login","actor":{"id":"a"}}`, []FieldError{
			{"/time", "must be between the years 0000 and 9999 in UTC"}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"Auth.Login","actor":{"id":"a"}}`, []FieldError{
			{"/type", `must be two or more dot-separated lowercase segments of a-z, 0-9, "_" and "-", like "auth.login"`}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"login","actor":{"id":"a"}}`, []FieldError{
			{"/type", `must be two or more dot-separated lowercase segments of a-z, 0-9, "_" and "-", like "auth.login"`}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"auth..login","actor":{"id":"a"}}`, []FieldError{
			{"/type", `must be two or more dot-separated lowercase segments of a-z, 0-9, "_" and "-", like "auth.login"`}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"indelible.key.created","actor":{"id":"a"}}`, []FieldError{
			{"/type", `the category "indelible" is reserved for events written by Indelible`}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"a.` + strings.Repeat("b", 127) + `","actor":{"id":"a"}}`, []FieldError{
			{"/type", "is longer than 128 bytes"}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"auth.login","actor":{}}`, []FieldError{{"/actor/id", "is required"}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"auth.login","actor":{"id":"a","ip":"1.2.3","name":"x"}}`, []FieldError{
			{"/actor/name", "unknown field"}, {"/actor/ip", "must be an IPv4 or IPv6 address"}}},
		{`{"time":"2026-01-02T03:04:05Z","type":"auth.login","actor":{"id":7}}`, []FieldError{
			{"/actor/id", "must be a string, not number"}}},
		{`{` + base + `,"resource":{"id":"r","kind":"k"}}`, []FieldError{{"/resource/kind", "unknown field"}}},
		{`{` + base + `,"resource":[]}`, []FieldError{{"/resource", "must be an object, not array"}}},
		{`{` + base + `,"data":[1]}`, []FieldError{{"/data", "must be an object, not array"}}},
		{`{` + base + `,"id":"has space"}`, []FieldError{{"/id", "must contain only printable characters and no spaces"}}},
		{`{` + base + `,"id":"` + strings.Repeat("x", 129) + `"}`, []FieldError{{"/id", "is longer than 128 bytes"}}},
		{`{` + base + `,"message":"` + strings.Repeat("x", 8<<10+1) + `"}`, []FieldError{{"/message", "is longer than 8192 bytes"}}},
		{`{` + base + `,"project":"` + strings.Repeat("x", 257) + `"}`, []FieldError{{"/project", "is longer than 256 bytes"}}},
		{`{` + base + `,"subject":{}}`, []FieldError{{"/subject", "must be a string, not object"}}},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			e, err := Parse([]byte(tt.in), DefaultLimits())
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%q) = %v, %v; want a *ValidationError", tt.in, e, err)
			}
			if !reflect.DeepEqual(ve.Errors, tt.want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, ve.Errors, tt.want)
			}
		})
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := Parse([]byte(`{"actor":{"id":"a","id":"b"}}`), DefaultLimits())
	var se *SyntaxError
	if !errors.As(err, &se) || se.Path != "/actor/id" {
		t.Errorf("Parse(duplicate actor.id) = %v, want a *SyntaxError at /actor/id", err)
	}
}

func TestValidationErrorText(t *testing.T) {
	_, err := Parse([]byte(`{"type":"x.y","actor":{"id":"a"},"time":"2026-01-02T03:04:05Z","outcome":"maybe","zz":1}`), DefaultLimits())
	want := `invalid event: /zz: unknown field; /outcome: must be "success", "failure" or "unknown"`
	if err == nil || err.Error() != want {
		t.Errorf("Parse(...) = %v, want %v", err, want)
	}
}

func TestValidate(t *testing.T) {
	ok := func() *Event {
		return &Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Type: "indelible.policy.updated", Actor: Actor{ID: "system"}}
	}
	if err := ok().Validate(true); err != nil {
		t.Errorf("Validate(true) = %v, want nil", err)
	}
	if err := ok().Validate(false); err == nil {
		t.Errorf("Validate(false) of a reserved type = nil, want error")
	}
	tests := []struct {
		name   string
		modify func(*Event)
		path   string
	}{
		{"zero time", func(e *Event) { e.Time = time.Time{} }, "/time"},
		{"year 10000", func(e *Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "/time"},
		{"bad utf-8", func(e *Event) { e.Source = "\xff" }, "/source"},
		{"long user agent", func(e *Event) { e.Actor.UserAgent = strings.Repeat("x", 1025) }, "/actor/user_agent"},
		{"long resource id", func(e *Event) { e.Resource = &Resource{ID: strings.Repeat("x", 257)} }, "/resource/id"},
		{"nan in data", func(e *Event) { e.Data = map[string]any{"a": []any{1.0, nan()}} }, "/data/a/1"},
		{"bad type in data", func(e *Event) { e.Data = map[string]any{"a/b": struct{}{}} }, "/data/a~1b"},
		{"big int in data", func(e *Event) { e.Data = map[string]any{"n": int64(1) << 60} }, "/data/n"},
		{"deep data", func(e *Event) { e.Data = nest(32) }, "/data" + strings.Repeat("/a", 31)},
		{"control char in id", func(e *Event) { e.ID = "a\x00b" }, "/id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok()
			tt.modify(e)
			err := e.Validate(true)
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Path != tt.path {
				t.Errorf("Validate() = %v, want one error at %s", err, tt.path)
			}
		})
	}
	e := ok()
	e.Data = nest(31) // the deepest that Parse accepts
	if err := e.Validate(true); err != nil {
		t.Errorf("Validate(data nested 31 deep) = %v, want nil", err)
	}
}

// nest returns data of n nested objects: {"a":{"a":...{}}}.
func nest(n int) map[string]any {
	m := map[string]any{}
	for range n - 1 {
		m = map[string]any{"a": m}
	}
	return m
}

func FuzzParse(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{` + base + `}`))
	f.Add([]byte(`{` + base + `,"outcome":"x","resource":{"id":1},"data":{"a":[1,{"b":null}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data, DefaultLimits())
		if err != nil {
			var se *SyntaxError
			var ve *ValidationError
			if !errors.As(err, &se) && !(errors.As(err, &ve) && len(ve.Errors) > 0) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError or *ValidationError", data, err)
			}
			return
		}
		if err := e.Validate(false); err != nil {
			t.Fatalf("Parse(%q) accepted an event that Validate rejects: %v", data, err)
		}
		c, err := e.CanonicalJSON()
		if err != nil {
			t.Fatalf("CanonicalJSON() error: %v", err)
		}
		// The canonical event is itself a valid event with the same content.
		e2, err := Parse(c, Limits{MaxBytes: 1 << 20})
		if err != nil {
			t.Fatalf("Parse(%q) error: %v", c, err)
		}
		if c2, _ := e2.CanonicalJSON(); string(c2) != string(c) {
			t.Fatalf("CanonicalJSON not stable:\n%s\n%s", c, c2)
		}

		// Sealed, it round-trips through ParseEntry and EntryID.
		en := &Entry{Event: *e, Version: 1, Log: "l", ReceivedAt: e.Time, Digest: []byte{1}, Capture: Capture{Level: CaptureFull}}
		b, err := en.Canonical()
		if errors.Is(err, ErrEntryTooLarge) {
			return
		}
		if err != nil {
			t.Fatalf("Entry.Canonical() error: %v", err)
		}
		got, err := ParseEntry(b)
		if err != nil {
			t.Fatalf("ParseEntry(%q) error: %v", b, err)
		}
		if b2, err := got.Canonical(); err != nil || string(b2) != string(b) {
			t.Fatalf("Canonical(ParseEntry(%q)) = %q, %v", b, b2, err)
		}
		if id, err := EntryID(b); err != nil || id != e.ID {
			t.Fatalf("EntryID(%q) = %q, %v; want %q", b, id, err, e.ID)
		}
	})
}

func jsonNumber(s string) json.Number { return json.Number(s) }

func nan() float64 { return math.NaN() }
