package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/atomicfile"
	"github.com/a24ba333/indelible/internal/ledger"
)

// dbFile is the SQLite database inside the data directory.
const dbFile = "indelible.db"

// indexFile is the derived query index beside it.
const indexFile = "index.db"

func appendCommand() *command {
	return &command{
		name:     "append",
		summary:  "append events (NDJSON) to a log and print their indexes",
		synopsis: "append --data-dir DIR --log LOG [flags] [FILE]",
		help: `
Reads events from FILE (standard input if FILE is absent or "-"), one JSON
object per line (NDJSON), seals them into entries of log LOG and appends
them to the Merkle tree of that log in DIR. An event looks like:

  {"id":"evt-1","time":"2026-11-23T19:40:00Z","type":"auth.login","outcome":"failure","actor":{"id":"alice@example.com"}}

time, type and actor.id are required; unknown fields are errors.

Validation is all or nothing: every event is checked before any is
appended, and if one is invalid, every problem is printed to standard error
with its line and JSON path ("line 3: /actor/id: is required"), nothing is
appended and the exit status is 1.

Valid input is then appended in transactions of --max-batch events, so that
memory stays bounded for imports of any size. If the command is interrupted
or the machine crashes during a large import, the transactions already
committed stay in the log (a prefix of the input). Running the same file
again is safe: an event whose id the log already holds with the same content
is not appended twice; it is reported again with "duplicate":true. Events
without an id get a fresh id on every run, so give your events ids if you
may have to re-run an import. An id that the log holds with other content
stops the command with status 1.

For each event, one JSON object is printed to standard output:

  {"id":"evt-1","index":0,"leaf_hash":"<base64 SHA-256 leaf hash>"}

with "duplicate":true added for events that were already in the log. Then
the signed checkpoint covering them is printed to standard error, or
written to --checkpoint FILE: keep it outside this machine and pass it to
"indelible verify --trusted FILE" later to detect a rewritten history.

If DIR has no signing key yet, one is created (see "indelible keys init").`,
		examples: `
indelible append --data-dir ./data --log acme events.ndjson
cat events.ndjson | indelible append --data-dir ./data --log acme --checkpoint acme.checkpoint
INDELIBLE_DATA_DIR=./data indelible append --log acme history-2026-10.ndjson > results.ndjson`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			var o appendOptions
			fs.StringVar(&o.dataDir, "data-dir", "", "`directory` holding the database and keys (created if missing)")
			fs.StringVar(&o.log, "log", "", "`name` of the log (tenant) to append to: letters, digits, '_', '.', '-'")
			fs.StringVar(&o.name, "name", defaultInstanceName, "instance `name` of the signing key, if this command creates it")
			fs.IntVar(&o.maxBatch, "max-batch", 10000, "most `events` committed in one transaction; a large input is appended\nin transactions of this size")
			fs.DurationVar(&o.maxWait, "max-wait", 0, "how long the sequencer waits for a batch to fill before committing\n(only useful when several writers share the ledger)")
			fs.StringVar(&o.checkpoint, "checkpoint", "", "write the final signed checkpoint to `file` (atomically)\ninstead of standard error")
			return func(ctx context.Context, sio *stdio, args []string) error {
				switch len(args) {
				case 0:
				case 1:
					o.input = args[0]
				default:
					return usageErrorf("append reads one FILE, got %d arguments", len(args))
				}
				o.store = common.storeOptions()
				return appendEvents(ctx, sio, common.logger(), o)
			}
		},
	}
}

type appendOptions struct {
	dataDir, log, name string
	maxBatch           int
	maxWait            time.Duration
	checkpoint         string
	input              string
	store              storeOptions
}

// result is the line printed for each appended event.
type result struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	LeafHash  []byte `json:"leaf_hash"` // base64
	Duplicate bool   `json:"duplicate,omitempty"`
}

func appendEvents(ctx context.Context, sio *stdio, logger *slog.Logger, o appendOptions) error {
	if err := requireDataDir(o.dataDir); err != nil {
		return err
	}
	if o.log == "" {
		return usageErrorf("--log is required (or set %s)", envName("log"))
	}
	if err := ledger.ValidLogName(o.log); err != nil {
		return usageErrorf("--log: %v", err)
	}
	if err := validKeyName(o.name); err != nil {
		return err
	}
	if o.maxBatch <= 0 {
		return usageErrorf("--max-batch must be positive, got %d", o.maxBatch)
	}
	if o.maxWait < 0 {
		return usageErrorf("--max-wait must not be negative, got %v", o.maxWait)
	}

	// The data directory is opened first, so that a mistake there shows
	// before a long input is read.
	inst, err := openInstance(ctx, o.dataDir, o.name, logger, ledger.Config{MaxBatch: o.maxBatch, MaxWait: o.maxWait}, o.store)
	if err != nil {
		return err
	}
	defer inst.Close()
	if o.name != defaultInstanceName && o.name != inst.key.Name() {
		logger.Warn("--name ignored: the data directory already has a signing key", "name", inst.key.Name())
	}
	led, sealer := inst.ledger, inst.sealer

	in, err := openInput(o.input, sio.in)
	if err != nil {
		return err
	}
	defer in.Close()
	if in.src == nil && in.spool && isTerminal(sio.in) {
		logger.Info("reading events from the terminal, one JSON object per line; end with Ctrl-D")
	}
	v, err := validateInput(ctx, in.name, in.First(), o.log)
	var bad *invalidInput
	if errors.As(err, &bad) {
		bad.report(sio.err)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted while validating the input: nothing was appended")
	}
	if err != nil {
		return err
	}
	logger.Debug("input is valid", "input", in.name, "events", v.events, "without_id", v.noID)

	r, err := in.Second()
	if err != nil {
		return err
	}
	a := &appender{
		// A transaction in flight is finished even after an interrupt, so
		// that its results are known and printed; ctx is checked between
		// events.
		ctx: context.WithoutCancel(ctx), led: led, log: o.log, total: v.events, logger: logger,
		out: bufio.NewWriter(sio.out), max: o.maxBatch,
	}
	err = event.ReadNDJSON(r, event.DefaultLimits(), func(line int, ev *event.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, err := sealer.Seal(o.log, ev)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		a.entries = append(a.entries, e)
		a.lines = append(a.lines, line)
		if len(a.entries) == a.max {
			return a.flush()
		}
		return nil
	})
	if err == nil {
		err = a.flush()
	}
	if err != nil {
		var be *event.BatchError
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted")
		} else if errors.As(err, &be) {
			err = fmt.Errorf("%s changed while it was being appended (%v)", in.name, err)
		}
		return a.failed(err)
	}

	if o.checkpoint != "" {
		if err := atomicfile.Write(o.checkpoint, a.checkpoint, 0o644); err != nil {
			return fmt.Errorf("the events were appended, but the checkpoint was not saved: %w", err)
		}
	} else {
		sio.err.Write(a.checkpoint)
	}
	logger.Info("appended", "log", o.log, "events", a.done, "new", a.done-a.dups, "duplicates", a.dups, "tree_size", a.size)
	return nil
}

// appender appends sealed entries in chunks and prints their results.
type appender struct {
	ctx    context.Context
	led    *ledger.Ledger
	log    string
	logger *slog.Logger
	out    *bufio.Writer
	max    int
	total  int

	entries []*event.Entry // the current chunk
	lines   []int          // the input line of each entry of the chunk

	done, dups int    // events appended (or found) so far
	size       uint64 // tree size after the last chunk
	checkpoint []byte // signed checkpoint after the last chunk
}

// flush appends the current chunk and prints its results.
func (a *appender) flush() error {
	if len(a.entries) == 0 {
		return nil
	}
	res, err := a.led.Append(a.ctx, a.log, a.entries)
	if err != nil {
		var ce *ledger.ConflictError
		if errors.As(err, &ce) {
			line := a.lines[0]
			for i, e := range a.entries {
				if e.ID == ce.ID {
					line = a.lines[i]
					break
				}
			}
			return badData(fmt.Errorf("line %d: /id: %w", line, err))
		}
		return fmt.Errorf("appending the events of lines %d to %d: %w", a.lines[0], a.lines[len(a.lines)-1], err)
	}
	for _, r := range res.Results {
		b, err := json.Marshal(result{ID: r.ID, Index: r.Index, LeafHash: r.LeafHash[:], Duplicate: r.Duplicate})
		if err != nil {
			return err
		}
		a.out.Write(b)
		a.out.WriteByte('\n')
		if r.Duplicate {
			a.dups++
		}
	}
	if err := a.out.Flush(); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	a.done += len(res.Results)
	a.size, a.checkpoint = res.Size, res.Checkpoint
	if a.done < a.total {
		a.logger.Info("appending", "log", a.log, "events", a.done, "of", a.total, "tree_size", a.size)
	}
	a.entries, a.lines = a.entries[:0], a.lines[:0]
	return nil
}

// failed adds to err what was appended before it.
func (a *appender) failed(err error) error {
	if a.done == 0 {
		return fmt.Errorf("%w (nothing was appended)", err)
	}
	// The exit status of err is kept: fatal finds it through the wrapping.
	return fmt.Errorf("%w; the first %d events were appended (tree size %d) and their results printed; "+
		"running the same input again appends the rest, without duplicating events that have ids", err, a.done, a.size)
}
