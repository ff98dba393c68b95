package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendCanonical appends the RFC 8785 (JCS) serialisation of v to dst.
//
// v is made of the values ParseJSON returns (map[string]any, []any,
// string, json.Number, bool, nil) and, for convenience, float64, int,
// int64, uint64 and []string. Object members are sorted by the UTF-16 code
// units of their keys; strings escape only what JSON requires, with
// \b \f \n \r \t \" \\ and \u00xx (lower-case hex) for other control
// characters; numbers are written as ECMAScript's Number.prototype.toString
// writes the float64 nearest to them, so -0 becomes 0. NaN, infinities,
// integers that a float64 cannot hold exactly, invalid UTF-8 and other
// types are errors.
func AppendCanonical(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		return appendString(dst, v)
	case json.Number:
		if numberLen([]byte(v)) != len(v) || len(v) == 0 {
			return dst, fmt.Errorf("invalid number %q", string(v))
		}
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return dst, fmt.Errorf("number %s is out of range", string(v))
		}
		return appendNumber(dst, f)
	case float64:
		return appendNumber(dst, v)
	case int:
		return appendInt(dst, int64(v))
	case int64:
		return appendInt(dst, v)
	case uint64:
		if v > 1<<53 {
			return dst, fmt.Errorf("integer %d cannot be represented exactly as a float64", v)
		}
		return appendNumber(dst, float64(v))
	case []string:
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendString(dst, s); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendCanonical(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		return appendObject(dst, v)
	default:
		return dst, fmt.Errorf("cannot canonicalise a value of type %T", v)
	}
}

// Canonicalize parses one JSON value as ParseJSON does (with the default
// depth limit and no size limit) and returns its RFC 8785 serialisation.
func Canonicalize(data []byte) ([]byte, error) {
	v, err := ParseJSON(data, Limits{MaxBytes: math.MaxInt})
	if err != nil {
		return nil, err
	}
	return AppendCanonical(make([]byte, 0, len(data)), v)
}

func appendObject(dst []byte, m map[string]any) ([]byte, error) {
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendString(dst, k); err != nil {
			return dst, err
		}
		dst = append(dst, ':')
		if dst, err = AppendCanonical(dst, m[k]); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785
// §3.2.3 requires. It differs from byte order only when a character
// above U+FFFF (a surrogate pair in UTF-16) meets one in U+E000-U+FFFF.
func compareUTF16(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) || i == len(b) {
		return len(a) - len(b)
	}
	if a[i] < 0x80 && b[i] < 0x80 {
		return int(a[i]) - int(b[i])
	}
	// Back up to the start of the differing characters; the prefix is shared.
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRuneInString(a[i:])
	rb, _ := utf8.DecodeRuneInString(b[i:])
	return int(utf16Key(ra)) - int(utf16Key(rb))
}

// utf16Key maps a rune to a value ordered as its UTF-16 encoding.
// Runes that differ always differ in the returned key.
func utf16Key(r rune) uint32 {
	if r < 0x10000 {
		return uint32(r) << 10
	}
	r -= 0x10000
	return (0xd800+uint32(r>>10))<<10 | uint32(r&0x3ff)
}

const hexDigits = "0123456789abcdef"

func appendString(dst []byte, s string) ([]byte, error) {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return dst, errors.New("invalid UTF-8 in string")
			}
			i += n
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

func appendInt(dst []byte, v int64) ([]byte, error) {
	if v > 1<<53 || v < -1<<53 {
		return dst, fmt.Errorf("integer %d cannot be represented exactly as a float64", v)
	}
	return strconv.AppendInt(dst, v, 10), nil
}

// appendNumber writes f as ECMAScript's Number.prototype.toString does
// (ECMA-262 Number::toString, the form RFC 8785 §3.2.2.3 requires).
func appendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("number %v is not allowed in JSON", f)
	}
	if f == 0 {
		return append(dst, '0'), nil
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-tripping digits, as d.ddddde±x.
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	i := len(b) - 1
	for b[i] != 'e' {
		i--
	}
	e := 0
	for _, c := range b[i+2:] { // after 'e' and its sign
		e = e*10 + int(c-'0')
	}
	if b[i+1] == '-' {
		e = -e
	}
	b = b[:i]
	digits := b[:1]
	if len(b) > 2 {
		digits = append(digits, b[2:]...) // drop the '.'
	}
	k := len(digits)
	n := e + 1 // value = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst, nil
}
