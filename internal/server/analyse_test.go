package server

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/findings"
	"github.com/a24ba333/indelible/internal/query"
)

// TestQueryExpressions pages through q= expressions, with every page
// size, and compares with the expression evaluated on every entry.
func TestQueryExpressions(t *testing.T) {
	e := queryEnv(t, envOptions{})
	for _, expr := range []string{
		"type:auth.*",
		"outcome:failure actor.id:user-3",
		"data.n>30",
		"data.n>30 AND NOT type:auth.*",
		"actor.id:user-1 OR actor.id:user-2",
		"resource.type:invoice data.n<=20",
		"time>=2026-11-23T05:00:00Z time<2026-11-23T08:00:00Z",
		"-outcome:success category:data",
		"login",
		"type:auth.login",
		"actor.id:user-1 actor.id:user-2",
	} {
		x, err := query.Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		want := e.want(t, func(en *event.Entry) bool { return query.Match(x, en, 0) })
		for _, limit := range []int{1, 3, 1000} {
			got := e.queryAll(t, "q="+url.QueryEscape(expr), limit)
			if !slices.Equal(got, want) {
				t.Errorf("GET /v1/events?q=%s (limit %d) = %v, want %v", expr, limit, got, want)
			}
		}
	}
	// A parameter and an expression are ANDed.
	got := e.queryAll(t, "type=auth.&q="+url.QueryEscape("outcome:failure"), 1000)
	want := e.want(t, func(en *event.Entry) bool { return strings.HasPrefix(en.Type, "auth.") && en.Outcome == "failure" })
	if !slices.Equal(got, want) {
		t.Errorf("type= and q= = %v, want %v", got, want)
	}
	// A syntax error names the column.
	resp, body := e.do(t, request{method: "GET", path: "/v1/events?q=" + url.QueryEscape("actor.id:x AND (type:a"), token: e.tokens[own+"-reader"]})
	var eb errorBody
	json.Unmarshal(body, &eb)
	if resp.StatusCode != 400 || len(eb.Details) != 1 || eb.Details[0].Column == 0 || eb.Details[0].Path != "q" {
		t.Errorf("bad q = %d %s, want 400 with the column", resp.StatusCode, body)
	}
}

// TestStats compares GET /v1/stats with counts of the entries.
func TestStats(t *testing.T) {
	e := queryEnv(t, envOptions{})
	type ans struct {
		Buckets []struct {
			Start  *time.Time   `json:"start"`
			Counts []valueCount `json:"counts"`
		} `json:"buckets"`
		Totals []valueCount `json:"totals"`
		Total  uint64       `json:"total"`
	}
	for _, tt := range []struct {
		params string
		keep   func(*event.Entry) bool
		value  func(*event.Entry) string
		hour   bool
	}{
		{"by=type", func(*event.Entry) bool { return true }, func(en *event.Entry) string { return en.Type }, false},
		{"by=outcome&interval=1h", func(*event.Entry) bool { return true }, outcomeOf, true},
		{"by=actor&q=" + url.QueryEscape("type:auth.*"), func(en *event.Entry) bool { return strings.HasPrefix(en.Type, "auth.") },
			func(en *event.Entry) string { return en.Actor.ID }, false},
		{"by=actor.id&interval=1h&q=" + url.QueryEscape("data.n>=20"), func(en *event.Entry) bool {
			n, ok := en.Data["n"].(json.Number)
			v, _ := n.Int64()
			return ok && v >= 20
		}, func(en *event.Entry) string { return en.Actor.ID }, true},
		{"by=data.n&q=" + url.QueryEscape("actor.id:user-2"), func(en *event.Entry) bool { return en.Actor.ID == "user-2" },
			func(en *event.Entry) string { return string(en.Data["n"].(json.Number)) }, false},
	} {
		resp, body := e.do(t, request{method: "GET", path: "/v1/stats?top=1000&" + tt.params, token: e.tokens[own+"-reader"]})
		var a ans
		if err := json.Unmarshal(body, &a); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /v1/stats?%s = %d %s", tt.params, resp.StatusCode, body)
		}
		want := map[string]uint64{}
		var total uint64
		for _, x := range e.entries(t, own) {
			if !tt.keep(x.e) {
				continue
			}
			k := tt.value(x.e)
			if tt.hour {
				k = x.e.Time.Truncate(time.Hour).Format(time.RFC3339) + " " + k
			}
			want[k]++
			total++
		}
		got := map[string]uint64{}
		for _, b := range a.Buckets {
			for _, c := range b.Counts {
				k := c.Value
				if tt.hour {
					k = b.Start.Format(time.RFC3339) + " " + k
				}
				got[k] += c.Count
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || a.Total != total {
			t.Errorf("GET /v1/stats?%s = %v (total %d), want %v (total %d)", tt.params, got, a.Total, want, total)
		}
	}
	resp, body := e.do(t, request{method: "GET", path: "/v1/stats?by=bogus.field", token: e.tokens[own+"-reader"]})
	if resp.StatusCode != 400 {
		t.Errorf("by an unknown field = %d %s, want 400", resp.StatusCode, body)
	}
	resp, body = e.do(t, request{method: "GET", path: "/v1/stats?by=type", token: e.tokens[own+"-writer"]})
	if resp.StatusCode != 403 {
		t.Errorf("stats with a writer key = %d %s, want 403", resp.StatusCode, body)
	}
}

// TestFindingsAPI lists findings recorded in the log, with filters and
// roles.
func TestFindingsAPI(t *testing.T) {
	e := queryEnv(t, envOptions{})
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var evs []*event.Event
	for i, sev := range []string{"high", "low", "critical"} {
		evs = append(evs, findings.Event(own, uint64(i), analyze.Finding{
			Rule: fmt.Sprintf("rule-%d", i%2), Detector: "failure_burst", Severity: sev, GroupKey: fmt.Sprintf("actor:u%d", i),
			Time: base.Add(time.Duration(i) * time.Hour), Summary: "s", Evidence: []uint64{uint64(i)},
		}, ""))
	}
	if _, err := newCaptureManager(t, e.st, e.led, e.sealer, nil).State(t.Context(), own); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		en, err := e.sealer.Seal(own, ev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.led.Append(t.Context(), own, []*event.Entry{en}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitIndex(t, own)
	list := func(params string) []findings.Finding {
		t.Helper()
		resp, body := e.do(t, request{method: "GET", path: "/v1/findings?" + params, token: e.tokens[own+"-auditor"]})
		var p findingsPage
		if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /v1/findings?%s = %d %s", params, resp.StatusCode, body)
		}
		return p.Findings
	}
	if got := list(""); len(got) != 3 || got[0].Severity != "critical" || got[2].Severity != "high" {
		t.Errorf("findings = %+v, want 3, newest first", got)
	}
	if got := list("rule=rule-0"); len(got) != 2 {
		t.Errorf("rule=rule-0: %d findings, want 2", len(got))
	}
	if got := list("severity=low"); len(got) != 1 || got[0].GroupKey != "actor:u1" {
		t.Errorf("severity=low: %+v", got)
	}
	if got := list("since=" + base.Add(90*time.Minute).Format(time.RFC3339)); len(got) != 1 {
		t.Errorf("since: %d findings, want 1", len(got))
	}
	one := list("")[1]
	resp, body := e.do(t, request{method: "GET", path: "/v1/findings/" + one.ID, token: e.tokens[own+"-auditor"]})
	if resp.StatusCode != 200 || !strings.Contains(string(body), one.ID) {
		t.Errorf("GET /v1/findings/%s = %d %s", one.ID, resp.StatusCode, body)
	}
	for cred, code := range map[string]int{own + "-reader": 403, own + "-writer": 403, other + "-auditor": 403, "instance-auditor": 200, "instance-reader": 403} {
		resp, body := e.do(t, request{method: "GET", path: "/v1/findings?log=" + own, token: e.tokens[cred]})
		if resp.StatusCode != code {
			t.Errorf("GET /v1/findings with %s = %d %s, want %d", cred, resp.StatusCode, body, code)
		}
	}
	if resp, _ := e.do(t, request{method: "GET", path: "/v1/findings/nope", token: e.tokens[own+"-auditor"]}); resp.StatusCode != 404 {
		t.Errorf("unknown finding = %d, want 404", resp.StatusCode)
	}
}

// TestFindingLifecycle walks a finding through its states; every step is
// an entry, and the list filters by the folded status.
func TestFindingLifecycle(t *testing.T) {
	e := queryEnv(t, envOptions{})
	ev := findings.Event(own, 3, analyze.Finding{Rule: "failure-burst", Detector: "failure_burst", Severity: "high",
		GroupKey: "actor:u", Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Summary: "s", Evidence: []uint64{3}}, "")
	en, err := e.sealer.Seal(own, ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.led.Append(t.Context(), own, []*event.Entry{en}); err != nil {
		t.Fatal(err)
	}
	act := func(cred, action, body string) (int, findings.Finding) {
		t.Helper()
		resp, data := e.do(t, request{method: "POST", path: "/v1/findings/" + ev.ID + "/" + action, token: e.tokens[cred], body: []byte(body)})
		var f findings.Finding
		json.Unmarshal(data, &f)
		if resp.StatusCode != 200 {
			t.Logf("POST %s = %d %s", action, resp.StatusCode, data)
		}
		return resp.StatusCode, f
	}
	for _, tt := range []struct {
		cred, action, body string
		code               int
		status             string
	}{
		{own + "-reader", "ack", "", 403, ""},
		{own + "-auditor", "reopen", "", 409, ""},
		{own + "-auditor", "fix", "", 400, ""},
		{own + "-auditor", "ack", `{"note":"looking"}`, 200, "acknowledged"},
		{own + "-auditor", "ack", "", 409, ""},
		{own + "-auditor", "resolve", `{"note":"x"}`, 400, ""},
		{own + "-auditor", "resolve", `{"bogus":1}`, 400, ""},
		{own + "-admin", "resolve", `{"action_taken":"locked the account","links":["https://tickets.example/42"]}`, 200, "resolved"},
		{own + "-auditor", "reopen", `{"note":"it came back"}`, 200, "open"},
		{own + "-auditor", "dismiss", `{"reason":"a pen test","suppress_until":"2026-12-01T00:00:00Z"}`, 200, "dismissed"},
	} {
		code, f := act(tt.cred, tt.action, tt.body)
		if code != tt.code || tt.code == 200 && f.Status != tt.status {
			t.Errorf("%s %s %s = %d status %q, want %d %q", tt.cred, tt.action, tt.body, code, f.Status, tt.code, tt.status)
		}
	}
	e.waitIndex(t, own)
	resp, body := e.do(t, request{method: "GET", path: "/v1/findings/" + ev.ID, token: e.tokens[own+"-auditor"]})
	var f findings.Finding
	if err := json.Unmarshal(body, &f); err != nil || resp.StatusCode != 200 || f.Status != "dismissed" || len(f.History) != 4 ||
		f.History[1].Action != "locked the account" || f.History[3].SuppressUntil.IsZero() {
		t.Errorf("GET finding = %d %s", resp.StatusCode, body)
	}
	for status, n := range map[string]int{"dismissed": 1, "open": 0} {
		resp, body := e.do(t, request{method: "GET", path: "/v1/findings?status=" + status, token: e.tokens[own+"-auditor"]})
		var p findingsPage
		if json.Unmarshal(body, &p); resp.StatusCode != 200 || len(p.Findings) != n {
			t.Errorf("GET /v1/findings?status=%s = %d %s, want %d", status, resp.StatusCode, body, n)
		}
	}
}
