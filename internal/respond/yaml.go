package respond

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Line, Column int    // 1-based position in the document; 0 when unknown
	Path         string // where in the document, like "routes[1].match.severity[0]"
	Message      string
}

func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Line > 0 && p.Column > 0:
		fmt.Fprintf(&b, "line %d, column %d", p.Line, p.Column)
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d", p.Line)
	}
	if p.Path != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "(%s)", p.Path)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem of a configuration.
type Error struct {
	Problems []Problem
}

// Error returns one line per problem, like
//
//	alert config: line 4, column 11 (sinks[0].type): "email" is not one of "webhook", "slack" or "log"
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "alert config: " + p.String()
	}
	return strings.Join(lines, "\n")
}

// decodeYAML returns the document's top node, nil for an empty document.
func decodeYAML(src []byte) (root *yaml.Node, prob *Problem) {
	defer func() {
		if r := recover(); r != nil {
			root, prob = nil, &Problem{Message: fmt.Sprintf("YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, yamlProblem(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlProblem(err)
	default:
		return nil, &Problem{Line: next.Line, Column: next.Column, Message: "an alert configuration is one YAML document; found another"}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return nil, nil
}

// yamlProblem turns a YAML syntax error into a problem. The YAML library
// reports only a line: for the errors of its parser (as opposed to its
// scanner), the 0-based line where the list or mapping holding the error
// starts, which this turns into a 1-based line.
func yamlProblem(err error) *Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := &Problem{Message: "YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(n); err == nil {
				p.Line, p.Message = line, "YAML: "+m
				if where, ok := parserProblems[m]; ok {
					p.Line++
					p.Message += " in the " + where + " that starts at this line"
				}
			}
		}
	}
	return p
}

// parserProblems maps the problems the YAML parser reports with the line
// of their context to the kind of that context.
var parserProblems = map[string]string{
	"did not find expected '-' indicator": "list",
	"did not find expected key":           "mapping",
	"did not find expected ',' or ']'":    "list",
	"did not find expected ',' or '}'":    "mapping",
	"did not find expected node content":  "value",
	"found undefined tag handle":          "value",
}

// parser walks the YAML tree, collecting problems.
type parser struct {
	probs []Problem
}

func (ps *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	ps.probs = append(ps.probs, Problem{Line: n.Line, Column: n.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

// describe names the YAML type of n for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "null"
		case "!!timestamp":
			return "a timestamp"
		}
		return "a value tagged " + n.ShortTag()
	}
	return "an unknown node"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// plain reports problems with anchors and aliases, which a configuration
// does not use: every value reads the same wherever it is.
func (ps *parser) plain(n *yaml.Node, path string) bool {
	switch {
	case n.Kind == yaml.AliasNode:
		ps.errorf(n, path, "YAML aliases are not supported; write the value out")
		return false
	case n.Anchor != "":
		ps.errorf(n, path, "YAML anchors are not supported; write the value out")
		return false
	}
	return true
}

// mapping calls f for each member of the mapping n, after checking that
// its keys are known strings, each given once. A null n is an empty
// mapping.
func (ps *parser) mapping(n *yaml.Node, path string, known []string, f func(key string, k, v *yaml.Node, path string)) bool {
	if !ps.plain(n, path) {
		return false
	}
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		ps.errorf(n, path, "must be a mapping, not %s", describe(n))
		return false
	}
	seen := make(map[string][2]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !ps.plain(k, path) {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			ps.errorf(k, path, "keys must be strings, not %s", describe(k))
			continue
		}
		kpath := k.Value
		if path != "" {
			kpath = path + "." + k.Value
		}
		if at, dup := seen[k.Value]; dup {
			ps.errorf(k, kpath, "duplicate key %q (first at line %d, column %d)", k.Value, at[0], at[1])
			continue
		}
		seen[k.Value] = [2]int{k.Line, k.Column}
		if !slices.Contains(known, k.Value) {
			ps.errorf(k, kpath, "unknown key %q; known keys: %s", k.Value, strings.Join(known, ", "))
			continue
		}
		f(k.Value, k, v, kpath)
	}
	return true
}

// str returns the string scalar n.
func (ps *parser) str(n *yaml.Node, path string) (string, bool) {
	if !ps.plain(n, path) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode && !isNull(n) {
			hint = " (quote it)"
		}
		ps.errorf(n, path, "must be a string, not %s%s", describe(n), hint)
		return "", false
	}
	return n.Value, true
}

// oneOf returns the string scalar n if it is one of allowed.
func (ps *parser) oneOf(n *yaml.Node, path string, allowed ...string) (string, bool) {
	s, ok := ps.str(n, path)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		ps.errorf(n, path, "%q is not one of %s", s, quoteList(allowed))
		return "", false
	}
	return s, true
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	if len(q) <= 2 {
		return strings.Join(q, " or ")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// list calls f for each item of the list n, with the item's path. A
// null n is an empty list.
func (ps *parser) list(n *yaml.Node, path string, f func(i int, item *yaml.Node, path string)) {
	if !ps.plain(n, path) || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n, path, "must be a list, not %s", describe(n))
		return
	}
	for i, item := range n.Content {
		f(i, item, fmt.Sprintf("%s[%d]", path, i))
	}
}

// stringList returns a string, or a non-empty list of strings, as a list
// without repetitions, and the node of each; check, if not nil, vets
// each string and returns a message for a bad one; empty is the message
// for an empty list.
func (ps *parser) stringList(n *yaml.Node, path, empty string, check func(string) string) ([]string, []*yaml.Node, []string) {
	var l []string
	var nodes []*yaml.Node
	var paths []string
	one := func(n *yaml.Node, path string) {
		s, ok := ps.str(n, path)
		if !ok {
			return
		}
		if check != nil {
			if msg := check(s); msg != "" {
				ps.errorf(n, path, "%s", msg)
				return
			}
		}
		if !slices.Contains(l, s) {
			l, nodes, paths = append(l, s), append(nodes, n), append(paths, path)
		}
	}
	if !ps.plain(n, path) {
		return nil, nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		one(n, path)
		return l, nodes, paths
	}
	if len(n.Content) == 0 {
		ps.errorf(n, path, "%s", empty)
		return nil, nil, nil
	}
	for i, item := range n.Content {
		one(item, fmt.Sprintf("%s[%d]", path, i))
	}
	return l, nodes, paths
}
