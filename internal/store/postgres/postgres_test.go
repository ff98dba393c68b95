package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/a24ba333/indelible/internal/store"
	"github.com/a24ba333/indelible/internal/store/storetest"
)

// defaultTestURL is the database the tests use when INDELIBLE_TEST_POSTGRES
// is not set. Without a user name, pgx connects as the OS user.
const defaultTestURL = "postgres://127.0.0.1:5432/test?sslmode=disable"

var testDB struct {
	once sync.Once
	url  string // the URL that connected, "" if none
	err  error  // why none did
}

// testURL returns the URL of the test database, skipping the test (or
// failing it under CI=true) if PostgreSQL is not reachable.
func testURL(t testing.TB) string {
	t.Helper()
	testDB.once.Do(func() {
		urls := []string{os.Getenv("INDELIBLE_TEST_POSTGRES")}
		if urls[0] == "" {
			// The OS user first, then the usual superuser names.
			urls = []string{defaultTestURL, withUser(defaultTestURL, "postgres"), withUser(defaultTestURL, "root")}
		}
		for _, u := range urls {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			conn, err := pgx.Connect(ctx, u)
			cancel()
			if err == nil {
				conn.Close(context.Background())
				testDB.url = u
				return
			}
			testDB.err = errors.Join(testDB.err, err)
		}
	})
	if testDB.url == "" {
		where := cmpOr(os.Getenv("INDELIBLE_TEST_POSTGRES"), defaultTestURL)
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL not reachable at %s: %v\nStart one (for example: docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:17) or set INDELIBLE_TEST_POSTGRES", where, testDB.err)
		}
		t.Skipf("PostgreSQL not reachable at %s; set INDELIBLE_TEST_POSTGRES to run these tests (%v)", where, testDB.err)
	}
	return testDB.url
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// withUser returns the URL u with its user name set to user.
func withUser(u, user string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.User = url.User(user)
	return p.String()
}

// adminConn returns a connection to the test database, closed at the end
// of the test.
func adminConn(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), testURL(t))
	if err != nil {
		t.Fatalf("connecting to %s: %v", testURL(t), err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// newSchema returns the name of a schema, t_<random hex>, that is dropped
// with everything in it when the test ends. It does not create it.
func newSchema(t testing.TB) string {
	t.Helper()
	url := testURL(t)
	schema := "t_" + hex.EncodeToString(randomBytes(8))
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// open opens a store in a new schema, migrated, logging to t. The caller
// closes it.
func open(t testing.TB) *DB {
	t.Helper()
	return openIn(t, newSchema(t), true)
}

// openIn opens the store in schema, logging to t.
func openIn(t testing.TB, schema string, migrate bool) *DB {
	t.Helper()
	db, err := Open(context.Background(), Config{URL: testURL(t), Schema: schema, Migrate: migrate, MaxConns: 4, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open(schema %s): %v", schema, err)
	}
	return db
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tLog{t}, nil))
}

// tLog routes log lines to t.Logf.
type tLog struct{ t testing.TB }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimSuffix(p, []byte("\n")))
	return len(p), nil
}

func TestStore(t *testing.T) {
	testURL(t) // skip the whole suite at once
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// TestStoreSmallChunks runs the suite with scans that take many queries.
func TestStoreSmallChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		db := open(t)
		db.scanChunk = 7
		return db
	})
}

func TestKeys(t *testing.T) {
	testURL(t)
	storetest.RunKeys(t, func(t *testing.T) store.Keys {
		db := open(t)
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// batch builds the batch that grows a log from start by n entries with ids
// "<prefix>-<index>", the level-0 tiles it touches and a checkpoint. A
// tile's hashes depend only on the indexes, so batches written by
// different writers agree.
func batch(prefix string, start, n uint64) store.Batch {
	b := store.Batch{Start: start}
	for i := start; i < start+n; i++ {
		b.Entries = append(b.Entries, store.Entry{Index: i, ID: fmt.Sprintf("%s-%d", prefix, i), Body: fmt.Appendf(nil, "%s body %d", prefix, i)})
	}
	end := start + n
	for idx := start / store.TileWidth; idx <= (end-1)/store.TileWidth; idx++ {
		b.Tiles = append(b.Tiles, tile(idx, min(end-idx*store.TileWidth, store.TileWidth)))
	}
	b.Checkpoint = store.Checkpoint{Size: end, Note: fmt.Appendf(nil, "checkpoint %d\n", end)}
	return b
}

// tile returns level-0 tile idx of width hashes.
func tile(idx, width uint64) store.Tile {
	t := store.Tile{Index: idx}
	for j := range width {
		h := sha256.Sum256(fmt.Appendf(nil, "%d", idx*store.TileWidth+j))
		t.Hashes = append(t.Hashes, h[:]...)
	}
	return t
}

// count returns the number of rows of table in schema.
func count(t *testing.T, conn *pgx.Conn, schema, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM "+schema+"."+table).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

func TestTriggers(t *testing.T) {
	schema := newSchema(t)
	db := openIn(t, schema, true)
	defer db.Close()
	ctx := t.Context()
	if err := db.Append(ctx, "a", batch("id", 0, 3)); err != nil {
		t.Fatalf("Append: %v", err)
	}
	conn := adminConn(t)
	tests := []struct {
		sql, table string
	}{
		{"UPDATE %s.entries SET body = 'forged' WHERE seq = 1", "entries"},
		{"UPDATE %s.entries SET seq = seq + 1", "entries"},
		{"DELETE FROM %s.entries WHERE seq = 2", "entries"},
		{"TRUNCATE %s.entries", "entries"},
		{"UPDATE %s.checkpoints SET note = 'forged'", "checkpoints"},
		{"DELETE FROM %s.checkpoints", "checkpoints"},
		{"DELETE FROM %s.tiles", "tiles"},
		{"UPDATE %s.tiles SET hashes = substr(hashes, 1, 32)", "tiles"},
		{"UPDATE %s.tiles SET hashes = '\\xff'::bytea || hashes", "tiles"},
		{"DELETE FROM %s.logs", "logs"},
		{"UPDATE %s.logs SET size = 1", "logs"},
		{"UPDATE %s.logs SET name = 'b'", "logs"},
	}
	for _, tt := range tests {
		sql := fmt.Sprintf(tt.sql, schema)
		_, err := conn.Exec(ctx, sql)
		want := "on table " + tt.table + " is refused"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Exec(%q) = %v, want an error containing %q", sql, err, want)
		}
	}

	// Nothing changed.
	entries, err := db.ReadEntries(ctx, "a", 0, math.MaxUint64)
	if err != nil {
		t.Fatalf("ReadEntries: %v", err)
	}
	want := batch("id", 0, 3)
	if len(entries) != 3 {
		t.Fatalf("ReadEntries returned %d entries, want 3", len(entries))
	}
	for i, e := range entries {
		if w := want.Entries[i]; e.Index != w.Index || e.ID != w.ID || !bytes.Equal(e.Body, w.Body) {
			t.Errorf("entry %d = {%d %q %q}, want {%d %q %q}", i, e.Index, e.ID, e.Body, w.Index, w.ID, w.Body)
		}
	}
	if head, err := db.Head(ctx, "a"); err != nil || head.Size != 3 || !bytes.Equal(head.Note, want.Checkpoint.Note) {
		t.Errorf("Head = {%d %q}, %v; want {3 %q}", head.Size, head.Note, err, want.Checkpoint.Note)
	}
	if tl, err := db.ReadTile(ctx, "a", 0, 0); err != nil || !bytes.Equal(tl.Hashes, want.Tiles[0].Hashes) {
		t.Errorf("ReadTile(0, 0) = width %d, %v; want the tile as appended", tl.Width(), err)
	}
	if logs, err := db.Logs(ctx); err != nil || len(logs) != 1 || logs[0] != "a" {
		t.Errorf("Logs() = %q, %v; want [a]", logs, err)
	}

	// Growing a tile, and the log, is what Append does: still allowed.
	if err := db.Append(ctx, "a", batch("id", 3, 2)); err != nil {
		t.Errorf("Append after the refused changes: %v", err)
	}
}

func TestConcurrentNodes(t *testing.T) {
	const nodes, writersPerNode, batches, perBatch = 3, 2, 15, 7
	schema := newSchema(t)
	var dbs []*DB
	for n := range nodes {
		db := openIn(t, schema, n == 0) // the first node migrates
		defer db.Close()
		dbs = append(dbs, db)
	}

	// Every writer appends its batches to log "a", sequencing again on
	// ErrConflict. A batch's entries have ids and bodies naming the writer
	// and the batch, so that each can be found afterwards.
	type result struct {
		writer    string
		conflicts int
		err       error
	}
	results := make(chan result, nodes*writersPerNode)
	var wg sync.WaitGroup
	for n, db := range dbs {
		for w := range writersPerNode {
			writer := fmt.Sprintf("n%dw%d", n, w)
			wg.Go(func() {
				r := result{writer: writer}
				defer func() { results <- r }()
				ctx := t.Context()
				for k := range batches {
					for {
						head, err := db.Head(ctx, "a")
						if err != nil {
							r.err = err
							return
						}
						b := batch("", head.Size, perBatch)
						for j := range b.Entries {
							b.Entries[j].ID = fmt.Sprintf("%s-b%d-%d", writer, k, j)
							b.Entries[j].Body = fmt.Appendf(nil, "%s b%d %d", writer, k, j)
						}
						err = db.Append(ctx, "a", b)
						if errors.Is(err, store.ErrConflict) {
							r.conflicts++
							continue
						}
						if err != nil {
							r.err = err
							return
						}
						break
					}
				}
			})
		}
	}
	wg.Wait()
	close(results)
	conflicts := 0
	for r := range results {
		if r.err != nil {
			t.Errorf("writer %s: %v", r.writer, r.err)
		}
		conflicts += r.conflicts
	}
	if t.Failed() {
		return
	}
	t.Logf("%d conflicts retried", conflicts)

	// Read back through another node than the writers'.
	db := openIn(t, schema, false)
	defer db.Close()
	ctx := t.Context()
	const size = nodes * writersPerNode * batches * perBatch
	head, err := db.Head(ctx, "a")
	if err != nil || head.Size != size {
		t.Fatalf("Head = %d, %v; want %d", head.Size, err, size)
	}
	entries, err := db.ReadEntries(ctx, "a", 0, math.MaxUint64)
	if err != nil {
		t.Fatalf("ReadEntries: %v", err)
	}
	if len(entries) != size {
		t.Fatalf("ReadEntries returned %d entries, want %d", len(entries), size)
	}
	// Each batch is perBatch consecutive entries, starting at a multiple
	// of perBatch, in order; each writer's batches appear once, in order.
	next := map[string]int{} // writer -> its next batch
	for start := 0; start < size; start += perBatch {
		var writer string
		var k int
		if _, err := fmt.Sscanf(string(entries[start].Body), "%s b%d 0", &writer, &k); err != nil {
			t.Fatalf("entry %d = %q: not the first of a batch", start, entries[start].Body)
		}
		if k != next[writer] {
			t.Fatalf("entry %d starts batch %d of %s, want its batch %d", start, k, writer, next[writer])
		}
		next[writer]++
		for j := range perBatch {
			e := entries[start+j]
			wantID, wantBody := fmt.Sprintf("%s-b%d-%d", writer, k, j), fmt.Sprintf("%s b%d %d", writer, k, j)
			if e.Index != uint64(start+j) || e.ID != wantID || string(e.Body) != wantBody {
				t.Fatalf("entry %d = {%d %q %q}, want {%d %q %q}", start+j, e.Index, e.ID, e.Body, start+j, wantID, wantBody)
			}
		}
	}
	for writer, n := range next {
		if n != batches {
			t.Errorf("writer %s has %d batches in the log, want %d", writer, n, batches)
		}
	}
	if len(next) != nodes*writersPerNode {
		t.Errorf("the log holds batches of %d writers, want %d", len(next), nodes*writersPerNode)
	}
	var sizes []uint64
	err = db.ScanCheckpoints(ctx, "a", math.MaxUint64, func(c store.Checkpoint) error {
		sizes = append(sizes, c.Size)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanCheckpoints: %v", err)
	}
	for k, s := range sizes {
		if s != uint64(k+1)*perBatch {
			t.Fatalf("checkpoint %d has size %d, want %d", k, s, (k+1)*perBatch)
		}
	}
	if len(sizes) != size/perBatch {
		t.Errorf("%d checkpoints, want %d", len(sizes), size/perBatch)
	}
	var tiles []store.Tile
	if err := db.ScanTiles(ctx, "a", func(t store.Tile) error { tiles = append(tiles, t); return nil }); err != nil {
		t.Fatalf("ScanTiles: %v", err)
	}
	want := batch("", 0, size).Tiles
	if len(tiles) != len(want) {
		t.Fatalf("%d tiles, want %d", len(tiles), len(want))
	}
	for k := range want {
		if tiles[k].Index != want[k].Index || !bytes.Equal(tiles[k].Hashes, want[k].Hashes) {
			t.Errorf("tile %d is 0/%d width %d, want 0/%d width %d", k, tiles[k].Index, tiles[k].Width(), want[k].Index, want[k].Width())
		}
	}
}

func TestMigrateConcurrent(t *testing.T) {
	const n = 8
	schema := newSchema(t)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			db, err := Open(t.Context(), Config{URL: testURL(t), Schema: schema, Migrate: true, MaxConns: 2, Logger: testLogger(t)})
			if err == nil {
				db.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Open with Migrate: %v", err)
		}
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	conn := adminConn(t)
	var rows, versions, newest int
	err = conn.QueryRow(t.Context(), "SELECT count(*), count(DISTINCT version), max(version) FROM "+schema+".schema_migrations").Scan(&rows, &versions, &newest)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	if rows != len(ms) || versions != len(ms) || newest != len(ms) {
		t.Errorf("schema_migrations has %d rows, %d versions, newest %d; want %d, %d, %d", rows, versions, newest, len(ms), len(ms), len(ms))
	}
}

func TestSchemaVersion(t *testing.T) {
	ctx := t.Context()
	schema := newSchema(t)

	// A database that was never migrated.
	_, err := Open(ctx, Config{URL: testURL(t), Schema: schema})
	if err == nil || !strings.Contains(err.Error(), "run indelible migrate") {
		t.Errorf("Open(no tables) = %v, want an error saying to run indelible migrate", err)
	} else {
		t.Logf("Open(no tables) = %v", err)
	}

	db := openIn(t, schema, true)
	db.Close()
	db = openIn(t, schema, false) // up to date
	db.Close()
	db = openIn(t, schema, true) // migrating again does nothing
	if err := db.Migrate(ctx); err != nil {
		t.Errorf("Migrate(up to date) = %v", err)
	}
	db.Close()

	// A database migrated by a newer program.
	conn := adminConn(t)
	if _, err := conn.Exec(ctx, "INSERT INTO "+schema+".schema_migrations VALUES (999, now())"); err != nil {
		t.Fatal(err)
	}
	for _, migrate := range []bool{false, true} {
		_, err := Open(ctx, Config{URL: testURL(t), Schema: schema, Migrate: migrate})
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("Open(version 999, Migrate %v) = %v, want an error saying the database is newer", migrate, err)
		}
	}
}

func TestOpenConfig(t *testing.T) {
	ctx := t.Context()
	for _, cfg := range []Config{
		{},
		{URL: "postgres://127.0.0.1:5432/test", MaxConns: -1},
		{URL: "::not a url"},
	} {
		if db, err := Open(ctx, cfg); err == nil {
			db.Close()
			t.Errorf("Open(%+v) = nil error, want error", cfg)
		}
	}
}

func TestClosed(t *testing.T) {
	db := open(t)
	if err := db.Append(t.Context(), "a", batch("id", 0, 1)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := db.Head(t.Context(), "a"); err == nil {
		t.Error("Head after Close = nil error, want one")
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestGrants runs the conformance suite as a role that has only the
// privileges Grants lists, and checks that the role can delete and create
// nothing.
func TestGrants(t *testing.T) {
	ctx := t.Context()
	conn := adminConn(t)
	role := "t_role_" + hex.EncodeToString(randomBytes(6))
	if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
		t.Skipf("cannot create a role to test the grants: %v", err)
	}
	t.Cleanup(func() {
		// After the schemas (and the privileges on them) are dropped.
		if _, err := conn.Exec(context.Background(), "DROP ROLE "+role); err != nil {
			t.Errorf("dropping role %s: %v", role, err)
		}
	})
	roleURL := withUser(testURL(t), role)
	if roleURL == testURL(t) {
		t.Skip("INDELIBLE_TEST_POSTGRES is not a URL: cannot connect as another role")
	}

	// openAsRole migrates a new schema as the owner, grants role the
	// server's privileges and opens it as role.
	openAsRole := func(t *testing.T) (*DB, string) {
		t.Helper()
		schema := newSchema(t)
		owner := openIn(t, schema, true)
		grants := owner.Grants(role)
		owner.Close()
		if _, err := conn.Exec(ctx, grants); err != nil {
			t.Fatalf("granting:\n%s: %v", grants, err)
		}
		db, err := Open(ctx, Config{URL: roleURL, Schema: schema, MaxConns: 4, Logger: testLogger(t)})
		if err != nil {
			t.Fatalf("Open as %s: %v", role, err)
		}
		return db, schema
	}
	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { db, _ := openAsRole(t); return db })
	})
	t.Run("Keys", func(t *testing.T) {
		storetest.RunKeys(t, func(t *testing.T) store.Keys {
			db, _ := openAsRole(t)
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("Refused", func(t *testing.T) {
		db, schema := openAsRole(t)
		defer db.Close()
		if err := db.Append(ctx, "a", batch("id", 0, 3)); err != nil {
			t.Fatalf("Append as %s: %v", role, err)
		}
		rc, err := pgx.Connect(ctx, roleURL)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close(ctx)
		for _, sql := range []string{
			"DELETE FROM %s.api_keys",
			"DELETE FROM %s.logs",
			"UPDATE %s.entries SET body = ''",
			"TRUNCATE %s.tiles",
			"CREATE TABLE %s.x (a int)",
			"DROP TABLE %s.entries",
			"ALTER TABLE %s.entries DISABLE TRIGGER entries_append_only",
		} {
			sql = fmt.Sprintf(sql, schema)
			if _, err := rc.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") {
				t.Errorf("Exec(%q) as %s = %v, want permission denied", sql, role, err)
			}
		}
		if n := count(t, conn, schema, "entries"); n != 3 {
			t.Errorf("%d entries after the refused statements, want 3", n)
		}
	})
}

// TestGrantsDoc checks that GRANTS.md shows what Grants returns.
func TestGrantsDoc(t *testing.T) {
	doc, err := os.ReadFile("GRANTS.md")
	if err != nil {
		t.Fatal(err)
	}
	want := grants("indelible", "indelible_server")
	if !strings.Contains(string(doc), want) {
		t.Errorf("GRANTS.md does not contain the statements of grants(%q, %q):\n%s", "indelible", "indelible_server", want)
	}
}

func TestEntryChunks(t *testing.T) {
	entries := make([]store.Entry, 10)
	for i := range entries {
		entries[i].Body = make([]byte, 10*(i+1)) // 10, 20, ..., 100 bytes
	}
	tests := []struct {
		rows, bytes int
		want        []int
	}{
		{100, 1000, []int{10}},
		{4, 1000, []int{4, 4, 2}},
		{100, 100, []int{4, 1, 1, 1, 1, 1, 1}},
		{100, 5, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}}, // bodies larger than the limit go one by one
		{3, 150, []int{3, 3, 2, 1, 1}},
	}
	for _, tt := range tests {
		var got []int
		next := 0
		for chunk := range entryChunks(entries, tt.rows, tt.bytes) {
			if &chunk[0] != &entries[next] {
				t.Errorf("entryChunks(%d, %d): chunk starts at the wrong entry", tt.rows, tt.bytes)
			}
			next += len(chunk)
			got = append(got, len(chunk))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("entryChunks(%d, %d) = chunks of %v, want %v", tt.rows, tt.bytes, got, tt.want)
		}
	}
}

// TestBigBatch appends a batch that takes several INSERT statements.
func TestBigBatch(t *testing.T) {
	db := open(t)
	defer db.Close()
	ctx := t.Context()
	const n = 2*insertRows + 345
	b := batch("id", 0, n)
	b.Entries[n-1].ID = b.Entries[3].ID // a duplicate in the last statement
	if err := db.Append(ctx, "a", b); !errors.Is(err, store.ErrDuplicateID) {
		t.Fatalf("Append(duplicate in the last chunk) = %v, want ErrDuplicateID", err)
	}
	if head, err := db.Head(ctx, "a"); err != nil || head.Size != 0 {
		t.Fatalf("Head after failed Append = %d, %v; want 0", head.Size, err)
	}
	b = batch("id", 0, n)
	if err := db.Append(ctx, "a", b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	got, err := db.ReadEntries(ctx, "a", 0, math.MaxUint64)
	if err != nil || len(got) != n {
		t.Fatalf("ReadEntries = %d entries, %v; want %d", len(got), err, n)
	}
	for i, e := range got {
		if w := b.Entries[i]; e.Index != w.Index || e.ID != w.ID || !bytes.Equal(e.Body, w.Body) {
			t.Fatalf("entry %d = {%d %q %q}, want {%d %q %q}", i, e.Index, e.ID, e.Body, w.Index, w.ID, w.Body)
		}
	}
}
