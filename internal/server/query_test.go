package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// qbase is the time of the first query test event; queryNow, the server's
// clock in the query tests, is a day later.
var (
	qbase    = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	queryNow = qbase.Add(24 * time.Hour)
)

// qev returns the text of query test event i: ten minutes apart, with
// types, actors, resources and outcomes that vary with i.
func qev(i int) string {
	types := []string{"auth.login", "auth.logout", "auth.login.sso", "authz.check", "data.read", "config.policy.update"}
	outcome := []string{`"outcome":"success",`, `"outcome":"failure",`, `"outcome":"unknown",`, ``}[i%4]
	resource := ""
	if i%3 != 0 {
		resource = fmt.Sprintf(`"resource":{"type":%q,"id":"r-%d"},`, []string{"account", "invoice"}[i%2], i%4)
	}
	return fmt.Sprintf(`{"time":%q,"type":%q,%s%s"actor":{"id":"user-%d"},"data":{"n":%d}}`,
		qbase.Add(time.Duration(i)*10*time.Minute).Format(time.RFC3339Nano), types[i%len(types)], outcome, resource, i%5, i)
}

// queryEnv is a server with a query index holding 60 query test events in
// log own (after the entries that record its keys), ingested in batches.
func queryEnv(t *testing.T, opts envOptions) *testEnv {
	t.Helper()
	opts.query = true
	if opts.clock == nil {
		opts.clock = func() time.Time { return queryNow }
	}
	e := newEnv(t, opts)
	for b := 0; b < 6; b++ {
		parts := make([]string, 10)
		for i := range parts {
			parts[i] = qev(b*10 + i)
		}
		e.ingest(t, "application/json", "["+strings.Join(parts, ",")+"]")
	}
	if !opts.lazyIndex {
		e.waitIndex(t, own)
	}
	return e
}

// waitIndex waits until the query index covers every entry of log.
func (e *testEnv) waitIndex(t *testing.T, log string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.indexer.Wait(ctx, log, e.size(t, log)-1); err != nil {
		t.Fatal(err)
	}
}

// logEntry is an entry of the test log as the tests see it, decoded
// independently of the server's filters.
type logEntry struct {
	index uint64
	body  string
	e     *event.Entry
}

// entries returns every entry of log, read from the store.
func (e *testEnv) entries(t *testing.T, log string) []logEntry {
	t.Helper()
	es, err := e.st.ReadEntries(context.Background(), log, 0, math.MaxUint64)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]logEntry, len(es))
	for i, x := range es {
		ent, err := event.ParseEntry(x.Body)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = logEntry{x.Index, string(x.Body), ent}
	}
	return out
}

// eventsAnswer is the decoded answer of GET /v1/events.
type eventsAnswer struct {
	Events []struct {
		Index uint64          `json:"index"`
		Entry json.RawMessage `json:"entry"`
	} `json:"events"`
	Watermark  uint64 `json:"watermark"`
	NextCursor string `json:"next_cursor"`
}

// query sends GET /v1/events?params with token and fails unless it is
// answered 200.
func (e *testEnv) query(t *testing.T, token, params string) eventsAnswer {
	t.Helper()
	resp, body := e.do(t, request{method: http.MethodGet, path: "/v1/events?" + params, token: token})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/events?%s = %d %s, want 200", params, resp.StatusCode, body)
	}
	var a eventsAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// queryAll pages through GET /v1/events?params and returns the indexes,
// checking that each entry is the stored one.
func (e *testEnv) queryAll(t *testing.T, params string, limit int) []uint64 {
	t.Helper()
	stored := map[uint64]string{}
	for _, x := range e.entries(t, own) {
		stored[x.index] = x.body
	}
	var out []uint64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("GET /v1/events?%s: more than 1000 pages", params)
		}
		p := params + fmt.Sprintf("&limit=%d", limit)
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		a := e.query(t, e.tokens[own+"-reader"], p)
		if len(a.Events) > limit {
			t.Fatalf("GET /v1/events?%s: %d events, want at most %d", p, len(a.Events), limit)
		}
		if a.NextCursor != "" && len(a.Events) != limit {
			t.Fatalf("GET /v1/events?%s: a short page (%d) with a next cursor", p, len(a.Events))
		}
		for _, ev := range a.Events {
			if string(ev.Entry) != stored[ev.Index] {
				t.Fatalf("GET /v1/events?%s: entry %d = %s, want the stored %s", p, ev.Index, ev.Entry, stored[ev.Index])
			}
			out = append(out, ev.Index)
		}
		if a.NextCursor == "" {
			return out
		}
		cursor = a.NextCursor
	}
}

// want returns the indexes of the entries of own for which keep holds,
// newest first.
func (e *testEnv) want(t *testing.T, keep func(*event.Entry) bool) []uint64 {
	t.Helper()
	var out []uint64
	for _, x := range e.entries(t, own) {
		if keep(x.e) {
			out = append(out, x.index)
		}
	}
	slices.Reverse(out)
	return out
}

func outcomeOf(e *event.Entry) string {
	if e.Outcome == "" {
		return "unknown"
	}
	return e.Outcome
}

func resourceOf(e *event.Entry) (string, string) {
	if e.Resource == nil {
		return "", ""
	}
	return e.Resource.Type, e.Resource.ID
}

func TestQueryFilters(t *testing.T) {
	e := queryEnv(t, envOptions{})
	at := func(minutes int) time.Time { return qbase.Add(time.Duration(minutes) * time.Minute) }
	in := func(e *event.Entry, from, to time.Time) bool {
		return !e.Time.Before(from) && e.Time.Before(to)
	}
	tests := []struct {
		params string
		keep   func(*event.Entry) bool
	}{
		{"", func(*event.Entry) bool { return true }},
		{"type=auth.", func(e *event.Entry) bool { return strings.HasPrefix(e.Type, "auth.") }},
		{"type=auth.login", func(e *event.Entry) bool { return e.Type == "auth.login" || e.Type == "auth.login.sso" }},
		{"type=auth", func(e *event.Entry) bool { return strings.HasPrefix(e.Type, "auth.") }},
		{"type=authz", func(e *event.Entry) bool { return e.Type == "authz.check" }},
		{"type=auth.log", func(e *event.Entry) bool { return false }},
		{"type=indelible.key.", func(e *event.Entry) bool { return strings.HasPrefix(e.Type, "indelible.key.") }},
		{"type=config.policy.update", func(e *event.Entry) bool { return e.Type == "config.policy.update" }},
		{"actor=user-3", func(e *event.Entry) bool { return e.Actor.ID == "user-3" }},
		{"actor=nobody", func(e *event.Entry) bool { return false }},
		{"resource_type=invoice", func(e *event.Entry) bool { rt, _ := resourceOf(e); return rt == "invoice" }},
		{"resource_id=r-1", func(e *event.Entry) bool { _, id := resourceOf(e); return id == "r-1" }},
		{"outcome=success", func(e *event.Entry) bool { return outcomeOf(e) == "success" }},
		{"outcome=failure", func(e *event.Entry) bool { return outcomeOf(e) == "failure" }},
		{"outcome=unknown", func(e *event.Entry) bool { return outcomeOf(e) == "unknown" }},
		{"from=2026-11-23T01:00:00Z", func(e *event.Entry) bool { return !e.Time.Before(at(60)) }},
		{"to=2026-11-23T01:00:00Z", func(e *event.Entry) bool { return e.Time.Before(at(60)) }},
		{"from=2026-11-23T01:00:00Z&to=2026-11-23T02:30:00.000Z", func(e *event.Entry) bool { return in(e, at(60), at(150)) }},
		{"from=2026-11-23T02:00:00%2B01:00&to=2026-11-23T02:30:00+01:00", func(e *event.Entry) bool { return in(e, at(60), at(90)) }},
		// The clock is queryNow, a day after qbase.
		{"from=-23h&to=-22h30m", func(e *event.Entry) bool { return in(e, at(60), at(90)) }},
		{"from=-1d&to=now", func(e *event.Entry) bool { return in(e, at(0), at(24*60)) }},
		{"to=-1w", func(e *event.Entry) bool { return e.Time.Before(queryNow.Add(-7 * 24 * time.Hour)) }},
		{"type=auth.&outcome=failure&actor=user-1", func(e *event.Entry) bool {
			return strings.HasPrefix(e.Type, "auth.") && outcomeOf(e) == "failure" && e.Actor.ID == "user-1"
		}},
		{"resource_type=account&resource_id=r-1&from=2026-11-23T03:00:00Z", func(e *event.Entry) bool {
			rt, id := resourceOf(e)
			return rt == "account" && id == "r-1" && !e.Time.Before(at(180))
		}},
		{"type=data.read&actor=user-4&outcome=success&resource_type=account&to=2026-11-24T00:00:00Z", func(e *event.Entry) bool {
			rt, _ := resourceOf(e)
			return e.Type == "data.read" && e.Actor.ID == "user-4" && outcomeOf(e) == "success" && rt == "account" && e.Time.Before(at(24*60))
		}},
		{"actor=&type=", func(*event.Entry) bool { return true }}, // empty parameters are absent
	}
	for _, tt := range tests {
		t.Run(tt.params, func(t *testing.T) {
			want := e.want(t, tt.keep)
			for _, limit := range []int{1000, 7} {
				got := e.queryAll(t, tt.params, limit)
				if !slices.Equal(got, want) {
					t.Errorf("GET /v1/events?%s&limit=%d = %v, want %v", tt.params, limit, got, want)
				}
			}
		})
	}
}

func TestQueryPaging(t *testing.T) {
	e := queryEnv(t, envOptions{})
	size := e.size(t, own)
	a := e.query(t, e.tokens[own+"-reader"], "")
	if a.Watermark != size {
		t.Errorf("watermark = %d, want the log size %d", a.Watermark, size)
	}
	if len(a.Events) != defaultQueryLimit && uint64(len(a.Events)) != size {
		t.Errorf("default page: %d events, want %d", len(a.Events), min(size, defaultQueryLimit))
	}
	for _, limit := range []int{1, 2, 3, 10, int(size) - 1, int(size), int(size) + 1} {
		got := e.queryAll(t, "", limit)
		want := make([]uint64, 0, size)
		for i := int(size) - 1; i >= 0; i-- {
			want = append(want, uint64(i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("paging with limit %d = %v, want every index newest first %v", limit, got, want)
		}
	}

	// Pages stay put while the log grows.
	first := e.query(t, e.tokens[own+"-reader"], "limit=5")
	res := e.ingest(t, "application/json", qev(100))
	second := e.query(t, e.tokens[own+"-reader"], fmt.Sprintf("limit=5&min_index=%d&cursor=%s", res.Results[0].Index, first.NextCursor))
	if got, want := second.Events[0].Index, first.Events[4].Index-1; got != want {
		t.Errorf("after an ingest, the second page starts at %d, want %d", got, want)
	}
	if second.Watermark != size+1 {
		t.Errorf("watermark after an ingest = %d, want %d", second.Watermark, size+1)
	}
}

func TestQueryMinIndex(t *testing.T) {
	e := queryEnv(t, envOptions{lazyIndex: true, limits: Limits{MaxIndexWait: 300 * time.Millisecond}})
	reader := e.tokens[own+"-reader"]
	for i := range 3 {
		res := e.ingest(t, "application/json", `{"time":"2026-11-23T12:00:00Z","type":"ryw.check","actor":{"id":"ryw"},"data":{"i":`+fmt.Sprint(i)+`}}`)
		index := res.Results[0].Index
		// The lazy indexer indexes only for queries that wait.
		if a := e.query(t, reader, "actor=ryw"); a.Watermark > index {
			t.Fatalf("without min_index the lazy index covers %d, want at most %d", a.Watermark, index)
		}
		a := e.query(t, reader, fmt.Sprintf("actor=ryw&min_index=%d", index))
		if a.Watermark <= index || len(a.Events) != i+1 || a.Events[0].Index != index {
			t.Fatalf("GET /v1/events?actor=ryw&min_index=%d = watermark %d, %d events, want the event %d first of %d", index, a.Watermark, len(a.Events), index, i+1)
		}
	}

	size := e.size(t, own)
	start := time.Now()
	resp, body := e.do(t, request{method: http.MethodGet, path: fmt.Sprintf("/v1/events?min_index=%d", size), token: reader})
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(body), "lags") {
		t.Errorf("GET /v1/events?min_index=%d (beyond the log) = %d Retry-After %q %s, want 503 with Retry-After 1 saying the index lags",
			size, resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("the min_index wait took %v, want about MaxIndexWait (300ms)", d)
	}
}

func TestQueryDisabled(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := e.do(t, request{method: http.MethodGet, path: "/v1/events", token: e.tokens[own+"-reader"]})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "query index disabled") {
		t.Errorf("GET /v1/events without an index = %d %s, want 503 query index disabled", resp.StatusCode, body)
	}
	e = queryEnv(t, envOptions{noFollower: true})
	resp, body = e.do(t, request{method: http.MethodGet, path: "/v1/events?min_index=1", token: e.tokens[own+"-reader"]})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "min_index") {
		t.Errorf("GET /v1/events?min_index=1 without a follower = %d %s, want 400 naming min_index", resp.StatusCode, body)
	}
	e.query(t, e.tokens[own+"-reader"], "actor=user-1")
}

func TestQueryBadParameters(t *testing.T) {
	e := queryEnv(t, envOptions{})
	tests := []struct{ params, name string }{
		{"query=type:auth", "query"},
		{"q=actor.id:", "q"},
		{"bogus=1", "bogus"},
		{"from=yesterday", "from"},
		{"from=2026-11-23", "from"},
		{"to=-24", "to"},
		{"to=-1y", "to"},
		{"to=-99999999999999d", "to"},
		{"from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z", "from"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=ten", "limit"},
		{"limit=-1", "limit"},
		{"cursor=0", "cursor"},
		{"cursor=abc", "cursor"},
		{"outcome=maybe", "outcome"},
		{"min_index=-1", "min_index"},
		{"actor=a&actor=b", "actor"},
		{"log=" + own + "&log=" + own, "log"},
	}
	for _, tt := range tests {
		resp, body := e.do(t, request{method: http.MethodGet, path: "/v1/events?" + tt.params, token: e.tokens[own+"-reader"]})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tt.name) {
			t.Errorf("GET /v1/events?%s = %d %s, want 400 naming %s", tt.params, resp.StatusCode, body, tt.name)
		}
	}
	resp, body := e.do(t, request{method: http.MethodGet, path: "/v1/events", token: e.tokens["instance-reader"]})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "log") {
		t.Errorf("GET /v1/events with an instance key and no log = %d %s, want 400", resp.StatusCode, body)
	}
	resp, body = e.do(t, request{method: http.MethodGet, path: "/v1/events?log=a/b", token: e.tokens["instance-reader"]})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /v1/events?log=a/b = %d %s, want 400", resp.StatusCode, body)
	}
}

func TestQueryAuth(t *testing.T) {
	e := queryEnv(t, envOptions{})
	tests := []struct {
		cred   string
		params string
		code   int
	}{
		{"", "", http.StatusUnauthorized},
		{"revoked", "", http.StatusUnauthorized},
		{own + "-writer", "", http.StatusForbidden},
		{"instance-writer", "log=" + own, http.StatusForbidden},
		{other + "-reader", "log=" + own, http.StatusForbidden},
		{other + "-admin", "log=" + own, http.StatusForbidden},
		{other + "-reader", "", http.StatusOK}, // its own log
		{own + "-reader", "", http.StatusOK},
		{own + "-reader", "log=" + own, http.StatusOK},
		{own + "-auditor", "", http.StatusOK},
		{own + "-admin", "", http.StatusOK},
		{"instance-reader", "log=" + own, http.StatusOK},
		{"instance-admin", "log=" + other, http.StatusOK},
	}
	for _, tt := range tests {
		resp, body := e.do(t, request{method: http.MethodGet, path: "/v1/events?" + tt.params, token: e.tokens[tt.cred]})
		if resp.StatusCode != tt.code {
			t.Errorf("GET /v1/events?%s with %q = %d %s, want %d", tt.params, tt.cred, resp.StatusCode, body, tt.code)
		}
	}
	// A tenant key reads its own log only.
	a := e.query(t, e.tokens[other+"-reader"], "")
	for _, ev := range a.Events {
		var ent struct{ Log string }
		if err := json.Unmarshal(ev.Entry, &ent); err != nil || ent.Log != other {
			t.Errorf("GET /v1/events with a %s key answered entry %d of log %q", other, ev.Index, ent.Log)
		}
	}
}

func TestQueryLagMetric(t *testing.T) {
	e := queryEnv(t, envOptions{lazyIndex: true})
	size := e.size(t, own)
	lag := func() string {
		t.Helper()
		resp, body := e.do(t, request{method: http.MethodGet, path: "/metrics"})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics = %d", resp.StatusCode)
		}
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, `indelible_index_lag_entries{log="`+own+`"}`) {
				return strings.Fields(line)[1]
			}
		}
		t.Fatalf("GET /metrics has no index lag for %s:\n%s", own, body)
		return ""
	}
	if got := lag(); got == "0" {
		t.Errorf("index lag before any query = %s, want above 0 (the lazy index has not read the 60 events)", got)
	}
	e.query(t, e.tokens[own+"-reader"], fmt.Sprintf("min_index=%d", size-1))
	if got := lag(); got != "0" {
		t.Errorf("index lag after a query that waited for the head = %s, want 0", got)
	}
}

func TestParseRelative(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"-24h", 24 * time.Hour, true},
		{"-1h30m", 90 * time.Minute, true},
		{"-7d", 7 * 24 * time.Hour, true},
		{"-2w", 14 * 24 * time.Hour, true},
		{"-500ms", 500 * time.Millisecond, true},
		{"-1d12h", 36 * time.Hour, true},
		{"-0s", 0, true},
		{"-90s", 90 * time.Second, true},
		{"-1m1ms", time.Minute + time.Millisecond, true},
		{"-106751d", 106751 * 24 * time.Hour, true},
		{"-106752d", 0, false}, // beyond time.Duration
		{"-9223372036854775808ms", 0, false},
		{"-99999999999999999999h", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"24h", 0, false},
		{"+24h", 0, false},
		{"-24", 0, false},
		{"-h", 0, false},
		{"-1.5h", 0, false},
		{"-1y", 0, false},
		{"-1H", 0, false},
		{"-1h-2m", 0, false},
		{"-1 h", 0, false},
		{"--1h", 0, false},
		{"-1us", 0, false},
	}
	for _, tt := range tests {
		got, err := parseRelative(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseRelative(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseTimeBound(t *testing.T) {
	now := time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"now", now, true},
		{"-24h", now.Add(-24 * time.Hour), true},
		{"2026-11-23T19:40:00Z", now, true},
		{"2026-11-23T19:40:00.123Z", now.Add(123 * time.Millisecond), true},
		{"2026-11-23T20:40:00+01:00", now, true},
		{"2026-11-23T20:40:00 01:00", now, true}, // an unescaped "+"
		{"2026-11-23T18:40:00-01:00", now, true},
		{"2026-11-23", time.Time{}, false},
		{"2026-11-23 19:40:00Z", time.Time{}, false},
		{"Now", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"1732390800", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseTimeBound(tt.in, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseTimeBound(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseTimeBound checks that parsing never panics, that relative
// times are never in the future, and that relative times written with the
// units of time.ParseDuration mean what ParseDuration says.
func FuzzParseTimeBound(f *testing.F) {
	for _, s := range []string{"now", "-24h", "-1h30m", "-7d", "-2w", "-500ms", "-0s", "-106752d", "-1.5h", "-1h-2m",
		"2026-11-23T19:40:00Z", "2026-11-23T20:40:00+01:00", "2026-11-23T20:40:00 01:00", "", "-", "--1h", "-9223372036854775807ms"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTimeBound(s, now)
		if err != nil || !strings.HasPrefix(s, "-") {
			return
		}
		if got.After(now) {
			t.Fatalf("parseTimeBound(%q) = %v, after now %v", s, got, now)
		}
		d, err := parseRelative(s)
		if err != nil || d < 0 || !got.Equal(now.Add(-d)) {
			t.Fatalf("parseRelative(%q) = %v, %v; parseTimeBound = %v", s, d, err, got)
		}
		if strings.ContainsAny(s, "dw") {
			return
		}
		std, err := time.ParseDuration(s)
		if err != nil || std != -d {
			t.Fatalf("parseRelative(%q) = %v, but time.ParseDuration = %v, %v", s, d, std, err)
		}
	})
}
