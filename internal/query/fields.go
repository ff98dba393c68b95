package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/a24ba333/indelible/event"
)

// field names what a term looks at.
type field uint8

const (
	fieldID field = iota + 1
	fieldType
	fieldCategory
	fieldAction
	fieldOutcome
	fieldActorID
	fieldActorType
	fieldActorIP
	fieldActorUserAgent
	fieldResourceType
	fieldResourceID
	fieldProject
	fieldEnvironment
	fieldSource
	fieldSubject
	fieldTraceID
	fieldMessage
	fieldData // data.PATH
	fieldTime
	fieldIndex
)

// fieldNames are the names of the fields, by field. fieldData is the
// prefix of its paths.
var fieldNames = [...]string{
	fieldID:             "id",
	fieldType:           "type",
	fieldCategory:       "category",
	fieldAction:         "action",
	fieldOutcome:        "outcome",
	fieldActorID:        "actor.id",
	fieldActorType:      "actor.type",
	fieldActorIP:        "actor.ip",
	fieldActorUserAgent: "actor.user_agent",
	fieldResourceType:   "resource.type",
	fieldResourceID:     "resource.id",
	fieldProject:        "project",
	fieldEnvironment:    "environment",
	fieldSource:         "source",
	fieldSubject:        "subject",
	fieldTraceID:        "trace_id",
	fieldMessage:        "message",
	fieldData:           "data",
	fieldTime:           "time",
	fieldIndex:          "index",
}

// ordered reports whether the field takes the comparisons <, <=, > and >=.
func (f field) ordered() bool { return f == fieldData || f == fieldTime || f == fieldIndex }

// errDataPath explains the form of a data field.
var errDataPath = errors.New(`data needs a path of dot-separated keys, like data.method or data.user.name`)

// lookupField returns the field called name and, for data.PATH, the
// path's keys. The error says what is wrong with name.
func lookupField(name string) (field, []string, error) {
	if name == "data" || strings.HasPrefix(name, "data.") {
		path := strings.Split(strings.TrimPrefix(strings.TrimPrefix(name, "data"), "."), ".")
		for _, k := range path {
			if k == "" {
				return 0, nil, errDataPath
			}
		}
		return fieldData, path, nil
	}
	for f, n := range fieldNames {
		if n == name && n != "" && field(f) != fieldData {
			return field(f), nil, nil
		}
	}
	return 0, nil, &unknownFieldError{name: name, suggestion: suggest(name)}
}

// unknownFieldError is a field name that is not one of the language's.
type unknownFieldError struct {
	name       string
	suggestion string // a field that is close to name, or ""
}

func (e *unknownFieldError) Error() string {
	if e.suggestion != "" {
		return fmt.Sprintf("unknown field %q (did you mean %q?)", e.name, e.suggestion)
	}
	return fmt.Sprintf("unknown field %q", e.name)
}

// suggest returns the field name closest to name, if it is close enough
// to be a typing mistake: a third of its letters or fewer differ, case
// aside.
func suggest(name string) string {
	best, bestDist := "", max(1, len(name)/3)+1
	for f, n := range fieldNames {
		if n == "" || field(f) == fieldData {
			continue
		}
		if d := editDistance(strings.ToLower(name), n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// stringField returns the value of a field held as a string in the
// entry; absent fields are "", but for outcome, which is then "unknown",
// as the query index keeps it.
func stringField(e *event.Entry, f field) string {
	switch f {
	case fieldID:
		return e.ID
	case fieldType:
		return e.Type
	case fieldCategory:
		return e.Category()
	case fieldAction:
		return e.Action()
	case fieldOutcome:
		if e.Outcome == "" {
			return event.OutcomeUnknown
		}
		return e.Outcome
	case fieldActorID:
		return e.Actor.ID
	case fieldActorType:
		return e.Actor.Type
	case fieldActorIP:
		return e.Actor.IP
	case fieldActorUserAgent:
		return e.Actor.UserAgent
	case fieldResourceType:
		if e.Resource != nil {
			return e.Resource.Type
		}
	case fieldResourceID:
		if e.Resource != nil {
			return e.Resource.ID
		}
	case fieldProject:
		return e.Project
	case fieldEnvironment:
		return e.Environment
	case fieldSource:
		return e.Source
	case fieldSubject:
		return e.Subject
	case fieldTraceID:
		return e.TraceID
	case fieldMessage:
		return e.Message
	}
	return ""
}

// statsFields are the fields that statistics can group by: those with few
// distinct values. Identifiers, times and free text would make a group per
// entry.
var statsFields = []field{
	fieldType, fieldCategory, fieldAction, fieldOutcome, fieldActorID, fieldActorType,
	fieldResourceType, fieldResourceID, fieldProject, fieldEnvironment, fieldSource,
}

// ValidStatsField reports whether statistics can group entries by field
// (GET /v1/stats?by=field): one of type, category, action, outcome,
// actor.id, actor.type, resource.type, resource.id, project, environment,
// source, or data.PATH. The error says what is allowed, for the caller to
// show as it is.
func ValidStatsField(name string) error {
	f, _, err := lookupField(name)
	if err == nil && f != fieldData && !statsField(f) {
		err = fmt.Errorf("%s has a different value in almost every entry", name)
	}
	if err != nil {
		return fmt.Errorf("query: cannot group by %q: %v; group by one of %s or data.PATH", name, err, statsFieldList())
	}
	return nil
}

func statsField(f field) bool {
	for _, s := range statsFields {
		if s == f {
			return true
		}
	}
	return false
}

func statsFieldList() string {
	names := make([]string, len(statsFields))
	for i, f := range statsFields {
		names[i] = fieldNames[f]
	}
	return strings.Join(names, ", ")
}

// FieldValue returns the value of a statistics field (see
// ValidStatsField) in the entry, and whether the entry has one. An absent
// outcome is "unknown", as in the query index. A data value is written as
// its JSON text, but for a string, which is itself: "password", 1200,
// true, null, ["a","b"].
func FieldValue(e *event.Entry, name string) (string, bool) {
	f, path, err := lookupField(name)
	if err != nil || f != fieldData && !statsField(f) {
		return "", false
	}
	if f != fieldData {
		s := stringField(e, f)
		return s, s != ""
	}
	v, ok := lookup(e.Data, path)
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	}
	b, err := event.AppendCanonical(nil, v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// lookup returns the value at path in data: object members by key, array
// elements by decimal index.
func lookup(data map[string]any, path []string) (any, bool) {
	var v any = data
	for _, k := range path {
		switch c := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = c[k]; !ok {
				return nil, false
			}
		case []any:
			i, ok := arrayIndex(k, len(c))
			if !ok {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// arrayIndex parses k as an index into an array of n elements.
func arrayIndex(k string, n int) (int, bool) {
	if k == "" || len(k) > 1 && k[0] == '0' || strings.IndexFunc(k, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	i, err := strconv.Atoi(k)
	if err != nil || i < 0 || i >= n {
		return 0, false
	}
	return i, true
}
