package schema

import "testing"

// benchSchema is a realistic schema: eight properties, required members,
// an enum, a maximum and a pattern.
const benchSchema = `{
  "type": "object",
  "required": ["amount", "currency", "card_last4", "merchant"],
  "additionalProperties": false,
  "properties": {
    "amount": {"type": "integer", "minimum": 0, "maximum": 1000000},
    "currency": {"enum": ["EUR", "USD", "GBP", "CHF", "JPY"]},
    "card_last4": {"type": "string", "pattern": "^[0-9]{4}$"},
    "merchant": {"type": "string", "minLength": 1, "maxLength": 128},
    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "three_ds": {"type": "boolean"},
    "risk_score": {"type": "number", "minimum": 0, "maximum": 1},
    "order_id": {"type": "string", "maxLength": 64}
  }
}`

const benchData = `{"amount": 129900, "currency": "EUR", "card_last4": "4242", "merchant": "Acme Books",
  "country": "DE", "three_ds": true, "risk_score": 0.12, "order_id": "ord_01JD6Z3C8W"}`

// BenchmarkValidate measures Validate with benchSchema, then with parts of
// it to isolate their costs. Most of the time is the validator's: a few
// allocations per subschema visited, and for each number checked against
// "minimum", "maximum" or "integer" a decimal parse into a big.Rat.
func BenchmarkValidate(b *testing.B) {
	run := func(name, schema, data string, wantErrs int) {
		sc := mustCompile(b, schema)
		ev := dataEvent(b, data)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if errs := sc.Validate(ev); len(errs) != wantErrs {
					b.Fatal(errs)
				}
			}
		})
	}
	run("valid", benchSchema, benchData, 0)
	run("invalid", benchSchema, `{"amount": 2000000, "currency": "XXX", "card_last4": "42", "merchant": "Acme"}`, 3)
	run("no data", benchSchema, ``, 1)
	run("only/empty schema", `{}`, benchData, 0)
	run("only/types", `{"type": "object", "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"},
		"card_last4": {"type": "string"}, "merchant": {"type": "string"}, "country": {"type": "string"},
		"three_ds": {"type": "boolean"}, "risk_score": {"type": "number"}, "order_id": {"type": "string"}}}`, benchData, 0)
	run("only/numbers", `{"properties": {"amount": {"minimum": 0, "maximum": 1000000}, "risk_score": {"minimum": 0, "maximum": 1}}}`, benchData, 0)
	run("only/patterns", `{"properties": {"card_last4": {"pattern": "^[0-9]{4}$"}, "country": {"pattern": "^[A-Z]{2}$"}}}`, benchData, 0)
	run("only/enum", `{"properties": {"currency": {"enum": ["EUR", "USD", "GBP", "CHF", "JPY"]}}}`, benchData, 0)
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("payment.captured", 1, []byte(benchSchema)); err != nil {
			b.Fatal(err)
		}
	}
}
