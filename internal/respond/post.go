package respond

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultTimeout is the time an HTTP sink gives one attempt, when its
// configuration does not say.
const DefaultTimeout = 10 * time.Second

// maxTimeout is the longest timeout a sink's configuration may set.
const maxTimeout = 5 * time.Minute

// maxErrorBody is how much of a refusal's body a StatusError keeps.
const maxErrorBody = 200

// httpClient returns a copy of base (or of the zero client) that gives up
// after timeout and does not follow redirects: they would carry a signed
// alert to an address nobody configured.
func httpClient(base *http.Client, timeout time.Duration) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.Timeout = timeout
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// checkURL checks the address of an HTTP sink.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// The parser's message quotes the address, which may be secret.
		return nil, errors.New("the URL does not parse")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New(`the URL must start with "https://" or "http://"`)
	}
	if u.Host == "" {
		return nil, errors.New("the URL has no host")
	}
	if u.User != nil {
		return nil, errors.New("the URL must not hold a user name or password")
	}
	return u, nil
}

// post sends body to u and interprets the answer: nil for a 2xx, a
// *StatusError otherwise, or a network error that names only the scheme
// and host of u.
func post(ctx context.Context, client *http.Client, u *url.URL, header http.Header, body []byte, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: building the request: %v", ErrPermanent, redact(err, u))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "indelible")
	resp, err := client.Do(req)
	if err != nil {
		return redact(err, u)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain a little so the connection can be reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	start, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxErrorBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return &StatusError{
		Code: resp.StatusCode,
		// A receiver may quote the request in its answer.
		Body:       hideURL(clip(string(start), maxErrorBody), u),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now),
	}
}

// redactedError is a network error whose message names only the scheme
// and host of the address, which is a credential for some receivers.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, u *url.URL) error {
	shown := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		shown += "/…"
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.ToUpper(ue.Op) + " " + shown + ": " + ue.Err.Error()
	}
	return &redactedError{msg: hideURL(msg, u), err: err}
}

// hideURL returns msg without the path and query of u.
func hideURL(msg string, u *url.URL) string {
	for _, s := range []string{u.String(), u.RequestURI(), u.EscapedPath(), u.Path, u.RawQuery} {
		if s != "" && s != "/" {
			msg = strings.ReplaceAll(msg, s, "…")
		}
	}
	return msg
}

// retryAfter interprets a Retry-After header: delay seconds or an HTTP
// date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// clip returns s as printable UTF-8 on one line, at most n runes.
func clip(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range strings.TrimSpace(s) {
		if count == n {
			b.WriteString("…")
			break
		}
		switch {
		case r == utf8.RuneError:
			r = '\uFFFD'
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case !unicode.IsPrint(r):
			continue
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}
