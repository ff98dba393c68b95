package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// benchConn is one bench worker's HTTP/1.1 connection to the server. It
// writes each request with one system call, from a request head rendered
// once, and reads the answer with net/http's own parser. net/http's
// client costs about twice as much per request (a reader and a writer
// goroutine per connection, and the hand-offs between them), and on a
// machine that the load generator shares with the server, what the
// generator spends the server does not get.
type benchConn struct {
	addr    string      // host:port to dial
	tls     *tls.Config // nil for http://
	head    []byte      // request line and headers up to "Content-Length: "
	timeout time.Duration

	conn net.Conn
	br   *bufio.Reader
}

// newBenchConn prepares a connection that POSTs to target (an http:// or
// https:// URL) with apiKey as bearer token. It dials on first use.
// tlsConfig, if not nil, replaces the default TLS settings of https://.
func newBenchConn(target, apiKey string, timeout time.Duration, tlsConfig *tls.Config) (*benchConn, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	c := &benchConn{addr: u.Host, timeout: timeout}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			c.addr = net.JoinHostPort(u.Hostname(), "80")
		}
	case "https":
		if port == "" {
			c.addr = net.JoinHostPort(u.Hostname(), "443")
		}
		c.tls = &tls.Config{ServerName: u.Hostname()}
		if tlsConfig != nil {
			c.tls = tlsConfig.Clone()
			if c.tls.ServerName == "" {
				c.tls.ServerName = u.Hostname()
			}
		}
	default:
		return nil, fmt.Errorf("%q: want http:// or https://", target)
	}
	if strings.ContainsAny(apiKey, "\r\n") {
		return nil, fmt.Errorf("the API key holds a line break")
	}
	var h strings.Builder
	fmt.Fprintf(&h, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: indelible-bench\r\nContent-Type: application/json\r\n", u.RequestURI(), u.Host)
	if apiKey != "" {
		fmt.Fprintf(&h, "Authorization: Bearer %s\r\n", apiKey)
	}
	h.WriteString("Content-Length: ")
	c.head = []byte(h.String())
	return c, nil
}

// benchAnswer is what one request got.
type benchAnswer struct {
	status string        // HTTP status code, or "network" if there was no answer
	wait   time.Duration // asked by Retry-After
	lat    time.Duration
	detail string // of a failure: the start of the answer's body, or the network error
}

// benchDetailMax bounds the failure detail kept from an answer's body.
const benchDetailMax = 300

// post sends body and reads the answer. The latency counts from due if it
// is not zero (and earlier than now), else from now. A failed exchange
// closes the connection; the next post dials again.
func (c *benchConn) post(ctx context.Context, body []byte, due time.Time) benchAnswer {
	start := time.Now()
	if !due.IsZero() && due.Before(start) {
		start = due
	}
	resp, detail, err := c.exchange(ctx, body)
	a := benchAnswer{lat: time.Since(start), status: "network"}
	if err != nil || resp.Close {
		c.close()
	}
	if err != nil {
		a.detail = err.Error()
		return a
	}
	a.status, a.detail = strconv.Itoa(resp.StatusCode), detail
	if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s > 0 {
		a.wait = time.Duration(min(s, 60)) * time.Second
	}
	return a
}

// exchange writes the request and reads the whole answer, within the
// timeout and until ctx ends (interrupting the run). Of an answer other
// than 2xx it returns the start of the body, which says why.
func (c *benchConn) exchange(ctx context.Context, body []byte) (*http.Response, string, error) {
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return nil, "", err
		}
	}
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, "", err
	}
	conn := c.conn
	defer context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })()
	var cl [32]byte
	req := net.Buffers{c.head, append(strconv.AppendInt(cl[:0], int64(len(body)), 10), "\r\n\r\n"...), body}
	if _, err := req.WriteTo(conn); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var detail string
	if resp.StatusCode/100 != 2 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, benchDetailMax))
		if err != nil {
			return nil, "", err
		}
		detail = strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp, detail, err
}

func (c *benchConn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		hctx, cancel := context.WithTimeout(ctx, c.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	return nil
}

func (c *benchConn) close() {
	if c.conn == nil {
		return
	}
	c.conn.Close()
	c.conn, c.br = nil, nil
}
