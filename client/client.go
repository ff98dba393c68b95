package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/verify"
)

// Client talks to one Indelible server, for one log. It is safe for
// concurrent use. Create it with New; a client that has used Send must be
// closed with Close.
type Client struct {
	base     *url.URL
	apiKey   string
	log      string // from WithLog; "" if the log is learned from checkpoints
	hc       *http.Client
	verifier note.Verifier // nil: nothing is verified
	logger   *slog.Logger
	onError  func(*SendError)

	maxEvents   int
	maxDelay    time.Duration
	maxBuffered int

	maxAttempts           int
	baseDelay, maxBackoff time.Duration

	now func() time.Time // clock for event IDs

	// cpMu serialises checkpoint acceptance (which may fetch a
	// consistency proof) and guards latest and learnedLog.
	cpMu       sync.Mutex
	latest     *verify.SignedCheckpoint // largest checkpoint verified so far
	learnedLog string                   // log named by the first verified checkpoint

	b batcher
}

// Option configures a Client.
type Option func(*Client) error

// WithAPIKey sends key as "Authorization: Bearer <key>" with every
// request. Appending needs a writer key; checkpoints, proofs and hash
// tiles are public by default; entry bundles need a reader key.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(key, "\r\n") {
			return errors.New("WithAPIKey: the key holds a line break")
		}
		c.apiKey = key
		return nil
	}
}

// WithLog names the log. It is required with an instance-wide API key
// (appends then carry "?log=LOG") and names the log of the read methods.
func WithLog(log string) Option {
	return func(c *Client) error {
		if log == "" || strings.ContainsAny(log, "/?#%") || strings.TrimSpace(log) != log {
			return fmt.Errorf("WithLog: malformed log name %q", log)
		}
		c.log = log
		return nil
	}
}

// WithHTTPClient sets the HTTP client (default: one with a 60 s timeout
// per request).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		c.hc = hc
		return nil
	}
}

// WithVerifierKey pins the signed-note verifier key of the server's
// checkpoints ("<name>+<hash>+<base64 key>", as printed by "indelible keys
// public"). Without it, nothing the server returns is verified: see the
// package documentation.
func WithVerifierKey(vkey string) Option {
	return func(c *Client) error {
		v, err := note.NewVerifier(strings.TrimSpace(vkey))
		if err != nil {
			return fmt.Errorf("WithVerifierKey: %w", err)
		}
		c.verifier = v
		return nil
	}
}

// WithBatching sets when Send's buffer is sent: as soon as maxEvents
// events are waiting, or maxDelay after the oldest waiting event was sent,
// whichever comes first. maxEvents is also the largest request Append
// makes. The default is 500 events or 100 ms.
func WithBatching(maxEvents int, maxDelay time.Duration) Option {
	return func(c *Client) error {
		if maxEvents < 1 || maxDelay < 0 {
			return fmt.Errorf("WithBatching(%d, %v): want at least 1 event and a delay of 0 or more", maxEvents, maxDelay)
		}
		c.maxEvents, c.maxDelay = maxEvents, maxDelay
		return nil
	}
}

// WithMaxBuffered bounds the events that Send holds, waiting or being
// sent (default 10,000). When that many are held, Send blocks.
func WithMaxBuffered(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return fmt.Errorf("WithMaxBuffered(%d): want at least 1", n)
		}
		c.maxBuffered = n
		return nil
	}
}

// WithRetry sets how often a request is tried (maxAttempts, counting the
// first) and the backoff: before retry n (from 1), the client waits a
// random time between 0 and min(maxDelay, baseDelay·2^(n-1)) ("full
// jitter"), or what the server's Retry-After asks if that is longer. The
// default is 8 attempts, 100 ms and 10 s. maxAttempts 1 disables retries.
func WithRetry(maxAttempts int, baseDelay, maxDelay time.Duration) Option {
	return func(c *Client) error {
		if maxAttempts < 1 || baseDelay < 0 || maxDelay < baseDelay {
			return fmt.Errorf("WithRetry(%d, %v, %v): want at least 1 attempt and 0 <= baseDelay <= maxDelay", maxAttempts, baseDelay, maxDelay)
		}
		c.maxAttempts, c.baseDelay, c.maxBackoff = maxAttempts, baseDelay, maxDelay
		return nil
	}
}

// WithLogger sets the logger for retries and failures (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithErrorHandler sets the function that receives every asynchronous
// failure: a batch of events given to Send that could not be appended
// after every retry, or whose proofs failed. It is called from the
// client's background goroutine, one failure at a time, and should return
// quickly; the events of the failure may be kept to be sent again later.
// By default failures are logged at level ERROR.
func WithErrorHandler(fn func(*SendError)) Option {
	return func(c *Client) error {
		if fn == nil {
			return errors.New("WithErrorHandler: nil function")
		}
		c.onError = fn
		return nil
	}
}

// New returns a client of the server at baseURL (for example
// "https://audit.example.com"; a path prefix is kept).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("client: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want http:// or https:// and a host", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:        u,
		hc:          &http.Client{Timeout: 60 * time.Second},
		maxEvents:   500,
		maxDelay:    100 * time.Millisecond,
		maxBuffered: 10000,
		maxAttempts: 8,
		baseDelay:   100 * time.Millisecond,
		maxBackoff:  10 * time.Second,
		now:         time.Now,
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.onError == nil {
		c.onError = func(e *SendError) {
			c.logger.Error("indelible: sending events failed", "events", len(e.Events), "err", e.Err)
		}
	}
	c.b.init(c)
	return c, nil
}

// logName returns the log of the read methods.
func (c *Client) logName() (string, error) {
	if c.log != "" {
		return c.log, nil
	}
	c.cpMu.Lock()
	defer c.cpMu.Unlock()
	if c.learnedLog != "" {
		return c.learnedLog, nil
	}
	return "", errors.New("client: the log is not known: set WithLog, or append first with a pinned verifier key")
}

// Validate checks events as Append would before sending them: it returns
// nil or an error naming the first bad item.
func validate(events []*event.Event) error {
	for i, ev := range events {
		if ev == nil {
			return fmt.Errorf("client: event %d is nil", i)
		}
		if err := ev.Validate(false); err != nil {
			return fmt.Errorf("client: event %d: %w", i, err)
		}
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
