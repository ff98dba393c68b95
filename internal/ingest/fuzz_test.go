package ingest

import (
	"strings"
	"testing"
)

func FuzzDecodeKubernetes(f *testing.F) {
	for _, body := range webhookBodies(f) {
		f.Add(body)
	}
	f.Add(itemsBody(`null`, `{}`, `{"auditID":"a","stage":"Panic","verb":"x","user":{"username":"u"},"requestReceivedTimestamp":"2026-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := DecodeKubernetes(body, KubernetesOptions{MaxEventBytes: 4096})
		if err != nil {
			if len(res.Events) > 0 || len(res.Errors) > 0 {
				t.Fatalf("DecodeKubernetes returned an error and a result")
			}
			return
		}
		for i, ev := range res.Events {
			if err := ev.Validate(false); err != nil {
				t.Fatalf("event %d: Validate: %v", i, err)
			}
			b, err := ev.CanonicalJSON()
			if err != nil {
				t.Fatalf("event %d: CanonicalJSON: %v", i, err)
			}
			if len(b) > 4096 {
				t.Fatalf("event %d is %d bytes, more than MaxEventBytes", i, len(b))
			}
		}
		for _, e := range res.Errors {
			if !strings.HasPrefix(e.Path, "/items/") {
				t.Fatalf("item error %v: path outside the items", e)
			}
		}
	})
}
