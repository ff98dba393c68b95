package integrity

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/verify"
)

// tail is the tree of one log as far as the tail check has verified it.
type tail struct {
	tree *verify.Tree
}

// Tail checks, for every log that a full pass verified, the entries
// committed since: it hashes them onto the verified tree and compares the
// root with the newest signed checkpoint. Between full passes it catches
// a just-committed entry that is changed, dropped or replaced, and a log
// that shrinks, within a tick instead of at the next pass. Only the Run
// goroutine may call it.
func (w *Watcher) Tail(ctx context.Context) ([]Violation, error) {
	w.mu.Lock()
	verified := make(map[string]uint64, len(w.verified))
	for k, v := range w.verified {
		verified[k] = v
	}
	w.mu.Unlock()
	var found []Violation
	var errs []error
	for log, size := range verified {
		v, err := w.tailLog(ctx, log, size)
		switch {
		case err != nil:
			errs = append(errs, err)
		case v != nil:
			found = append(found, *v)
			if err := w.report(ctx, *v); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return found, errors.Join(errs...)
}

func (w *Watcher) tailLog(ctx context.Context, log string, verifiedSize uint64) (*Violation, error) {
	st := w.cfg.Store
	t := w.tails[log]
	if t == nil || t.tree.Size() < verifiedSize {
		tree, err := verify.LoadTree(verifiedSize, func(level uint8, index uint64) ([]byte, error) {
			tl, err := st.ReadTile(ctx, log, level, index)
			if errors.Is(err, store.ErrNotFound) {
				return nil, fs.ErrNotExist
			}
			return tl.Hashes, err
		})
		if err != nil {
			return nil, fmt.Errorf("integrity: loading the verified tree of log %q: %w", log, err)
		}
		t = &tail{tree: tree}
		w.tails[log] = t
	}
	head, err := st.Head(ctx, log)
	if err != nil {
		return nil, err
	}
	size := t.tree.Size()
	switch {
	case head.Size < size:
		return &Violation{Log: log, Index: head.Size, Kind: string(verify.Rollback),
			Detail: fmt.Sprintf("the newest checkpoint is of size %d, but a tree of size %d was verified", head.Size, size)}, nil
	case head.Size == size:
		return nil, nil
	}
	cp, err := verify.OpenCheckpoint(head.Note, w.cfg.Verifiers, w.cfg.Origin(log))
	if err != nil {
		return &Violation{Log: log, Index: size, Kind: string(verify.CheckpointSignature), Detail: err.Error()}, nil
	}
	tree := t.tree.Clone()
	err = st.ScanEntries(ctx, log, size, cp.Size, func(e store.Entry) error {
		if e.Index != tree.Size() {
			return &verify.Error{Log: log, Index: tree.Size(), Kind: verify.EntryMissing}
		}
		tree.Append(verify.LeafHash(e.Body), func(verify.Tile) {})
		return nil
	})
	var ve *verify.Error
	switch {
	case errors.As(err, &ve):
		return &Violation{Log: log, Index: ve.Index, Kind: string(ve.Kind), Detail: "between two integrity passes"}, nil
	case err != nil:
		return nil, err
	case tree.Size() != cp.Size:
		return &Violation{Log: log, Index: tree.Size(), Kind: string(verify.EntryMissing), Detail: "between two integrity passes"}, nil
	case tree.Root() != cp.Root:
		return &Violation{Log: log, Index: size, Kind: string(verify.CheckpointRoot),
			Detail: fmt.Sprintf("the entries %d to %d do not hash to the root of the signed checkpoint of size %d", size, cp.Size-1, cp.Size)}, nil
	}
	t.tree = tree
	return nil, nil
}

// tailEvery is the pause between tail checks.
const tailEvery = time.Second
