package event

import (
	"fmt"
	"strings"
)

// TypePattern is a pattern of event types, as capture policies and
// analysis rules write them: "*" matches any run of characters, "?" one
// character, and every other character itself ("auth.*", "*.role.grant",
// "payment.?ard.*"). The zero TypePattern matches nothing.
type TypePattern struct {
	pat  string
	lit  string // the literal part, for the kinds other than patGeneral
	kind int
}

const (
	patNone = iota
	patExact
	patPrefix  // lit + "*": the common case, matched without the general loop
	patSuffix  // "*" + lit
	patGeneral // anything else
)

// NewTypePattern compiles pat. It refuses a pattern that no event type
// can match: an empty one, or one with a character that types do not hold.
func NewTypePattern(pat string) (TypePattern, error) {
	if pat == "" {
		return TypePattern{}, fmt.Errorf("an empty type pattern never matches")
	}
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-', c == '.', c == '*', c == '?':
		default:
			return TypePattern{}, fmt.Errorf("type pattern %q can never match: types hold only a-z, 0-9, \"_\", \"-\" and \".\", and the wildcards are \"*\" and \"?\"", pat)
		}
	}
	switch i := strings.IndexAny(pat, "*?"); {
	case i < 0:
		return TypePattern{pat: pat, lit: pat, kind: patExact}, nil
	case i == len(pat)-1 && pat[i] == '*':
		return TypePattern{pat: pat, lit: pat[:i], kind: patPrefix}, nil
	case i == 0 && pat[0] == '*' && !strings.ContainsAny(pat[1:], "*?"):
		return TypePattern{pat: pat, lit: pat[1:], kind: patSuffix}, nil
	}
	return TypePattern{pat: pat, kind: patGeneral}, nil
}

// String returns the pattern as written.
func (p TypePattern) String() string { return p.pat }

// Match reports whether the event type t matches p.
func (p TypePattern) Match(t string) bool {
	switch p.kind {
	case patNone:
		return false
	case patExact:
		return t == p.lit
	case patPrefix:
		return strings.HasPrefix(t, p.lit)
	case patSuffix:
		return strings.HasSuffix(t, p.lit)
	}
	return matchPattern(p.pat, t)
}

// matchPattern matches s against pat, backtracking only to the last "*":
// time linear in len(pat)*len(s) at worst. Types are ASCII, so bytes are
// characters.
func matchPattern(pat, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pat) && (pat[p] == '?' || pat[p] == s[i]):
			p++
			i++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}
