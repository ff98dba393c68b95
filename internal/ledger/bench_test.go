package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/postgres"
	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

// benchEvent is a realistic event of about 400 bytes once sealed.
func benchEvent(id string, n int) *event.Event {
	return &event.Event{
		ID:          id,
		Time:        time.Date(2026, 11, 23, 19, 40, 0, n, time.UTC),
		Type:        "data.export",
		Outcome:     "success",
		Actor:       event.Actor{ID: fmt.Sprintf("user-%d@example.com", n%1000), Type: "user", IP: "203.0.113.7", UserAgent: "curl/8.5.0"},
		Resource:    &event.Resource{Type: "bucket", ID: fmt.Sprintf("reports-%d", n%50)},
		Project:     "payments",
		Environment: "production",
		Source:      "billing-api",
		Data:        map[string]any{"rows": "1200", "format": "csv"},
	}
}

// BenchmarkAppend measures durable appends (seal, sequence, commit with
// fsync) on a real SQLite file, by batch size and number of concurrent
// appenders, with time-ordered UUIDv7 ids (what the server assigns and the
// Go SDK generates). events/s is the figure that matters.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 100, 1000} {
		for _, conc := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("batch=%d/appenders=%d", batch, conc), func(b *testing.B) {
				benchAppend(b, batch, conc, uuidV7)
			})
		}
	}
}

// BenchmarkAppendRandomIDs is BenchmarkAppend with random (UUIDv4-like)
// client ids: every insert into the id index lands on a random page.
func BenchmarkAppendRandomIDs(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d/appenders=8", batch), func(b *testing.B) {
			benchAppend(b, batch, 8, func() string { return uuid.NewString() })
		})
	}
}

func uuidV7() string { return uuid.Must(uuid.NewV7()).String() }

func benchAppend(b *testing.B, batch, conc int, newID func() string) {
	e := newEnv(b)
	l := e.ledger(b, ledger.Config{})
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	per := b.N/conc + 1
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries := make([]*event.Entry, batch)
			for i := 0; i < per; i++ {
				for k := range entries {
					n := int(next.Add(1))
					en, err := e.sealer.Seal("bench", benchEvent(newID(), n))
					if err != nil {
						b.Error(err)
						return
					}
					entries[k] = en
				}
				if _, err := l.Append(ctx, "bench", entries); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(next.Load())/time.Since(start).Seconds(), "events/s")
}

// BenchmarkSealAndHash measures the CPU cost per event before the
// sequencer: sealing (digest) plus canonical bytes and leaf hash.
func BenchmarkSealAndHash(b *testing.B) {
	e := newEnv(b)
	ev := benchEvent("0191c2a4-7d3e-7b8a-9c1d-2e3f4a5b6c7d", 1)
	b.ReportAllocs()
	for b.Loop() {
		en, err := e.sealer.Seal("bench", ev)
		if err != nil {
			b.Fatal(err)
		}
		body, err := en.Canonical()
		if err != nil {
			b.Fatal(err)
		}
		_ = event.LeafHash(body)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// bigLog returns a store holding a log "big" of n entries (tiny bodies:
// proofs read only tiles), built once and kept in the temporary
// directory between runs because building 10M entries takes a while.
func bigLog(b *testing.B, n int) (store.Store, note.Signer) {
	b.Helper()
	ctx := context.Background()
	// A fixed key: the fixture outlives the process.
	skey := "PRIVATE+KEY+bench.example+" + benchKeySuffix
	signer, err := note.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(os.TempDir(), "indelible-bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("log-%d.db", n))
	var st store.Store
	if url := os.Getenv("INDELIBLE_BENCH_POSTGRES"); url != "" {
		// The same fixture in PostgreSQL, in a schema of its own.
		path = fmt.Sprintf("schema indelible_bench_%d of %s", n, url)
		st, err = postgres.Open(ctx, postgres.Config{URL: url, Schema: fmt.Sprintf("indelible_bench_%d", n), Migrate: true})
	} else {
		st, err = sqlite.Open(ctx, sqlite.Config{Path: path})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	head, err := st.Head(ctx, "big")
	if err != nil {
		b.Fatal(err)
	}
	if head.Size == uint64(n) {
		return st, signer
	}
	if head.Size != 0 {
		b.Fatalf("%s holds a partial fixture (size %d): delete it", path, head.Size)
	}
	b.Logf("building a %d-entry log in %s (once)", n, path)
	tree := verify.NewTree()
	const chunk = 100_000
	for start := 0; start < n; start += chunk {
		var batch store.Batch
		batch.Start = uint64(start)
		for i := start; i < min(start+chunk, n); i++ {
			var body [8]byte
			binary.BigEndian.PutUint64(body[:], uint64(i))
			batch.Entries = append(batch.Entries, store.Entry{Index: uint64(i), ID: fmt.Sprint(i), Body: body[:]})
			tree.Append(verify.LeafHash(body[:]), func(t verify.Tile) {
				batch.Tiles = append(batch.Tiles, store.Tile{Level: t.Level, Index: t.Index, Hashes: t.Hashes})
			})
		}
		for _, t := range tree.PartialTiles() {
			batch.Tiles = append(batch.Tiles, store.Tile{Level: t.Level, Index: t.Index, Hashes: t.Hashes})
		}
		text := verify.Checkpoint{Origin: "bench.example/big", Size: tree.Size(), Root: tree.Root()}.Text()
		msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			b.Fatal(err)
		}
		batch.Checkpoint = store.Checkpoint{Size: tree.Size(), Note: msg}
		if err := st.Append(ctx, "big", batch); err != nil {
			b.Fatal(err)
		}
	}
	return st, signer
}

// benchKeySuffix is the hash and key of a fixed test-only Ed25519 key.
var benchKeySuffix = func() string {
	seed := sha256.Sum256([]byte("indelible bench key"))
	return fixedKey("bench.example", seed[:])
}()

func BenchmarkProofs(b *testing.B) {
	sizes := []int{1_000_000, 10_000_000}
	if testing.Short() {
		sizes = sizes[:1]
	}
	for _, n := range sizes {
		st, signer := bigLog(b, n)
		l, err := ledger.New(ledger.Config{Store: st, Signer: signer})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run(fmt.Sprintf("inclusion/size=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			var d durations
			for b.Loop() {
				start := time.Now()
				if _, err := l.InclusionProof(ctx, "big", r.Uint64N(uint64(n)), uint64(n)); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(start))
			}
			d.report(b)
		})
		b.Run(fmt.Sprintf("consistency/size=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			var d durations
			for b.Loop() {
				start := time.Now()
				if _, err := l.ConsistencyProof(ctx, "big", 1+r.Uint64N(uint64(n-1)), uint64(n)); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(start))
			}
			d.report(b)
		})
		l.Close()
	}
}

// BenchmarkAudit measures a full verification of a real SQLite log of
// realistic entries: read, re-hash, rebuild, compare tiles and
// checkpoints.
func BenchmarkAudit(b *testing.B) {
	const n = 200_000
	e := newEnv(b)
	l := e.ledger(b, ledger.Config{})
	ctx := context.Background()
	for start := 0; start < n; start += 1000 {
		entries := make([]*event.Entry, 1000)
		for i := range entries {
			entries[i] = e.seal(b, "acme", benchEvent(fmt.Sprint(start+i), start+i))[0]
		}
		if _, err := l.Append(ctx, "acme", entries); err != nil {
			b.Fatal(err)
		}
	}
	cfg := ledger.AuditConfig{Origin: l.Origin("acme"), Verifiers: note.VerifierList(e.verifier)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := ledger.AuditLog(ctx, e.st, "acme", cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// durations collects per-operation latencies to report their median and
// 99th percentile, which ns/op (a mean) hides.
type durations []time.Duration

func (d durations) report(b *testing.B) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}
