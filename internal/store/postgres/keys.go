package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a24ba333/indelible/internal/store"
)

const keyColumns = "id, tenant, role, name, created_by, hash, created_at, revoked_at"

// PutAPIKey implements store.Keys.
func (db *DB) PutAPIKey(ctx context.Context, k store.APIKey) error {
	var revoked *time.Time
	if !k.RevokedAt.IsZero() {
		revoked = &k.RevokedAt
	}
	err := db.withConn(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "INSERT INTO api_keys ("+keyColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			k.ID, k.Tenant, k.Role, k.Name, k.CreatedBy, k.Hash, k.CreatedAt, revoked)
		return err
	})
	if code, constraint := pgCode(err); code == uniqueViolation && constraint == "api_keys_pkey" {
		return fmt.Errorf("postgres: api key %q: %w", k.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: storing api key %q: %w", k.ID, err)
	}
	return nil
}

// APIKey implements store.Keys.
func (db *DB) APIKey(ctx context.Context, id string) (store.APIKey, error) {
	var k store.APIKey
	err := db.withConn(ctx, func(conn *pgx.Conn) (err error) {
		k, err = scanKey(conn.QueryRow(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = $1", id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIKey{}, fmt.Errorf("postgres: api key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("postgres: reading api key %q: %w", id, err)
	}
	return k, nil
}

// APIKeys implements store.Keys.
func (db *DB) APIKeys(ctx context.Context, tenant string) ([]store.APIKey, error) {
	var keys []store.APIKey
	err := db.withConn(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE $1 = '' OR tenant = $1 ORDER BY created_at, id", tenant)
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.APIKey, error) { return scanKey(row) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: listing api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey implements store.Keys. One statement sets revoked_at if it
// is not set and returns the row as stored afterwards.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) (store.APIKey, error) {
	var k store.APIKey
	err := db.withConn(ctx, func(conn *pgx.Conn) (err error) {
		k, err = scanKey(conn.QueryRow(ctx, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1 RETURNING "+keyColumns, id, at))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.APIKey{}, fmt.Errorf("postgres: api key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("postgres: revoking api key %q: %w", id, err)
	}
	return k, nil
}

func scanKey(row pgx.Row) (store.APIKey, error) {
	var k store.APIKey
	var revoked *time.Time
	if err := row.Scan(&k.ID, &k.Tenant, &k.Role, &k.Name, &k.CreatedBy, &k.Hash, &k.CreatedAt, &revoked); err != nil {
		return store.APIKey{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if revoked != nil {
		k.RevokedAt = revoked.UTC()
	}
	return k, nil
}
