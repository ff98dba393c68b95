package query

import (
	"encoding/json"
	"strings"

	"github.com/a24ba333/indelible/event"
)

// entryView is the entry being matched.
type entryView struct {
	e     *event.Entry
	index uint64
}

// Match reports whether the entry at index in its log satisfies x. The
// entry is one as event.ParseEntry returns it (numbers in data are
// json.Number). A nil x matches everything, like the empty expression.
//
// Match needs absolute times: a relative time ("time>=-24h") that Resolve
// or Compile has not fixed compares false, since Match has no clock of its
// own, so that the same expression gives the same answer on every call.
func Match(x Expr, e *event.Entry, index uint64) bool {
	if x == nil {
		return true
	}
	return x.match(entryView{e: e, index: index})
}

func (all) match(entryView) bool { return true }

func (x and) match(v entryView) bool {
	for _, y := range x {
		if !y.match(v) {
			return false
		}
	}
	return true
}

func (x or) match(v entryView) bool {
	for _, y := range x {
		if y.match(v) {
			return true
		}
	}
	return false
}

func (x not) match(v entryView) bool { return !x.x.match(v) }

func (x *term) match(v entryView) bool {
	e := v.e
	switch x.field {
	case fieldTime:
		return x.val.rel == "" && x.op.holds(cmpInt(e.Time.UnixMilli(), x.val.ms))
	case fieldIndex:
		return x.op.holds(cmpInt(v.index, x.val.n))
	case fieldData:
		return anyAt(e.Data, x.path, x)
	case fieldMessage:
		return (!x.val.glob || e.Message != "") && containsFold(e.Message, &x.val.pat)
	}
	s := stringField(e, x.field)
	if x.val.glob {
		return s != "" && x.val.pat.match(s)
	}
	return s == x.val.text
}

// anyAt reports whether x holds for the value at path in v, or for an
// element of the array there. An array on the path is searched element by
// element unless the key is an index into it.
func anyAt(v any, path []string, x *term) bool {
	if len(path) == 0 {
		if a, ok := v.([]any); ok {
			for _, y := range a {
				if anyAt(y, nil, x) {
					return true
				}
			}
			return false
		}
		return x.matchData(v)
	}
	switch c := v.(type) {
	case map[string]any:
		y, ok := c[path[0]]
		return ok && anyAt(y, path[1:], x)
	case []any:
		if i, ok := arrayIndex(path[0], len(c)); ok {
			return anyAt(c[i], path[1:], x)
		}
		for _, y := range c {
			if anyAt(y, path, x) {
				return true
			}
		}
	}
	return false
}

// matchData compares one data value (not an array) with the term's value.
// Numbers compare numerically with a value that is a number, strings by
// their bytes; true, false and null equal those words. Objects match no
// term. A pattern matches the value's JSON text (a string's own text).
func (x *term) matchData(v any) bool {
	if x.val.glob {
		s, ok := scalarText(v)
		return ok && x.val.pat.match(s)
	}
	switch v := v.(type) {
	case string:
		return x.op.holds(strings.Compare(v, x.val.text))
	case bool:
		return x.op == opEq && (v && x.val.text == "true" || !v && x.val.text == "false")
	case nil:
		return x.op == opEq && x.val.text == "null"
	case map[string]any, []any:
		return false
	}
	if !x.val.isNum {
		return false
	}
	d, ok := numberOf(v)
	return ok && x.op.holds(cmpDecimal(&d, &x.val.num))
}

// scalarText returns the text of a string, number, boolean or null.
func scalarText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case nil:
		return "null", true
	case map[string]any, []any:
		return "", false
	}
	b, err := event.AppendCanonical(nil, v)
	return string(b), err == nil
}

func (x *text) match(v entryView) bool {
	e := v.e
	p := &x.val.pat
	if containsFold(e.Message, p) || containsFold(e.Type, p) || containsFold(e.Actor.ID, p) {
		return true
	}
	if e.Resource != nil && containsFold(e.Resource.ID, p) {
		return true
	}
	return anyString(e.Data, p)
}

// anyString reports whether a string anywhere in v contains p.
func anyString(v any, p *pattern) bool {
	switch v := v.(type) {
	case string:
		return containsFold(v, p)
	case map[string]any:
		for _, y := range v {
			if anyString(y, p) {
				return true
			}
		}
	case []any:
		for _, y := range v {
			if anyString(y, p) {
				return true
			}
		}
	}
	return false
}

// containsFold reports whether s contains p (lower-case), ignoring case.
func containsFold(s string, p *pattern) bool {
	return p.contains(strings.ToLower(s))
}
