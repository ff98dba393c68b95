package main

// Integration tests run the real indelible binary, built once by TestMain,
// on data directories in t.TempDir(), and damage its SQLite file directly
// with SQL, as an attacker with full access to the database would.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/store/sqlite"
	"github.com/a24ba333/indelible/verify"
)

// indelibleBin is the indelible binary built by TestMain.
var indelibleBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "indelible-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	indelibleBin = filepath.Join(dir, "indelible")
	build := exec.Command("go", "build", "-o", indelibleBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building indelible: %v\n", err)
		return 1
	}
	return m.Run()
}

// testDBFile is the name of the SQLite database inside a data directory.
const testDBFile = "indelible.db"

// testInstance is the key name (and checkpoint origin prefix) used by the
// tests' data directories.
const testInstance = "it.example"

// execResult is what one run of the binary produced.
type execResult struct {
	args   []string
	stdout string
	stderr string
	code   int
}

// output returns stdout and stderr together, for matching messages that
// may go to either.
func (r execResult) output() string { return r.stdout + r.stderr }

func (r execResult) String() string {
	return fmt.Sprintf("indelible %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// binaryCommand returns an exec.Cmd for the binary with a clean
// INDELIBLE_* environment, so that the caller's environment cannot change flags.
func binaryCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, indelibleBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INDELIBLE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// runBinary runs the binary with args and stdin (which may be nil) and
// returns what it printed and its exit code. It fails the test only if the
// binary could not be run at all or ran for more than a minute.
func runBinary(t *testing.T, stdin []byte, args ...string) execResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := execResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("running indelible %s: %v\n%s", strings.Join(args, " "), err, r)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// mustRunBinary is runBinary for a command that must succeed.
func mustRunBinary(t *testing.T, stdin []byte, args ...string) execResult {
	t.Helper()
	r := runBinary(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

// newTestDataDir creates a data directory with a fresh signing key.
func newTestDataDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	mustRunBinary(t, nil, "keys", "init", "--data-dir", dir, "--name", testInstance)
	return dir
}

// TestKeysInit creates many keys: each must load (its signature must open
// a checkpoint) whatever bytes the random key has.
func TestKeysInit(t *testing.T) {
	failed := 0
	const n = 20
	for i := range n {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		r := runBinary(t, nil, "keys", "init", "--data-dir", dir, "--name", testInstance)
		if r.code != 0 {
			failed++
			if failed == 1 {
				t.Errorf("%s", r)
			}
			continue
		}
		pub, err := os.ReadFile(filepath.Join(dir, "verifier.key"))
		if err != nil {
			t.Fatal(err)
		}
		if got := runBinary(t, nil, "keys", "public", "--data-dir", dir); got.code != 0 || got.stdout != r.stdout || string(pub) != r.stdout {
			t.Errorf("keys init printed %q, verifier.key holds %q, keys public printed %q (exit %d)", r.stdout, pub, got.stdout, got.code)
		}
	}
	if failed > 0 {
		t.Errorf("keys init failed %d times out of %d", failed, n)
	}
}

// sampleID is the id of sample event i of a series.
func sampleID(series string, i int) string { return fmt.Sprintf("%s-%06d", series, i) }

// sampleEvent returns sample event i of a series as one NDJSON line. The
// same (series, i) always gives the same bytes, so that an event can be
// sent again and recognised as a duplicate.
func sampleEvent(series string, i int) []byte {
	types := []string{"auth.login", "data.record.read", "config.policy.updated", "access.grant", "admin.user.created"}
	outcomes := []string{"success", "failure", "unknown"}
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 1500 * time.Millisecond)
	return fmt.Appendf(nil, `{"id":%q,"time":%q,"type":%q,"outcome":%q,"actor":{"id":"user-%d@example.com","type":"user"},"resource":{"type":"account","id":"acct-%d"},"project":"payments","message":"sample event %d"}`+"\n",
		sampleID(series, i), t.Format(time.RFC3339Nano), types[i%len(types)], outcomes[i%len(outcomes)], i%37, i%101, i)
}

// sampleEvents returns events [from, to) of a series as NDJSON.
func sampleEvents(series string, from, to int) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		b.Write(sampleEvent(series, i))
	}
	return b.Bytes()
}

// appendAck is one line that the append command prints per event.
type appendAck struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	LeafHash  string `json:"leaf_hash"`
	Duplicate bool   `json:"duplicate"`
}

// parseAppendAck parses one acknowledgment line.
func parseAppendAck(line []byte) (appendAck, error) {
	var a appendAck
	if err := json.Unmarshal(line, &a); err != nil {
		return a, fmt.Errorf("acknowledgment %q: %v", line, err)
	}
	if a.ID == "" || a.LeafHash == "" {
		return a, fmt.Errorf("acknowledgment %q lacks an id or a leaf hash", line)
	}
	return a, nil
}

// appendSamples appends NDJSON events to log and returns the
// acknowledgments, checking that there is one per event.
func appendSamples(t *testing.T, dir, log string, ndjson []byte, extra ...string) []appendAck {
	t.Helper()
	args := append([]string{"append", "--data-dir", dir, "--log", log}, extra...)
	r := mustRunBinary(t, ndjson, args...)
	var acks []appendAck
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		a, err := parseAppendAck(sc.Bytes())
		if err != nil {
			t.Fatalf("append to %s: %v", log, err)
		}
		acks = append(acks, a)
	}
	if want := bytes.Count(ndjson, []byte("\n")); len(acks) != want {
		t.Fatalf("append of %d events to %s printed %d acknowledgments\n%s", want, log, len(acks), r)
	}
	return acks
}

// runVerify runs verify on one log with extra flags.
func runVerify(t *testing.T, dir, log string, extra ...string) execResult {
	t.Helper()
	return runBinary(t, nil, append([]string{"verify", "--data-dir", dir, "--log", log}, extra...)...)
}

// verifiedRE matches the line that verify prints for a sound log.
func verifiedRE(log string, size uint64) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`log "?%s"?: verified %d entries`, regexp.QuoteMeta(log), size))
}

// wantVerified checks that r is a successful verify of log with size
// entries.
func wantVerified(t *testing.T, r execResult, log string, size uint64) {
	t.Helper()
	if r.code != 0 || !verifiedRE(log, size).MatchString(r.stdout) {
		t.Errorf("want exit 0 and %q\n%s", verifiedRE(log, size), r)
	}
}

// badRE matches verify's report of damage: the first bad index and the
// kind, which never contains a colon.
var badRE = regexp.MustCompile(`log "?([^":]+)"?: first bad index (\d+): ([^:]+):`)

// wantBad checks that r is a failed verify reporting kind at index.
func wantBad(t *testing.T, r execResult, index uint64, kind verify.Kind) {
	t.Helper()
	m := badRE.FindStringSubmatch(r.output())
	if r.code != 1 || m == nil {
		t.Errorf("want exit 1 and first bad index %d: %s\n%s", index, kind, r)
		return
	}
	if got := fmt.Sprintf("%s: %s", m[2], m[3]); got != fmt.Sprintf("%d: %s", index, kind) {
		t.Errorf("verify reported first bad index %s, want %d: %s\n%s", got, index, kind, r)
	}
}

// openAttackerDB opens the SQLite file of a data directory for writing, as
// an attacker would. The caller closes it before running the binary again.
func openAttackerDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	return openAttackerDBPath(t, filepath.Join(dir, testDBFile))
}

// openAttackerDBPath opens any SQLite file of a data directory directly.
func openAttackerDBPath(t *testing.T, path string) *sql.DB {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// dbLogID returns the numeric id of a log in the logs table.
func dbLogID(t *testing.T, db *sql.DB, log string) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow("SELECT id FROM logs WHERE name = ?", log).Scan(&id); err != nil {
		t.Fatalf("looking up log %q: %v", log, err)
	}
	return id
}

// mustExecSQL runs one statement and fails the test if it fails or changes no
// row (a damage that does nothing would make a test pass vacuously).
func mustExecSQL(t *testing.T, db execer, query string, args ...any) {
	t.Helper()
	res, err := db.Exec(query, args...)
	if err != nil {
		t.Fatalf("%s %v: %v", query, args, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		t.Fatalf("%s %v: changed %d rows (%v)", query, args, n, err)
	}
}

type execer interface {
	Exec(query string, args ...any) (sql.Result, error)
}

// copyDataDir copies the regular files of src into a new directory dst,
// keeping their modes. SQLite's -shm file is left out: it is an index that
// SQLite rebuilds from the -wal file.
func copyDataDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), "-shm") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		copyFileMode(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), info.Mode().Perm())
	}
}

func copyFileMode(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, perm); err != nil {
		t.Fatal(err)
	}
}
