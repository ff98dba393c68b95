// Package index keeps the query index of every log up to date with the
// log's committed entries, and checks it against them.
//
// The index is derived data: an Indexer reads the entries that the ledger
// committed, from the index's watermark on, and writes their IndexRows,
// outside the append transaction and possibly behind it. Queries report
// the watermark that their answer reflects, and a reader that must see its
// own writes waits for the watermark (Wait). After a crash the Indexer
// resumes from the stored watermark; deleting the index rebuilds it from 0.
// Check compares the index with the entries, so that verification catches
// an index row deleted, added or changed to hide events from queries.
package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/backlog"
	"github.com/a24ba333/indelible/internal/store"
)

// Config configures New.
type Config struct {
	// Store holds the entries, the source of truth.
	Store store.Store
	// Index receives the rows.
	Index store.Index
	// Logger receives indexing errors. Nil discards them.
	Logger *slog.Logger
	// Batch is the most entries read and written per WriteIndex.
	// Zero means 5000.
	Batch int
	// Poll is how often every log is checked for new entries when nothing
	// calls Notify, and how often Wait asks the index for its watermark
	// (another process may be the indexer). Zero means 100ms.
	Poll time.Duration
	// Settle is the least time between two passes woken by Offer or
	// Notify (zero means 50ms; negative, none): the entries committed
	// meanwhile are indexed together. Each pass is a transaction with a
	// fixed cost, which a pass per small commit (many clients sending
	// one event each) would pay thousands of times a second. A Wait does
	// not settle: it wakes the indexer at once.
	Settle time.Duration
}

// Indexer follows the logs of a store and writes their index rows.
type Indexer struct {
	st     store.Store
	ix     store.Index
	logger *slog.Logger
	batch  int
	poll   time.Duration
	settle time.Duration

	wake   chan struct{} // capacity 1: a Notify is pending
	urgent chan struct{} // capacity 1: a Wait is pending

	offered *backlog.Backlog // committed entries not indexed yet

	mu      sync.Mutex
	pending map[string]bool   // logs notified since the last pass; guarded by mu
	marks   map[string]uint64 // watermarks written or seen by this process; guarded by mu
	changed chan struct{}     // closed when a mark moves, then replaced; guarded by mu
}

// maxBatchesPerPass bounds the batches one log gets in a row, so that a
// log with a long backlog (a rebuild) does not starve the others.
const maxBatchesPerPass = 20

// New returns an Indexer. It does nothing until Run.
func New(cfg Config) (*Indexer, error) {
	if cfg.Store == nil || cfg.Index == nil {
		return nil, errors.New("index: Config.Store and Config.Index are required")
	}
	if cfg.Batch < 0 || cfg.Poll < 0 {
		return nil, fmt.Errorf("index: Config.Batch %d and Config.Poll %v must not be negative", cfg.Batch, cfg.Poll)
	}
	x := &Indexer{
		st:      cfg.Store,
		ix:      cfg.Index,
		logger:  cfg.Logger,
		batch:   cfg.Batch,
		poll:    cfg.Poll,
		settle:  cfg.Settle,
		wake:    make(chan struct{}, 1),
		urgent:  make(chan struct{}, 1),
		pending: make(map[string]bool),
		offered: backlog.New(maxOffered),
		marks:   make(map[string]uint64),
		changed: make(chan struct{}),
	}
	if x.logger == nil {
		x.logger = slog.New(slog.DiscardHandler)
	}
	if x.batch == 0 {
		x.batch = 5000
	}
	if x.poll == 0 {
		x.poll = 100 * time.Millisecond
	}
	if x.settle == 0 {
		x.settle = 50 * time.Millisecond
	}
	return x, nil
}

// maxOffered bounds the committed entries an Indexer keeps from Offer,
// all logs together, waiting to be indexed; past it, the oldest are
// dropped and read back from the store instead. The detectors hold the
// same entries, so the bound costs little memory of its own.
const maxOffered = 1 << 17

// Offer hands the indexer entries just committed to log, at indexes
// start, start+1, ..., and wakes it as Notify does. The indexer then
// indexes them from memory instead of reading them back from the store
// and decoding them. It never blocks and keeps references to the
// entries, which must not change (see ledger.Config.OnCommit).
func (x *Indexer) Offer(log string, start uint64, entries []*event.Entry) {
	x.offered.Offer(log, start, entries)
	x.Notify(log)
}

// Notify tells the indexer that log has new committed entries, so that it
// indexes them now rather than at the next poll. It never blocks; the
// server calls it after each commit.
func (x *Indexer) Notify(log string) {
	x.mu.Lock()
	x.pending[log] = true
	x.mu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
}

// Run indexes until ctx is done, then returns ctx's error. Every Poll it
// brings every log of the store up to its head; in between, the logs
// named by Notify. Errors are logged and the log retried at the next
// poll: an index that cannot be written only lags (see Lag).
func (x *Indexer) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	all := true
	for {
		var logs []string
		x.mu.Lock()
		for log := range x.pending {
			logs = append(logs, log)
		}
		clear(x.pending)
		x.mu.Unlock()
		if all {
			l, err := x.st.Logs(ctx)
			switch {
			case err == nil:
				logs = l
			case ctx.Err() == nil:
				x.logger.Error("listing logs to index", "err", err)
			}
		}
		behind := false
		for _, log := range logs {
			more, err := x.catchUp(ctx, log, maxBatchesPerPass)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				x.logger.Error("indexing", "log", log, "err", err)
			}
			if more {
				x.mu.Lock()
				x.pending[log] = true
				x.mu.Unlock()
				behind = true
			}
		}
		if behind {
			all = false
			continue
		}
		passed := time.Now()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-x.urgent:
			all = false
		case <-x.wake:
			all = false
			// Let the commits of the next moments join this pass.
			settle := time.NewTimer(x.settle - time.Since(passed))
			select {
			case <-ctx.Done():
				settle.Stop()
				return ctx.Err()
			case <-x.urgent:
			case <-settle.C:
			}
			settle.Stop()
		case <-timer.C:
			all = true
			timer.Reset(x.poll)
		}
	}
}

// catchUp indexes up to maxBatches batches of log, up to its head. It
// reports whether the log still has entries to index.
func (x *Indexer) catchUp(ctx context.Context, log string, maxBatches int) (more bool, err error) {
	wm, err := x.ix.IndexWatermark(ctx, log)
	if err != nil {
		return false, err
	}
	x.advance(log, wm)
	head, err := x.st.Head(ctx, log)
	if err != nil {
		return false, fmt.Errorf("reading head: %w", err)
	}
	if wm > head.Size {
		return false, fmt.Errorf("the index covers %d entries, the log has only %d: rebuild the index", wm, head.Size)
	}
	end := min(head.Size, wm+uint64(maxBatches)*uint64(x.batch))
	if wm == end {
		return false, nil
	}
	// Reading and parsing the next batch overlaps writing this one.
	ctx, cancel := context.WithCancel(ctx)
	batches := make(chan rowBatch, 1)
	go x.read(ctx, log, wm, end, batches)
	defer func() {
		cancel()
		for range batches { // wait for read to return
		}
	}()
	for b := range batches {
		if b.err != nil {
			return false, b.err
		}
		err := x.ix.WriteIndex(ctx, log, wm, b.rows)
		if errors.Is(err, store.ErrConflict) {
			return true, nil // another indexer wrote: start again from its watermark
		}
		if err != nil {
			return false, err
		}
		wm += uint64(len(b.rows))
		x.advance(log, wm)
	}
	return wm < head.Size, ctx.Err()
}

type rowBatch struct {
	rows []store.IndexRow
	err  error
}

// read sends the rows of entries [start, end) of log in batches, or an
// error, and closes out.
func (x *Indexer) read(ctx context.Context, log string, start, end uint64, out chan<- rowBatch) {
	defer close(out)
	for lo := start; lo < end; lo += uint64(x.batch) {
		hi := min(end, lo+uint64(x.batch))
		entries, to := x.offered.Take(log, lo, hi)
		if to < hi {
			// Part of the range (see backlog.Backlog.Take): this pass
			// ends there, and the next takes the rest.
			hi, end = to, to
		}
		rows := make([]store.IndexRow, 0, hi-lo)
		var err error
		if entries != nil {
			for i, e := range entries {
				rows = append(rows, entryRow(lo+uint64(i), e))
			}
		} else {
			err = x.st.ScanEntries(ctx, log, lo, hi, func(e store.Entry) error {
				if want := lo + uint64(len(rows)); e.Index != want {
					return fmt.Errorf("entry %d is missing", want)
				}
				r, err := rowOf(e.Index, e.Body)
				if err != nil {
					return err
				}
				rows = append(rows, r)
				return nil
			})
		}
		if err == nil && uint64(len(rows)) != hi-lo {
			err = fmt.Errorf("entry %d is missing", lo+uint64(len(rows)))
		}
		if err != nil {
			err = fmt.Errorf("reading entries [%d, %d): %w", lo, hi, err)
		}
		select {
		case out <- rowBatch{rows, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// advance records that log's watermark is at least wm, waking waiters.
func (x *Indexer) advance(log string, wm uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if wm > x.marks[log] {
		x.marks[log] = wm
		close(x.changed)
		x.changed = make(chan struct{})
	}
}

// Wait blocks until the index covers entry index of log (its watermark is
// above index), or ctx is done. It is how a query with a minimum index
// reads its own writes. It works whichever process runs the indexer: it
// wakes when this process's Indexer advances, and asks the index every
// Poll.
func (x *Indexer) Wait(ctx context.Context, log string, index uint64) error {
	x.Notify(log)
	select {
	case x.urgent <- struct{}{}:
	default:
	}
	ticker := time.NewTicker(x.poll)
	defer ticker.Stop()
	for {
		x.mu.Lock()
		wm, changed := x.marks[log], x.changed
		x.mu.Unlock()
		if wm > index {
			return nil
		}
		wm, err := x.ix.IndexWatermark(ctx, log)
		if err != nil {
			return fmt.Errorf("index: waiting for entry %d of log %q: %w", index, log, err)
		}
		if wm > index {
			x.advance(log, wm)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("index: waiting for entry %d of log %q (indexed up to %d): %w", index, log, wm, ctx.Err())
		case <-changed:
		case <-ticker.C:
		}
	}
}

// Lag returns how many committed entries of log the index does not cover
// yet: a gauge for metrics and readiness.
func (x *Indexer) Lag(ctx context.Context, log string) (uint64, error) {
	head, err := x.st.Head(ctx, log)
	if err != nil {
		return 0, fmt.Errorf("index: lag of log %q: %w", log, err)
	}
	wm, err := x.ix.IndexWatermark(ctx, log)
	if err != nil {
		return 0, fmt.Errorf("index: lag of log %q: %w", log, err)
	}
	if wm >= head.Size {
		return 0, nil
	}
	return head.Size - wm, nil
}

// RowOf returns the index row of the entry with the given index and bytes.
// An empty outcome, which an entry may have, is indexed as "unknown", what
// it means.
func RowOf(index uint64, body []byte) (store.IndexRow, error) {
	e, err := event.ParseEntry(body)
	if err != nil {
		return store.IndexRow{}, fmt.Errorf("entry %d: %w", index, err)
	}
	return entryRow(index, e), nil
}

// entryRow is RowOf for an entry already decoded.
func entryRow(index uint64, e *event.Entry) store.IndexRow {
	r := store.IndexRow{
		Index:       index,
		Time:        e.Time,
		Type:        e.Type,
		Actor:       e.Actor.ID,
		Outcome:     e.Outcome,
		Project:     e.Project,
		Environment: e.Environment,
		Source:      e.Source,
	}
	if r.Outcome == "" {
		r.Outcome = event.OutcomeUnknown
	}
	if e.Resource != nil {
		r.ResourceType, r.ResourceID = e.Resource.Type, e.Resource.ID
	}
	return r
}
