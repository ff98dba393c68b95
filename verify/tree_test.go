package verify

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// tlogLog is an independent model of a tiled log built with
// golang.org/x/mod/sumdb/tlog, to cross-check Tree.
type tlogLog struct {
	stored []tlog.Hash
	n      int64
}

func (m *tlogLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.stored[x]
	}
	return out, nil
}

func (m *tlogLog) append(t *testing.T, data []byte) {
	t.Helper()
	hs, err := tlog.StoredHashes(m.n, data, m)
	if err != nil {
		t.Fatal(err)
	}
	m.stored = append(m.stored, hs...)
	m.n++
}

func leafData(i int) []byte { return []byte(fmt.Sprintf("entry %d", i)) }

func TestTreeMatchesTlog(t *testing.T) {
	sizes := []int{1, 2, 3, 255, 256, 257, 511, 512, 1000, 65535, 65536, 65537, 70000}
	m := &tlogLog{}
	tr := NewTree()
	stored := map[[2]uint64][]byte{} // tiles as Tree emits them, partials overwritten
	next := 0
	for _, size := range sizes {
		for ; next < size; next++ {
			m.append(t, leafData(next))
			tr.Append(LeafHash(leafData(next)), func(tl Tile) {
				stored[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes)
			})
		}
		for _, tl := range tr.PartialTiles() {
			stored[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes)
		}
		want, err := tlog.TreeHash(int64(size), m)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Root(); got != want {
			t.Fatalf("size %d: Root() = %x, tlog.TreeHash = %x", size, got, want)
		}
		for _, tile := range tlog.NewTiles(TileHeight, 0, int64(size)) {
			want, err := tlog.ReadTileData(tile, m)
			if err != nil {
				t.Fatal(err)
			}
			got := stored[[2]uint64{uint64(tile.L), uint64(tile.N)}]
			if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
				t.Fatalf("size %d: tile %s differs from tlog's", size, tile.Path())
			}
		}
		// Reloading the right edge from the tiles gives the same tree.
		read := func(level uint8, index uint64) ([]byte, error) {
			d, ok := stored[[2]uint64{uint64(level), index}]
			if !ok {
				return nil, fs.ErrNotExist
			}
			return d, nil
		}
		lt, err := LoadTree(uint64(size), read)
		if err != nil {
			t.Fatalf("LoadTree(%d): %v", size, err)
		}
		if lt.Root() != tr.Root() {
			t.Fatalf("LoadTree(%d).Root() = %x, want %x", size, lt.Root(), tr.Root())
		}
		// And it keeps growing identically.
		c := tr.Clone()
		lt.Append(LeafHash([]byte("x")), nil)
		c.Append(LeafHash([]byte("x")), nil)
		if lt.Root() != c.Root() {
			t.Fatalf("size %d: loaded tree diverges after one more leaf", size)
		}
	}
}

func TestEmptyTree(t *testing.T) {
	if got, want := NewTree().Root(), sha256.Sum256(nil); got != want {
		t.Errorf("empty Root() = %x, want %x", got, want)
	}
}

func TestLeafHashRFC6962(t *testing.T) {
	// RFC 6962 §2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)).
	want := sha256.Sum256(append([]byte{0}, "hello"...))
	if got := LeafHash([]byte("hello")); got != want {
		t.Errorf("LeafHash = %x, want %x", got, want)
	}
}

func TestProofsAgainstTlog(t *testing.T) {
	m := &tlogLog{}
	const n = 1000
	for i := 0; i < n; i++ {
		m.append(t, leafData(i))
	}
	for _, size := range []int64{1, 2, 7, 256, 257, 999, 1000} {
		root, _ := tlog.TreeHash(size, m)
		for _, idx := range []int64{0, size / 2, size - 1} {
			p, err := tlog.ProveRecord(size, idx, m)
			if err != nil {
				t.Fatal(err)
			}
			hs := make([][]byte, len(p))
			for i := range p {
				hs[i] = p[i][:]
			}
			if err := Inclusion(uint64(idx), uint64(size), LeafHash(leafData(int(idx))), hs, root); err != nil {
				t.Errorf("Inclusion(%d, %d): %v", idx, size, err)
			}
			if err := Inclusion(uint64(idx), uint64(size), LeafHash([]byte("other")), hs, root); err == nil {
				t.Errorf("Inclusion(%d, %d) of a wrong leaf succeeded", idx, size)
			}
		}
		for _, old := range []int64{1, size / 3, size - 1} {
			if old < 1 || old >= size {
				continue
			}
			p, err := tlog.ProveTree(size, old, m)
			if err != nil {
				t.Fatal(err)
			}
			hs := make([][]byte, len(p))
			for i := range p {
				hs[i] = p[i][:]
			}
			oldRoot, _ := tlog.TreeHash(old, m)
			if err := Consistency(uint64(old), uint64(size), oldRoot, root, hs); err != nil {
				t.Errorf("Consistency(%d, %d): %v", old, size, err)
			}
			bad := oldRoot
			bad[0] ^= 1
			if err := Consistency(uint64(old), uint64(size), bad, root, hs); err == nil {
				t.Errorf("Consistency(%d, %d) with a forked old root succeeded", old, size)
			}
		}
	}
}
