package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/a24ba333/indelible/event"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// webhookBodies returns the audit webhook bodies in testdata, by file name.
func webhookBodies(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	bodies := make(map[string][]byte)
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies[f] = b
	}
	if len(bodies) == 0 {
		t.Fatal("no webhook bodies in testdata")
	}
	return bodies
}

func TestDecodeKubernetesGolden(t *testing.T) {
	for file, body := range webhookBodies(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			res, err := DecodeKubernetes(body, KubernetesOptions{})
			if err != nil {
				t.Fatalf("DecodeKubernetes: %v", err)
			}
			if len(res.Errors) > 0 {
				t.Errorf("DecodeKubernetes: item errors %v, want none", res.Errors)
			}
			for i, ev := range res.Events {
				if err := ev.Validate(false); err != nil {
					t.Errorf("event %d: Validate: %v", i, err)
				}
			}
			got, err := json.MarshalIndent(res.Events, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(file, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("events of %s differ from %s (run go test -update and review the diff):\n%s", file, golden, got)
			}
		})
	}
}

// itemsBody returns an EventList body holding the given items.
func itemsBody(items ...string) []byte {
	return []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` + strings.Join(items, ",") + `]}`)
}

// kubeItem returns a valid Metadata-level item, changed by the given
// members, which replace or (when null) remove the item's own.
func kubeItem(t testing.TB, members string) string {
	t.Helper()
	base := map[string]any{
		"level": "Metadata", "auditID": "0b6f3f4e-8a51-4c0e-9f55-2d3b0e6a1c7d", "stage": "ResponseComplete",
		"requestURI": "/api/v1/namespaces/default/pods?limit=500", "verb": "list",
		"user":      map[string]any{"username": "alice", "groups": []any{"system:authenticated"}},
		"sourceIPs": []any{"192.168.49.1"}, "userAgent": "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
		"objectRef":                map[string]any{"resource": "pods", "namespace": "default", "apiVersion": "v1"},
		"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": 200},
		"requestReceivedTimestamp": "2026-11-23T19:40:00.123456Z", "stageTimestamp": "2026-11-23T19:40:00.131902Z",
		"annotations": map[string]any{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
	}
	if members != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte("{"+members+"}"), &m); err != nil {
			t.Fatalf("bad members %q: %v", members, err)
		}
		for k, v := range m {
			if v == nil {
				delete(base, k)
			} else {
				base[k] = v
			}
		}
	}
	b, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withRaw adds members to an item as they are written, where kubeItem
// would normalise them through encoding/json.
func withRaw(item, members string) string {
	return strings.TrimSuffix(item, "}") + "," + members + "}"
}

// decodeOne decodes a batch of one item that must map to an event.
func decodeOne(t *testing.T, members string) *event.Event {
	t.Helper()
	return decodeItem(t, kubeItem(t, members))
}

func decodeItem(t *testing.T, item string) *event.Event {
	t.Helper()
	res, err := DecodeKubernetes(itemsBody(item), KubernetesOptions{})
	if err != nil {
		t.Fatalf("DecodeKubernetes(%.200s): %v", item, err)
	}
	if len(res.Errors) > 0 || len(res.Events) != 1 {
		t.Fatalf("DecodeKubernetes(%.200s) = %d events, errors %v; want 1 event", item, len(res.Events), res.Errors)
	}
	return res.Events[0]
}

func TestKubernetesOutcome(t *testing.T) {
	tests := []struct {
		members string
		want    string
	}{
		{``, "success"},
		{`"responseStatus":{"metadata":{},"code":201}`, "success"},
		{`"responseStatus":{"metadata":{},"code":304}`, "success"},
		{`"responseStatus":{"metadata":{},"code":101}`, "success"},
		{`"responseStatus":{"metadata":{},"code":100}`, "unknown"},
		{`"responseStatus":{"metadata":{},"code":404,"status":"Failure","reason":"NotFound"}`, "failure"},
		{`"responseStatus":{"metadata":{},"code":500}`, "failure"},
		{`"responseStatus":{"metadata":{},"code":503}`, "failure"},
		{`"responseStatus":{"metadata":{},"code":600}`, "unknown"},
		{`"responseStatus":{"metadata":{},"code":0}`, "unknown"},
		// The authorizer's refusal wins over the code.
		{`"responseStatus":{"metadata":{},"code":200},"annotations":{"authorization.k8s.io/decision":"forbid"}`, "failure"},
		{`"responseStatus":null,"annotations":{"authorization.k8s.io/decision":"forbid"}`, "failure"},
		// Without a code.
		{`"responseStatus":null`, "success"},
		{`"responseStatus":{"metadata":{}}`, "success"},
		{`"responseStatus":null,"annotations":null`, "unknown"},
		{`"responseStatus":null,"stage":"ResponseStarted"`, "unknown"},
		{`"responseStatus":null,"stage":"RequestReceived","annotations":null`, "unknown"},
		{`"responseStatus":null,"stage":"Panic"`, "failure"},
		{`"responseStatus":{"metadata":{},"status":"Failure","reason":"Timeout"}`, "failure"},
		{`"responseStatus":null,"annotations":{"authorization.k8s.io/decision":"other"}`, "unknown"},
	}
	for _, tt := range tests {
		if got := decodeOne(t, tt.members).Outcome; got != tt.want {
			t.Errorf("outcome of {%s} = %q, want %q", tt.members, got, tt.want)
		}
	}
}

func TestKubernetesType(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		members string
		want    string
	}{
		{``, "k8s.pods.list"},
		{`"verb":"create","objectRef":{"resource":"pods","namespace":"default","name":"web-0","subresource":"exec"}`, "k8s.pods.exec.create"},
		{`"verb":"get","objectRef":{"resource":"secrets","name":"x"}`, "k8s.secrets.get"},
		{`"verb":"get","objectRef":null,"requestURI":"/healthz"`, "k8s.nonresource.get"},
		{`"verb":"get","objectRef":{"apiGroup":"apps"}`, "k8s.nonresource.get"},
		{`"verb":"deletecollection","objectRef":{"resource":"cronjobs","apiGroup":"batch"}`, "k8s.cronjobs.deletecollection"},
		{`"verb":"Watch","objectRef":{"resource":"Foo.Bar/baz é"}`, "k8s.foo_bar_baz___.watch"},
		{`"verb":"escalate","objectRef":{"resource":"clusterroles","subresource":"status/x"}`, "k8s.clusterroles.status_x.escalate"},
		{`"verb":"` + long + `","objectRef":{"resource":"` + long + `","subresource":"` + long + `"}`,
			"k8s." + long[:maxResourceSeg] + "." + long[:maxSubSeg] + "." + long[:maxVerbSeg]},
	}
	for _, tt := range tests {
		ev := decodeOne(t, tt.members)
		if ev.Type != tt.want {
			t.Errorf("type of {%s} = %q, want %q", tt.members, ev.Type, tt.want)
		}
		if ev.Category() != "k8s" {
			t.Errorf("category of {%s} = %q, want k8s", tt.members, ev.Category())
		}
	}
}

func TestKubernetesActorAndResource(t *testing.T) {
	tests := []struct {
		members  string
		actor    event.Actor
		resource *event.Resource
	}{
		{``,
			event.Actor{ID: "alice", Type: "user", IP: "192.168.49.1", UserAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"},
			&event.Resource{Type: "pods"}},
		{`"user":{"username":"system:serviceaccount:ci:deployer"},"sourceIPs":["2001:db8::7","10.0.0.1"],"userAgent":null`,
			event.Actor{ID: "system:serviceaccount:ci:deployer", Type: "serviceaccount", IP: "2001:db8::7"},
			&event.Resource{Type: "pods"}},
		{`"user":{"username":"system:node:worker-1"},"sourceIPs":["not-an-ip","10.0.0.1"],"objectRef":{"resource":"nodes","name":"worker-1","subresource":"status"}`,
			event.Actor{ID: "system:node:worker-1", Type: "node", UserAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"},
			&event.Resource{Type: "nodes/status", ID: "worker-1"}},
		{`"user":{"username":"system:anonymous"},"sourceIPs":null,"userAgent":"` + strings.Repeat("é", 600) + `","objectRef":null`,
			event.Actor{ID: "system:anonymous", Type: "user", UserAgent: strings.Repeat("é", 512)},
			nil},
		{`"user":{"username":"kubernetes-admin"},"impersonatedUser":{"username":"jane"},"objectRef":{"resource":"secrets","namespace":"payments","name":"db"}`,
			event.Actor{ID: "kubernetes-admin", Type: "user", IP: "192.168.49.1", UserAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"},
			&event.Resource{Type: "secrets", ID: "payments/db"}},
		{`"objectRef":{"resource":"pods","namespace":"` + strings.Repeat("n", 63) + `","name":"` + strings.Repeat("p", 253) + `"}`,
			event.Actor{ID: "alice", Type: "user", IP: "192.168.49.1", UserAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"},
			&event.Resource{Type: "pods", ID: (strings.Repeat("n", 63) + "/" + strings.Repeat("p", 253))[:256]}},
	}
	for _, tt := range tests {
		ev := decodeOne(t, tt.members)
		if ev.Actor != tt.actor {
			t.Errorf("actor of {%.80s} = %+v, want %+v", tt.members, ev.Actor, tt.actor)
		}
		if (ev.Resource == nil) != (tt.resource == nil) || ev.Resource != nil && *ev.Resource != *tt.resource {
			t.Errorf("resource of {%.80s} = %+v, want %+v", tt.members, ev.Resource, tt.resource)
		}
	}
}

func TestKubernetesIDAndTime(t *testing.T) {
	tests := []struct {
		members string
		id      string
		time    string
	}{
		{``, "0b6f3f4e-8a51-4c0e-9f55-2d3b0e6a1c7d/ResponseComplete", "2026-11-23T19:40:00.131902Z"},
		{`"stage":"RequestReceived","stageTimestamp":null`, "0b6f3f4e-8a51-4c0e-9f55-2d3b0e6a1c7d/RequestReceived", "2026-11-23T19:40:00.123456Z"},
		{`"stageTimestamp":"2026-11-23T20:40:00.5+01:00"`, "0b6f3f4e-8a51-4c0e-9f55-2d3b0e6a1c7d/ResponseComplete", "2026-11-23T19:40:00.5Z"},
		// An auditID chosen by a client (Audit-ID header) that is no event ID.
		{`"auditID":"my audit id"`, "sha256:" + sha256Hex("my audit id") + "/ResponseComplete", "2026-11-23T19:40:00.131902Z"},
		{`"auditID":"` + strings.Repeat("a", 120) + `"`, "sha256:" + sha256Hex(strings.Repeat("a", 120)) + "/ResponseComplete", "2026-11-23T19:40:00.131902Z"},
	}
	for _, tt := range tests {
		ev := decodeOne(t, tt.members)
		if ev.ID != tt.id {
			t.Errorf("id of {%.80s} = %q, want %q", tt.members, ev.ID, tt.id)
		}
		if got := ev.Time.Format("2006-01-02T15:04:05.999999999Z07:00"); got != tt.time {
			t.Errorf("time of {%.80s} = %s, want %s", tt.members, got, tt.time)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestKubernetesData(t *testing.T) {
	ev := decodeItem(t, withRaw(kubeItem(t, `"responseStatus":{"metadata":{},"status":"Failure","message":"nope","reason":"Forbidden","details":{"kind":"pods"},"code":403}`),
		`"requestObject":{"kind":"Pod","spec":{"replicas":3,"ratio":1.5e0,"list":[1,null,true]}},"responseObject":null`))
	if ev.Message != "nope" {
		t.Errorf("Message = %q, want %q", ev.Message, "nope")
	}
	rs := ev.Data["responseStatus"].(map[string]any)
	if len(rs) != 3 || rs["code"] != json.Number("403") || rs["status"] != "Failure" || rs["reason"] != "Forbidden" {
		t.Errorf("data.responseStatus = %#v, want code, status and reason", rs)
	}
	spec := ev.Data["requestObject"].(map[string]any)["spec"].(map[string]any)
	// Numbers are json.Number values as the entry's bytes spell them.
	if spec["replicas"] != json.Number("3") || spec["ratio"] != json.Number("1.5") {
		t.Errorf("data.requestObject.spec = %#v, want json.Number values 3 and 1.5", spec)
	}
	if _, ok := ev.Data["responseObject"]; ok {
		t.Errorf("data.responseObject is set for a null responseObject")
	}
	if _, ok := ev.Data["truncated"]; ok {
		t.Errorf("data.truncated is set for a small event")
	}
	// Every value is one ParseJSON returns: canonicalising works.
	if _, err := ev.CanonicalJSON(); err != nil {
		t.Errorf("CanonicalJSON: %v", err)
	}
}

func TestKubernetesItemErrors(t *testing.T) {
	tests := []struct {
		item  string // a raw item, or members for kubeItem
		paths []string
	}{
		{`null`, []string{"/items/1"}},
		{`[1]`, []string{"/items/1"}},
		{`"auditID":null`, []string{"/items/1/auditID"}},
		{`"stage":null`, []string{"/items/1/stage"}},
		{`"stage":"Done"`, []string{"/items/1/stage"}},
		{`"verb":""`, []string{"/items/1/verb"}},
		{`"user":{"groups":["x"]}`, []string{"/items/1/user/username"}},
		{`"user":{"username":"` + strings.Repeat("u", 300) + `"}`, []string{"/items/1/user/username"}},
		{`"user":{"username":"bob","groups":["a",1]}`, []string{"/items/1/user/groups"}},
		{`"user":[]`, []string{"/items/1/user"}},
		{`"responseStatus":{"code":"200"}`, []string{"/items/1/responseStatus/code"}},
		{`"responseStatus":{"code":1e10}`, []string{"/items/1/responseStatus/code"}},
		{`"annotations":{"a":1}`, []string{"/items/1/annotations"}},
		{`"stageTimestamp":"yesterday"`, []string{"/items/1/stageTimestamp"}},
		{`"stageTimestamp":null,"requestReceivedTimestamp":null`, []string{"/items/1/stageTimestamp"}},
		{`"requestReceivedTimestamp":"2026-11-23"`, []string{"/items/1/requestReceivedTimestamp"}},
		{`"stageTimestamp":"-0001-01-01T00:00:00Z"`, []string{"/items/1/stageTimestamp"}},
		{`"auditID":null,"verb":null,"user":null,"stageTimestamp":null,"requestReceivedTimestamp":null`,
			[]string{"/items/1/auditID", "/items/1/verb", "/items/1/user/username", "/items/1/stageTimestamp"}},
	}
	for _, tt := range tests {
		bad := tt.item
		if c := bad[0]; c == '"' {
			bad = kubeItem(t, bad)
		}
		body := itemsBody(kubeItem(t, ""), bad, kubeItem(t, `"auditID":"other"`))
		res, err := DecodeKubernetes(body, KubernetesOptions{})
		if err != nil {
			t.Fatalf("DecodeKubernetes(%.100s): %v", tt.item, err)
		}
		if len(res.Events) != 2 {
			t.Errorf("DecodeKubernetes(%.100s) = %d events, want the 2 good ones", tt.item, len(res.Events))
		}
		var paths []string
		for _, e := range res.Errors {
			if e.Item != 1 {
				t.Errorf("DecodeKubernetes(%.100s): error %v for item %d, want item 1", tt.item, e, e.Item)
			}
			paths = append(paths, e.Path)
		}
		if fmt.Sprint(paths) != fmt.Sprint(tt.paths) {
			t.Errorf("DecodeKubernetes(%.100s) error paths = %q, want %q (errors %v)", tt.item, paths, tt.paths, res.Errors)
		}
		if got := string(res.Raw[1]); got != bad || len(res.Raw) != 1 {
			t.Errorf("DecodeKubernetes(%.100s).Raw = %.100q (%d items), want item 1's text %.100q", tt.item, got, len(res.Raw), bad)
		}
	}
}

func TestDecodeKubernetesBody(t *testing.T) {
	good := kubeItem(t, "")
	tests := []struct {
		body    string
		wantErr string // "" for success
		events  int
	}{
		{``, "empty input", 0},
		{`[` + good + `]`, "not an array", 0},
		{good, `kind is "", want "EventList"`, 0},
		{`{"kind":"Event","apiVersion":"audit.k8s.io/v1"}`, `kind is "Event"`, 0},
		{`{"kind":"EventList","apiVersion":"v1","items":[]}`, `apiVersion is "v1"`, 0},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}}`, "/items: must be an array", 0},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + good, "decoding EventList", 0},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}`, "", 0},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{}}`, "", 0},
		{`{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","metadata":{},"items":[` + good + `]}`, "", 1},
		{" \n" + string(itemsBody(good, good)) + "\n", "", 2},
	}
	for _, tt := range tests {
		res, err := DecodeKubernetes([]byte(tt.body), KubernetesOptions{})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("DecodeKubernetes(%.60q) = %v, want no error", tt.body, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("DecodeKubernetes(%.60q) = %v, want an error containing %q", tt.body, err, tt.wantErr)
		case len(res.Events) != tt.events:
			t.Errorf("DecodeKubernetes(%.60q) = %d events, want %d", tt.body, len(res.Events), tt.events)
		}
	}
}

func TestDecodeKubernetesSource(t *testing.T) {
	body := itemsBody(kubeItem(t, ""))
	res, err := DecodeKubernetes(body, KubernetesOptions{Source: "cluster-eu-1"})
	if err != nil || len(res.Events) != 1 || res.Events[0].Source != "cluster-eu-1" {
		t.Errorf("DecodeKubernetes with Source = %+v, %v; want one event from cluster-eu-1", res, err)
	}
	if _, err := DecodeKubernetes(body, KubernetesOptions{Source: strings.Repeat("s", 257)}); err == nil {
		t.Errorf("DecodeKubernetes with a 257-byte Source succeeded, want an error")
	}
}

// TestDecodeKubernetesLargeObject checks that an item with a 5 MB
// requestObject is reduced, as the Kubernetes truncate backend would, and
// not refused.
func TestDecodeKubernetesLargeObject(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 5<<20/16)
	item := kubeItem(t, `"level":"RequestResponse","verb":"create",`+
		`"objectRef":{"resource":"configmaps","namespace":"default","name":"blob","apiVersion":"v1"},`+
		`"requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"blob"},"data":{"blob":"`+big+`"}},`+
		`"responseObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"blob","uid":"1"}}`)
	res, err := DecodeKubernetes(itemsBody(item), KubernetesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 || len(res.Events) != 1 {
		t.Fatalf("DecodeKubernetes = %d events, errors %v; want 1 event", len(res.Events), res.Errors)
	}
	ev := res.Events[0]
	if ev.Data["truncated"] != true {
		t.Errorf("data.truncated = %v, want true", ev.Data["truncated"])
	}
	for _, k := range []string{"requestObject", "responseObject"} {
		if _, ok := ev.Data[k]; ok {
			t.Errorf("data.%s is kept, want it dropped", k)
		}
	}
	if ev.Type != "k8s.configmaps.create" || ev.Resource.ID != "default/blob" {
		t.Errorf("event = %s on %+v, want k8s.configmaps.create on default/blob", ev.Type, ev.Resource)
	}
	b, err := ev.CanonicalJSON()
	if err != nil || len(b) > DefaultMaxEventBytes {
		t.Errorf("CanonicalJSON = %d bytes, %v; want at most %d", len(b), err, DefaultMaxEventBytes)
	}

	// An item that fits keeps its objects; the limit is configurable.
	small := kubeItem(t, `"requestObject":{"data":"`+strings.Repeat("x", 3000)+`"}`)
	for _, tt := range []struct {
		max       int
		truncated bool
	}{{0, false}, {2000, true}} {
		res, err := DecodeKubernetes(itemsBody(small), KubernetesOptions{MaxEventBytes: tt.max})
		if err != nil || len(res.Events) != 1 {
			t.Fatalf("MaxEventBytes %d: %d events, errors %v, %v", tt.max, len(res.Events), res.Errors, err)
		}
		_, kept := res.Events[0].Data["requestObject"]
		if got := res.Events[0].Data["truncated"] == true; got != tt.truncated || kept == tt.truncated {
			t.Errorf("MaxEventBytes %d: truncated %v, requestObject kept %v; want truncated %v", tt.max, got, kept, tt.truncated)
		}
	}

	// Too large even without objects: an item error, as Kubernetes drops it.
	huge := kubeItem(t, `"annotations":{"big":"`+strings.Repeat("x", 70<<10)+`"}`)
	res, err = DecodeKubernetes(itemsBody(huge), KubernetesOptions{})
	if err != nil || len(res.Events) != 0 || len(res.Errors) != 1 || res.Errors[0].Path != "/items/0" {
		t.Errorf("DecodeKubernetes(70 KiB annotation) = %d events, errors %v, %v; want one error at /items/0", len(res.Events), res.Errors, err)
	}
}

// TestDecodeKubernetesObjectsNotStrict checks that a body that is JSON for
// encoding/json but not for an entry (duplicate keys, too deep) is dropped.
func TestDecodeKubernetesObjectsNotStrict(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	for _, obj := range []string{`{"a":1,"a":2}`, deep, `{"s":"\ud800"}`} {
		ev := decodeItem(t, withRaw(kubeItem(t, ""), `"requestObject":`+obj))
		if _, ok := ev.Data["requestObject"]; ok || ev.Data["truncated"] != true {
			t.Errorf("requestObject %.40s: kept %v, truncated %v; want dropped", obj, ok, ev.Data["truncated"])
		}
	}
}

// TestKubeconfigExample checks that the example in the package
// documentation is the one in testdata.
func TestKubeconfigExample(t *testing.T) {
	kubeconfig, err := os.ReadFile(filepath.Join("testdata", "audit-webhook.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var example strings.Builder
	for line := range strings.Lines(string(kubeconfig)) {
		if !strings.HasPrefix(line, "#") {
			example.WriteString("//\t" + line)
		}
	}
	if !strings.Contains(string(doc), example.String()) {
		t.Errorf("doc.go does not hold testdata/audit-webhook.kubeconfig as its example; want:\n%s", example.String())
	}
}
