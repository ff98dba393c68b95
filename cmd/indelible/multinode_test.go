package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testPostgres returns the URL of the test PostgreSQL with a fresh schema
// for this test (dropped at its end), or skips the test when PostgreSQL is
// not reachable outside CI.
func testPostgres(t *testing.T) string {
	t.Helper()
	base := os.Getenv("INDELIBLE_TEST_POSTGRES")
	if base == "" {
		base = "postgres://127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is not reachable at %s (CI=true: these tests must run): %v", base, err)
		}
		t.Skipf("PostgreSQL not reachable at %s; set INDELIBLE_TEST_POSTGRES to run this test: %v", base, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestThreeNodes runs three servers on one PostgreSQL under load from
// many clients, kills one with SIGKILL mid-load, and checks that every
// acknowledged event is stored once at its acknowledged index, that every
// log verifies, and that the surviving servers serve the same checkpoints.
func TestThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	pg := testPostgres(t)
	mustRunBinary(t, nil, "migrate", "--store", pg)
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")}
	mustRunBinary(t, nil, "keys", "init", "--data-dir", dirs[0])
	for _, d := range dirs[1:] {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"signing.key", "verifier.key"} {
			b, err := os.ReadFile(filepath.Join(dirs[0], f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, f), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	var nodes []*liveServer
	for _, d := range dirs {
		nodes = append(nodes, startServer(t, d, "--store", pg))
	}
	admin := strings.TrimSpace(readFileT(t, filepath.Join(dirs[0], bootstrapKeyFile)))

	type ack struct {
		log   string
		index uint64
	}
	var (
		mu     sync.Mutex
		acked  = map[string]ack{}
		killed = make(chan struct{})
		wg     sync.WaitGroup
	)
	alive := func(i int) bool {
		select {
		case <-killed:
			return i != 1
		default:
			return true
		}
	}
	const clients, batches, perBatch = 12, 15, 40
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := []string{"acme", "globex"}[c%2]
			for b := range batches {
				var evs []string
				for k := range perBatch {
					evs = append(evs, fmt.Sprintf(`{"id":"c%d-b%d-%d","time":"2026-11-23T10:00:00Z","type":"data.read","actor":{"id":"user-%d"}}`, c, b, k, c))
				}
				body := []byte("[" + strings.Join(evs, ",") + "]")
				for try := 0; ; try++ {
					n := (c + b + try) % len(nodes)
					if !alive(n) {
						continue
					}
					code, resp := tryPost(nodes[n].url+"/v1/events?log="+log, admin, body)
					if code != 200 {
						if try > 50 {
							t.Errorf("client %d batch %d: %d %s", c, b, code, resp)
							return
						}
						time.Sleep(50 * time.Millisecond)
						continue // not acknowledged: safe to send again, anywhere
					}
					var a ingestAnswer
					if err := json.Unmarshal(resp, &a); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for _, r := range a.Results {
						acked[r.ID] = ack{log, r.Index}
					}
					mu.Unlock()
					break
				}
				if c == 0 && b == batches/2 {
					nodes[1].cmd.Process.Kill() // mid-load
					<-nodes[1].done
					nodes[1].done <- nil
					close(killed)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(acked) != clients*batches*perBatch {
		t.Fatalf("%d events acknowledged, want %d", len(acked), clients*batches*perBatch)
	}
	// Every acknowledged event is stored once, at its acknowledged index.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT l.name, e.seq, e.id FROM entries e JOIN logs l ON l.id = e.log_id WHERE e.id LIKE 'c%-b%'")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]ack{}
	for rows.Next() {
		var log, id string
		var seq int64
		if err := rows.Scan(&log, &seq, &id); err != nil {
			t.Fatal(err)
		}
		if _, dup := stored[id]; dup {
			t.Errorf("event %s is stored twice", id)
		}
		stored[id] = ack{log, uint64(seq)}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, a := range acked {
		if stored[id] != a {
			t.Errorf("event %s acknowledged at %s/%d, stored at %+v", id, a.log, a.index, stored[id])
		}
	}
	// Every log verifies, from any node's data directory.
	if r := runBinary(t, nil, "verify", "--data-dir", dirs[2], "--store", pg); r.code != 0 {
		t.Errorf("verify: %s", r)
	}
	// The surviving servers converge on the same checkpoint.
	for _, log := range []string{"acme", "globex"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, a, _ := nodes[0].do("GET", "/v1/logs/"+log+"/checkpoint", "", "", nil)
			_, c, _ := nodes[2].do("GET", "/v1/logs/"+log+"/checkpoint", "", "", nil)
			if string(a) == string(c) && len(a) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("log %s: nodes serve different checkpoints:\n%s\n%s", log, a, c)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// tryPost posts body and returns the status and answer; a failed
// connection (a killed server) is status 0.
func tryPost(url, token string, body []byte) (int, []byte) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
