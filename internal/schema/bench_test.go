package schema

import (
	"testing"

	"github.com/a24ba333/indelible/event"
)

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

func BenchmarkValidate(b *testing.B) {
	sc := mustCompile(b, benchSchema)
	b.Run("valid", func(b *testing.B) {
		ev := dataEvent(b, benchData)
		b.ReportAllocs()
		for b.Loop() {
			if errs := sc.Validate(ev); errs != nil {
				b.Fatal(errs)
			}
		}
	})
	b.Run("invalid", func(b *testing.B) {
		ev := dataEvent(b, `{"amount": 2000000, "currency": "XXX", "card_last4": "42", "merchant": "Acme"}`)
		b.ReportAllocs()
		for b.Loop() {
			if errs := sc.Validate(ev); len(errs) != 3 {
				b.Fatal(errs)
			}
		}
	})
	b.Run("no data", func(b *testing.B) {
		ev := &event.Event{}
		b.ReportAllocs()
		for b.Loop() {
			sc.Validate(ev)
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("payment.captured", 1, []byte(benchSchema)); err != nil {
			b.Fatal(err)
		}
	}
}
