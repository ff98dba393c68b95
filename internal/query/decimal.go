package query

import (
	"encoding/json"
	"strconv"
)

// decimal is a JSON number prepared for exact comparison. Converting to
// float64 would round: 9007199254740993 would equal 9007199254740992.
// Its value is ±0.D × 10^point, where D are the significant digits of
// intg and frac, from the first that is not zero.
type decimal struct {
	neg, zero  bool
	intg, frac string // the digits as written
	lead       int    // the number of leading zero digits of intg+frac
	point      int
}

// maxExponent bounds the exponent read from a number. Numbers in entries
// are float64 values (exponents within ±324), and those in an expression
// have fewer than MaxLength digits, so larger exponents compare the same.
const maxExponent = 1 << 30

// parseDecimal parses s, a number in JSON syntax (RFC 8259 §6).
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	start := i
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return decimal{}, false
	}
	d.intg = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return decimal{}, false
		}
		d.frac = s[start:i]
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		negExp := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			negExp = s[i] == '-'
			i++
		}
		start = i
		for ; i < len(s) && isDigit(s[i]); i++ {
			if exp < maxExponent {
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if i == start {
			return decimal{}, false
		}
		if negExp {
			exp = -exp
		}
	}
	if i != len(s) {
		return decimal{}, false
	}
	n := len(d.intg) + len(d.frac)
	for d.lead < n && d.digit(0) == '0' {
		d.lead++
	}
	d.zero = d.lead == n
	d.point = len(d.intg) - d.lead + exp
	return d, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digit returns the k-th significant digit, or '0' past the last.
func (d *decimal) digit(k int) byte {
	k += d.lead
	if k < len(d.intg) {
		return d.intg[k]
	}
	if k -= len(d.intg); k < len(d.frac) {
		return d.frac[k]
	}
	return '0'
}

func (d *decimal) sign() int {
	switch {
	case d.zero:
		return 0
	case d.neg:
		return -1
	}
	return 1
}

// cmpDecimal compares a and b exactly: -1, 0 or +1.
func cmpDecimal(a, b *decimal) int {
	sa, sb := a.sign(), b.sign()
	if sa != sb || sa == 0 {
		return cmpInt(sa, sb)
	}
	c := cmpInt(a.point, b.point)
	if c == 0 {
		n := max(len(a.intg)+len(a.frac)-a.lead, len(b.intg)+len(b.frac)-b.lead)
		for k := 0; k < n && c == 0; k++ {
			c = cmpInt(int(a.digit(k)), int(b.digit(k)))
		}
	}
	return c * sa
}

func cmpInt[T int | int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// numberOf returns a data value as a decimal, if it is a number.
func numberOf(v any) (decimal, bool) {
	switch v := v.(type) {
	case json.Number:
		return parseDecimal(string(v))
	case float64:
		return parseDecimal(strconv.FormatFloat(v, 'g', -1, 64))
	case int:
		return parseDecimal(strconv.Itoa(v))
	case int64:
		return parseDecimal(strconv.FormatInt(v, 10))
	case uint64:
		return parseDecimal(strconv.FormatUint(v, 10))
	}
	return decimal{}, false
}
