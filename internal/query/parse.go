package query

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of an expression. They bound the work of parsing and matching
// and the depth of their recursion, whoever sends the expression.
const (
	MaxLength = 4 << 10 // bytes
	MaxDepth  = 64      // nested parentheses and negations
)

// SyntaxError is an expression that Parse refuses. Column is where the
// problem is, counted in characters from 1, so that a prompt or a web form
// can point at it.
type SyntaxError struct {
	Column int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("query: column %d: %s", e.Column, e.Msg)
}

// Parse parses an expression of the language described in the package
// documentation. The empty expression (or one of only spaces) matches
// every entry. Errors are a *SyntaxError.
func Parse(src string) (Expr, error) {
	if len(src) > MaxLength {
		i := MaxLength
		for i > 0 && !utf8.RuneStart(src[i]) {
			i--
		}
		return nil, &SyntaxError{Column: utf8.RuneCountInString(src[:i]) + 1,
			Msg: fmt.Sprintf("the expression is longer than %d bytes", MaxLength)}
	}
	for i, r := range src {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(src[i:]); size == 1 {
				return nil, &SyntaxError{Column: utf8.RuneCountInString(src[:i]) + 1, Msg: "invalid UTF-8"}
			}
		}
	}
	p := &parser{src: src}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return all{}, nil
	}
	if err := p.expectTerm(""); err != nil {
		return nil, err
	}
	x, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF { // or stops only at ")" and the end
		return nil, p.errorf(p.tok.off, `unexpected ")" without a matching "("`)
	}
	return x, nil
}

type tokenKind uint8

const (
	tEOF tokenKind = iota
	tLParen
	tRParen
	tAnd
	tOr
	tNot
	tMinus // "-" just before a term
	tTerm  // a term or free text
)

type token struct {
	kind tokenKind
	off  int    // byte offset in the source
	text string // as written
	x    Expr   // for tTerm
}

// parser is a recursive-descent parser that reads one token ahead:
//
//	or    = and { OR and }
//	and   = unary { [AND] unary }
//	unary = ( NOT | "-" ) unary | "(" or ")" | term
type parser struct {
	src   string
	pos   int   // byte offset after tok
	tok   token // the next token
	depth int   // open parentheses and negations
}

// errorf returns a *SyntaxError at byte offset off.
func (p *parser) errorf(off int, format string, args ...any) error {
	return &SyntaxError{Column: utf8.RuneCountInString(p.src[:off]) + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) or() (Expr, error) {
	x, err := p.and()
	if err != nil || p.tok.kind != tOr {
		return x, err
	}
	list := or(flatten[or](nil, x))
	for p.tok.kind == tOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		list = flatten(list, y)
	}
	return list, nil
}

func (p *parser) and() (Expr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	var list and
	for {
		switch p.tok.kind {
		case tAnd:
			if err := p.advance(); err != nil {
				return nil, err
			}
		case tLParen, tNot, tMinus, tTerm: // implicit AND
		default:
			if list == nil {
				return x, nil
			}
			return list, nil
		}
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		if list == nil {
			list = flatten(list, x)
		}
		list = flatten(list, y)
	}
}

// flatten appends x to list, or x's terms if it is of the list's kind:
// AND and OR are associative, so (a AND b) AND c is a AND b AND c.
func flatten[L and | or](list L, x Expr) L {
	if y, ok := x.(L); ok {
		return append(list, y...)
	}
	return append(list, x)
}

func (p *parser) unary() (Expr, error) {
	switch start := p.tok; start.kind {
	case tNot, tMinus:
		if err := p.enter(start); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return not{x}, nil
	case tLParen:
		if err := p.enter(start); err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tRParen {
			return nil, p.errorf(start.off, `empty parentheses: put a term inside "()"`)
		}
		if err := p.expectTerm(start.text); err != nil {
			return nil, err
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errorf(start.off, `"(" is not closed: add a ")"`)
		}
		p.depth--
		return x, p.next()
	case tTerm:
		return start.x, p.next()
	}
	return nil, p.expectTerm("") // not reached: callers check
}

// enter notes one more level of nesting at tok.
func (p *parser) enter(tok token) error {
	if p.depth++; p.depth > MaxDepth {
		return p.errorf(tok.off, "the expression nests parentheses and negations more than %d deep", MaxDepth)
	}
	return nil
}

// advance reads the token after an operator and checks that it can start
// the operand.
func (p *parser) advance() error {
	op := p.tok.text
	if err := p.next(); err != nil {
		return err
	}
	return p.expectTerm(op)
}

// expectTerm checks that the next token starts a term. after is the
// operator before it, if any, for the message.
func (p *parser) expectTerm(after string) error {
	switch t := p.tok; t.kind {
	case tLParen, tNot, tMinus, tTerm:
		return nil
	case tEOF:
		if after == "" {
			return p.errorf(t.off, "expected a term")
		}
		return p.errorf(t.off, "expected a term after %q", after)
	case tAnd, tOr:
		if after == "" || after == "(" {
			return p.errorf(t.off, "%q needs a term on its left", strings.ToUpper(t.text))
		}
		return p.errorf(t.off, "expected a term after %q, not %q", after, t.text)
	default: // ")"
		if after == "" {
			return p.errorf(t.off, `unexpected ")" without a matching "("`)
		}
		return p.errorf(t.off, "expected a term after %q, not %q", after, t.text)
	}
}

// next reads the next token into p.tok.
func (p *parser) next() error {
	s, i := p.src, p.pos
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	p.tok = token{off: i}
	if i == len(s) {
		p.tok.kind, p.pos = tEOF, i
		return nil
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == '(' || r == ')':
		p.tok.kind, p.tok.text, p.pos = tLParen, s[i:i+1], i+1
		if r == ')' {
			p.tok.kind = tRParen
		}
		return nil
	case r == '"':
		v, end, err := p.quoted(i)
		if err != nil {
			return err
		}
		return p.setTerm(i, end, &text{val: textValue(v, false)})
	case r == '-':
		if i+1 < len(s) {
			if n, _ := utf8.DecodeRuneInString(s[i+1:]); isWordRune(n) || n == '"' || n == '(' {
				p.tok.kind, p.tok.text, p.pos = tMinus, "-", i+1
				return nil
			}
		}
		return p.errorf(i, `expected a term right after "-"`)
	case isWordRune(r):
		return p.word(i)
	}
	return p.errorf(i, "unexpected %q", r)
}

// word reads a token that starts with a word character at i: a field
// term, a keyword or free text.
func (p *parser) word(i int) error {
	s := p.src
	if end, n := fieldPrefix(s, i); n > 0 {
		return p.fieldTerm(i, end, end+n)
	}
	j := wordEnd(s, i)
	w := s[i:j]
	if k := keyword(w); k != 0 {
		p.tok.kind, p.tok.text, p.pos = k, strings.ToUpper(w), j
		return nil
	}
	return p.setTerm(i, j, &text{val: textValue(w, strings.ContainsAny(w, "*?"))})
}

// wordEnd returns the end of the bare word that starts at s[i].
func wordEnd(s string, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			break
		}
		i += size
	}
	return i
}

// setTerm makes x, read from [start, end), the next token, after checking
// that the term ends there.
func (p *parser) setTerm(start, end int, x Expr) error {
	if end < len(p.src) {
		switch r, _ := utf8.DecodeRuneInString(p.src[end:]); {
		case r == '=':
			return p.errorf(end, `unexpected "=": compare with ":" (actor.id:alice), "!=", "<", "<=", ">" or ">="`)
		case r != ')' && !unicode.IsSpace(r):
			return p.errorf(end, "unexpected %q after %q: separate terms with a space", r, p.src[start:end])
		}
	}
	p.tok = token{kind: tTerm, off: start, text: p.src[start:end], x: x}
	p.pos = end
	return nil
}

// keyword returns the token of an operator keyword, or 0.
func keyword(w string) tokenKind {
	switch {
	case strings.EqualFold(w, "and"):
		return tAnd
	case strings.EqualFold(w, "or"):
		return tOr
	case strings.EqualFold(w, "not"):
		return tNot
	}
	return 0
}

// fieldPrefix reports whether s[i:] starts with a field name and an
// operator: the name is a letter and then letters, digits and "_.-". It
// returns the end of the name and the length of the operator, or 0.
func fieldPrefix(s string, i int) (end, n int) {
	if i >= len(s) || !('a' <= s[i] && s[i] <= 'z' || 'A' <= s[i] && s[i] <= 'Z') {
		return 0, 0
	}
	j := i + 1
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	_, n = opAt(s, j)
	return j, n
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// opAt returns the operator at s[j:] and its length, or a length of 0.
// "!=" is returned as opEq: it is parsed as NOT with ":".
func opAt(s string, j int) (o op, n int) {
	if j >= len(s) {
		return 0, 0
	}
	two := j+1 < len(s) && s[j+1] == '='
	switch s[j] {
	case ':':
		return opEq, 1
	case '<':
		if two {
			return opLE, 2
		}
		return opLT, 1
	case '>':
		if two {
			return opGE, 2
		}
		return opGT, 1
	case '!':
		if two {
			return opEq, 2
		}
	}
	return 0, 0
}

// fieldTerm reads the term whose field name is s[i:end] and whose value
// starts at v, after the operator.
func (p *parser) fieldTerm(i, end, v int) error {
	s := p.src
	name, opText := s[i:end], s[end:v]
	o, _ := opAt(s, end)
	f, path, err := lookupField(name)
	if err != nil {
		if uf, ok := err.(*unknownFieldError); ok && uf.suggestion == "" {
			return p.errorf(i, `%v; to search for text with a %q in it, put the text in double quotes`, err, opText)
		}
		return p.errorf(i, "%v", err)
	}
	if o != opEq && !f.ordered() {
		return p.errorf(end, `%s cannot be compared with %q: only data.*, time and index can; use ":" or "!=" for equality`, name, opText)
	}
	var (
		text   string
		quoted bool
		vend   int
	)
	switch r, _ := utf8.DecodeRuneInString(s[v:]); {
	case v < len(s) && r == '"':
		quoted = true
		if text, vend, err = p.quoted(v); err != nil {
			return err
		}
	case v < len(s) && isWordRune(r):
		vend = wordEnd(s, v)
		text = s[v:vend]
	default:
		return p.errorf(v, "expected a value after %q", name+opText)
	}
	t := &term{field: f, path: path, op: o}
	if msg := t.setValue(text, !quoted && strings.ContainsAny(text, "*?")); msg != "" {
		return p.errorf(v, "%s", msg)
	}
	var x Expr = t
	if opText == "!=" {
		x = not{t}
	}
	return p.setTerm(i, vend, x)
}

// quoted reads the quoted string that starts at s[i] and returns its
// value and the offset after it.
func (p *parser) quoted(i int) (string, int, error) {
	s := p.src
	var (
		b       strings.Builder
		escaped bool
	)
	start := i + 1
	for j := start; j < len(s); j++ {
		switch s[j] {
		case '"':
			if !escaped {
				return s[start:j], j + 1, nil
			}
			b.WriteString(s[start:j])
			return b.String(), j + 1, nil
		case '\\':
			if j+1 == len(s) {
				break
			}
			if c := s[j+1]; c != '"' && c != '\\' {
				r, _ := utf8.DecodeRuneInString(s[j+1:])
				return "", 0, p.errorf(j, `unknown escape "\%c" in a quoted string: only \" and \\ are escapes`, r)
			}
			escaped = true
			b.WriteString(s[start:j])
			b.WriteByte(s[j+1])
			j++
			start = j + 1
		}
	}
	return "", 0, p.errorf(i, `quoted string is not closed: add a '"'`)
}

// textValue prepares the value of free text or a message term: matched
// anywhere in a string, ignoring case.
func textValue(s string, glob bool) value {
	return value{text: s, glob: glob, pat: newPattern(strings.ToLower(s), glob)}
}

// setValue sets the term's value, checking it against the field. It
// returns what is wrong with it, or "".
func (t *term) setValue(s string, glob bool) string {
	switch t.field {
	case fieldMessage:
		t.val = textValue(s, glob)
		return ""
	case fieldTime:
		v, err := parseTimeValue(s)
		if err != nil {
			return err.Error()
		}
		t.val = v
		return ""
	case fieldIndex:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || s[0] == '+' {
			return fmt.Sprintf("index takes a whole number, not %q", s)
		}
		t.val = value{text: s, n: n}
		return ""
	case fieldOutcome:
		if !glob && s != "success" && s != "failure" && s != "unknown" {
			return fmt.Sprintf("outcome is success, failure or unknown, not %q", s)
		}
	case fieldData:
		if glob && t.op != opEq {
			return fmt.Sprintf("%q takes a plain value, not a pattern with * or ?", opNames[t.op])
		}
	}
	t.val = value{text: s, glob: glob}
	if glob {
		t.val.pat = newPattern(s, true)
	}
	if t.field == fieldData {
		t.val.num, t.val.isNum = parseDecimal(s)
	}
	return ""
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
