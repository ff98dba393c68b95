package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/a24ba333/indelible/event"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CompileError reports a schema that Compile refuses, with where in the
// source the problem is, so that whoever registers the schema can fix it.
type CompileError struct {
	Type    string // the event type the schema was for
	Version int    // the version it would have had

	// Line and Column locate a JSON syntax error in the source, from 1
	// (Column counts characters); both are 0 for other errors.
	Line, Column int
	// Pointer is the JSON Pointer (RFC 6901) of the offending value in the
	// schema, "" for the whole schema or when it is not known.
	Pointer string
	// Keyword is the schema keyword at fault, like "minimum" or "$ref",
	// "" when the problem is not one keyword's.
	Keyword string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, an *event.SyntaxError or an error of the
	// JSON Schema compiler, or nil.
	Err error
}

func (e *CompileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema %s@%d: ", e.Type, e.Version)
	switch {
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d, column %d", e.Line, e.Column)
		if e.Pointer != "" {
			fmt.Fprintf(&b, " (%s)", e.Pointer)
		}
		b.WriteString(": ")
	case e.Pointer != "" && e.Keyword != "":
		fmt.Fprintf(&b, "at %s, keyword %q: ", e.Pointer, e.Keyword)
	case e.Pointer != "":
		fmt.Fprintf(&b, "at %s: ", e.Pointer)
	case e.Keyword != "":
		fmt.Fprintf(&b, "keyword %q: ", e.Keyword)
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *CompileError) Unwrap() error { return e.Err }

// errNotLoaded is what the compiler's loader returns for every document.
var errNotLoaded = errors.New("references to other documents are not loaded")

// syntaxError converts an error of event.ParseJSON.
func syntaxError(eventType string, version int, err error) *CompileError {
	ce := &CompileError{Type: eventType, Version: version, Msg: err.Error(), Err: err}
	var se *event.SyntaxError
	if errors.As(err, &se) {
		ce.Line, ce.Column, ce.Pointer, ce.Msg = se.Line, se.Column, se.Path, se.Msg
	}
	return ce
}

// checkDialects refuses a "$schema" anywhere in doc that names another
// dialect than draft 2020-12: the compiler would otherwise switch to it,
// or try to load it.
func checkDialects(doc any) *CompileError {
	var ce *CompileError
	walkSchemas(doc, nil, func(ptr []string, obj map[string]any) {
		v, ok := obj["$schema"]
		if !ok || ce != nil {
			return
		}
		if s, ok := v.(string); ok && (s == draft2020 || s == draft2020+"#") {
			return
		}
		ce = &CompileError{
			Pointer: pointer(append(slices.Clone(ptr), "$schema")),
			Keyword: "$schema",
			Msg:     fmt.Sprintf("%s is not supported: schemas are JSON Schema draft 2020-12 (%q)", display(v), draft2020),
		}
	})
	return ce
}

// libraryError converts an error of the JSON Schema compiler about doc.
func libraryError(doc any, err error) *CompileError {
	ce := &CompileError{Msg: strings.ReplaceAll(err.Error(), baseURL, ""), Err: err}
	var (
		sve  *jsonschema.SchemaValidationError
		ve   *jsonschema.ValidationError
		load *jsonschema.LoadURLError
		ptr  *jsonschema.JSONPointerNotFoundError
		bad  *jsonschema.InvalidJsonPointerError
		anc  *jsonschema.AnchorNotFoundError
		purl *jsonschema.ParseURLError
	)
	switch {
	case errors.As(err, &sve) && errors.As(sve.Err, &ve):
		metaError(ce, ve)
	case errors.As(err, &load):
		ref := refError(ce, doc, load.URL)
		ce.Msg = fmt.Sprintf(`%s is outside this schema, and nothing is loaded from elsewhere: define it under "$defs" and refer to it as "#/$defs/<name>"`, quoted(ref))
	case errors.As(err, &ptr):
		ref := refError(ce, doc, ptr.URL)
		ce.Msg = fmt.Sprintf("%s does not resolve: there is nothing at that location in the schema", quoted(ref))
	case errors.As(err, &bad):
		ref := refError(ce, doc, bad.URL)
		ce.Msg = fmt.Sprintf("%s is not a valid JSON Pointer", quoted(ref))
	case errors.As(err, &anc):
		ref := refError(ce, doc, anc.Reference)
		ce.Msg = fmt.Sprintf("%s does not resolve: the schema defines no such anchor", quoted(ref))
	case errors.As(err, &purl):
		ref := refError(ce, doc, purl.URL)
		ce.Msg = fmt.Sprintf("%s is not a valid URI reference: %v", quoted(ref), purl.Err)
	}
	return ce
}

// refError sets the location of ce to that of the reference in doc that
// target is about, and returns the reference as written, or target.
func refError(ce *CompileError, doc any, target string) string {
	r, ok := findReference(doc, target)
	if !ok {
		return strings.ReplaceAll(target, baseURL, "")
	}
	ce.Pointer, ce.Keyword = pointer(r.ptr), r.ptr[len(r.ptr)-1]
	return r.value
}

// metaError sets ce from ve, the result of validating the schema against
// the draft's meta-schema: the failures at the deepest location, which is
// where a mistake inside a keyword's value shows best.
func metaError(ce *CompileError, ve *jsonschema.ValidationError) {
	leaves := failures(ve, false, nil)
	if len(leaves) == 0 {
		return
	}
	best := leaves[0]
	for _, l := range leaves[1:] {
		if len(l.InstanceLocation) > len(best.InstanceLocation) {
			best = l
		}
	}
	at := pointer(best.InstanceLocation)
	var msgs []string
	for _, l := range leaves {
		if pointer(l.InstanceLocation) != at {
			continue
		}
		if m := describe(l.ErrorKind); !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	ce.Pointer, ce.Keyword = at, keywordAt(best.InstanceLocation)
	ce.Msg = strings.Join(msgs, "; ")
}
