package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"

	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/index"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/server"
	"github.com/a24ba333/indelible/internal/store/sqlite"
)

// localToken stands for the local operator in requests that a command
// answers in process on a data directory: whoever holds the data
// directory acts as an instance admin.
const localToken = "local-operator"

// operatorKeys authenticates the local operator, and administers keys as
// the operator.
type operatorKeys struct{ *apikey.Manager }

func (k operatorKeys) Authenticate(ctx context.Context, token string) (apikey.Principal, error) {
	if token == localToken {
		return operator(), nil
	}
	return apikey.Principal{}, apikey.ErrUnauthenticated
}

// serveLocal makes t answer its API calls in process, with the HTTP API
// of a server on t.dataDir (the same handlers, so the same answers), as
// the local operator. It is safe while a server runs on the directory.
func (t *target) serveLocal(ctx context.Context, common *commonFlags) (func(), error) {
	in, err := openInstance(ctx, t.dataDir, defaultInstanceName, common.logger(), ledger.Config{}, common.storeOptions())
	if err != nil {
		return nil, err
	}
	ix, err := sqlite.OpenIndex(ctx, sqlite.IndexConfig{Path: filepath.Join(t.dataDir, indexFile), Logger: common.logger()})
	if err != nil {
		in.Close()
		return nil, err
	}
	// Bring the index up to date first (a server on the directory keeps
	// it so; without one, this command does).
	indexer, err := index.New(index.Config{Store: in.db, Index: ix, Logger: common.logger()})
	if err != nil {
		ix.Close()
		in.Close()
		return nil, err
	}
	ictx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { indexer.Run(ictx); close(done) }()
	closeAll := func() { stop(); <-done; ix.Close(); in.Close() }
	if t.log != "" {
		head, err := in.db.Head(ctx, t.log)
		if err == nil && head.Size > 0 {
			err = indexer.Wait(ctx, t.log, head.Size-1)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("bringing the query index up to date: %w", err)
		}
	}
	if err := in.withIndex(ix, common.logger()); err != nil {
		closeAll()
		return nil, err
	}
	srv, err := server.New(server.Config{
		Ledger: in.ledger, Entries: in.db, Sealer: in.sealer, Keys: operatorKeys{in.keys},
		VerifierKey: in.key.Verifier, Index: ix, Follower: indexer, Capture: in.capture, Logger: common.logger(),
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	t.handler, t.key = srv.Handler(), localToken
	return closeAll, nil
}

// do sends req to the server, or answers it in process.
func (t *target) do(req *http.Request) (*http.Response, error) {
	if t.handler == nil {
		return http.DefaultClient.Do(req)
	}
	rec := httptest.NewRecorder()
	t.handler.ServeHTTP(rec, req)
	return rec.Result(), nil
}
