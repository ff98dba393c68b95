package query

import (
	"strings"
	"unicode/utf8"
)

// pattern matches strings against a value: literally, or with * (any run
// of characters) and ? (one character) if wild.
//
// A pattern is split at its stars. Each segment between them matches a
// fixed number of characters, so taking the leftmost place for each
// segment in turn finds a match whenever there is one. A segment without
// ? is found with strings.Index; one with ? by a bit-parallel scan
// (shiftAnd). Either way matching takes time linear in the text, times the
// segment's length over 64 for the scan, whatever the pattern: an
// expression cannot make the server search for long.
type pattern struct {
	wild bool
	segs []string    // the text between the stars; just the text if !wild
	scan []*shiftAnd // for each segment with a ?, its scanner; nil otherwise
}

func newPattern(s string, wild bool) pattern {
	if !wild {
		return pattern{segs: []string{s}}
	}
	p := pattern{wild: true, segs: strings.Split(s, "*")}
	p.scan = make([]*shiftAnd, len(p.segs))
	for i, seg := range p.segs {
		if strings.Contains(seg, "?") {
			p.scan[i] = newShiftAnd(seg)
		}
	}
	return p
}

// match reports whether the whole of s matches.
func (p *pattern) match(s string) bool {
	if !p.wild {
		return s == p.segs[0]
	}
	first, last := p.segs[0], p.segs[len(p.segs)-1]
	pos, ok := matchAt(s, 0, first)
	if !ok {
		return false
	}
	if len(p.segs) == 1 {
		return pos == len(s)
	}
	for i := 1; i < len(p.segs)-1; i++ {
		if pos, ok = p.find(s, pos, i); !ok {
			return false
		}
	}
	// The last segment is anchored at the end: it covers as many
	// characters as it has.
	start := len(s)
	for range utf8.RuneCountInString(last) {
		if start <= pos {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(s[:start])
		start -= size
	}
	_, ok = matchAt(s, start, last)
	return ok
}

// contains reports whether a substring of s matches.
func (p *pattern) contains(s string) bool {
	if !p.wild {
		return strings.Contains(s, p.segs[0])
	}
	pos := 0
	for i := range p.segs {
		var ok bool
		if pos, ok = p.find(s, pos, i); !ok {
			return false
		}
	}
	return true
}

// matchAt reports whether seg matches s at byte offset i, ? matching any
// one character, and returns the offset after the match.
func matchAt(s string, i int, seg string) (int, bool) {
	for j := 0; j < len(seg); j++ {
		if i >= len(s) {
			return 0, false
		}
		if seg[j] == '?' {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		if s[i] != seg[j] {
			return 0, false
		}
		i++
	}
	return i, true
}

// find returns the end of the leftmost match of segment i in s at or
// after from.
func (p *pattern) find(s string, from, i int) (int, bool) {
	if sa := p.scan[i]; sa != nil {
		return sa.find(s, from)
	}
	seg := p.segs[i]
	k := strings.Index(s[from:], seg)
	if k < 0 {
		return 0, false
	}
	return from + k + len(seg), true
}

// shiftAnd finds a segment with ? in a text: the Shift-And algorithm
// (Baeza-Yates and Gonnet), one bit per character of the segment, set
// while the text read so far ends with that much of the segment.
type shiftAnd struct {
	n     int                 // the segment's length in characters
	any   []uint64            // the bits of its ?
	masks map[rune][]uint64   // for each other character, its bits and those of ?
	ascii [utf8.RuneSelf]int8 // for ASCII characters, the index of their mask in list, or -1
	list  [][]uint64
}

func newShiftAnd(seg string) *shiftAnd {
	n := utf8.RuneCountInString(seg)
	words := (n + 63) / 64
	sa := &shiftAnd{n: n, any: make([]uint64, words), masks: map[rune][]uint64{}}
	for i := range sa.ascii {
		sa.ascii[i] = -1
	}
	i := 0
	for _, r := range seg {
		if r == '?' {
			sa.any[i/64] |= 1 << (i % 64)
		}
		i++
	}
	i = 0
	for _, r := range seg {
		if r != '?' {
			m := sa.masks[r]
			if m == nil {
				m = append([]uint64(nil), sa.any...)
				sa.masks[r] = m
				if r < utf8.RuneSelf { // at most 127 of them: not '?'

					sa.ascii[r] = int8(len(sa.list))
					sa.list = append(sa.list, m)
				}
			}
			m[i/64] |= 1 << (i % 64)
		}
		i++
	}
	return sa
}

// find returns the end of the leftmost match in s at or after from.
func (sa *shiftAnd) find(s string, from int) (int, bool) {
	if sa.n == 0 {
		return from, true
	}
	d := make([]uint64, len(sa.any))
	last, lastBit := (sa.n-1)/64, uint64(1)<<((sa.n-1)%64)
	for i := from; i < len(s); {
		r, size := rune(s[i]), 1
		var m []uint64
		if r < utf8.RuneSelf {
			if k := sa.ascii[r]; k >= 0 {
				m = sa.list[k]
			} else {
				m = sa.any
			}
		} else {
			r, size = utf8.DecodeRuneInString(s[i:])
			if m = sa.masks[r]; m == nil {
				m = sa.any
			}
		}
		i += size
		carry := uint64(1)
		for w := range d {
			next := d[w] >> 63
			d[w] = (d[w]<<1 | carry) & m[w]
			carry = next
		}
		if d[last]&lastBit != 0 {
			return i, true
		}
	}
	return 0, false
}
