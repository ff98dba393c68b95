package respond

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func namedSink(name string) Sink {
	return &funcSink{name: name, deliver: func(context.Context, Alert) error { return nil }}
}

func logSink(t *testing.T, name string) Sink {
	t.Helper()
	s, err := NewLogSink(name, slog.New(&captureHandler{}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(sinks []Sink) []string {
	out := make([]string, len(sinks))
	for i, s := range sinks {
		out[i] = s.Name()
	}
	return out
}

func alertWith(severity, rule, project, environment string) Alert {
	a := testAlert()
	a.Finding.Severity, a.Finding.Rule, a.Project, a.Environment = severity, rule, project, environment
	return a
}

func TestRoute(t *testing.T) {
	sinks := []Sink{namedSink("soc"), namedSink("oncall"), namedSink("payments-team"), logSink(t, "log")}
	routes := []Route{
		{Match: Match{Severity: []string{SeverityHigh, SeverityCritical}, Environment: []string{"production"}}, Sinks: []string{"soc", "oncall"}},
		{Match: Match{Rule: []string{"mass-delete"}, Project: []string{"payments"}}, Sinks: []string{"oncall", "payments-team"}},
		{Match: Match{Project: []string{"payments", "billing"}}, Sinks: []string{"payments-team", "payments-team"}},
		{Match: Match{Severity: []string{SeverityCritical}}, Sinks: []string{"oncall"}},
		{Sinks: []string{"log"}},
	}
	r := mustRouter(t, sinks, routes)
	tests := []struct {
		name  string
		alert Alert
		want  []string
	}{
		{"high in production", alertWith("high", "failure-burst", "shop", "production"), []string{"soc", "oncall", "log"}},
		{"high in staging", alertWith("high", "failure-burst", "shop", "staging"), []string{"log"}},
		{"low in production", alertWith("low", "failure-burst", "shop", "production"), []string{"log"}},
		{"critical anywhere", alertWith("critical", "x", "", ""), []string{"oncall", "log"}},
		{"several routes, each sink once, in declaration order", alertWith("critical", "mass-delete", "payments", "production"), []string{"soc", "oncall", "payments-team", "log"}},
		{"rule without its project", alertWith("low", "mass-delete", "shop", "production"), []string{"log"}},
		{"project in a list", alertWith("medium", "x", "billing", ""), []string{"payments-team", "log"}},
		{"matching is exact", alertWith("High", "x", "Payments", "production"), []string{"log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(r.Route(tt.alert)); !slices.Equal(got, tt.want) {
				t.Errorf("Route(%s, %s, %s, %s) = %q, want %q", tt.alert.Finding.Severity, tt.alert.Finding.Rule, tt.alert.Project, tt.alert.Environment, got, tt.want)
			}
		})
	}
}

func TestRouteWithoutRoutes(t *testing.T) {
	r := mustRouter(t, []Sink{namedSink("hook"), logSink(t, "log-a"), logSink(t, "log-b")}, nil)
	for _, a := range []Alert{alertWith("low", "a", "", ""), alertWith("critical", "b", "p", "e")} {
		if got, want := names(r.Route(a)), []string{"log-a", "log-b"}; !slices.Equal(got, want) {
			t.Errorf("Route(%s) = %q, want %q", a.Finding.Severity, got, want)
		}
	}
	r = mustRouter(t, []Sink{namedSink("hook")}, []Route{{Match: Match{Rule: []string{"r"}}, Sinks: []string{"hook"}}})
	if got := r.Route(alertWith("low", "other", "", "")); len(got) != 0 {
		t.Errorf("Route(unmatched alert) = %q, want none", names(got))
	}
}

func TestNewRouterErrors(t *testing.T) {
	tests := []struct {
		name   string
		sinks  []Sink
		routes []Route
		want   string
	}{
		{"duplicate names", []Sink{namedSink("a"), namedSink("a")}, []Route{{Sinks: []string{"a"}}}, `two sinks are named "a"`},
		{"bad name", []Sink{namedSink("a/b")}, []Route{{Sinks: []string{"a/b"}}}, `name "a/b"`},
		{"nil sink", []Sink{nil}, nil, "sink 0 is nil"},
		{"unknown sink", []Sink{namedSink("a")}, []Route{{Sinks: []string{"b"}}}, `route 0: no sink is named "b"`},
		{"route without sinks", []Sink{namedSink("a")}, []Route{{Sinks: []string{"a"}}, {}}, "route 1 has no sinks"},
		{"no routes, no log sink", []Sink{namedSink("a")}, nil, "there are none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRouter(tt.sinks, tt.routes)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRouter() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"a", "log", "soc-webhook", "Team_1.slack", strings.Repeat("x", 64)} {
		if err := checkName(name); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "-a", ".a", "_a", "a b", "a/b", "é", strings.Repeat("x", 65), "a\n"} {
		if err := checkName(name); err == nil {
			t.Errorf("checkName(%q) = nil, want an error", name)
		}
	}
}
