// Package apikey issues, checks and revokes API keys, and decides what a
// key's role allows.
//
// A token is "idl_" + a 16-hex-digit key id + "_" + 43 characters of
// base64url secret (32 random bytes). The store keeps the id and the
// SHA-256 of the whole token, never the token, which is shown once when
// the key is created. Every creation and revocation is first recorded as
// an entry of the log it concerns (indelible.key.created / .revoked; the
// log "_system" for instance-wide keys), so that who could do what, and
// since when, is itself tamper-evident.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
)

// Role is what a key may do.
type Role string

// The roles. Writer may only ingest; reader may read (query, proofs,
// entries); auditor is reader plus findings, reports and export; admin is
// auditor plus configuration and keys, and may also ingest.
const (
	Writer  Role = "writer"
	Reader  Role = "reader"
	Auditor Role = "auditor"
	Admin   Role = "admin"
)

// ParseRole parses a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Writer, Reader, Auditor, Admin:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want writer, reader, auditor or admin)", s)
}

// covers reports whether role r includes the rights of need.
func (r Role) covers(need Role) bool {
	rank := map[Role]int{Reader: 1, Auditor: 2, Admin: 3}
	switch {
	case r == Admin:
		return true
	case need == Writer:
		return r == Writer
	case r == Writer:
		return false
	}
	return rank[r] >= rank[need]
}

// SystemLog is the log of instance-wide administration.
const SystemLog = "_system"

// Principal is an authenticated caller.
type Principal struct {
	KeyID  string
	Tenant string // "" for an instance-wide key
	Role   Role
}

// QuarantineSuffix names a tenant's quarantine log, "<tenant>.quarantine",
// where invalid events that could not be refused are kept. Its tenant's
// keys may read it; only Indelible writes it.
const QuarantineSuffix = ".quarantine"

// Can reports whether p may act with role need on log: the log of its
// tenant (or any log for an instance-wide key), and for reading, the
// tenant's quarantine log.
func (p Principal) Can(need Role, log string) bool {
	if !p.Role.covers(need) {
		return false
	}
	return p.Tenant == "" || p.Tenant == log || need != Writer && log == p.Tenant+QuarantineSuffix
}

var (
	// ErrUnauthenticated means the token is missing, malformed, unknown
	// or revoked.
	ErrUnauthenticated = errors.New("invalid or revoked API key")
	// ErrForbidden means the caller's key does not allow the action.
	ErrForbidden = errors.New("the API key does not allow this")
	// ErrNotFound means there is no key with that id.
	ErrNotFound = errors.New("no such API key")
)

// Key is an API key as listed: never its secret.
type Key struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Role      Role      `json:"role"`
	Name      string    `json:"name"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Recorder appends an Indelible event to a log and returns once it is
// durable.
type Recorder func(ctx context.Context, log string, ev *event.Event) error

// Config configures a Manager.
type Config struct {
	// Store keeps the keys. Required.
	Store store.Keys
	// Record records key changes in the log. Required.
	Record Recorder
	// ValidTenant checks a tenant (log) name. Required.
	ValidTenant func(string) error
	// CacheTTL bounds how long a key looked up is trusted without asking
	// the store again, and so how long a revocation made by another
	// process takes to apply (default 2s). Revocations through this
	// Manager apply at once.
	CacheTTL time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

// Manager checks and administers keys. It is safe for concurrent use.
type Manager struct {
	cfg Config

	mu    sync.Mutex
	cache map[string]cached // by key id; guarded by mu
}

type cached struct {
	key     store.APIKey
	fetched time.Time
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil || cfg.Record == nil || cfg.ValidTenant == nil {
		return nil, errors.New("apikey: Config.Store, Record and ValidTenant are required")
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 2 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Manager{cfg: cfg, cache: map[string]cached{}}, nil
}

const (
	tokenPrefix = "idl_"
	idLen       = 16 // hex digits
	secretLen   = 43 // base64url of 32 bytes, unpadded
)

// newToken returns a fresh token and its id.
func newToken() (token, id string, err error) {
	var b [8 + 32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("generating key: %w", err)
	}
	id = hex.EncodeToString(b[:8])
	return tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(b[8:]), id, nil
}

// parseToken returns the key id of a well-formed token.
func parseToken(token string) (string, bool) {
	if len(token) != len(tokenPrefix)+idLen+1+secretLen || token[:len(tokenPrefix)] != tokenPrefix || token[len(tokenPrefix)+idLen] != '_' {
		return "", false
	}
	id := token[len(tokenPrefix) : len(tokenPrefix)+idLen]
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(token[len(tokenPrefix)+idLen+1:]); err != nil {
		return "", false
	}
	return id, true
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate returns the principal of a token, or ErrUnauthenticated.
func (m *Manager) Authenticate(ctx context.Context, token string) (Principal, error) {
	id, ok := parseToken(token)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	k, err := m.lookup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare(k.Hash, hashToken(token)) != 1 || !k.RevokedAt.IsZero() {
		return Principal{}, ErrUnauthenticated
	}
	return Principal{KeyID: k.ID, Tenant: k.Tenant, Role: Role(k.Role)}, nil
}

func (m *Manager) lookup(ctx context.Context, id string) (store.APIKey, error) {
	now := m.cfg.Clock()
	m.mu.Lock()
	c, ok := m.cache[id]
	m.mu.Unlock()
	if ok && now.Sub(c.fetched) < m.cfg.CacheTTL {
		return c.key, nil
	}
	k, err := m.cfg.Store.APIKey(ctx, id)
	if err != nil {
		return store.APIKey{}, err
	}
	m.mu.Lock()
	m.cache[id] = cached{key: k, fetched: now}
	m.mu.Unlock()
	return k, nil
}

func publicKey(k store.APIKey) Key {
	return Key{ID: k.ID, Tenant: k.Tenant, Role: Role(k.Role), Name: k.Name, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
}

// logOf returns the log where changes to a tenant's keys are recorded.
func logOf(tenant string) string {
	if tenant == "" {
		return SystemLog
	}
	return tenant
}

// Create issues a key for tenant ("" for an instance-wide key) on behalf
// of by, which must be an admin whose scope covers tenant (only
// instance admins create instance keys). It returns the token, which is
// shown once and never stored.
func (m *Manager) Create(ctx context.Context, by Principal, tenant string, role Role, name string) (string, Key, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", Key{}, err
	}
	if tenant != "" {
		if err := m.cfg.ValidTenant(tenant); err != nil {
			return "", Key{}, err
		}
	}
	if by.Role != Admin || (by.Tenant != "" && by.Tenant != tenant) {
		return "", Key{}, ErrForbidden
	}
	if len(name) > 200 {
		return "", Key{}, errors.New("key name is longer than 200 bytes")
	}
	token, id, err := newToken()
	if err != nil {
		return "", Key{}, err
	}
	now := m.cfg.Clock().UTC()
	k := store.APIKey{ID: id, Tenant: tenant, Role: string(role), Name: name, CreatedBy: by.KeyID, Hash: hashToken(token), CreatedAt: now}
	ev := keyEvent("indelible.key.created", by, k, now)
	ev.Data["hash"] = base64.StdEncoding.EncodeToString(k.Hash)
	if err := m.cfg.Record(ctx, logOf(tenant), ev); err != nil {
		return "", Key{}, fmt.Errorf("recording key creation: %w", err)
	}
	if err := m.cfg.Store.PutAPIKey(ctx, k); err != nil {
		return "", Key{}, fmt.Errorf("storing key: %w", err)
	}
	return token, publicKey(k), nil
}

// keyEvent is the meta-audit event of a key change.
func keyEvent(typ string, by Principal, k store.APIKey, now time.Time) *event.Event {
	return &event.Event{
		Time:     now,
		Type:     typ,
		Outcome:  event.OutcomeSuccess,
		Actor:    event.Actor{ID: by.KeyID, Type: "api_key"},
		Resource: &event.Resource{Type: "api_key", ID: k.ID},
		Source:   "indelible",
		Data:     map[string]any{"tenant": k.Tenant, "role": k.Role, "name": k.Name},
	}
}

// List returns the keys of tenant ("" for all keys), as by may see them:
// an instance admin sees any, a tenant admin only its tenant's.
func (m *Manager) List(ctx context.Context, by Principal, tenant string) ([]Key, error) {
	if by.Role != Admin || (by.Tenant != "" && by.Tenant != tenant) {
		return nil, ErrForbidden
	}
	ks, err := m.cfg.Store.APIKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := make([]Key, len(ks))
	for i, k := range ks {
		out[i] = publicKey(k)
	}
	return out, nil
}

// Revoke revokes the key id on behalf of by (an admin whose scope covers
// the key's tenant). Revoking a revoked key changes nothing and records
// nothing.
func (m *Manager) Revoke(ctx context.Context, by Principal, id string) (Key, error) {
	k, err := m.cfg.Store.APIKey(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Key{}, ErrNotFound
	}
	if err != nil {
		return Key{}, err
	}
	if by.Role != Admin || (by.Tenant != "" && by.Tenant != k.Tenant) {
		// A tenant admin learns nothing about other tenants' keys.
		return Key{}, ErrNotFound
	}
	if !k.RevokedAt.IsZero() {
		return publicKey(k), nil
	}
	now := m.cfg.Clock().UTC()
	if err := m.cfg.Record(ctx, logOf(k.Tenant), keyEvent("indelible.key.revoked", by, k, now)); err != nil {
		return Key{}, fmt.Errorf("recording key revocation: %w", err)
	}
	k, err = m.cfg.Store.RevokeAPIKey(ctx, id, now)
	if err != nil {
		return Key{}, err
	}
	m.mu.Lock()
	delete(m.cache, id)
	m.mu.Unlock()
	return publicKey(k), nil
}

// Bootstrap creates an instance admin key if the store holds no key at
// all, and returns its token ("" if keys exist). The caller writes it
// where only the operator can read it.
func (m *Manager) Bootstrap(ctx context.Context) (string, Key, error) {
	ks, err := m.cfg.Store.APIKeys(ctx, "")
	if err != nil {
		return "", Key{}, err
	}
	if len(ks) > 0 {
		return "", Key{}, nil
	}
	return m.Create(ctx, Principal{KeyID: "bootstrap", Role: Admin}, "", Admin, "bootstrap admin")
}
