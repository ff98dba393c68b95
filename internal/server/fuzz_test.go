package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzIngestBody posts arbitrary bodies through the ingest handlers: the
// answer is never a 5xx and always a well-formed JSON body.
func FuzzIngestBody(f *testing.F) {
	e := newEnv(f, envOptions{limits: Limits{MaxEventBytes: 2048, MaxBodyBytes: 64 << 10, MaxBatchEvents: 20}})
	h := e.srv.Handler()
	token := e.tokens[own+"-writer"]
	for _, s := range []string{
		ev("", 1), ev("f-1", 1), evs("", 0, 3, false), evs("", 0, 3, true), "", "[]", "[", "{", "null", `"x"`, "1e400",
		`{"type":"a.b","type":"a.b"}`, deep(40), "\xff", "[" + ev("same", 1) + "," + ev("same", 2) + "]",
		kubeList(), `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}`,
	} {
		for _, kind := range []uint8{0, 1, 2} {
			f.Add([]byte(s), kind)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		path, ct := "/v1/events", "application/json"
		switch kind % 3 {
		case 1:
			ct = ndjson
		case 2:
			path = "/v1/ingest/kubernetes"
		}
		r := httptest.NewRequest("POST", path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", ct)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("POST %s %q = %d %s", path, body, w.Code, w.Body)
		}
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("POST %s %q = %d with a body that is not JSON: %q", path, body, w.Code, w.Body)
		}
		if w.Code != http.StatusOK && v["error"] == nil {
			t.Fatalf("POST %s %q = %d without an error message: %s", path, body, w.Code, w.Body)
		}
	})
}
