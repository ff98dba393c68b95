package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

// RunKeys runs the conformance suite of store.Keys. newKeys must return an
// empty key store.
func RunKeys(t *testing.T, newKeys func(t *testing.T) store.Keys) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	key := func(id, tenant string, at time.Time) store.APIKey {
		return store.APIKey{ID: id, Tenant: tenant, Role: "writer", Name: "name " + id, CreatedBy: "test", Hash: []byte("hash-" + id), CreatedAt: at}
	}
	t.Run("PutGetList", func(t *testing.T) {
		ks := newKeys(t)
		for i, k := range []store.APIKey{key("b", "acme", t0), key("a", "acme", t0), key("c", "", t0.Add(time.Second)), key("d", "other", t0.Add(2*time.Second))} {
			if err := ks.PutAPIKey(ctx, k); err != nil {
				t.Fatalf("PutAPIKey #%d: %v", i, err)
			}
		}
		got, err := ks.APIKey(ctx, "c")
		if err != nil || got.Tenant != "" || got.Name != "name c" || string(got.Hash) != "hash-c" || !got.CreatedAt.Equal(t0.Add(time.Second)) || !got.RevokedAt.IsZero() {
			t.Fatalf("APIKey(c) = %+v, %v", got, err)
		}
		if _, err := ks.APIKey(ctx, "zz"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("APIKey(unknown) = %v, want ErrNotFound", err)
		}
		if err := ks.PutAPIKey(ctx, key("a", "x", t0)); !errors.Is(err, store.ErrExists) {
			t.Errorf("PutAPIKey of an existing id = %v, want ErrExists", err)
		}
		all, err := ks.APIKeys(ctx, "")
		if err != nil || len(all) != 4 || all[0].ID != "a" || all[1].ID != "b" || all[2].ID != "c" || all[3].ID != "d" {
			t.Errorf("APIKeys(all) = %v, %v; want a, b, c, d", ids(all), err)
		}
		acme, err := ks.APIKeys(ctx, "acme")
		if err != nil || len(acme) != 2 {
			t.Errorf("APIKeys(acme) = %v, %v; want a, b", ids(acme), err)
		}
	})
	t.Run("Revoke", func(t *testing.T) {
		ks := newKeys(t)
		if err := ks.PutAPIKey(ctx, key("a", "acme", t0)); err != nil {
			t.Fatal(err)
		}
		k, err := ks.RevokeAPIKey(ctx, "a", t0.Add(time.Hour))
		if err != nil || !k.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("RevokeAPIKey = %+v, %v", k, err)
		}
		k, err = ks.RevokeAPIKey(ctx, "a", t0.Add(2*time.Hour))
		if err != nil || !k.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("second RevokeAPIKey = %+v, %v; want the first time kept", k, err)
		}
		if got, _ := ks.APIKey(ctx, "a"); !got.RevokedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("APIKey after revoke = %+v", got)
		}
		if _, err := ks.RevokeAPIKey(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RevokeAPIKey(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func ids(keys []store.APIKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}
