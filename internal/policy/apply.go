package policy

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/a24ba333/indelible/event"
)

// RedactedMarker replaces a redacted value in an entry.
const RedactedMarker = "[redacted]"

// PersonalValue is a personal value taken out of an event: what a vault
// keeps, encrypted for the event's subject, so that the value can be
// shown and checked against its commitment until the subject is
// forgotten.
type PersonalValue struct {
	Path  string // JSON Pointer of the value in the event
	Salt  []byte // the commitment's salt, event.SaltSize bytes
	Value any    // the original value, shared with the event
}

// Applied is an event as captured under a decision.
type Applied struct {
	// Event is the event to seal. It shares with the original event
	// every part that Apply did not change.
	Event *event.Event
	// Redacted and Personal list the JSON Pointers of the values replaced
	// (capture.redacted and capture.personal of the entry): those of the
	// decision that were present in the event, in the decision's order.
	Redacted, Personal []string
	// Values holds the salt and original value of each personal value.
	Values []PersonalValue
}

// Apply returns a copy of ev as captured under d; ev is not modified.
//
// At LevelMetadata the copy leaves out data and message. At LevelFull
// each of d.Redact present in ev is replaced by RedactedMarker, and each
// of d.Personal present in ev by its commitment, event.Commit(salt,
// value), with a fresh salt of event.SaltSize bytes read from rnd (nil
// means crypto/rand). Personal values are taken out whether or not the
// event names a subject: without one, the caller decides what to do with
// the values (a vault cannot file them under a subject), but they never
// reach the entry. At LevelNone nothing is captured and Apply returns an
// error, as it does for pointers that are not under /data/ (or, to
// redact, exactly /message) and values that cannot be committed to.
func Apply(ev *event.Event, d Decision, rnd io.Reader) (Applied, error) {
	if ev == nil {
		return Applied{}, errors.New("policy: no event")
	}
	out := *ev
	switch d.Level {
	case LevelFull:
	case LevelMetadata:
		out.Data, out.Message = nil, ""
		return Applied{Event: &out}, nil
	case LevelNone:
		return Applied{}, fmt.Errorf("policy: rule %q: level none: the event is not captured", d.Rule)
	default:
		return Applied{}, fmt.Errorf("policy: unknown capture level %q", d.Level)
	}
	a := Applied{Event: &out}
	cloned := false // whether out.Data is already a copy
	for _, p := range d.Redact {
		toks, err := splitPointer(p, true)
		if err != nil {
			return Applied{}, err
		}
		if toks == nil { // /message
			if out.Message != "" {
				out.Message = RedactedMarker
				a.Redacted = append(a.Redacted, p)
			}
			continue
		}
		if _, ok := lookup(out.Data, toks); !ok {
			continue
		}
		if !cloned {
			out.Data, cloned = maps.Clone(out.Data), true
		}
		replace(out.Data, toks, RedactedMarker)
		a.Redacted = append(a.Redacted, p)
	}
	for _, p := range d.Personal {
		toks, err := splitPointer(p, false)
		if err != nil {
			return Applied{}, err
		}
		v, ok := lookup(out.Data, toks)
		if !ok {
			continue
		}
		if rnd == nil {
			rnd = rand.Reader
		}
		salt := make([]byte, event.SaltSize)
		if _, err := io.ReadFull(rnd, salt); err != nil {
			return Applied{}, fmt.Errorf("policy: salt for %s: %w", p, err)
		}
		c, err := event.Commit(salt, v)
		if err != nil {
			return Applied{}, fmt.Errorf("policy: %s: %w", p, err)
		}
		if !cloned {
			out.Data, cloned = maps.Clone(out.Data), true
		}
		replace(out.Data, toks, c)
		a.Personal = append(a.Personal, p)
		a.Values = append(a.Values, PersonalValue{Path: p, Salt: salt, Value: v})
	}
	return a, nil
}

// splitPointer checks a pointer of a rule and returns its reference
// tokens below /data, unescaped. redact allows "/message" too, for which
// it returns nil tokens.
func splitPointer(p string, redact bool) ([]string, error) {
	if redact && p == "/message" {
		return nil, nil
	}
	rest, ok := strings.CutPrefix(p, "/data/")
	if !ok {
		if redact {
			return nil, fmt.Errorf("%q must be a JSON Pointer under /data/, or /message", p)
		}
		return nil, fmt.Errorf("%q must be a JSON Pointer under /data/", p)
	}
	if !utf8.ValidString(p) {
		return nil, fmt.Errorf("%q is not valid UTF-8", p)
	}
	toks := strings.Split(rest, "/")
	for i, t := range toks {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || t[j+1] != '0' && t[j+1] != '1') {
				return nil, fmt.Errorf("%q is not a JSON Pointer (RFC 6901): \"~\" must be followed by 0 or 1", p)
			}
		}
		if strings.Contains(t, "~") {
			toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
		}
	}
	return toks, nil
}

// index returns the array index a reference token names, or -1.
func index(tok string, n int) int {
	if tok == "" || len(tok) > 1 && tok[0] == '0' {
		return -1
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return -1
		}
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i >= n {
		return -1
	}
	return i
}

// lookup returns the value at toks in v.
func lookup(v any, toks []string) (any, bool) {
	for _, t := range toks {
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[t]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			i := index(t, len(c))
			if i < 0 {
				return nil, false
			}
			v = c[i]
		case []string:
			i := index(t, len(c))
			if i < 0 {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// replace sets the value at toks, which lookup found, in the map m, a
// copy of its own: every container on the way is copied before it is
// changed, so that the original event's are not.
func replace(m map[string]any, toks []string, x any) {
	if len(toks) == 1 {
		m[toks[0]] = x
		return
	}
	m[toks[0]] = replaceIn(m[toks[0]], toks[1:], x)
}

func replaceIn(v any, toks []string, x any) any {
	switch c := v.(type) {
	case map[string]any:
		c = maps.Clone(c)
		replace(c, toks, x)
		return c
	case []any:
		c = slices.Clone(c)
		i := index(toks[0], len(c))
		if len(toks) == 1 {
			c[i] = x
		} else {
			c[i] = replaceIn(c[i], toks[1:], x)
		}
		return c
	case []string:
		l := make([]any, len(c))
		for i, s := range c {
			l[i] = s
		}
		return replaceIn(l, toks, x)
	}
	return v // unreachable: lookup found the path
}
