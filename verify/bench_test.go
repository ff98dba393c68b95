package verify

import (
	"crypto/rand"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// BenchmarkLogVerifier measures a full verification from bytes: re-hash
// every entry (400 bytes, a typical sealed event), rebuild the tree,
// compare every tile and every checkpoint (one per 1000 entries).
func BenchmarkLogVerifier(b *testing.B) {
	const n, perCheckpoint = 200_000, 1000
	skey, vkey, _ := note.GenerateKey(rand.Reader, "bench")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	m := &memLog{tiles: map[[2]uint64][]byte{}}
	tr := NewTree()
	pad := make([]byte, 380)
	for i := range pad {
		pad[i] = 'a' + byte(i%26)
	}
	for i := 0; i < n; i++ {
		e := []byte(fmt.Sprintf(`{"i":%d,"p":"%s"}`, i, pad))
		m.entries = append(m.entries, e)
		tr.Append(LeafHash(e), func(tl Tile) { m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = tl.Hashes })
		if tr.Size()%perCheckpoint == 0 {
			for _, tl := range tr.PartialTiles() {
				m.tiles[[2]uint64{uint64(tl.Level), tl.Index}] = append([]byte(nil), tl.Hashes...)
			}
			c := Checkpoint{Origin: "bench/log", Size: tr.Size(), Root: tr.Root()}
			msg, _ := note.Sign(&note.Note{Text: string(c.Text())}, signer)
			m.cps = append(m.cps, msg)
			m.sizes = append(m.sizes, tr.Size())
		}
	}
	known := note.VerifierList(verifier)
	b.ResetTimer()
	for b.Loop() {
		v := NewLogVerifier(LogConfig{Log: "log", Origin: "bench/log", Verifiers: known, Tiles: m.readTile})
		if cp, err := m.run(v); err != nil || cp.Size != n {
			b.Fatalf("verify = %v, %v", cp, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkTreeAppend isolates the tree: one leaf hash appended.
func BenchmarkTreeAppend(b *testing.B) {
	tr := NewTree()
	leaf := LeafHash([]byte("x"))
	for b.Loop() {
		tr.Append(leaf, nil)
	}
}
