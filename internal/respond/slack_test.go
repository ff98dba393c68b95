package respond

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/a24ba333/indelible/internal/findings"
)

func mustSlack(t *testing.T, url string, timeout time.Duration) *Slack {
	t.Helper()
	s, err := NewSlack(SlackConfig{Name: "slack", URL: url, Timeout: timeout})
	if err != nil {
		t.Fatalf("NewSlack() = %v", err)
	}
	return s
}

// decodedMessage is a Slack message as Slack reads it.
type decodedMessage struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type, Text string
		} `json:"text"`
		Fields []struct {
			Type, Text string
		} `json:"fields"`
		Elements []struct {
			Type, Text string
		} `json:"elements"`
	} `json:"blocks"`
}

func TestSlackMessage(t *testing.T) {
	srv := newCaptureServer(t, 200)
	if err := mustSlack(t, srv.URL+"/services/T0/B0/X", 0).Deliver(context.Background(), testAlert()); err != nil {
		t.Fatalf("Deliver() = %v", err)
	}
	reqs := srv.all()
	if len(reqs) != 1 || reqs[0].path != "/services/T0/B0/X" || reqs[0].header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests = %+v, want one JSON POST to the webhook's path", reqs)
	}
	var m decodedMessage
	if err := json.Unmarshal(reqs[0].body, &m); err != nil {
		t.Fatalf("message is not JSON: %v\n%s", err, reqs[0].body)
	}
	if want := "[high] failure-burst in payments: 12 failed logins for alice@example.com in 5m"; m.Text != want {
		t.Errorf("text = %q, want %q", m.Text, want)
	}
	var types []string
	for _, b := range m.Blocks {
		types = append(types, b.Type)
	}
	if got, want := strings.Join(types, ","), "header,section,section,context"; got != want {
		t.Fatalf("block types = %s, want %s", got, want)
	}
	if h := m.Blocks[0].Text; h == nil || h.Type != "plain_text" || h.Text != "High finding: failure-burst" {
		t.Errorf("header = %+v, want plain text %q", h, "High finding: failure-burst")
	}
	if s := m.Blocks[1].Text; s == nil || s.Text != "12 failed logins for alice@example.com in 5m" {
		t.Errorf("summary section = %+v", s)
	}
	var fields []string
	for _, f := range m.Blocks[2].Fields {
		if f.Type != "mrkdwn" {
			t.Errorf("field %q is %s, want mrkdwn", f.Text, f.Type)
		}
		fields = append(fields, f.Text)
	}
	want := []string{"*Severity*\nhigh", "*Rule*\nfailure-burst", "*Group*\nalice@example.com", "*Evidence*\n2 entries", "*Log*\npayments", "*Opened*\n2026-11-23T19:40:00Z"}
	if strings.Join(fields, "|") != strings.Join(want, "|") {
		t.Errorf("fields = %q, want %q", fields, want)
	}
	if got, want := m.Blocks[3].Elements[0].Text, "<https://audit.example.com/findings/finding-0123456789abcdef0123456789abcdef|Finding finding-0123456789abcdef0123456789abcdef> · audit.example.com"; got != want {
		t.Errorf("context = %q, want %q", got, want)
	}
}

func TestSlackMessageEdges(t *testing.T) {
	long := strings.Repeat("é", 5000)
	tests := []struct {
		name  string
		alert Alert
		check func(t *testing.T, m decodedMessage)
	}{
		{
			"mrkdwn characters are escaped",
			Alert{Finding: findings.Finding{Severity: "critical", Rule: "r<1>", GroupKey: "<@U123>", Summary: "a & <!channel>"}},
			func(t *testing.T, m decodedMessage) {
				if want := "a &amp; &lt;!channel&gt;"; m.Blocks[1].Text.Text != want {
					t.Errorf("summary = %q, want %q", m.Blocks[1].Text.Text, want)
				}
				if want := "*Group*\n&lt;@U123&gt;"; m.Blocks[2].Fields[2].Text != want {
					t.Errorf("group = %q, want %q", m.Blocks[2].Fields[2].Text, want)
				}
				if want := "Critical finding: r<1>"; m.Blocks[0].Text.Text != want { // plain text is shown as is
					t.Errorf("header = %q, want %q", m.Blocks[0].Text.Text, want)
				}
				if want := "[critical] r&lt;1&gt; in —: a &amp; &lt;!channel&gt;"; m.Text != want {
					t.Errorf("text = %q, want %q", m.Text, want)
				}
			},
		},
		{
			"empty values are dashes, one piece of evidence",
			Alert{Finding: findings.Finding{Evidence: []findings.Evidence{{}}}},
			func(t *testing.T, m decodedMessage) {
				for _, f := range m.Blocks[2].Fields {
					if strings.HasSuffix(f.Text, "\n") {
						t.Errorf("field %q is empty", f.Text)
					}
				}
				if want := "*Evidence*\n1 entry"; m.Blocks[2].Fields[3].Text != want {
					t.Errorf("evidence = %q, want %q", m.Blocks[2].Fields[3].Text, want)
				}
				if want := "Finding —"; m.Blocks[3].Elements[0].Text != want {
					t.Errorf("context = %q, want %q", m.Blocks[3].Elements[0].Text, want)
				}
			},
		},
		{
			"long texts are cut to Slack's limits",
			Alert{Finding: findings.Finding{Severity: "high", Rule: long, GroupKey: long + "&", Summary: long}},
			func(t *testing.T, m decodedMessage) {
				limits := map[string]int{"header": 150, "section": 3000}
				for _, b := range m.Blocks {
					if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > limits[b.Type] {
						t.Errorf("%s text has %d characters, more than %d", b.Type, utf8.RuneCountInString(b.Text.Text), limits[b.Type])
					}
					for _, f := range b.Fields {
						if n := utf8.RuneCountInString(f.Text); n > 2000 {
							t.Errorf("field has %d characters, more than 2000", n)
						}
						if !utf8.ValidString(f.Text) {
							t.Errorf("field %q is not UTF-8", f.Text)
						}
					}
				}
				if utf8.RuneCountInString(m.Text) > 3000 || !strings.HasSuffix(m.Text, "…") {
					t.Errorf("text has %d characters, want at most 3000, cut", utf8.RuneCountInString(m.Text))
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := SlackMessage(tt.alert)
			if err != nil {
				t.Fatalf("SlackMessage() = %v", err)
			}
			var m decodedMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("SlackMessage() is not JSON: %v", err)
			}
			if len(m.Blocks) != 4 || m.Blocks[0].Text == nil || m.Blocks[1].Text == nil || len(m.Blocks[2].Fields) != 6 || len(m.Blocks[3].Elements) != 1 {
				t.Fatalf("SlackMessage() = %s, want 4 blocks", b)
			}
			tt.check(t, m)
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"ééé", 2, "é…"},
		{"a &amp; b", 5, "a …"},
		{"a &amp; b", 8, "a &amp;…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestSlackRefusals(t *testing.T) {
	tests := []struct {
		code      int
		permanent bool
	}{
		{400, true}, // invalid_payload
		{403, true}, // action_prohibited
		{404, true}, // no_service
		{410, true}, // channel_is_archived
		{429, false},
		{500, false},
	}
	for _, tt := range tests {
		srv := newCaptureServer(t, tt.code)
		err := mustSlack(t, srv.URL+"/services/T0/B0/SECRET", 0).Deliver(context.Background(), testAlert())
		if err == nil || errors.Is(err, ErrPermanent) != tt.permanent {
			t.Errorf("Deliver() answered %d = %v, want an error, permanent: %v", tt.code, err, tt.permanent)
		}
	}
}
