package verify

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TileHeight is the height of a tile (C2SP tlog-tiles).
const TileHeight = 8

// TileWidth is the number of hashes in a full tile.
const TileWidth = 1 << TileHeight

// HashSize is the size of a tree hash.
const HashSize = sha256.Size

// Tile is one hash tile: up to TileWidth hashes of tree level
// TileHeight*Level, starting at hash number TileWidth*Index.
type Tile struct {
	Level  uint8
	Index  uint64
	Hashes []byte
}

// Width is the number of hashes in the tile.
func (t Tile) Width() int { return len(t.Hashes) / HashSize }

// TileReader returns the stored bytes of the tile at (level, index),
// which may be partial, or an error wrapping fs.ErrNotExist.
type TileReader func(level uint8, index uint64) ([]byte, error)

// LeafHash returns the RFC 6962 leaf hash of entry bytes.
func LeafHash(entry []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(entry)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// EmptyRoot is the root hash of the empty tree (RFC 6962 §2.1).
var emptyRoot = sha256.Sum256(nil)

// Tree is the right edge of a Merkle tree that is stored as tiles: the
// compact range of its perfect subtrees plus the rightmost partial tile of
// every tile level. It is all that is needed to append leaves and produce
// the new tiles and root hash, in memory proportional to log(size).
//
// A Tree is not safe for concurrent use.
type Tree struct {
	rf      *compact.RangeFactory
	rng     *compact.Range
	partial [][]byte // partial[L]: hashes of the rightmost incomplete tile at tile level L
}

func newRangeFactory() *compact.RangeFactory {
	return &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	rf := newRangeFactory()
	return &Tree{rf: rf, rng: rf.NewEmptyRange(0)}
}

// LoadTree rebuilds the right edge of the tree of the given size from its
// stored tiles.
func LoadTree(size uint64, read TileReader) (*Tree, error) {
	rf := newRangeFactory()
	t := &Tree{rf: rf}
	cache := map[[2]uint64][]byte{}
	get := func(level uint8, index uint64, need int) ([]byte, error) {
		k := [2]uint64{uint64(level), index}
		data, ok := cache[k]
		if !ok {
			var err error
			data, err = read(level, index)
			if err != nil {
				return nil, fmt.Errorf("reading tile %d/%d: %w", level, index, err)
			}
			cache[k] = data
		}
		if len(data) < need*HashSize {
			return nil, fmt.Errorf("tile %d/%d has %d hashes, want at least %d", level, index, len(data)/HashSize, need)
		}
		return data, nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, 0, len(ids))
	for _, id := range ids {
		level, r := uint8(id.Level/TileHeight), id.Level%TileHeight
		first := id.Index << r // first hash of tree level TileHeight*level under this node
		n := uint64(1) << r
		data, err := get(level, first/TileWidth, int(first%TileWidth+n))
		if err != nil {
			return nil, err
		}
		off := first % TileWidth * HashSize
		hashes = append(hashes, subtreeHash(data[off:off+n*HashSize]))
	}
	rng, err := rf.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	t.rng = rng
	for level := uint8(0); size>>(TileHeight*uint(level)) > 0; level++ {
		count := size >> (TileHeight * uint(level)) // complete hashes at this tile level
		w := int(count % TileWidth)
		if w == 0 {
			t.partial = append(t.partial, nil)
			continue
		}
		data, err := get(level, count/TileWidth, w)
		if err != nil {
			return nil, err
		}
		t.partial = append(t.partial, append(make([]byte, 0, TileWidth*HashSize), data[:w*HashSize]...))
	}
	return t, nil
}

// subtreeHash returns the root of the perfect subtree whose leaves (at
// some level) are the concatenated hashes in data (a power of two of them).
func subtreeHash(data []byte) []byte {
	if len(data) == HashSize {
		return bytes.Clone(data)
	}
	half := len(data) / 2
	return rfc6962.DefaultHasher.HashChildren(subtreeHash(data[:half]), subtreeHash(data[half:]))
}

// Size returns the number of leaves.
func (t *Tree) Size() uint64 { return t.rng.End() }

// Append adds a leaf hash. For every tile that the leaf completes, it
// calls full (if not nil) with the complete tile; the tile's Hashes are
// not modified afterwards.
func (t *Tree) Append(leaf [32]byte, full func(Tile)) {
	// Append cannot fail on a range that starts at 0 and was built here.
	_ = t.rng.Append(bytes.Clone(leaf[:]), func(id compact.NodeID, hash []byte) {
		if id.Level%TileHeight != 0 {
			return
		}
		level := int(id.Level / TileHeight)
		for len(t.partial) <= level {
			t.partial = append(t.partial, nil)
		}
		if t.partial[level] == nil {
			// A tile grows to TileWidth hashes: allocate it once.
			t.partial[level] = make([]byte, 0, TileWidth*HashSize)
		}
		t.partial[level] = append(t.partial[level], hash...)
		if len(t.partial[level]) == TileWidth*HashSize {
			if full != nil {
				full(Tile{Level: uint8(level), Index: id.Index / TileWidth, Hashes: t.partial[level]})
			}
			t.partial[level] = nil
		}
	})
}

// Root returns the root hash of the tree.
func (t *Tree) Root() [32]byte {
	if t.Size() == 0 {
		return emptyRoot
	}
	h, _ := t.rng.GetRootHash(nil)
	var out [32]byte
	copy(out[:], h)
	return out
}

// PartialTiles returns the rightmost partial tile of every level that has
// one. The returned hashes must not be modified.
func (t *Tree) PartialTiles() []Tile {
	var tiles []Tile
	size := t.Size()
	for level, p := range t.partial {
		if len(p) == 0 {
			continue
		}
		count := size >> (TileHeight * uint(level))
		tiles = append(tiles, Tile{Level: uint8(level), Index: count / TileWidth, Hashes: p})
	}
	return tiles
}

// Clone returns an independent copy of the tree.
func (t *Tree) Clone() *Tree {
	c := &Tree{rf: t.rf}
	c.rng, _ = t.rf.NewRange(0, t.rng.End(), append([][]byte(nil), t.rng.Hashes()...))
	c.partial = make([][]byte, len(t.partial))
	for i, p := range t.partial {
		if p != nil {
			c.partial[i] = append(make([]byte, 0, TileWidth*HashSize), p...)
		}
	}
	return c
}

// errNoTile reports whether err means a tile is absent.
func errNoTile(err error) bool { return errors.Is(err, fs.ErrNotExist) }
