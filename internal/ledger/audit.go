package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/verify"
)

// AuditConfig configures AuditLog.
type AuditConfig struct {
	// Origin is the log's checkpoint origin.
	Origin string
	// Verifiers holds the pinned checkpoint key(s).
	Verifiers note.Verifiers
	// Trusted, if not nil, is a checkpoint of this log verified earlier
	// (kept outside the data directory): the log must extend it.
	Trusted *verify.SignedCheckpoint
	// Progress, if not nil, is called now and then with the number of
	// entries verified so far and the total.
	Progress func(done, total uint64)
}

// AuditLog verifies one log in a store from its bytes: every entry's leaf
// hash is recomputed from its stored body, the tree is rebuilt and every
// stored tile and checkpoint is compared with it, the stored id column is
// compared with the body, and no entry or tile may lie past the signed
// tree. It returns the newest verified checkpoint, or a *verify.Error
// naming the first bad index.
//
// It is safe to run while another process appends: it verifies up to the
// newest checkpoint it finds at the start, and judges what lies beyond by
// the head it finds at the end.
func AuditLog(ctx context.Context, st store.Store, log string, cfg AuditConfig) (*verify.SignedCheckpoint, error) {
	head, err := st.Head(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("reading head of log %q: %w", log, err)
	}
	v := verify.NewLogVerifier(verify.LogConfig{
		Log:       log,
		Origin:    cfg.Origin,
		Verifiers: cfg.Verifiers,
		Trusted:   cfg.Trusted,
		Tiles: func(level uint8, index uint64) ([]byte, error) {
			t, err := st.ReadTile(ctx, log, level, index)
			if errors.Is(err, store.ErrNotFound) {
				return nil, fs.ErrNotExist
			}
			return t.Hashes, err
		},
	})

	// Checkpoints are pulled in step with the entries.
	nextCP, stopCP := iter.Pull2(scan(func(yield func(store.Checkpoint) error) error {
		return st.ScanCheckpoints(ctx, log, head.Size, yield)
	}))
	defer stopCP()
	var fedUpTo uint64 // size of the newest checkpoint given to v
	exhausted := false
	// feed gives v the checkpoints up to the first one past its size.
	feed := func() error {
		for !exhausted && fedUpTo <= v.Size() {
			cp, err, ok := nextCP()
			if !ok {
				exhausted = true
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading checkpoints of log %q: %w", log, err)
			}
			if err := v.Checkpoint(cp.Note); err != nil {
				return err
			}
			fedUpTo = cp.Size
		}
		return nil
	}
	if err := feed(); err != nil {
		return nil, err
	}

	// The store is read on one goroutine while this one checks: reading
	// rows and hashing them cost about the same, so on two cores the
	// pipeline doubles the speed.
	const progressEvery = 1 << 16
	chunks := make(chan []store.Entry, 4)
	scanCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	scanErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		const chunkSize = 1024
		chunk := make([]store.Entry, 0, chunkSize)
		err := st.ScanEntries(scanCtx, log, 0, head.Size, func(e store.Entry) error {
			chunk = append(chunk, e)
			if len(chunk) == chunkSize {
				select {
				case chunks <- chunk:
				case <-scanCtx.Done():
					return scanCtx.Err()
				}
				chunk = make([]store.Entry, 0, chunkSize)
			}
			return nil
		})
		if err == nil && len(chunk) > 0 {
			select {
			case chunks <- chunk:
			case <-scanCtx.Done():
				err = scanCtx.Err()
			}
		}
		scanErr <- err
	}()
	check := func(e store.Entry) error {
		id, err := event.EntryID(e.Body)
		if err != nil {
			return &verify.Error{Log: log, Index: e.Index, Kind: verify.EntryChanged, Detail: fmt.Sprintf("entry is not a valid entry: %v", err)}
		}
		if id != e.ID {
			return &verify.Error{Log: log, Index: e.Index, Kind: verify.ColumnMismatch, Detail: fmt.Sprintf("id column is %q, the entry says %q", e.ID, id)}
		}
		if err := v.Entry(e.Index, e.Body); err != nil {
			return err
		}
		if cfg.Progress != nil && v.Size()%progressEvery == 0 {
			cfg.Progress(v.Size(), head.Size)
		}
		return feed()
	}
	for chunk := range chunks {
		for _, e := range chunk {
			if err = check(e); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if err != nil {
		cancel()
		for range chunks {
		}
		<-scanErr
		return nil, err
	}
	if err := <-scanErr; err != nil {
		return nil, fmt.Errorf("reading entries of log %q: %w", log, err)
	}
	latest, err := v.Finish()
	if err != nil {
		return nil, err
	}

	// What lies beyond the verified size must be covered by a newer
	// checkpoint (another process may have appended meanwhile).
	end, err := st.Head(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("reading head of log %q: %w", log, err)
	}
	var extra *store.Entry
	errFound := errors.New("found")
	err = st.ScanEntries(ctx, log, end.Size, math.MaxUint64, func(e store.Entry) error {
		extra = &e
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, fmt.Errorf("reading entries of log %q: %w", log, err)
	}
	if extra != nil {
		return nil, &verify.Error{Log: log, Index: extra.Index, Kind: verify.EntryUnsigned, Detail: fmt.Sprintf("entry %d lies past the newest checkpoint (size %d)", extra.Index, end.Size)}
	}
	if end.Size == head.Size {
		err = st.ScanTiles(ctx, log, func(t store.Tile) error { return v.StoredTile(t.Level, t.Index, t.Width()) })
		if err != nil {
			return nil, err
		}
	}
	if cfg.Progress != nil {
		cfg.Progress(v.Size(), head.Size)
	}
	return latest, nil
}

// scan adapts a callback scan to an iterator of (value, error) pairs.
func scan[T any](run func(yield func(T) error) error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		stop := errors.New("stop")
		err := run(func(v T) error {
			if !yield(v, nil) {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			yield(*new(T), err)
		}
	}
}
