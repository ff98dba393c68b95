package query

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/a24ba333/indelible/event"
)

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxErrors inside the source, and that an expression's String parses
// back to the same String. It also runs Match and Compile on what parses,
// and checks that the plan selects what Match does.
func FuzzParse(f *testing.F) {
	for _, s := range validExprs {
		f.Add(s)
	}
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	for _, tt := range errorTests {
		f.Add(tt.in)
	}
	for _, tt := range matchTests {
		f.Add(tt.expr)
	}
	for _, tt := range compileTests {
		f.Add(tt.expr)
	}
	for _, s := range randTerms {
		f.Add(s)
	}
	entries := []*event.Entry{entryJSON(f, fullEvent), entryJSON(f, bareEvent)}
	f.Fuzz(func(t *testing.T, src string) {
		x, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", src, err)
			}
			if se.Column < 1 || se.Column > utf8.RuneCountInString(src)+1 || se.Msg == "" {
				t.Fatalf("Parse(%q) = %#v: column outside the source or no message", src, se)
			}
			return
		}
		s := x.String()
		y, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %v; it is the String of Parse(%q)", s, err, src)
		}
		if y.String() != s {
			t.Fatalf("Parse(%q).String() = %q, want %q (from Parse(%q))", s, y.String(), s, src)
		}
		p, err := Compile(x, "acme", compileNow)
		if err != nil {
			t.Fatalf("Compile(%q) = %v", src, err)
		}
		checkPlan(t, src, x, p, entries)
	})
}
