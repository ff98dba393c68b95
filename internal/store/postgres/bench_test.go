package postgres

import (
	"encoding/hex"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/a24ba333/indelible/internal/store"
)

// benchID returns a random id shaped like a UUID.
func benchID() string {
	b := randomBytes(16)
	return fmt.Sprintf("%s-%s-%s-%s-%s", hex.EncodeToString(b[:4]), hex.EncodeToString(b[4:6]),
		hex.EncodeToString(b[6:8]), hex.EncodeToString(b[8:10]), hex.EncodeToString(b[10:]))
}

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
// fresh random ids, the level-0 tiles it touches, the level-1 tile above
// them and a checkpoint, as the ledger writes them. hashes holds a full
// tile's worth of hashes; as the tiles only grow, by prefix, the triggers
// accept them.
func benchBatch(start, n uint64, hashes []byte) store.Batch {
	b := store.Batch{Start: start, Entries: make([]store.Entry, n)}
	for k := range n {
		id := benchID()
		b.Entries[k] = store.Entry{Index: start + k, ID: id, Body: benchBody(id, start+k)}
	}
	end := start + n
	for idx := start / store.TileWidth; idx <= (end-1)/store.TileWidth; idx++ {
		w := min(end-idx*store.TileWidth, store.TileWidth)
		b.Tiles = append(b.Tiles, store.Tile{Level: 0, Index: idx, Hashes: hashes[:w*store.HashSize]})
	}
	w := min(end/store.TileWidth, store.TileWidth)
	if w > 0 {
		b.Tiles = append(b.Tiles, store.Tile{Level: 1, Index: end / (store.TileWidth * store.TileWidth), Hashes: hashes[:w*store.HashSize]})
	}
	b.Checkpoint = store.Checkpoint{Size: end, Note: fmt.Appendf(nil,
		"indelible.example/log\n%d\nn4R0YTq4QHfzpYHtCkDk7jvS1vmw0VBM8YjYgFZjjGM=\n\n— indelible.example/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n", end)}
	return b
}

// BenchmarkAppend measures Append of whole batches, each committed durably:
// entries/s is the figure that matters. logs=4 appends to four logs at
// once, one writer each, as four tenants would.
//
//	go test -run '^$' -bench Append ./internal/store/postgres/
func BenchmarkAppend(b *testing.B) {
	hashes := make([]byte, store.TileWidth*store.HashSize)
	for i := range hashes {
		hashes[i] = byte(i * 7)
	}
	for _, logs := range []int{1, 4} {
		for _, n := range []uint64{1, 100, 1000} {
			b.Run(fmt.Sprintf("logs=%d/batch=%d", logs, n), func(b *testing.B) {
				db := open(b)
				defer db.Close()
				// Batches are built outside the timed loop: random ids
				// cost more than a little.
				sizes := make([]uint64, logs)
				var total uint64
				for b.Loop() {
					b.StopTimer()
					batches := make([]store.Batch, logs)
					for l := range logs {
						batches[l] = benchBatch(sizes[l], n, hashes)
					}
					b.StartTimer()
					var wg sync.WaitGroup
					errs := make([]error, logs)
					for l := range logs {
						wg.Go(func() { errs[l] = db.Append(b.Context(), fmt.Sprintf("bench-%d", l), batches[l]) })
					}
					wg.Wait()
					for _, err := range errs {
						if err != nil {
							b.Fatal(err)
						}
					}
					for l := range logs {
						sizes[l] += n
					}
					total += uint64(logs) * n
				}
				b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkScanEntries measures a full scan of a log, as verify does.
func BenchmarkScanEntries(b *testing.B) {
	const size = 100_000
	db := open(b)
	defer db.Close()
	hashes := make([]byte, store.TileWidth*store.HashSize)
	for start := uint64(0); start < size; start += 1000 {
		if err := db.Append(b.Context(), "bench", benchBatch(start, 1000, hashes)); err != nil {
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
