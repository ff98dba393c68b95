package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// compileTests are sources that Compile accepts; they also seed FuzzCompile.
var compileTests = []struct {
	name, src string
}{
	{"empty", `{}`},
	{"true", `true`},
	{"false", `false`},
	{"draft", `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}`},
	{"draft with empty fragment", `{"$schema": "https://json-schema.org/draft/2020-12/schema#"}`},
	{"defs", `{"$defs": {"money": {"type": "integer", "minimum": 0}}, "properties": {"amount": {"$ref": "#/$defs/money"}}}`},
	{"escaped def name", `{"$defs": {"a b/c~d": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/a%20b~1c~0d"}}}`},
	{"anchor", `{"$defs": {"m": {"$anchor": "money", "type": "number"}}, "properties": {"a": {"$ref": "#money"}}}`},
	{"recursive", `{"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}}`},
	{"unused defs", `{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"type": "string"}}}`},
	{"format", `{"properties": {"email": {"type": "string", "format": "email"}}}`},
	{"unknown keywords", `{"x-owner": "payments", "x-tags": [1, {"$ref": "nowhere"}]}`},
	{"definitions", `{"definitions": {"money": {"type": "integer"}}, "properties": {"a": {"$ref": "#/definitions/money"}}}`},
	{"dynamic", `{"$dynamicAnchor": "node", "properties": {"next": {"$dynamicRef": "#node"}}}`},
	{"numbers", `{"properties": {"n": {"maximum": 1.0e3, "minimum": -0, "multipleOf": 0.01}}}`},
	{"embedded resource", `{"properties": {"a": {"$id": "https://example.com/a", "properties": {"b": {"$ref": "#/$defs/c"}}, "$defs": {"c": {"type": "string"}}}}}`},
	{"recursion through data", `{"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"}`},
	{"everything", benchSchema},
}

func TestCompile(t *testing.T) {
	for _, tt := range compileTests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := Compile("payment.captured", 2, []byte(tt.src))
			if err != nil {
				t.Fatalf("Compile(%q) = %v, want success", tt.src, err)
			}
			want, err := event.Canonicalize([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if string(sc.Source) != string(want) {
				t.Errorf("Compile(%q).Source = %s, want %s", tt.src, sc.Source, want)
			}
			sum := sha256.Sum256(want)
			if h := "sha256:" + hex.EncodeToString(sum[:]); sc.Hash != h {
				t.Errorf("Compile(%q).Hash = %s, want %s", tt.src, sc.Hash, h)
			}
			if sc.Type != "payment.captured" || sc.Version != 2 || sc.Ref() != "payment.captured@2" {
				t.Errorf("Compile(%q) = %s (type %q, version %d), want payment.captured@2", tt.src, sc.Ref(), sc.Type, sc.Version)
			}
			again, err := Compile("payment.captured", 2, sc.Source)
			if err != nil || again.Hash != sc.Hash {
				t.Errorf("Compile(Compile(%q).Source) = %v, %v, want hash %s", tt.src, again, err, sc.Hash)
			}
		})
	}
}

// TestCompileCanonicalNumbers checks that a schema means what its
// recorded canonical source means, even where canonicalisation rounds.
func TestCompileCanonicalNumbers(t *testing.T) {
	src := `{"properties": {"n": {"maximum": 9007199254740993}}}`
	sc, err := Compile("a.b", 1, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"properties":{"n":{"maximum":9007199254740992}}}`; string(sc.Source) != want {
		t.Fatalf("Compile(%q).Source = %s, want %s", src, sc.Source, want)
	}
	ev := &event.Event{Data: map[string]any{"n": jsonNumber("9007199254740993")}}
	if errs := sc.Validate(ev); len(errs) != 1 {
		t.Errorf("Validate(n=9007199254740993) = %v, want the maximum of the canonical source, 9007199254740992", errs)
	}
}

// compileErrorTests are sources that Compile refuses; they also seed
// FuzzCompile.
var compileErrorTests = []struct {
	name    string
	typ     string
	version int
	src     string
	// What the *CompileError must hold.
	line, col int
	ptr, kw   string
	msg       string // a substring of Msg
}{
	{name: "empty", src: ``, line: 1, col: 1, msg: "unexpected end of input"},
	{name: "not JSON", src: "{\n  \"type\": object\n}", line: 2, col: 11, ptr: "/type", msg: "unexpected character 'o'"},
	{name: "trailing comma", src: `{"type": "object",}`, line: 1, col: 19, msg: "want a string key"},
	{name: "two values", src: `{} {}`, line: 1, col: 4, msg: "after top-level value"},
	{name: "duplicate key", src: "{\"properties\": {\n  \"a\": {},\n  \"a\": {}}}", line: 3, col: 3, ptr: "/properties/a", msg: `duplicate key "a"`},
	{name: "invalid UTF-8", src: "{\"description\": \"\xff\"}", line: 1, col: 18, ptr: "/description", msg: "invalid UTF-8"},
	{name: "unknown ref in unused definitions", src: `{"definitions": {"a": {"$ref": "#/definitions/b"}}}`, ptr: "/definitions/a/$ref", kw: "$ref", msg: `"#/definitions/b" does not resolve`},
	{name: "type not a string", src: `{"type": 5}`, ptr: "/type", kw: "type", msg: `5 is not one of "array"`},
	{name: "unknown type name", src: `{"properties": {"a": {"type": "strin"}}}`, ptr: "/properties/a/type", kw: "type", msg: `"strin" is not one of`},
	{name: "type list", src: `{"type": ["string", 5]}`, ptr: "/type/1", kw: "type", msg: "5 is not one of"},
	{name: "minimum not a number", src: `{"minimum": "x"}`, ptr: "/minimum", kw: "minimum", msg: "got string, want number"},
	{name: "negative maxLength", src: `{"properties": {"a": {"maxLength": -1}}}`, ptr: "/properties/a/maxLength", kw: "maxLength", msg: "-1 is less than 0"},
	{name: "required not strings", src: `{"required": [1]}`, ptr: "/required/0", kw: "required", msg: "got number, want string"},
	{name: "bad pattern", src: `{"pattern": "(?=x)"}`, ptr: "/pattern", kw: "pattern", msg: "is not a valid regex"},
	{name: "not a schema", src: `5`, msg: "got number, want boolean or object"},
	{name: "items not a schema", src: `{"items": [{}]}`, ptr: "/items", kw: "items", msg: "got array, want boolean or object"},
	{name: "unknown ref", src: `{"properties": {"a": {"$ref": "#/$defs/nope"}}}`, ptr: "/properties/a/$ref", kw: "$ref", msg: `"#/$defs/nope" does not resolve`},
	{name: "unknown ref in unused defs", src: `{"$defs": {"a": {"items": {"$ref": "#/$defs/b"}}}}`, ptr: "/$defs/a/items/$ref", kw: "$ref", msg: `"#/$defs/b" does not resolve`},
	{name: "unknown anchor", src: `{"$ref": "#money"}`, ptr: "/$ref", kw: "$ref", msg: "no such anchor"},
	{name: "remote ref", src: `{"$ref": "https://example.com/money.json"}`, ptr: "/$ref", kw: "$ref", msg: "is outside this schema"},
	{name: "relative ref", src: `{"properties": {"a": {"$ref": "money.json#/x"}}}`, ptr: "/properties/a/$ref", kw: "$ref", msg: `"money.json#/x" is outside this schema`},
	{name: "file ref", src: `{"$ref": "file:///etc/passwd"}`, ptr: "/$ref", kw: "$ref", msg: "is outside this schema"},
	{name: "ref via id", src: `{"$id": "https://example.com/a.json", "$ref": "b.json"}`, ptr: "/$ref", kw: "$ref", msg: `"b.json" is outside this schema`},
	{name: "ref cycle", src: `{"$ref": "#"}`, msg: "the schema's references lead back to it"},
	{name: "ref cycle through allOf", src: `{"allOf": [{"$ref": "#"}]}`, msg: "the schema's references lead back to it"},
	{name: "ref cycle in defs", src: `{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}`, ptr: "/$defs/a", msg: "the subschema's references lead back to it"},
	{name: "ref cycle in a property", src: `{"properties": {"a": {"$ref": "#/properties/a"}}}`, ptr: "/properties/a", msg: "the subschema's references lead back to it"},
	{name: "ref cycle under if", src: `{"if": {"type": "string"}, "then": {"$ref": "#"}}`, msg: "the schema's references lead back to it"},
	{name: "other draft", src: `{"$schema": "http://json-schema.org/draft-07/schema#"}`, ptr: "/$schema", kw: "$schema", msg: "is not supported"},
	{name: "custom meta-schema", src: `{"properties": {"a": {"$id": "https://example.com/a", "$schema": "https://example.com/meta"}}}`, ptr: "/properties/a/$schema", kw: "$schema", msg: "is not supported"},
	{name: "schema not a string", src: `{"$schema": 1}`, ptr: "/$schema", kw: "$schema", msg: "1 is not supported"},
	{name: "bad type", typ: "Payment.Captured", src: `{}`, msg: `event type "Payment.Captured" is not valid`},
	{name: "one segment", typ: "payment", src: `{}`, msg: `event type "payment" is not valid`},
	{name: "empty segment", typ: "payment..captured", src: `{}`, msg: "is not valid"},
	{name: "no type", typ: "-", src: `{}`, msg: "the event type is required"},
	{name: "long type", typ: "a." + strings.Repeat("b", 127), src: `{}`, msg: "longer than 128 bytes"},
	{name: "reserved type", typ: "indelible.schema.registered", src: `{}`, msg: "reserved"},
	{name: "version 0", version: -1, src: `{}`, msg: "version 0 is not valid"},
	{name: "negative version", version: -2, src: `{}`, msg: "version -2 is not valid"},
	{name: "too large", src: `{"description": "` + strings.Repeat("x", MaxSourceSize) + `"}`, msg: "more than the 65536 allowed"},
}

func TestCompileErrors(t *testing.T) {
	for _, tt := range compileErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			typ, version := errorTestArgs(tt.typ, tt.version)
			sc, err := Compile(typ, version, []byte(tt.src))
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q, %d, %.80q) = %v, %v, want a *CompileError", typ, version, tt.src, sc, err)
			}
			if ce.Line != tt.line || ce.Column != tt.col || ce.Pointer != tt.ptr || ce.Keyword != tt.kw ||
				!strings.Contains(ce.Msg, tt.msg) || ce.Type != typ || ce.Version != version {
				t.Errorf("Compile(%q, %d, %.80q) = %#v,\nwant line %d, column %d, pointer %q, keyword %q, message containing %q",
					typ, version, tt.src, ce, tt.line, tt.col, tt.ptr, tt.kw, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "schema "+typ+"@") || !strings.Contains(err.Error(), ce.Msg) {
				t.Errorf("Compile(%q, %d, %.80q).Error() = %q, want it to start with the schema and hold the message", typ, version, tt.src, err)
			}
			if strings.Contains(err.Error(), baseURL) {
				t.Errorf("Compile(%q).Error() = %q, mentions the internal base URL", tt.src, err)
			}
		})
	}
}

// errorTestArgs maps the zero values of a compileErrorTests case to a
// valid type and version ("-" is the empty type, -1 version 0).
func errorTestArgs(typ string, version int) (string, int) {
	switch typ {
	case "":
		typ = "payment.captured"
	case "-":
		typ = ""
	}
	switch version {
	case 0:
		version = 1
	case -1:
		version = 0
	}
	return typ, version
}

// TestCompileEventType cross-checks the event types Compile accepts with
// those the event package accepts.
func TestCompileEventType(t *testing.T) {
	for _, typ := range []string{
		"auth.login", "a.b", "payment.card.captured", "a-b.c_d.0", "auth", "Auth.login", "auth..login",
		".auth", "auth.", "auth login", "auth.lögin", "indelible.key.created", "indelible", "", "a." + strings.Repeat("x", 126),
		"a." + strings.Repeat("x", 127),
	} {
		ev := &event.Event{Type: typ, Time: time.Unix(0, 0), Actor: event.Actor{ID: "alice"}}
		eventOK := ev.Validate(false) == nil
		_, err := Compile(typ, 1, []byte(`{}`))
		if (err == nil) != eventOK {
			t.Errorf("Compile(%q) = %v, but event.Validate says the type is valid: %v", typ, err, eventOK)
		}
	}
}

// TestCompileLoadsNothing checks that no reference is ever fetched, over
// the network or from files.
func TestCompileLoadsNothing(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/schema+json")
		w.Write([]byte(`{"type": "string"}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "money.json")
	if err := os.WriteFile(file, []byte(`{"type": "string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		`{"$ref": "` + srv.URL + `/money.json"}`,
		`{"properties": {"a": {"$ref": "` + srv.URL + `/money.json#/x"}}}`,
		`{"$id": "` + srv.URL + `/a.json", "$ref": "money.json"}`,
		`{"$schema": "` + srv.URL + `/meta.json"}`,
		`{"$dynamicRef": "` + srv.URL + `/money.json#m"}`,
		`{"$ref": "file://` + filepath.ToSlash(file) + `"}`,
		`{"$ref": "` + filepath.ToSlash(file) + `"}`,
	} {
		sc, err := Compile("a.b", 1, []byte(src))
		var ce *CompileError
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Keyword, "$") {
			t.Errorf("Compile(%q) = %v, %v, want a *CompileError about the reference", src, sc, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("Compile made %d requests, want none", n)
	}
}

func TestCompileErrorString(t *testing.T) {
	tests := []struct {
		err  *CompileError
		want string
	}{
		{&CompileError{Type: "a.b", Version: 1, Line: 2, Column: 3, Msg: "m"}, "schema a.b@1: line 2, column 3: m"},
		{&CompileError{Type: "a.b", Version: 1, Line: 2, Column: 3, Pointer: "/x", Msg: "m"}, "schema a.b@1: line 2, column 3 (/x): m"},
		{&CompileError{Type: "a.b", Version: 2, Pointer: "/x/minimum", Keyword: "minimum", Msg: "m"}, `schema a.b@2: at /x/minimum, keyword "minimum": m`},
		{&CompileError{Type: "a.b", Version: 2, Pointer: "/x", Msg: "m"}, `schema a.b@2: at /x: m`},
		{&CompileError{Type: "a.b", Version: 2, Keyword: "$ref", Msg: "m"}, `schema a.b@2: keyword "$ref": m`},
		{&CompileError{Type: "a.b", Version: 2, Msg: "m"}, `schema a.b@2: m`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestKeywordAt(t *testing.T) {
	tests := []struct {
		ptr  []string
		want string
	}{
		{nil, ""},
		{[]string{"type"}, "type"},
		{[]string{"type", "1"}, "type"},
		{[]string{"properties", "type"}, "properties"},
		{[]string{"properties", "type", "type"}, "type"},
		{[]string{"properties", "a", "items", "minimum"}, "minimum"},
		{[]string{"allOf", "0", "required", "2"}, "required"},
		{[]string{"$defs", "minimum", "not", "enum", "0"}, "enum"},
		{[]string{"unevaluatedProperties"}, "unevaluatedProperties"},
	}
	for _, tt := range tests {
		if got := keywordAt(tt.ptr); got != tt.want {
			t.Errorf("keywordAt(%q) = %q, want %q", tt.ptr, got, tt.want)
		}
	}
}
