package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	r = mustRunBinary(t, nil, "findings", "list", "--status", "resolved", "--data-dir", dir, "--log", "acme", "--json")
	if n := strings.Count(r.stdout, "\n"); n != 1 || !strings.Contains(r.stdout, "reset the password") {
		t.Errorf("resolved findings = %s", r.stdout)
	}
}
