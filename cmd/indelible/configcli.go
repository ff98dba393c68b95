package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/internal/capture"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/signkey"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

// target is where a configuration command acts: a data directory (as the
// local operator) or a server (with an API key).
type target struct {
	dataDir string
	server  string
	key     string
	keyFile string
	log     string
	json    bool

	// handler answers the API in process for --data-dir (see serveLocal).
	handler http.Handler
}

func (t *target) define(fs *flag.FlagSet) {
	fs.StringVar(&t.dataDir, "data-dir", "", "`directory` of the instance to act on directly (also while a server runs on it)")
	fs.StringVar(&t.server, "server", "", "`URL` of a server to act on through its API")
	fs.StringVar(&t.key, "key", "", "API `token` for --server (an admin key to change, a reader key to look)")
	fs.StringVar(&t.keyFile, "key-file", "", "`file` holding the API token for --server")
	fs.StringVar(&t.log, "log", "", "the `log` (tenant) to configure; a tenant key's own log by default")
	fs.BoolVar(&t.json, "json", false, "print JSON instead of text")
}

func (t *target) check() error {
	if (t.dataDir == "") == (t.server == "") {
		return usageErrorf("give exactly one of --data-dir and --server")
	}
	if t.dataDir != "" && t.log == "" {
		return usageErrorf("--log is required with --data-dir")
	}
	if t.log != "" {
		if err := ledger.ValidLogName(t.log); err != nil {
			return usageErrorf("--log: %v", err)
		}
	}
	if t.server != "" && t.key == "" && t.keyFile != "" {
		b, err := os.ReadFile(t.keyFile)
		if err != nil {
			return fmt.Errorf("reading the API key: %w", err)
		}
		t.key = strings.TrimSpace(string(b))
	}
	if t.server != "" && t.key == "" {
		return usageErrorf("--server needs an API key: --key, --key-file or INDELIBLE_KEY")
	}
	return nil
}

// local opens the data directory and returns its capture manager, which
// finds configuration entries through the query index if there is one.
func (t *target) local(ctx context.Context, common *commonFlags) (*instance, func(), error) {
	in, err := openInstance(ctx, t.dataDir, defaultInstanceName, common.logger(), ledger.Config{}, common.storeOptions())
	if err != nil {
		return nil, nil, err
	}
	closeAll := func() { in.Close() }
	if p := filepath.Join(t.dataDir, indexFile); fileExists(p) {
		ix, err := sqlite.OpenIndex(ctx, sqlite.IndexConfig{Path: p, Logger: common.logger()})
		if err != nil {
			in.Close()
			return nil, nil, err
		}
		closeAll = func() { in.Close(); ix.Close() }
		if err := in.withIndex(ix, common.logger()); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	return in, closeAll, nil
}

// call sends one API request and decodes the JSON answer into out (or,
// for a *[]byte, keeps the body as it came).
func (t *target) call(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	if t.log != "" {
		if query == nil {
			query = url.Values{}
		}
		query.Set("log", t.log)
	}
	base := strings.TrimRight(t.server, "/")
	if t.handler != nil {
		base = "http://local"
	}
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return usageErrorf("--server: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+t.key)
	resp, err := t.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error   string `json:"error"`
			Details []struct {
				Line    int    `json:"line"`
				Path    string `json:"path"`
				Message string `json:"message"`
			} `json:"details"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
			for _, d := range e.Details {
				msg += fmt.Sprintf("\n  line %d %s: %s", d.Line, d.Path, d.Message)
			}
		}
		err := fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, msg)
		if resp.StatusCode == http.StatusUnprocessableEntity {
			return badData(err)
		}
		return err
	}
	switch out := out.(type) {
	case nil:
		return nil
	case *[]byte: // the body as it came (a checkpoint is text)
		*out = data
		return nil
	default:
		return json.Unmarshal(data, out)
	}
}

// actor is the local operator, as the configuration entries record it.
func localActor() capture.Actor {
	return capture.Actor{ID: operator().KeyID, Type: "operator"}
}

// printJSON prints v indented.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// either runs remote if the target is a server, and local on an instance
// opened on the target's data directory otherwise: every configuration
// command works both ways.
func (t *target) either(ctx context.Context, common *commonFlags, remote func() error, local func(*instance) error) error {
	if t.server != "" {
		return remote()
	}
	in, done, err := t.local(ctx, common)
	if err != nil {
		return err
	}
	defer done()
	return local(in)
}

// refusal marks a refused configuration as bad data (exit status 1).
func refusal(err error) error {
	var re *capture.RefusedError
	if errors.As(err, &re) {
		return badData(err)
	}
	return err
}

// printOutcome prints the result of a change.
func printOutcome(w io.Writer, what string, o capture.Outcome, asJSON bool) error {
	if asJSON {
		return printJSON(w, o)
	}
	switch o.Status {
	case "unchanged":
		fmt.Fprintf(w, "%s unchanged: %s is already in force\n", what, o.Hash)
	case "proposed":
		fmt.Fprintf(w, "%s proposed as %s (entry %d); it takes effect once another admin approves it:\n  indelible policy approve %s\n", what, o.Proposal, o.Index, o.Proposal)
	default:
		fmt.Fprintf(w, "%s %s is in force (entry %d", what, o.Hash, o.Index)
		if o.Version > 0 {
			fmt.Fprintf(w, ", version %d", o.Version)
		}
		fmt.Fprintln(w, ")")
	}
	if o.Diff != "" && o.Status != "unchanged" {
		fmt.Fprintln(w, o.Diff)
	}
	return nil
}

// readVerifiers reads the verifier key of a data directory (or keyPath).
func readVerifiers(dataDir, keyPath string) (note.Verifiers, string, error) {
	if keyPath == "" {
		keyPath = filepath.Join(dataDir, signkey.PublicFile)
	}
	v, err := signkey.ReadVerifier(keyPath)
	if err != nil {
		return nil, "", fmt.Errorf("reading the verifier key: %w", err)
	}
	return note.VerifierList(v), v.Name(), nil
}

// verifyAndRebuild verifies log in the data directory, then rebuilds its
// configuration from its entries alone (a full scan, not the index).
func verifyAndRebuild(ctx context.Context, in *instance, dataDir, log string) (*capture.State, *verify.SignedCheckpoint, error) {
	verifiers, name, err := readVerifiers(dataDir, "")
	if err != nil {
		return nil, nil, err
	}
	cp, err := ledger.AuditLog(ctx, in.db, log, ledger.AuditConfig{Origin: verify.Origin(name, log), Verifiers: verifiers})
	var ve *verify.Error
	if errors.As(err, &ve) {
		return nil, nil, badData(fmt.Errorf("log %s: first bad index %d: %s: %s", log, ve.Index, ve.Kind, ve.Detail))
	}
	if err != nil {
		return nil, nil, err
	}
	if cp == nil {
		return nil, nil, badData(fmt.Errorf("log %q has no entries", log))
	}
	st, err := capture.Rebuild(ctx, in.db, log, cp.Size)
	if err != nil {
		return nil, nil, err
	}
	return st, cp, nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
