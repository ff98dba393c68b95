package respond

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

// captureHandler keeps the records logged to it.
type captureHandler struct {
	mu      sync.Mutex
	records []slog.Record // guarded by mu
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func TestLogSink(t *testing.T) {
	tests := []struct {
		severity string
		want     slog.Level
	}{
		{SeverityLow, slog.LevelWarn},
		{SeverityMedium, slog.LevelWarn},
		{SeverityHigh, slog.LevelWarn},
		{SeverityCritical, slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.severity, func(t *testing.T) {
			h := &captureHandler{}
			s, err := NewLogSink("log", slog.New(h))
			if err != nil {
				t.Fatalf("NewLogSink() = %v", err)
			}
			a := testAlert()
			a.Finding.Severity = tt.severity
			if err := s.Deliver(context.Background(), a); err != nil {
				t.Fatalf("Deliver() = %v", err)
			}
			if len(h.records) != 1 {
				t.Fatalf("logged %d records, want 1", len(h.records))
			}
			r := h.records[0]
			if r.Level != tt.want || r.Message != "finding opened" {
				t.Errorf("record = %v %q, want %v %q", r.Level, r.Message, tt.want, "finding opened")
			}
			attrs := map[string]string{}
			r.Attrs(func(a slog.Attr) bool {
				attrs[a.Key] = a.Value.String()
				return true
			})
			want := map[string]string{
				"sink": "log", "finding": a.Finding.ID, "log": "payments", "rule": "failure-burst", "severity": tt.severity,
				"group_key": "alice@example.com", "evidence": "2", "project": "payments", "environment": "production",
				"instance": "audit.example.com", "link": a.Link, "summary": a.Finding.Summary,
			}
			for k, v := range want {
				if attrs[k] != v {
					t.Errorf("attribute %s = %q, want %q", k, attrs[k], v)
				}
			}
		})
	}
}

func TestNewLogSinkChecks(t *testing.T) {
	if _, err := NewLogSink("log", nil); err == nil {
		t.Errorf("NewLogSink(nil logger) = nil error, want one")
	}
	if _, err := NewLogSink("", slog.Default()); err == nil {
		t.Errorf("NewLogSink(no name) = nil error, want one")
	}
}
