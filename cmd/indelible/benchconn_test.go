package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBenchConn checks the load generator's HTTP/1.1 client against
// net/http's server, over plain TCP and TLS: the request as sent, one
// connection for many requests, a new one after "Connection: close",
// statuses and Retry-After, and an interrupted run.
func TestBenchConn(t *testing.T) {
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[secure]
		t.Run(name, func(t *testing.T) {
			var conns atomic.Int32
			release := make(chan struct{})
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.Method != "POST" || r.URL.RequestURI() != "/v1/events?log=b" ||
					r.Header.Get("Authorization") != "Bearer k1" || r.Header.Get("Content-Type") != "application/json" ||
					r.ContentLength != int64(len(body)) {
					t.Errorf("got %s %s %v with %d bytes", r.Method, r.URL.RequestURI(), r.Header, len(body))
				}
				switch string(body) {
				case `"close"`:
					w.Header().Set("Connection", "close")
				case `"busy"`:
					w.Header().Set("Retry-After", "2")
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, "{\"error\":\"busy\"}\n")
					return
				case `"long"`:
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, strings.Repeat("x", 10*benchDetailMax))
					return
				case `"hang"`:
					<-release
				}
				io.WriteString(w, `{"ok":true}`)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			if secure {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			defer close(release)
			tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
			c, err := newBenchConn(srv.URL+"/v1/events?log=b", "k1", 5*time.Second, tlsConfig)
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			ctx := t.Context()

			for i := 0; i < 3; i++ {
				if a := c.post(ctx, []byte(`{}`), time.Time{}); a.status != "200" || a.wait != 0 || a.lat <= 0 || a.detail != "" {
					t.Fatalf("post %d = %+v", i, a)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("3 requests took %d connections, want 1", n)
			}
			if a := c.post(ctx, []byte(`"close"`), time.Time{}); a.status != "200" {
				t.Fatalf("post = %+v", a)
			}
			if a := c.post(ctx, []byte(`"busy"`), time.Time{}); a.status != "503" || a.wait != 2*time.Second || a.detail != `{"error":"busy"}` {
				t.Errorf("busy: %+v; want 503, wait 2s, the body as detail", a)
			}
			// A long failure body is cut, and the connection still serves
			// the next request.
			if a := c.post(ctx, []byte(`"long"`), time.Time{}); a.status != "400" || a.detail != strings.Repeat("x", benchDetailMax) {
				t.Errorf("long: %s with %d bytes of detail", a.status, len(a.detail))
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("a request after Connection: close took connection %d, want 2", n)
			}
			// Latency counts from the due time when it has passed.
			if a := c.post(ctx, []byte(`{}`), time.Now().Add(-time.Second)); a.lat < time.Second {
				t.Errorf("latency from a due time 1 s ago = %v", a.lat)
			}

			// Interrupting the run ends the request in flight.
			cctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			if a := c.post(cctx, []byte(`"hang"`), time.Time{}); a.status != "network" || a.detail == "" {
				t.Errorf("interrupted request = %+v, want network with the error", a)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("interrupted request took %v", d)
			}
			if a := c.post(ctx, []byte(`{}`), time.Time{}); a.status != "200" {
				t.Errorf("request after an interrupted one = %+v", a)
			}
		})
	}
}

func TestBenchConnRejects(t *testing.T) {
	for _, tc := range []struct{ target, key string }{
		{"ftp://example.com/v1/events", ""},
		{"http://127.0.0.1:1/v1/events", "a\r\nX-Evil: 1"},
	} {
		if _, err := newBenchConn(tc.target, tc.key, time.Second, nil); err == nil {
			t.Errorf("newBenchConn(%q, %q) = nil error", tc.target, tc.key)
		}
	}
	c, err := newBenchConn("http://127.0.0.1:1/v1/events", "", time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.post(t.Context(), []byte(`{}`), time.Time{}); a.status != "network" || !strings.Contains(a.detail, "refused") {
		t.Errorf("post to a closed port = %+v, want network, connection refused", a)
	}
}
