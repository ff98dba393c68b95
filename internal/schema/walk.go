package schema

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// How a keyword's value relates to subschemas, in draft 2020-12.
type kwClass int

const (
	kwValue       kwClass = iota // not a schema: "type", "required", "enum", ...
	kwSchema                     // one schema: "items", "not", ...
	kwSchemaMap                  // an object of schemas: "properties", "$defs", ...
	kwSchemaArray                // an array of schemas: "allOf", "prefixItems", ...
)

func classOf(kw string) kwClass {
	switch kw {
	case "items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems",
		"propertyNames", "contains", "not", "if", "then", "else", "contentSchema":
		return kwSchema
	case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
		return kwSchemaMap
	case "allOf", "anyOf", "oneOf", "prefixItems":
		return kwSchemaArray
	}
	return kwValue
}

// walkSchemas calls fn for v, a schema at ptr, and every subschema in it
// that is an object, parents first and members in key order. It follows
// the structure of the keywords only, so it works on documents that are
// not valid schemas. fn must not keep ptr.
func walkSchemas(v any, ptr []string, fn func(ptr []string, obj map[string]any)) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	fn(ptr, obj)
	for _, k := range sortedKeys(obj) {
		p := append(slices.Clip(ptr), k)
		switch classOf(k) {
		case kwSchema:
			walkSchemas(obj[k], p, fn)
		case kwSchemaMap:
			if m, ok := obj[k].(map[string]any); ok {
				for _, name := range sortedKeys(m) {
					walkSchemas(m[name], append(slices.Clip(p), name), fn)
				}
			}
		case kwSchemaArray:
			if a, ok := obj[k].([]any); ok {
				for i, e := range a {
					walkSchemas(e, append(slices.Clip(p), strconv.Itoa(i)), fn)
				}
			}
		}
	}
}

// keywordAt returns the keyword of the schema that the location ptr, in
// a schema document, belongs to: "minimum" for /properties/amount/minimum,
// "required" for /required/0, "" for the root.
func keywordAt(ptr []string) string {
	kw := ""
	for i := 0; i < len(ptr); i++ {
		kw = ptr[i]
		switch classOf(kw) {
		case kwValue:
			return kw
		case kwSchemaMap, kwSchemaArray:
			i++ // the member name or index; a schema follows
		}
	}
	return kw
}

// subschemaPointers returns the locations of the subschemas in doc that
// are objects, the root excepted.
func subschemaPointers(doc any) [][]string {
	var ptrs [][]string
	walkSchemas(doc, nil, func(ptr []string, obj map[string]any) {
		if len(ptr) > 0 {
			ptrs = append(ptrs, slices.Clone(ptr))
		}
	})
	return ptrs
}

// A reference is one "$ref" or "$dynamicRef" in a schema document.
type reference struct {
	ptr   []string // location of the keyword
	value string
}

// references returns the references in doc, in document order.
func references(doc any) []reference {
	var refs []reference
	walkSchemas(doc, nil, func(ptr []string, obj map[string]any) {
		for _, kw := range []string{"$dynamicRef", "$ref"} {
			if s, ok := obj[kw].(string); ok {
				refs = append(refs, reference{append(slices.Clone(ptr), kw), s})
			}
		}
	})
	return refs
}

// findReference returns the reference in doc that target, a URL in an
// error of the compiler, is about: the one that resolves to target, with
// or without its fragment, or else the first one target ends with.
func findReference(doc any, target string) (reference, bool) {
	refs := references(doc)
	base, _ := url.Parse(baseURL)
	for _, r := range refs {
		u, err := url.Parse(r.value)
		if err != nil {
			continue
		}
		abs := base.ResolveReference(u).String()
		noFrag, _, _ := strings.Cut(abs, "#")
		if abs == target || noFrag == target || strings.TrimSuffix(abs, "#") == target {
			return r, true
		}
	}
	for _, r := range refs {
		if r.value != "" && strings.HasSuffix(target, r.value) {
			return r, true
		}
	}
	return reference{}, false
}

// pointer returns the JSON Pointer (RFC 6901) of the reference tokens.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapeToken(t))
	}
	return b.String()
}

// urlFragment returns the JSON Pointer of tokens as a URL fragment.
func urlFragment(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(escapeToken(t)))
	}
	return b.String()
}

func escapeToken(t string) string {
	if !strings.ContainsAny(t, "~/") {
		return t
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(t)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
