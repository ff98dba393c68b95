package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIError is an answer of the server that is not a success and is not
// retried (or was still an error after every retry).
type APIError struct {
	Status  int      // HTTP status code
	Message string   // the body's "error", or its text
	Details []Detail // the problems of a 400 or 422 answer, if any
	// RetryAfter is the delay the server asked for with a 429 or 503.
	RetryAfter time.Duration
}

// Detail is one problem with one event of a request.
type Detail struct {
	Item    int    `json:"item"`    // 0-based position of the event in the request
	Path    string `json:"path"`    // JSON Pointer of the field in the event
	Message string `json:"message"` // what is wrong
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "item %d", d.Item)
		if d.Path != "" {
			b.WriteString(" ")
			b.WriteString(d.Path)
		}
		b.WriteString(": ")
		b.WriteString(d.Message)
	}
	return b.String()
}

// retryable reports whether a request answered with status may be tried
// again.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// Limits on the bodies read from the server.
const (
	maxJSONBody   = 32 << 20
	maxNoteBody   = 1 << 20
	maxBundleBody = 256*(2+1<<16) + 1
	maxErrorBody  = 64 << 10
)

// request is one API call, which may be sent several times.
type request struct {
	method string
	path   string     // below the base URL, starting with "/"
	query  url.Values // may be nil
	body   []byte     // nil for none
	ctype  string     // Content-Type of body
	accept string
	limit  int64 // most bytes of the answer read
}

// do sends r, retrying as the package documentation describes, and
// returns the body of the first 2xx answer. Any other answer is an
// *APIError (wrapped, if retries were exhausted).
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	u := *c.base
	u.Path += r.path
	if r.query != nil {
		u.RawQuery = r.query.Encode()
	}
	target := u.String()
	var last error
	for attempt := 1; ; attempt++ {
		body, wait, err := c.try(ctx, r, target)
		if err == nil {
			return body, nil
		}
		if wait < 0 || ctx.Err() != nil {
			return nil, err // not retryable
		}
		last = err
		if attempt >= c.maxAttempts {
			if attempt > 1 {
				return nil, fmt.Errorf("giving up after %d attempts: %w", attempt, last)
			}
			return nil, last
		}
		d := c.backoff(attempt)
		if wait > d {
			d = wait
		}
		c.logger.Debug("indelible: retrying", "method", r.method, "path", r.path, "attempt", attempt, "delay", d, "err", err)
		if err := sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("%s %s: %w (last error: %v)", r.method, r.path, err, last)
		}
	}
}

// backoff returns the full-jitter delay before retry n (from 1).
func (c *Client) backoff(n int) time.Duration {
	ceil := c.maxBackoff
	if n-1 < 62 {
		if d := c.baseDelay << (n - 1); d > 0 && d < ceil {
			ceil = d
		}
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}

// maxRetryAfter bounds the delay a server may ask for.
const maxRetryAfter = 5 * time.Minute

// try sends r once. On failure, wait is -1 if the failure must not be
// retried, else the least delay the server asked for (0 if it did not).
func (c *Client) try(ctx context.Context, r request, target string) (body []byte, wait time.Duration, err error) {
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, -1, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", r.method, r.path, err) // network error: retried
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		body, err := io.ReadAll(io.LimitReader(resp.Body, r.limit+1))
		if err != nil {
			return nil, 0, fmt.Errorf("%s %s: reading the answer: %w", r.method, r.path, err)
		}
		if int64(len(body)) > r.limit {
			return nil, -1, fmt.Errorf("%s %s: answer longer than %d bytes", r.method, r.path, r.limit)
		}
		return body, 0, nil
	}
	apiErr := readAPIError(resp)
	if !retryable(resp.StatusCode) {
		return nil, -1, fmt.Errorf("%s %s: %w", r.method, r.path, apiErr)
	}
	return nil, min(apiErr.RetryAfter, maxRetryAfter), fmt.Errorf("%s %s: %w", r.method, r.path, apiErr)
}

// readAPIError decodes an error answer: {"error", "details"} if it is
// JSON, else its text.
func readAPIError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error   string   `json:"error"`
		Details []Detail `json:"details"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Error != "" || body.Details != nil) {
		e.Message, e.Details = body.Error, body.Details
	} else {
		e.Message = strings.TrimSpace(strings.ToValidUTF8(string(data), "\uFFFD"))
		if len(e.Message) > 512 {
			e.Message = e.Message[:512] + "..."
		}
	}
	return e
}

// parseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date. It returns 0 for none or a malformed one.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// isStatus reports whether err carries an *APIError with one of the
// statuses.
func isStatus(err error, statuses ...int) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, s := range statuses {
		if ae.Status == s {
			return true
		}
	}
	return false
}
