package schema

import (
	"slices"
	"strings"
	"testing"

	"github.com/a24ba333/indelible/event"
)

// FuzzCompile checks that Compile never panics, refuses only with a
// *CompileError, and that what it accepts compiles again from its
// canonical source to the same hash.
func FuzzCompile(f *testing.F) {
	for _, tt := range compileTests {
		f.Add(tt.src)
	}
	for _, tt := range compileErrorTests {
		if len(tt.src) < 1<<10 {
			f.Add(tt.src)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		sc, err := Compile("fuzz.event", 1, []byte(src))
		if err != nil {
			if _, ok := err.(*CompileError); !ok {
				t.Fatalf("Compile(%q) = %T %v, want a *CompileError", src, err, err)
			}
			return
		}
		again, err := Compile("fuzz.event", 1, sc.Source)
		if err != nil || again.Hash != sc.Hash {
			t.Fatalf("Compile(Compile(%q).Source) = %v, want hash %s", src, err, sc.Hash)
		}
		// Whatever it accepts, it can validate an event with and without data.
		sc.Validate(&event.Event{})
		sc.Validate(&event.Event{Data: map[string]any{"a": []any{"b", 1.5, nil, map[string]any{}}}})
	})
}

// FuzzValidate checks that validating arbitrary data against orderSchema
// never panics and gives sorted, well-formed errors, the same each time.
func FuzzValidate(f *testing.F) {
	for _, tt := range validateTests {
		f.Add(tt.data)
	}
	sc := mustCompile(f, orderSchema)
	f.Fuzz(func(t *testing.T, data string) {
		v, err := event.ParseJSON([]byte(data), event.Limits{})
		if err != nil {
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		ev := &event.Event{Data: m}
		errs := sc.Validate(ev)
		for i, fe := range errs {
			if fe.Path != "/data" && !strings.HasPrefix(fe.Path, "/data/") || fe.Message == "" {
				t.Errorf("Validate(%s) error %d = %q, want a path under /data and a message", data, i, fe)
			}
			if i > 0 && strings.Compare(errs[i-1].Path, fe.Path) > 0 {
				t.Errorf("Validate(%s) errors are not sorted by path: %v", data, errs)
			}
		}
		if again := sc.Validate(ev); !slices.Equal(again, errs) {
			t.Errorf("Validate(%s) = %v, then %v", data, errs, again)
		}
	})
}
