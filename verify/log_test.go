package verify

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// memLog is a log kept in memory the way a store keeps it.
type memLog struct {
	entries [][]byte
	tiles   map[[2]uint64][]byte
	cps     [][]byte // signed checkpoints in size order
	sizes   []uint64
}

func buildLog(t *testing.T, signer note.Signer, batches ...int) *memLog {
	t.Helper()
	m := &memLog{tiles: map[[2]uint64][]byte{}}
	tr := NewTree()
	for _, n := range batches {
		for i := 0; i < n; i++ {
			e := []byte(fmt.Sprintf(`{"entry":%d}`, len(m.entries)))
			m.entries = append(m.entries, e)
			tr.Append(LeafHash(e), func(tl Tile) { m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes) })
		}
		for _, tl := range tr.PartialTiles() {
			m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes)
		}
		c := Checkpoint{Origin: "test/log", Size: tr.Size(), Root: tr.Root()}
		msg, err := note.Sign(&note.Note{Text: string(c.Text())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		m.cps = append(m.cps, msg)
		m.sizes = append(m.sizes, tr.Size())
	}
	return m
}

func (m *memLog) readTile(level uint8, index uint64) ([]byte, error) {
	d, ok := m.tiles[[2]uint64{uint64(level), index}]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return d, nil
}

// run feeds the log to a verifier the way a caller walking a store does.
func (m *memLog) run(v *LogVerifier) (*SignedCheckpoint, error) {
	next := 0
	feed := func() error {
		for next < len(m.cps) && (next == 0 || m.sizes[next-1] <= v.Size()) {
			if err := v.Checkpoint(m.cps[next]); err != nil {
				return err
			}
			next++
		}
		return nil
	}
	if err := feed(); err != nil {
		return nil, err
	}
	for i, e := range m.entries {
		if e == nil {
			continue // deleted
		}
		if err := v.Entry(uint64(i), e); err != nil {
			return nil, err
		}
		if err := feed(); err != nil {
			return nil, err
		}
	}
	cp, err := v.Finish()
	if err != nil {
		return nil, err
	}
	for k, d := range m.tiles {
		if err := v.StoredTile(uint8(k[0]), k[1], len(d)/HashSize); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

func TestLogVerifier(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "test")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	skey2, _, _ := note.GenerateKey(rand.Reader, "test")
	other, _ := note.NewSigner(skey2)
	known := note.VerifierList(verifier)
	batches := []int{1, 99, 300, 7, 200, 393} // 1000 entries, 6 checkpoints

	tests := []struct {
		name   string
		damage func(m *memLog)
		kind   Kind // "" means clean
		index  uint64
	}{
		{name: "clean", damage: func(*memLog) {}},
		{name: "entry byte", damage: func(m *memLog) { m.entries[437][3] ^= 1 }, kind: EntryChanged, index: 437},
		{name: "entry in last partial tile", damage: func(m *memLog) { m.entries[999][3] ^= 1 }, kind: EntryChanged, index: 999},
		{name: "entry deleted", damage: func(m *memLog) { m.entries[500] = nil }, kind: EntryMissing, index: 500},
		{name: "entries swapped", damage: func(m *memLog) { m.entries[10], m.entries[20] = m.entries[20], m.entries[10] }, kind: EntryChanged, index: 10},
		{name: "tail truncated", damage: func(m *memLog) { m.entries = m.entries[:950] }, kind: EntryMissing, index: 950},
		{name: "tile hash", damage: func(m *memLog) { m.tiles[[2]uint64{0, 1}][5*HashSize] ^= 1 }, kind: TileChanged, index: 256 + 5},
		{name: "partial tile hash", damage: func(m *memLog) { m.tiles[[2]uint64{0, 3}][2*HashSize] ^= 1 }, kind: TileChanged, index: 768 + 2},
		{name: "level 1 tile", damage: func(m *memLog) { m.tiles[[2]uint64{1, 0}][1*HashSize] ^= 1 }, kind: TileChanged, index: 256},
		{name: "tile missing", damage: func(m *memLog) { delete(m.tiles, [2]uint64{0, 2}) }, kind: TileMissing, index: 512},
		{name: "tile beyond tree", damage: func(m *memLog) { m.tiles[[2]uint64{0, 9}] = make([]byte, HashSize) }, kind: TileExtra, index: 9 * 256},
		{name: "resigned checkpoint", damage: func(m *memLog) {
			n, _ := note.Open(m.cps[2], known)
			m.cps[2], _ = note.Sign(&note.Note{Text: n.Text}, other)
		}, kind: CheckpointSignature, index: 399},
		{name: "entry and tiles rewritten", damage: func(m *memLog) {
			// An attacker rewrites entry 5 and recomputes every tile, but
			// cannot sign: the first checkpoint covering it disagrees.
			m.entries[5] = []byte(`{"entry":"forged"}`)
			tr := NewTree()
			m.tiles = map[[2]uint64][]byte{}
			for _, e := range m.entries {
				tr.Append(LeafHash(e), func(tl Tile) { m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes) })
			}
			for _, tl := range tr.PartialTiles() {
				m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes)
			}
		}, kind: CheckpointRoot, index: 1},
		{name: "unsigned tail", damage: func(m *memLog) { m.entries = append(m.entries, []byte("extra")) }, kind: EntryUnsigned, index: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := buildLog(t, signer, batches...)
			tt.damage(m)
			v := NewLogVerifier(LogConfig{Log: "log", Origin: "test/log", Verifiers: known, Tiles: m.readTile})
			cp, err := m.run(v)
			if tt.kind == "" {
				if err != nil || cp == nil || cp.Size != 1000 {
					t.Fatalf("verify clean log = %v, %v; want size 1000", cp, err)
				}
				return
			}
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("verify = %v, want *Error %q at %d", err, tt.kind, tt.index)
			}
			if ve.Kind != tt.kind || ve.Index != tt.index {
				t.Fatalf("verify = %v; want %q at index %d", ve, tt.kind, tt.index)
			}
		})
	}
}

func TestLogVerifierTrusted(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "test")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	known := note.VerifierList(verifier)
	orig := buildLog(t, signer, 100, 100, 100)
	trusted, err := OpenCheckpoint(orig.cps[1], known, "test/log")
	if err != nil {
		t.Fatal(err)
	}
	cfg := LogConfig{Log: "log", Origin: "test/log", Verifiers: known, Tiles: orig.readTile, Trusted: &trusted}
	if _, err := orig.run(NewLogVerifier(cfg)); err != nil {
		t.Fatalf("verify against an older trusted checkpoint: %v", err)
	}

	// A rollback: the log was cut back (consistently) below the trusted size.
	short := buildLog(t, signer, 100, 50)
	cfg.Tiles = short.readTile
	var ve *Error
	if _, err := short.run(NewLogVerifier(cfg)); !errors.As(err, &ve) || ve.Kind != Rollback || ve.Index != 150 {
		t.Fatalf("verify of a rolled-back log = %v, want %q at 150", err, Rollback)
	}

	// A fork: a different history of the same size, signed by the same key.
	fork := buildLog(t, signer, 100, 100, 100)
	fork.entries = nil
	fork = func() *memLog {
		m := &memLog{tiles: map[[2]uint64][]byte{}}
		tr := NewTree()
		for i := 0; i < 300; i++ {
			e := []byte(fmt.Sprintf(`{"forked":%d}`, i))
			m.entries = append(m.entries, e)
			tr.Append(LeafHash(e), func(tl Tile) { m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes) })
			if tr.Size()%100 == 0 {
				for _, tl := range tr.PartialTiles() {
					m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = bytes.Clone(tl.Hashes)
				}
				c := Checkpoint{Origin: "test/log", Size: tr.Size(), Root: tr.Root()}
				msg, _ := note.Sign(&note.Note{Text: string(c.Text())}, signer)
				m.cps = append(m.cps, msg)
				m.sizes = append(m.sizes, tr.Size())
			}
		}
		return m
	}()
	cfg.Tiles = fork.readTile
	if _, err := fork.run(NewLogVerifier(cfg)); !errors.As(err, &ve) || ve.Kind != Fork {
		t.Fatalf("verify of a forked log = %v, want %q", err, Fork)
	}
}
