package sqlite

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/a24ba333/indelible/internal/store"
)

// benchBody returns a ~400-byte entry body shaped like a canonical event.
func benchBody(id string, i uint64) []byte {
	return fmt.Appendf(nil, `{"action":"update","actor":{"id":"user-%06d","type":"user"},`+
		`"category":"configuration","environment":"production","id":%q,`+
		`"outcome":"success","project":"payments","resource":{"id":"deployment/api-%d","type":"k8s.deployment"},`+
		`"source":{"ip":"10.0.12.34","user_agent":"kubectl/v1.31.0 (linux/amd64)"},`+
		`"time":"2025-06-01T12:00:00.000000Z","type":"k8s.audit","labels":{"team":"core","region":"eu-west-1"}}`,
		i%10000, id, i%97)
}

// benchBatch builds the batch that grows a log from start by n entries:
// fresh ids from newID, the level-0 tiles it touches, the level-1 tile
// above them and a checkpoint, as the ledger writes them.
func benchBatch(start, n uint64, newID func() uuid.UUID, hashes []byte) store.Batch {
	b := store.Batch{Start: start, Entries: make([]store.Entry, n)}
	for k := range n {
		id := newID().String()
		b.Entries[k] = store.Entry{Index: start + k, ID: id, Body: benchBody(id, start+k)}
	}
	end := start + n
	for idx := start / store.TileWidth; idx <= (end-1)/store.TileWidth; idx++ {
		w := min(end-idx*store.TileWidth, store.TileWidth)
		b.Tiles = append(b.Tiles, store.Tile{Level: 0, Index: idx, Hashes: hashes[:w*store.HashSize]})
	}
	w := min((end+store.TileWidth-1)/store.TileWidth, store.TileWidth)
	b.Tiles = append(b.Tiles, store.Tile{Level: 1, Index: end / (store.TileWidth * store.TileWidth), Hashes: hashes[:w*store.HashSize]})
	b.Checkpoint = store.Checkpoint{Size: end, Note: fmt.Appendf(nil,
		"indelible.example/log\n%d\nn4R0YTq4QHfzpYHtCkDk7jvS1vmw0VBM8YjYgFZjjGM=\n\n— indelible.example/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n", end)}
	return b
}

// BenchmarkAppend measures Append of whole batches, each committed durably
// to a file: entries/s is the figure that matters.
func BenchmarkAppend(b *testing.B) {
	ids := []struct {
		name  string
		newID func() uuid.UUID
	}{
		{"uuidv4", uuid.New},
		{"uuidv7", func() uuid.UUID { return uuid.Must(uuid.NewV7()) }},
	}
	hashes := make([]byte, store.TileWidth*store.HashSize)
	for i := range hashes {
		hashes[i] = byte(i * 7)
	}
	for _, id := range ids {
		for _, n := range []uint64{1, 100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", id.name, n), func(b *testing.B) {
				db, err := Open(b.Context(), Config{Path: filepath.Join(b.TempDir(), "bench.db")})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				var size uint64
				for b.Loop() {
					if err := db.Append(b.Context(), "bench", benchBatch(size, n, id.newID, hashes)); err != nil {
						b.Fatal(err)
					}
					size += n
				}
				b.ReportMetric(float64(size)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkScanEntries measures a full scan of a log, as verify does.
func BenchmarkScanEntries(b *testing.B) {
	const size = 200_000
	db, err := Open(b.Context(), Config{Path: filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	hashes := make([]byte, store.TileWidth*store.HashSize)
	newID := func() uuid.UUID { return uuid.Must(uuid.NewV7()) }
	for start := uint64(0); start < size; start += 1000 {
		if err := db.Append(b.Context(), "bench", benchBatch(start, 1000, newID, hashes)); err != nil {
			b.Fatal(err)
		}
	}
	var rows int
	for b.Loop() {
		n := 0
		err := db.ScanEntries(b.Context(), "bench", 0, math.MaxUint64, func(e store.Entry) error {
			n++
			return nil
		})
		if err != nil || n != size {
			b.Fatalf("ScanEntries = %d rows, %v; want %d", n, err, size)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
