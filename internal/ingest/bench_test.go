package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeKubernetes decodes a full webhook batch (400 items, the
// default --audit-webhook-batch-max-size) of Metadata-level events, and
// of RequestResponse-level ones with 1 KB objects. The encoding-json
// sub-benchmarks isolate the part of the cost that is encoding/json
// decoding the same body into the local types; the rest is mapping and
// validation.
//
//	go test -run '^$' -bench DecodeKubernetes ./internal/ingest/
func BenchmarkDecodeKubernetes(b *testing.B) {
	for _, bc := range []struct {
		name    string
		members string
	}{
		{"Metadata", `"level":"Metadata"`},
		{"RequestResponse", `"level":"RequestResponse","verb":"update","requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"flags","namespace":"default"},"data":{"a":"` + strings.Repeat("x", 1000) + `"}},"responseObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"flags","namespace":"default","uid":"0e6d2a9c-8b4f-4c1e-a3d7-5f9b1e0c4a82","resourceVersion":"48302"},"data":{"a":"` + strings.Repeat("x", 1000) + `"}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			items := make([]string, 400)
			for i := range items {
				items[i] = kubeItem(b, strings.Join([]string{fmt.Sprintf(`"auditID":"0b6f3f4e-8a51-4c0e-9f55-%012d"`, i), bc.members, `"user":{"username":"system:serviceaccount:ci:deployer","uid":"3f6a2e8d-1c9b-4d7e-b5a0-8e4f2c6d1a9b","groups":["system:serviceaccounts","system:serviceaccounts:ci","system:authenticated"],"extra":{"authentication.kubernetes.io/credential-id":["JTI=6b1e0d4f-9a2c-4e83-b7f5-0c3d8a1e2f94"],"authentication.kubernetes.io/pod-name":["deployer-7d9f8-abcde"]}}`}, ","))
			}
			body := itemsBody(items...)
			b.Run("DecodeKubernetes", func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					res, err := DecodeKubernetes(body, KubernetesOptions{})
					if err != nil || len(res.Events) != 400 {
						b.Fatalf("DecodeKubernetes = %d events, errors %v, %v", len(res.Events), res.Errors, err)
					}
				}
			})
			b.Run("encoding-json", func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					var list struct {
						Items []*kubeEvent `json:"items"`
					}
					if err := json.Unmarshal(body, &list); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
