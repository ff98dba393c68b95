package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// badTime is the message for a time value that is neither form.
const badTime = "bad time %q: want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)"

// parseTimeValue parses the value of a time term: an RFC 3339 time, kept at
// millisecond precision, or a relative time, "now" or
// "-<n><unit>[<n><unit>...]" (now minus the sum: "-24h", "-1h30m"), with n
// a decimal integer and unit one of ms, s, m, h, d (24h) and w (7d).
func parseTimeValue(s string) (value, error) {
	if s == "now" || strings.HasPrefix(s, "-") {
		d, err := ParseRelative(s)
		if err != nil {
			return value{}, err
		}
		return value{text: s, rel: s, dur: d}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return value{}, fmt.Errorf(badTime, s)
	}
	return value{text: s, ms: t.UnixMilli()}, nil
}

// relativeUnits are the units of relative times, longest first.
var relativeUnits = []struct {
	name string
	d    time.Duration
}{
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
	{"d", 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
}

// ParseRelative parses "now" or "-<n><unit>[<n><unit>...]" (now minus
// the sum: -24h, -1h30m, -7d, -500ms; units ms, s, m, h, d and w) and
// returns how long before now it is.
func ParseRelative(s string) (time.Duration, error) {
	if s == "now" {
		return 0, nil
	}
	rest, ok := strings.CutPrefix(s, "-")
	if !ok || rest == "" {
		return 0, fmt.Errorf(badTime, s)
	}
	var total time.Duration
	for rest != "" {
		i := 0
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf(badTime, s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		rest = rest[i:]
		var unit time.Duration
		for _, u := range relativeUnits {
			if after, ok := strings.CutPrefix(rest, u.name); ok && (after == "" || isDigit(after[0])) {
				unit, rest = u.d, after
				break
			}
		}
		if unit == 0 {
			return 0, fmt.Errorf(badTime, s)
		}
		if err != nil || n > (math.MaxInt64-int64(total))/int64(unit) {
			return 0, fmt.Errorf("relative time %q is too far back", s)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}
