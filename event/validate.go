package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// FieldError is one problem with one field.
type FieldError struct {
	Path    string // JSON Pointer (RFC 6901) of the field; "" for the whole value
	Message string
}

func (e FieldError) String() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ValidationError lists every problem found in one event or entry.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	return "invalid event: " + joinFieldErrors(e.Errors)
}

func joinFieldErrors(errs []FieldError) string {
	var b strings.Builder
	for i, fe := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(fe.String())
	}
	return b.String()
}

// Maximum lengths of string fields, in bytes.
const (
	maxIDLen      = 128
	maxTypeLen    = 128
	maxRefLen     = 256 // actor.id, resource.id and most other strings
	maxAgentLen   = 1024
	maxMessageLen = 8 << 10
)

// Validate checks the fields of e as Parse does, for events built in
// code. allowReserved permits the category "indelible", which only the
// server may use. An empty Outcome is accepted and means "unknown".
// It returns nil or a *ValidationError.
func (e *Event) Validate(allowReserved bool) error {
	var v validator
	v.event(e, allowReserved, true)
	if len(v.errs) > 0 {
		return &ValidationError{Errors: v.errs}
	}
	return nil
}

type validator struct {
	errs []FieldError
}

func (v *validator) add(path, msg string) {
	v.errs = append(v.errs, FieldError{Path: path, Message: msg})
}

// event checks e. checkData walks Data, which is needed only when the
// values did not come from ParseJSON.
func (v *validator) event(e *Event, allowReserved, checkData bool) {
	if e.ID != "" {
		v.text("/id", e.ID, maxIDLen)
		for _, r := range e.ID {
			if r == ' ' || !unicode.IsPrint(r) {
				v.add("/id", "must contain only printable characters and no spaces")
				break
			}
		}
	}
	switch {
	case e.Time.IsZero():
		v.add("/time", "is required")
	case e.Time.UTC().Year() > 9999 || e.Time.UTC().Year() < 0:
		v.add("/time", "must be between the years 0000 and 9999 in UTC")
	}
	switch {
	case e.Type == "":
		v.add("/type", "is required")
	case len(e.Type) > maxTypeLen:
		v.add("/type", fmt.Sprintf("is longer than %d bytes", maxTypeLen))
	case !validType(e.Type):
		v.add("/type", `must be two or more dot-separated lowercase segments of a-z, 0-9, "_" and "-", like "auth.login"`)
	case !allowReserved && e.Category() == ReservedCategory:
		v.add("/type", fmt.Sprintf("the category %q is reserved for events written by Indelible", ReservedCategory))
	}
	switch e.Outcome {
	case "", OutcomeSuccess, OutcomeFailure, OutcomeUnknown:
	default:
		v.add("/outcome", `must be "success", "failure" or "unknown"`)
	}
	if e.Actor.ID == "" {
		v.add("/actor/id", "is required")
	}
	v.text("/actor/id", e.Actor.ID, maxRefLen)
	v.text("/actor/type", e.Actor.Type, maxRefLen)
	if e.Actor.IP != "" {
		if _, err := netip.ParseAddr(e.Actor.IP); err != nil {
			v.add("/actor/ip", "must be an IPv4 or IPv6 address")
		}
	}
	v.text("/actor/user_agent", e.Actor.UserAgent, maxAgentLen)
	if e.Resource != nil {
		v.text("/resource/type", e.Resource.Type, maxRefLen)
		v.text("/resource/id", e.Resource.ID, maxRefLen)
	}
	v.text("/project", e.Project, maxRefLen)
	v.text("/environment", e.Environment, maxRefLen)
	v.text("/source", e.Source, maxRefLen)
	v.text("/message", e.Message, maxMessageLen)
	v.text("/trace_id", e.TraceID, maxRefLen)
	v.text("/subject", e.Subject, maxRefLen)
	if checkData && e.Data != nil {
		if msg, path := checkValue(e.Data, 2, DefaultLimits().MaxDepth); msg != "" {
			v.add("/data"+path, msg)
		}
	}
}

// text checks a string field's length and encoding.
func (v *validator) text(path, s string, max int) {
	switch {
	case len(s) > max:
		v.add(path, fmt.Sprintf("is longer than %d bytes", max))
	case !utf8.ValidString(s):
		v.add(path, "is not valid UTF-8")
	}
}

// validType reports whether t is two or more dot-separated segments of
// [a-z0-9_-].
func validType(t string) bool {
	segs, seg := 1, 0
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '.':
			if seg == 0 {
				return false
			}
			segs, seg = segs+1, 0
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
			seg++
		default:
			return false
		}
	}
	return segs >= 2 && seg > 0
}

// checkValue checks that v is made only of values that AppendCanonical
// accepts and that its containers nest no deeper than maxDepth, v being at
// the given depth (the event is at depth 1, its data at depth 2). It returns a
// message and the JSON Pointer of the first problem below v.
func checkValue(v any, depth, maxDepth int) (msg, path string) {
	switch v := v.(type) {
	case nil, bool:
	case string:
		if !utf8.ValidString(v) {
			return "is not valid UTF-8", ""
		}
	case json.Number:
		if _, err := AppendCanonical(nil, v); err != nil {
			return err.Error(), ""
		}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "is not a finite number", ""
		}
	case int, int64, uint64:
		if _, err := AppendCanonical(nil, v); err != nil {
			return err.Error(), ""
		}
	case []string:
		if depth > maxDepth {
			return fmt.Sprintf("nests deeper than %d levels", maxDepth), ""
		}
		for i, s := range v {
			if !utf8.ValidString(s) {
				return "is not valid UTF-8", fmt.Sprintf("/%d", i)
			}
		}
	case []any:
		if depth > maxDepth {
			return fmt.Sprintf("nests deeper than %d levels", maxDepth), ""
		}
		for i, e := range v {
			if msg, path := checkValue(e, depth+1, maxDepth); msg != "" {
				return msg, fmt.Sprintf("/%d%s", i, path)
			}
		}
	case map[string]any:
		if depth > maxDepth {
			return fmt.Sprintf("nests deeper than %d levels", maxDepth), ""
		}
		for k, e := range v {
			if !utf8.ValidString(k) {
				return "has a key that is not valid UTF-8", ""
			}
			if msg, path := checkValue(e, depth+1, maxDepth); msg != "" {
				return msg, "/" + escapePointer(k) + path
			}
		}
	default:
		return fmt.Sprintf("has a value of unsupported type %T", v), ""
	}
	return "", ""
}

var errTimeFormat = errors.New(`must be an RFC 3339 time with a time zone, like "2026-11-23T19:40:00.123Z"`)

// parseTime parses an RFC 3339 time with at most nanosecond precision and
// returns it in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errTimeFormat
	}
	// time.Parse silently drops digits beyond nanoseconds.
	if len(s) > 20 && s[19] == '.' {
		n := 0
		for n < len(s)-20 && s[20+n] >= '0' && s[20+n] <= '9' {
			n++
		}
		if n > 9 {
			return time.Time{}, errors.New("must have at most 9 fractional digits of seconds")
		}
	}
	t = t.UTC()
	if t.Year() > 9999 || t.Year() < 0 {
		return time.Time{}, errors.New("must be between the years 0000 and 9999 in UTC")
	}
	return t, nil
}
