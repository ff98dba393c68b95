package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// LogSink is a sink that writes each alert to a logger: at level Warn,
// or Error for a critical finding. It never fails, which makes it the
// last resort of the routing.
type LogSink struct {
	name   string
	logger *slog.Logger
}

var _ Sink = (*LogSink)(nil)

// NewLogSink returns a sink named name that writes to logger.
func NewLogSink(name string, logger *slog.Logger) (*LogSink, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("log sink: %w", err)
	}
	if logger == nil {
		return nil, errors.New("log sink: a logger is required")
	}
	return &LogSink{name: name, logger: logger}, nil
}

// Name returns the sink's name.
func (s *LogSink) Name() string { return s.name }

// Deliver logs a.
func (s *LogSink) Deliver(ctx context.Context, a Alert) error {
	f := a.Finding
	level := slog.LevelWarn
	if f.Severity == SeverityCritical {
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("sink", s.name),
		slog.String("finding", f.ID),
		slog.String("log", a.log()),
		slog.String("rule", f.Rule),
		slog.String("detector", f.Detector),
		slog.String("severity", f.Severity),
		slog.String("group_key", f.GroupKey),
		slog.String("summary", a.summary()),
		slog.Int("evidence", len(f.Evidence)),
		slog.Time("opened_at", f.OpenedAt),
	}
	for _, kv := range [][2]string{{"project", a.Project}, {"environment", a.Environment}, {"instance", a.Instance}, {"link", a.Link}} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	s.logger.LogAttrs(ctx, level, "finding opened", attrs...)
	return nil
}
