package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestIntegrityWatch edits the database under a running server: the
// server's integrity watch notices and records a critical finding in
// _system naming the log and the first bad index.
func TestIntegrityWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	dir := t.TempDir()
	srv := startServer(t, dir, "--verify-every", "200ms")
	admin := strings.TrimSpace(readFileT(t, dir+"/"+bootstrapKeyFile))
	var evs []string
	for i := range 40 {
		evs = append(evs, fmt.Sprintf(`{"id":"w-%d","time":"2026-11-23T10:00:%02dZ","type":"data.read","actor":{"id":"bob"},"message":"sample event %d"}`, i, i, i))
	}
	srv.ingest(admin, "acme", []byte("["+strings.Join(evs, ",")+"]"))
	time.Sleep(time.Second) // a clean pass first

	// The attacker changes one byte of entry 17 of acme.
	db := openAttackerDB(t, dir)
	id := dbLogID(t, db, "acme")
	var seq int
	var body []byte
	if err := db.QueryRow("SELECT seq, body FROM entries WHERE log = ? AND id = 'w-17'", id).Scan(&seq, &body); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(body, []byte("sample event 17"))
	body[i] = 'S'
	mustExecSQL(t, db, "UPDATE entries SET body = ? WHERE log = ? AND seq = ?", body, id, seq)
	db.Close()

	deadline := time.Now().Add(20 * time.Second)
	for {
		code, b, _ := srv.do("GET", "/v1/findings?log=_system&rule=indelible.integrity.violation", admin, "", nil)
		var p struct {
			Findings []struct {
				Rule     string `json:"rule"`
				Severity string `json:"severity"`
				Summary  string `json:"summary"`
			} `json:"findings"`
		}
		json.Unmarshal(b, &p)
		if code == 200 && len(p.Findings) > 0 {
			f := p.Findings[0]
			want := fmt.Sprintf("log acme: first bad index %d: entry changed", seq)
			if f.Rule != "indelible.integrity.violation" || f.Severity != "critical" || !strings.HasPrefix(f.Summary, want) {
				t.Errorf("finding = %+v, want a critical integrity violation starting %q", f, want)
			}
			if len(p.Findings) != 1 {
				t.Errorf("%d findings, want the violation once", len(p.Findings))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no integrity finding 20s after the tampering: %d %s\n%s", code, b, srv.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(srv.stderr.String(), "integrity violation") {
		t.Errorf("the server logged no integrity violation:\n%s", srv.stderr)
	}
}
