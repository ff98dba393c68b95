package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/a24ba333/indelible/internal/store"
)

var _ store.Keys = (*DB)(nil)

const keyColumns = "id, tenant, role, name, created_by, hash, created_at, revoked_at"

// PutAPIKey implements store.Keys.
func (db *DB) PutAPIKey(ctx context.Context, k store.APIKey) error {
	_, err := db.w.ExecContext(ctx, "INSERT INTO api_keys ("+keyColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.Tenant, k.Role, k.Name, k.CreatedBy, k.Hash, k.CreatedAt.UnixMilli(), millis(k.RevokedAt))
	if isUniquePK(err) {
		return fmt.Errorf("sqlite: api key %q: %w", k.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: storing api key %q: %w", k.ID, err)
	}
	return nil
}

// APIKey implements store.Keys.
func (db *DB) APIKey(ctx context.Context, id string) (store.APIKey, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, fmt.Errorf("sqlite: api key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("sqlite: reading api key %q: %w", id, err)
	}
	return k, nil
}

// APIKeys implements store.Keys.
func (db *DB) APIKeys(ctx context.Context, tenant string) ([]store.APIKey, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE ? = '' OR tenant = ? ORDER BY created_at, id", tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing api keys: %w", err)
	}
	defer rows.Close()
	var keys []store.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: listing api keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: listing api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey implements store.Keys.
func (db *DB) RevokeAPIKey(ctx context.Context, id string, at time.Time) (store.APIKey, error) {
	_, err := db.w.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0", at.UnixMilli(), id)
	if err != nil {
		return store.APIKey{}, fmt.Errorf("sqlite: revoking api key %q: %w", id, err)
	}
	k, err := scanKey(db.w.QueryRowContext(ctx, "SELECT "+keyColumns+" FROM api_keys WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.APIKey{}, fmt.Errorf("sqlite: api key %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("sqlite: reading api key %q: %w", id, err)
	}
	return k, nil
}

func scanKey(row interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	var created, revoked int64
	if err := row.Scan(&k.ID, &k.Tenant, &k.Role, &k.Name, &k.CreatedBy, &k.Hash, &created, &revoked); err != nil {
		return store.APIKey{}, err
	}
	k.CreatedAt = time.UnixMilli(created).UTC()
	if revoked != 0 {
		k.RevokedAt = time.UnixMilli(revoked).UTC()
	}
	return k, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
