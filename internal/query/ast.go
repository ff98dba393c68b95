package query

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Expr is a parsed expression. String renders it in a normalised form:
// keywords in upper case, AND and OR spelt out, parentheses exactly where a
// group sits inside another operator, times in UTC, and values quoted only
// where they must be. Parse reads that form back to the same expression, so
// it can be stored, compared and shown back to the person who wrote it.
//
// The implementations are this package's own: an expression comes from
// Parse, Resolve or Compile.
type Expr interface {
	String() string
	match(v entryView) bool
	render(b []byte) []byte
	resolve(now time.Time) Expr
}

// The nodes of an expression.
type (
	// all matches every entry: the empty expression.
	all struct{}
	// and holds when each of its two or more terms holds.
	and []Expr
	// or holds when one of its two or more terms holds.
	or []Expr
	// not holds when x does not.
	not struct{ x Expr }
	// term compares a field with a value.
	term struct {
		field field
		path  []string // the keys of data.PATH
		op    op
		val   value
	}
	// text is free text, searched for in several fields.
	text struct{ val value }
)

// op is the operator of a term. "!=" is parsed as NOT with ":".
type op uint8

const (
	opEq op = iota // ":"
	opLT           // "<"
	opLE           // "<="
	opGT           // ">"
	opGE           // ">="
)

var opNames = [...]string{opEq: ":", opLT: "<", opLE: "<=", opGT: ">", opGE: ">="}

// holds reports whether the operator holds for a comparison result c
// (negative, zero or positive, as from strings.Compare).
func (o op) holds(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	case opGE:
		return c >= 0
	}
	return false
}

// value is the value of a term or free text, with what matching needs
// prepared from it once.
type value struct {
	text string // as written, unescaped
	glob bool   // a bare word with * or ?: a pattern
	// pat matches text: the pattern, or the literal text to search for in
	// message and free text (lower-cased for those).
	pat pattern
	// For data: num is text as a JSON number, if isNum.
	num   decimal
	isNum bool
	// For time: rel is a relative time as written ("-24h") until Resolve
	// turns it into ms, the time in Unix milliseconds; dur is how far
	// before now it is.
	rel string
	dur time.Duration
	ms  int64
	// For index: n.
	n uint64
}

func (x all) String() string   { return "" }
func (x and) String() string   { return string(x.render(nil)) }
func (x or) String() string    { return string(x.render(nil)) }
func (x not) String() string   { return string(x.render(nil)) }
func (x *term) String() string { return string(x.render(nil)) }
func (x *text) String() string { return string(x.render(nil)) }

func (all) render(b []byte) []byte { return b }

func (x and) render(b []byte) []byte {
	for i, y := range x {
		if i > 0 {
			b = append(b, " AND "...)
		}
		b = group(b, y)
	}
	return b
}

func (x or) render(b []byte) []byte {
	for i, y := range x {
		if i > 0 {
			b = append(b, " OR "...)
		}
		b = group(b, y)
	}
	return b
}

func (x not) render(b []byte) []byte {
	return group(append(b, "NOT "...), x.x)
}

// group renders x as an operand, in parentheses if it is an AND or OR.
func group(b []byte, x Expr) []byte {
	switch x.(type) {
	case and, or:
		b = append(b, '(')
		b = x.render(b)
		return append(b, ')')
	}
	return x.render(b)
}

func (x *term) render(b []byte) []byte {
	b = append(b, x.name()...)
	b = append(b, opNames[x.op]...)
	switch x.field {
	case fieldTime:
		if x.val.rel != "" {
			return append(b, x.val.rel...)
		}
		return time.UnixMilli(x.val.ms).UTC().AppendFormat(b, time.RFC3339Nano)
	case fieldIndex:
		return strconv.AppendUint(b, x.val.n, 10)
	}
	return appendValue(b, x.val.text, x.val.glob, false)
}

// name returns the term's field name as written in an expression.
func (x *term) name() string {
	if x.field == fieldData {
		return "data." + strings.Join(x.path, ".")
	}
	return fieldNames[x.field]
}

func (x *text) render(b []byte) []byte {
	return appendValue(b, x.val.text, x.val.glob, true)
}

// appendValue appends s as a bare word if Parse would read that back as
// the same value (a pattern if glob, free text if free), and as a quoted
// string otherwise.
func appendValue(b []byte, s string, glob, free bool) []byte {
	if bare(s, glob, free) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// bare reports whether s can be written as a bare word: see appendValue.
func bare(s string, glob, free bool) bool {
	if s == "" || strings.ContainsAny(s, "*?") != glob {
		return false
	}
	for _, r := range s {
		if !isWordRune(r) {
			return false
		}
	}
	if free {
		if s[0] == '-' || keyword(s) != 0 {
			return false
		}
		if _, n := fieldPrefix(s, 0); n > 0 {
			return false
		}
	}
	return true
}

// isWordRune reports whether r may appear in a bare word.
func isWordRune(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	case r < utf8.RuneSelf:
		return strings.IndexByte("._-@:/*?+", byte(r)) >= 0
	}
	return isLetterOrDigit(r)
}

// Resolve returns x with its relative times ("time>=-24h") fixed as
// relative to now. Match needs absolute times; Compile resolves them itself.
func Resolve(x Expr, now time.Time) Expr {
	if x == nil {
		return all{}
	}
	return x.resolve(now)
}

func (x all) resolve(time.Time) Expr   { return x }
func (x *text) resolve(time.Time) Expr { return x }

func (x and) resolve(now time.Time) Expr { return and(resolveList(x, now)) }
func (x or) resolve(now time.Time) Expr  { return or(resolveList(x, now)) }

func resolveList(l []Expr, now time.Time) []Expr {
	out := make([]Expr, len(l))
	for i, y := range l {
		out[i] = y.resolve(now)
	}
	return out
}

func (x not) resolve(now time.Time) Expr { return not{x.x.resolve(now)} }

func (x *term) resolve(now time.Time) Expr {
	if x.field != fieldTime || x.val.rel == "" {
		return x
	}
	y := *x
	y.val.rel = ""
	y.val.ms = now.Add(-x.val.dur).UnixMilli()
	return &y
}
