package schema

import (
	"slices"
	"strings"
	"testing"

	"github.com/a24ba333/indelible/event"
)

// version compiles a schema of typ at version v that requires the
// property "v<v>", so that versions validate differently.
func version(t *testing.T, typ string, v int) *Schema {
	t.Helper()
	src := `{"required": ["v` + string(rune('0'+v)) + `"]}`
	sc, err := Compile(typ, v, []byte(src))
	if err != nil {
		t.Fatalf("Compile(%q, %d, %q) = %v", typ, v, src, err)
	}
	return sc
}

func refs(scs []*Schema) []string {
	var r []string
	for _, sc := range scs {
		r = append(r, sc.Ref())
	}
	return r
}

func TestNewSet(t *testing.T) {
	a1, a2, a3 := version(t, "a.x", 1), version(t, "a.x", 2), version(t, "a.x", 3)
	b1 := version(t, "b.x", 1)
	tests := []struct {
		name    string
		schemas []*Schema
		types   []string
		err     string
	}{
		{"empty", nil, nil, ""},
		{"any order", []*Schema{a3, b1, a1, a2}, []string{"a.x", "b.x"}, ""},
		{"duplicate", []*Schema{a1, a2, a2}, nil, "a.x@2 is given twice"},
		{"gap", []*Schema{a1, a3}, nil, "a.x@3 is given, but not version 2 of a.x"},
		{"no version 1", []*Schema{b1, a2}, nil, "a.x@2 is given, but not version 1 of a.x"},
		{"nil", []*Schema{a1, nil}, nil, "nil schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSet(tt.schemas...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("NewSet(%v) = %v, want error containing %q", refs(tt.schemas), err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSet(%v) = %v", refs(tt.schemas), err)
			}
			if got := s.Types(); !slices.Equal(got, tt.types) {
				t.Errorf("NewSet(%v).Types() = %q, want %q", refs(tt.schemas), got, tt.types)
			}
		})
	}
	s, err := NewSet(a3, b1, a1, a2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := refs(s.Versions("a.x")), []string{"a.x@1", "a.x@2", "a.x@3"}; !slices.Equal(got, want) {
		t.Errorf("Versions(a.x) = %q, want %q", got, want)
	}
	if got := s.Latest("a.x"); got != a3 {
		t.Errorf("Latest(a.x) = %v, want a.x@3", got.Ref())
	}
}

func TestSetWith(t *testing.T) {
	a1, a2, a3 := version(t, "a.x", 1), version(t, "a.x", 2), version(t, "a.x", 3)
	b1, c1 := version(t, "b.x", 1), version(t, "c.x", 1)

	var s0 *Set
	s1, err := s0.With(b1)
	if err != nil {
		t.Fatalf("nil.With(b.x@1) = %v", err)
	}
	s2, err := s1.With(a1)
	if err != nil {
		t.Fatalf("With(a.x@1) = %v", err)
	}
	if _, err := s2.With(a3); err == nil || !strings.Contains(err.Error(), "the next version of a.x is 2") {
		t.Errorf("With(a.x@3) after a.x@1 = %v, want an error naming version 2", err)
	}
	if _, err := s2.With(a1); err == nil {
		t.Errorf("With(a.x@1) twice = nil error, want one")
	}
	if _, err := s2.With(nil); err == nil {
		t.Errorf("With(nil) = nil error, want one")
	}
	s3, err := s2.With(a2)
	if err != nil {
		t.Fatalf("With(a.x@2) = %v", err)
	}
	// Two sets made from the same one do not share their versions.
	s3b, err := s2.With(version(t, "a.x", 2))
	if err != nil {
		t.Fatal(err)
	}
	s4, err := s3.With(c1)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		s     *Set
		types []string
		a     []string
	}{
		{"nil", s0, nil, nil},
		{"b", s1, []string{"b.x"}, nil},
		{"b a1", s2, []string{"a.x", "b.x"}, []string{"a.x@1"}},
		{"b a1 a2", s3, []string{"a.x", "b.x"}, []string{"a.x@1", "a.x@2"}},
		{"b a1 a2'", s3b, []string{"a.x", "b.x"}, []string{"a.x@1", "a.x@2"}},
		{"b a1 a2 c", s4, []string{"a.x", "b.x", "c.x"}, []string{"a.x@1", "a.x@2"}},
	}
	for _, tt := range tests {
		if got := tt.s.Types(); !slices.Equal(got, tt.types) {
			t.Errorf("%s: Types() = %q, want %q", tt.name, got, tt.types)
		}
		if got := refs(tt.s.Versions("a.x")); !slices.Equal(got, tt.a) {
			t.Errorf("%s: Versions(a.x) = %q, want %q", tt.name, got, tt.a)
		}
	}
	if s3.Latest("a.x") != a2 || s3b.Latest("a.x") == a2 {
		t.Errorf("sets made from the same set share their versions")
	}

	// What callers get back does not change the set.
	vs := s4.Versions("a.x")
	vs[0] = nil
	ts := s4.Types()
	ts[0] = "z.z"
	if s4.Versions("a.x")[0] != a1 || s4.Types()[0] != "a.x" {
		t.Errorf("changing the result of Versions or Types changed the set")
	}
}

func TestSetCheck(t *testing.T) {
	a1, a2 := version(t, "a.x", 1), version(t, "a.x", 2)
	s, err := NewSet(a1, a2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		s     *Set
		ev    *event.Event
		sc    *Schema
		known bool
		errs  []event.FieldError
	}{
		{"latest valid", s, &event.Event{Type: "a.x", Data: map[string]any{"v2": true}}, a2, true, nil},
		{"latest invalid", s, &event.Event{Type: "a.x", Data: map[string]any{"v1": true}}, a2, true,
			[]event.FieldError{fe("/data", `keyword "required": missing property "v2"`)}},
		{"no data", s, &event.Event{Type: "a.x"}, a2, true,
			[]event.FieldError{fe("/data", `keyword "required": missing property "v2"`)}},
		{"unknown type", s, &event.Event{Type: "b.x"}, nil, false, nil},
		{"nil set", nil, &event.Event{Type: "a.x"}, nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, known, errs := tt.s.Check(tt.ev)
			if sc != tt.sc || known != tt.known || !slices.Equal(errs, tt.errs) {
				t.Errorf("Check(%s %v) = %v, %v, %v, want %v, %v, %v", tt.ev.Type, tt.ev.Data, sc, known, errs, tt.sc, tt.known, tt.errs)
			}
		})
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	if s.Latest("a.x") != nil || s.Versions("a.x") != nil || s.Types() != nil {
		t.Errorf("nil set: Latest, Versions, Types = %v, %v, %v, want nil", s.Latest("a.x"), s.Versions("a.x"), s.Types())
	}
	empty, err := NewSet()
	if err != nil || empty.Latest("a.x") != nil || len(empty.Types()) != 0 {
		t.Errorf("NewSet() = %v, %v, want an empty set", empty, err)
	}
}
