package sqlite

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/storetest"
)

// openIndex opens an index at path, closed when the test ends.
func openIndex(t testing.TB, path string) *IndexDB {
	t.Helper()
	ix, err := OpenIndex(t.Context(), IndexConfig{Path: path})
	if err != nil {
		t.Fatalf("OpenIndex(%q): %v", path, err)
	}
	return ix
}

func TestIndex(t *testing.T) {
	storetest.RunIndex(t, func(t *testing.T) store.Index {
		return openIndex(t, filepath.Join(t.TempDir(), "index.db"))
	})
}

// TestIndexSmallChunks runs the suite with scans that take many queries.
func TestIndexSmallChunks(t *testing.T) {
	storetest.RunIndex(t, func(t *testing.T) store.Index {
		ix := openIndex(t, filepath.Join(t.TempDir(), "index.db"))
		ix.scanChunk = 7
		return ix
	})
}

// TestIndexQueryPlans checks that every kind of filter is answered through
// an index: SQLite's plan for it searches (SEARCH ... USING ... INDEX or
// PRIMARY KEY) and never scans a table or sorts.
func TestIndexQueryPlans(t *testing.T) {
	ix := openIndex(t, filepath.Join(t.TempDir(), "index.db"))
	defer ix.Close()
	ctx := t.Context()
	rows := make([]store.IndexRow, 3*(1<<blockShift))
	for i := range rows {
		rows[i] = storetest.IndexRowFor("a", uint64(i))
	}
	if err := ix.WriteIndex(ctx, "a", 0, rows); err != nil {
		t.Fatal(err)
	}
	base := rows[0].Time
	tests := []struct {
		name  string
		q     store.IndexQuery
		using string // the index the plan must walk
	}{
		{"none", store.IndexQuery{Limit: 10}, "PRIMARY KEY"},
		{"actor", store.IndexQuery{Actor: "a-user-1", Limit: 10}, "COVERING INDEX rows_actor"},
		{"type", store.IndexQuery{TypePrefix: "data.read", Limit: 10}, "COVERING INDEX rows_type"},
		{"type prefix", store.IndexQuery{TypePrefix: "auth.", Limit: 10}, "COVERING INDEX rows_type"},
		{"resource id", store.IndexQuery{ResourceID: "r-3", Limit: 10}, "COVERING INDEX rows_resource"},
		{"resource", store.IndexQuery{ResourceType: "account", ResourceID: "r-3", Limit: 10}, "INDEX rows_resource"},
		{"resource type", store.IndexQuery{ResourceType: "account", Limit: 10}, "PRIMARY KEY"},
		{"outcome", store.IndexQuery{Outcome: "failure", Limit: 10}, "PRIMARY KEY"},
		{"time", store.IndexQuery{From: base, To: base.Add(time.Hour), Limit: 10}, "PRIMARY KEY"},
		{"type in time", store.IndexQuery{TypePrefix: "auth.login", Outcome: "failure", From: base, To: base.Add(time.Hour), Limit: 10}, "INDEX rows_type"},
		{"actor and type", store.IndexQuery{Actor: "a-user-1", TypePrefix: "auth.", Limit: 10}, "INDEX rows_actor"},
		{"cursor", store.IndexQuery{Actor: "a-user-1", Before: 100, Limit: 10}, "COVERING INDEX rows_actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Log = "a"
			tx, err := ix.r.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			p, err := ix.plan(ctx, tx, 1, uint64(len(rows)), tt.q)
			if err != nil || p == nil {
				t.Fatalf("plan(%+v) = %v, %v", tt.q, p, err)
			}
			query, args := p.statement(p.segs[:min(len(p.segs), 2)], tt.q.Limit)
			res, err := tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Close()
			var plan []string
			for res.Next() {
				var id, parent, notused int
				var detail string
				if err := res.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			text := strings.Join(plan, "\n")
			searches := 0
			for _, line := range plan {
				switch {
				case strings.HasPrefix(line, "SCAN"), strings.Contains(line, "TEMP B-TREE"):
					t.Errorf("plan for %+v scans or sorts:\n%s", tt.q, text)
				case strings.HasPrefix(line, "SEARCH rows USING "+tt.using+" ("):
					searches++
				case strings.HasPrefix(line, "SEARCH rows"):
					t.Errorf("plan for %+v searches another index than %s:\n%s", tt.q, tt.using, text)
				}
			}
			if searches == 0 {
				t.Errorf("plan for %+v does not search %s:\n%s", tt.q, tt.using, text)
			}
			t.Logf("%s:\n%s", query, text)
		})
	}
}

func TestIndexReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	ix := openIndex(t, path)
	rows := []store.IndexRow{storetest.IndexRowFor("a", 0), storetest.IndexRowFor("a", 1)}
	if err := ix.WriteIndex(t.Context(), "a", 0, rows); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ix = openIndex(t, path)
	defer ix.Close()
	// A new process has an empty dictionary cache: existing values are
	// found in the file, not added again.
	if err := ix.WriteIndex(t.Context(), "a", 2, []store.IndexRow{storetest.IndexRowFor("a", 2)}); err != nil {
		t.Fatal(err)
	}
	got, wm, err := ix.QueryIndex(t.Context(), store.IndexQuery{Log: "a", Actor: rows[0].Actor})
	if err != nil || wm != 3 || len(got) != 1 || got[0] != 0 {
		t.Errorf("QueryIndex after reopen = %v, %d, %v; want [0], 3", got, wm, err)
	}
}

// TestIndexDamage edits the index file with SQL and checks that ScanIndex
// reports what queries would otherwise silently get wrong.
func TestIndexDamage(t *testing.T) {
	tests := []struct {
		name, sql string
		index     uint64
		detail    string
	}{
		{"dict kind", "UPDATE rows SET actor = (SELECT id FROM dict WHERE kind = 1 LIMIT 1) WHERE idx = 5000", 5000, "which holds a type"},
		{"dict id", "UPDATE rows SET project = 999999 WHERE idx = 700", 700, "does not exist"},
		{"outcome", "UPDATE rows SET outcome = 9 WHERE idx = 3", 3, "outcome code 9"},
		{"block narrowed", "UPDATE blocks SET max_time = min_time WHERE block = 1", 1<<blockShift + 1, "leaves out"},
		{"block deleted", "DELETE FROM blocks WHERE block = 2", 2 << blockShift, "no block 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := openIndex(t, filepath.Join(t.TempDir(), "index.db"))
			defer ix.Close()
			rows := make([]store.IndexRow, 3*(1<<blockShift))
			for i := range rows {
				rows[i] = storetest.IndexRowFor("a", uint64(i))
			}
			if err := ix.WriteIndex(t.Context(), "a", 0, rows); err != nil {
				t.Fatal(err)
			}
			if _, err := ix.w.ExecContext(t.Context(), tt.sql); err != nil {
				t.Fatal(err)
			}
			err := ix.ScanIndex(t.Context(), "a", 0, func(store.IndexRow) error { return nil })
			var de *store.IndexDamageError
			if !errors.As(err, &de) || de.Index != tt.index || !strings.Contains(de.Detail, tt.detail) {
				t.Errorf("ScanIndex after %q = %v, want damage at %d saying %q", tt.sql, err, tt.index, tt.detail)
			}
		})
	}
}

// benchRow returns row i of a benchmark log with realistic cardinalities:
// 10,000 actors, 200 types in 10 categories, 50,000 resources of 20 types,
// 90% successes, 8% failures; times 100 ms apart. The fields are drawn from
// a hash of i, so any row can be made without the ones before it.
func benchRow(i uint64) store.IndexRow {
	h := i*0x9e3779b97f4a7c15 + 0x632be59bd9b4e5
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	h ^= h >> 31
	typ := h % 200
	res := h >> 8 % 50000
	outcome := "success"
	switch o := h >> 40 % 100; {
	case o >= 98:
		outcome = "unknown"
	case o >= 90:
		outcome = "failure"
	}
	return store.IndexRow{
		Index:        i,
		Time:         benchBase.Add(time.Duration(i) * 100 * time.Millisecond),
		Type:         benchNames.types[typ],
		Actor:        benchNames.actors[h>>20%10000],
		ResourceType: benchNames.rtypes[res%20],
		ResourceID:   benchNames.resources[res],
		Outcome:      outcome,
		Project:      benchNames.projects[h>>48%10],
		Environment:  []string{"production", "staging", "dev"}[h>>52%3],
		Source:       benchNames.sources[h>>56%30],
	}
}

// benchNames holds the strings of benchRow, made once so that making rows
// costs little next to writing them.
var benchNames = func() (n struct{ types, actors, rtypes, resources, projects, sources []string }) {
	names := func(count int, format string, f func(i int) []any) []string {
		l := make([]string, count)
		for i := range l {
			l[i] = fmt.Sprintf(format, f(i)...)
		}
		return l
	}
	n.types = names(200, "cat%d.object%d.action%d", func(i int) []any { return []any{i % 10, i / 10 % 4, i} })
	n.actors = names(10000, "user-%05d@example.com", func(i int) []any { return []any{i} })
	n.rtypes = names(20, "kind-%d", func(i int) []any { return []any{i} })
	n.resources = names(50000, "res-%06d", func(i int) []any { return []any{i} })
	n.projects = names(10, "project-%d", func(i int) []any { return []any{i} })
	n.sources = names(30, "service-%d", func(i int) []any { return []any{i} })
	return n
}()

var benchBase = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const benchLog = "bench"

// benchWrite indexes benchRows [from, to) in batches of batch rows.
func benchWrite(b *testing.B, ix *IndexDB, from, to uint64, batch int) {
	b.Helper()
	rows := make([]store.IndexRow, 0, batch)
	for start := from; start < to; start += uint64(batch) {
		rows = rows[:0]
		for i := start; i < min(start+uint64(batch), to); i++ {
			rows = append(rows, benchRow(i))
		}
		if err := ix.WriteIndex(b.Context(), benchLog, start, rows); err != nil {
			b.Fatal(err)
		}
	}
}

// benchFixture returns the path of an index holding benchRows [0, n),
// built once and kept in os.TempDir (a 10M-row index takes minutes).
func benchFixture(b *testing.B, n uint64) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("indelible-bench-index-v%d-e%d-%d.db", indexSchemaVersion, epochShift, n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(tmp + suffix)
	}
	ix, err := OpenIndex(b.Context(), IndexConfig{Path: tmp})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const step = 1_000_000
	for from := uint64(0); from < n; from += step {
		benchWrite(b, ix, from, min(from+step, n), 5000)
		b.Logf("fixture: %d rows, %.0f rows/s", min(from+step, n), float64(min(from+step, n))/time.Since(start).Seconds())
	}
	if err := ix.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// copyFile copies src to dst.
func copyFile(b *testing.B, src, dst string) {
	b.Helper()
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

var benchSizes = []struct {
	name string
	n    uint64
}{{"1M", 1_000_000}, {"10M", 10_000_000}}

// BenchmarkWriteIndex measures WriteIndex of batches of 1000 and 5000 rows
// on top of an index that already holds 1M or 10M rows: rows/s is the
// figure that matters. A server's indexer writes what was committed since
// its last pass, 50 ms or more apart: 1000 rows a pass at 20,000 events/s.
// Run with -benchtime=100x or so: each op is 5000 rows.
func BenchmarkWriteIndex(b *testing.B) {
	for _, size := range benchSizes {
		if testing.Short() && size.n > 1_000_000 {
			continue
		}
		for _, batch := range []int{1000, 5000} {
			b.Run(fmt.Sprintf("size=%s/batch=%d", size.name, batch), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "index.db")
				copyFile(b, benchFixture(b, size.n), path)
				ix := openIndex(b, path)
				defer ix.Close()
				// Warm the cache, as a long-running indexer has it.
				benchWrite(b, ix, size.n, size.n+50_000, batch)
				next := size.n + 50_000
				b.ResetTimer()
				for b.Loop() {
					benchWrite(b, ix, next, next+5000, batch)
					next += 5000
				}
				b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkWriteIndexCost isolates the cost of each secondary index: the
// same writes with one of them dropped, at 1M rows.
func BenchmarkWriteIndexCost(b *testing.B) {
	for _, drop := range []string{"", "rows_actor", "rows_type", "rows_resource", "rows_actor,rows_type,rows_resource"} {
		name := "all"
		if drop != "" {
			name = "without=" + drop
		}
		b.Run(name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "index.db")
			copyFile(b, benchFixture(b, 1_000_000), path)
			ix := openIndex(b, path)
			defer ix.Close()
			for _, idx := range strings.Split(drop, ",") {
				if idx != "" {
					if _, err := ix.w.ExecContext(b.Context(), "DROP INDEX "+idx); err != nil {
						b.Fatal(err)
					}
				}
			}
			benchWrite(b, ix, 1_000_000, 1_050_000, 5000)
			next := uint64(1_050_000)
			b.ResetTimer()
			for b.Loop() {
				benchWrite(b, ix, next, next+5000, 5000)
				next += 5000
			}
			b.ReportMetric(float64(b.N*5000)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkQueryIndex measures the two typical queries on indexes of 1M and
// 10M rows: the last 100 events of one actor, and the failures of one type
// in one hour (somewhere in the log's history). ns/op is the latency.
func BenchmarkQueryIndex(b *testing.B) {
	for _, size := range benchSizes {
		if testing.Short() && size.n > 1_000_000 {
			continue
		}
		ix := openIndex(b, benchFixture(b, size.n))
		queries := []struct {
			name string
			q    func(k uint64) store.IndexQuery
		}{
			{"actor-last-100", func(k uint64) store.IndexQuery {
				return store.IndexQuery{Log: benchLog, Actor: benchRow(k * 7919 % size.n).Actor, Limit: 100}
			}},
			{"type-failures-1h", func(k uint64) store.IndexQuery {
				r := benchRow(k * 7919 % size.n)
				from := r.Time.Truncate(time.Hour)
				return store.IndexQuery{Log: benchLog, TypePrefix: r.Type, Outcome: "failure", From: from, To: from.Add(time.Hour), Limit: 100}
			}},
		}
		for _, qq := range queries {
			b.Run(fmt.Sprintf("size=%s/%s", size.name, qq.name), func(b *testing.B) {
				var k, found uint64
				for b.Loop() {
					got, _, err := ix.QueryIndex(b.Context(), qq.q(k))
					if err != nil {
						b.Fatal(err)
					}
					k++
					found += uint64(len(got))
				}
				b.ReportMetric(float64(found)/float64(k), "results/op")
			})
		}
		ix.Close()
	}
}

// TestIndexEpochs runs queries over a log that spans several epochs of the
// secondary indexes, against the suite's reference.
func TestIndexEpochs(t *testing.T) {
	if testing.Short() {
		t.Skip("writes more than two epochs of rows")
	}
	ix := openIndex(t, filepath.Join(t.TempDir(), "index.db"))
	defer ix.Close()
	const e = 1 << epochShift
	const n = 2*e + 4000
	rows := make([]store.IndexRow, n)
	for i := range rows {
		rows[i] = storetest.IndexRowFor("a", uint64(i))
	}
	for from := 0; from < n; from += 20000 {
		if err := ix.WriteIndex(t.Context(), "a", uint64(from), rows[from:min(from+20000, n)]); err != nil {
			t.Fatal(err)
		}
	}
	month := rows[0].Time.AddDate(0, -1, 0)
	for _, q := range []store.IndexQuery{
		{Actor: "a-user-3", Limit: 100},
		{Actor: "a-user-3", Limit: 20000},
		{Actor: "a-user-3", Before: 2*e + 5, Limit: 30},
		{Actor: "a-user-3", Before: 2 * e, Limit: 30},
		{TypePrefix: "auth.", Limit: 40000},
		{TypePrefix: "auth.login", Outcome: "failure", Limit: 1000},
		{ResourceID: "r-5", ResourceType: "bucket"},
		{ResourceID: "r-5", From: rows[e*9/10].Time, To: rows[2*e-e/50].Time, Limit: 3000},
		{Actor: "a-user-1", From: month, To: month.Add(time.Hour)},
		{TypePrefix: "auth.", From: rows[e-100].Time, To: rows[e+100].Time},
		{From: rows[e-e/100].Time, To: rows[2*e+e/20].Time, Outcome: "success", Limit: 500},
	} {
		q.Log = "a"
		storetest.CheckQuery(t, ix, q, rows)
	}
}

// TestIndexOlderSchemaRebuilt opens an index file of the previous schema
// version (epochs of 65536 rows): it must be emptied and recreated with the
// current indexes, so that the indexer rebuilds it from the entries,
// rather than queried with seeks that do not fit its indexes.
func TestIndexOlderSchemaRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.db")
	ix := openIndex(t, path)
	rows := make([]store.IndexRow, 100)
	for i := range rows {
		rows[i] = storetest.IndexRowFor("a", uint64(i))
	}
	if err := ix.WriteIndex(t.Context(), "a", 0, rows); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"DROP INDEX rows_actor",
		"CREATE INDEX rows_actor ON rows (log, idx >> 16, actor, idx)",
		fmt.Sprintf("PRAGMA user_version = %d", indexSchemaVersion-1),
	} {
		if _, err := ix.w.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	ix = openIndex(t, path)
	defer ix.Close()
	if wm, err := ix.IndexWatermark(t.Context(), "a"); err != nil || wm != 0 {
		t.Fatalf("watermark after reopening = %d, %v; want 0 (rebuilt)", wm, err)
	}
	var def string
	if err := ix.r.QueryRowContext(t.Context(), "SELECT sql FROM sqlite_schema WHERE name = 'rows_actor'").Scan(&def); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("idx >> %d,", epochShift); !strings.Contains(def, want) {
		t.Errorf("rows_actor is %q, want it keyed by %q", def, want)
	}
	if err := ix.WriteIndex(t.Context(), "a", 0, rows); err != nil {
		t.Fatalf("writing the rows again: %v", err)
	}
	storetest.CheckQuery(t, ix, store.IndexQuery{Log: "a", Actor: rows[7].Actor}, rows)
}

func TestIndexStats(t *testing.T) {
	storetest.RunStats(t, func(t *testing.T) store.Index {
		return openIndex(t, filepath.Join(t.TempDir(), "index.db"))
	})
}

func TestHourlyAnswers(t *testing.T) {
	h := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		q    store.StatsQuery
		want bool
	}{
		{store.StatsQuery{}, true},
		{store.StatsQuery{By: "type", Interval: time.Hour, IndexQuery: store.IndexQuery{From: h, To: h.Add(7 * 24 * time.Hour), TypePrefix: "a."}}, true},
		{store.StatsQuery{By: "outcome", Interval: 24 * time.Hour, IndexQuery: store.IndexQuery{Outcome: "failure"}}, true},
		{store.StatsQuery{By: "actor"}, false},
		{store.StatsQuery{Interval: 30 * time.Minute}, false},
		{store.StatsQuery{IndexQuery: store.IndexQuery{From: h.Add(time.Minute)}}, false},
		{store.StatsQuery{IndexQuery: store.IndexQuery{Actor: "a"}}, false},
		{store.StatsQuery{IndexQuery: store.IndexQuery{ResourceID: "r"}}, false},
	} {
		if got := hourlyAnswers(tt.q); got != tt.want {
			t.Errorf("hourlyAnswers(%+v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

// BenchmarkIndexStats counts a week by hour (answered from the hourly
// counters) and one actor's events by day (answered from the rows).
func BenchmarkIndexStats(b *testing.B) {
	for _, size := range benchSizes {
		if testing.Short() && size.n > 1_000_000 {
			continue
		}
		ix := openIndex(b, benchFixture(b, size.n))
		end := benchRow(size.n - 1).Time.Truncate(time.Hour)
		queries := []struct {
			name string
			q    func(k uint64) store.StatsQuery
		}{
			{"week-by-hour-and-outcome", func(uint64) store.StatsQuery {
				return store.StatsQuery{IndexQuery: store.IndexQuery{Log: benchLog, From: end.Add(-7 * 24 * time.Hour), To: end},
					By: "outcome", Interval: time.Hour}
			}},
			{"actor-by-day-and-type", func(k uint64) store.StatsQuery {
				return store.StatsQuery{IndexQuery: store.IndexQuery{Log: benchLog, Actor: benchRow(k * 7919 % size.n).Actor},
					By: "type", Interval: 24 * time.Hour}
			}},
		}
		for _, qq := range queries {
			b.Run(fmt.Sprintf("size=%s/%s", size.name, qq.name), func(b *testing.B) {
				var k, counted uint64
				for b.Loop() {
					rows, _, err := ix.IndexStats(b.Context(), qq.q(k))
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range rows {
						counted += r.Count
					}
					k++
				}
				b.ReportMetric(float64(counted)/float64(k), "rows/op")
			})
		}
		ix.Close()
	}
}
