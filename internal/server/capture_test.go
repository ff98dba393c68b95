package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/capture"
)

// config sends a configuration request and returns the status and body.
func (e *testEnv) config(t *testing.T, method, path, cred string, body string) (int, []byte) {
	t.Helper()
	resp, data := e.do(t, request{method: method, path: path, token: e.tokens[cred], body: []byte(body)})
	return resp.StatusCode, data
}

// lastEntry returns the newest entry of log.
func (e *testEnv) lastEntry(t *testing.T, log string) *event.Entry {
	t.Helper()
	es := e.entries(t, log)
	if len(es) == 0 {
		t.Fatalf("log %q is empty", log)
	}
	return es[len(es)-1].e
}

const refundSchema = `{
  "type": "object",
  "required": ["amount", "currency"],
  "properties": {
    "amount": {"type": "number", "maximum": 1000},
    "currency": {"enum": ["EUR", "USD"]}
  },
  "additionalProperties": false
}`

func refund(id string, data string) string {
	return fmt.Sprintf(`{"id":%q,"time":"2026-11-23T10:00:00Z","type":"payment.refund","actor":{"id":"alice"},"data":%s}`, id, data)
}

func TestSchemaRegistry(t *testing.T) {
	e := newEnv(t, envOptions{})
	// Only an admin may register; readers may look.
	for _, cred := range []string{own + "-writer", own + "-reader", own + "-auditor", other + "-admin"} {
		if code, data := e.config(t, "PUT", "/v1/schemas/payment.refund?log="+own, cred, refundSchema); code != http.StatusForbidden {
			t.Errorf("PUT schema with %s = %d %s, want 403", cred, code, data)
		}
	}
	code, data := e.config(t, "PUT", "/v1/schemas/payment.refund", own+"-admin", refundSchema)
	var o capture.Outcome
	if err := json.Unmarshal(data, &o); err != nil || code != http.StatusCreated || o.Version != 1 || o.Status != "active" {
		t.Fatalf("PUT schema = %d %s, want 201 version 1", code, data)
	}
	reg := e.lastEntry(t, own)
	if reg.Type != capture.TypeSchemaRegistered || reg.Data["hash"] != o.Hash || reg.Actor.Type != "api_key" {
		t.Errorf("registration entry = %+v", reg)
	}
	// The same schema again changes nothing.
	if code, data := e.config(t, "PUT", "/v1/schemas/payment.refund", own+"-admin", refundSchema); code != http.StatusOK || !strings.Contains(string(data), `"unchanged"`) {
		t.Errorf("PUT same schema = %d %s, want 200 unchanged", code, data)
	}
	if code, data := e.config(t, "GET", "/v1/schemas", own+"-reader", ""); code != 200 || !strings.Contains(string(data), `"ref":"payment.refund@1"`) {
		t.Errorf("GET /v1/schemas = %d %s", code, data)
	}

	// Invalid data: 422 naming the path and keyword, nothing written.
	size := e.size(t, own)
	resp, data := e.do(t, request{method: "POST", path: "/v1/events", token: e.tokens[own+"-writer"],
		body: []byte(`[` + refund("r1", `{"amount":5,"currency":"EUR"}`) + `,` + refund("r2", `{"amount":1200,"currency":"GBP"}`) + `]`)})
	var eb errorBody
	json.Unmarshal(data, &eb)
	if resp.StatusCode != 422 || len(eb.Details) != 2 {
		t.Fatalf("POST invalid refund = %d %s, want 422 with 2 details", resp.StatusCode, data)
	}
	for i, want := range []struct{ path, keyword string }{{"/data/amount", "maximum"}, {"/data/currency", "enum"}} {
		d := eb.Details[i]
		if d.Item != 1 || d.Path != want.path || !strings.Contains(d.Message, want.keyword) {
			t.Errorf("detail %d = %+v, want item 1 at %s naming %q", i, d, want.path, want.keyword)
		}
	}
	if got := e.size(t, own); got != size {
		t.Errorf("log size %d after a refused batch, want %d", got, size)
	}
	// Valid data: the entry names the schema version.
	e.ingest(t, "application/json", refund("r3", `{"amount":5,"currency":"EUR"}`))
	if got := e.lastEntry(t, own); got.Capture.Schema != "payment.refund@1" {
		t.Errorf("entry capture = %+v, want schema payment.refund@1", got.Capture)
	}

	// A schema that does not compile is refused with where and why, and
	// the refusal is an entry.
	code, data = e.config(t, "PUT", "/v1/schemas/payment.refund", own+"-admin", `{"type":"object","properties":{"amount":{"minimum":"x"}}}`)
	json.Unmarshal(data, &eb)
	if code != 422 || len(eb.Details) != 1 || eb.Details[0].Path != "/properties/amount/minimum" {
		t.Errorf("PUT bad schema = %d %s, want 422 at /properties/amount/minimum", code, data)
	}
	if got := e.lastEntry(t, own); got.Type != capture.TypeSchemaRejected || got.Outcome != event.OutcomeFailure {
		t.Errorf("last entry after a refused schema = %s %s, want %s failure", got.Type, got.Outcome, capture.TypeSchemaRejected)
	}
	code, data = e.config(t, "PUT", "/v1/schemas/payment.refund", own+"-admin", `{"type":`)
	json.Unmarshal(data, &eb)
	if code != 422 || len(eb.Details) != 1 || eb.Details[0].Line != 1 {
		t.Errorf("PUT schema that is not JSON = %d %s, want 422 with a line", code, data)
	}

	// Version 2 applies from now on.
	if code, data := e.config(t, "PUT", "/v1/schemas/payment.refund", own+"-admin", strings.Replace(refundSchema, `"maximum": 1000`, `"maximum": 5000`, 1)); code != 201 {
		t.Fatalf("PUT schema v2 = %d %s", code, data)
	}
	e.ingest(t, "application/json", refund("r4", `{"amount":1200,"currency":"EUR"}`))
	if got := e.lastEntry(t, own); got.Capture.Schema != "payment.refund@2" {
		t.Errorf("entry capture = %+v, want schema payment.refund@2", got.Capture)
	}
	code, data = e.config(t, "GET", "/v1/schemas/payment.refund", own+"-reader", "")
	var sr schemasResponse
	if err := json.Unmarshal(data, &sr); err != nil || code != 200 || len(sr.Schemas) != 2 || len(sr.History) != 4 {
		t.Errorf("GET schema = %d %s, want 2 versions and 4 history entries", code, data)
	}
}

const examplePolicy = `
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
    personal: ["/data/email"]
  - name: default
    level: metadata
`

func TestCapturePolicy(t *testing.T) {
	e := newEnv(t, envOptions{})
	code, data := e.config(t, "PUT", "/v1/policies", own+"-admin", examplePolicy)
	var o capture.Outcome
	if err := json.Unmarshal(data, &o); err != nil || code != 201 {
		t.Fatalf("PUT policy = %d %s", code, data)
	}
	ev := func(id, typ, data string) string {
		return fmt.Sprintf(`{"id":%q,"time":"2026-11-23T10:00:00Z","type":%q,"actor":{"id":"alice"},"message":"m","data":%s}`, id, typ, data)
	}
	res := e.ingest(t, "application/json", `[`+strings.Join([]string{
		ev("h1", "system.health.check", `{}`),
		ev("l1", "auth.login", `{"method":"password"}`),
		ev("p1", "payment.charge", `{"amount":1500,"card_number":"4111","email":"a@example.com"}`),
		ev("p2", "payment.charge", `{"amount":15,"card_number":"4111"}`),
	}, ",")+`]`)
	if r := res.Results[0]; r.Captured == nil || *r.Captured || r.Rule != "drop-health" {
		t.Errorf("health result = %+v, want not captured by drop-health", r)
	}
	byID := map[string]*event.Entry{}
	for _, le := range e.entries(t, own) {
		byID[le.e.ID] = le.e
	}
	if byID["h1"] != nil {
		t.Error("the health check was stored")
	}
	want := map[string]event.Capture{
		"l1": {Level: "full", Policy: o.Hash, Rule: "logins-full"},
		"p1": {Level: "full", Policy: o.Hash, Rule: "cards", Redacted: []string{"/data/card_number"}, Personal: []string{"/data/email"}},
		"p2": {Level: "metadata", Policy: o.Hash, Rule: "default"},
	}
	for id, c := range want {
		got := byID[id]
		if got == nil || !reflect.DeepEqual(got.Capture, c) {
			t.Errorf("entry %s capture = %+v, want %+v", id, got, c)
		}
	}
	if p := byID["p1"]; p != nil {
		if p.Data["card_number"] == "4111" || p.Data["email"] == "a@example.com" {
			t.Errorf("entry p1 data = %v: redacted and personal values were stored", p.Data)
		}
	}
	if p := byID["p2"]; p != nil && (p.Data != nil || p.Message != "") {
		t.Errorf("metadata entry p2 kept data %v, message %q", p.Data, p.Message)
	}
	// A retry is recognised whatever the policy did.
	again := e.ingest(t, "application/json", ev("p1", "payment.charge", `{"amount":1500,"card_number":"4111","email":"a@example.com"}`))
	if !again.Results[0].Duplicate {
		t.Errorf("retry of p1 = %+v, want a duplicate", again.Results[0])
	}

	// A bad policy is refused with line and column; the active one stays.
	code, data = e.config(t, "PUT", "/v1/policies", own+"-admin", "rules:\n  - name: x\n    match: {condition: \"event.actr.id == 'a'\"}\n    level: full\n")
	var eb errorBody
	json.Unmarshal(data, &eb)
	if code != 422 || len(eb.Details) == 0 || eb.Details[0].Line != 3 {
		t.Errorf("PUT bad policy = %d %s, want 422 at line 3", code, data)
	}
	code, data = e.config(t, "GET", "/v1/policies", own+"-reader", "")
	if code != 200 || !strings.Contains(string(data), o.Hash) {
		t.Errorf("GET /v1/policies after a refused one = %d %s, want the active %s", code, data, o.Hash)
	}
	if got := e.lastEntry(t, own); got.Type != capture.TypePolicyRejected {
		t.Errorf("last entry = %s, want %s", got.Type, capture.TypePolicyRejected)
	}
	// Dry run: nothing recorded, a report per rule.
	size := e.size(t, own)
	code, data = e.config(t, "PUT", "/v1/policies?dry_run=100", own+"-admin", "rules:\n  - name: all-metadata\n    level: metadata\n")
	var rep capture.Report
	if err := json.Unmarshal(data, &rep); err != nil || code != 200 || len(rep.Rules) != 1 || rep.Rules[0].Reduced == 0 {
		t.Errorf("dry run = %d %s, want a report with reductions", code, data)
	}
	if got := e.size(t, own); got != size {
		t.Errorf("a dry run wrote to the log (size %d, want %d)", got, size)
	}
}

// TestPolicyFallback: a condition that fails at run time captures the
// event in full and records the fallback; ingestion goes on.
func TestPolicyFallback(t *testing.T) {
	e := newEnv(t, envOptions{})
	pol := "rules:\n  - name: big\n    match: {condition: \"event.data.amount > 10\"}\n    level: none\n  - name: rest\n    level: metadata\n"
	if code, data := e.config(t, "PUT", "/v1/policies", own+"-admin", pol); code != 201 {
		t.Fatalf("PUT policy = %d %s", code, data)
	}
	res := e.ingest(t, "application/json", `{"id":"f1","time":"2026-11-23T10:00:00Z","type":"data.read","actor":{"id":"a"},"data":{"other":1}}`)
	if res.Results[0].Captured != nil {
		t.Fatalf("result = %+v, want captured", res.Results[0])
	}
	es := e.entries(t, own)
	stored, fb := es[len(es)-2].e, es[len(es)-1].e
	if stored.ID != "f1" || stored.Capture.Level != "full" || stored.Capture.Rule != "" || stored.Data == nil {
		t.Errorf("stored = %+v, want f1 captured in full without a rule", stored)
	}
	if fb.Type != capture.TypePolicyFallback || !strings.Contains(fmt.Sprint(fb.Data["ids"]), "f1") {
		t.Errorf("fallback entry = %+v", fb)
	}
}

// TestBadConfigNeverStopsIngestion applies a run of bad configurations;
// after each, an event is still accepted and stored or counted.
func TestBadConfigNeverStopsIngestion(t *testing.T) {
	e := newEnv(t, envOptions{})
	bad := []struct{ path, body string }{
		{"/v1/policies", "rules: [\n"},
		{"/v1/policies", "rules:\n  - name: a\n    level: loud\n"},
		{"/v1/policies", "rules:\n  - name: a\n    match: {condition: \"1 +\"}\n    level: none\n"},
		{"/v1/policies", "rules:\n  - name: a\n    match: {condition: \"event.data.x.y.z == 1\"}\n    level: none\n"},
		{"/v1/policies", "rules:\n  - name: a\n    match: {condition: \"event.data.n / 0 == 1\"}\n    level: metadata\n"},
		{"/v1/policies", "bogus: true\n"},
		{"/v1/policies", strings.Repeat("#", capture.MaxSourceBytes+1)},
		{"/v1/schemas/data.read", `{"type": "nonsense"}`},
		{"/v1/schemas/data.read", `{"$ref": "https://example.com/remote.json"}`},
		{"/v1/schemas/data.read", `[`},
		{"/v1/policies", "rules:\n  - name: a\n    match: {condition: \"event.data.size(1)\"}\n    level: none\n"},
	}
	for i, b := range bad {
		code, data := e.config(t, "PUT", b.path, own+"-admin", b.body)
		t.Logf("PUT %s #%d = %d %.120s", b.path, i, code, data)
		id := fmt.Sprintf("ev-%d", i)
		resp, data := e.do(t, request{method: "POST", path: "/v1/events", token: e.tokens[own+"-writer"],
			body: []byte(fmt.Sprintf(`{"id":%q,"time":"2026-11-23T10:00:00Z","type":"data.read","actor":{"id":"a"},"data":{"n":1}}`, id))})
		if resp.StatusCode != 200 {
			t.Fatalf("after bad config #%d (%s): POST = %d %s, want 200", i, b.path, resp.StatusCode, data)
		}
	}
}

func TestTwoPersonRule(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := "settings:\n  approval: two-person\nrules:\n  - name: all\n    level: full\n"
	if code, data := e.config(t, "PUT", "/v1/policies", own+"-admin", first); code != 201 {
		t.Fatalf("PUT first policy = %d %s", code, data)
	}
	second := e.newKey(t, own, "admin")
	e.tokens["second-admin"] = second
	code, data := e.config(t, "PUT", "/v1/policies", own+"-admin", "settings:\n  approval: two-person\nrules:\n  - name: all\n    level: metadata\n")
	var o capture.Outcome
	if err := json.Unmarshal(data, &o); err != nil || code != http.StatusAccepted || o.Proposal == "" {
		t.Fatalf("PUT policy under two-person = %d %s, want 202 with a proposal", code, data)
	}
	size := e.size(t, own)
	approve := "/v1/proposals/" + o.Proposal + "/approve"
	if code, data := e.config(t, "POST", approve, own+"-admin", ""); code != http.StatusForbidden {
		t.Errorf("self-approval = %d %s, want 403", code, data)
	}
	if code, data := e.config(t, "POST", approve+"?log="+own, other+"-admin", ""); code != http.StatusForbidden {
		t.Errorf("approval by another tenant's admin = %d %s, want 403", code, data)
	}
	if code, data := e.config(t, "POST", "/v1/proposals/nope/approve", "second-admin", ""); code != http.StatusNotFound {
		t.Errorf("approval of an unknown proposal = %d %s, want 404", code, data)
	}
	if code, data := e.config(t, "POST", approve, "second-admin", ""); code != 200 {
		t.Fatalf("approval = %d %s, want 200", code, data)
	}
	es := e.entries(t, own)
	var types []string
	for _, le := range es[size-1:] {
		types = append(types, le.e.Type)
	}
	if want := []string{capture.TypePolicyProposed, capture.TypePolicyApproved, capture.TypePolicyActivated}; !reflect.DeepEqual(types, want) {
		t.Errorf("entries = %v, want %v", types, want)
	}
	e.ingest(t, "application/json", `{"id":"x","time":"2026-11-23T10:00:00Z","type":"data.read","actor":{"id":"a"},"data":{"n":1}}`)
	if got := e.lastEntry(t, own); got.Capture.Level != "metadata" {
		t.Errorf("capture after approval = %+v, want metadata", got.Capture)
	}
}

// TestConfigRebuild rebuilds the configuration from the entries alone and
// compares it with what the server holds.
func TestConfigRebuild(t *testing.T) {
	e := newEnv(t, envOptions{})
	steps := []struct{ path, cred, body string }{
		{"/v1/schemas/payment.refund", own + "-admin", refundSchema},
		{"/v1/policies", own + "-admin", examplePolicy},
		{"/v1/schemas/payment.refund", own + "-admin", `{"type":"object"}`},
		{"/v1/schemas/auth.login", own + "-admin", `{"type":"object","required":["method"]}`},
		{"/v1/policies", own + "-admin", "rules: [\n"},
		{"/v1/policies", own + "-admin", "settings:\n  approval: two-person\n"},
		{"/v1/schemas/auth.logout", own + "-admin", `{"type":"object"}`}, // proposed only
	}
	for _, s := range steps {
		e.config(t, "PUT", s.path, s.cred, s.body)
		e.ingest(t, "application/json", fmt.Sprintf(`{"time":"2026-11-23T10:00:00Z","type":"data.read","actor":{"id":"a"},"data":{"n":%d}}`, len(s.body)))
	}
	live, err := e.capture.State(context.Background(), own)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := capture.Rebuild(context.Background(), e.st, own, e.size(t, own))
	if err != nil {
		t.Fatal(err)
	}
	if live.PolicyHash() != rebuilt.PolicyHash() || live.PolicyIndex != rebuilt.PolicyIndex {
		t.Errorf("policy: live %s@%d, rebuilt %s@%d", live.PolicyHash(), live.PolicyIndex, rebuilt.PolicyHash(), rebuilt.PolicyIndex)
	}
	if !reflect.DeepEqual(live.History, rebuilt.History) || !reflect.DeepEqual(live.Pending, rebuilt.Pending) {
		t.Errorf("history or pending differ:\nlive    %+v %+v\nrebuilt %+v %+v", live.History, live.Pending, rebuilt.History, rebuilt.Pending)
	}
	if !reflect.DeepEqual(live.Schemas.Types(), rebuilt.Schemas.Types()) {
		t.Errorf("schema types: live %v, rebuilt %v", live.Schemas.Types(), rebuilt.Schemas.Types())
	}
	for _, typ := range live.Schemas.Types() {
		lv, rv := live.Schemas.Versions(typ), rebuilt.Schemas.Versions(typ)
		if len(lv) != len(rv) {
			t.Errorf("%s: %d versions live, %d rebuilt", typ, len(lv), len(rv))
			continue
		}
		for i := range lv {
			if lv[i].Hash != rv[i].Hash || lv[i].Version != rv[i].Version {
				t.Errorf("%s version %d: live %s, rebuilt %s", typ, i+1, lv[i].Hash, rv[i].Hash)
			}
		}
	}
	if len(live.Pending) != 1 || len(live.Schemas.Types()) != 2 || len(live.Schemas.Versions("payment.refund")) != 2 {
		t.Errorf("live state: pending %v, types %v", live.Pending, live.Schemas.Types())
	}
}

func TestKubernetesQuarantine(t *testing.T) {
	e := newEnv(t, envOptions{})
	post := func(body string) (int, []byte) {
		resp, data := e.do(t, request{method: "POST", path: "/v1/ingest/kubernetes", token: e.tokens[own+"-writer"], body: []byte(body)})
		return resp.StatusCode, data
	}
	bad := strings.Replace(fmt.Sprintf(kubeItem, "0b3c5e1a-3333-4f60-8e71-b9d0c3a2f5e8"), `"stageTimestamp":"2026-11-23T19:40:00.010000Z"`, `"stageTimestamp":"yesterday"`, 1)
	batch := kubeList(fmt.Sprintf(kubeItem, "0b3c5e1a-4444-4f60-8e71-b9d0c3a2f5e8"), bad)
	size := e.size(t, own)
	code, data := post(batch)
	var out kubernetesResponse
	if err := json.Unmarshal(data, &out); err != nil || code != 200 || out.Results != 1 || out.Quarantined != 1 {
		t.Fatalf("POST with a bad item = %d %s, want 200 with 1 result and 1 quarantined", code, data)
	}
	if got := e.size(t, own); got != size+1 {
		t.Errorf("log size %d, want %d", got, size+1)
	}
	q := e.entries(t, own+QuarantineSuffix)
	if len(q) != 1 {
		t.Fatalf("quarantine log has %d entries, want 1", len(q))
	}
	qe := q[0].e
	if qe.Type != quarantineType || !strings.Contains(q[0].body, `"path":"/items/1/stageTimestamp"`) || !strings.Contains(q[0].body, `"yesterday"`) {
		t.Errorf("quarantine entry = %s", q[0].body)
	}
	// The webhook's retry quarantines nothing new.
	if code, _ := post(batch); code != 200 || len(e.entries(t, own+QuarantineSuffix)) != 1 {
		t.Errorf("retry = %d, quarantine entries %d; want 200 and 1", code, len(e.entries(t, own+QuarantineSuffix)))
	}
	// The tenant's readers may read the quarantine log; nobody may ingest into it.
	resp, data := e.do(t, request{method: "GET", path: "/v1/logs/" + own + QuarantineSuffix + "/entries/0", token: e.tokens[own+"-reader"]})
	if resp.StatusCode != 200 {
		t.Errorf("reading the quarantine log with the tenant's reader key = %d %s", resp.StatusCode, data)
	}
	resp, data = e.do(t, request{method: "POST", path: "/v1/events?log=" + own + QuarantineSuffix, token: e.tokens["instance-admin"],
		body: []byte(`{"time":"2026-11-23T10:00:00Z","type":"data.read","actor":{"id":"a"}}`)})
	if resp.StatusCode != 400 {
		t.Errorf("ingest into the quarantine log = %d %s, want 400", resp.StatusCode, data)
	}
	// A policy can make the webhook's invalid items a refusal instead.
	if code, data := e.config(t, "PUT", "/v1/policies", own+"-admin", "settings:\n  invalid: {kubernetes: reject}\n"); code != 201 {
		t.Fatalf("PUT policy = %d %s", code, data)
	}
	code, data = post(kubeList(fmt.Sprintf(kubeItem, "0b3c5e1a-5555-4f60-8e71-b9d0c3a2f5e8"), bad))
	var eb errorBody
	json.Unmarshal(data, &eb)
	if code != 422 || len(eb.Details) == 0 || eb.Details[0].Item != 1 || !strings.HasPrefix(eb.Details[0].Path, "/items/1/") {
		t.Errorf("POST with reject = %d %s, want 422 naming item 1", code, data)
	}
	// And the native API's invalid events can be quarantined.
	if code, data := e.config(t, "PUT", "/v1/schemas/payment.refund", own+"-admin", refundSchema); code != 201 {
		t.Fatalf("PUT schema = %d %s", code, data)
	}
	if code, data := e.config(t, "PUT", "/v1/policies", own+"-admin", "settings:\n  invalid: {api: quarantine}\n"); code != 201 {
		t.Fatalf("PUT policy = %d %s", code, data)
	}
	res := e.ingest(t, "application/json", `[`+refund("ok", `{"amount":5,"currency":"EUR"}`)+`,`+refund("bad", `{"amount":"x"}`)+`]`)
	if r := res.Results[1]; !r.Quarantined || r.QuarantineIndex == nil || res.Results[0].Quarantined {
		t.Errorf("results = %+v, want the second quarantined", res.Results)
	}
}
