package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/capture"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/seal"
	"github.com/a24ba333/indelible/internal/signkey"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/postgres"
	"github.com/a24ba333/indelible/internal/store/sqlite"
)

// instance is an opened data directory: the signing key, the store, the
// ledger on it, the sealer and the API keys. Several processes may open
// the same data directory (a server and a "keys create", say): the store
// serialises their writes.
type instance struct {
	key    *signkey.Key
	db     storeDB
	ledger *ledger.Ledger
	sealer *seal.Sealer
	keys   *apikey.Manager
	// capture is the schemas and capture policy of every log. Without
	// the query index (see withIndex) it finds their entries by scanning.
	capture *capture.Manager

	closeOnce sync.Once
	closeErr  error
}

// storeDB is what an instance needs of its store: the logs and the API
// keys (*sqlite.DB or *postgres.DB).
type storeDB interface {
	store.Store
	store.Keys
}

// storeOptions says which store an instance uses.
type storeOptions struct {
	url     string // a PostgreSQL URL, or "" for the SQLite file of the data directory
	migrate bool   // bring the PostgreSQL schema up to date
}

func (c *commonFlags) storeOptions() storeOptions { return storeOptions{c.store, c.migrate} }

// openStore opens the store of the data directory dir, or the PostgreSQL
// store so names.
func openStore(ctx context.Context, dir string, so storeOptions, logger *slog.Logger) (storeDB, error) {
	if so.url == "" {
		if so.migrate {
			return nil, usageErrorf("--migrate applies to a PostgreSQL --store only")
		}
		return sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, dbFile), Logger: logger})
	}
	if !strings.HasPrefix(so.url, "postgres://") && !strings.HasPrefix(so.url, "postgresql://") {
		return nil, usageErrorf("--store must be a postgres:// URL, not %q", redactURL(so.url))
	}
	db, err := postgres.Open(ctx, postgres.Config{URL: so.url, Migrate: so.migrate, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("opening the PostgreSQL store %s: %w", redactURL(so.url), err)
	}
	return db, nil
}

// redactURL leaves a password out of a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// openInstance opens dir, creating its signing key (named name) if it has
// none, with the store so says.
func openInstance(ctx context.Context, dir, name string, logger *slog.Logger, lcfg ledger.Config, so storeOptions) (*instance, error) {
	if err := requireDataDir(dir); err != nil {
		return nil, err
	}
	if err := validKeyName(name); err != nil {
		return nil, err
	}
	key, created, err := signkey.LoadOrInit(dir, name)
	if err != nil {
		return nil, fmt.Errorf("loading the signing key: %w", err)
	}
	if created {
		logger.Info("created checkpoint signing key (no key was present)", "name", key.Name(),
			"path", filepath.Join(dir, signkey.PrivateFile), "verifier", key.Verifier)
	}
	db, err := openStore(ctx, dir, so, logger)
	if err != nil {
		return nil, err
	}
	lcfg.Store, lcfg.Signer, lcfg.Logger = db, key.Signer, logger
	led, err := ledger.New(lcfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	sealer, err := seal.New(seal.Config{DigestKey: key.DigestKey()})
	if err != nil {
		led.Close()
		db.Close()
		return nil, err
	}
	in := &instance{key: key, db: db, ledger: led, sealer: sealer}
	in.keys, err = apikey.New(apikey.Config{Store: db, Record: in.record, ValidTenant: ledger.ValidLogName})
	if err != nil {
		in.Close()
		return nil, err
	}
	if err := in.withIndex(nil, logger); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// withIndex (re)creates the capture manager, finding configuration
// entries through ix if it is not nil.
func (in *instance) withIndex(ix capture.Index, logger *slog.Logger) error {
	m, err := capture.New(capture.Config{Entries: in.db, Index: ix, Record: in.recordAll, Logger: logger})
	if err != nil {
		return err
	}
	in.capture = m
	return nil
}

// recordAll appends events that Indelible writes about itself, in one
// commit, and returns their entries.
func (in *instance) recordAll(ctx context.Context, log string, evs []*event.Event) ([]store.Entry, error) {
	entries := make([]*event.Entry, len(evs))
	for i, ev := range evs {
		if err := ev.Validate(true); err != nil {
			return nil, err
		}
		e, err := in.sealer.Seal(log, ev)
		if err != nil {
			return nil, err
		}
		entries[i] = e
	}
	ap, err := in.ledger.Append(ctx, log, entries)
	if err != nil {
		return nil, err
	}
	out := make([]store.Entry, len(entries))
	for i, e := range entries {
		body, err := e.Canonical()
		if err != nil {
			return nil, err
		}
		out[i] = store.Entry{Index: ap.Results[i].Index, ID: e.ID, Body: body}
	}
	return out, nil
}

// record appends an event that Indelible writes about itself.
func (in *instance) record(ctx context.Context, log string, ev *event.Event) error {
	_, err := in.recordAll(ctx, log, []*event.Event{ev})
	return err
}

// Close waits for appends in flight, then closes the store. Calls after
// the first return its result.
func (in *instance) Close() error {
	in.closeOnce.Do(func() { in.closeErr = errors.Join(in.ledger.Close(), in.db.Close()) })
	return in.closeErr
}
