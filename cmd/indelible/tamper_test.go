package main

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/a24ba333/indelible/verify"
)

// tamperLog is the log that the tamper cases damage; otherLog is a second
// log in the same database.
const (
	tamperLog = "main"
	otherLog  = "other"
)

// tamperBatches are the sizes of the appends that build tamperLog: 1,000
// entries whose checkpoints (at 1, 100, 256, 512, 600, 857 and 1000) fall
// at, inside and across tile boundaries. Level 0 then has full tiles 0 to
// 2 and a partial tile 3 of 232 hashes; level 1 has a partial tile of 3.
var tamperBatches = []int{1, 99, 156, 256, 88, 257, 143}

// tamperFixture is a pristine data directory that each tamper case copies.
type tamperFixture struct {
	dir         string   // the data directory
	sizes       []uint64 // the checkpoint sizes of tamperLog
	oldCP       string   // file with the checkpoint of tamperLog at size 256
	latestCP    string   // file with the checkpoint of tamperLog at size 1000
	verifierKey string   // copy of the original verifier key, kept outside the data directory
}

// newTamperFixture builds the pristine data directory.
func newTamperFixture(t *testing.T) *tamperFixture {
	t.Helper()
	f := &tamperFixture{dir: newTestDataDir(t)}
	keep := t.TempDir()
	f.oldCP = filepath.Join(keep, "old.checkpoint")
	f.latestCP = filepath.Join(keep, "latest.checkpoint")
	f.verifierKey = filepath.Join(keep, "verifier.key")
	copyFileMode(t, filepath.Join(f.dir, "verifier.key"), f.verifierKey, 0o644)

	next := 0
	for b, n := range tamperBatches {
		var extra []string
		switch b {
		case 2:
			extra = []string{"--checkpoint", f.oldCP}
		case len(tamperBatches) - 1:
			extra = []string{"--checkpoint", f.latestCP}
		}
		acks := appendSamples(t, f.dir, tamperLog, sampleEvents("m", next, next+n), extra...)
		for i, a := range acks {
			if a.ID != sampleID("m", next+i) || a.Index != uint64(next+i) || a.Duplicate {
				t.Fatalf("append acknowledged %+v, want id %s at index %d", a, sampleID("m", next+i), next+i)
			}
		}
		next += n
		f.sizes = append(f.sizes, uint64(next))
	}
	appendSamples(t, f.dir, otherLog, sampleEvents("o", 0, 5))

	// The fixture must be what the cases assume: one checkpoint per
	// append, and a clean verification.
	db := openAttackerDB(t, f.dir)
	defer db.Close()
	var sizes []uint64
	rows, err := db.Query("SELECT size FROM checkpoints WHERE log = ? ORDER BY size", dbLogID(t, db, tamperLog))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s uint64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != fmt.Sprint(f.sizes) {
		t.Fatalf("checkpoint sizes of %s are %v, want %v (one per append)", tamperLog, sizes, f.sizes)
	}
	db.Close()
	wantVerified(t, runVerify(t, f.dir, tamperLog), tamperLog, 1000)
	return f
}

// fresh returns a private copy of the pristine data directory.
func (f *tamperFixture) fresh(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	copyDataDir(t, f.dir, dir)
	return dir
}

// tamper is an attacker's view of a data directory: its database, opened
// with write access, and the id of tamperLog in it.
type tamper struct {
	t   *testing.T
	dir string
	db  *sql.DB
	log int64
}

func (tp *tamper) exec(query string, args ...any) {
	tp.t.Helper()
	mustExecSQL(tp.t, tp.db, query, args...)
}

// entry returns the id column and body of entry seq of tamperLog.
func (tp *tamper) entry(seq int) (string, []byte) {
	tp.t.Helper()
	var id string
	var body []byte
	err := tp.db.QueryRow("SELECT id, body FROM entries WHERE log = ? AND seq = ?", tp.log, seq).Scan(&id, &body)
	if err != nil {
		tp.t.Fatalf("reading entry %d: %v", seq, err)
	}
	return id, body
}

// forge returns the body of entry seq with its event id replaced by id: a
// well-formed entry that was never appended.
func (tp *tamper) forge(seq int, id string) []byte {
	tp.t.Helper()
	old, body := tp.entry(seq)
	from := fmt.Appendf(nil, `"id":%q`, old)
	if bytes.Count(body, from) != 1 {
		tp.t.Fatalf("entry %d: %s does not occur once in %s", seq, from, body)
	}
	return bytes.Replace(body, from, fmt.Appendf(nil, `"id":%q`, id), 1)
}

// tile returns the hashes of tile level/idx of tamperLog.
func (tp *tamper) tile(level, idx int) []byte {
	tp.t.Helper()
	var hashes []byte
	err := tp.db.QueryRow("SELECT hashes FROM tiles WHERE log = ? AND level = ? AND idx = ?", tp.log, level, idx).Scan(&hashes)
	if err != nil {
		tp.t.Fatalf("reading tile %d/%d: %v", level, idx, err)
	}
	return hashes
}

// checkpoint returns the signed note of tamperLog at size.
func (tp *tamper) checkpoint(size int) []byte {
	tp.t.Helper()
	var msg []byte
	err := tp.db.QueryRow("SELECT note FROM checkpoints WHERE log = ? AND size = ?", tp.log, size).Scan(&msg)
	if err != nil {
		tp.t.Fatalf("reading checkpoint %d: %v", size, err)
	}
	return msg
}

// truncate deletes the entries of tamperLog from k on and the
// checkpoints past k, as an attacker who rolls the log back would. If
// tiles is set it also rewrites the tiles to those of the tree of size k,
// by deleting the tiles past it and cutting the partial ones, and sets the
// head row's size: the store is then exactly what it was at size k, but
// nothing is re-signed.
func (tp *tamper) truncate(k int, tiles bool) {
	tp.t.Helper()
	tp.exec("DELETE FROM entries WHERE log = ? AND seq >= ?", tp.log, k)
	tp.exec("DELETE FROM checkpoints WHERE log = ? AND size > ?", tp.log, k)
	if !tiles {
		return
	}
	tp.exec("UPDATE logs SET size = ? WHERE id = ?", k, tp.log)
	for level := 0; k>>(8*level) > 0 || level == 0; level++ {
		count := k >> (8 * level) // hashes of the tree of size k at this tile level
		if _, err := tp.db.Exec("DELETE FROM tiles WHERE log = ? AND level = ? AND idx * 256 >= ?", tp.log, level, count); err != nil {
			tp.t.Fatal(err)
		}
		if w := count % 256; w > 0 {
			tp.exec("UPDATE tiles SET hashes = substr(hashes, 1, ?) WHERE log = ? AND level = ? AND idx = ?",
				w*32, tp.log, level, count/256)
		}
	}
	// Levels the smaller tree does not reach at all.
	if _, err := tp.db.Exec("DELETE FROM tiles WHERE log = ? AND (? >> (8 * level)) = 0", tp.log, k); err != nil {
		tp.t.Fatal(err)
	}
}

// verifyCheck is one verify run of a tamper case and what it must report.
type verifyCheck struct {
	flags []string // added to verify --data-dir DIR --log main
	// ok means verify must pass, with size entries; otherwise it must
	// fail with kind at index.
	ok    bool
	size  uint64
	index uint64
	kind  verify.Kind
	// gap, if set, describes a damage that verify is known to miss: when
	// verify passes, the check is skipped with this explanation instead
	// of failing, and it becomes strict as soon as verify detects it. As
	// the fix may report it in more than one sound way, such a check
	// accepts any kind at an index from index to upTo.
	gap  string
	upTo uint64
}

func TestTamper(t *testing.T) {
	f := newTamperFixture(t)
	trusted := func(path string) []string { return []string{"--trusted", path} }

	cases := []struct {
		name   string
		damage func(tp *tamper, f *tamperFixture)
		checks []verifyCheck
	}{{
		name: "entry body byte changed",
		damage: func(tp *tamper, f *tamperFixture) {
			_, body := tp.entry(437)
			i := bytes.Index(body, []byte(`"sample event 437"`))
			if i < 0 {
				tp.t.Fatalf("entry 437 is %s", body)
			}
			body[i+1] ^= 0x20 // "sample" -> "Sample": still a well-formed entry
			tp.exec("UPDATE entries SET body = ? WHERE log = ? AND seq = ?", body, tp.log, 437)
		},
		checks: []verifyCheck{{index: 437, kind: verify.EntryChanged}},
	}, {
		name: "entry body byte changed in the partial tile",
		damage: func(tp *tamper, f *tamperFixture) {
			_, body := tp.entry(900)
			i := bytes.Index(body, []byte(`"sample event 900"`))
			if i < 0 {
				tp.t.Fatalf("entry 900 is %s", body)
			}
			body[i+1] ^= 0x20
			tp.exec("UPDATE entries SET body = ? WHERE log = ? AND seq = ?", body, tp.log, 900)
		},
		checks: []verifyCheck{{index: 900, kind: verify.EntryChanged}},
	}, {
		name: "id column changed",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.exec("UPDATE entries SET id = 'renamed' WHERE log = ? AND seq = ?", tp.log, 222)
		},
		checks: []verifyCheck{{index: 222, kind: verify.ColumnMismatch}},
	}, {
		name: "entry deleted",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.exec("DELETE FROM entries WHERE log = ? AND seq = ?", tp.log, 500)
		},
		checks: []verifyCheck{{index: 500, kind: verify.EntryMissing}},
	}, {
		name: "entry inserted",
		damage: func(tp *tamper, f *tamperFixture) {
			body := tp.forge(300, "forged-1")
			// The rowid k is (log << 40) | seq. Two steps, so that no
			// intermediate row collides with the primary key:
			// k -> -k-1 -> k+1.
			tp.exec("UPDATE entries SET k = -k - 1 WHERE log = ? AND seq >= ?", tp.log, 300)
			tp.exec("UPDATE entries SET k = -k WHERE k < 0")
			tp.exec("INSERT INTO entries (k, id, body) VALUES ((? << 40) | ?, ?, ?)", tp.log, 300, "forged-1", body)
		},
		checks: []verifyCheck{{index: 300, kind: verify.EntryChanged}},
	}, {
		name: "entries swapped",
		damage: func(tp *tamper, f *tamperFixture) {
			idI, bodyI := tp.entry(100)
			idJ, bodyJ := tp.entry(700)
			tp.exec("UPDATE entries SET id = 'swapping' WHERE log = ? AND seq = ?", tp.log, 700)
			tp.exec("UPDATE entries SET id = ?, body = ? WHERE log = ? AND seq = ?", idJ, bodyJ, tp.log, 100)
			tp.exec("UPDATE entries SET id = ?, body = ? WHERE log = ? AND seq = ?", idI, bodyI, tp.log, 700)
		},
		checks: []verifyCheck{{index: 100, kind: verify.EntryChanged}},
	}, {
		name: "tail truncated, checkpoints kept",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.exec("DELETE FROM entries WHERE log = ? AND seq >= ?", tp.log, 700)
		},
		checks: []verifyCheck{{index: 700, kind: verify.EntryMissing}},
	}, {
		// The entries and checkpoints end at 600 but the tiles still hold
		// the tree of size 1000: tile 0/2, full, covers hashes past 600.
		name: "tail truncated at a checkpoint with its checkpoints, tiles left",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.truncate(600, false)
		},
		checks: []verifyCheck{{index: 600, kind: verify.TileExtra}},
	}, {
		// Truncated at 700, between checkpoints 600 and 857: entries
		// 600..699 remain without a checkpoint, and that is what verify
		// reports first, at the first uncovered index.
		name: "tail truncated between checkpoints with its checkpoints, tiles left",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.truncate(700, false)
		},
		checks: []verifyCheck{{index: 600, kind: verify.EntryUnsigned}},
	}, {
		// The store is exactly what it was at size 600: without an outside
		// checkpoint nothing can tell (the limit this documents); a
		// checkpoint saved before the damage catches the rollback.
		name: "tail truncated with checkpoints and tiles rewritten",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.truncate(600, true)
		},
		checks: []verifyCheck{
			{ok: true, size: 600},
			{flags: trusted(f.latestCP), index: 600, kind: verify.Rollback},
			{flags: trusted(f.oldCP), ok: true, size: 600},
		},
	}, {
		name: "tail truncated at a tile boundary with checkpoints and tiles rewritten",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.truncate(512, true)
		},
		checks: []verifyCheck{
			{ok: true, size: 512},
			{flags: trusted(f.latestCP), index: 512, kind: verify.Rollback},
		},
	}, {
		name: "hash in a full tile changed",
		damage: func(tp *tamper, f *tamperFixture) {
			h := tp.tile(0, 1)
			h[50*32+7] ^= 1
			tp.exec("UPDATE tiles SET hashes = ? WHERE log = ? AND level = 0 AND idx = 1", h, tp.log)
		},
		checks: []verifyCheck{{index: 256 + 50, kind: verify.TileChanged}},
	}, {
		name: "hash in the partial tile changed",
		damage: func(tp *tamper, f *tamperFixture) {
			h := tp.tile(0, 3)
			h[10*32] ^= 1
			tp.exec("UPDATE tiles SET hashes = ? WHERE log = ? AND level = 0 AND idx = 3", h, tp.log)
		},
		checks: []verifyCheck{{index: 768 + 10, kind: verify.TileChanged}},
	}, {
		// Hash 1 of level-1 tile 0 is the root of leaves 256..511.
		name: "hash in a level 1 tile changed",
		damage: func(tp *tamper, f *tamperFixture) {
			h := tp.tile(1, 0)
			h[32+31] ^= 1
			tp.exec("UPDATE tiles SET hashes = ? WHERE log = ? AND level = 1 AND idx = 0", h, tp.log)
		},
		checks: []verifyCheck{{index: 256, kind: verify.TileChanged}},
	}, {
		name: "tile deleted",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.exec("DELETE FROM tiles WHERE log = ? AND level = 0 AND idx = 1", tp.log)
		},
		checks: []verifyCheck{{index: 256, kind: verify.TileMissing}},
	}, {
		// A checkpoint that does not verify is reported at the last index
		// it covers (size-1): it is fed to the verifier (in size order)
		// once the entries reach the checkpoint before it.
		name: "checkpoint re-signed by another key",
		damage: func(tp *tamper, f *tamperFixture) {
			msg := tp.checkpoint(600)
			text := msg[:bytes.Index(msg, []byte("\n\n"))+1]
			skey, _, err := note.GenerateKey(rand.Reader, testInstance)
			if err != nil {
				tp.t.Fatal(err)
			}
			signer, err := note.NewSigner(skey)
			if err != nil {
				tp.t.Fatal(err)
			}
			forged, err := note.Sign(&note.Note{Text: string(text)}, signer)
			if err != nil {
				tp.t.Fatal(err)
			}
			tp.exec("UPDATE checkpoints SET note = ? WHERE log = ? AND size = ?", forged, tp.log, 600)
		},
		checks: []verifyCheck{{index: 599, kind: verify.CheckpointSignature}},
	}, {
		name: "checkpoint size changed",
		damage: func(tp *tamper, f *tamperFixture) {
			msg := tp.checkpoint(600)
			forged := bytes.Replace(msg, []byte("\n600\n"), []byte("\n601\n"), 1)
			tp.exec("UPDATE checkpoints SET note = ? WHERE log = ? AND size = ?", forged, tp.log, 600)
		},
		// Reported at the last index of the size the note claims.
		checks: []verifyCheck{{index: 600, kind: verify.CheckpointSignature}},
	}, {
		name: "entry appended at the tail without a checkpoint",
		damage: func(tp *tamper, f *tamperFixture) {
			body := tp.forge(999, "forged-tail")
			tp.exec("INSERT INTO entries (k, id, body) VALUES ((? << 40) | ?, ?, ?)", tp.log, 1000, "forged-tail", body)
			tp.exec("UPDATE logs SET size = 1001 WHERE id = ?", tp.log)
		},
		checks: []verifyCheck{{index: 1000, kind: verify.EntryUnsigned}},
	}, {
		name: "entry appended past the tail, leaving a gap",
		damage: func(tp *tamper, f *tamperFixture) {
			body := tp.forge(999, "forged-gap")
			tp.exec("INSERT INTO entries (k, id, body) VALUES ((? << 40) | ?, ?, ?)", tp.log, 1005, "forged-gap", body)
		},
		checks: []verifyCheck{{index: 1005, kind: verify.EntryUnsigned}},
	}, {
		name: "entry moved to another log",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.exec("UPDATE entries SET k = (? << 40) | seq WHERE log = ? AND seq = ?", dbLogID(tp.t, tp.db, otherLog), tp.log, 800)
		},
		checks: []verifyCheck{{index: 800, kind: verify.EntryMissing}},
	}, {
		// The log that received the entry holds 5 entries and a stray
		// one at index 800.
		name: "entry moved in from another log",
		damage: func(tp *tamper, f *tamperFixture) {
			tp.exec("UPDATE entries SET k = (? << 40) | seq WHERE log = ? AND seq = ?", dbLogID(tp.t, tp.db, otherLog), tp.log, 800)
		},
		checks: []verifyCheck{{flags: []string{"--log", otherLog}, index: 800, kind: verify.EntryUnsigned}},
	}}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := f.fresh(t)
			db := openAttackerDB(t, dir)
			tp := &tamper{t: t, dir: dir, db: db, log: dbLogID(t, db, tamperLog)}
			tc.damage(tp, f)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.checks {
				runCheck(t, dir, c)
			}
		})
	}

	t.Run("log rebuilt under a new key", func(t *testing.T) {
		// The attacker builds a whole new log (here with the events of
		// the original, but any would do) under a key of their own and
		// replaces the database and the keys.
		forged := newTestDataDir(t)
		next := 0
		for _, n := range []int{10, 490, 500} {
			appendSamples(t, forged, tamperLog, sampleEvents("m", next, next+n))
			next += n
		}
		dir := f.fresh(t)
		for _, name := range []string{testDBFile, testDBFile + "-wal", testDBFile + "-shm"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		copyDataDir(t, forged, dir)

		// With nothing kept outside the data directory, the new log is as
		// good as the old one: this is the limit that --trusted and --key
		// exist for.
		runCheck(t, dir, verifyCheck{ok: true, size: 1000})
		// The original checkpoint does not verify under the new key.
		r := runVerify(t, dir, tamperLog, trusted(f.latestCP)...)
		if r.code != 1 || !strings.Contains(r.stderr, "trusted checkpoint 1 in "+f.latestCP+" does not verify") {
			t.Errorf("verify --trusted with the original checkpoint: want exit 1 and a trusted checkpoint that does not verify\n%s", r)
		}
		// Pinning the original key, the first checkpoint (size 10) fails.
		runCheck(t, dir, verifyCheck{flags: []string{"--key", f.verifierKey}, index: 9, kind: verify.CheckpointSignature})
		runCheck(t, dir, verifyCheck{flags: []string{"--key", f.verifierKey, "--trusted", f.latestCP}, index: 9, kind: verify.CheckpointSignature})
	})

	// An attacker who holds the signing key rolls the log back to 600 and
	// appends other events: the log is consistent and validly signed, and
	// only a checkpoint kept from before shows that it forked.
	for _, batches := range [][]int{{100, 300}, {300, 200}} {
		t.Run(fmt.Sprintf("history rewritten with the signing key %v", batches), func(t *testing.T) {
			dir := f.fresh(t)
			db := openAttackerDB(t, dir)
			tp := &tamper{t: t, dir: dir, db: db, log: dbLogID(t, db, tamperLog)}
			tp.truncate(600, true)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			next := 0
			for _, n := range batches {
				appendSamples(t, dir, tamperLog, sampleEvents("x", next, next+n))
				next += n
			}
			size := uint64(600 + next)
			runCheck(t, dir, verifyCheck{ok: true, size: size})
			// Where the trees part is unknowable from a root alone: verify
			// reports a fork at an index below the trusted size.
			r := runVerify(t, dir, tamperLog, trusted(f.latestCP)...)
			m := badRE.FindStringSubmatch(r.output())
			if r.code != 1 || m == nil || m[3] != string(verify.Fork) {
				t.Fatalf("want exit 1 and a fork\n%s", r)
			}
			if i, _ := strconv.ParseUint(m[2], 10, 64); i >= 1000 {
				t.Errorf("fork reported at index %d, want one below the trusted size 1000\n%s", i, r)
			}
		})
	}

	// A log deleted whole is not listed any more: only a trusted
	// checkpoint of it shows that it existed.
	t.Run("log deleted", func(t *testing.T) {
		dir := f.fresh(t)
		db := openAttackerDB(t, dir)
		id := dbLogID(t, db, tamperLog)
		for _, table := range []string{"entries", "tiles", "checkpoints"} {
			mustExecSQL(t, db, "DELETE FROM "+table+" WHERE log = ?", id)
		}
		mustExecSQL(t, db, "DELETE FROM logs WHERE id = ?", id)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		r := runBinary(t, nil, "verify", "--data-dir", dir)
		if r.code != 0 || strings.Contains(r.stdout, "log "+tamperLog) {
			t.Errorf("verify of all logs: want exit 0 and no line for %s (nothing can tell that it existed)\n%s", tamperLog, r)
		}
		wantVerified(t, r, otherLog, 5)
		wantBad(t, runBinary(t, nil, "verify", "--data-dir", dir, "--trusted", f.latestCP), 0, verify.Rollback)
		if r := runVerify(t, dir, tamperLog); r.code != 1 {
			t.Errorf("verify of a log that does not exist: want exit 1\n%s", r)
		}
	})

	t.Run("undamaged", func(t *testing.T) {
		dir := f.fresh(t)
		for _, c := range []verifyCheck{
			{ok: true, size: 1000},
			{flags: trusted(f.oldCP), ok: true, size: 1000},
			{flags: trusted(f.latestCP), ok: true, size: 1000},
			{flags: []string{"--key", f.verifierKey}, ok: true, size: 1000},
			{flags: []string{"--key", f.verifierKey, "--trusted", f.oldCP}, ok: true, size: 1000},
		} {
			runCheck(t, dir, c)
		}
	})

	t.Run("trusted checkpoint of another log", func(t *testing.T) {
		dir := f.fresh(t)
		r := runVerify(t, dir, otherLog, trusted(f.latestCP)...)
		if r.code == 0 {
			t.Errorf("verify of %s with a checkpoint of %s passed\n%s", otherLog, tamperLog, r)
		}
	})
}

// runCheck runs verify on tamperLog (or on the log named by a --log flag
// in c.flags, which comes later and wins) and checks its report.
func runCheck(t *testing.T, dir string, c verifyCheck) {
	t.Helper()
	r := runVerify(t, dir, tamperLog, c.flags...)
	log := tamperLog
	for i, fl := range c.flags {
		if fl == "--log" && i+1 < len(c.flags) {
			log = c.flags[i+1]
		}
	}
	switch {
	case c.ok:
		wantVerified(t, r, log, c.size)
	case c.gap != "" && r.code == 0:
		t.Skipf("known gap, not detected: %s\n%s", c.gap, r)
	case c.gap != "":
		m := badRE.FindStringSubmatch(r.output())
		if r.code != 1 || m == nil {
			t.Errorf("want exit 1 and a first bad index from %d to %d\n%s", c.index, c.upTo, r)
		} else if i, _ := strconv.ParseUint(m[2], 10, 64); i < c.index || i > c.upTo {
			t.Errorf("verify reported first bad index %d, want one from %d to %d\n%s", i, c.index, c.upTo, r)
		}
	default:
		wantBad(t, r, c.index, c.kind)
	}
}

// TestVerifyClean appends logs of sizes around tile boundaries, one of
// them in a single bulk append, checks that verify passes, and checks the
// stored tiles, checkpoints and acknowledged leaf hashes against
// golang.org/x/mod/sumdb/tlog, an independent implementation.
func TestVerifyClean(t *testing.T) {
	sizes := map[string]int{"one": 1, "t255": 255, "t256": 256, "t257": 257, "k1": 1000, "bulk": 70000}
	if testing.Short() {
		sizes["bulk"] = 66000 // still past the first full level 1 tile
	}
	dir := newTestDataDir(t)
	acks := map[string][]appendAck{}
	for log, n := range sizes {
		acks[log] = appendSamples(t, dir, log, sampleEvents(log, 0, n))
	}

	r := runBinary(t, nil, "verify", "--data-dir", dir)
	for log, n := range sizes {
		if !verifiedRE(log, uint64(n)).MatchString(r.stdout) {
			t.Errorf("verify of all logs: no line matching %q\n%s", verifiedRE(log, uint64(n)), r)
		}
	}
	if r.code != 0 {
		t.Errorf("verify of all logs: want exit 0\n%s", r)
	}

	vkey, err := os.ReadFile(filepath.Join(dir, "verifier.key"))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	db := openAttackerDB(t, dir)
	defer db.Close()
	for log, n := range sizes {
		crossCheck(t, db, log, n, acks[log], note.VerifierList(verifier))
	}
}

// crossCheck recomputes the tree of one log with sumdb/tlog from the
// stored entries and compares it with the acknowledgments, every stored
// tile and the newest checkpoint.
func crossCheck(t *testing.T, db *sql.DB, log string, n int, acks []appendAck, verifiers note.Verifiers) {
	t.Helper()
	id := dbLogID(t, db, log)
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	})
	rows, err := db.Query("SELECT seq, id, body FROM entries WHERE log = ? ORDER BY seq", id)
	if err != nil {
		t.Fatal(err)
	}
	var count int64
	for rows.Next() {
		var seq int64
		var eid string
		var body []byte
		if err := rows.Scan(&seq, &eid, &body); err != nil {
			t.Fatal(err)
		}
		if seq != count {
			t.Fatalf("log %s: entry %d follows %d", log, seq, count-1)
		}
		leaf := tlog.RecordHash(body)
		if a := acks[seq]; a.ID != eid || a.Index != uint64(seq) || !sameHash(a.LeafHash, leaf[:]) {
			t.Errorf("log %s entry %d: acknowledged %+v, stored id %q leaf %x", log, seq, a, eid, leaf)
		}
		hs, err := tlog.StoredHashesForRecordHash(count, leaf, hr)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		count++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if count != int64(n) {
		t.Fatalf("log %s holds %d entries, want %d", log, count, n)
	}
	root, err := tlog.TreeHash(count, hr)
	if err != nil {
		t.Fatal(err)
	}

	var msg []byte
	if err := db.QueryRow("SELECT note FROM checkpoints WHERE log = ? ORDER BY size DESC LIMIT 1", id).Scan(&msg); err != nil {
		t.Fatal(err)
	}
	cp, err := verify.OpenCheckpoint(msg, verifiers, verify.Origin(testInstance, log))
	if err != nil {
		t.Fatalf("log %s: newest checkpoint: %v\n%s", log, err, msg)
	}
	if cp.Size != uint64(count) || cp.Root != root {
		t.Errorf("log %s: checkpoint says size %d root %x, tlog computes size %d root %x", log, cp.Size, cp.Root, count, root)
	}

	trows, err := db.Query("SELECT level, idx, hashes FROM tiles WHERE log = ?", id)
	if err != nil {
		t.Fatal(err)
	}
	defer trows.Close()
	tiles := 0
	for trows.Next() {
		var level, idx int64
		var hashes []byte
		if err := trows.Scan(&level, &idx, &hashes); err != nil {
			t.Fatal(err)
		}
		tile := tlog.Tile{H: 8, L: int(level), N: idx, W: len(hashes) / 32}
		want, err := tlog.ReadTileData(tile, hr)
		if err != nil {
			t.Errorf("log %s: stored tile %s is not part of the tree of size %d: %v", log, tile.Path(), count, err)
			continue
		}
		if !bytes.Equal(hashes, want) {
			t.Errorf("log %s: tile %s differs from tlog's", log, tile.Path())
		}
		tiles++
	}
	if err := trows.Err(); err != nil {
		t.Fatal(err)
	}
	// One tile per level-0 group of 256 leaves (rounded up), and so on up.
	want := 0
	for c := count; c > 0; c >>= 8 {
		want += int((c + 255) / 256)
	}
	if tiles != want {
		t.Errorf("log %s of size %d: %d stored tiles, want %d", log, count, tiles, want)
	}
}

// sameHash reports whether an acknowledged leaf hash, in base64 or hex,
// is h.
func sameHash(s string, h []byte) bool {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && bytes.Equal(b, h) {
		return true
	}
	b, err := hex.DecodeString(s)
	return err == nil && bytes.Equal(b, h)
}
