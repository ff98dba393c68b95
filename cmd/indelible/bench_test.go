package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBench runs the load generator against a real server: in a closed
// loop up to --max-requests, and in an open loop at a fixed rate, which
// sends the requests due in --duration and no more. Every acknowledged
// event is in the log, each with its own id.
func TestBench(t *testing.T) {
	dir := newTestDataDir(t)
	s := startServer(t, dir)
	key, err := os.ReadFile(filepath.Join(dir, "bootstrap-admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(log string, args ...string) benchResult {
		t.Helper()
		args = append([]string{"bench", "--server", s.url, "--api-key", strings.TrimSpace(string(key)), "--log", log, "--json"}, args...)
		r := mustRunBinary(t, nil, args...)
		var out benchResult
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("bench printed %q: %v", r.stdout, err)
		}
		return out
	}

	closed := run("closed", "--concurrency", "4", "--batch", "50", "--max-requests", "40", "--duration", "30s")
	if closed.Requests != 40 || closed.Events != 2000 || closed.Statuses["200"] != 40 {
		t.Errorf("closed loop: %+v, want 40 accepted requests of 50 events", closed)
	}
	if closed.LatencyMillis["p50"] <= 0 || closed.LatencyMillis["p99"] < closed.LatencyMillis["p50"] {
		t.Errorf("closed loop latencies %v", closed.LatencyMillis)
	}

	// 1000 events/s in batches of 100 for 2 s: a request due every 0.1 s,
	// the 21 due from 0 to 2 s inclusive.
	open := run("open", "--concurrency", "4", "--batch", "100", "--rate", "1000", "--duration", "2s")
	if open.Requests < 19 || open.Requests > 21 || open.Statuses["200"] != open.Requests || open.Rate != 1000 {
		t.Errorf("open loop: %+v, want about 20 accepted requests", open)
	}

	// A run that nothing accepted fails, and says what the server
	// answered: here, an instance-wide key that names no log.
	r := runBinary(t, nil, "bench", "--server", s.url, "--api-key", strings.TrimSpace(string(key)), "--max-requests", "3", "--duration", "10s")
	if r.code == 0 || !strings.Contains(r.stdout, "400: 3") || !strings.Contains(r.stdout, "first 400: ") || !strings.Contains(r.stdout, "must name the log") {
		t.Errorf("bench without --log: %s", r)
	}

	// What was acknowledged is in the logs, once each; the detectors may
	// have added findings of their own.
	token := strings.TrimSpace(string(key))
	for log, want := range map[string]int{"closed": closed.Events, "open": open.Events} {
		code, body, _ := s.do("GET", "/v1/logs/"+log+"/checkpoint", token, "", nil)
		lines := strings.Split(string(body), "\n")
		if code != 200 || len(lines) < 2 {
			t.Fatalf("checkpoint of %s = %d %s", log, code, body)
		}
		size, err := strconv.Atoi(lines[1])
		if err != nil {
			t.Fatal(err)
		}
		q := url.Values{"log": {log}, "q": {"-type:indelible.*"}}
		var stats struct {
			Total     int `json:"total"`
			Watermark int `json:"watermark"`
		}
		// The query index catches up with the log.
		for deadline := time.Now().Add(20 * time.Second); stats.Watermark < size && time.Now().Before(deadline); {
			code, body, _ = s.do("GET", "/v1/stats?"+q.Encode(), token, "", nil)
			if code != 200 || json.Unmarshal(body, &stats) != nil {
				t.Fatalf("stats of %s = %d %s", log, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if stats.Total != want {
			t.Errorf("log %s holds %d events (of %d entries), want the %d acknowledged", log, stats.Total, size, want)
		}
	}
}
