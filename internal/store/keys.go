package store

import (
	"context"
	"errors"
	"time"
)

// ErrExists is returned by PutAPIKey for an id that is already stored.
var ErrExists = errors.New("store: already exists")

// APIKey is a stored API key. The store keeps only a hash of the secret
// token: whoever reads the database cannot use the keys it lists.
type APIKey struct {
	ID        string // public identifier, part of the token
	Tenant    string // the log the key may use; "" for the whole instance
	Role      string
	Name      string
	CreatedBy string // the id of the key that created it, or a description
	Hash      []byte // SHA-256 of the whole token
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key is valid
}

// Keys stores API keys. It is a separate interface from Store because only
// the server's authentication uses it. Methods are safe for concurrent use,
// also by several processes sharing one database, and durable once they
// return nil.
type Keys interface {
	// PutAPIKey stores a new key, or returns ErrExists.
	PutAPIKey(ctx context.Context, k APIKey) error
	// APIKey returns the key with the given id, or ErrNotFound.
	APIKey(ctx context.Context, id string) (APIKey, error)
	// APIKeys returns every key of a tenant ("" lists all keys), ordered
	// by creation time, then id.
	APIKeys(ctx context.Context, tenant string) ([]APIKey, error)
	// RevokeAPIKey sets the key's RevokedAt if it is not set yet and
	// returns the key as stored afterwards; ErrNotFound for an unknown id.
	// Revoking twice keeps the first time.
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (APIKey, error)
}
