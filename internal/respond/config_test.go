package respond

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/errors.golden")

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// env returns a LookupEnv over vars.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func testOptions(vars map[string]string) SinkOptions {
	return SinkOptions{LookupEnv: env(vars), Logger: slog.New(&captureHandler{})}
}

func TestParseConfigExample(t *testing.T) {
	src := readFile(t, "testdata/example.yaml")
	c, err := ParseConfig(src)
	if err != nil {
		t.Fatalf("ParseConfig(example.yaml) = %v", err)
	}
	wantSinks := []SinkConfig{
		{Name: "soc", Type: SinkWebhook, URL: "https://soc.example.com/hooks/indelible", SecretEnv: "INDELIBLE_SOC_SECRET", Timeout: 10 * time.Second},
		{Name: "oncall", Type: SinkSlack, URLEnv: "INDELIBLE_SLACK_URL"},
		{Name: "log", Type: SinkLog},
	}
	for i := range c.Sinks {
		c.Sinks[i].at = nil
	}
	if !reflect.DeepEqual(c.Sinks, wantSinks) {
		t.Errorf("Sinks = %+v, want %+v", c.Sinks, wantSinks)
	}
	wantRoutes := []Route{
		{Match: Match{Severity: []string{"high", "critical"}, Environment: []string{"production"}}, Sinks: []string{"soc", "oncall"}},
		{Match: Match{Rule: []string{"mass-delete"}, Project: []string{"payments"}}, Sinks: []string{"oncall"}},
		{Sinks: []string{"log"}},
	}
	if !reflect.DeepEqual(c.Routes, wantRoutes) {
		t.Errorf("Routes = %+v, want %+v", c.Routes, wantRoutes)
	}
	r, err := c.Router(testOptions(map[string]string{
		"INDELIBLE_SOC_SECRET": "0123456789abcdef0123456789abcdef",
		"INDELIBLE_SLACK_URL":  " https://hooks.slack.com/services/T0/B0/X\n",
	}))
	if err != nil {
		t.Fatalf("Router() = %v", err)
	}
	var types []string
	for _, s := range r.Sinks() {
		types = append(types, fmt.Sprintf("%s:%T", s.Name(), s))
	}
	if want := []string{"soc:*respond.Webhook", "oncall:*respond.Slack", "log:*respond.LogSink"}; !slices.Equal(types, want) {
		t.Errorf("Sinks() = %q, want %q", types, want)
	}
	if got, want := names(r.Route(alertWith("critical", "x", "shop", "production"))), []string{"soc", "oncall", "log"}; !slices.Equal(got, want) {
		t.Errorf("Route(critical in production) = %q, want %q", got, want)
	}
	if got, want := names(r.Route(alertWith("low", "mass-delete", "payments", "staging"))), []string{"oncall", "log"}; !slices.Equal(got, want) {
		t.Errorf("Route(mass-delete in payments) = %q, want %q", got, want)
	}
}

func TestParseConfigValid(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		sinks []string // of the router
		route []string // of a low finding without project
	}{
		{"empty", "", []string{"log"}, []string{"log"}},
		{"comments only", "# nothing yet\n", []string{"log"}, []string{"log"}},
		{"null document", "~\n", []string{"log"}, []string{"log"}},
		{"empty lists", "sinks: []\nroutes: []\n", []string{"log"}, []string{"log"}},
		{"null sections", "sinks:\nroutes:\n", []string{"log"}, []string{"log"}},
		{"log sinks without routes", "sinks: [{name: audit-log, type: log}, {name: second, type: log}]\n", []string{"audit-log", "second"}, []string{"audit-log", "second"}},
		{
			"literal secret and URL, routes with single values",
			`sinks:
  - {name: hook, type: webhook, url: "http://127.0.0.1:8080/x?y=1", secret: "0123456789abcdef", timeout: 1m30s}
  - {name: chat, type: slack, url: "https://chat.example.com/hooks/abc", timeout: 500ms}
routes:
  - match: {severity: low, rule: r, project: "", environment: e}
    sinks: hook
  - match:
    sinks: [chat, chat]
`,
			[]string{"hook", "chat"}, []string{"chat"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.src))
			if err != nil {
				t.Fatalf("ParseConfig(%q) = %v, want nil error", tt.src, err)
			}
			r, err := c.Router(testOptions(nil))
			if err != nil {
				t.Fatalf("ParseConfig(%q).Router() = %v", tt.src, err)
			}
			if got := names(r.Sinks()); !slices.Equal(got, tt.sinks) {
				t.Errorf("ParseConfig(%q) sinks = %q, want %q", tt.src, got, tt.sinks)
			}
			if got := names(r.Route(alertWith("low", "r", "", "e2"))); !slices.Equal(got, tt.route) {
				t.Errorf("ParseConfig(%q) routes a low finding to %q, want %q", tt.src, got, tt.route)
			}
		})
	}
}

// TestParseConfigProblems checks the position, path and message of single
// problems; testdata/errors.golden holds many more.
func TestParseConfigProblems(t *testing.T) {
	tests := []struct {
		src  string
		want Problem
	}{
		{
			"sinks:\n  - name: a\n    type: log\n    typo: x\n",
			Problem{Line: 4, Column: 5, Path: "sinks[0].typo", Message: `unknown key "typo"; known keys: name, type, url, url_env, secret, secret_env, timeout`},
		},
		{
			"sinks:\n  - {name: a, type: email}\n",
			Problem{Line: 2, Column: 21, Path: "sinks[0].type", Message: `"email" is not one of "webhook", "slack" or "log"`},
		},
		{
			"sinks:\n  - {name: a, type: log}\nroutes:\n  - {match: {severity: [high, hihg]}, sinks: [a]}\n",
			Problem{Line: 4, Column: 31, Path: "routes[0].match.severity[1]", Message: `severity "hihg" is not one of "low", "medium", "high" or "critical"`},
		},
		{
			"sinks:\n  - {name: a, type: log}\nroutes:\n  - sinks: [a, b]\n",
			Problem{Line: 4, Column: 16, Path: "routes[0].sinks[1]", Message: `no sink is named "b"; declared: "a"`},
		},
		{
			"sinks:\n  - {name: a, type: webhook, url: \"https://x.example/\", secret_env: S}\n",
			Problem{Line: 2, Column: 12, Path: "sinks[0].name", Message: `sink "a" is used by no route; without routes every alert goes to the log sinks`},
		},
		{
			"sinks:\n  - {name: a, type: slack, url: \"https://x.example/\", timeout: 10}\nroutes: [{sinks: [a]}]\n",
			Problem{Line: 2, Column: 64, Path: "sinks[0].timeout", Message: `must be a duration like "10s" or "1m", not an integer`},
		},
		{
			"sinks:\n  - name: a\n    type: log\n  - name: a\n    type: log\n",
			Problem{Line: 4, Column: 11, Path: "sinks[1].name", Message: `sink name "a" is already used at line 2`},
		},
		{
			"sinks:\n  - name: a\n    type: [webhook\n",
			Problem{Line: 3, Column: 0, Path: "", Message: "YAML: did not find expected ',' or ']' in the list that starts at this line"},
		},
	}
	for _, tt := range tests {
		_, err := ParseConfig([]byte(tt.src))
		var perr *Error
		if !errors.As(err, &perr) || len(perr.Problems) != 1 || perr.Problems[0] != tt.want {
			t.Errorf("ParseConfig(%q) = %v, want the single problem %v", tt.src, err, tt.want)
		}
	}
}

// TestParseConfigErrors checks every problem of the documents in
// testdata/bad against testdata/errors.golden (go test -update rewrites
// it).
func TestParseConfigErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad documents: %v", err)
	}
	var got strings.Builder
	for _, f := range files {
		_, err := ParseConfig(readFile(t, f))
		if err == nil {
			t.Errorf("ParseConfig(%s) = nil error, want one", f)
			continue
		}
		if _, ok := err.(*Error); !ok {
			t.Errorf("ParseConfig(%s) = %T, want *Error", f, err)
		}
		got.WriteString("== " + filepath.Base(f) + "\n" + err.Error() + "\n\n")
	}
	const golden = "testdata/errors.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want := string(readFile(t, golden))
	if got.String() != want {
		t.Errorf("errors differ from %s (go test -update to accept):\n%s", golden, lineDiff(want, got.String()))
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestParseConfigTooLarge(t *testing.T) {
	src := []byte("# " + strings.Repeat("x", MaxConfigSize))
	if _, err := ParseConfig(src); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("ParseConfig(%d bytes) = %v, want a size error", len(src), err)
	}
}

// TestConfigRouterEnv checks the problems found when the sinks are built:
// those of the environment, at the line and column of the variable's
// name.
func TestConfigRouterEnv(t *testing.T) {
	const src = `sinks:
  - name: hook
    type: webhook
    url_env: HOOK_URL
    secret_env: HOOK_SECRET
routes:
  - sinks: [hook]
`
	c, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatalf("ParseConfig() = %v", err)
	}
	good := map[string]string{"HOOK_URL": "https://example.com/hook", "HOOK_SECRET": "0123456789abcdef"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		if v == "<unset>" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		vars map[string]string
		want string // the error; "" for none
	}{
		{"set", good, ""},
		{"URL unset", with("HOOK_URL", "<unset>"), "alert config: line 4, column 14 (sinks[0].url_env): environment variable HOOK_URL is not set"},
		{"URL empty", with("HOOK_URL", " "), "alert config: line 4, column 14 (sinks[0].url_env): environment variable HOOK_URL is empty"},
		{"URL bad", with("HOOK_URL", "hooks.example.com/SECRET"), "alert config: line 4, column 14 (sinks[0].url_env): environment variable HOOK_URL: the URL must start with \"https://\" or \"http://\""},
		{"secret unset", with("HOOK_SECRET", "<unset>"), "alert config: line 5, column 17 (sinks[0].secret_env): environment variable HOOK_SECRET is not set"},
		{"secret short", with("HOOK_SECRET", "short"), "alert config: line 5, column 17 (sinks[0].secret_env): environment variable HOOK_SECRET: a secret has at least 16 characters (32 random bytes in hex is good)"},
		{"no environment", nil, "alert config: line 4, column 14 (sinks[0].url_env): environment variable HOOK_URL is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(tt.vars)
			if tt.vars == nil {
				o.LookupEnv = nil
			}
			_, err := c.Router(o)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Router() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Router() = %v, want %s", err, tt.want)
			}
		})
	}
	if _, err := c.Router(SinkOptions{LookupEnv: env(good)}); err == nil {
		t.Errorf("Router(no logger) = nil error, want one")
	}
}

// TestConfigInCode checks a configuration that is not parsed.
func TestConfigInCode(t *testing.T) {
	c := &Config{
		Sinks:  []SinkConfig{{Name: "hook", Type: SinkWebhook, URL: "https://example.com/", Secret: "short"}},
		Routes: []Route{{Sinks: []string{"hook"}}},
	}
	_, err := c.Router(testOptions(nil))
	if want := "alert config: (sinks[0].secret): a secret has at least 16 characters (32 random bytes in hex is good)"; err == nil || err.Error() != want {
		t.Errorf("Router() = %v, want %s", err, want)
	}
	c = &Config{Sinks: []SinkConfig{{Name: "x", Type: "email"}}, Routes: []Route{{Sinks: []string{"x"}}}}
	if _, err := c.Router(testOptions(nil)); err == nil || !strings.Contains(err.Error(), `"email" is not one of`) {
		t.Errorf("Router() = %v, want a type error", err)
	}
}
