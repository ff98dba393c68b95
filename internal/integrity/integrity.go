// Package integrity watches the logs of a running instance so that
// tampering is noticed at once, not at the next manual audit.
//
// A Watcher re-verifies every log from its bytes on a schedule (as
// "indelible verify" does) against the newest checkpoint it verified
// before, which it keeps in a file beside the data: an edited, inserted
// or deleted entry, a changed tile, and a store restored from an older
// copy (a tree smaller than a checkpoint already published) all fail. A
// failure raises a critical finding, recorded as an
// indelible.finding.opened entry (detector "integrity") in the log
// "_system", with the damaged log, the first bad index and the kind of
// damage; it is raised once per log and damage until the log verifies
// again. Between two passes, every second, it hashes what was committed
// since the last verified tree and checks it against the newest signed
// checkpoint (Tail), so that a freshly committed entry that is changed, or
// a log that shrinks, is caught within a second.
package integrity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/atomicfile"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/verify"
)

// TypeViolation names the damage in the finding a violation raises.
const TypeViolation = "indelible.integrity.violation"

// SystemLog is where violations are recorded.
const SystemLog = "_system"

// Config configures a Watcher. Store, Verifiers, Origin, Dir and Record
// are required.
type Config struct {
	Store     store.Store
	Verifiers note.Verifiers
	// Origin returns the checkpoint origin of a log.
	Origin func(log string) string
	// Dir keeps the newest verified checkpoint of each log, so that a
	// store rolled back while the server was down is caught too.
	Dir string
	// Record appends an event about the violation to SystemLog.
	Record func(ctx context.Context, log string, ev *event.Event) error
	// Every is the pause between full passes (default 30s). A pass
	// verifies at about a million entries a second on one core.
	Every time.Duration
	// Clock stamps violations (default time.Now).
	Clock  func() time.Time
	Logger *slog.Logger
	// OnViolation, if set, is called for each new violation (to alert).
	OnViolation func(v Violation)
}

// Violation is damage found in a log.
type Violation struct {
	Log    string `json:"log"`
	Index  uint64 `json:"index"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Watcher re-verifies the logs.
type Watcher struct {
	cfg Config

	mu       sync.Mutex
	reported map[string]string // log -> key of the violation reported; guarded by mu
	verified map[string]uint64 // log -> size verified by the last pass; guarded by mu

	tails map[string]*tail // the tail checks' trees; owned by the Run goroutine
}

// New returns a Watcher.
func New(cfg Config) (*Watcher, error) {
	if cfg.Store == nil || cfg.Verifiers == nil || cfg.Origin == nil || cfg.Dir == "" || cfg.Record == nil {
		return nil, errors.New("integrity: Config.Store, Verifiers, Origin, Dir and Record are required")
	}
	if cfg.Every <= 0 {
		cfg.Every = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	return &Watcher{cfg: cfg, reported: map[string]string{}, verified: map[string]uint64{}, tails: map[string]*tail{}}, nil
}

// Run verifies every log now and then every Every, and checks what is
// committed in between every second (Tail), until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	next := time.Now()
	for {
		if !time.Now().Before(next) {
			if _, err := w.Pass(ctx); err != nil && ctx.Err() == nil {
				w.cfg.Logger.Warn("integrity pass failed", "err", err)
			}
			next = time.Now().Add(w.cfg.Every)
		} else if _, err := w.Tail(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("integrity tail check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(tailEvery, time.Until(next))):
		}
	}
}

// Verified returns the size of each log that the last pass verified.
func (w *Watcher) Verified() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]uint64, len(w.verified))
	for k, v := range w.verified {
		out[k] = v
	}
	return out
}

// Pass verifies every log once and returns the violations it found (new
// or already reported).
func (w *Watcher) Pass(ctx context.Context) ([]Violation, error) {
	logs, err := w.cfg.Store.Logs(ctx)
	if err != nil {
		return nil, err
	}
	// A log whose trusted checkpoint exists but which the store no longer
	// lists was deleted: check it too.
	if ents, err := os.ReadDir(w.cfg.Dir); err == nil {
		known := map[string]bool{}
		for _, l := range logs {
			known[l] = true
		}
		for _, e := range ents {
			if name, ok := strings.CutSuffix(e.Name(), ".checkpoint"); ok && !known[name] && ledger.ValidLogName(name) == nil {
				logs = append(logs, name)
			}
		}
	}
	var found []Violation
	var errs []error
	for _, log := range logs {
		v, err := w.check(ctx, log)
		switch {
		case err != nil:
			errs = append(errs, err)
		case v != nil:
			found = append(found, *v)
			if err := w.report(ctx, *v); err != nil {
				errs = append(errs, err)
			}
		default:
			w.mu.Lock()
			delete(w.reported, log)
			w.mu.Unlock()
		}
	}
	return found, errors.Join(errs...)
}

// check verifies one log against its trusted checkpoint, and on success
// keeps the newest verified checkpoint as the trusted one.
func (w *Watcher) check(ctx context.Context, log string) (*Violation, error) {
	path := filepath.Join(w.cfg.Dir, log+".checkpoint")
	var trusted *verify.SignedCheckpoint
	if b, err := os.ReadFile(path); err == nil {
		cp, err := verify.OpenCheckpoint(b, w.cfg.Verifiers, w.cfg.Origin(log))
		if err != nil {
			return nil, fmt.Errorf("integrity: the trusted checkpoint of log %q: %w", log, err)
		}
		trusted = &cp
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	latest, err := ledger.AuditLog(ctx, w.cfg.Store, log, ledger.AuditConfig{Origin: w.cfg.Origin(log), Verifiers: w.cfg.Verifiers, Trusted: trusted})
	var ve *verify.Error
	switch {
	case errors.As(err, &ve):
		return &Violation{Log: log, Index: ve.Index, Kind: string(ve.Kind), Detail: ve.Detail}, nil
	case err != nil:
		return nil, fmt.Errorf("integrity: verifying log %q: %w", log, err)
	case latest == nil && trusted != nil:
		return &Violation{Log: log, Index: 0, Kind: string(verify.Rollback), Detail: fmt.Sprintf("the log is gone, but a checkpoint of size %d was published", trusted.Size)}, nil
	case latest == nil:
		return nil, nil
	}
	if trusted == nil || latest.Size > trusted.Size {
		if err := atomicfile.Write(path, latest.Note, 0o600); err != nil {
			return nil, err
		}
	}
	w.mu.Lock()
	w.verified[log] = latest.Size
	w.mu.Unlock()
	return nil, nil
}

// report records v, once per log and damage.
func (w *Watcher) report(ctx context.Context, v Violation) error {
	key := fmt.Sprintf("%d %s", v.Index, v.Kind)
	w.mu.Lock()
	seen := w.reported[v.Log] == key
	w.reported[v.Log] = key
	w.mu.Unlock()
	if seen {
		return nil
	}
	w.cfg.Logger.Error("integrity violation: the stored log does not match what was signed", "log", v.Log,
		"first_bad_index", v.Index, "kind", v.Kind, "detail", v.Detail)
	if w.cfg.OnViolation != nil {
		w.cfg.OnViolation(v)
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%s", v.Log, v.Index, v.Kind))
	id := "integrity-" + hex.EncodeToString(h[:12])
	summary := fmt.Sprintf("log %s: first bad index %d: %s: %s", v.Log, v.Index, v.Kind, v.Detail)
	ev := &event.Event{
		ID: id, Time: w.cfg.Clock().UTC(), Type: "indelible.finding.opened", Outcome: event.OutcomeFailure,
		Actor:    event.Actor{ID: "indelible/integrity", Type: "system"},
		Resource: &event.Resource{Type: "finding", ID: id}, Source: "indelible", Message: summary,
		Data: map[string]any{
			"rule": TypeViolation, "detector": "integrity", "severity": "critical", "group_key": "log:" + v.Log,
			"summary": summary, "evidence": []any{}, "log": v.Log, "first_bad_index": v.Index, "kind": v.Kind,
		},
	}
	if err := w.cfg.Record(ctx, SystemLog, ev); err != nil {
		return fmt.Errorf("integrity: recording the violation of log %q: %w", v.Log, err)
	}
	return nil
}
