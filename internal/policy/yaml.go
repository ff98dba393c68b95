package policy

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/a24ba333/indelible/internal/yamldoc"
)

// parser walks the YAML tree, collecting problems. Anchors and aliases
// are refused: every rule reads the same wherever it is.
type parser struct {
	yamldoc.Reader
	names map[string]int // rule name → line of its first use
}

// stringList returns a string, or a non-empty list of strings, as a list;
// check, if not nil, vets each string and returns a message for a bad one.
func (ps *parser) stringList(n *yaml.Node, path string, check func(string) string) ([]string, bool) {
	if !ps.Plain(n, path) {
		return nil, false
	}
	one := func(n *yaml.Node, path string) (string, bool) {
		s, ok := ps.Str(n, path)
		if !ok {
			return "", false
		}
		if check != nil {
			if msg := check(s); msg != "" {
				ps.Errorf(n, path, "%s", msg)
				return "", false
			}
		}
		return s, true
	}
	if n.Kind != yaml.SequenceNode {
		s, ok := one(n, path)
		return []string{s}, ok
	}
	if len(n.Content) == 0 {
		ps.Errorf(n, path, "an empty list matches nothing")
		return nil, false
	}
	l := make([]string, 0, len(n.Content))
	ok := true
	for i, item := range n.Content {
		s, good := one(item, fmt.Sprintf("%s[%d]", path, i))
		ok = ok && good
		if good && !slices.Contains(l, s) {
			l = append(l, s)
		}
	}
	return l, ok
}
