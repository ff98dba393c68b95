package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// SlackConfig configures a Slack sink.
type SlackConfig struct {
	Name string // required
	// URL is the incoming webhook's address, which is a credential: it
	// never appears in errors.
	URL string
	// Timeout bounds one attempt; DefaultTimeout when 0.
	Timeout time.Duration
	// Client, if not nil, is the client to copy; its timeout and
	// redirect policy are replaced.
	Client *http.Client
	// Now is the clock that Retry-After dates are read with; time.Now
	// when nil.
	Now func() time.Time
}

// Slack is a sink that posts each alert as a message to a Slack incoming
// webhook, or to anything that accepts the same messages (Mattermost,
// Rocket.Chat, ...): a "text" for notifications and "blocks" with a
// header, the summary, and fields for severity, rule, group, evidence,
// log and time.
type Slack struct {
	name   string
	url    *url.URL
	client *http.Client
	now    func() time.Time
}

var _ Sink = (*Slack)(nil)

// NewSlack returns the Slack sink c describes.
func NewSlack(c SlackConfig) (*Slack, error) {
	if err := checkName(c.Name); err != nil {
		return nil, fmt.Errorf("slack sink: %w", err)
	}
	u, err := checkURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("slack sink %q: %w", c.Name, err)
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("slack sink %q: negative timeout %v", c.Name, c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Slack{name: c.Name, url: u, client: httpClient(c.Client, c.Timeout), now: c.Now}, nil
}

// Name returns the sink's name.
func (s *Slack) Name() string { return s.name }

// Deliver posts a as a message.
func (s *Slack) Deliver(ctx context.Context, a Alert) error {
	body, err := SlackMessage(a)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	return post(ctx, s.client, s.url, nil, body, s.now())
}

// The parts of a Slack message (Block Kit) that a SlackMessage uses.
type (
	slackMessage struct {
		Text   string       `json:"text"`
		Blocks []slackBlock `json:"blocks"`
	}
	slackBlock struct {
		Type     string      `json:"type"`
		Text     *slackText  `json:"text,omitempty"`
		Fields   []slackText `json:"fields,omitempty"`
		Elements []slackText `json:"elements,omitempty"`
	}
	slackText struct {
		Type string `json:"type"` // "plain_text" or "mrkdwn"
		Text string `json:"text"`
	}
)

// Slack's limits on the length of texts, in characters.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
)

// SlackMessage returns the body of the message that announces a.
func SlackMessage(a Alert) ([]byte, error) {
	f := a.Finding
	severity := orDash(f.Severity)
	rule := orDash(f.Rule)
	summary := orDash(a.summary())
	field := func(name, value string) slackText {
		return slackText{"mrkdwn", "*" + name + "*\n" + truncate(slackEscape(value), slackFieldMax-len(name)-3)}
	}
	evidence := fmt.Sprintf("%d entries", len(f.Evidence))
	if len(f.Evidence) == 1 {
		evidence = "1 entry"
	}
	footer := "Finding " + slackEscape(orDash(f.ID))
	if a.Link != "" {
		footer = "<" + slackEscape(a.Link) + "|" + footer + ">"
	}
	if a.Instance != "" {
		footer += " · " + slackEscape(a.Instance)
	}
	opened := "—"
	if !f.OpenedAt.IsZero() {
		opened = f.OpenedAt.UTC().Format(time.RFC3339)
	}
	m := slackMessage{
		Text: truncate(slackEscape(fmt.Sprintf("[%s] %s in %s: %s", severity, rule, orDash(a.log()), summary)), slackSectionMax),
		Blocks: []slackBlock{
			{Type: "header", Text: &slackText{"plain_text", truncate(capitalize(severity)+" finding: "+rule, slackHeaderMax)}},
			{Type: "section", Text: &slackText{"mrkdwn", truncate(slackEscape(summary), slackSectionMax)}},
			{Type: "section", Fields: []slackText{
				field("Severity", severity),
				field("Rule", rule),
				field("Group", orDash(f.GroupKey)),
				field("Evidence", evidence),
				field("Log", orDash(a.log())),
				field("Opened", opened),
			}},
			{Type: "context", Elements: []slackText{{"mrkdwn", truncate(footer, slackSectionMax)}}},
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding the Slack message: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// slackEscaper escapes the three characters that Slack's mrkdwn gives a
// meaning to.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}

// truncate returns s cut to at most n characters, ending in "…" if cut.
// It cuts before an "&" escape it would otherwise split.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	s = s[:i]
	if amp := strings.LastIndexByte(s, '&'); amp >= 0 && !strings.Contains(s[amp:], ";") {
		s = s[:amp]
	}
	return s + "…"
}
