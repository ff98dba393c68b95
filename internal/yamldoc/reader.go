package yamldoc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Reader walks a YAML tree, collecting problems. The zero Reader is
// ready to use; it is not safe for concurrent use.
type Reader struct {
	Problems []Problem // in the order found
}

// Errorf records a problem at the node n, found at path.
func (r *Reader) Errorf(n *yaml.Node, path, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Line: n.Line, Column: n.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Plain reports whether n is neither an alias nor anchored, recording a
// problem if it is.
func (r *Reader) Plain(n *yaml.Node, path string) bool {
	switch {
	case n.Kind == yaml.AliasNode:
		r.Errorf(n, path, "YAML aliases are not supported; write the value out")
		return false
	case n.Anchor != "":
		r.Errorf(n, path, "YAML anchors are not supported; write the value out")
		return false
	}
	return true
}

// Mapping calls f for each member of the mapping n, with the member's
// path, after checking that its keys are known strings, each given once;
// a member whose key fails a check is skipped. A null n is an empty
// mapping. Mapping reports false if n is not a mapping.
func (r *Reader) Mapping(n *yaml.Node, path string, known []string, f func(key string, k, v *yaml.Node, path string)) bool {
	if !r.Plain(n, path) {
		return false
	}
	if IsNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		r.Errorf(n, path, "must be a mapping, not %s", Describe(n))
		return false
	}
	seen := make(map[string][2]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !r.Plain(k, path) {
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			r.Errorf(k, path, "keys must be strings, not %s", Describe(k))
			continue
		}
		kpath := k.Value
		if path != "" {
			kpath = path + "." + k.Value
		}
		if at, dup := seen[k.Value]; dup {
			r.Errorf(k, kpath, "duplicate key %q (first at line %d, column %d)", k.Value, at[0], at[1])
			continue
		}
		seen[k.Value] = [2]int{k.Line, k.Column}
		if !slices.Contains(known, k.Value) {
			r.Errorf(k, kpath, "unknown key %q; known keys: %s", k.Value, strings.Join(known, ", "))
			continue
		}
		f(k.Value, k, v, kpath)
	}
	return true
}

// Str returns the string scalar n.
func (r *Reader) Str(n *yaml.Node, path string) (string, bool) {
	if !r.Plain(n, path) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := ""
		if n.Kind == yaml.ScalarNode && !IsNull(n) {
			hint = " (quote it)"
		}
		r.Errorf(n, path, "must be a string, not %s%s", Describe(n), hint)
		return "", false
	}
	return n.Value, true
}

// OneOf returns the string scalar n if it is one of allowed.
func (r *Reader) OneOf(n *yaml.Node, path string, allowed ...string) (string, bool) {
	s, ok := r.Str(n, path)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		r.Errorf(n, path, "%q is not one of %s", s, QuoteList(allowed))
		return "", false
	}
	return s, true
}

// List calls f for each item of the list n, with the item's path, like
// "rules[2]". A null n is an empty list.
func (r *Reader) List(n *yaml.Node, path string, f func(i int, item *yaml.Node, path string)) {
	if !r.Plain(n, path) || IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.Errorf(n, path, "must be a list, not %s", Describe(n))
		return
	}
	for i, item := range n.Content {
		f(i, item, fmt.Sprintf("%s[%d]", path, i))
	}
}

// Describe names the YAML type of n for messages, like "a mapping" or
// "an integer".
func Describe(n *yaml.Node) string {
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

// IsNull reports whether n is a null scalar, written "null", "~" or
// nothing at all.
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// QuoteList quotes each string of l and joins them for a message, like
// `"a", "b" or "c"`.
func QuoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	if len(q) <= 2 {
		return strings.Join(q, " or ")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
