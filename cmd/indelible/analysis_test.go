package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/respond"
)

// burst returns n failed logins of actor from ip, a second apart from t.
func burst(actor, ip string, t time.Time, n int) []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"time":%q,"type":"auth.login","outcome":"failure","actor":{"id":%q,"ip":%q},"source":"sso"}`,
			t.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), actor, ip)
	}
	b.WriteString("]")
	return []byte(b.String())
}

type findingLine struct {
	ID       string `json:"id"`
	Rule     string `json:"rule"`
	GroupKey string `json:"group_key"`
}

// findingsOf lists the findings of log on dir with the CLI.
func findingsOf(t *testing.T, dir, log string) []findingLine {
	t.Helper()
	r := mustRunBinary(t, nil, "findings", "list", "--data-dir", dir, "--log", log, "--json", "--limit", "1000")
	var out []findingLine
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var f findingLine
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("findings list line %q: %v", line, err)
		}
		out = append(out, f)
	}
	return out
}

// TestAnalysisEndToEnd: a server raises findings from what it ingests; a
// SIGKILL in the middle of the analysis and a restart miss none and double
// none; query and stats answer on the data directory.
func TestAnalysisEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary several times")
	}
	dir := t.TempDir()
	srv := startServer(t, dir)
	admin := strings.TrimSpace(readFileT(t, filepath.Join(dir, bootstrapKeyFile)))
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	const actors = 20
	for i := range actors {
		srv.ingest(admin, "acme", burst(fmt.Sprintf("user-%02d@example.com", i), fmt.Sprintf("198.51.100.%d", i+1), base.Add(time.Duration(i)*time.Hour), 12))
		if i == actors/2 {
			// Kill the server in the middle of its work: the analysis
			// state on disk is older than the findings it recorded.
			srv.cmd.Process.Kill()
			<-srv.done
			srv.done <- nil
			srv = startServer(t, dir)
		}
	}
	want := 2 * actors // a burst per actor and per IP
	deadline := time.Now().Add(30 * time.Second)
	var got []findingLine
	for {
		got = findingsOf(t, dir, "acme")
		if len(got) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	srv.stop()
	seen := map[string]int{}
	for _, f := range got {
		seen[f.Rule+" "+f.GroupKey]++
	}
	for i := range actors {
		for _, k := range []string{
			fmt.Sprintf("failure-burst actor:user-%02d@example.com", i),
			fmt.Sprintf("failure-burst ip:198.51.100.%d", i+1),
		} {
			if seen[k] != 1 {
				t.Errorf("finding %q raised %d times, want once", k, seen[k])
			}
		}
	}
	if len(got) != want {
		t.Errorf("%d findings, want %d: %+v", len(got), want, got)
	}
	// The log still verifies, findings included.
	if r := runBinary(t, nil, "verify", "--data-dir", dir); r.code != 0 {
		t.Errorf("verify after the analysis: %s", r)
	}
	r := mustRunBinary(t, nil, "query", "outcome:failure actor.id:user-03@example.com", "--data-dir", dir, "--log", "acme", "--json")
	if n := strings.Count(r.stdout, "\n"); n != 12 {
		t.Errorf("query printed %d entries, want 12:\n%s", n, r.stdout)
	}
	r = mustRunBinary(t, nil, "stats", "type:auth.*", "--by", "outcome", "--data-dir", dir, "--log", "acme")
	if !strings.Contains(r.stdout, fmt.Sprintf("failure  %d", 12*actors)) {
		t.Errorf("stats = %s", r.stdout)
	}
	if r := runBinary(t, nil, "query", "actor.id:(", "--data-dir", dir, "--log", "acme"); r.code == 0 || !strings.Contains(r.stderr, "column") {
		t.Errorf("query with a syntax error = %s, want a failure naming the column", r)
	}
	// A person resolves a finding; resolving it again is refused.
	id := got[0].ID
	r = mustRunBinary(t, nil, "findings", "resolve", id, "--taken", "reset the password", "--link", "https://tickets.example/7", "--data-dir", dir, "--log", "acme")
	if !strings.Contains(r.stdout, "is now resolved") {
		t.Errorf("findings resolve = %s", r)
	}
	if r := runBinary(t, nil, "findings", "resolve", id, "--taken", "again", "--data-dir", dir, "--log", "acme"); r.code == 0 || !strings.Contains(r.stderr, "409") {
		t.Errorf("resolving twice = %s, want a 409", r)
	}
	// A review of the period, in Markdown and HTML.
	period := []string{"--data-dir", dir, "--log", "acme", "--from", "2026-11-23T00:00:00Z", "--to", "2026-11-25T00:00:00Z"}
	r = mustRunBinary(t, nil, append([]string{"report"}, period...)...)
	for _, want := range []string{"# Review of log `acme`", "## 2. Failure rate", "## 4. Findings", "failure-burst", "## 8. Verification state"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	html := filepath.Join(t.TempDir(), "review.html")
	mustRunBinary(t, nil, append([]string{"report", "--format", "html", "--out", html}, period...)...)
	if page := readFileT(t, html); !strings.Contains(page, "<svg") || strings.Contains(page, "<script") {
		t.Errorf("the HTML report has no chart, or a script")
	}
	r = mustRunBinary(t, nil, "findings", "list", "--status", "resolved", "--data-dir", dir, "--log", "acme", "--json")
	if n := strings.Count(r.stdout, "\n"); n != 1 || !strings.Contains(r.stdout, "reset the password") {
		t.Errorf("resolved findings = %s", r.stdout)
	}
}

// TestAlertWebhook: a finding reaches a webhook with a valid signature,
// and the delivery shows on the finding.
func TestAlertWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	secret := "a-webhook-secret-of-some-length"
	got := make(chan []byte, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := respond.VerifySignature([]byte(secret), r.Header.Get(respond.HeaderTimestamp), r.Header.Get(respond.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		got <- body
	}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := writeFile(t, t.TempDir(), "alerts.yaml", fmt.Sprintf(`sinks:
  - name: soc
    type: webhook
    url: %s/hook
    secret_env: TEST_HOOK_SECRET
routes:
  - match: {severity: [high, critical]}
    sinks: [soc]
`, hook.URL))
	t.Setenv("TEST_HOOK_SECRET", secret)
	srv := startServer(t, dir, "--alerts", cfg)
	admin := strings.TrimSpace(readFileT(t, filepath.Join(dir, bootstrapKeyFile)))
	srv.ingest(admin, "acme", burst("mallory@example.com", "198.51.100.66", time.Date(2026, 11, 23, 3, 0, 0, 0, time.UTC), 12))
	var msg struct {
		Type    string `json:"type"`
		Log     string `json:"log"`
		Finding struct {
			ID       string `json:"id"`
			Rule     string `json:"rule"`
			Severity string `json:"severity"`
		} `json:"finding"`
	}
	// The first calls may be about the bootstrap key (a sensitive action in
	// _system); wait for the burst's.
	timeout := time.After(20 * time.Second)
	for msg.Log != "acme" {
		select {
		case body := <-got:
			if err := json.Unmarshal(body, &msg); err != nil {
				t.Fatalf("webhook body %s: %v", body, err)
			}
		case <-timeout:
			t.Fatalf("no webhook call about acme 20s after the burst\n%s", srv.stderr)
		}
	}
	if msg.Type != "finding.opened" || msg.Finding.Rule != "failure-burst" || msg.Finding.Severity != "high" {
		t.Errorf("webhook message %+v, want a high failure-burst finding", msg)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := mustRunBinary(t, nil, "findings", "list", "--server", srv.url, "--key", admin, "--log", "acme", "--json")
		if strings.Contains(r.stdout, `"outcome":"delivered"`) && strings.Contains(r.stdout, `"sink":"soc"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery does not show on the finding: %s", r.stdout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
