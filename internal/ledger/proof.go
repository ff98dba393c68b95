package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/verify"
)

// ErrBadRange is returned for a proof request whose indexes or sizes are
// out of range.
var ErrBadRange = errors.New("ledger: index or size out of range")

// Head returns the newest signed checkpoint of log (zero for an empty log).
func (l *Ledger) Head(ctx context.Context, log string) (store.Checkpoint, error) {
	return l.cfg.Store.Head(ctx, log)
}

// InclusionProof returns the RFC 6962 inclusion proof of the entry at
// index in the tree of the given size, read from the stored tiles.
func (l *Ledger) InclusionProof(ctx context.Context, log string, index, size uint64) ([][]byte, error) {
	if err := l.checkSize(ctx, log, size); err != nil {
		return nil, err
	}
	if index >= size {
		return nil, fmt.Errorf("%w: index %d is not below size %d", ErrBadRange, index, size)
	}
	p, err := tlog.ProveRecord(int64(size), int64(index), l.hashReader(ctx, log))
	if err != nil {
		return nil, fmt.Errorf("proving inclusion of %d in size %d of log %q: %w", index, size, log, err)
	}
	return hashesOf(p), nil
}

// ConsistencyProof returns the RFC 6962 consistency proof from the tree of
// size from to the tree of size to.
func (l *Ledger) ConsistencyProof(ctx context.Context, log string, from, to uint64) ([][]byte, error) {
	if err := l.checkSize(ctx, log, to); err != nil {
		return nil, err
	}
	if from > to {
		return nil, fmt.Errorf("%w: from %d is above to %d", ErrBadRange, from, to)
	}
	if from == 0 || from == to {
		return [][]byte{}, nil
	}
	p, err := tlog.ProveTree(int64(to), int64(from), l.hashReader(ctx, log))
	if err != nil {
		return nil, fmt.Errorf("proving consistency of %d with %d in log %q: %w", from, to, log, err)
	}
	return hashesOf(p), nil
}

func hashesOf(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func (l *Ledger) checkSize(ctx context.Context, log string, size uint64) error {
	head, err := l.cfg.Store.Head(ctx, log)
	if err != nil {
		return fmt.Errorf("reading head of log %q: %w", log, err)
	}
	if size == 0 || size > head.Size {
		return fmt.Errorf("%w: size %d, the log has %d entries", ErrBadRange, size, head.Size)
	}
	return nil
}

// ReadTile returns a stored tile, from the cache when it is full.
func (l *Ledger) ReadTile(ctx context.Context, log string, level uint8, index uint64) ([]byte, error) {
	if data, ok := l.tiles.get(log, level, index); ok {
		return data, nil
	}
	t, err := l.cfg.Store.ReadTile(ctx, log, level, index)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("tile %d/%d of log %q: %w", level, index, log, fs.ErrNotExist)
		}
		return nil, err
	}
	if t.Width() == store.TileWidth {
		l.tiles.put(log, level, index, t.Hashes)
	}
	return t.Hashes, nil
}

func (l *Ledger) tileReader(ctx context.Context, log string) verify.TileReader {
	return func(level uint8, index uint64) ([]byte, error) { return l.ReadTile(ctx, log, level, index) }
}

// hashReader serves tlog's stored-hash indexes from the tiles.
func (l *Ledger) hashReader(ctx context.Context, log string) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			t := tlog.TileForIndex(store.TileHeight, idx)
			data, err := l.ReadTile(ctx, log, uint8(t.L), uint64(t.N))
			if err != nil {
				return nil, err
			}
			if w := len(data) / store.HashSize; w >= t.W {
				t.W = w
			}
			h, err := tlog.HashFromTile(t, data, idx)
			if err != nil {
				return nil, err
			}
			out[i] = h
		}
		return out, nil
	})
}

func (l *Ledger) verifier() note.Verifier {
	return signerVerifier{l.cfg.Signer}
}

// signerVerifier lets the sequencer check checkpoints it signed itself
// when it only holds the signer: it re-signs and compares, which for
// Ed25519 (deterministic) is exact.
type signerVerifier struct{ s note.Signer }

func (v signerVerifier) Name() string    { return v.s.Name() }
func (v signerVerifier) KeyHash() uint32 { return v.s.KeyHash() }
func (v signerVerifier) Verify(msg, sig []byte) bool {
	mine, err := v.s.Sign(msg)
	return err == nil && string(mine) == string(sig)
}

// tileCache keeps full tiles, which never change, for proofs.
type tileCache struct {
	mu    sync.Mutex
	max   int
	items map[tileKey][]byte // guarded by mu
	order []tileKey          // FIFO eviction ring; guarded by mu
	next  int
}

type tileKey struct {
	log   string
	level uint8
	index uint64
}

func newTileCache(max int) *tileCache {
	return &tileCache{max: max, items: make(map[tileKey][]byte, max)}
}

func (c *tileCache) get(log string, level uint8, index uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.items[tileKey{log, level, index}]
	return d, ok
}

func (c *tileCache) put(log string, level uint8, index uint64, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tileKey{log, level, index}
	if _, ok := c.items[k]; ok {
		return
	}
	if len(c.order) < c.max {
		c.order = append(c.order, k)
	} else {
		delete(c.items, c.order[c.next])
		c.order[c.next] = k
		c.next = (c.next + 1) % c.max
	}
	c.items[k] = data
}
