package respond

import (
	"errors"
	"fmt"
	"slices"
)

// Match selects alerts by their finding's severity and rule and by the
// project and environment of its triggering entry. Each criterion is a
// list of accepted values: an empty list accepts every alert, a non-empty
// one the alerts whose value is in it. An alert matches if every
// criterion accepts it; the zero Match matches every alert.
type Match struct {
	Severity    []string
	Rule        []string
	Project     []string
	Environment []string
}

// Matches reports whether m selects a.
func (m Match) Matches(a Alert) bool {
	return accepts(m.Severity, a.Finding.Severity) &&
		accepts(m.Rule, a.Finding.Rule) &&
		accepts(m.Project, a.Project) &&
		accepts(m.Environment, a.Environment)
}

func accepts(l []string, v string) bool { return len(l) == 0 || slices.Contains(l, v) }

// Route sends the alerts that Match selects to the sinks named in Sinks.
type Route struct {
	Match Match
	Sinks []string
}

// Router picks the sinks of each alert. It is immutable, and safe for
// concurrent use.
type Router struct {
	sinks  []Sink  // in the order given to NewRouter
	routes [][]int // per route, indexes in sinks
	match  []Match // per route
}

// NewRouter returns the router that sends each alert to the sinks of
// every route that matches it. Sink names must be unique and routes must
// name only those sinks. Without routes, every alert goes to every
// *LogSink of sinks, of which there must then be one at least.
func NewRouter(sinks []Sink, routes []Route) (*Router, error) {
	r := &Router{sinks: slices.Clone(sinks)}
	index := make(map[string]int, len(sinks))
	for i, s := range sinks {
		if s == nil {
			return nil, fmt.Errorf("sink %d is nil", i)
		}
		if err := checkName(s.Name()); err != nil {
			return nil, fmt.Errorf("sink %d: %w", i, err)
		}
		if _, dup := index[s.Name()]; dup {
			return nil, fmt.Errorf("two sinks are named %q", s.Name())
		}
		index[s.Name()] = i
	}
	if len(routes) == 0 {
		var logs []int
		for i, s := range sinks {
			if _, ok := s.(*LogSink); ok {
				logs = append(logs, i)
			}
		}
		if len(logs) == 0 {
			return nil, errors.New("without routes, alerts go to the log sinks, and there are none")
		}
		r.routes, r.match = [][]int{logs}, []Match{{}}
		return r, nil
	}
	for i, rt := range routes {
		if len(rt.Sinks) == 0 {
			return nil, fmt.Errorf("route %d has no sinks", i)
		}
		var to []int
		for _, name := range rt.Sinks {
			j, ok := index[name]
			if !ok {
				return nil, fmt.Errorf("route %d: no sink is named %q", i, name)
			}
			if !slices.Contains(to, j) {
				to = append(to, j)
			}
		}
		m := Match{
			Severity:    slices.Clone(rt.Match.Severity),
			Rule:        slices.Clone(rt.Match.Rule),
			Project:     slices.Clone(rt.Match.Project),
			Environment: slices.Clone(rt.Match.Environment),
		}
		r.routes, r.match = append(r.routes, to), append(r.match, m)
	}
	return r, nil
}

// Sinks returns every sink of the router, in the order given to NewRouter.
func (r *Router) Sinks() []Sink { return slices.Clone(r.sinks) }

// Route returns the sinks that a goes to: those of every route that
// matches it, each once, in the order given to NewRouter.
func (r *Router) Route(a Alert) []Sink {
	var chosen []bool
	n := 0
	for i, to := range r.routes {
		if !r.match[i].Matches(a) {
			continue
		}
		if chosen == nil {
			chosen = make([]bool, len(r.sinks))
		}
		for _, j := range to {
			if !chosen[j] {
				chosen[j] = true
				n++
			}
		}
	}
	out := make([]Sink, 0, n)
	for j, ok := range chosen {
		if ok {
			out = append(out, r.sinks[j])
		}
	}
	return out
}

// checkName checks a sink name: 1 to 64 letters, digits, "_", "-" and
// ".", starting with a letter or digit. Names label metrics and are
// recorded with each delivery attempt.
func checkName(name string) error {
	if name == "" {
		return errors.New("a name is required")
	}
	if len(name) > 64 {
		return fmt.Errorf("name %q is longer than 64 characters", clip(name, 64))
	}
	for i, c := range []byte(name) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '-' && c != '.') {
			return fmt.Errorf("name %q: use letters, digits, \"_\", \"-\" and \".\", starting with a letter or digit", clip(name, 64))
		}
	}
	return nil
}
