package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/a24ba333/indelible/internal/apikey"
)

// credentials are the columns of the authorisation matrix, in order.
var credentials = []string{
	"none", "malformed", "unknown", "revoked",
	own + "-writer", own + "-reader", own + "-auditor", own + "-admin",
	other + "-writer", other + "-reader", other + "-auditor", other + "-admin",
	"instance-writer", "instance-reader", "instance-auditor", "instance-admin",
}

// header returns the Authorization header of a credential.
func (e *testEnv) header(cred string) string {
	switch cred {
	case "none":
		return ""
	case "malformed":
		return "Bearer not-a-key"
	case "unknown":
		return "Bearer idl_0123456789abcdef_" + strings.Repeat("A", 43)
	}
	return "Bearer " + e.tokens[cred]
}

// matrixRow is one endpoint: the exact status for each credential.
type matrixRow struct {
	name   string
	method string
	// path returns the request path; it may create what the request needs.
	path func(t *testing.T, e *testEnv) string
	body string
	want [16]int // by credentials
}

func fixed(p string) func(*testing.T, *testEnv) string {
	return func(*testing.T, *testEnv) string { return p }
}

func runMatrix(t *testing.T, e *testEnv, rows []matrixRow) {
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for i, cred := range credentials {
				path := row.path(t, e)
				r, err := http.NewRequest(row.method, e.ts.URL+path, strings.NewReader(row.body))
				if err != nil {
					t.Fatal(err)
				}
				if h := e.header(cred); h != "" {
					r.Header.Set("Authorization", h)
				}
				resp, err := e.ts.Client().Do(r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != row.want[i] {
					t.Errorf("%s %s with %s key = %d, want %d", row.method, path, cred, resp.StatusCode, row.want[i])
				}
				if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s with %s key: 401 without WWW-Authenticate: Bearer", row.method, path, cred)
				}
			}
		})
	}
}

// TestAuthMatrix checks every endpoint with every kind of key, against
// the log of tenant own.
func TestAuthMatrix(t *testing.T) {
	const (
		u = http.StatusUnauthorized
		f = http.StatusForbidden
		k = http.StatusOK
		c = http.StatusCreated
		n = http.StatusNotFound
	)
	e := newEnv(t, envOptions{})
	e.ingest(t, "", ev("", 0))
	l := "/v1/logs/" + own
	freshKey := func(t *testing.T, e *testEnv) string {
		token := e.newKey(t, own, apikey.Reader)
		return "/v1/keys/" + strings.Split(token, "_")[1]
	}
	//        none mal unk rev | own: W R Au Ad | other: W R Au Ad | instance: W R Au Ad
	rows := []matrixRow{
		{"ingest", "POST", fixed("/v1/events?log=" + own), ev("", 1),
			[16]int{u, u, u, u, k, f, f, k, f, f, f, f, k, f, f, k}},
		{"ingest kubernetes", "POST", fixed("/v1/ingest/kubernetes?log=" + own), kubeList(fmt.Sprintf(kubeItem, "0b3c5e1a-5555-4f60-8e71-b9d0c3a2f5e8")),
			[16]int{u, u, u, u, k, f, f, k, f, f, f, f, k, f, f, k}},
		{"checkpoint", "GET", fixed(l + "/checkpoint"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"hash tile", "GET", fixed(l + "/tile/0/000.p/1"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"malformed hash tile", "GET", fixed(l + "/tile/0/1"), "",
			[16]int{400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400}},
		{"entry bundle", "GET", fixed(l + "/tile/entries/000.p/1"), "",
			[16]int{u, u, u, u, f, k, k, k, f, f, f, f, f, k, k, k}},
		{"entry", "GET", fixed(l + "/entries/0"), "",
			[16]int{u, u, u, u, f, k, k, k, f, f, f, f, f, k, k, k}},
		{"inclusion proof", "GET", fixed(l + "/proof/inclusion?index=0&size=1"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"consistency proof", "GET", fixed(l + "/proof/consistency?from=1&to=1"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"verifier key", "GET", fixed("/v1/key"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"create tenant key", "POST", fixed("/v1/keys"), `{"tenant":"` + own + `","role":"reader","name":"ci"}`,
			[16]int{u, u, u, u, f, f, f, c, f, f, f, f, f, f, f, c}},
		{"create instance key", "POST", fixed("/v1/keys"), `{"tenant":"","role":"reader","name":"ci"}`,
			[16]int{u, u, u, u, f, f, f, f, f, f, f, f, f, f, f, c}},
		{"list keys", "GET", fixed("/v1/keys"), "",
			[16]int{u, u, u, u, f, f, f, k, f, f, f, k, f, f, f, k}},
		{"list a tenant's keys", "GET", fixed("/v1/keys?tenant=" + own), "",
			[16]int{u, u, u, u, f, f, f, k, f, f, f, f, f, f, f, k}},
		{"revoke key", "DELETE", freshKey, "",
			[16]int{u, u, u, u, f, f, f, k, f, f, f, n, f, f, f, k}},
		{"metrics", "GET", fixed("/metrics"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"healthz", "GET", fixed("/healthz"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"readyz", "GET", fixed("/readyz"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
	}
	runMatrix(t, e, rows)
}

// TestAuthMatrixPrivateTiles checks the public endpoints when they are
// made private.
func TestAuthMatrixPrivateTiles(t *testing.T) {
	const (
		u = http.StatusUnauthorized
		f = http.StatusForbidden
		k = http.StatusOK
	)
	e := newEnv(t, envOptions{privateTiles: true})
	e.ingest(t, "", ev("", 0))
	l := "/v1/logs/" + own
	//        none mal unk rev | own: W R Au Ad | other: W R Au Ad | instance: W R Au Ad
	rows := []matrixRow{
		{"checkpoint", "GET", fixed(l + "/checkpoint"), "",
			[16]int{u, u, u, u, f, k, k, k, f, f, f, f, f, k, k, k}},
		{"hash tile", "GET", fixed(l + "/tile/0/000.p/1"), "",
			[16]int{u, u, u, u, f, k, k, k, f, f, f, f, f, k, k, k}},
		{"inclusion proof", "GET", fixed(l + "/proof/inclusion?index=0&size=1"), "",
			[16]int{u, u, u, u, f, k, k, k, f, f, f, f, f, k, k, k}},
		{"consistency proof", "GET", fixed(l + "/proof/consistency?from=1&to=1"), "",
			[16]int{u, u, u, u, f, k, k, k, f, f, f, f, f, k, k, k}},
		{"verifier key", "GET", fixed("/v1/key"), "",
			[16]int{u, u, u, u, k, k, k, k, k, k, k, k, k, k, k, k}},
		{"metrics", "GET", fixed("/metrics"), "",
			[16]int{u, u, u, u, f, f, f, f, f, f, f, f, f, k, k, k}},
		{"healthz", "GET", fixed("/healthz"), "",
			[16]int{k, k, k, k, k, k, k, k, k, k, k, k, k, k, k, k}},
	}
	runMatrix(t, e, rows)
	// What needs a key must not be kept by shared caches.
	for _, path := range []string{l + "/tile/0/000.p/1", "/v1/key"} {
		resp, _ := e.get(t, path)
		if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
			t.Errorf("GET %s with private tiles: Cache-Control %q, want private", path, cc)
		}
	}
}

func TestKeysAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.tokens[own+"-admin"]
	resp, body := e.do(t, request{method: "POST", path: "/v1/keys", token: admin, body: []byte(`{"tenant":"` + own + `","role":"writer","name":"ci"}`)})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/keys = %d %s", resp.StatusCode, body)
	}
	var created createKeyResponse
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.Token == "" || created.ID == "" || created.Tenant != own || created.Role != apikey.Writer || created.Name != "ci" {
		t.Fatalf("created %+v", created)
	}
	// The new key works.
	if resp, body := e.do(t, request{method: "POST", path: "/v1/events", token: created.Token, body: []byte(ev("", 1))}); resp.StatusCode != 200 {
		t.Fatalf("ingest with the new key = %d %s", resp.StatusCode, body)
	}
	// Listing shows it, without secrets.
	_, body = e.do(t, request{method: "GET", path: "/v1/keys", token: admin})
	if !strings.Contains(string(body), created.ID) || strings.Contains(string(body), created.Token) || strings.Contains(string(body), "hash") {
		t.Errorf("GET /v1/keys = %s, want the new key without secrets", body)
	}
	if strings.Contains(string(body), `"tenant":"`+other+`"`) {
		t.Errorf("a tenant admin's list holds other tenants' keys: %s", body)
	}
	// Revoking it stops it at once.
	if resp, body := e.do(t, request{method: "DELETE", path: "/v1/keys/" + created.ID, token: admin}); resp.StatusCode != 200 || !strings.Contains(string(body), "revoked_at") {
		t.Fatalf("DELETE = %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, request{method: "POST", path: "/v1/events", token: created.Token, body: []byte(ev("", 2))}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("ingest with the revoked key = %d, want 401", resp.StatusCode)
	}
	for _, tt := range []struct {
		method, path, body string
		code               int
	}{
		{"POST", "/v1/keys", `{"tenant":"` + own + `","role":"root","name":"x"}`, 400},
		{"POST", "/v1/keys", `{"tenant":"-bad","role":"reader","name":"x"}`, 400},
		{"POST", "/v1/keys", `{"tenant":"` + own + `","role":"reader","name":"` + strings.Repeat("n", 201) + `"}`, 400},
		{"POST", "/v1/keys", `{"tenant":"` + own + `","role":"reader","colour":"red"}`, 400},
		{"POST", "/v1/keys", `not json`, 400},
		{"POST", "/v1/keys", `{"tenant":"` + other + `","role":"reader","name":"x"}`, 403},
		{"DELETE", "/v1/keys/0000000000000000", "", 404},
		{"GET", "/v1/keys?tenant=" + other, "", 403},
	} {
		if resp, body := e.do(t, request{method: tt.method, path: tt.path, token: admin, body: []byte(tt.body)}); resp.StatusCode != tt.code {
			t.Errorf("%s %s %s = %d %s, want %d", tt.method, tt.path, tt.body, resp.StatusCode, body, tt.code)
		}
	}
}
