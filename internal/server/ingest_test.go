package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/ledger"
)

const ndjson = "application/x-ndjson"

func TestIngestFormats(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name        string
		contentType string
		body        string
		n           int
	}{
		{"single", "application/json", ev("single-0", 0), 1},
		{"single without content type", "", ev("", 1), 1},
		{"array", "application/json", evs("array", 0, 5, false), 5},
		{"array with spaces", "application/json; charset=utf-8", " \n" + evs("", 0, 3, false) + "\n", 3},
		{"ndjson", ndjson, evs("nd", 0, 4, true), 4},
		{"ndjson with crlf and blank lines", ndjson + "; charset=utf-8", "\r\n" + strings.ReplaceAll(evs("crlf", 0, 3, true), "\n", "\r\n\r\n"), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.size(t, own)
			out := e.ingest(t, tt.contentType, tt.body)
			if len(out.Results) != tt.n {
				t.Fatalf("%d results, want %d", len(out.Results), tt.n)
			}
			cp := e.open(t, own, out.Checkpoint)
			for i, r := range out.Results {
				if r.Index != before+uint64(i) || r.Duplicate || r.ID == "" || len(r.LeafHash) != 32 {
					t.Errorf("result %d = %+v, want index %d, an id and a leaf hash", i, r, before+uint64(i))
				}
				if r.Index >= cp.Size {
					t.Errorf("result %d has index %d, not in the checkpoint of size %d", i, r.Index, cp.Size)
				}
			}
			if got := e.size(t, own); got != before+uint64(tt.n) {
				t.Errorf("log size %d, want %d", got, before+uint64(tt.n))
			}
		})
	}
}

func TestIngestIdempotent(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, nd := range []bool{false, true} {
		t.Run(fmt.Sprint("ndjson=", nd), func(t *testing.T) {
			ct := "application/json"
			if nd {
				ct = ndjson
			}
			prefix := fmt.Sprint("retry-", nd)
			first := e.ingest(t, ct, evs(prefix, 0, 3, nd))
			size := e.size(t, own)
			again := e.ingest(t, ct, evs(prefix, 0, 3, nd))
			if got := e.size(t, own); got != size {
				t.Errorf("log size %d after the retry, want %d", got, size)
			}
			for i := range first.Results {
				want := first.Results[i]
				want.Duplicate = true
				if got := again.Results[i]; got.ID != want.ID || got.Index != want.Index || string(got.LeafHash) != string(want.LeafHash) || !got.Duplicate {
					t.Errorf("retried result %d = %+v, want %+v", i, got, want)
				}
			}
			// A batch mixing known and new events commits only the new ones.
			mixed := e.ingest(t, ct, evs(prefix, 2, 2, nd))
			if !mixed.Results[0].Duplicate || mixed.Results[1].Duplicate || mixed.Results[1].Index != size {
				t.Errorf("mixed results = %+v, want a duplicate then index %d", mixed.Results, size)
			}
		})
	}
}

func TestIngestConflict(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ingest(t, "", ev("c1", 1))
	size := e.size(t, own)
	for _, body := range []string{
		ev("c1", 2),
		"[" + ev("c2", 3) + "," + ev("c1", 4) + "]",
	} {
		resp, data := e.do(t, request{method: "POST", path: "/v1/events", token: e.tokens[own+"-writer"], body: []byte(body)})
		var eb errorBody
		if err := json.Unmarshal(data, &eb); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusConflict || eb.ID != "c1" {
			t.Errorf("POST %s = %d %s, want 409 for id c1", body, resp.StatusCode, data)
		}
		if got := e.size(t, own); got != size {
			t.Errorf("log size %d after a conflict, want %d", got, size)
		}
	}
}

func deep(n int) string {
	return `{"time":"2026-11-23T19:40:00Z","type":"a.b","actor":{"id":"x"},"data":` + strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) + "}"
}

func TestIngestRejects(t *testing.T) {
	e := newEnv(t, envOptions{limits: Limits{MaxEventBytes: 1024, MaxBodyBytes: 16 << 10, MaxBatchEvents: 5}})
	big := strings.Replace(ev("big", 9), `"outcome"`, `"message":"`+strings.Repeat("m", 1100)+`","outcome"`, 1)
	good := ev("", 1)
	tests := []struct {
		name        string
		contentType string
		body        string
		code        int
		want        []detail // items and paths checked, messages not
	}{
		{"malformed JSON", "", `{"time":`, 400, nil},
		{"malformed item", "", "[" + good + `, {"type": }]`, 400, []detail{{Item: 1, Path: "/type"}}},
		{"trailing garbage", "", "[" + good + "] x", 400, nil},
		{"not JSON at all", "", "hello", 400, nil},
		{"duplicate keys", "", `{"type":"a.b","type":"a.c","time":"2026-11-23T19:40:00Z","actor":{"id":"x"}}`, 400, []detail{{Item: 0, Path: "/type"}}},
		{"invalid UTF-8", "", `{"type":"a.b","time":"2026-11-23T19:40:00Z","actor":{"id":"x` + "\xff" + `"}}`, 400, []detail{{Item: 0, Path: "/actor/id"}}},
		{"deep nesting", "", deep(40), 400, nil},
		{"huge number", "", `{"type":"a.b","time":"2026-11-23T19:40:00Z","actor":{"id":"x"},"data":{"n":1e400}}`, 400, []detail{{Item: 0, Path: "/data/n"}}},
		{"empty array", "", "[]", 400, nil},
		{"empty body", "", "", 400, nil},
		{"empty NDJSON", ndjson, "\n\n", 400, nil},
		{"wrong types", "", `{"type":5,"time":"2026-11-23T19:40:00Z","actor":"x"}`, 422, []detail{{Item: 0, Path: "/type"}, {Item: 0, Path: "/actor"}}},
		{"not an object", "", `"hello"`, 422, []detail{{Item: 0, Path: ""}}},
		{"unknown field", "", strings.Replace(good, `"type"`, `"colour":"red","type"`, 1), 422, []detail{{Item: 0, Path: "/colour"}}},
		{"missing fields", "", `{"type":"a.b"}`, 422, []detail{{Item: 0, Path: "/actor"}, {Item: 0, Path: "/time"}}},
		{"reserved category", "", strings.Replace(good, "auth.login", "indelible.key.created", 1), 422, []detail{{Item: 0, Path: "/type"}}},
		{"several bad items", "", "[" + `{"type":"a.b"}` + "," + good + "," + strings.Replace(good, `"actor"`, `"actr"`, 1) + "]", 422,
			[]detail{{Item: 0, Path: "/actor"}, {Item: 0, Path: "/time"}, {Item: 2, Path: "/actor"}, {Item: 2, Path: "/actr"}}},
		{"bad NDJSON lines", ndjson, good + "\n{\n" + `{"type":"a.b"}` + "\n", 422,
			[]detail{{Item: 1, Line: 2}, {Item: 2, Line: 3, Path: "/actor"}, {Item: 2, Line: 3, Path: "/time"}}},
		{"id reused with other content", "", "[" + ev("same", 1) + "," + ev("same", 2) + "]", 422, []detail{{Item: 1, Path: "/id"}}},
		{"oversize event", "", big, 413, []detail{{Item: 0}}},
		{"oversize event in array", "", "[" + good + "," + big + "]", 413, []detail{{Item: 1}}},
		{"oversize event in NDJSON", ndjson, good + "\n" + big + "\n", 413, []detail{{Item: 1, Line: 2}}},
		{"oversize body", "", evs("", 0, 80, false), 413, nil},
		{"oversize NDJSON body", ndjson, evs("", 0, 80, true), 413, nil},
		{"too many events", "", evs("", 0, 6, false), 413, nil},
		{"too many NDJSON events", ndjson, evs("", 0, 6, true), 413, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.size(t, own)
			resp, data := e.do(t, request{method: "POST", path: "/v1/events", token: e.tokens[own+"-writer"], contentType: tt.contentType, body: []byte(tt.body)})
			if resp.StatusCode != tt.code {
				t.Fatalf("POST = %d %s, want %d", resp.StatusCode, data, tt.code)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var eb errorBody
			if err := json.Unmarshal(data, &eb); err != nil || eb.Error == "" {
				t.Fatalf("error body %s: %v", data, err)
			}
			if tt.want != nil {
				got := make([]detail, len(eb.Details))
				for i, d := range eb.Details {
					if d.Message == "" {
						t.Errorf("detail %d has no message", i)
					}
					got[i] = detail{Item: d.Item, Path: d.Path, Line: d.Line}
				}
				for i := range tt.want {
					if tt.want[i].Line == 0 {
						for j := range got {
							got[j].Line = 0
						}
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("details = %+v, want %+v", eb.Details, tt.want)
				}
			}
			if got := e.size(t, own); got != before {
				t.Errorf("log size %d after a refused request, want %d", got, before)
			}
		})
	}
}

// TestIngestEntryTooLarge sends an event within the event limit whose
// entry, with what the server adds, is over the entry limit.
func TestIngestEntryTooLarge(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := strings.Replace(ev("", 1), `"data":{`, `"data":{"blob":"`+strings.Repeat("b", event.MaxEntrySize-300)+`",`, 1)
	if len(body) > DefaultMaxEventBytes {
		t.Fatalf("the event is %d bytes, over the event limit", len(body))
	}
	before := e.size(t, own)
	resp, data := e.do(t, request{method: "POST", path: "/v1/events", token: e.tokens[own+"-writer"], body: []byte(body)})
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("POST = %d %.300s, want 413", resp.StatusCode, data)
	}
	if got := e.size(t, own); got != before {
		t.Errorf("log size %d, want %d", got, before)
	}
}

// TestIngestTarget checks how the target log is chosen.
func TestIngestTarget(t *testing.T) {
	e := newEnv(t, envOptions{})
	body := []byte(ev("", 1))
	tests := []struct {
		name   string
		token  string
		path   string
		header string
		code   int
		log    string
	}{
		{"tenant key", own + "-writer", "/v1/events", "", 200, own},
		{"tenant key naming its log", own + "-writer", "/v1/events?log=" + own, "", 200, own},
		{"tenant key naming another log", own + "-writer", "/v1/events?log=" + other, "", 403, ""},
		{"instance key by parameter", "instance-writer", "/v1/events?log=third", "", 200, "third"},
		{"instance key by header", "instance-writer", "/v1/events", "fourth", 200, "fourth"},
		{"instance key by both, differing", "instance-writer", "/v1/events?log=third", "fourth", 400, ""},
		{"instance key without a log", "instance-writer", "/v1/events", "", 400, ""},
		{"instance key with a bad log name", "instance-writer", "/v1/events?log=-x", "", 400, ""},
		{"instance admin", "instance-admin", "/v1/events?log=fifth", "", 200, "fifth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", e.ts.URL+tt.path, strings.NewReader(string(body)))
			r.Header.Set("Authorization", "Bearer "+e.tokens[tt.token])
			if tt.header != "" {
				r.Header.Set("X-Indelible-Log", tt.header)
			}
			resp, err := e.ts.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			var out eventsResponse
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.code)
			}
			if tt.log != "" {
				e.open(t, tt.log, out.Checkpoint)
			}
		})
	}
}

const kubeItem = `{"level":"Metadata","auditID":"%s","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods","verb":"list",` +
	`"user":{"username":"alice","groups":["system:authenticated"]},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1.31.0",` +
	`"objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},` +
	`"requestReceivedTimestamp":"2026-11-23T19:40:00.000000Z","stageTimestamp":"2026-11-23T19:40:00.010000Z"}`

func kubeList(items ...string) string {
	return `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` + strings.Join(items, ",") + `]}`
}

func TestIngestKubernetes(t *testing.T) {
	e := newEnv(t, envOptions{})
	post := func(body string) (int, []byte) {
		resp, data := e.do(t, request{method: "POST", path: "/v1/ingest/kubernetes", token: e.tokens[own+"-writer"], contentType: "application/json", body: []byte(body)})
		return resp.StatusCode, data
	}
	batch := kubeList(fmt.Sprintf(kubeItem, "0b3c5e1a-1111-4f60-8e71-b9d0c3a2f5e8"), fmt.Sprintf(kubeItem, "0b3c5e1a-2222-4f60-8e71-b9d0c3a2f5e8"))
	before := e.size(t, own)
	code, data := post(batch)
	var out kubernetesResponse
	if err := json.Unmarshal(data, &out); err != nil || code != 200 || out.Results != 2 {
		t.Fatalf("POST = %d %s, want 200 with 2 results", code, data)
	}
	if cp := e.open(t, own, out.Checkpoint); cp.Size != before+2 {
		t.Errorf("checkpoint size %d, want %d", cp.Size, before+2)
	}
	// The webhook resends the same bytes: nothing new is written.
	if code, data := post(batch); code != 200 || e.size(t, own) != before+2 {
		t.Errorf("resent batch = %d %s, log size %d; want 200 and size %d", code, data, e.size(t, own), before+2)
	}

	size := e.size(t, own)
	for _, tt := range []struct {
		name string
		body string
		code int
	}{
		{"not an EventList", `{"kind":"Pod","apiVersion":"v1"}`, 400},
		{"not JSON", `{"kind":`, 400},
		{"empty list", kubeList(), 400},
	} {
		code, data := post(tt.body)
		if code != tt.code {
			t.Errorf("%s: POST = %d %s, want %d", tt.name, code, data, tt.code)
		}
		if got := e.size(t, own); got != size {
			t.Errorf("%s: log size %d, want %d", tt.name, got, size)
		}
	}
}

// TestIngestConcurrent sends single-event requests at once: they all
// succeed and share commits.
func TestIngestConcurrent(t *testing.T) {
	e := newEnv(t, envOptions{ledger: ledger.Config{MaxWait: 20 * time.Millisecond}})
	const n = 64
	before, cps := e.size(t, own), e.checkpoints(t, own)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r, _ := http.NewRequest("POST", e.ts.URL+"/v1/events", strings.NewReader(ev(fmt.Sprint("conc-", i), i)))
			r.Header.Set("Authorization", "Bearer "+e.tokens[own+"-writer"])
			resp, err := e.ts.Client().Do(r)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("request %d: status %d", i, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	size := e.size(t, own)
	if size != before+n {
		t.Fatalf("log size %d, want %d", size, before+n)
	}
	commits := e.checkpoints(t, own) - cps
	if commits >= n {
		t.Errorf("%d requests took %d commits, want fewer (group commit)", n, commits)
	}
	t.Logf("%d requests, %d commits", n, commits)
	_, metrics := e.get(t, "/metrics")
	if want := fmt.Sprintf("indelible_tree_size{log=%q} %d\n", own, size); !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if want := fmt.Sprintf("indelible_ingested_events_total{log=%q} %d\n", own, n); !strings.Contains(string(metrics), want) {
		t.Errorf("/metrics lacks %q", want)
	}
}

// blockingLedger holds every Append until released.
type blockingLedger struct {
	*ledger.Ledger
	entered chan struct{}
	release chan struct{}
}

func (b *blockingLedger) Append(ctx context.Context, log string, entries []*event.Entry) (ledger.Appended, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Ledger.Append(ctx, log, entries)
}

func TestIngestOverload(t *testing.T) {
	bl := &blockingLedger{entered: make(chan struct{}, 8), release: make(chan struct{})}
	e := newEnv(t, envOptions{limits: Limits{MaxInFlight: 1}, wrap: func(l *ledger.Ledger) Ledger {
		bl.Ledger = l
		return bl
	}})
	first := make(chan int, 1)
	go func() {
		r, _ := http.NewRequest("POST", e.ts.URL+"/v1/events", strings.NewReader(ev("first", 1)))
		r.Header.Set("Authorization", "Bearer "+e.tokens[own+"-writer"])
		resp, err := e.ts.Client().Do(r)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-bl.entered
	for _, path := range []string{"/v1/events", "/v1/ingest/kubernetes"} {
		resp, data := e.do(t, request{method: "POST", path: path, token: e.tokens[own+"-writer"], body: []byte(ev("second", 2))})
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("POST %s while full = %d (Retry-After %q) %s, want 503 with Retry-After 1", path, resp.StatusCode, resp.Header.Get("Retry-After"), data)
		}
	}
	// Reads are not limited.
	if resp, _ := e.get(t, "/v1/logs/"+own+"/checkpoint"); resp.StatusCode != 200 {
		t.Errorf("GET checkpoint while ingest is full = %d, want 200", resp.StatusCode)
	}
	close(bl.release)
	if code := <-first; code != 200 {
		t.Errorf("the first request = %d, want 200", code)
	}
	// The slot is free again.
	if resp, data := e.do(t, request{method: "POST", path: "/v1/events", token: e.tokens[own+"-writer"], body: []byte(ev("third", 3))}); resp.StatusCode != 200 {
		t.Errorf("POST after the overload = %d %s, want 200", resp.StatusCode, data)
	}
}

// TestCommittedNumbersAsStored: numbers that RFC 8785 spells otherwise
// (1.50, 1e2, -0, an integer past 2^53) reach the entry in memory, which
// the indexer and the detectors read, as the stored bytes spell them. The
// environment's OnCommit (checkCommitted) compares every committed entry
// with its bytes decoded.
func TestCommittedNumbersAsStored(t *testing.T) {
	var got []*event.Entry
	e := newEnv(t, envOptions{})
	e.onCommit = func(log string, start uint64, entries []*event.Entry) {
		if log == own {
			got = append(got, entries...)
		}
	}
	data := `"data":{"amount":1.50,"n":1e2,"z":-0,"big":12345678901234567890,"list":[2.0,1E-7]}`
	e.ingest(t, "application/json", `{"id":"num-1","time":"2026-11-23T19:40:00Z","type":"payment.sent","actor":{"id":"alice"},`+data+`}`)
	e.ingest(t, "application/x-ndjson", `{"id":"num-2","time":"2026-11-23T19:40:00Z","type":"payment.sent","actor":{"id":"alice"},`+data+"}\n")
	item := strings.Replace(fmt.Sprintf(kubeItem, "0b3c5e1a-3333-4f60-8e71-b9d0c3a2f5e8"), `"level":"Metadata"`,
		`"level":"Request","requestObject":{"spec":{"replicas":3.0,"ratio":2.50e0}}`, 1)
	resp, body := e.do(t, request{method: "POST", path: "/v1/ingest/kubernetes", token: e.tokens[own+"-writer"], contentType: "application/json", body: []byte(kubeList(item))})
	if resp.StatusCode != 200 {
		t.Fatalf("POST kubernetes = %d %s", resp.StatusCode, body)
	}
	want := map[string]any{"amount": json.Number("1.5"), "n": json.Number("100"), "z": json.Number("0"),
		"big": json.Number("12345678901234567000"), "list": []any{json.Number("2"), json.Number("1e-7")}}
	var events int
	for _, en := range got {
		switch en.Type {
		case "payment.sent":
			events++
			if !reflect.DeepEqual(en.Data, want) {
				t.Errorf("entry %s data = %#v, want %#v", en.ID, en.Data, want)
			}
		default:
			events++
			spec := en.Data["requestObject"].(map[string]any)["spec"]
			if w := map[string]any{"replicas": json.Number("3"), "ratio": json.Number("2.5")}; !reflect.DeepEqual(spec, w) {
				t.Errorf("kubernetes entry spec = %#v, want %#v", spec, w)
			}
		}
	}
	if events != 3 {
		t.Errorf("%d entries committed, want 3", events)
	}
}

// TestEventsResponseJSON: the hand-written answer is what encoding/json
// gives for the same values, for every kind of result.
func TestEventsResponseJSON(t *testing.T) {
	yes, no := true, false
	qi := uint64(7)
	resp := eventsResponse{Checkpoint: "example.com/acme\n12\nAAAA\n\n— example.com abc+/=\n", Results: []eventResult{
		{ID: "a", Index: 1, LeafHash: []byte{1, 2, 3}},
		{ID: "dup \"quoted\" \\ \u00e9\u2028", Index: 2, LeafHash: make([]byte, 32), Duplicate: true},
		{ID: "dropped", Captured: &no, Rule: "drop-debug"},
		{ID: "kept", Index: 3, LeafHash: []byte{9}, Captured: &yes, Rule: "keep"},
		{ID: "q", Captured: &no, Quarantined: true, QuarantineIndex: &qi},
		{ID: "ctl\x01\t\n", Index: 1 << 40, LeafHash: []byte{}},
	}}
	got := resp.appendJSON(nil)
	// What encoding/json makes of the same values, through MarshalJSON's
	// older form: the plain struct, or the reduced one when not captured.
	type plain eventResult
	var want struct {
		Results    []any  `json:"results"`
		Checkpoint string `json:"checkpoint"`
	}
	want.Checkpoint = resp.Checkpoint
	for _, r := range resp.Results {
		if r.Captured == nil || *r.Captured {
			want.Results = append(want.Results, plain(r))
			continue
		}
		want.Results = append(want.Results, struct {
			ID              string  `json:"id"`
			Captured        bool    `json:"captured"`
			Rule            string  `json:"rule,omitempty"`
			Quarantined     bool    `json:"quarantined,omitempty"`
			QuarantineIndex *uint64 `json:"quarantine_index,omitempty"`
		}{r.ID, false, r.Rule, r.Quarantined, r.QuarantineIndex})
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(wantJSON, &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("answer\n%s\nwant the same values as\n%s", got, wantJSON)
	}
}
