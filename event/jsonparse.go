package event

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits bounds the work done by ParseJSON and the parsers built on it.
// A zero field means the corresponding field of DefaultLimits.
type Limits struct {
	// MaxBytes is the largest accepted input, in bytes.
	MaxBytes int
	// MaxDepth is the deepest accepted nesting of objects and arrays;
	// the top-level object of an event is at depth 1.
	MaxDepth int
}

// DefaultLimits returns the limits applied to one client event:
// 64 KiB and a nesting depth of 32.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 64 << 10, MaxDepth: 32}
}

func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// maxNumberLen is the longest accepted number text.
const maxNumberLen = 64

// SyntaxError reports input that ParseJSON rejects.
type SyntaxError struct {
	Offset int64  // byte offset of the problem in the input
	Line   int    // 1-based line of Offset
	Column int    // 1-based column of Offset, counted in characters
	Path   string // JSON Pointer (RFC 6901) of the value being parsed
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("line %d, column %d (%s): %s", e.Line, e.Column, e.Path, e.Msg)
}

// ParseJSON parses exactly one JSON value (RFC 8259) and returns it as
// map[string]any, []any, string, json.Number, bool or nil.
//
// It is stricter than encoding/json, following I-JSON (RFC 7493): it rejects
// duplicate object keys, invalid UTF-8, escaped lone surrogates, numbers that
// are longer than 64 characters or overflow a float64, nesting deeper than
// lim.MaxDepth, input longer than lim.MaxBytes and anything but whitespace
// after the value. Every error is a *SyntaxError.
func ParseJSON(data []byte, lim Limits) (any, error) {
	return parseJSON(data, lim, false)
}

// ParseData is ParseJSON for a value that goes into an event's data: its
// numbers are held as an entry's bytes spell them (RFC 8785: 1.0 and 1e0
// become 1), so that the event in memory and the event decoded from its
// entry hold equal values. Parse and ParseBatch parse events so.
func ParseData(data []byte, lim Limits) (any, error) {
	return parseJSON(data, lim, true)
}

// parseJSON is ParseJSON; with canon, numbers are held as RFC 8785 writes
// them (see parser.canon).
func parseJSON(data []byte, lim Limits, canon bool) (any, error) {
	p, err := startParse(data, lim, canon)
	if err != nil {
		return nil, err
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// startParse checks data against lim and returns a parser at the start
// of its one top-level value, which the caller parses and follows with
// end. Parse (parseOne) shares it with parseJSON so that both treat the text around
// the value alike.
func startParse(data []byte, lim Limits, canon bool) (parser, error) {
	lim = lim.orDefault()
	if len(data) > lim.MaxBytes {
		p := parser{data: data}
		return parser{}, p.errorAt(lim.MaxBytes, fmt.Sprintf("input is longer than %d bytes", lim.MaxBytes))
	}
	p := newParser(data, lim.MaxDepth)
	p.canon = canon
	p.skipSpace()
	return p, nil
}

// end checks that only whitespace follows the top-level value.
func (p *parser) end() error {
	p.skipSpace()
	if p.pos < len(p.data) {
		return p.errorf("unexpected %s after top-level value", p.describe())
	}
	return nil
}

// parser is a recursive-descent JSON parser.
//
// Strings without escapes are substrings of str, a copy of data made
// once, so that they cost no allocation of their own. Error paths are
// built while the error travels up, so they cost nothing on success.
type parser struct {
	data     []byte
	str      string // string(data), or "" if strings are to be copied
	pos      int
	depth    int
	maxDepth int
	base     int // depth of enclosing containers not counted in messages
	// canon makes numbers the text RFC 8785 gives them (1.0 and 1e0
	// become 1). Events are parsed so: the entry's bytes spell numbers
	// that way, and an event in memory must agree on every value with the
	// same event decoded from its entry, because readers that follow the
	// log take committed entries from memory (ledger.Config.OnCommit).
	canon bool
}

func newParser(data []byte, maxDepth int) parser {
	return parser{data: data, str: string(data), maxDepth: maxDepth}
}

func (p *parser) errorf(format string, args ...any) error {
	return p.errorAt(p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) errorAt(pos int, msg string) error {
	line, col := lineCol(p.data, pos)
	return &SyntaxError{Offset: int64(pos), Line: line, Column: col, Msg: msg}
}

// within prefixes the path of a *SyntaxError with one reference token.
func within(err error, token string) error {
	if se, ok := err.(*SyntaxError); ok {
		se.Path = "/" + token + se.Path
	}
	return err
}

// lineCol returns the 1-based line and character column of data[pos].
func lineCol(data []byte, pos int) (line, col int) {
	if pos > len(data) {
		pos = len(data)
	}
	line, start := 1, 0
	for i := 0; i < pos; i++ {
		if data[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, utf8.RuneCount(data[start:pos]) + 1
}

// escapePointer escapes a key as a JSON Pointer reference token.
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// describe names the byte at p.pos for an error message.
func (p *parser) describe() string {
	if p.pos >= len(p.data) {
		return "end of input"
	}
	c := p.data[p.pos]
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("character %q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of input, want a value")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.string()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.errorf("unexpected %s, want a value", p.describe())
	}
}

func (p *parser) literal(lit string) error {
	if len(p.data)-p.pos >= len(lit) && string(p.data[p.pos:p.pos+len(lit)]) == lit {
		p.pos += len(lit)
		return nil
	}
	return p.errorf("invalid literal, want %s", lit)
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return p.errorf("nesting is deeper than %d levels", p.maxDepth-p.base)
	}
	return nil
}

func (p *parser) object() (any, error) {
	m := make(map[string]any)
	err := p.members(func(k string) bool {
		_, dup := m[k]
		return dup
	}, func(k string) error {
		v, err := p.value()
		m[k] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// members parses the object at p.pos, the one grammar of objects that
// object and fields share. For each member it asks dup whether the key
// was seen before in this object (a duplicate is an error at the key), and
// after the ':' calls value with p at the member's value, which value must
// parse. Errors from within a member carry its key in their path.
func (p *parser) members(dup func(k string) bool, value func(k string) error) error {
	if err := p.enter(); err != nil {
		return err
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.at('}') {
		p.pos++
		p.depth--
		return nil
	}
	for {
		if !p.at('"') {
			return p.errorf("unexpected %s, want a string key", p.describe())
		}
		keyPos := p.pos
		k, err := p.string()
		if err != nil {
			return err
		}
		if dup(k) {
			return within(p.errorAt(keyPos, fmt.Sprintf("duplicate key %q", k)), escapePointer(k))
		}
		p.skipSpace()
		if !p.at(':') {
			return within(p.errorf("unexpected %s, want ':'", p.describe()), escapePointer(k))
		}
		p.pos++
		p.skipSpace()
		if err := value(k); err != nil {
			return within(err, escapePointer(k))
		}
		p.skipSpace()
		if p.pos < len(p.data) {
			switch p.data[p.pos] {
			case ',':
				p.pos++
				p.skipSpace()
				continue
			case '}':
				p.pos++
				p.depth--
				return nil
			}
		}
		return p.errorf("unexpected %s, want ',' or '}'", p.describe())
	}
}

func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '['
	a := make([]any, 0, 4)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return a, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, within(err, strconv.Itoa(len(a)))
		}
		a = append(a, v)
		p.skipSpace()
		if p.pos < len(p.data) {
			switch p.data[p.pos] {
			case ',':
				p.pos++
				p.skipSpace()
				continue
			case ']':
				p.pos++
				p.depth--
				return a, nil
			}
		}
		return nil, p.errorf("unexpected %s, want ',' or ']'", p.describe())
	}
}

// string parses a string starting at the opening quote.
func (p *parser) string() (string, error) {
	start := p.pos + 1
	// Fast path: printable ASCII without escapes.
	for i := start; i < len(p.data); i++ {
		c := p.data[i]
		if c == '"' {
			p.pos = i + 1
			if p.str != "" {
				return p.str[start:i], nil
			}
			return string(p.data[start:i]), nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	var buf []byte
	i := start
	for {
		if i >= len(p.data) {
			p.pos = i
			return "", p.errorf("unexpected end of input in string")
		}
		c := p.data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return string(buf), nil
		case c == '\\':
			p.pos = i
			r, n, err := p.escape(i)
			if err != nil {
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
			i += n
		case c < 0x20:
			p.pos = i
			return "", p.errorf("control character 0x%02x in string", c)
		case c < 0x80:
			buf = append(buf, c)
			i++
		default:
			r, n := utf8.DecodeRune(p.data[i:])
			if r == utf8.RuneError && n == 1 {
				p.pos = i
				return "", p.errorf("invalid UTF-8 in string")
			}
			buf = append(buf, p.data[i:i+n]...)
			i += n
		}
	}
}

// escape decodes the escape sequence at data[i] and returns the rune and
// the number of bytes consumed.
func (p *parser) escape(i int) (rune, int, error) {
	if i+1 >= len(p.data) {
		return 0, 0, p.errorf("unexpected end of input in string")
	}
	switch p.data[i+1] {
	case '"':
		return '"', 2, nil
	case '\\':
		return '\\', 2, nil
	case '/':
		return '/', 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
		r, ok := hex4(p.data[i+2:])
		if !ok {
			return 0, 0, p.errorf("invalid \\u escape")
		}
		if !utf16.IsSurrogate(r) {
			return r, 6, nil
		}
		if r < 0xdc00 && len(p.data) >= i+12 && p.data[i+6] == '\\' && p.data[i+7] == 'u' {
			if r2, ok := hex4(p.data[i+8:]); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
				return utf16.DecodeRune(r, r2), 12, nil
			}
		}
		return 0, 0, p.errorf("lone surrogate \\u%04x in string", r)
	default:
		return 0, 0, p.errorf("invalid escape in string")
	}
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (p *parser) number() (any, error) {
	start := p.pos
	n := numberLen(p.data[start:])
	if n == 0 {
		return nil, p.errorf("invalid number")
	}
	p.pos += n
	if n > maxNumberLen {
		p.pos = start
		return nil, p.errorf("number is longer than %d characters", maxNumberLen)
	}
	var s string
	if p.str != "" {
		s = p.str[start:p.pos]
	} else {
		s = string(p.data[start:p.pos])
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.pos = start
		return nil, p.errorf("number %s is out of range", s)
	}
	if p.canon && !plainInteger(s) {
		b, err := appendNumber(nil, f)
		if err != nil {
			p.pos = start
			return nil, p.errorf("number %s: %v", s, err)
		}
		s = string(b)
	}
	return json.Number(s), nil
}

// plainInteger reports whether s, a valid JSON number, is an integer that
// RFC 8785 writes as is: no fraction or exponent, no "-0", and few enough
// digits to be exact in a float64.
func plainInteger(s string) bool {
	d := s
	if d[0] == '-' {
		d = d[1:]
	}
	if len(d) > 15 || d == "0" && len(s) > 1 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// numberLen returns the length of the JSON number (RFC 8259 §6) at the
// start of b, or 0 if b does not start with one.
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0
		}
	}
	return i
}
