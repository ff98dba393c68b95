package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/client"
	"github.com/a24ba333/indelible/internal/atomicfile"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/verify"
)

// "indelible verify --server URL" checks a log through a server's public
// API, as an outside auditor or witness would, with the verify command's
// other flags (--key, --log, --progress).

const verifyServerSynopsis = "verify --server URL --key FILE --state FILE [--log LOG] [--entries] [--api-key KEY]"

const verifyServerHelp = `

With --server URL, verify checks one log of a running server instead of a
data directory, trusting nothing but the verifier key of --key FILE (which
must come from a trusted place, never from the server's /v1/key):

  1. the log's newest checkpoint must carry a valid signature by the key;
  2. it must extend the checkpoint saved in --state FILE by the previous run
     (if FILE exists): a smaller tree is a rollback, a tree whose RFC 6962
     consistency proof fails is a fork;
  3. with --entries, every entry added since the saved checkpoint (all of
     them on the first run) is fetched through the tlog-tiles API,
     re-hashed, and the tree is rebuilt and compared with the checkpoint's
     root hash (this needs a reader API key: --api-key);
  4. the new checkpoint replaces FILE (atomically), for the next run.

The log is --log LOG, or the log of the saved checkpoint. Checkpoints,
hash tiles and proofs are public (unless the server runs with
--private-tiles); entry bundles (--entries) need an API key with the reader
role (--api-key or INDELIBLE_API_KEY). On success it prints:

  log acme: verified size 1200 (consistent with saved size 1000)

Run it regularly (from cron, say) with the state file kept where the server's
operators cannot change it. Exit status: 0 verified, 1 rollback, fork, bad
signature or bad entries, 2 usage or network error.`

const verifyServerExamples = `
indelible verify --server https://audit.example.com --log acme --key verifier.key --state acme.checkpoint
INDELIBLE_API_KEY=$READER_KEY indelible verify --server https://audit.example.com --key verifier.key --state acme.checkpoint --entries`

// serverVerifyFlags are the flags of "verify --server".
type serverVerifyFlags struct {
	server, state, apiKey string
	entries               bool
}

func (s *serverVerifyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.server, "server", "", "verify a log of the server at `URL` instead of a data directory\n(needs --key and --state)")
	fs.StringVar(&s.state, "state", "", "with --server: `file` holding the checkpoint verified by the previous run;\nthe log must extend it, and the new checkpoint replaces it")
	fs.BoolVar(&s.entries, "entries", false, "with --server: also fetch every new entry, re-hash it and rebuild the tree\n(needs a reader API key)")
	fs.StringVar(&s.apiKey, "api-key", "", "with --server: API `key` with the reader role, for entry bundles (--entries)\nand for servers run with --private-tiles")
}

// verifyServer runs "verify --server".
func verifyServer(ctx context.Context, sio *stdio, logger *slog.Logger, o verifyOptions, s serverVerifyFlags) error {
	switch {
	case o.dataDir != "":
		return usageErrorf("--server and --data-dir exclude each other: verify either a server or a data directory")
	case len(o.trusted) > 0 || o.saveTrusted != "":
		return usageErrorf("--trusted and --save-trusted are for --data-dir; with --server, --state FILE keeps the trusted checkpoint")
	case o.key == "":
		return usageErrorf("--key FILE is required with --server: the verifier key, from a trusted place (never from the server)")
	case s.state == "":
		return usageErrorf("--state FILE is required with --server: it keeps the verified checkpoint from one run to the next")
	}
	keyText, err := os.ReadFile(o.key)
	if err != nil {
		return fmt.Errorf("reading the verifier key: %w", err)
	}
	vkey := strings.TrimSpace(string(keyText))
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return usageErrorf("--key %s: %v", o.key, err)
	}
	instance := verifier.Name()

	saved, err := readState(s.state, verifier)
	if err != nil {
		return err
	}
	log := o.log
	if saved != nil {
		stateLog, ok := strings.CutPrefix(saved.Origin, instance+"/")
		if !ok {
			return usageErrorf("--state %s holds a checkpoint of %q, which is not a log of instance %q", s.state, saved.Origin, instance)
		}
		if log == "" {
			log = stateLog
		} else if log != stateLog {
			return usageErrorf("--state %s holds a checkpoint of log %q, but --log is %q: give each log its own state file", s.state, stateLog, log)
		}
	}
	if log == "" {
		return usageErrorf("--log is required (there is no saved checkpoint in %s to take it from)", s.state)
	}
	if err := ledger.ValidLogName(log); err != nil {
		return usageErrorf("--log: %v", err)
	}

	opts := []client.Option{
		client.WithLog(log), client.WithVerifierKey(vkey), client.WithLogger(logger),
		client.WithRetry(4, 250*time.Millisecond, 2*time.Second),
	}
	if s.apiKey != "" {
		opts = append(opts, client.WithAPIKey(s.apiKey))
	}
	c, err := client.New(s.server, opts...)
	if err != nil {
		return usageErrorf("--server: %v", err)
	}

	bad := func(index uint64, kind verify.Kind, format string, args ...any) error {
		fmt.Fprintf(sio.out, "log %s: first bad index %d: %s: %s\n", log, index, kind, fmt.Sprintf(format, args...))
		return badData(fmt.Errorf("log %s: verification of %s failed", log, s.server))
	}
	cp, err := c.Checkpoint(ctx)
	if errors.Is(err, client.ErrBadCheckpoint) {
		return bad(0, verify.CheckpointSignature, "the newest checkpoint does not verify under the pinned key %q: %v", vkey, err)
	}
	if err != nil {
		return serverError(log, err)
	}
	logger.Debug("fetched the newest checkpoint", "log", log, "size", cp.Size)

	var savedSize uint64
	if saved != nil {
		savedSize = saved.Size
		switch {
		case cp.Size < saved.Size:
			return bad(cp.Size, verify.Rollback, "the server's newest checkpoint has size %d, but the checkpoint saved in %s has size %d", cp.Size, s.state, saved.Size)
		case cp.Size == saved.Size && cp.Root != saved.Root:
			return bad(0, verify.Fork, "the server's newest checkpoint and the one saved in %s both have size %d but different root hashes", s.state, cp.Size)
		case cp.Size > saved.Size && saved.Size > 0:
			hashes, err := c.ConsistencyProof(ctx, saved.Size, cp.Size)
			if err != nil {
				return serverError(log, err)
			}
			if err := verify.Consistency(saved.Size, cp.Size, saved.Root, cp.Root, hashes); err != nil {
				logger.Debug("consistency proof failed", "err", err)
				return bad(0, verify.Fork, "the server's checkpoint of size %d (root %x) is not consistent with the checkpoint of size %d (root %x) saved in %s: the consistency proof does not verify",
					cp.Size, cp.Root[:8], saved.Size, saved.Root[:8], s.state)
			}
		}
	}

	if s.entries {
		var p *progress
		if o.progress {
			p = newProgress(sio.err, log)
		}
		if verr, err := verifyServerEntries(ctx, c, saved, cp, p); err != nil {
			return serverError(log, err)
		} else if verr != nil {
			return bad(verr.Index, verr.Kind, "%s", verr.Detail)
		}
	}

	if err := atomicfile.Write(s.state, cp.Note, 0o644); err != nil {
		return fmt.Errorf("log %s verified, but the checkpoint was not saved: %w", log, err)
	}
	if saved == nil {
		fmt.Fprintf(sio.out, "log %s: verified size %d (no saved checkpoint yet; saved this one)\n", log, cp.Size)
	} else {
		fmt.Fprintf(sio.out, "log %s: verified size %d (consistent with saved size %d)\n", log, cp.Size, savedSize)
	}
	if s.entries {
		fmt.Fprintf(sio.out, "log %s: entries %d..%d re-hashed, the tree matches the checkpoint\n", log, savedSize, int64(cp.Size)-1)
	}
	return nil
}

// readState reads the checkpoint saved by the previous run, or nil if
// there is none.
func readState(path string, verifier note.Verifier) (*verify.SignedCheckpoint, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the saved checkpoint: %w", err)
	}
	notes, err := splitNotes(data)
	if err != nil {
		return nil, usageErrorf("--state %s: %v", path, err)
	}
	if len(notes) != 1 {
		return nil, usageErrorf("--state %s holds %d checkpoints, want one (one state file per log)", path, len(notes))
	}
	cp, err := verify.OpenCheckpoint(notes[0], note.VerifierList(verifier), "")
	if err != nil {
		return nil, badData(fmt.Errorf("the checkpoint saved in %s does not verify under the pinned key %q: "+
			"either the log was re-signed with another key, or the wrong key is pinned (%v)", path, verifier.Name(), err))
	}
	return &cp, nil
}

// verifyServerEntries fetches the entries from the saved size (or 0) to
// cp's size, re-hashes them and rebuilds the tree, seeded for a start
// above 0 from the server's hash tiles (which must give the saved root).
// It returns a *verify.Error for bad data, or an error if the server could
// not be read.
func verifyServerEntries(ctx context.Context, c *client.Client, saved, cp *verify.SignedCheckpoint, p *progress) (*verify.Error, error) {
	log := cp.Origin[strings.LastIndexByte(cp.Origin, '/')+1:]
	fail := func(index uint64, kind verify.Kind, format string, args ...any) *verify.Error {
		return &verify.Error{Log: log, Index: index, Kind: kind, Detail: fmt.Sprintf(format, args...)}
	}
	size := cp.Size
	var start uint64
	tree := verify.NewTree()
	if saved != nil && saved.Size > 0 {
		start = saved.Size
		var err error
		tree, err = verify.LoadTree(start, func(level uint8, index uint64) ([]byte, error) {
			return fetchTile(ctx, c, level, index, size)
		})
		if err != nil {
			return nil, fmt.Errorf("loading the tree of size %d from the hash tiles: %w", start, err)
		}
		if root := tree.Root(); root != saved.Root {
			return fail(0, verify.TileChanged, "the server's hash tiles give the tree of size %d the root %x, but the saved checkpoint has %x", start, root[:8], saved.Root[:8]), nil
		}
	}
	// The first entry whose hash differs from the server's level-0 hash
	// tile: where the damage is, if the root does not match.
	var firstDiff struct {
		found      bool
		index      uint64
		leaf, tile []byte
	}
	for n := start / verify.TileWidth; start < size && n*verify.TileWidth < size; n++ {
		width := int(min(verify.TileWidth, size-n*verify.TileWidth))
		entries, err := fetchBundle(ctx, c, n, width)
		if err != nil {
			return nil, err
		}
		tile, err := fetchTile(ctx, c, 0, n, size)
		if err != nil {
			return nil, err
		}
		for i, e := range entries {
			index := n*verify.TileWidth + uint64(i)
			if index < start {
				continue
			}
			leaf := verify.LeafHash(e)
			tree.Append(leaf, nil)
			if th := tile[i*verify.HashSize : (i+1)*verify.HashSize]; !firstDiff.found && !bytes.Equal(th, leaf[:]) {
				firstDiff.found, firstDiff.index, firstDiff.leaf, firstDiff.tile = true, index, leaf[:], th
			}
		}
		if p != nil {
			p.report(tree.Size()-start, size-start)
		}
	}
	if p != nil {
		p.report(size-start, size-start)
	}
	root := tree.Root()
	switch {
	case root != cp.Root && firstDiff.found:
		return fail(firstDiff.index, verify.EntryChanged, "entry %d does not hash to the leaf of the signed tree (leaf %x, the hash tile holds %x)",
			firstDiff.index, firstDiff.leaf[:8], firstDiff.tile[:8]), nil
	case root != cp.Root:
		return fail(start, verify.CheckpointRoot, "entries %d..%d do not hash to the checkpoint of size %d (root %x, entries give %x)",
			start, size-1, size, cp.Root[:8], root[:8]), nil
	case firstDiff.found:
		return fail(firstDiff.index, verify.TileChanged, "the entries match the signed tree, but hash tile 0/%d disagrees at entry %d",
			firstDiff.index/verify.TileWidth, firstDiff.index), nil
	}
	return nil, nil
}

// fetchTile fetches the hash tile at (level, index) of the tree of the
// given size: partial if the tree ends inside it. A partial tile that the
// server no longer has (the tree grew) is read from the full tile.
func fetchTile(ctx context.Context, c *client.Client, level uint8, index, size uint64) ([]byte, error) {
	count := size >> (verify.TileHeight * uint(level)) // hashes of the level in the tree
	if index*verify.TileWidth >= count {
		return nil, fmt.Errorf("tile %d/%d is outside the tree of size %d: %w", level, index, size, fs.ErrNotExist)
	}
	width := int(min(verify.TileWidth, count-index*verify.TileWidth))
	data, err := c.Tile(ctx, level, index, width)
	if width < verify.TileWidth && isNotFound(err) {
		if full, ferr := c.Tile(ctx, level, index, verify.TileWidth); ferr == nil {
			return full[:width*verify.HashSize], nil
		}
	}
	return data, err
}

// fetchBundle is fetchTile for entry bundles.
func fetchBundle(ctx context.Context, c *client.Client, index uint64, width int) ([][]byte, error) {
	entries, err := c.EntryBundle(ctx, index, width)
	if width < verify.TileWidth && isNotFound(err) {
		if full, ferr := c.EntryBundle(ctx, index, verify.TileWidth); ferr == nil {
			return full[:width], nil
		}
	}
	return entries, err
}

// serverError adds to an error of the server what to do about it.
func serverError(log string, err error) error {
	var ae *client.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden) {
		return fmt.Errorf("log %s: %w (give a key with the reader role: --api-key or %s)", log, err, envName("api-key"))
	}
	return fmt.Errorf("log %s: %w", log, err)
}

func isNotFound(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
