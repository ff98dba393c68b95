package schema

import (
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/a24ba333/indelible/event"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// Validate validates the data of ev against s and returns nil or one
// event.FieldError per failed constraint, sorted by path and message.
// Each Path is "/data" followed by the JSON Pointer of the failing value
// ("/data" itself for a failure of the whole object, like a missing
// required property); each Message names the keyword that failed, like
// `keyword "maximum": 1200 is greater than 1000`. A failed "anyOf" or
// "oneOf" is one error that lists why each alternative failed. An event
// without data is validated as the empty object.
func (s *Schema) Validate(ev *event.Event) []event.FieldError {
	var data map[string]any
	if ev != nil {
		data = ev.Data
	}
	// A nil map is an empty object to the validator, so that no event
	// needs a copy of its data.
	err := s.compiled.Validate(data)
	if err == nil {
		return nil
	}
	leaves := validationFailures(err)
	if hasInvalidValue(leaves) {
		// Events built in code may hold []string, which the event package
		// accepts but the validator does not: retry with []any.
		if norm, changed := normalize(data); changed {
			if err = s.compiled.Validate(norm); err == nil {
				return nil
			}
			leaves = validationFailures(err)
		}
	}
	errs := make([]event.FieldError, 0, len(leaves))
	for _, l := range leaves {
		errs = append(errs, event.FieldError{Path: "/data" + pointer(l.InstanceLocation), Message: message(l)})
	}
	slices.SortFunc(errs, func(a, b event.FieldError) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(errs)
}

// validationFailures returns the failures that err, an error of
// (*jsonschema.Schema).Validate, reports about the data.
func validationFailures(err error) []*jsonschema.ValidationError {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []*jsonschema.ValidationError{{ErrorKind: &kind.Group{}}}
	}
	return failures(ve, true, nil)
}

// failures appends to acc the failures that e is made of. With data set,
// a failed "anyOf", "oneOf", "contains" or "propertyNames" counts as one
// failure, not as the failures of the subschemas it tried.
func failures(e *jsonschema.ValidationError, data bool, acc []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return append(acc, e)
	}
	if data {
		switch e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf, *kind.Contains, *kind.MinContains, *kind.PropertyNames, *kind.ContentSchema:
			return append(acc, e)
		}
	}
	for _, c := range e.Causes {
		acc = failures(c, data, acc)
	}
	return acc
}

func hasInvalidValue(leaves []*jsonschema.ValidationError) bool {
	for _, l := range leaves {
		if _, ok := l.ErrorKind.(*kind.InvalidJsonValue); ok {
			return true
		}
	}
	return false
}

// normalize returns v with every []string replaced by an []any, copying
// only what changes, and whether anything did.
func normalize(v any) (any, bool) {
	switch v := v.(type) {
	case []string:
		a := make([]any, len(v))
		for i, s := range v {
			a[i] = s
		}
		return a, true
	case []any:
		var out []any
		for i, e := range v {
			if n, changed := normalize(e); changed {
				if out == nil {
					out = slices.Clone(v)
				}
				out[i] = n
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case map[string]any:
		var out map[string]any
		for k, e := range v {
			if n, changed := normalize(e); changed {
				if out == nil {
					out = make(map[string]any, len(v))
					for k2, e2 := range v {
						out[k2] = e2
					}
				}
				out[k] = n
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// message is the FieldError message of the failure e.
func message(e *jsonschema.ValidationError) string {
	msg := describe(e.ErrorKind)
	switch k := e.ErrorKind.(type) {
	case *kind.AnyOf:
		msg += alternatives(e)
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			msg += alternatives(e)
		}
	}
	kw := keyword(e)
	if kw == "" {
		return msg
	}
	return fmt.Sprintf("keyword %q: %s", kw, msg)
}

// maxAlternatives bounds the text alternatives returns.
const maxAlternatives = 400

// alternatives says why each subschema of a failed "anyOf" or "oneOf"
// failed: " (0: keyword "type": got string, want integer; 1: ...)".
func alternatives(e *jsonschema.ValidationError) string {
	var b strings.Builder
	b.WriteString(" (")
	for i, c := range e.Causes {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d: ", i)
		for j, l := range failures(c, true, nil) {
			if j > 0 {
				b.WriteString(", ")
			}
			if len(l.InstanceLocation) > len(e.InstanceLocation) {
				fmt.Fprintf(&b, "at %s ", pointer(l.InstanceLocation[len(e.InstanceLocation):]))
			}
			b.WriteString(message(l))
		}
		if b.Len() > maxAlternatives {
			return truncate(b.String(), maxAlternatives) + ")"
		}
	}
	b.WriteString(")")
	return b.String()
}

// keyword returns the keyword that failed in e, or "".
func keyword(e *jsonschema.ValidationError) string {
	switch e.ErrorKind.(type) {
	case *kind.FalseSchema:
		// The false schema is the value of a keyword of its parent.
		_, frag, _ := strings.Cut(e.SchemaURL, "#")
		return keywordAt(fragmentTokens(frag))
	case *kind.Not:
		return "not"
	}
	if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
		return kp[0]
	}
	return ""
}

// fragmentTokens returns the reference tokens of a JSON Pointer written
// as a URL fragment.
func fragmentTokens(frag string) []string {
	if frag == "" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(frag, "/"), "/")
	for i, t := range toks {
		if u, err := url.PathUnescape(t); err == nil {
			t = u
		}
		toks[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
	}
	return toks
}

// describe says what failed, without the keyword.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("got %s, want %s", k.Got, strings.Join(k.Want, " or "))
	case *kind.Required:
		return "missing " + properties(k.Missing)
	case *kind.DependentRequired:
		return fmt.Sprintf("missing %s, required when property %s is present", properties(k.Missing), quoted(k.Prop))
	case *kind.Dependency:
		return fmt.Sprintf("missing %s, required when property %s is present", properties(k.Missing), quoted(k.Prop))
	case *kind.AdditionalProperties:
		if len(k.Properties) == 1 {
			return properties(k.Properties) + " is not allowed"
		}
		// The validator lists them in map order.
		return properties(slices.Sorted(slices.Values(k.Properties))) + " are not allowed"
	case *kind.Enum:
		if len(k.Want) == 1 {
			return display(k.Got) + " is not " + display(k.Want[0])
		}
		return display(k.Got) + " is not one of " + list(k.Want)
	case *kind.Const:
		return display(k.Got) + " is not " + display(k.Want)
	case *kind.Minimum:
		return ratString(k.Got) + " is less than " + ratString(k.Want)
	case *kind.Maximum:
		return ratString(k.Got) + " is greater than " + ratString(k.Want)
	case *kind.ExclusiveMinimum:
		return ratString(k.Got) + " is not greater than " + ratString(k.Want)
	case *kind.ExclusiveMaximum:
		return ratString(k.Got) + " is not less than " + ratString(k.Want)
	case *kind.MultipleOf:
		return ratString(k.Got) + " is not a multiple of " + ratString(k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("is %d characters long, want at least %d", k.Got, k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("is %d characters long, want at most %d", k.Got, k.Want)
	case *kind.MinItems:
		return fmt.Sprintf("has %d items, want at least %d", k.Got, k.Want)
	case *kind.MaxItems:
		return fmt.Sprintf("has %d items, want at most %d", k.Got, k.Want)
	case *kind.MinProperties:
		return fmt.Sprintf("has %d properties, want at least %d", k.Got, k.Want)
	case *kind.MaxProperties:
		return fmt.Sprintf("has %d properties, want at most %d", k.Got, k.Want)
	case *kind.Pattern:
		return quoted(k.Got) + " does not match " + quoted(k.Want)
	case *kind.Format:
		return fmt.Sprintf("%s is not a valid %s: %v", display(k.Got), k.Want, k.Err)
	case *kind.UniqueItems:
		return fmt.Sprintf("items %d and %d are equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains:
		return "no item matches the subschema"
	case *kind.MinContains:
		return fmt.Sprintf("%d items match the subschema of \"contains\", want at least %d", len(k.Got), k.Want)
	case *kind.MaxContains:
		return fmt.Sprintf("%d items match the subschema of \"contains\", want at most %d", len(k.Got), k.Want)
	case *kind.PropertyNames:
		return fmt.Sprintf("property name %s does not match the subschema", quoted(k.Property))
	case *kind.Not:
		return "matches the subschema, which it must not"
	case *kind.AllOf:
		return "does not match all of the subschemas"
	case *kind.AnyOf:
		return "matches none of the subschemas"
	case *kind.OneOf:
		if len(k.Subschemas) >= 2 {
			return fmt.Sprintf("matches subschemas %d and %d, want exactly one", k.Subschemas[0], k.Subschemas[1])
		}
		return "matches none of the subschemas"
	case *kind.FalseSchema:
		return "no value is allowed here (the schema is false)"
	case *kind.AdditionalItems:
		return fmt.Sprintf("the last %d items are not allowed", k.Count)
	case *kind.InvalidJsonValue:
		return fmt.Sprintf("has a value of unsupported type %T", k.Value)
	case *kind.RefCycle:
		_, frag, _ := strings.Cut(k.URL, "#")
		return fmt.Sprintf("the references of the schema at %s lead back to it without validating anything", quoted("#"+frag))
	case nil:
		return "is not valid"
	}
	// The validator's own wording, for the rare rest.
	out := (&jsonschema.ValidationError{ErrorKind: k}).BasicOutput()
	if out.Error != nil {
		return strings.ReplaceAll(out.Error.String(), baseURL, "")
	}
	return "is not valid"
}

// maxDisplay is the longest string a message shows in full, in bytes.
const maxDisplay = 64

// display writes v, a JSON value, for a message: primitives as JSON,
// long strings shortened, containers by their type.
func display(v any) string {
	switch v := v.(type) {
	case string:
		return quoted(v)
	case map[string]any:
		return "an object"
	case []any, []string:
		return "an array"
	}
	b, err := event.AppendCanonical(nil, v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// quoted writes s as a JSON string, shortened to maxDisplay bytes.
func quoted(s string) string {
	s = truncate(s, maxDisplay)
	b, err := event.AppendCanonical(nil, s)
	if err != nil {
		return strconv.Quote(s)
	}
	return string(b)
}

// truncate shortens s to at most n bytes and a marker, at a character
// boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// maxListed is the most enum values a message lists.
const maxListed = 10

// list writes values for a message: `"a", "b" or "c"`.
func list(values []any) string {
	var parts []string
	for i, v := range values {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("… (%d values in all)", len(values)))
			break
		}
		parts = append(parts, display(v))
	}
	if len(parts) < 2 {
		return strings.Join(parts, "")
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// properties writes property names for a message: `property "a"` or
// `properties "a", "b"`.
func properties(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoted(n)
	}
	if len(q) == 1 {
		return "property " + q[0]
	}
	return "properties " + strings.Join(q, ", ")
}

// ratString writes a number of the validator exactly, as a decimal:
// integers in full, others as ECMAScript writes them when a float64 holds
// them exactly, else with as many digits as they need.
func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		if s := r.Num().String(); len(s) <= 21 {
			return s
		}
	}
	f, exact := r.Float64()
	if !exact {
		for prec := 1; prec <= 64; prec++ {
			s := r.FloatString(prec)
			if q, ok := new(big.Rat).SetString(s); ok && q.Cmp(r) == 0 {
				return s
			}
		}
	}
	b, err := event.AppendCanonical(nil, f)
	if err != nil {
		return r.FloatString(6)
	}
	return string(b)
}
