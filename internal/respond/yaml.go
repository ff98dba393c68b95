package respond

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/a24ba333/indelible/internal/yamldoc"
)

// Problem is one thing wrong with a configuration; its Path reads like
// "routes[1].match.severity[0]".
type Problem = yamldoc.Problem

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

// parser walks the YAML tree, collecting problems. Anchors and aliases
// are refused: every value reads the same wherever it is.
type parser struct {
	yamldoc.Reader
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
		s, ok := ps.Str(n, path)
		if !ok {
			return
		}
		if check != nil {
			if msg := check(s); msg != "" {
				ps.Errorf(n, path, "%s", msg)
				return
			}
		}
		if !slices.Contains(l, s) {
			l, nodes, paths = append(l, s), append(nodes, n), append(paths, path)
		}
	}
	if !ps.Plain(n, path) {
		return nil, nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		one(n, path)
		return l, nodes, paths
	}
	if len(n.Content) == 0 {
		ps.Errorf(n, path, "%s", empty)
		return nil, nil, nil
	}
	for i, item := range n.Content {
		one(item, fmt.Sprintf("%s[%d]", path, i))
	}
	return l, nodes, paths
}
