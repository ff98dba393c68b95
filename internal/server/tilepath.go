package server

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// fullWidth is the width of a full tile or entry bundle.
const fullWidth = 256

// maxTileLevel is the highest level C2SP tlog-tiles allows.
const maxTileLevel = 63

// tilePath is a C2SP tlog-tiles resource path:
//
//	tile/<L>/<N>[.p/<W>]        a hash tile
//	tile/entries/<N>[.p/<W>]    an entry bundle
//
// <L> is a decimal level in [0, 63]. <N> is the tile index written in
// zero-padded groups of three digits, most significant first, every group
// but the last prefixed with "x": 1234067 is "x001/x234/067", 5 is "005".
// <W>, only for a partial tile, is a decimal width in [1, 255]. Decimal
// numbers have no leading zeros and no sign, and <N> has no leading
// "x000" group, so that every resource has exactly one path.
type tilePath struct {
	Entries bool   // an entry bundle rather than a hash tile
	Level   uint8  // the level of a hash tile; 0 for an entry bundle
	Index   uint64 // N
	Width   int    // 1 to 255 for a partial tile, fullWidth for a full one
}

// String returns the path of t, starting with "tile/".
func (t tilePath) String() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Entries {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(int(t.Level)))
	}
	var groups []uint64
	for n := t.Index; ; n /= 1000 {
		groups = append(groups, n%1000)
		if n < 1000 {
			break
		}
	}
	for i := len(groups) - 1; i >= 0; i-- {
		b.WriteByte('/')
		if i > 0 {
			b.WriteByte('x')
		}
		fmt.Fprintf(&b, "%03d", groups[i])
	}
	if t.Width < fullWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

// parseTilePath parses a path that tilePath.String writes and nothing
// else.
func parseTilePath(p string) (tilePath, error) {
	t, err := parseTile(p)
	if err != nil {
		return tilePath{}, fmt.Errorf("malformed tile path %q: %w", p, err)
	}
	return t, nil
}

func parseTile(p string) (tilePath, error) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return tilePath{}, errors.New(`it does not start with "tile/"`)
	}
	elems := strings.Split(rest, "/")
	if len(elems) < 2 {
		return tilePath{}, errors.New("it has no tile index")
	}
	var t tilePath
	if elems[0] == "entries" {
		t.Entries = true
	} else {
		l, ok := decimal(elems[0])
		if !ok || l > maxTileLevel {
			return tilePath{}, fmt.Errorf("level %q is not a number from 0 to %d", elems[0], maxTileLevel)
		}
		t.Level = uint8(l)
	}
	elems = elems[1:]

	// The width, if any, is the last element, after a last group ending in ".p".
	t.Width = fullWidth
	if n := len(elems); n >= 2 && strings.HasSuffix(elems[n-2], ".p") {
		w, ok := decimal(elems[n-1])
		if !ok || w < 1 || w >= fullWidth {
			return tilePath{}, fmt.Errorf("width %q is not a number from 1 to %d", elems[n-1], fullWidth-1)
		}
		t.Width = int(w)
		elems[n-2] = strings.TrimSuffix(elems[n-2], ".p")
		elems = elems[:n-1]
	}

	for i, g := range elems {
		last := i == len(elems)-1
		if !last {
			var ok bool
			if g, ok = strings.CutPrefix(g, "x"); !ok {
				return tilePath{}, fmt.Errorf("index group %q does not start with \"x\" but is not the last", elems[i])
			}
		}
		if len(g) != 3 || !isDigits(g) {
			return tilePath{}, fmt.Errorf("index group %q is not three digits", elems[i])
		}
		v := uint64(g[0]-'0')*100 + uint64(g[1]-'0')*10 + uint64(g[2]-'0')
		if i == 0 && !last && v == 0 {
			return tilePath{}, errors.New(`index starts with a "x000" group`)
		}
		if t.Index > (^uint64(0)-v)/1000 {
			return tilePath{}, errors.New("index is too large")
		}
		t.Index = t.Index*1000 + v
	}
	return t, nil
}

// decimal parses a non-negative decimal number without sign or leading
// zeros.
func decimal(s string) (uint64, bool) {
	if s == "" || !isDigits(s) || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
