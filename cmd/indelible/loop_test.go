package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/respond"
)

// TestFeedbackLoop drives the whole loop on the real binary: traffic with
// an incident, a finding, a signed webhook, a resolution; then the
// incident goes on for one actor (verdict recurred, the finding reopens)
// and stops for another (verdict effective). Follow-up runs on event time.
func TestFeedbackLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	secret := "a-webhook-secret-of-some-length"
	var (
		mu    sync.Mutex
		hooks []string // log/group keys of the findings received
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := respond.VerifySignature([]byte(secret), r.Header.Get(respond.HeaderTimestamp), r.Header.Get(respond.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		var m struct {
			Log     string `json:"log"`
			Finding struct {
				GroupKey string `json:"group_key"`
			} `json:"finding"`
		}
		json.Unmarshal(body, &m)
		mu.Lock()
		hooks = append(hooks, m.Log+"/"+m.Finding.GroupKey)
		mu.Unlock()
	}))
	defer hook.Close()
	cfg := writeFile(t, t.TempDir(), "alerts.yaml", fmt.Sprintf("sinks:\n  - {name: soc, type: webhook, url: %s, secret: %s}\nroutes:\n  - sinks: [soc]\n", hook.URL, secret))
	dir := t.TempDir()
	srv := startServer(t, dir, "--alerts", cfg, "--follow-up", "1h")
	admin := strings.TrimSpace(readFileT(t, filepath.Join(dir, bootstrapKeyFile)))
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	srv.ingest(admin, "acme", burst("alice@example.com", "198.51.100.1", base, 12))
	srv.ingest(admin, "acme", burst("bob@example.com", "198.51.100.2", base, 12))

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n%s", what, srv.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	type finding struct {
		ID       string `json:"id"`
		GroupKey string `json:"group_key"`
		Status   string `json:"status"`
		Verdicts []struct {
			Verdict string `json:"verdict"`
		} `json:"verdicts"`
	}
	list := func() map[string]finding {
		code, b, _ := srv.do("GET", "/v1/findings?log=acme&limit=100", admin, "", nil)
		var p struct{ Findings []finding }
		if code != 200 || json.Unmarshal(b, &p) != nil {
			t.Fatalf("GET /v1/findings = %d %s", code, b)
		}
		out := map[string]finding{}
		for _, f := range p.Findings {
			out[f.GroupKey] = f
		}
		return out
	}
	waitFor("the two actors' findings", func() bool {
		f := list()
		return f["actor:alice@example.com"].ID != "" && f["actor:bob@example.com"].ID != ""
	})
	waitFor("their webhooks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, h := range hooks {
			if h == "acme/actor:alice@example.com" || h == "acme/actor:bob@example.com" {
				n++
			}
		}
		return n == 2
	})
	for _, who := range []string{"alice@example.com", "bob@example.com"} {
		code, b, _ := srv.do("POST", "/v1/findings/"+list()["actor:"+who].ID+"/resolve?log=acme", admin, "application/json",
			[]byte(`{"action_taken":"reset the password and blocked the address"}`))
		if code != 200 {
			t.Fatalf("resolve %s = %d %s", who, code, b)
		}
	}
	// alice's attacker comes back within the hour; bob just logs in; then
	// the log's clock moves two hours on.
	srv.ingest(admin, "acme", burst("alice@example.com", "198.51.100.1", base.Add(20*time.Minute), 12))
	srv.ingest(admin, "acme", []byte(fmt.Sprintf(`[{"time":%q,"type":"auth.login","outcome":"success","actor":{"id":"bob@example.com"},"source":"sso"},
		{"time":%q,"type":"data.read","actor":{"id":"carol@example.com"},"source":"app"}]`,
		base.Add(30*time.Minute).Format(time.RFC3339), base.Add(3*time.Hour).Format(time.RFC3339))))
	waitFor("the verdicts", func() bool {
		f := list()
		return len(f["actor:alice@example.com"].Verdicts) == 1 && len(f["actor:bob@example.com"].Verdicts) == 1
	})
	f := list()
	if a := f["actor:alice@example.com"]; a.Verdicts[0].Verdict != "recurred" || a.Status != "open" {
		t.Errorf("alice's finding: %+v, want recurred and open again", a)
	}
	if b := f["actor:bob@example.com"]; b.Verdicts[0].Verdict != "effective" || b.Status != "resolved" {
		t.Errorf("bob's finding: %+v, want effective and resolved", b)
	}
	// The response itself is in the log, and the log verifies.
	srv.stop()
	if r := runBinary(t, nil, "verify", "--data-dir", dir); r.code != 0 {
		t.Errorf("verify: %s", r)
	}
}

// TestScheduledReview: serve writes a review of each log at the end of
// every period and announces it to the alert sinks.
func TestScheduledReview(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	got := make(chan string, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m struct {
			Finding struct{ Rule, Summary string } `json:"finding"`
		}
		json.Unmarshal(body, &m)
		if m.Finding.Rule == "review" {
			got <- m.Finding.Summary
		}
	}))
	defer hook.Close()
	cfg := writeFile(t, t.TempDir(), "alerts.yaml", fmt.Sprintf("sinks:\n  - {name: team, type: webhook, url: %s, secret: a-secret-of-sixteen-chars}\n  - {name: log, type: log}\nroutes:\n  - match: {rule: [review]}\n    sinks: [team]\n  - sinks: [log]\n", hook.URL))
	dir := t.TempDir()
	srv := startServer(t, dir, "--alerts", cfg, "--review-every", "2s")
	admin := strings.TrimSpace(readFileT(t, filepath.Join(dir, bootstrapKeyFile)))
	srv.ingest(admin, "acme", []byte(fmt.Sprintf(`{"time":%q,"type":"auth.login","outcome":"success","actor":{"id":"alice"}}`, time.Now().UTC().Format(time.RFC3339Nano))))
	var summary string
	select {
	case summary = <-got:
	case <-time.After(20 * time.Second):
		t.Fatalf("no review announced\n%s", srv.stderr)
	}
	for !strings.Contains(summary, "log acme") {
		select {
		case summary = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("no review of acme announced (last: %s)", summary)
		}
	}
	paths, _ := filepath.Glob(filepath.Join(dir, reviewsDir, "acme-*.html"))
	if len(paths) == 0 {
		t.Fatalf("no review file in %s", filepath.Join(dir, reviewsDir))
	}
	if page := readFileT(t, paths[0]); !strings.Contains(page, "<svg") {
		t.Errorf("the review has no chart")
	}
}
