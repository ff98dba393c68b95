package query

import (
	"testing"
	"time"
)

// benchExpr is a typical query typed at a prompt.
const benchExpr = `outcome:failure type:auth.* -actor.type:service (project:payments OR project:billing) time>=-24h`

func BenchmarkParse(b *testing.B) {
	for _, bb := range []struct{ name, src string }{
		{"typical", benchExpr},
		{"one-term", `actor.id:alice@example.com`},
		{"free-text", `"password rejected" alice`},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(bb.src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	e := entryJSON(b, fullEvent)
	now := e.Time.Add(time.Hour)
	for _, bb := range []struct{ name, src string }{
		// Five terms that all hold, so that each is evaluated.
		{"5-terms", `outcome:failure type:auth.* actor.id:alice* data.amount>1000 time>=-24h`},
		{"field", `actor.id:alice@example.com`},
		{"pattern", `type:auth.*.sso`},
		{"data-number", `data.amount>1000`},
		{"data-path", `data.items.sku:y2`},
		{"message", `message:rejected`},
		{"free-text-miss", `nowhere`}, // searches every field and string of data
	} {
		x := Resolve(mustParse(b, bb.src), now)
		if !Match(x, e, 0) && bb.name != "free-text-miss" {
			b.Fatalf("Match(%q) = false, want true", bb.src)
		}
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				Match(x, e, 0)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	x := mustParse(b, benchExpr)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for b.Loop() {
		if _, err := Compile(x, "acme", now); err != nil {
			b.Fatal(err)
		}
	}
}
