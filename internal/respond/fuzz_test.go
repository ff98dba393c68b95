package respond

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, name := range append(files, bad...) {
		f.Add(readFile(f, name))
	}
	f.Add([]byte("sinks: [{name: a, type: log}]\nroutes: [{match: {severity: critical}, sinks: a}]\n"))
	f.Add([]byte("sinks:\n  - {name: h, type: webhook, url_env: U, secret: \"0123456789abcdef\", timeout: 2s}\nroutes: [{sinks: [h]}]\n"))
	alerts := []Alert{
		testAlert(),
		alertWith("critical", "mass-delete", "payments", "production"),
		alertWith("low", "", "", ""),
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := ParseConfig(src)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || len(perr.Problems) == 0 {
				t.Fatalf("ParseConfig(%q) = %v, want an *Error with problems", src, err)
			}
			for _, p := range perr.Problems {
				if p.Message == "" || p.Line < 0 || p.Column < 0 {
					t.Errorf("ParseConfig(%q): problem %+v", src, p)
				}
			}
			if _, err2 := ParseConfig(src); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("ParseConfig(%q) twice = %v, then %v", src, err, err2)
			}
			return
		}
		// Every variable is set to a valid value, so building can fail
		// only for what the parser cannot know.
		o := testOptions(nil)
		o.LookupEnv = func(string) (string, bool) { return "https://example.com/0123456789abcdef", true }
		r, err := c.Router(o)
		if err != nil {
			t.Fatalf("ParseConfig(%q).Router() = %v", src, err)
		}
		all := names(r.Sinks())
		for _, a := range alerts {
			got := names(r.Route(a))
			for i, name := range got {
				if !slices.Contains(all, name) || slices.Contains(got[:i], name) {
					t.Errorf("ParseConfig(%q): Route() = %q, not distinct sinks of %q", src, got, all)
				}
			}
		}
	})
}
