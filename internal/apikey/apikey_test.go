package apikey_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/seal"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/sqlite"
)

type fixture struct {
	m   *apikey.Manager
	st  *sqlite.DB
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "indelible.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	skey, _, _ := note.GenerateKey(rand.Reader, "test")
	signer, _ := note.NewSigner(skey)
	l, err := ledger.New(ledger.Config{Store: st, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	sl, _ := seal.New(seal.Config{DigestKey: make([]byte, 32)})
	f := &fixture{st: st, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	m, err := apikey.New(apikey.Config{
		Store: st,
		Record: func(ctx context.Context, log string, ev *event.Event) error {
			if err := ev.Validate(true); err != nil {
				return err
			}
			en, err := sl.Seal(log, ev)
			if err != nil {
				return err
			}
			_, err = l.Append(ctx, log, []*event.Entry{en})
			return err
		},
		ValidTenant: ledger.ValidLogName,
		Clock:       func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	f.m = m
	return f
}

// logged returns the types of the entries of log.
func (f *fixture) logged(t *testing.T, log string) []string {
	t.Helper()
	es, err := f.st.ReadEntries(context.Background(), log, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range es {
		en, err := event.ParseEntry(e.Body)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, en.Type+" "+en.Resource.ID)
	}
	return types
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	root, k, err := f.m.Bootstrap(ctx)
	if err != nil || root == "" || k.Role != apikey.Admin || k.Tenant != "" {
		t.Fatalf("Bootstrap = %q, %+v, %v", root, k, err)
	}
	if again, _, err := f.m.Bootstrap(ctx); err != nil || again != "" {
		t.Fatalf("second Bootstrap = %q, %v; want no new key", again, err)
	}
	admin, err := f.m.Authenticate(ctx, root)
	if err != nil || admin.Role != apikey.Admin || admin.Tenant != "" {
		t.Fatalf("Authenticate(root) = %+v, %v", admin, err)
	}
	tok, wk, err := f.m.Create(ctx, admin, "acme", apikey.Writer, "billing")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.m.Authenticate(ctx, tok)
	if err != nil || p.Tenant != "acme" || p.Role != apikey.Writer || p.KeyID != wk.ID {
		t.Fatalf("Authenticate(writer) = %+v, %v", p, err)
	}
	// The store holds only the hash.
	sk, _ := f.st.APIKey(ctx, wk.ID)
	if strings.Contains(string(sk.Hash), tok) || len(sk.Hash) != 32 {
		t.Error("store holds more than a 32-byte hash")
	}
	// A wrong secret with the right id fails.
	forged := tok[:len(tok)-2] + "AA"
	if forged == tok {
		forged = tok[:len(tok)-2] + "BB"
	}
	if _, err := f.m.Authenticate(ctx, forged); !errors.Is(err, apikey.ErrUnauthenticated) {
		t.Errorf("Authenticate(forged) = %v", err)
	}
	for _, bad := range []string{"", "nope", "idl_zzzzzzzzzzzzzzzz_" + strings.Repeat("A", 43), tok + "x"} {
		if _, err := f.m.Authenticate(ctx, bad); !errors.Is(err, apikey.ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated", bad, err)
		}
	}
	// A tenant admin manages its own tenant only.
	atok, _, err := f.m.Create(ctx, admin, "acme", apikey.Admin, "acme admin")
	if err != nil {
		t.Fatal(err)
	}
	acmeAdmin, _ := f.m.Authenticate(ctx, atok)
	if _, _, err := f.m.Create(ctx, acmeAdmin, "other", apikey.Reader, ""); !errors.Is(err, apikey.ErrForbidden) {
		t.Errorf("tenant admin creating a key for another tenant = %v", err)
	}
	if _, _, err := f.m.Create(ctx, acmeAdmin, "", apikey.Reader, ""); !errors.Is(err, apikey.ErrForbidden) {
		t.Errorf("tenant admin creating an instance key = %v", err)
	}
	if _, _, err := f.m.Create(ctx, p, "acme", apikey.Reader, ""); !errors.Is(err, apikey.ErrForbidden) {
		t.Errorf("writer creating a key = %v", err)
	}
	if _, _, err := f.m.Create(ctx, admin, "bad/tenant", apikey.Reader, ""); err == nil {
		t.Error("key for an invalid tenant name created")
	}
	list, err := f.m.List(ctx, acmeAdmin, "acme")
	if err != nil || len(list) != 2 {
		t.Errorf("List(acme) = %v, %v", list, err)
	}
	if _, err := f.m.List(ctx, acmeAdmin, ""); !errors.Is(err, apikey.ErrForbidden) {
		t.Errorf("tenant admin listing all keys = %v", err)
	}
	// Revocation applies at once through the Manager.
	f.now = f.now.Add(time.Minute)
	rk, err := f.m.Revoke(ctx, acmeAdmin, wk.ID)
	if err != nil || rk.RevokedAt.IsZero() {
		t.Fatalf("Revoke = %+v, %v", rk, err)
	}
	if _, err := f.m.Authenticate(ctx, tok); !errors.Is(err, apikey.ErrUnauthenticated) {
		t.Errorf("Authenticate(revoked) = %v", err)
	}
	if _, err := f.m.Revoke(ctx, acmeAdmin, "0000000000000000"); !errors.Is(err, apikey.ErrNotFound) {
		t.Errorf("Revoke(unknown) = %v", err)
	}
	// Every change is in the log it concerns.
	wantAcme := []string{"indelible.key.created " + wk.ID, "indelible.key.created " + acmeAdmin.KeyID, "indelible.key.revoked " + wk.ID}
	if got := f.logged(t, "acme"); strings.Join(got, ",") != strings.Join(wantAcme, ",") {
		t.Errorf("acme log = %v, want %v", got, wantAcme)
	}
	if got := f.logged(t, apikey.SystemLog); len(got) != 1 || !strings.HasPrefix(got[0], "indelible.key.created ") {
		t.Errorf("_system log = %v", got)
	}
}

func TestRevocationByAnotherProcessAppliesAfterTTL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	root, _, _ := f.m.Bootstrap(ctx)
	p, _ := f.m.Authenticate(ctx, root)
	// Another process revokes directly in the store.
	if _, err := f.st.RevokeAPIKey(ctx, p.KeyID, f.now); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Authenticate(ctx, root); err != nil {
		t.Fatalf("within the cache TTL: %v", err)
	}
	f.now = f.now.Add(3 * time.Second)
	if _, err := f.m.Authenticate(ctx, root); !errors.Is(err, apikey.ErrUnauthenticated) {
		t.Errorf("after the cache TTL = %v, want ErrUnauthenticated", err)
	}
}

func TestCan(t *testing.T) {
	roles := []apikey.Role{apikey.Writer, apikey.Reader, apikey.Auditor, apikey.Admin}
	// want[have][need]
	want := map[apikey.Role]map[apikey.Role]bool{
		apikey.Writer:  {apikey.Writer: true},
		apikey.Reader:  {apikey.Reader: true},
		apikey.Auditor: {apikey.Reader: true, apikey.Auditor: true},
		apikey.Admin:   {apikey.Writer: true, apikey.Reader: true, apikey.Auditor: true, apikey.Admin: true},
	}
	for _, have := range roles {
		for _, need := range roles {
			p := apikey.Principal{Role: have, Tenant: "acme"}
			if got := p.Can(need, "acme"); got != want[have][need] {
				t.Errorf("%s.Can(%s, own) = %v, want %v", have, need, got, want[have][need])
			}
			if p.Can(need, "other") {
				t.Errorf("%s of acme can act on other", have)
			}
			inst := apikey.Principal{Role: have}
			if got := inst.Can(need, "other"); got != want[have][need] {
				t.Errorf("instance %s.Can(%s) = %v", have, need, got)
			}
		}
	}
	if _, err := apikey.ParseRole("root"); err == nil {
		t.Error("ParseRole(root) succeeded")
	}
	var _ store.Keys = (*sqlite.DB)(nil)
}
