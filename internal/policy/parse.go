package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/a24ba333/indelible/internal/condition"
	"github.com/a24ba333/indelible/internal/yamldoc"
)

// MaxSize is the largest accepted policy document, in bytes.
const MaxSize = 1 << 20

// maxNameLen is the longest rule name, in bytes.
const maxNameLen = 64

// Parse parses and checks a policy document (see the package
// documentation). Every problem found is reported at once, in a *Error
// whose problems carry the line and column of the offending YAML node.
// An empty document is a valid policy without rules: every event is
// captured in full.
func Parse(src []byte) (*Policy, error) {
	if len(src) > MaxSize {
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("the document is %d bytes, at most %d", len(src), MaxSize)}}}
	}
	root, prob := yamldoc.Decode(src, "a policy")
	if prob != nil {
		return nil, &Error{Problems: []Problem{*prob}}
	}
	pol := newPolicy(src)
	ps := &parser{names: make(map[string]int)}
	ps.document(root, pol)
	if len(ps.Problems) > 0 {
		slices.SortStableFunc(ps.Problems, func(a, b Problem) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, &Error{Problems: ps.Problems}
	}
	for _, o := range pol.overrides {
		for _, r := range o.rules {
			pol.names = append(pol.names, r.name)
		}
	}
	for _, r := range pol.rules {
		pol.names = append(pol.names, r.name)
	}
	return pol, nil
}

func (ps *parser) document(root *yaml.Node, pol *Policy) {
	if root == nil || yamldoc.IsNull(root) {
		return
	}
	ps.Mapping(root, "", []string{"settings", "rules", "overrides"}, func(key string, _, v *yaml.Node, path string) {
		switch key {
		case "settings":
			ps.settings(v, path, &pol.settings)
		case "rules":
			pol.rules = ps.rules(v, path)
		case "overrides":
			pol.overrides = ps.overrides(v, path)
		}
	})
}

func (ps *parser) settings(n *yaml.Node, path string, s *Settings) {
	ps.Mapping(n, path, []string{"unregistered_types", "invalid", "approval"}, func(key string, _, v *yaml.Node, path string) {
		switch key {
		case "unregistered_types":
			if a, ok := ps.OneOf(v, path, Accept, Reject); ok {
				s.UnregisteredTypes = a
			}
		case "invalid":
			ps.Mapping(v, path, []string{SourceAPI, SourceKubernetes}, func(src string, _, v *yaml.Node, path string) {
				if a, ok := ps.OneOf(v, path, Reject, Quarantine); ok {
					s.Invalid[src] = a
				}
			})
		case "approval":
			if a, ok := ps.OneOf(v, path, Single, TwoPerson); ok {
				s.Approval = a
			}
		}
	})
}

func (ps *parser) overrides(n *yaml.Node, path string) []override {
	var tiers [3][]override // project and environment, project, environment
	ps.List(n, path, func(_ int, item *yaml.Node, path string) {
		var o override
		var matchNode *yaml.Node
		ok := ps.Mapping(item, path, []string{"match", "rules"}, func(key string, _, v *yaml.Node, path string) {
			switch key {
			case "match":
				matchNode = v
				ps.Mapping(v, path, []string{"project", "environment"}, func(key string, _, v *yaml.Node, path string) {
					l, _ := ps.stringList(v, path, nil)
					if key == "project" {
						o.project = l
					} else {
						o.environment = l
					}
				})
			case "rules":
				o.rules = ps.rules(v, path)
			}
		})
		if !ok {
			return
		}
		switch {
		case matchNode == nil:
			ps.Errorf(item, path, "an override needs a match on project or environment")
		case o.project == nil && o.environment == nil:
			if !slices.ContainsFunc(ps.Problems, func(p Problem) bool { return strings.HasPrefix(p.Path, path+".match") }) {
				ps.Errorf(matchNode, path+".match", "an override must match a project or an environment")
			}
		case o.project != nil && o.environment != nil:
			tiers[0] = append(tiers[0], o)
		case o.project != nil:
			tiers[1] = append(tiers[1], o)
		default:
			tiers[2] = append(tiers[2], o)
		}
	})
	return slices.Concat(tiers[:]...)
}

// rules parses a list of rules, refusing those that an earlier rule
// matching every event makes unreachable.
func (ps *parser) rules(n *yaml.Node, path string) []rule {
	var rules []rule
	var catchAll *yaml.Node // the first rule that matches every event
	var catchAllName string
	ps.List(n, path, func(_ int, item *yaml.Node, path string) {
		r, all, ok := ps.rule(item, path)
		if catchAll != nil {
			what := "the rule at line " + strconv.Itoa(catchAll.Line)
			if catchAllName != "" {
				what = fmt.Sprintf("rule %q (line %d)", catchAllName, catchAll.Line)
			}
			ps.Errorf(item, path, "unreachable: %s before it matches every event", what)
			return
		}
		if all {
			catchAll, catchAllName = item, r.name
		}
		if ok {
			rules = append(rules, r)
		}
	})
	return rules
}

// rule parses one rule; all reports whether it matches every event.
func (ps *parser) rule(n *yaml.Node, path string) (r rule, all, ok bool) {
	all = true
	var levelNode, pathsNode *yaml.Node
	var ptrs []pointerAt
	start := len(ps.Problems)
	known := []string{"name", "match", "level", "redact", "personal"}
	if !ps.Mapping(n, path, known, func(key string, k, v *yaml.Node, path string) {
		switch key {
		case "name":
			ps.ruleName(v, path, &r)
		case "match":
			all = ps.match(v, path, &r.m)
		case "level":
			levelNode = k
			if l, ok := ps.OneOf(v, path, string(LevelNone), string(LevelMetadata), string(LevelFull)); ok {
				r.d.Level = Level(l)
			}
		case "redact":
			pathsNode = k
			r.d.Redact = ps.pointers(v, path, true, &ptrs)
		case "personal":
			pathsNode = k
			r.d.Personal = ps.pointers(v, path, false, &ptrs)
		}
	}) {
		return r, false, false
	}
	if r.name == "" && !slices.ContainsFunc(ps.Problems[start:], func(p Problem) bool { return p.Path == path+".name" }) {
		ps.Errorf(n, path, "a rule needs a name")
	}
	if levelNode == nil {
		ps.Errorf(n, path, "a rule needs a level: %s", yamldoc.QuoteList([]string{string(LevelNone), string(LevelMetadata), string(LevelFull)}))
	}
	if pathsNode != nil && r.d.Level != "" && r.d.Level != LevelFull {
		ps.Errorf(pathsNode, path+"."+pathsNode.Value, "has no effect at level %q, which does not store data", r.d.Level)
	}
	ps.overlaps(ptrs)
	r.d.Rule = r.name
	return r, all, len(ps.Problems) == start
}

func (ps *parser) ruleName(n *yaml.Node, path string, r *rule) {
	name, ok := ps.Str(n, path)
	if !ok {
		return
	}
	if !validName(name) {
		ps.Errorf(n, path, "rule name %q must be 1 to %d characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit", name, maxNameLen)
		return
	}
	if line, dup := ps.names[name]; dup {
		ps.Errorf(n, path, "rule name %q is already used at line %d", name, line)
		return
	}
	ps.names[name] = n.Line
	r.name = name
}

func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] == '_' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// match parses a rule's criteria; it reports whether there are none, so
// that the rule matches every event.
func (ps *parser) match(n *yaml.Node, path string, m *matcher) bool {
	empty := true
	known := []string{"category", "type", "actor", "resource", "outcome", "source", "project", "environment", "condition"}
	ok := ps.Mapping(n, path, known, func(key string, _, v *yaml.Node, path string) {
		empty = false
		switch key {
		case "category":
			m.category, _ = ps.stringList(v, path, checkCategory)
		case "type":
			var pats []string
			pats, _ = ps.stringList(v, path, checkGlob)
			for _, p := range pats {
				m.types = append(m.types, newGlob(p))
			}
		case "actor":
			ps.Mapping(v, path, []string{"id", "type"}, func(key string, _, v *yaml.Node, path string) {
				if key == "id" {
					m.actorID, _ = ps.stringList(v, path, nil)
				} else {
					m.actorType, _ = ps.stringList(v, path, nil)
				}
			})
		case "resource":
			ps.Mapping(v, path, []string{"type"}, func(_ string, _, v *yaml.Node, path string) {
				m.resourceType, _ = ps.stringList(v, path, nil)
			})
		case "outcome":
			m.outcome, _ = ps.stringList(v, path, checkOutcome)
		case "source":
			m.source, _ = ps.stringList(v, path, nil)
		case "project":
			m.project, _ = ps.stringList(v, path, nil)
		case "environment":
			m.environment, _ = ps.stringList(v, path, nil)
		case "condition":
			src, ok := ps.Str(v, path)
			if !ok {
				return
			}
			if strings.TrimSpace(src) == "" {
				ps.Errorf(v, path, "an empty condition; leave it out to match without one")
				return
			}
			prg, msgs := condition.Compile(src)
			for _, msg := range msgs {
				ps.Errorf(v, path, "%s", msg)
			}
			m.cond = prg
		}
	})
	return ok && empty
}

func checkCategory(s string) string {
	if !validSegment(s) {
		return fmt.Sprintf("category %q can never match: a category is one segment of a-z, 0-9, \"_\" and \"-\"", s)
	}
	return ""
}

func validSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkOutcome(s string) string {
	switch s {
	case "success", "failure", "unknown":
		return ""
	}
	return fmt.Sprintf("outcome %q is not one of \"success\", \"failure\" or \"unknown\"", s)
}

// pointerAt is a JSON Pointer of a rule and where it was written.
type pointerAt struct {
	ptr  string
	node *yaml.Node
	path string
}

// pointers parses a list of JSON Pointers to redact (redact) or to
// treat as personal, adding them to all.
func (ps *parser) pointers(n *yaml.Node, path string, redact bool, all *[]pointerAt) []string {
	var l []string
	ps.List(n, path, func(_ int, item *yaml.Node, path string) {
		s, ok := ps.Str(item, path)
		if !ok {
			return
		}
		if _, err := splitPointer(s, redact); err != nil {
			ps.Errorf(item, path, "%v", err)
			return
		}
		l = append(l, s)
		*all = append(*all, pointerAt{s, item, path})
	})
	return l
}

// overlaps refuses pointers of one rule that repeat or contain one
// another: a value is either redacted or personal, once.
func (ps *parser) overlaps(all []pointerAt) {
	for i, p := range all {
		for _, q := range all[:i] {
			switch {
			case p.ptr == q.ptr:
				ps.Errorf(p.node, p.path, "%q is already listed at line %d", p.ptr, q.node.Line)
			case strings.HasPrefix(p.ptr, q.ptr+"/"), strings.HasPrefix(q.ptr, p.ptr+"/"):
				ps.Errorf(p.node, p.path, "%q overlaps %q (line %d): a value is redacted or personal, once", p.ptr, q.ptr, q.node.Line)
			default:
				continue
			}
			break
		}
	}
}
