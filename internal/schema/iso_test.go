package schema

import "testing"

func BenchmarkIso(b *testing.B) {
	for _, s := range []string{`{}`, `{"type":"object"}`,
		`{"type":"object","properties":{"amount":{"type":"integer"},"currency":{"type":"string"},"card_last4":{"type":"string"},"merchant":{"type":"string"},"country":{"type":"string"},"three_ds":{"type":"boolean"},"risk_score":{"type":"number"},"order_id":{"type":"string"}}}`,
		`{"type":"object","properties":{"amount":{"type":"integer","minimum":0,"maximum":1000000},"risk_score":{"type":"number","minimum":0,"maximum":1}}}`,
		`{"type":"object","properties":{"card_last4":{"type":"string","pattern":"^[0-9]{4}$"},"country":{"type":"string","pattern":"^[A-Z]{2}$"}}}`,
		benchSchema} {
		sc := mustCompile(b, s)
		ev := dataEvent(b, benchData)
		b.Run("", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sc.Validate(ev)
			}
		})
	}
}
