package analyze

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/a24ba333/indelible/internal/yamldoc"
)

// MaxConfigSize is the largest accepted configuration document, in bytes.
const MaxConfigSize = 1 << 20

// Problem is one thing wrong with a configuration; its Path reads like
// "rules[2].window.threshold".
type Problem = yamldoc.Problem

// Error lists every problem of a configuration.
type Error struct {
	Problems []Problem
}

// Error returns one line per problem, like
//
//	analysis config: line 7, column 18 (rules[0].condition): undeclared reference to 'actr' (at 1:1 of the expression)
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "analysis config: " + p.String()
	}
	return strings.Join(lines, "\n")
}

// ParseConfig parses a configuration document (see the package
// documentation). Every key is optional: what a document leaves out keeps
// its DefaultConfig value, so an empty document is the default
// configuration. Every problem is reported at once, in an *Error whose
// problems carry the line and column of the offending YAML node.
func ParseConfig(src []byte) (*Config, error) {
	if len(src) > MaxConfigSize {
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("the document is %d bytes, at most %d", len(src), MaxConfigSize)}}}
	}
	root, prob := yamldoc.Decode(src, "a configuration")
	if prob != nil {
		return nil, &Error{Problems: []Problem{*prob}}
	}
	cfg := DefaultConfig()
	ps := &parser{nodes: make(map[string]*yaml.Node)}
	ps.document(root, cfg)
	// The parser reports values of the wrong type; Validate, the range
	// of the values it could read. A problem at a path the parser
	// already reported is a consequence of it.
	var v validator
	v.config(cfg)
	for _, p := range v.probs {
		if covered(ps.Problems, p.Path) {
			continue
		}
		n := ps.nodeOf(p.Path)
		if n != nil {
			p.Line, p.Column = n.Line, n.Column
		}
		ps.Problems = append(ps.Problems, p)
	}
	if len(ps.Problems) > 0 {
		slices.SortStableFunc(ps.Problems, func(a, b Problem) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, &Error{Problems: ps.Problems}
	}
	return cfg, nil
}

// covered reports whether path is, or is inside, a path of probs.
func covered(probs []Problem, path string) bool {
	for _, p := range probs {
		if path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[") {
			return true
		}
	}
	return false
}

// nodeOf returns the node written at path, or at the nearest enclosing
// path written in the document.
func (ps *parser) nodeOf(path string) *yaml.Node {
	for path != "" {
		if n, ok := ps.nodes[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return ps.nodes[""]
}

func (ps *parser) document(root *yaml.Node, c *Config) {
	if root == nil || yamldoc.IsNull(root) {
		return
	}
	ps.nodes[""] = root
	ps.mapping(root, "", []string{"timezone", "lateness", "max_groups", "detectors", "rules", "follow_up"}, func(key string, _, v *yaml.Node, path string) {
		switch key {
		case "follow_up":
			if yamldoc.IsNull(v) {
				return
			}
			if v.Kind != yaml.MappingNode {
				ps.Errorf(v, path, "must be a mapping of rule names (or \"default\") to durations, not %s", yamldoc.Describe(v))
				return
			}
			c.FollowUp = map[string]time.Duration{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], v.Content[i+1]
				var d time.Duration
				ps.duration(val, path+"."+k.Value, &d)
				if d > 0 && (d < time.Minute || d > 365*24*time.Hour) {
					ps.Errorf(val, path+"."+k.Value, "must be between 1m and 365d")
					continue
				}
				if _, dup := c.FollowUp[k.Value]; dup {
					ps.Errorf(k, path+"."+k.Value, "duplicate key %q", k.Value)
				}
				c.FollowUp[k.Value] = d
			}
		case "timezone":
			ps.str(v, path, &c.Timezone)
		case "lateness":
			ps.duration(v, path, &c.Lateness)
		case "max_groups":
			ps.int(v, path, &c.MaxGroups)
		case "detectors":
			ps.detectors(v, path, c)
		case "rules":
			c.Rules = nil
			ps.list(v, path, func(_ int, item *yaml.Node, path string) {
				c.Rules = append(c.Rules, ps.rule(item, path))
			})
		}
	})
}

func (ps *parser) detectors(n *yaml.Node, path string, c *Config) {
	kinds := []string{FailureBurst, RateAnomaly, FirstSeen, OffHours, SensitiveAction, RepeatedErrors, Silence}
	ps.mapping(n, path, kinds, func(kind string, _, v *yaml.Node, path string) {
		var known []string
		var set func(key string, v *yaml.Node, path string)
		var enabled *bool
		var severity *string
		switch kind {
		case FailureBurst:
			d := &c.FailureBurst
			enabled, severity = &d.Enabled, &d.Severity
			known = []string{"threshold", "window"}
			set = func(key string, v *yaml.Node, path string) {
				switch key {
				case "threshold":
					ps.int(v, path, &d.Threshold)
				case "window":
					ps.duration(v, path, &d.Window)
				}
			}
		case RateAnomaly:
			d := &c.RateAnomaly
			enabled, severity = &d.Enabled, &d.Severity
			known = []string{"bucket", "z", "min_count", "learning_buckets"}
			set = func(key string, v *yaml.Node, path string) {
				switch key {
				case "bucket":
					ps.duration(v, path, &d.Bucket)
				case "z":
					ps.float(v, path, &d.Z)
				case "min_count":
					ps.int(v, path, &d.MinCount)
				case "learning_buckets":
					ps.int(v, path, &d.LearningBuckets)
				}
			}
		case FirstSeen:
			d := &c.FirstSeen
			enabled, severity = &d.Enabled, &d.Severity
			known = []string{"learning", "common", "dimensions", "ipv4_prefix", "ipv6_prefix", "common_ipv4_prefix", "common_ipv6_prefix", "max_values"}
			set = func(key string, v *yaml.Node, path string) {
				switch key {
				case "learning":
					ps.duration(v, path, &d.Learning)
				case "common":
					ps.int(v, path, &d.Common)
				case "dimensions":
					d.Dimensions = ps.strings(v, path)
				case "ipv4_prefix":
					ps.int(v, path, &d.IPv4Prefix)
				case "ipv6_prefix":
					ps.int(v, path, &d.IPv6Prefix)
				case "common_ipv4_prefix":
					ps.int(v, path, &d.CommonIPv4Prefix)
				case "common_ipv6_prefix":
					ps.int(v, path, &d.CommonIPv6Prefix)
				case "max_values":
					ps.int(v, path, &d.MaxValues)
				}
			}
		case OffHours:
			d := &c.OffHours
			enabled, severity = &d.Enabled, &d.Severity
			known = []string{"learning", "min_events", "margin", "min_share", "cooldown"}
			set = func(key string, v *yaml.Node, path string) {
				switch key {
				case "learning":
					ps.duration(v, path, &d.Learning)
				case "min_events":
					ps.int(v, path, &d.MinEvents)
				case "margin":
					ps.int(v, path, &d.Margin)
				case "min_share":
					ps.float(v, path, &d.MinShare)
				case "cooldown":
					ps.duration(v, path, &d.Cooldown)
				}
			}
		case SensitiveAction:
			d := &c.SensitiveAction
			enabled, severity = &d.Enabled, &d.Severity
			known = []string{"types"}
			set = func(_ string, v *yaml.Node, path string) {
				d.Types = ps.strings(v, path)
			}
		case RepeatedErrors:
			d := &c.RepeatedErrors
			enabled, severity = &d.Enabled, &d.Severity
			known = []string{"actors", "window"}
			set = func(key string, v *yaml.Node, path string) {
				switch key {
				case "actors":
					ps.int(v, path, &d.Actors)
				case "window":
					ps.duration(v, path, &d.Window)
				}
			}
		case Silence:
			d := &c.Silence
			enabled, severity = &d.Enabled, &d.Severity
			known = []string{"factor", "min_silence", "min_events", "learning", "memory"}
			set = func(key string, v *yaml.Node, path string) {
				switch key {
				case "factor":
					ps.float(v, path, &d.Factor)
				case "min_silence":
					ps.duration(v, path, &d.MinSilence)
				case "min_events":
					ps.int(v, path, &d.MinEvents)
				case "learning":
					ps.duration(v, path, &d.Learning)
				case "memory":
					ps.duration(v, path, &d.Memory)
				}
			}
		}
		ps.mapping(v, path, append([]string{"enabled", "severity"}, known...), func(key string, _, v *yaml.Node, path string) {
			switch key {
			case "enabled":
				ps.bool(v, path, enabled)
			case "severity":
				ps.str(v, path, severity)
			default:
				set(key, v, path)
			}
		})
	})
}

func (ps *parser) rule(n *yaml.Node, path string) Rule {
	var r Rule
	ps.mapping(n, path, []string{"name", "description", "severity", "condition", "window"}, func(key string, _, v *yaml.Node, path string) {
		switch key {
		case "name":
			ps.str(v, path, &r.Name)
		case "description":
			ps.str(v, path, &r.Description)
		case "severity":
			ps.str(v, path, &r.Severity)
		case "condition":
			ps.str(v, path, &r.Condition)
		case "window":
			r.Window = new(Window)
			w := r.Window
			ps.mapping(v, path, []string{"duration", "group_by", "distinct", "threshold"}, func(key string, _, v *yaml.Node, path string) {
				switch key {
				case "duration":
					ps.duration(v, path, &w.Duration)
				case "group_by":
					ps.str(v, path, &w.GroupBy)
				case "distinct":
					ps.str(v, path, &w.Distinct)
				case "threshold":
					ps.int(v, path, &w.Threshold)
				}
			})
		}
	})
	return r
}

// parser walks the YAML tree, setting the configuration's fields and
// collecting problems. Anchors and aliases are refused: every value
// reads the same wherever it is.
type parser struct {
	yamldoc.Reader
	nodes map[string]*yaml.Node // path → the node written there
}

// mapping is Reader.Mapping, recording the node at each path it visits.
func (ps *parser) mapping(n *yaml.Node, path string, known []string, f func(key string, k, v *yaml.Node, path string)) bool {
	ps.nodes[path] = n
	return ps.Mapping(n, path, known, func(key string, k, v *yaml.Node, path string) {
		ps.nodes[path] = v
		f(key, k, v, path)
	})
}

// list is Reader.List, recording the node at each path it visits.
func (ps *parser) list(n *yaml.Node, path string, f func(i int, item *yaml.Node, path string)) {
	ps.List(n, path, func(i int, item *yaml.Node, path string) {
		ps.nodes[path] = item
		f(i, item, path)
	})
}

// scalar returns the scalar n if its tag is one of tags.
func (ps *parser) scalar(n *yaml.Node, path, want string, tags ...string) (string, bool) {
	if !ps.Plain(n, path) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || !slices.Contains(tags, n.ShortTag()) {
		hint := ""
		if want == "a string" && n.Kind == yaml.ScalarNode && !yamldoc.IsNull(n) {
			hint = " (quote it)"
		}
		ps.Errorf(n, path, "must be %s, not %s%s", want, yamldoc.Describe(n), hint)
		return "", false
	}
	return n.Value, true
}

func (ps *parser) str(n *yaml.Node, path string, dst *string) {
	if s, ok := ps.scalar(n, path, "a string", "!!str"); ok {
		*dst = s
	}
}

func (ps *parser) bool(n *yaml.Node, path string, dst *bool) {
	if s, ok := ps.scalar(n, path, "true or false", "!!bool"); ok {
		var b bool
		if err := n.Decode(&b); err != nil {
			ps.Errorf(n, path, "must be true or false, not %q", s)
			return
		}
		*dst = b
	}
}

func (ps *parser) int(n *yaml.Node, path string, dst *int) {
	if s, ok := ps.scalar(n, path, "an integer", "!!int"); ok {
		var i int
		if err := n.Decode(&i); err != nil {
			ps.Errorf(n, path, "must be an integer, not %q", s)
			return
		}
		*dst = i
	}
}

func (ps *parser) float(n *yaml.Node, path string, dst *float64) {
	if s, ok := ps.scalar(n, path, "a number", "!!int", "!!float"); ok {
		var f float64
		if err := n.Decode(&f); err != nil {
			ps.Errorf(n, path, "must be a number, not %q", s)
			return
		}
		*dst = f
	}
}

func (ps *parser) duration(n *yaml.Node, path string, dst *time.Duration) {
	s, ok := ps.scalar(n, path, `a duration like "5m", "1h30m" or "7d"`, "!!str")
	if !ok {
		return
	}
	d, err := parseDuration(s)
	if err != nil {
		ps.Errorf(n, path, "%v", err)
		return
	}
	*dst = d
}

// strings returns a list of strings.
func (ps *parser) strings(n *yaml.Node, path string) []string {
	l := []string{}
	ps.list(n, path, func(_ int, item *yaml.Node, path string) {
		var s string
		ps.str(item, path, &s)
		l = append(l, s)
	})
	return l
}

// parseDuration parses a Go duration, with days ("7d", "1d12h") too.
func parseDuration(s string) (time.Duration, error) {
	orig := s
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || n < 0 || n > 100_000 || strings.ContainsAny(s[:i], "+-") {
			return 0, fmt.Errorf("%q is not a duration like \"5m\", \"1h30m\" or \"7d\"", orig)
		}
		days, s = n, s[i+1:]
		if s == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || (days > 0 && d < 0) {
		return 0, fmt.Errorf("%q is not a duration like \"5m\", \"1h30m\" or \"7d\"", orig)
	}
	return time.Duration(days)*24*time.Hour + d, nil
}
