// Package schema holds the JSON Schemas (draft 2020-12) that event types
// are validated against before they are sealed, with versions.
//
// # What a schema validates
//
// The schema of an event type validates the event's data member, the
// type-specific fields: the other members of an event are checked by the
// event package for every type. An event without data is validated as the
// empty object {}, so a schema with "required" refuses it. Data values are
// those event.ParseJSON returns; numbers are compared exactly, as decimals,
// not as float64.
//
// # Which schemas are accepted
//
// A schema is a JSON document of at most MaxSourceSize bytes, parsed as
// strictly as events are (no duplicate keys, valid UTF-8 only), that is a
// valid draft 2020-12 schema: a "$schema" naming any other dialect is
// refused. It must be self-contained: "$ref" and "$dynamicRef" may point
// only into the schema itself ("#/$defs/money", "#anchor"); nothing is
// ever loaded from the network or the file system, and a reference that
// does not resolve, even in an unused "$defs" entry, is refused when the
// schema is compiled rather than when an event first needs it. So are
// references that lead back to where they started without descending into
// the value, like {"$ref": "#"}, against which nothing could be validated;
// recursion through the data ({"properties": {"next": {"$ref": "#"}}}) is
// fine.
//
// Patterns ("pattern", "patternProperties") use Go's RE2 syntax
// (package regexp), which runs in linear time; ECMA-262 features such as
// look-around and back-references are refused. "format" is an annotation
// only, as the draft 2020-12 default has it: {"format": "email"} accepts
// any string, and a schema validated by another draft 2020-12
// implementation (a client's, say) accepts the same data. Use "pattern"
// to constrain a string's form. The content keywords ("contentEncoding",
// "contentMediaType", "contentSchema") are annotations too.
//
// # Versions and identity
//
// Each registration of a type's schema is a new version, numbered 1, 2, ...
// in order; events are validated against the newest (Set.Check). A
// version's identity is its source in RFC 8785 canonical form
// (event.AppendCanonical): Schema.Source holds those bytes and Schema.Hash
// is "sha256:" followed by the lower-case hex SHA-256 of them. Compiling
// Source again yields the same Hash and the same validation, so a schema
// recorded in the log can be rebuilt from the log alone. Schema.Ref,
// "<type>@<version>" (like "payment.captured@2"), is what an entry's
// capture.schema records.
//
// Since the log is replayed from its entries, a schema that Compile once
// accepted must stay accepted, with the same Hash: a stricter rule belongs
// where schemas are registered, not here.
//
// # Errors
//
// A refused schema is a *CompileError that names the line and column of
// a JSON syntax error, or the JSON Pointer within the schema and the
// keyword at fault:
//
//	schema payment.captured@1: line 4, column 5 (/properties/amount): duplicate key "amount"
//	schema payment.captured@1: at /properties/amount/minimum, keyword "minimum": got string, want number
//	schema payment.captured@1: at /$ref, keyword "$ref": "#/$defs/money" does not resolve: there is nothing at that location in the schema
//
// Validation reports one event.FieldError per failed constraint, sorted
// by path. Path is "/data" followed by the JSON Pointer of the failing
// value; Message is `keyword "<keyword>": ` followed by what is wrong
// (the few failures that belong to no keyword, like that of a root schema
// false, name none):
//
//	/data/amount: keyword "maximum": 1200 is greater than 1000
//	/data: keyword "required": missing property "currency"
//
// The wording of messages may improve between releases; paths and keyword
// names do not change.
package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/a24ba333/indelible/event"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// MaxSourceSize is the largest accepted schema source, in bytes, the
// same as the largest event. A schema is recorded in the log, in the
// entry that registers it, so in practice it must also fit there (with
// JSON escaping, within event.MaxEntrySize); whoever writes that entry
// checks it.
const MaxSourceSize = 64 << 10

// maxSourceDepth is the deepest accepted nesting of a schema source. A
// schema nests about twice as deep as the data it describes, and event
// data nests at most 31 levels.
const maxSourceDepth = 128

// maxTypeLen is the longest event type, in bytes, as the event package
// accepts it.
const maxTypeLen = 128

// baseURL is the location the schema being compiled is known by. It is
// absolute, so that the compiler never looks at the file system to resolve
// it, and under a reserved top-level domain (RFC 2606), though nothing is
// loaded from it anyway.
const baseURL = "https://indelible.invalid/schema.json"

// draft2020 is the "$schema" of draft 2020-12, the only dialect accepted.
const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// Schema is one compiled version of an event type's schema. It is
// immutable and safe for concurrent use; its fields must not be changed.
type Schema struct {
	// Type is the event type the schema validates, like "payment.captured".
	Type string
	// Version is the schema's position among the registrations of Type,
	// from 1.
	Version int
	// Hash is "sha256:" and the lower-case hex SHA-256 of Source. It
	// identifies the schema's content, whatever its type and version.
	Hash string
	// Source is the schema in RFC 8785 canonical form.
	Source []byte

	compiled *jsonschema.Schema
}

// Compile parses and compiles src, a JSON document, as version version of
// the schema of eventType.
//
// eventType must be a valid event type outside the reserved category
// (the server's own events are not validated against schemas), and
// version at least 1. src must be a self-contained draft 2020-12 schema
// (see the package documentation). Every refusal is a *CompileError.
func Compile(eventType string, version int, src []byte) (*Schema, error) {
	fail := func(msg string) error {
		return &CompileError{Type: eventType, Version: version, Msg: msg}
	}
	if msg := checkType(eventType); msg != "" {
		return nil, fail(msg)
	}
	if version < 1 {
		return nil, fail(fmt.Sprintf("version %d is not valid: versions start at 1", version))
	}
	if len(src) > MaxSourceSize {
		return nil, fail(fmt.Sprintf("the schema is %d bytes, more than the %d allowed", len(src), MaxSourceSize))
	}
	lim := event.Limits{MaxBytes: MaxSourceSize, MaxDepth: maxSourceDepth}
	v, err := event.ParseJSON(src, lim)
	if err != nil {
		return nil, syntaxError(eventType, version, err)
	}
	canon, err := event.AppendCanonical(nil, v)
	if err != nil {
		// ParseJSON returns only values that AppendCanonical accepts.
		return nil, fail(fmt.Sprintf("canonicalising the schema: %v", err))
	}
	// Compile what is recorded: the canonical form, parsed again, so that
	// a number that canonicalisation rounds means the same in Source as in
	// the compiled schema.
	doc, err := event.ParseJSON(canon, lim)
	if err != nil {
		return nil, fail(fmt.Sprintf("parsing the canonical schema: %v", err))
	}
	compiled, cerr := compileDoc(doc)
	if cerr != nil {
		cerr.Type, cerr.Version = eventType, version
		return nil, cerr
	}
	sum := sha256.Sum256(canon)
	return &Schema{
		Type:     eventType,
		Version:  version,
		Hash:     "sha256:" + hex.EncodeToString(sum[:]),
		Source:   canon,
		compiled: compiled,
	}, nil
}

// Ref returns "<type>@<version>", like "payment.captured@2", which is what
// an entry's capture.schema records about the schema that validated it.
func (s *Schema) Ref() string {
	return s.Type + "@" + strconv.Itoa(s.Version)
}

// compileDoc compiles the parsed schema doc, refusing anything outside it.
func compileDoc(doc any) (*jsonschema.Schema, *CompileError) {
	if err := checkDialects(doc); err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(baseURL, doc); err != nil {
		return nil, &CompileError{Msg: err.Error(), Err: err}
	}
	sch, err := c.Compile(baseURL)
	if err != nil {
		return nil, libraryError(doc, err)
	}
	// Compile every subschema on its own too: the compiler reaches only
	// the "$defs" entries that are referenced, and a dangling or remote
	// reference in an unused one would otherwise surface only once someone
	// refers to it. Then look for reference cycles from each.
	if err := checkCycles(sch); err != nil {
		return nil, err
	}
	for _, ptr := range subschemaPointers(doc) {
		sub, err := c.Compile(baseURL + "#" + urlFragment(ptr))
		if err != nil {
			return nil, libraryError(doc, err)
		}
		if err := checkCycles(sub); err != nil {
			return nil, err
		}
	}
	return sch, nil
}

// checkCycles refuses a schema whose references go round in a circle
// without descending into the value, like {"$ref": "#"}: it compiles, but
// no value can ever be validated against it. Probing each subschema with
// a value of each JSON type finds such a cycle unless it is reached only
// under finer conditions, where validation still reports it.
func checkCycles(sch *jsonschema.Schema) *CompileError {
	for _, probe := range []any{map[string]any{}, []any{}, "", json.Number("0"), true, nil} {
		ve, ok := sch.Validate(probe).(*jsonschema.ValidationError)
		if !ok {
			continue
		}
		for _, l := range failures(ve, false, nil) {
			if k, ok := l.ErrorKind.(*kind.RefCycle); ok {
				_, frag, _ := strings.Cut(k.URL, "#")
				ce := &CompileError{Pointer: pointer(fragmentTokens(frag)), Err: ve}
				ce.Msg = "the schema's references lead back to it without validating anything"
				if ce.Pointer != "" {
					ce.Msg = "the subschema's references lead back to it without validating anything"
				}
				return ce
			}
		}
	}
	return nil
}

// refuseLoader is the compiler's loader for documents other than the
// schema itself and the draft's meta-schemas (which the compiler embeds):
// it loads nothing.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, errNotLoaded
}

// checkType returns why t cannot have a schema, or "".
func checkType(t string) string {
	switch {
	case t == "":
		return "the event type is required"
	case len(t) > maxTypeLen:
		return fmt.Sprintf("the event type is longer than %d bytes", maxTypeLen)
	case !validType(t):
		return fmt.Sprintf(`event type %q is not valid: it must be two or more dot-separated lowercase segments of a-z, 0-9, "_" and "-", like "auth.login"`, t)
	case (&event.Event{Type: t}).Category() == event.ReservedCategory:
		return fmt.Sprintf("event type %q is in the category %q, which is reserved for events written by Indelible and not validated against schemas", t, event.ReservedCategory)
	}
	return ""
}

// validType reports whether t is two or more dot-separated segments of
// [a-z0-9_-], the rule event.Event.Validate applies.
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
