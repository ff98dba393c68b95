package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
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

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse(%q) = %v", src, err)
	}
	return p
}

func TestParseExample(t *testing.T) {
	src := readFile(t, "testdata/example.yaml")
	p, err := Parse(src)
	if err != nil {
		t.Fatalf("Parse(example.yaml) = %v, want nil error", err)
	}
	wantNames := []string{"prod-data-changes", "staging-verbose", "drop-health", "logins-full", "cards", "default"}
	if got := p.RuleNames(); !slices.Equal(got, wantNames) {
		t.Errorf("RuleNames() = %q, want %q", got, wantNames)
	}
	sum := sha256.Sum256(src)
	if got, want := p.Hash(), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("Hash() = %q, want %q", got, want)
	}
	if got := p.Source(); !bytes.Equal(got, src) {
		t.Errorf("Source() = %q, want the document", got)
	}
	want := Settings{UnregisteredTypes: Accept, Invalid: map[string]string{"api": Reject, "kubernetes": Quarantine}, Approval: Single}
	if got := p.Settings(); !reflect.DeepEqual(got, want) {
		t.Errorf("Settings() = %+v, want %+v", got, want)
	}
	// The policy keeps its own copies.
	p.Source()[0] = 'X'
	p.Settings().Invalid["api"] = Quarantine
	p.RuleNames()[0] = "x"
	if !bytes.Equal(p.Source(), src) || p.Settings().Invalid["api"] != Reject || p.RuleNames()[0] != wantNames[0] {
		t.Errorf("changing what the accessors returned changed the policy")
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, src string
		names     []string
		settings  Settings
	}{
		{"empty", "", nil, defaultSettings()},
		{"comments only", "# nothing yet\n", nil, defaultSettings()},
		{"null document", "~\n", nil, defaultSettings()},
		{"empty lists", "rules: []\noverrides: []\n", nil, defaultSettings()},
		{"null sections", "settings:\nrules:\noverrides:\n", nil, defaultSettings()},
		{
			"settings",
			"settings: {unregistered_types: reject, invalid: {kubernetes: reject}, approval: two-person}\n",
			nil,
			Settings{UnregisteredTypes: Reject, Invalid: map[string]string{"api": Reject, "kubernetes": Reject}, Approval: TwoPerson},
		},
		{
			"lists and nested criteria",
			`rules:
  - name: r_1
    match:
      type: ["auth.*", "session.?ogin"]
      actor: {id: [alice, bob], type: user}
      resource: {type: account}
      outcome: [failure, unknown]
      source: ""
      project: payments
      environment: [production, staging]
      condition: |
        has(event.data.amount) &&
        event.data.amount > 10
    level: full
    redact: ["/message", "/data/a~1b/0"]
    personal: ["/data/email"]
`,
			[]string{"r_1"}, defaultSettings(),
		},
		{
			"override order",
			`overrides:
  - match: {environment: e}
    rules: [{name: env, level: full}]
  - match: {project: p}
    rules: [{name: proj, level: full}]
  - match: {project: p, environment: e}
    rules: [{name: both, level: full}]
  - match: {project: [p, q]}
    rules: [{name: proj2, level: full}]
rules:
  - name: base
    level: none
`,
			[]string{"both", "proj", "proj2", "env", "base"}, defaultSettings(),
		},
		{
			"catch-all in an override does not hide the base rules",
			"overrides:\n  - match: {project: p}\n    rules: [{name: all, level: full}]\nrules: [{name: base, level: none}]\n",
			[]string{"all", "base"}, defaultSettings(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.src))
			if err != nil {
				t.Fatalf("Parse(%q) = %v, want nil error", tt.src, err)
			}
			if got := p.RuleNames(); !slices.Equal(got, tt.names) {
				t.Errorf("Parse(%q).RuleNames() = %q, want %q", tt.src, got, tt.names)
			}
			if got := p.Settings(); !reflect.DeepEqual(got, tt.settings) {
				t.Errorf("Parse(%q).Settings() = %+v, want %+v", tt.src, got, tt.settings)
			}
		})
	}
}

// TestParseProblems checks the position, path and message of single
// problems; testdata/errors.golden holds many more.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		src  string
		want Problem
	}{
		{
			"rules:\n  - name: a\n    lvel: full\n    level: full\n",
			Problem{Line: 3, Column: 5, Path: "rules[0].lvel", Message: `unknown key "lvel"; known keys: name, match, level, redact, personal`},
		},
		{
			"rules:\n  - name: a\n    match: {condition: \"event.actr.id == 'x'\"}\n    level: full\n",
			Problem{Line: 3, Column: 24, Path: "rules[0].match.condition", Message: "undefined field 'actr' (at 1:6 of the expression)"},
		},
		{
			"rules:\n  - name: a\n    match:\n      condition: actr.id == 'x'\n    level: full\n",
			Problem{Line: 4, Column: 18, Path: "rules[0].match.condition", Message: "undeclared reference to 'actr' (at 1:1 of the expression)"},
		},
		{
			"rules:\n  - name: a\n    match: {condition: \"size(event.data)\"}\n    level: full\n",
			Problem{Line: 3, Column: 24, Path: "rules[0].match.condition", Message: "must be a bool expression, not int"},
		},
		{
			"rules:\n  - {name: a, level: full}\n  - {name: b, level: none}\n",
			Problem{Line: 3, Column: 5, Path: "rules[1]", Message: `unreachable: rule "a" (line 2) before it matches every event`},
		},
		{
			"rules:\n  - {name: a, level: loud}\n",
			Problem{Line: 2, Column: 22, Path: "rules[0].level", Message: `"loud" is not one of "none", "metadata" or "full"`},
		},
		{
			"rules:\n  - {name: a, match: {type: x}, level: full}\n  - {name: a, level: full}\n",
			Problem{Line: 3, Column: 12, Path: "rules[1].name", Message: `rule name "a" is already used at line 2`},
		},
		{
			"rules:\n  - name: a\n    level: full\n    personal: [\"/data/x\", \"/message\"]\n",
			Problem{Line: 4, Column: 27, Path: "rules[0].personal[1]", Message: `"/message" must be a JSON Pointer under /data/`},
		},
		{
			"rules:\n  - {name: a, match: {type: \"Auth.*\"}, level: full}\n",
			Problem{Line: 2, Column: 29, Path: "rules[0].match.type", Message: `type pattern "Auth.*" can never match: types hold only a-z, 0-9, "_", "-" and ".", and the wildcards are "*" and "?"`},
		},
		{
			"rules:\n  - {name: a, match: {project: 2024}, level: full}\n",
			Problem{Line: 2, Column: 32, Path: "rules[0].match.project", Message: "must be a string, not an integer (quote it)"},
		},
		{
			"overrides:\n  - match: {project: p, category: auth}\n    rules: []\n",
			Problem{Line: 2, Column: 25, Path: "overrides[0].match.category", Message: `unknown key "category"; known keys: project, environment`},
		},
		{
			"rules:\n  - name: a\n   level: full\n",
			Problem{Line: 2, Column: 0, Path: "", Message: "YAML: did not find expected '-' indicator in the list that starts at this line"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.want.Path, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q) = %v, want a *Error", tt.src, err)
			}
			if len(perr.Problems) != 1 || perr.Problems[0] != tt.want {
				t.Errorf("Parse(%q) = %#v, want one problem %#v", tt.src, perr.Problems, tt.want)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	src := bytes.Repeat([]byte("#"), MaxSize+1)
	if _, err := Parse(src); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Parse(%d bytes) = %v, want a size error", len(src), err)
	}
}

// TestParseErrors checks the error of each document in testdata/bad
// against testdata/errors.golden; -update rewrites it.
func TestParseErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad documents: %v", err)
	}
	var got strings.Builder
	for _, f := range files {
		_, err := Parse(readFile(t, f))
		if err == nil {
			t.Errorf("Parse(%s) = nil error, want one", f)
			continue
		}
		if _, ok := err.(*Error); !ok {
			t.Errorf("Parse(%s) = %T, want *Error", f, err)
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
		t.Errorf("errors differ from %s (go test -update to accept):\n%s", golden, Diff([]byte(want), []byte(got.String())))
	}
}

func TestSettingsInvalidAction(t *testing.T) {
	tests := []struct {
		s      Settings
		source string
		want   string
	}{
		{Settings{}, SourceAPI, Reject},
		{Settings{}, SourceKubernetes, Quarantine},
		{Settings{}, "otlp", Reject},
		{Settings{Invalid: map[string]string{SourceAPI: Quarantine}}, SourceAPI, Quarantine},
		{Settings{Invalid: map[string]string{SourceKubernetes: Reject}}, SourceKubernetes, Reject},
		{(*Policy)(nil).Settings(), SourceKubernetes, Quarantine},
	}
	for _, tt := range tests {
		if got := tt.s.InvalidAction(tt.source); got != tt.want {
			t.Errorf("%+v.InvalidAction(%q) = %q, want %q", tt.s, tt.source, got, tt.want)
		}
	}
}

func TestNilPolicy(t *testing.T) {
	var p *Policy
	if p.Hash() != "" || p.Source() != nil || p.RuleNames() != nil {
		t.Errorf("nil policy: Hash() = %q, Source() = %q, RuleNames() = %q, want zero values", p.Hash(), p.Source(), p.RuleNames())
	}
	if got, want := p.Settings(), defaultSettings(); !reflect.DeepEqual(got, want) {
		t.Errorf("nil policy: Settings() = %+v, want %+v", got, want)
	}
}

// TestSettingsAccessors checks that the accessors capture calls per event
// agree with Settings, for no policy, the defaults and explicit settings.
func TestSettingsAccessors(t *testing.T) {
	for _, src := range []string{
		"",
		"settings: {unregistered_types: reject}\n",
		"settings: {invalid: {api: quarantine}}\n",
		"settings: {unregistered_types: accept, invalid: {api: quarantine, kubernetes: reject}}\n",
	} {
		p, err := Parse([]byte(src))
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		for _, pol := range []*Policy{p, nil} {
			set := pol.Settings()
			if got, want := pol.RejectsUnregistered(), set.UnregisteredTypes == Reject; got != want {
				t.Errorf("%q (nil: %v): RejectsUnregistered() = %v, settings say %q", src, pol == nil, got, set.UnregisteredTypes)
			}
			for _, source := range []string{SourceAPI, SourceKubernetes, "other"} {
				if got, want := pol.InvalidAction(source), set.InvalidAction(source); got != want {
					t.Errorf("%q (nil: %v): InvalidAction(%q) = %q, settings say %q", src, pol == nil, source, got, want)
				}
			}
		}
	}
	p, err := Parse([]byte("settings: {unregistered_types: reject, invalid: {api: quarantine}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.RejectsUnregistered() || p.InvalidAction(SourceAPI) != Quarantine || p.InvalidAction(SourceKubernetes) != Quarantine {
		t.Errorf("explicit settings: RejectsUnregistered() = %v, InvalidAction(api) = %q, InvalidAction(kubernetes) = %q",
			p.RejectsUnregistered(), p.InvalidAction(SourceAPI), p.InvalidAction(SourceKubernetes))
	}
}
