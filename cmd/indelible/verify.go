package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/internal/atomicfile"
	"github.com/a24ba333/indelible/internal/index"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/signkey"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

func verifyCommand() *command {
	return &command{
		name:     "verify",
		summary:  "check every entry, tile and checkpoint of the logs in a data directory",
		synopsis: "verify --data-dir DIR [--log LOG] [--key FILE] [--trusted FILE]... [--save-trusted FILE]\n" + verifyServerSynopsis,
		help: `
Verifies the logs of DIR (or only --log LOG) from their bytes: every entry's
leaf hash is recomputed, the Merkle tree is rebuilt and compared with every
stored tile and with every signed checkpoint, whose signatures are checked
with the verifier key. For each log it prints one line to standard output:

  log acme: verified 20 entries, checkpoint root <base64 root hash>

or, if the log was damaged, the first index at which the stored data and the
signed tree disagree, and the kind of damage:

  log acme: first bad index 7: entry changed: <detail>

The verifier key is read from --key FILE if given, else from
DIR/verifier.key. A key stored next to the data proves little against
whoever can write DIR: keep a copy elsewhere ("indelible keys public") and
pin it with --key.

Without a trusted checkpoint, verify can only tell that the log is
consistent with itself: someone holding the signing key could rewrite
history and re-sign it. --trusted FILE names a file of signed checkpoints
saved earlier (by "append --checkpoint" or "verify --save-trusted"; one or
more, separated by blank lines; the flag may be repeated). Each log must
extend its trusted checkpoint, which detects a rolled-back or forked log,
and a log that vanished. A trusted checkpoint that does not verify under
the key means that the log was re-signed with another key, or that the
wrong key is pinned.

--save-trusted FILE writes, after a successful verification, the newest
verified checkpoint of every log verified for the next run (it replaces FILE
atomically, so FILE may also be the --trusted file). Keep that file outside
this machine, where its operators cannot change it. With --log, every
trusted checkpoint must be of that log.

Verification is read-only and safe while other commands append to DIR.
Exit status: 0 all logs verified, 1 a log is damaged or a trusted checkpoint
does not verify, 2 usage or I/O error.` + verifyServerHelp,
		examples: `
indelible verify --data-dir ./data
indelible verify --data-dir ./data --key verifier.key --trusted trusted.checkpoints --save-trusted trusted.checkpoints
indelible verify --data-dir ./data --log acme --trusted acme.checkpoint --progress` + verifyServerExamples,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			var o verifyOptions
			fs.StringVar(&o.dataDir, "data-dir", "", "`directory` holding the database")
			fs.StringVar(&o.log, "log", "", "verify only the log `name` (default: every log)")
			fs.StringVar(&o.key, "key", "", "verifier key `file` (default DIR/verifier.key)")
			fs.Var(&o.trusted, "trusted", "`file` of signed checkpoints that the logs must extend (repeatable)")
			fs.StringVar(&o.saveTrusted, "save-trusted", "", "after success, write the newest verified checkpoints to `file`")
			fs.BoolVar(&o.progress, "progress", false, "report progress on standard error every few seconds\n(the default when standard error is a terminal)")
			var srv serverVerifyFlags
			srv.register(fs)
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				o.progress = o.progress || common.stderrIsTerminal
				if srv.server != "" {
					return verifyServer(ctx, sio, common.logger(), o, srv)
				}
				o.store = common.storeOptions()
				return verifyLogs(ctx, sio, common.logger(), o)
			}
		},
	}
}

type verifyOptions struct {
	dataDir, log, key, saveTrusted string
	trusted                        stringList
	progress                       bool
	store                          storeOptions
}

func verifyLogs(ctx context.Context, sio *stdio, logger *slog.Logger, o verifyOptions) error {
	if err := requireDataDir(o.dataDir); err != nil {
		return err
	}
	if o.log != "" {
		if err := ledger.ValidLogName(o.log); err != nil {
			return usageErrorf("--log: %v", err)
		}
	}
	if o.store.url == "" {
		if _, err := os.Stat(filepath.Join(o.dataDir, dbFile)); err != nil {
			return fmt.Errorf("no database to verify: %w", err)
		}
	}

	keyPath := o.key
	if keyPath == "" {
		keyPath = filepath.Join(o.dataDir, signkey.PublicFile)
		logger.Debug("using the verifier key of the data directory; pin one kept elsewhere with --key", "path", keyPath)
	}
	verifier, err := signkey.ReadVerifier(keyPath)
	if err != nil {
		return fmt.Errorf("reading the verifier key (give one with --key FILE): %w", err)
	}
	verifiers := note.VerifierList(verifier)
	instance := verifier.Name()

	trusted, err := trustedCheckpoints(o.trusted, verifiers, instance)
	if err != nil {
		return err
	}
	trustedByLog := map[string][]verify.SignedCheckpoint{}
	for origin, cps := range trusted {
		log, ok := strings.CutPrefix(origin, instance+"/")
		if !ok || ledger.ValidLogName(log) != nil {
			return usageErrorf("a trusted checkpoint has origin %q, which is not a log of instance %q", origin, instance)
		}
		if o.log != "" && log != o.log {
			return usageErrorf("a trusted checkpoint is for log %q, but --log is %q: give only checkpoints of the logs verified", log, o.log)
		}
		trustedByLog[log] = cps
	}

	db, err := openStore(ctx, o.dataDir, o.store, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	logs := []string{o.log}
	if o.log == "" {
		if logs, err = db.Logs(ctx); err != nil {
			return fmt.Errorf("listing logs: %w", err)
		}
		for log := range trustedByLog {
			if !slices.Contains(logs, log) {
				logs = append(logs, log) // it vanished: its trusted checkpoint says so
			}
		}
		slices.Sort(logs)
	}
	if len(logs) == 0 {
		fmt.Fprintf(sio.out, "no logs in %s\n", o.dataDir)
		return nil
	}

	// The query index, if the data directory has one, is checked against
	// the verified entries: a row deleted, added or altered would hide
	// events from queries.
	var ix *sqlite.IndexDB
	if ixPath := filepath.Join(o.dataDir, indexFile); fileExists(ixPath) {
		if ix, err = sqlite.OpenIndex(ctx, sqlite.IndexConfig{Path: ixPath, Logger: logger}); err != nil {
			return err
		}
		defer ix.Close()
	}

	verified := map[string][]byte{} // log -> newest verified checkpoint note
	var damaged, failed int
	for _, log := range logs {
		cfg := ledger.AuditConfig{Origin: verify.Origin(instance, log), Verifiers: verifiers}
		if o.progress {
			cfg.Progress = newProgress(sio.err, log).report
		}
		latest, err := auditLog(ctx, db, log, cfg, trustedByLog[log])
		if err == nil && ix != nil {
			err = index.Check(ctx, db, ix, log)
		}
		var ve *verify.Error
		switch {
		case errors.As(err, &ve):
			damaged++
			fmt.Fprintf(sio.out, "log %s: first bad index %d: %s: %s\n", log, ve.Index, ve.Kind, ve.Detail)
		case err != nil:
			failed++
			fmt.Fprintf(sio.out, "log %s: could not be verified: %v\n", log, err)
		case latest == nil:
			damaged++
			fmt.Fprintf(sio.out, "log %s: no entries and no checkpoint (no such log)\n", log)
		default:
			verified[log] = latest.Note
			fmt.Fprintf(sio.out, "log %s: verified %d entries, checkpoint root %s\n", log, latest.Size, base64.StdEncoding.EncodeToString(latest.Root[:]))
		}
	}
	switch {
	case damaged > 0:
		return badData(fmt.Errorf("verification failed for %d of %d logs", damaged, len(logs)))
	case failed > 0:
		return fmt.Errorf("%d of %d logs could not be verified", failed, len(logs))
	}

	if o.saveTrusted != "" {
		names := slices.Sorted(maps.Keys(verified))
		notes := make([][]byte, len(names))
		for i, log := range names {
			notes[i] = verified[log]
		}
		if err := atomicfile.Write(o.saveTrusted, joinNotes(notes), 0o644); err != nil {
			return fmt.Errorf("the logs verified, but the trusted checkpoints were not saved: %w", err)
		}
		logger.Info("saved trusted checkpoints", "path", o.saveTrusted, "logs", len(names))
	}
	return nil
}

// auditLog verifies log against the largest trusted checkpoint, then
// checks that the smaller ones, if any, are in the verified tree too.
func auditLog(ctx context.Context, st store.Store, log string, cfg ledger.AuditConfig, trusted []verify.SignedCheckpoint) (*verify.SignedCheckpoint, error) {
	if len(trusted) > 0 {
		cfg.Trusted = &trusted[0]
	}
	latest, err := ledger.AuditLog(ctx, st, log, cfg)
	if err != nil || len(trusted) < 2 {
		return latest, err
	}
	for _, t := range trusted[1:] {
		// Every stored checkpoint was just checked against the entries,
		// so a stored one with the same root proves t is in the tree.
		stored, err := st.Checkpoint(ctx, log, t.Size)
		if err == nil {
			if cp, err := verify.OpenCheckpoint(stored.Note, cfg.Verifiers, cfg.Origin); err == nil && cp.Root == t.Root {
				continue
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("reading checkpoint %d of log %q: %w", t.Size, log, err)
		}
		cfg.Trusted = &t
		cfg.Progress = nil
		if _, err := ledger.AuditLog(ctx, st, log, cfg); err != nil {
			return nil, err
		}
	}
	return latest, nil
}

// progress reports the progress of a long verification every few seconds.
type progress struct {
	w       io.Writer
	log     string
	start   time.Time
	last    time.Time
	printed bool
}

// progressEvery is the interval between progress lines.
const progressEvery = 3 * time.Second

func newProgress(w io.Writer, log string) *progress {
	now := time.Now()
	return &progress{w: w, log: log, start: now, last: now}
}

func (p *progress) report(done, total uint64) {
	now := time.Now()
	if done >= total {
		if p.printed {
			fmt.Fprintf(p.w, "log %s: %d of %d entries checked in %v\n", p.log, done, total, now.Sub(p.start).Round(time.Second))
		}
		return
	}
	if now.Sub(p.last) < progressEvery {
		return
	}
	p.last, p.printed = now, true
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "log %s: %d of %d entries checked (%.0f%%)\n", p.log, done, total, pct)
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
