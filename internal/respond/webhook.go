package respond

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a24ba333/indelible/internal/findings"
)

// The headers that authenticate a webhook request (see the package
// documentation).
const (
	HeaderTimestamp = "X-Indelible-Timestamp"
	HeaderSignature = "X-Indelible-Signature"
)

// TypeFindingOpened is the "type" of the body that announces a new
// finding.
const TypeFindingOpened = "finding.opened"

// DefaultTolerance is how far from the receiver's clock a request's
// timestamp may be: older requests are refused as possible replays.
const DefaultTolerance = 5 * time.Minute

// Errors of VerifySignature.
var (
	ErrBadSignature   = errors.New("webhook signature does not verify")
	ErrStaleTimestamp = errors.New("webhook timestamp outside the tolerance")
)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	Name string // required
	URL  string // required; https:// or http://
	// Secret is the key of the request signatures, shared with the
	// receiver; required.
	Secret []byte
	// Timeout bounds one attempt; DefaultTimeout when 0.
	Timeout time.Duration
	// Client, if not nil, is the client to copy (its Transport, for
	// instance); its timeout and redirect policy are replaced.
	Client *http.Client
	// Now is the clock of the timestamps; time.Now when nil.
	Now func() time.Time
}

// Webhook is a sink that POSTs each alert as a signed JSON document.
type Webhook struct {
	name   string
	url    *url.URL
	secret []byte
	client *http.Client
	now    func() time.Time
}

var _ Sink = (*Webhook)(nil)

// NewWebhook returns the webhook sink c describes.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	if err := checkName(c.Name); err != nil {
		return nil, fmt.Errorf("webhook sink: %w", err)
	}
	u, err := checkURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook sink %q: %w", c.Name, err)
	}
	if len(c.Secret) == 0 {
		return nil, fmt.Errorf("webhook sink %q: a secret is required", c.Name)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("webhook sink %q: negative timeout %v", c.Name, c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Webhook{
		name:   c.Name,
		url:    u,
		secret: bytes.Clone(c.Secret),
		client: httpClient(c.Client, c.Timeout),
		now:    c.Now,
	}, nil
}

// Name returns the sink's name.
func (w *Webhook) Name() string { return w.name }

// Deliver posts a, signed with the current time.
func (w *Webhook) Deliver(ctx context.Context, a Alert) error {
	now := w.now()
	sent := time.Unix(now.Unix(), 0).UTC()
	body, err := WebhookBody(a, sent)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	ts := strconv.FormatInt(sent.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Sign(w.secret, ts, body))
	return post(ctx, w.client, w.url, h, body, now)
}

// webhookBody is the JSON body of a webhook request; the order of the
// fields is the documented order of the members.
type webhookBody struct {
	Type        string           `json:"type"`
	Finding     findings.Finding `json:"finding"`
	Log         string           `json:"log"`
	Instance    string           `json:"instance"`
	Project     string           `json:"project,omitempty"`
	Environment string           `json:"environment,omitempty"`
	Summary     string           `json:"summary"`
	Link        string           `json:"link,omitempty"`
	SentAt      string           `json:"sent_at"`
}

// WebhookBody returns the body of the webhook request that delivers a at
// time sent (see the package documentation).
func WebhookBody(a Alert, sent time.Time) ([]byte, error) {
	f := a.Finding
	if f.Evidence == nil {
		f.Evidence = []findings.Evidence{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(webhookBody{
		Type:        TypeFindingOpened,
		Finding:     f,
		Log:         a.log(),
		Instance:    a.Instance,
		Project:     a.Project,
		Environment: a.Environment,
		Summary:     a.summary(),
		Link:        a.Link,
		SentAt:      sent.UTC().Truncate(time.Second).Format(time.RFC3339),
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the webhook body: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Sign returns the X-Indelible-Signature value of body sent at timestamp
// (decimal Unix seconds): "v1=" and the hex HMAC-SHA256, keyed with
// secret, of timestamp, ".", body.
func Sign(secret []byte, timestamp string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a webhook request, for receivers: signature (the
// X-Indelible-Signature header) must hold a "v1=" signature of body and
// timestamp (the X-Indelible-Timestamp header) with secret, and timestamp
// must be within tolerance of now, either way (DefaultTolerance if
// tolerance is not positive). Pass the raw body, before any parsing. The
// error wraps ErrBadSignature or ErrStaleTimestamp.
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to check it with", ErrBadSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if timestamp == "" || len(timestamp) > 18 || strings.Trim(timestamp, "0123456789") != "" {
		return fmt.Errorf("%w: timestamp %q is not decimal Unix seconds", ErrBadSignature, clip(timestamp, 40))
	}
	ts, _ := strconv.ParseInt(timestamp, 10, 64)
	want := mac(secret, timestamp, body)
	found, ok := false, false
	for part := range strings.SplitSeq(signature, ",") {
		h, isV1 := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !isV1 {
			continue
		}
		found = true
		if got, err := hex.DecodeString(h); err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	switch {
	case !found:
		return fmt.Errorf("%w: no v1 signature in %q", ErrBadSignature, clip(signature, 80))
	case !ok:
		return ErrBadSignature
	}
	age := now.Sub(time.Unix(ts, 0))
	if age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: timestamp %s is %v from now, more than %v", ErrStaleTimestamp,
			time.Unix(ts, 0).UTC().Format(time.RFC3339), age.Round(time.Second), tolerance)
	}
	return nil
}
