package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const cliPolicy = `# capture policy of the tenant acme
settings:
  unregistered_types: accept
rules:
  - name: drop-health
    match: {type: "system.health*"}
    level: none
  - name: logins-full
    match: {category: auth}
    level: full
  - name: cards
    match: {type: "payment.*", condition: "event.data.amount > 1000"}
    level: full
    redact: ["/data/card_number"]
  - name: default
    level: metadata
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyCommands drives the configuration commands on a data
// directory, with a server running on it, and checks that the server
// follows the changes and that the history verifies.
func TestPolicyCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary many times")
	}
	dir := t.TempDir()
	files := t.TempDir()
	pol := writeFile(t, files, "policy.yaml", cliPolicy)

	// validate: offline, exit 1 with line and column for a bad file.
	if r := mustRunBinary(t, nil, "policy", "validate", pol); !strings.Contains(r.stdout, "valid policy sha256:") {
		t.Errorf("policy validate = %s", r)
	}
	bad := writeFile(t, files, "bad.yaml", "rules:\n  - name: x\n    match: {condition: \"event.actr.id == 'a'\"}\n    level: full\n")
	if r := runBinary(t, nil, "policy", "validate", bad); r.code != exitBad || !strings.Contains(r.stderr, "bad.yaml:3:") {
		t.Errorf("policy validate of a bad file = %s, want exit 1 naming bad.yaml:3:", r)
	}

	// test: the rule and the exact entry, offline.
	login := writeFile(t, files, "card.json", `{"time":"2026-11-23T10:00:00Z","type":"payment.charge","actor":{"id":"alice"},"data":{"amount":1500,"card_number":"4111"}}`)
	r := mustRunBinary(t, nil, "policy", "test", pol, login)
	if !strings.Contains(r.stdout, `rule "cards": level full`) || !strings.Contains(r.stdout, `"/data/card_number"`) || strings.Contains(r.stdout, `"4111"`) {
		t.Errorf("policy test = %s", r)
	}

	srv := startServer(t, dir)
	defer srv.stop()
	admin := strings.TrimSpace(readFileT(t, filepath.Join(dir, bootstrapKeyFile)))
	for i := range 5 {
		srv.ingest(admin, "acme", []byte(`{"time":"2026-11-23T10:00:0`+string(rune('0'+i))+`Z","type":"data.read","actor":{"id":"bob"},"data":{"n":1}}`))
	}

	// dry run on the data directory while the server runs: nothing changes.
	r = mustRunBinary(t, nil, "policy", "apply", pol, "--data-dir", dir, "--log", "acme", "--dry-run")
	if !strings.Contains(r.stdout, "default") || !strings.Contains(r.stdout, "full     -> metadata 5") {
		t.Errorf("policy apply --dry-run = %s", r)
	}
	r = mustRunBinary(t, nil, "policy", "apply", pol, "--data-dir", dir, "--log", "acme")
	if !strings.Contains(r.stdout, "is in force") {
		t.Errorf("policy apply = %s", r)
	}
	// The server picks the change up (through its index) and applies it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := srv.ingest(admin, "acme", []byte(`{"time":"2026-11-23T11:00:00Z","type":"system.health.ping","actor":{"id":"probe"}}`))
		if len(a.Results) == 1 && a.Results[0].Captured != nil && !*a.Results[0].Captured {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not apply the policy applied on its data directory: %+v", a)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// schemas through the server API with the admin key.
	schema := writeFile(t, files, "refund.json", `{"type":"object","required":["amount"]}`)
	r = mustRunBinary(t, nil, "schemas", "put", "payment.refund", schema, "--server", srv.url, "--key", admin, "--log", "acme")
	if !strings.Contains(r.stdout, "version 1") {
		t.Errorf("schemas put = %s", r)
	}
	badSchema := writeFile(t, files, "bad.json", `{"type":"object","properties":{"a":{"minimum":"x"}}}`)
	if r := runBinary(t, nil, "schemas", "put", "payment.refund", badSchema, "--server", srv.url, "--key", admin, "--log", "acme"); r.code != exitBad || !strings.Contains(r.stderr, "/properties/a/minimum") {
		t.Errorf("schemas put of a bad schema = %s, want exit 1 naming /properties/a/minimum", r)
	}
	r = mustRunBinary(t, nil, "schemas", "list", "--data-dir", dir, "--log", "acme")
	if !strings.Contains(r.stdout, "payment.refund") {
		t.Errorf("schemas list = %s", r)
	}
	r = mustRunBinary(t, nil, "schemas", "history", "payment.refund", "--server", srv.url, "--key", admin, "--log", "acme")
	if !strings.Contains(r.stdout, "indelible.schema.registered") || !strings.Contains(r.stdout, "indelible.schema.rejected") {
		t.Errorf("schemas history = %s", r)
	}

	// policy show, and the analysis configuration, through the server and
	// on the data directory.
	for _, where := range [][]string{{"--server", srv.url, "--key", admin}, {"--data-dir", dir}} {
		r = mustRunBinary(t, nil, append([]string{"policy", "show", "--log", "acme"}, where...)...)
		if !strings.Contains(r.stdout, "# log acme, policy sha256:") || !strings.Contains(r.stdout, "logins-full") {
			t.Errorf("policy show %v = %s", where[0], r)
		}
	}
	rules := writeFile(t, files, "rules.yaml", "detectors:\n  failure_burst: {threshold: 7, window: 2m}\n")
	r = mustRunBinary(t, nil, "rules", "apply", rules, "--server", srv.url, "--key", admin, "--log", "acme")
	if !strings.Contains(r.stdout, "is in force") {
		t.Errorf("rules apply --server = %s", r)
	}
	r = mustRunBinary(t, nil, "rules", "show", "--data-dir", dir, "--log", "acme")
	if !strings.Contains(r.stdout, "threshold: 7") {
		t.Errorf("rules show --data-dir after rules apply --server = %s", r)
	}
	rules = writeFile(t, files, "rules2.yaml", "detectors:\n  failure_burst: {threshold: 9, window: 2m}\n")
	r = mustRunBinary(t, nil, "rules", "apply", rules, "--data-dir", dir, "--log", "acme")
	if !strings.Contains(r.stdout, "is in force") {
		t.Errorf("rules apply --data-dir = %s", r)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r = mustRunBinary(t, nil, "rules", "show", "--server", srv.url, "--key", admin, "--log", "acme")
		if strings.Contains(r.stdout, "threshold: 9") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules show --server after rules apply --data-dir = %s", r)
		}
	}
	srv.stop()

	// history: verified, with the level of a rule per policy version.
	r = mustRunBinary(t, nil, "policy", "history", "--data-dir", dir, "--log", "acme", "--rule", "logins-full")
	if !strings.Contains(r.stdout, "indelible.policy.activated") || !strings.Contains(r.stdout, "full") || !strings.Contains(r.stdout, "verified") {
		t.Errorf("policy history = %s", r)
	}
	r = mustRunBinary(t, nil, "policy", "history", "--data-dir", dir, "--log", "acme", "--json")
	var first struct {
		Type  string `json:"type"`
		Actor string `json:"actor"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &first); err != nil || first.Type != "indelible.policy.activated" || !strings.HasPrefix(first.Actor, "cli:") {
		t.Errorf("policy history --json first line = %+v (%v)", first, err)
	}
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
