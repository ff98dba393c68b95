package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/transparency-dev/merkle/rfc6962"
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

// checkSize checks that the log has at least size entries. Logs only
// grow, so the largest size seen so far answers without the store.
func (l *Ledger) checkSize(ctx context.Context, log string, size uint64) error {
	if size == 0 {
		return fmt.Errorf("%w: size 0", ErrBadRange)
	}
	l.sizesMu.Lock()
	known := l.sizes[log]
	l.sizesMu.Unlock()
	if size <= known {
		return nil
	}
	head, err := l.cfg.Store.Head(ctx, log)
	if err != nil {
		return fmt.Errorf("reading head of log %q: %w", log, err)
	}
	l.sizesMu.Lock()
	l.sizes[log] = max(l.sizes[log], head.Size)
	l.sizesMu.Unlock()
	if size > head.Size {
		return fmt.Errorf("%w: size %d, the log has %d entries", ErrBadRange, size, head.Size)
	}
	return nil
}

// hashReader serves tlog's stored-hash indexes from the tiles. A stored
// hash of tree level 8L+h is a node at height h inside a tile of tile
// level L; the tile's inner levels are computed once and cached with it.
func (l *Ledger) hashReader(ctx context.Context, log string) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			level, n := tlog.SplitStoredHashIndex(idx)
			L, h := uint8(level/store.TileHeight), uint(level%store.TileHeight)
			per := uint64(1) << (store.TileHeight - h) // nodes of height h per tile
			tileIndex, pos := uint64(n)/per, uint64(n)%per
			tt, err := l.tileTree(ctx, log, L, tileIndex, int((pos+1)<<h))
			if err != nil {
				return nil, err
			}
			copy(out[i][:], tt.node(h, pos))
		}
		return out, nil
	})
}

// tileTree returns the tile at (level, index), with all its inner levels,
// holding at least width hashes.
func (l *Ledger) tileTree(ctx context.Context, log string, level uint8, index uint64, width int) (*tileTree, error) {
	if tt, ok := l.tiles.get(log, level, index); ok && tt.width() >= width {
		return tt, nil
	}
	t, err := l.cfg.Store.ReadTile(ctx, log, level, index)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("tile %d/%d of log %q: %w", level, index, log, fs.ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	tt := newTileTree(t.Hashes)
	l.tiles.put(log, level, index, tt)
	if t.Width() < width {
		return nil, &shortTileError{hashes: t.Hashes, want: width, where: fmt.Sprintf("tile %d/%d of log %q", level, index, log)}
	}
	return tt, nil
}

// shortTileError reports a stored tile narrower than needed, and carries
// it for callers that take any width.
type shortTileError struct {
	hashes []byte
	want   int
	where  string
}

func (e *shortTileError) Error() string {
	return fmt.Sprintf("%s has %d hashes, want %d", e.where, len(e.hashes)/store.HashSize, e.want)
}

// ReadTile returns a stored tile's hashes as the store holds them now
// (a cached partial tile may have grown since).
func (l *Ledger) ReadTile(ctx context.Context, log string, level uint8, index uint64) ([]byte, error) {
	tt, err := l.tileTree(ctx, log, level, index, store.TileWidth)
	var short *shortTileError
	if errors.As(err, &short) {
		return short.hashes, nil
	}
	if err != nil {
		return nil, err
	}
	return tt.levels[0], nil
}

func (l *Ledger) tileReader(ctx context.Context, log string) verify.TileReader {
	return func(level uint8, index uint64) ([]byte, error) { return l.ReadTile(ctx, log, level, index) }
}

// tileTree is a tile with its inner levels: levels[0] holds the tile's
// hashes, levels[k] the nodes of height k above them (as many as are
// complete). A tile never changes but by growing, so a cached one is
// valid for every width up to its own.
type tileTree struct {
	levels [][]byte
}

func newTileTree(hashes []byte) *tileTree {
	tt := &tileTree{levels: [][]byte{hashes}}
	for below := hashes; len(below) >= 2*store.HashSize; {
		n := len(below) / (2 * store.HashSize)
		up := make([]byte, 0, n*store.HashSize)
		for i := 0; i < n; i++ {
			left := below[2*i*store.HashSize : (2*i+1)*store.HashSize]
			right := below[(2*i+1)*store.HashSize : (2*i+2)*store.HashSize]
			up = append(up, rfc6962.DefaultHasher.HashChildren(left, right)...)
		}
		tt.levels = append(tt.levels, up)
		below = up
	}
	return tt
}

func (tt *tileTree) width() int { return len(tt.levels[0]) / store.HashSize }

// node returns the node of height h at position i in the tile.
func (tt *tileTree) node(h uint, i uint64) []byte {
	return tt.levels[h][i*store.HashSize : (i+1)*store.HashSize]
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

// tileCache keeps tiles with their inner levels, for proofs. Tiles only
// grow (a partial tile is a prefix of the full one), so a cached tile is
// replaced only by a wider one.
type tileCache struct {
	mu    sync.Mutex
	max   int
	items map[tileKey]*tileTree // guarded by mu
	order []tileKey             // FIFO eviction ring; guarded by mu
	next  int
}

type tileKey struct {
	log   string
	level uint8
	index uint64
}

func newTileCache(max int) *tileCache {
	return &tileCache{max: max, items: make(map[tileKey]*tileTree, max)}
}

func (c *tileCache) get(log string, level uint8, index uint64) (*tileTree, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.items[tileKey{log, level, index}]
	return d, ok
}

func (c *tileCache) put(log string, level uint8, index uint64, tt *tileTree) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tileKey{log, level, index}
	if old, ok := c.items[k]; ok {
		if tt.width() > old.width() {
			c.items[k] = tt
		}
		return
	}
	if len(c.order) < c.max {
		c.order = append(c.order, k)
	} else {
		delete(c.items, c.order[c.next])
		c.order[c.next] = k
		c.next = (c.next + 1) % c.max
	}
	c.items[k] = tt
}
