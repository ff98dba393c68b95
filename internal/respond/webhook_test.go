package respond

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a24ba333/indelible/internal/findings"
)

var testSecret = []byte("whsec_0123456789abcdef")

// captured is a request a test server received.
type captured struct {
	method, path string
	header       http.Header
	body         []byte
}

// captureServer answers each request with the next of codes (the last
// one again when they run out) and records the requests.
type captureServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []captured // guarded by mu
}

func newCaptureServer(t *testing.T, codes ...int) *captureServer {
	t.Helper()
	s := &captureServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, captured{r.Method, r.URL.Path, r.Header.Clone(), body})
		s.mu.Unlock()
		code := http.StatusNoContent
		if len(codes) > 0 {
			code = codes[min(n, len(codes)-1)]
		}
		switch code {
		case http.StatusFound:
			w.Header().Set("Location", "/elsewhere")
		case http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", "30")
		}
		w.WriteHeader(code)
		if code >= 300 {
			io.WriteString(w, "refused:\n"+strconv.Itoa(code))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *captureServer) all() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

var sendTime = time.Date(2026, 11, 23, 19, 40, 5, 700e6, time.UTC)

func newTestWebhook(t *testing.T, url string, timeout time.Duration) *Webhook {
	t.Helper()
	w, err := NewWebhook(WebhookConfig{Name: "hook", URL: url, Secret: testSecret, Timeout: timeout, Now: func() time.Time { return sendTime }})
	if err != nil {
		t.Fatalf("NewWebhook() = %v", err)
	}
	return w
}

// The body of the request for testAlert, byte for byte: the format is
// documented, and receivers check signatures over these bytes.
const wantBody = `{"type":"finding.opened",` +
	`"finding":{"id":"finding-0123456789abcdef0123456789abcdef","log":"payments","rule":"failure-burst","detector":"failure_burst",` +
	`"severity":"high","group_key":"alice@example.com","status":"open","opened_at":"2026-11-23T19:40:00.123Z",` +
	`"summary":"12 failed logins for alice@example.com in 5m","index":1234,` +
	`"evidence":[{"log":"payments","index":1200},{"log":"payments","index":1201}],"config":"sha256:abc"},` +
	`"log":"payments","instance":"audit.example.com","project":"payments","environment":"production",` +
	`"summary":"12 failed logins for alice@example.com in 5m",` +
	`"link":"https://audit.example.com/findings/finding-0123456789abcdef0123456789abcdef",` +
	`"sent_at":"2026-11-23T19:40:05Z"}`

func TestWebhookRequest(t *testing.T) {
	srv := newCaptureServer(t)
	w := newTestWebhook(t, srv.URL+"/hooks/indelible", 0)
	if err := w.Deliver(context.Background(), testAlert()); err != nil {
		t.Fatalf("Deliver() = %v", err)
	}
	reqs := srv.all()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.path != "/hooks/indelible" {
		t.Errorf("request = %s %s, want POST /hooks/indelible", r.method, r.path)
	}
	for k, want := range map[string]string{
		"Content-Type":  "application/json",
		"User-Agent":    "indelible",
		HeaderTimestamp: strconv.FormatInt(sendTime.Unix(), 10),
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if string(r.body) != wantBody {
		t.Errorf("body =\n%s\nwant\n%s", r.body, wantBody)
	}
	if err := VerifySignature(testSecret, r.header.Get(HeaderTimestamp), r.header.Get(HeaderSignature), r.body, sendTime, 0); err != nil {
		t.Errorf("VerifySignature(the request) = %v, want nil", err)
	}
	// The schema, as a receiver decodes it.
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"environment", "finding", "instance", "link", "log", "project", "sent_at", "summary", "type"}; !slices.Equal(keys, want) {
		t.Errorf("body members = %q, want %q", keys, want)
	}
	var f findings.Finding
	if err := json.Unmarshal(doc["finding"], &f); err != nil {
		t.Fatalf("finding does not decode: %v", err)
	}
	if want := testFinding(); f.ID != want.ID || !f.OpenedAt.Equal(want.OpenedAt) || !slices.Equal(f.Evidence, want.Evidence) {
		t.Errorf("finding = %+v, want %+v", f, want)
	}
}

func TestWebhookBody(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 4, 5, 999e6, time.FixedZone("x", 3600))
	tests := []struct {
		name  string
		alert Alert
		want  string
	}{
		{
			"minimal: log and summary from the finding, evidence never null",
			Alert{Finding: findings.Finding{ID: "f", Log: "l", Summary: "s"}},
			`{"type":"finding.opened","finding":{"id":"f","log":"l","rule":"","detector":"","severity":"","group_key":"","status":"",` +
				`"opened_at":"0001-01-01T00:00:00Z","summary":"s","index":0,"evidence":[]},"log":"l","instance":"","summary":"s","sent_at":"2026-01-02T02:04:05Z"}`,
		},
		{
			"HTML characters are not escaped",
			Alert{Finding: findings.Finding{ID: "f", Evidence: []findings.Evidence{}}, Log: "l", Instance: "i", Summary: "a <b> & c"},
			`{"type":"finding.opened","finding":{"id":"f","log":"","rule":"","detector":"","severity":"","group_key":"","status":"",` +
				`"opened_at":"0001-01-01T00:00:00Z","summary":"","index":0,"evidence":[]},"log":"l","instance":"i","summary":"a <b> & c","sent_at":"2026-01-02T02:04:05Z"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WebhookBody(tt.alert, sent)
			if err != nil {
				t.Fatalf("WebhookBody() = %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("WebhookBody() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestSignVector checks Sign against a signature computed by another
// implementation: printf '%s' '1700000000.{"type":"finding.opened"}' |
// openssl dgst -sha256 -hmac whsec_0123456789abcdef
func TestSignVector(t *testing.T) {
	const want = "v1=d04a3b26254db3ce927d38b613e1704c80aafb5b8d7131d22a7271c6d986e7e5"
	if got := Sign(testSecret, "1700000000", []byte(`{"type":"finding.opened"}`)); got != want {
		t.Errorf("Sign() = %q, want %q", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(wantBody)
	now := time.Unix(1700000000, 0)
	ts := "1700000000"
	good := Sign(testSecret, ts, body)
	tests := []struct {
		name      string
		secret    []byte
		timestamp string
		signature string
		body      []byte
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"valid", testSecret, ts, good, body, now, 0, nil},
		{"valid 4m59s later", testSecret, ts, good, body, now.Add(4*time.Minute + 59*time.Second), 0, nil},
		{"valid 4m59s early", testSecret, ts, good, body, now.Add(-4*time.Minute - 59*time.Second), 0, nil},
		{"one of several signatures", testSecret, ts, "v0=abc, v1=00ff," + good, body, now, 0, nil},
		{"upper-case hex", testSecret, ts, "v1=" + strings.ToUpper(strings.TrimPrefix(good, "v1=")), body, now, 0, nil},
		{"tampered body", testSecret, ts, good, []byte(strings.Replace(wantBody, `"high"`, `"low"`, 1)), now, 0, ErrBadSignature},
		{"body with a trailing newline", testSecret, ts, good, append(body, '\n'), now, 0, ErrBadSignature},
		{"wrong secret", []byte("whsec_another_secret_0123"), ts, good, body, now, 0, ErrBadSignature},
		{"no secret", nil, ts, good, body, now, 0, ErrBadSignature},
		{"timestamp changed", testSecret, "1700000001", good, body, now, 0, ErrBadSignature},
		{"old timestamp", testSecret, ts, good, body, now.Add(5*time.Minute + time.Second), 0, ErrStaleTimestamp},
		{"old timestamp, long tolerance", testSecret, ts, good, body, now.Add(time.Hour), 2 * time.Hour, nil},
		{"old timestamp, short tolerance", testSecret, ts, good, body, now.Add(time.Minute), 30 * time.Second, ErrStaleTimestamp},
		{"future timestamp", testSecret, ts, good, body, now.Add(-6 * time.Minute), 0, ErrStaleTimestamp},
		{"signature of an old request replayed with a new timestamp", testSecret, "1700000400", good, body, now.Add(400 * time.Second), 0, ErrBadSignature},
		{"no signature", testSecret, ts, "", body, now, 0, ErrBadSignature},
		{"other scheme only", testSecret, ts, "v0=" + strings.TrimPrefix(good, "v1="), body, now, 0, ErrBadSignature},
		{"not hex", testSecret, ts, "v1=zz", body, now, 0, ErrBadSignature},
		{"truncated signature", testSecret, ts, good[:20], body, now, 0, ErrBadSignature},
		{"empty timestamp", testSecret, "", good, body, now, 0, ErrBadSignature},
		{"signed timestamp", testSecret, "+1700000000", good, body, now, 0, ErrBadSignature},
		{"negative timestamp", testSecret, "-1", good, body, now, 0, ErrBadSignature},
		{"huge timestamp", testSecret, "99999999999999999999", good, body, now, 0, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.secret, tt.timestamp, tt.signature, tt.body, tt.now, tt.tolerance)
			if !errorIs(err, tt.want) {
				t.Errorf("VerifySignature(%q, %q) = %v, want %v", tt.timestamp, tt.signature, err, tt.want)
			}
		})
	}
}

func TestWebhookStatus(t *testing.T) {
	tests := []struct {
		code      int
		want      error // nil, ErrPermanent, or errTemporary
		retryWait time.Duration
	}{
		{200, nil, 0},
		{201, nil, 0},
		{202, nil, 0},
		{204, nil, 0},
		{400, ErrPermanent, 0},
		{401, ErrPermanent, 0},
		{403, ErrPermanent, 0},
		{404, ErrPermanent, 0},
		{410, ErrPermanent, 0},
		{422, ErrPermanent, 0},
		{408, errTemporary, 0},
		{429, errTemporary, 0},
		{500, errTemporary, 0},
		{502, errTemporary, 0},
		{503, errTemporary, 30 * time.Second},
		{302, errTemporary, 0}, // not followed
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			srv := newCaptureServer(t, tt.code)
			err := newTestWebhook(t, srv.URL+"/hook", 0).Deliver(context.Background(), testAlert())
			switch tt.want {
			case nil:
				if err != nil {
					t.Errorf("Deliver() = %v, want nil", err)
				}
			case ErrPermanent:
				if !errors.Is(err, ErrPermanent) {
					t.Errorf("Deliver() = %v, want a permanent error", err)
				}
			case errTemporary:
				if err == nil || errors.Is(err, ErrPermanent) {
					t.Errorf("Deliver() = %v, want a temporary error", err)
				}
			}
			if err != nil {
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tt.code || se.RetryAfter != tt.retryWait {
					t.Errorf("Deliver() = %#v, want a *StatusError with code %d, RetryAfter %v", err, tt.code, tt.retryWait)
				}
				if want := "status " + strconv.Itoa(tt.code) + ": refused: " + strconv.Itoa(tt.code); err.Error() != want {
					t.Errorf("Deliver() = %q, want %q", err, want)
				}
			}
			for _, r := range srv.all() {
				if r.path != "/hook" {
					t.Errorf("request to %s: a redirect was followed", r.path)
				}
			}
		})
	}
}

var errTemporary = errors.New("temporary")

// TestWebhookErrorsHideURL checks that errors, which are recorded on
// findings, do not reveal the path and query of the address, which are
// credentials for some receivers.
func TestWebhookErrorsHideURL(t *testing.T) {
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(hang) })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "no route for "+r.URL.RequestURI()+" ("+r.URL.Path+")")
	}))
	t.Cleanup(echo.Close)
	const path = "/services/T0/B0/SECRETPATH?token=SECRETQUERY"
	tests := []struct {
		name, url string
		want      string
	}{
		{"connection refused", closed.URL + path, "POST " + closed.URL + "/…: "},
		{"timeout", hanging.URL + path, "Client.Timeout exceeded"},
		{"answer quoting the request", echo.URL + path, "status 404: no route for … (…)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sink := range []Sink{newTestWebhook(t, tt.url, 100*time.Millisecond), mustSlack(t, tt.url, 100*time.Millisecond)} {
				err := sink.Deliver(context.Background(), testAlert())
				if err == nil {
					t.Fatalf("%T.Deliver() = nil, want an error", sink)
				}
				if msg := err.Error(); strings.Contains(msg, "SECRET") || !strings.Contains(msg, tt.want) {
					t.Errorf("%T.Deliver() = %q, want an error with %q and without the path or query", sink, msg, tt.want)
				}

			}
		})
	}
}

func TestNewWebhookChecks(t *testing.T) {
	ok := WebhookConfig{Name: "hook", URL: "https://example.com/hook", Secret: testSecret}
	tests := []struct {
		name   string
		change func(*WebhookConfig)
		want   string // in the error; "" for none
	}{
		{"valid", func(*WebhookConfig) {}, ""},
		{"no name", func(c *WebhookConfig) { c.Name = "" }, "a name is required"},
		{"bad name", func(c *WebhookConfig) { c.Name = "a b" }, `name "a b"`},
		{"no URL", func(c *WebhookConfig) { c.URL = "" }, `must start with "https://"`},
		{"ftp", func(c *WebhookConfig) { c.URL = "ftp://example.com/x" }, `must start with "https://"`},
		{"no host", func(c *WebhookConfig) { c.URL = "https:///x" }, "no host"},
		{"password", func(c *WebhookConfig) { c.URL = "https://u:secretpw@example.com/" }, "user name or password"},
		{"unparsable", func(c *WebhookConfig) { c.URL = "https://example.com/%zzsecret" }, "does not parse"},
		{"no secret", func(c *WebhookConfig) { c.Secret = nil }, "secret is required"},
		{"negative timeout", func(c *WebhookConfig) { c.Timeout = -time.Second }, "negative timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			_, err := NewWebhook(c)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("NewWebhook(%+v) = %v, want nil", c, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("NewWebhook(%+v) = %v, want an error with %q", c, err, tt.want)
			case err != nil && strings.Contains(err.Error(), "secret"+"pw"):
				t.Errorf("NewWebhook(%+v) = %v, which shows the password", c, err)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 19, 40, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"99999999999", 24 * time.Hour},
		{"Mon, 23 Nov 2026 19:42:00 GMT", 2 * time.Minute},
		{"Mon, 23 Nov 2026 19:00:00 GMT", 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.h, got, tt.want)
		}
	}
}
