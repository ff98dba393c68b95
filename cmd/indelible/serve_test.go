package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/verify"
)

// liveServer is a real "indelible serve" process on a free loopback port.
type liveServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	dir    string
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var servingRE = regexp.MustCompile(`"msg":"serving","addr":"([^"]+)"`)

// startServer starts serve on dir and waits until it answers /readyz.
func startServer(t *testing.T, dir string, extra ...string) *liveServer {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0"}, extra...)
	cmd := binaryCommand(context.Background(), args...)
	s := &liveServer{t: t, cmd: cmd, dir: dir, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingRE.FindStringSubmatch(s.stderr.String()); m != nil {
			s.url = "http://" + m[1]
			if resp, err := http.Get(s.url + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return s
				}
			}
		}
		select {
		case err := <-s.done:
			s.done <- err // for the cleanup
			t.Fatalf("serve exited: %v\n%s", err, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not become ready\n%s", s.stderr)
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (s *liveServer) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("serve exited with %v after SIGTERM\n%s", err, s.stderr)
		}
		s.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		s.t.Fatalf("serve did not stop after SIGTERM\n%s", s.stderr)
	}
}

type apiResult struct {
	ID        string `json:"id"`
	Index     uint64 `json:"index"`
	LeafHash  string `json:"leaf_hash"`
	Duplicate bool   `json:"duplicate"`
	Captured  *bool  `json:"captured"`
	Rule      string `json:"rule"`
}

type ingestAnswer struct {
	Results    []apiResult `json:"results"`
	Checkpoint string      `json:"checkpoint"`
}

func (s *liveServer) do(method, path, token, contentType string, body []byte) (int, []byte, http.Header) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (s *liveServer) ingest(token, log string, body []byte) ingestAnswer {
	s.t.Helper()
	path := "/v1/events"
	if log != "" {
		path += "?log=" + log
	}
	code, b, _ := s.do("POST", path, token, "application/json", body)
	if code != 200 {
		s.t.Fatalf("POST %s = %d %s", path, code, b)
	}
	var a ingestAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		s.t.Fatal(err)
	}
	return a
}

func jsonArray(ndjson []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(ndjson), []byte("\n"))
	return append(append([]byte("["), bytes.Join(lines, []byte(","))...), ']')
}

func TestServeEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir)

	// The bootstrap admin key, readable by its owner only.
	info, err := os.Stat(filepath.Join(dir, bootstrapKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap key file: %v, mode %v", err, info.Mode().Perm())
	}
	raw, _ := os.ReadFile(filepath.Join(dir, bootstrapKeyFile))
	admin := strings.TrimSpace(string(raw))

	// A writer key created on the data directory while the server runs.
	writer := strings.TrimSpace(mustRunBinary(t, nil, "keys", "create", "--data-dir", dir, "--tenant", "acme", "--role", "writer").stdout)
	reader := strings.TrimSpace(mustRunBinary(t, nil, "keys", "create", "--data-dir", dir, "--tenant", "acme", "--role", "reader").stdout)

	vkey := strings.TrimSpace(mustRunBinary(t, nil, "keys", "public", "--data-dir", dir).stdout)
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	known := note.VerifierList(v)

	events := sampleEvents("srv", 0, 10)
	a := s.ingest(writer, "", jsonArray(events))
	if len(a.Results) != 10 {
		t.Fatalf("%d results", len(a.Results))
	}
	cp, err := verify.OpenCheckpoint([]byte(a.Checkpoint), known, "indelible/acme")
	if err != nil {
		t.Fatalf("checkpoint of the answer: %v", err)
	}
	// Every acknowledged event is proved included in the checkpoint.
	for _, r := range a.Results {
		code, b, _ := s.do("GET", fmt.Sprintf("/v1/logs/acme/proof/inclusion?index=%d&size=%d", r.Index, cp.Size), reader, "", nil)
		if code != 200 {
			t.Fatalf("inclusion proof = %d %s", code, b)
		}
		var p struct{ Hashes [][]byte }
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		leaf, _ := base64.StdEncoding.DecodeString(r.LeafHash)
		if err := verify.Inclusion(r.Index, cp.Size, [32]byte(leaf), p.Hashes, cp.Root); err != nil {
			t.Fatal(err)
		}
	}
	// Read your writes through the query index.
	last := a.Results[len(a.Results)-1]
	// (The detectors may have recorded findings after it: leave them out.)
	code, b, _ := s.do("GET", fmt.Sprintf("/v1/events?min_index=%d&limit=5&q=-category:indelible", last.Index), reader, "", nil)
	var q struct {
		Events []struct {
			Index uint64          `json:"index"`
			Entry json.RawMessage `json:"entry"`
		} `json:"events"`
		Watermark uint64 `json:"watermark"`
	}
	if err := json.Unmarshal(b, &q); code != 200 || err != nil || len(q.Events) == 0 || q.Events[0].Index != last.Index || q.Watermark <= last.Index {
		t.Fatalf("GET /v1/events?min_index=%d = %d %s", last.Index, code, b)
	}
	// The store transactions are measured: the 10 events went in one,
	// the only one of more than 8 entries.
	code, b, _ = s.do("GET", "/metrics", "", "", nil)
	bucket := func(le string) int {
		m := regexp.MustCompile(`(?m)^indelible_group_commit_entries_bucket\{le="` + le + `"\} (\d+)$`).FindSubmatch(b)
		if m == nil {
			return -1
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	if code != 200 || bucket("8") < 0 || bucket("16")-bucket("8") != 1 || !regexp.MustCompile(`(?m)^indelible_group_commit_seconds_count [1-9]`).Match(b) {
		t.Errorf("GET /metrics = %d, without the group commit of 10:\n%s", code, grepLines(b, "indelible_group_commit"))
	}
	// A retry is idempotent; the same id with other content conflicts.
	again := s.ingest(writer, "", jsonArray(events))
	if !again.Results[3].Duplicate || again.Results[3].Index != a.Results[3].Index {
		t.Errorf("retry result %+v, want duplicate of %+v", again.Results[3], a.Results[3])
	}
	changed := bytes.Replace(sampleEvent("srv", 3), []byte(`"outcome":"success"`), []byte(`"outcome":"failure"`), 1)
	if bytes.Equal(changed, sampleEvent("srv", 3)) {
		changed = bytes.Replace(sampleEvent("srv", 3), []byte(`"outcome":"failure"`), []byte(`"outcome":"success"`), 1)
	}
	if code, b, _ := s.do("POST", "/v1/events", writer, "application/json", changed); code != 409 {
		t.Errorf("conflicting reuse of an id = %d %s, want 409", code, b)
	}
	// Invalid input: 4xx, and nothing written.
	if code, b, _ := s.do("POST", "/v1/events", writer, "application/json", []byte(`[{"time":"2026-01-01T00:00:00Z","type":"a.b","actor":{"id":"x"}},{"type":"a.b"}]`)); code < 400 || code >= 500 || !bytes.Contains(b, []byte(`"item":1`)) {
		t.Errorf("batch with a bad item = %d %s", code, b)
	}
	// A Kubernetes audit webhook batch.
	k8s, err := os.ReadFile("../../internal/ingest/testdata/metadata-pod-list.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, b, _ := s.do("POST", "/v1/ingest/kubernetes", writer, "application/json", k8s); code != 200 {
		t.Errorf("kubernetes batch = %d %s", code, b)
	}
	// Unauthenticated and wrong-tenant requests.
	if code, _, h := s.do("POST", "/v1/events", "", "application/json", events); code != 401 || h.Get("WWW-Authenticate") == "" {
		t.Errorf("no key = %d", code)
	}
	if code, _, _ := s.do("GET", "/v1/logs/other/entries/0", reader, "", nil); code != 403 {
		t.Errorf("reader of acme reading other = %d, want 403", code)
	}
	// Revoked on the data directory: refused within the cache time.
	list := mustRunBinary(t, nil, "keys", "list", "--data-dir", dir, "--tenant", "acme", "--json").stdout
	var id string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		var k struct{ ID, Role string }
		json.Unmarshal([]byte(line), &k)
		if k.Role == "writer" {
			id = k.ID
		}
	}
	mustRunBinary(t, nil, "keys", "revoke", "--data-dir", dir, id)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, _ := s.do("POST", "/v1/events", writer, "application/json", sampleEvent("late", 0))
		if code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked key still works after 5 s (status %d)", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// An admin creates a key through the API; it is shown once.
	code, b, _ = s.do("POST", "/v1/keys", admin, "application/json", []byte(`{"tenant":"acme","role":"auditor","name":"api"}`))
	var created struct{ Key, ID string }
	if json.Unmarshal(b, &created); code != 201 || !strings.HasPrefix(created.Key, "idl_") {
		t.Errorf("POST /v1/keys = %d %s", code, b)
	}
	if code, _, _ := s.do("GET", "/v1/logs/acme/entries/0", created.Key, "", nil); code != 200 {
		t.Errorf("the new auditor key reading an entry = %d", code)
	}
	s.stop()
	r := mustRunBinary(t, nil, "verify", "--data-dir", dir)
	if !strings.Contains(r.stdout, "log acme: verified") || !strings.Contains(r.stdout, "log _system: verified") {
		t.Errorf("verify after serve:\n%s", r)
	}
}

// TestServeDrainsOnSIGTERM sends SIGTERM while many clients ingest: every
// acknowledged event is in the log afterwards, and the log verifies.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir)
	raw, _ := os.ReadFile(filepath.Join(dir, bootstrapKeyFile))
	admin := strings.TrimSpace(string(raw))

	var mu sync.Mutex
	acked := map[string]uint64{}
	sizes := map[string]bool{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := 0; c < 32; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := sampleEvent(fmt.Sprintf("c%02d", c), i)
				req, _ := http.NewRequest("POST", s.url+"/v1/events?log=drain", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					continue
				}
				var a ingestAnswer
				if json.Unmarshal(b, &a) != nil || len(a.Results) != 1 {
					t.Errorf("bad answer %s", b)
					return
				}
				mu.Lock()
				acked[a.Results[0].ID] = a.Results[0].Index
				sizes[strings.Split(a.Checkpoint, "\n")[1]] = true
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	s.stop()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	// Group commit: single-event requests from 32 clients share commits.
	if len(sizes) >= len(acked) {
		t.Errorf("%d acknowledged events in %d distinct checkpoints: no group commit", len(acked), len(sizes))
	}
	t.Logf("%d events acknowledged in %d commits before SIGTERM", len(acked), len(sizes))

	r := mustRunBinary(t, nil, "verify", "--data-dir", dir, "--log", "drain")
	if !strings.Contains(r.stdout, "verified") {
		t.Fatalf("verify:\n%s", r)
	}
	db := openAttackerDB(t, dir)
	defer db.Close()
	rows, err := db.Query("SELECT e.seq, e.id FROM entries e JOIN logs l ON l.id = e.log WHERE l.name = 'drain'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]uint64{}
	for rows.Next() {
		var seq uint64
		var id string
		rows.Scan(&seq, &id)
		stored[id] = seq
	}
	for id, idx := range acked {
		if got, ok := stored[id]; !ok || got != idx {
			t.Fatalf("acknowledged %s at %d, stored: %v %d", id, idx, ok, got)
		}
	}
}

// TestVerifyChecksQueryIndex: the index the server derived is checked by
// verify, and a row deleted from it is reported at its index.
func TestVerifyChecksQueryIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir)
	raw, _ := os.ReadFile(filepath.Join(dir, bootstrapKeyFile))
	admin := strings.TrimSpace(string(raw))
	a := s.ingest(admin, "idx", jsonArray(sampleEvents("idx", 0, 300)))
	last := a.Results[len(a.Results)-1].Index
	// Wait for the indexer to cover the batch.
	ixPath := filepath.Join(dir, indexFile)
	deadline := time.Now().Add(10 * time.Second)
	for {
		db := openAttackerDBPath(t, ixPath)
		var wm uint64
		db.QueryRow("SELECT watermark FROM logs WHERE name = 'idx'").Scan(&wm)
		db.Close()
		if wm > last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the query index covers %d entries after 10 s, want %d", wm, last+1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	mustRunBinary(t, nil, "verify", "--data-dir", dir, "--log", "idx")

	db := openAttackerDBPath(t, ixPath)
	mustExecSQL(t, db, "DELETE FROM rows WHERE idx = 123 AND log = (SELECT id FROM logs WHERE name = 'idx')")
	db.Close()
	r := runVerify(t, dir, "idx")
	wantBad(t, r, 123, verify.ColumnMismatch)
}

// grepLines returns the lines of b that contain sub.
func grepLines(b []byte, sub string) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
