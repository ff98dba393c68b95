package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/a24ba333/indelible/event"
)

func jsonNumber(s string) json.Number { return json.Number(s) }

func fe(path, msg string) event.FieldError { return event.FieldError{Path: path, Message: msg} }

// mustCompile compiles src as the schema of "test.event", version 1.
func mustCompile(t testing.TB, src string) *Schema {
	t.Helper()
	sc, err := Compile("test.event", 1, []byte(src))
	if err != nil {
		t.Fatalf("Compile(%q) = %v", src, err)
	}
	return sc
}

// dataEvent returns an event whose data is the JSON object data, or no
// data if data is "".
func dataEvent(t testing.TB, data string) *event.Event {
	t.Helper()
	ev := &event.Event{Type: "test.event"}
	if data == "" {
		return ev
	}
	v, err := event.ParseJSON([]byte(data), event.Limits{})
	if err != nil {
		t.Fatalf("ParseJSON(%q) = %v", data, err)
	}
	ev.Data = v.(map[string]any)
	return ev
}

const orderSchema = `{
  "type": "object",
  "required": ["amount", "currency"],
  "additionalProperties": false,
  "$defs": {
    "price": {"type": "number", "minimum": 0}
  },
  "properties": {
    "amount": {"type": "integer", "maximum": 1000},
    "currency": {"enum": ["EUR", "USD"]},
    "code": {"type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3},
    "items": {
      "type": "array", "maxItems": 3, "uniqueItems": true,
      "items": {"type": "object", "required": ["price"], "properties": {"price": {"$ref": "#/$defs/price"}}}
    },
    "discount": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    "ratio": {"type": "number", "exclusiveMaximum": 1, "multipleOf": 0.25},
    "email": {"type": "string", "format": "email"},
    "legacy": false,
    "kind": {"const": "order"},
    "tags": {"type": "array", "items": {"type": "string"}}
  }
}`

// validateTests are cases of Validate against orderSchema; the valid data
// also seed FuzzValidate.
var validateTests = []struct {
	name string
	data string // "" is no data at all
	want []event.FieldError
}{
	{"valid", `{"amount": 5, "currency": "EUR"}`, nil},
	{"valid full", `{"amount": 1000, "currency": "USD", "code": "ABC", "items": [{"price": 0}, {"price": 1.5}],
		"discount": null, "ratio": 0.75, "email": "a@example.com", "kind": "order", "tags": ["a"]}`, nil},
	{"no data", "", []event.FieldError{
		fe("/data", `keyword "required": missing properties "amount", "currency"`),
	}},
	{"empty data", `{}`, []event.FieldError{
		fe("/data", `keyword "required": missing properties "amount", "currency"`),
	}},
	{"required", `{"amount": 5}`, []event.FieldError{
		fe("/data", `keyword "required": missing property "currency"`),
	}},
	{"maximum", `{"amount": 1200, "currency": "EUR"}`, []event.FieldError{
		fe("/data/amount", `keyword "maximum": 1200 is greater than 1000`),
	}},
	{"integer", `{"amount": 5.5, "currency": "EUR"}`, []event.FieldError{
		fe("/data/amount", `keyword "type": got number, want integer`),
	}},
	{"integer-valued number", `{"amount": 5.0, "currency": "EUR"}`, nil},
	{"enum", `{"amount": 5, "currency": "GBP"}`, []event.FieldError{
		fe("/data/currency", `keyword "enum": "GBP" is not one of "EUR" or "USD"`),
	}},
	{"pattern", `{"amount": 5, "currency": "EUR", "code": "abc"}`, []event.FieldError{
		fe("/data/code", `keyword "pattern": "abc" does not match "^[A-Z]{3}$"`),
	}},
	{"lengths", `{"amount": 5, "currency": "EUR", "code": "ABCD"}`, []event.FieldError{
		fe("/data/code", `keyword "maxLength": is 4 characters long, want at most 3`),
		fe("/data/code", `keyword "pattern": "ABCD" does not match "^[A-Z]{3}$"`),
	}},
	{"additionalProperties", `{"amount": 5, "currency": "EUR", "note": "x", "a/b": 1}`, []event.FieldError{
		fe("/data", `keyword "additionalProperties": properties "a/b", "note" are not allowed`),
	}},
	{"nested type", `{"amount": 5, "currency": "EUR", "items": [{"price": 1}, {"price": 2}, {"price": "3"}]}`, []event.FieldError{
		fe("/data/items/2/price", `keyword "type": got string, want number`),
	}},
	{"defs ref", `{"amount": 5, "currency": "EUR", "items": [{"price": -1}, {}]}`, []event.FieldError{
		fe("/data/items/0/price", `keyword "minimum": -1 is less than 0`),
		fe("/data/items/1", `keyword "required": missing property "price"`),
	}},
	{"array keywords", `{"amount": 5, "currency": "EUR", "items": [{"price": 1}, {"price": 2}, {"price": 1}, {"price": 3}]}`, []event.FieldError{
		fe("/data/items", `keyword "maxItems": has 4 items, want at most 3`),
		fe("/data/items", `keyword "uniqueItems": items 0 and 2 are equal`),
	}},
	{"anyOf", `{"amount": 5, "currency": "EUR", "discount": "10%"}`, []event.FieldError{
		fe("/data/discount", `keyword "anyOf": matches none of the subschemas (0: keyword "type": got string, want integer; 1: keyword "type": got string, want null)`),
	}},
	{"exclusiveMaximum and multipleOf", `{"amount": 5, "currency": "EUR", "ratio": 1.1}`, []event.FieldError{
		fe("/data/ratio", `keyword "exclusiveMaximum": 1.1 is not less than 1`),
		fe("/data/ratio", `keyword "multipleOf": 1.1 is not a multiple of 0.25`),
	}},
	{"format is an annotation", `{"amount": 5, "currency": "EUR", "email": "not an email"}`, nil},
	{"false schema", `{"amount": 5, "currency": "EUR", "legacy": 1}`, []event.FieldError{
		fe("/data/legacy", `keyword "properties": no value is allowed here (the schema is false)`),
	}},
	{"const", `{"amount": 5, "currency": "EUR", "kind": "refund"}`, []event.FieldError{
		fe("/data/kind", `keyword "const": "refund" is not "order"`),
	}},
	{"several, sorted by path", `{"currency": 1, "amount": "x", "code": 7}`, []event.FieldError{
		fe("/data/amount", `keyword "type": got string, want integer`),
		fe("/data/code", `keyword "type": got number, want string`),
		fe("/data/currency", `keyword "enum": 1 is not one of "EUR" or "USD"`),
	}},
	{"exact decimals", `{"amount": 5, "currency": "EUR", "ratio": 1.0000000000000000001}`, []event.FieldError{
		fe("/data/ratio", `keyword "exclusiveMaximum": 1.0000000000000000001 is not less than 1`),
		fe("/data/ratio", `keyword "multipleOf": 1.0000000000000000001 is not a multiple of 0.25`),
	}},
	{"type first", `{"amount": 1000.5, "currency": "EUR"}`, []event.FieldError{
		fe("/data/amount", `keyword "type": got number, want integer`),
	}},
	{"long value", `{"amount": 5, "currency": "` + strings.Repeat("é", 40) + `"}`, []event.FieldError{
		fe("/data/currency", `keyword "enum": "`+strings.Repeat("é", 32)+`…" is not one of "EUR" or "USD"`),
	}},
}

func TestValidate(t *testing.T) {
	sc := mustCompile(t, orderSchema)
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			got := sc.Validate(dataEvent(t, tt.data))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate(%s) = %s, want %s", tt.data, fieldErrors(got), fieldErrors(tt.want))
			}
		})
	}
}

func fieldErrors(errs []event.FieldError) string {
	if errs == nil {
		return "nil"
	}
	var b strings.Builder
	for _, fe := range errs {
		fmt.Fprintf(&b, "\n\t%s", fe)
	}
	return b.String()
}

// TestValidateKeywords checks the messages of the keywords orderSchema
// does not use.
func TestValidateKeywords(t *testing.T) {
	tests := []struct {
		schema, data string
		want         []event.FieldError
	}{
		{`{"minProperties": 2}`, `{"a": 1}`, []event.FieldError{fe("/data", `keyword "minProperties": has 1 properties, want at least 2`)}},
		{`{"maxProperties": 1}`, `{"a": 1, "b": 2}`, []event.FieldError{fe("/data", `keyword "maxProperties": has 2 properties, want at most 1`)}},
		{`{"dependentRequired": {"card": ["expiry"]}}`, `{"card": "x"}`, []event.FieldError{fe("/data", `keyword "dependentRequired": missing property "expiry", required when property "card" is present`)}},
		{`{"propertyNames": {"pattern": "^[a-z]+$"}}`, `{"Bad": 1}`, []event.FieldError{fe("/data", `keyword "propertyNames": property name "Bad" does not match the subschema`)}},
		{`{"properties": {"a": {"not": {"type": "string"}}}}`, `{"a": "x"}`, []event.FieldError{fe("/data/a", `keyword "not": matches the subschema, which it must not`)}},
		{`{"properties": {"a": {"oneOf": [{"minimum": 0}, {"maximum": 10}]}}}`, `{"a": 5}`, []event.FieldError{fe("/data/a", `keyword "oneOf": matches subschemas 0 and 1, want exactly one`)}},
		{`{"properties": {"a": {"contains": {"const": 1}}}}`, `{"a": [2]}`, []event.FieldError{fe("/data/a", `keyword "contains": no item matches the subschema`)}},
		{`{"properties": {"a": {"minLength": 2}}}`, `{"a": "é"}`, []event.FieldError{fe("/data/a", `keyword "minLength": is 1 characters long, want at least 2`)}},
		{`{"properties": {"a": {"minItems": 1}}}`, `{"a": []}`, []event.FieldError{fe("/data/a", `keyword "minItems": has 0 items, want at least 1`)}},
		{`{"properties": {"a": {"exclusiveMinimum": 0}}}`, `{"a": 0}`, []event.FieldError{fe("/data/a", `keyword "exclusiveMinimum": 0 is not greater than 0`)}},
		{`{"properties": {"a": {"enum": [1]}}}`, `{"a": {"x": 1}}`, []event.FieldError{fe("/data/a", `keyword "enum": an object is not 1`)}},
		{`{"unevaluatedProperties": false, "properties": {"a": {}}}`, `{"a": 1, "b": 2}`, []event.FieldError{fe("/data/b", `keyword "unevaluatedProperties": no value is allowed here (the schema is false)`)}},
		{`{"allOf": [{"required": ["a"]}, {"required": ["b"]}]}`, `{}`, []event.FieldError{
			fe("/data", `keyword "required": missing property "a"`), fe("/data", `keyword "required": missing property "b"`),
		}},
		{`{"properties": {"a/b": {"type": "string"}, "c~d": {"type": "string"}}}`, `{"a/b": 1, "c~d": 2}`, []event.FieldError{
			fe("/data/a~1b", `keyword "type": got number, want string`), fe("/data/c~0d", `keyword "type": got number, want string`),
		}},
		{`{"if": {"required": ["card"]}, "then": {"required": ["expiry"]}}`, `{"card": 1}`, []event.FieldError{fe("/data", `keyword "required": missing property "expiry"`)}},
		{`false`, `{}`, []event.FieldError{fe("/data", `no value is allowed here (the schema is false)`)}},
		{`{"type": "object"}`, ``, nil},
		{`{"maxProperties": 0}`, ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			sc := mustCompile(t, tt.schema)
			got := sc.Validate(dataEvent(t, tt.data))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Compile(%s).Validate(%s) = %s, want %s", tt.schema, tt.data, fieldErrors(got), fieldErrors(tt.want))
			}
		})
	}
}

// TestValidateNumbers checks that json.Number, what event.ParseJSON
// returns for numbers, is validated as the number it spells.
func TestValidateNumbers(t *testing.T) {
	sc := mustCompile(t, `{"type": "integer", "maximum": 10}`)
	for _, tt := range []struct {
		n     string
		valid bool
	}{
		{"3", true}, {"10", true}, {"10.0", true}, {"1e1", true}, {"-5", true},
		{"11", false}, {"3.5", false}, {"10.000000000000000001", false}, {"1e2", false},
	} {
		err := sc.compiled.Validate(json.Number(tt.n))
		if (err == nil) != tt.valid {
			t.Errorf("Validate(json.Number(%q)) = %v, want valid %v", tt.n, err, tt.valid)
		}
	}

	// The same through Validate, with the values events built in code may
	// hold.
	prop := mustCompile(t, `{"properties": {"n": {"type": "integer", "maximum": 10}}}`)
	for _, tt := range []struct {
		n     any
		valid bool
	}{
		{json.Number("3"), true}, {json.Number("11"), false}, {3, true}, {int64(11), false},
		{3.0, true}, {10.5, false}, {uint64(7), true},
	} {
		errs := prop.Validate(&event.Event{Data: map[string]any{"n": tt.n}})
		if (errs == nil) != tt.valid {
			t.Errorf("Validate(n=%T(%v)) = %v, want valid %v", tt.n, tt.n, errs, tt.valid)
		}
	}
}

// TestValidateBuiltData checks data that events built in code may hold
// but ParseJSON never returns.
func TestValidateBuiltData(t *testing.T) {
	sc := mustCompile(t, `{"properties": {"tags": {"type": "array", "items": {"enum": ["a", "b"]}}, "x": {"type": "array"}}}`)
	tests := []struct {
		data map[string]any
		want []event.FieldError
	}{
		{map[string]any{"tags": []string{"a", "b"}}, nil},
		{map[string]any{"tags": []string{"a", "c"}}, []event.FieldError{fe("/data/tags/1", `keyword "enum": "c" is not one of "a" or "b"`)}},
		{map[string]any{"x": []any{map[string]any{"y": []string{"z"}}}}, nil},
		{map[string]any{"x": struct{}{}}, []event.FieldError{fe("/data/x", `has a value of unsupported type struct {}`)}},
	}
	for _, tt := range tests {
		data := fmt.Sprint(tt.data)
		got := sc.Validate(&event.Event{Data: tt.data})
		if !slices.Equal(got, tt.want) {
			t.Errorf("Validate(%s) = %s, want %s", data, fieldErrors(got), fieldErrors(tt.want))
		}
		if fmt.Sprint(tt.data) != data {
			t.Errorf("Validate(%s) changed the data to %v", data, tt.data)
		}
	}
	if errs := sc.Validate(nil); errs != nil {
		t.Errorf("Validate(nil) = %v, want nil", errs)
	}
}

// TestValidateConcurrent checks that one Schema validates from many
// goroutines at once (run with -race).
func TestValidateConcurrent(t *testing.T) {
	sc := mustCompile(t, orderSchema)
	evs := make([]*event.Event, len(validateTests))
	for i, tt := range validateTests {
		evs[i] = dataEvent(t, tt.data)
	}
	var wg sync.WaitGroup
	errc := make(chan string, 8*len(evs))
	for range 8 {
		wg.Go(func() {
			for i, tt := range validateTests {
				if got := sc.Validate(evs[i]); !slices.Equal(got, tt.want) {
					errc <- fmt.Sprintf("Validate(%s) = %s, want %s", tt.data, fieldErrors(got), fieldErrors(tt.want))
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for msg := range errc {
		t.Error(msg)
	}
}

func TestRatString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"-1", "-1"}, {"1000", "1000"}, {"0.5", "0.5"}, {"0.1", "0.1"}, {"1e2", "100"},
		{"123456789012345678901", "123456789012345678901"}, {"1e21", "1e+21"},
		{"1.0000000000000000001", "1.0000000000000000001"}, {"-2.5e-7", "-0.00000025"}, {"1.5e-7", "0.00000015"},
		{"0.30000000000000001", "0.30000000000000001"},
	}
	for _, tt := range tests {
		r, ok := new(big.Rat).SetString(tt.in)
		if !ok {
			t.Fatalf("SetString(%q) failed", tt.in)
		}
		if got := ratString(r); got != tt.want {
			t.Errorf("ratString(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
