package query

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
)

// fullEvent has every field; its data holds each kind of JSON value.
const fullEvent = `{
  "id": "ev-1",
  "time": "2026-11-23T19:40:00.123456Z",
  "type": "auth.login.sso",
  "outcome": "failure",
  "actor": {"id": "alice@example.com", "type": "user", "ip": "203.0.113.7", "user_agent": "curl/8.4"},
  "resource": {"type": "account", "id": "acct-42"},
  "project": "payments", "environment": "production", "source": "billing-api",
  "message": "Password REJECTED for Alice", "trace_id": "4bf92f3577b34da6", "subject": "subj-9",
  "data": {
    "method": "password",
    "amount": 1200,
    "ratio": 0.25,
    "big": 9007199254740992,
    "neg": -3.5,
    "version": "9",
    "ok": true,
    "none": null,
    "empty": "",
    "tags": ["blue", "Green"],
    "user": {"name": "Alice Smith", "roles": ["admin", "ops"]},
    "items": [{"sku": "x1", "qty": 2}, {"sku": "y2", "qty": 5}]
  }
}`

// bareEvent has only the required fields, and no outcome.
const bareEvent = `{"time": "2026-11-23T19:40:00Z", "type": "data.read", "outcome":"-", "actor": {"id": "svc-backup"}}`

// matchTests are expressions and whether they match the entries of
// fullEvent (at index 42) or bareEvent, with now half an hour after the
// event.
var matchTests = []struct {
	expr string
	bare bool // match bareEvent rather than fullEvent
	want bool
}{
	// Every field.
	{expr: ``, want: true},
	{expr: `id:ev-1`, want: true},
	{expr: `id:ev-2`, want: false},
	{expr: `type:auth.login.sso`, want: true},
	{expr: `type:auth.login`, want: false},
	{expr: `type:auth.*`, want: true},
	{expr: `type:auth.*.sso`, want: true},
	{expr: `type:auth.?ogin.*`, want: true},
	{expr: `type:auth.??ogin.*`, want: false},
	{expr: `type:*.sso`, want: true},
	{expr: `type:data.*`, want: false},
	{expr: `type:"auth.*"`, want: false},
	{expr: `type:AUTH.*`, want: false},
	{expr: `category:auth`, want: true},
	{expr: `category:au*`, want: true},
	{expr: `category:data`, want: false},
	{expr: `action:sso`, want: true},
	{expr: `action:login`, want: false},
	{expr: `outcome:failure`, want: true},
	{expr: `outcome:success`, want: false},
	{expr: `outcome:unknown`, bare: true, want: true},
	{expr: `outcome:f*`, want: true},
	{expr: `actor.id:alice@example.com`, want: true},
	{expr: `actor.id:alice`, want: false},
	{expr: `actor.id:alice@*`, want: true},
	{expr: `actor.id:Alice@example.com`, want: false},
	{expr: `actor.type:user`, want: true},
	{expr: `actor.type:service`, want: false},
	{expr: `actor.ip:203.0.113.7`, want: true},
	{expr: `actor.ip:203.0.113.*`, want: true},
	{expr: `actor.ip:203.0.113.8`, want: false},
	{expr: `actor.user_agent:curl/*`, want: true},
	{expr: `resource.type:account`, want: true},
	{expr: `resource.type:bucket`, want: false},
	{expr: `resource.id:acct-42`, want: true},
	{expr: `resource.id:acct-4`, want: false},
	{expr: `resource.id:""`, bare: true, want: true},
	{expr: `resource.id:*`, bare: true, want: false},
	{expr: `resource.id:*`, want: true},
	{expr: `project:payments`, want: true},
	{expr: `project:*`, bare: true, want: false},
	{expr: `-project:*`, bare: true, want: true},
	{expr: `project:""`, bare: true, want: true},
	{expr: `environment:production`, want: true},
	{expr: `environment:staging`, want: false},
	{expr: `source:billing-api`, want: true},
	{expr: `subject:subj-9`, want: true},
	{expr: `trace_id:4bf92f3577b34da6`, want: true},
	{expr: `trace_id:4bf9`, want: false},
	{expr: `message:rejected`, want: true},
	{expr: `message:"password rejected"`, want: true},
	{expr: `message:"rejected for bob"`, want: false},
	{expr: `message:pass*alice`, want: true},
	{expr: `message:"pass*"`, want: false},
	{expr: `message:*`, bare: true, want: false},
	{expr: `message:*`, want: true},

	// data: paths, strings, numbers (json.Number), other values.
	{expr: `data.method:password`, want: true},
	{expr: `data.method:Password`, want: false},
	{expr: `data.method:pass*`, want: true},
	{expr: `data.missing:x`, want: false},
	{expr: `data.missing:*`, want: false},
	{expr: `-data.missing:*`, want: true},
	{expr: `data.user.name:"Alice Smith"`, want: true},
	{expr: `data.user.name:Alice*`, want: true},
	{expr: `data.user.roles:ops`, want: true},
	{expr: `data.user.roles:root`, want: false},
	{expr: `data.user.roles.0:admin`, want: true},
	{expr: `data.user.roles.1:admin`, want: false},
	{expr: `data.user.roles.2:admin`, want: false},
	{expr: `data.items.sku:y2`, want: true},
	{expr: `data.items.1.sku:y2`, want: true},
	{expr: `data.items.0.sku:y2`, want: false},
	{expr: `data.items.qty>4`, want: true},
	{expr: `data.items.qty>5`, want: false},
	{expr: `data.tags:Green`, want: true},
	{expr: `data.tags:green`, want: false},
	{expr: `data.user:x`, want: false},
	{expr: `data.user:*`, want: false},
	{expr: `data.method.x:password`, want: false},
	{expr: `data.amount:1200`, want: true},
	{expr: `data.amount:1200.0`, want: true},
	{expr: `data.amount:1.2e3`, want: true},
	{expr: `data.amount:"1200"`, want: true},
	{expr: `data.amount:12*`, want: true},
	{expr: `data.amount:1201`, want: false},
	{expr: `data.amount:abc`, want: false},
	{expr: `data.amount>1000`, want: true},
	{expr: `data.amount>1200`, want: false},
	{expr: `data.amount>=1200`, want: true},
	{expr: `data.amount<1200.0001`, want: true},
	{expr: `data.amount<=1199.999`, want: false},
	{expr: `data.amount<1e4`, want: true},
	{expr: `data.amount>-1e400`, want: true},
	{expr: `data.amount<1e400`, want: true},
	{expr: `data.amount!=1200`, want: false},
	{expr: `data.amount!=5`, want: true},
	{expr: `data.amount>abc`, want: false},
	{expr: `data.ratio:0.25`, want: true},
	{expr: `data.ratio:0.250`, want: true},
	{expr: `data.ratio>0.2`, want: true},
	{expr: `data.ratio<0.3`, want: true},
	{expr: `data.neg<-3`, want: true},
	{expr: `data.neg>-4`, want: true},
	{expr: `data.neg:-3.5`, want: true},
	{expr: `data.neg>0`, want: false},
	{expr: `data.big:9007199254740992`, want: true},
	{expr: `data.big<9007199254740993`, want: true},
	{expr: `data.big:9007199254740993`, want: false},
	{expr: `data.version:9`, want: true},
	{expr: `data.version>10`, want: true}, // a string: "9" > "10" by bytes
	{expr: `data.version<10`, want: false},
	{expr: `data.method>pass`, want: true},
	{expr: `data.method<=password`, want: true},
	{expr: `data.method<password`, want: false},
	{expr: `data.ok:true`, want: true},
	{expr: `data.ok:false`, want: false},
	{expr: `data.ok>false`, want: false},
	{expr: `data.none:null`, want: true},
	{expr: `data.none:*`, want: true},
	{expr: `data.empty:""`, want: true},
	{expr: `data.empty:*`, want: true},

	// time, at millisecond precision, and index.
	{expr: `time:2026-11-23T19:40:00.123Z`, want: true},
	{expr: `time:2026-11-23T19:40:00.123999Z`, want: true},
	{expr: `time:2026-11-23T19:40:00.124Z`, want: false},
	{expr: `time>=2026-11-23T19:40:00.123Z`, want: true},
	{expr: `time>2026-11-23T19:40:00.123Z`, want: false},
	{expr: `time<=2026-11-23T19:40:00.123Z`, want: true},
	{expr: `time<2026-11-23T19:40:00.123Z`, want: false},
	{expr: `time<2026-11-23T20:40:00.124+01:00`, want: true},
	{expr: `time!=2026-11-23T19:40:00.123Z`, want: false},
	{expr: `time>=-1h`, want: true},
	{expr: `time>=-10m`, want: false},
	{expr: `time<now`, want: true},
	{expr: `time>-1w`, want: true},
	{expr: `index:42`, want: true},
	{expr: `index>=42 index<43`, want: true},
	{expr: `index>42`, want: false},
	{expr: `index!=42`, want: false},

	// Free text.
	{expr: `rejected`, want: true},
	{expr: `"password rejected"`, want: true},
	{expr: `ALICE@EXAMPLE`, want: true},
	{expr: `login.sso`, want: true},
	{expr: `acct-42`, want: true},
	{expr: `smith`, want: true},
	{expr: `green`, want: true},
	{expr: `"y2"`, want: true},
	{expr: `billing`, want: false}, // source is not searched
	{expr: `account`, want: false}, // nor resource.type
	{expr: `1200`, want: false},    // nor numbers
	{expr: `rej*alice`, want: true},
	{expr: `rej?cted`, want: true},
	{expr: `"rej?cted"`, want: false},
	{expr: `backup`, bare: true, want: true},
	{expr: `""`, bare: true, want: true},

	// Operators.
	{expr: `NOT rejected`, want: false},
	{expr: `-rejected`, want: false},
	{expr: `--rejected`, want: true},
	{expr: `outcome:success OR actor.type:user`, want: true},
	{expr: `outcome:success OR actor.type:service`, want: false},
	{expr: `outcome:failure actor.type:service`, want: false},
	{expr: `outcome:failure AND actor.type:user`, want: true},
	{expr: `outcome:success OR actor.type:user actor.ip:1.2.3.4`, want: false},
	{expr: `(outcome:success OR actor.type:user) -actor.ip:1.2.3.4`, want: true},
	{expr: `NOT (outcome:success OR data.amount<1000)`, want: true},
	{expr: `data.amount>1000 AND (project:payments OR project:billing)`, want: true},
}

func TestMatch(t *testing.T) {
	full := entryJSON(t, fullEvent)
	bareEntry := entryJSON(t, bareEvent)
	const index = 42
	for _, tt := range matchTests {
		e, which := full, "full"
		if tt.bare {
			e, which = bareEntry, "bare"
		}
		t.Run(which+"/"+tt.expr, func(t *testing.T) {
			x := Resolve(mustParse(t, tt.expr), e.Time.Add(30*time.Minute))
			if got := Match(x, e, index); got != tt.want {
				t.Errorf("Match(%q, %s) = %v, want %v", tt.expr, which, got, tt.want)
			}
		})
	}
}

// TestMatchUnresolved checks that a relative time that was not resolved
// matches nothing, rather than reading a clock.
func TestMatchUnresolved(t *testing.T) {
	e := entryJSON(t, fullEvent)
	for _, src := range []string{`time>=-100w`, `time<now`} {
		if Match(mustParse(t, src), e, 0) {
			t.Errorf("Match(%q) without Resolve = true, want false", src)
		}
		if !Match(Resolve(mustParse(t, src), e.Time.Add(time.Hour)), e, 0) {
			t.Errorf("Match(Resolve(%q)) = false, want true", src)
		}
	}
	if !Match(nil, e, 0) {
		t.Errorf("Match(nil) = false, want true")
	}
}

// TestMatchNativeNumbers checks data built in Go rather than parsed:
// float64 and int values compare like json.Number.
func TestMatchNativeNumbers(t *testing.T) {
	e := &event.Entry{Event: event.Event{Type: "a.b", Actor: event.Actor{ID: "x"},
		Data: map[string]any{"f": 2.5, "i": 7, "u": uint64(9), "l": int64(-1)}}}
	for _, tt := range []struct {
		expr string
		want bool
	}{
		{`data.f:2.5`, true}, {`data.f>2`, true}, {`data.i:7`, true}, {`data.i<7`, false},
		{`data.u>=9`, true}, {`data.l<0`, true}, {`data.f:2.*`, true},
	} {
		if got := Match(mustParse(t, tt.expr), e, 0); got != tt.want {
			t.Errorf("Match(%q, %v) = %v, want %v", tt.expr, e.Data, got, tt.want)
		}
	}
}

func TestPattern(t *testing.T) {
	for _, tt := range []struct {
		pat, s         string
		match, contain bool
	}{
		{"", "", true, true},
		{"", "a", false, true},
		{"*", "", true, true},
		{"a*", "abc", true, true},
		{"a*", "ba", false, true},
		{"*c", "abc", true, true},
		{"a*c", "abc", true, true},
		{"a*c", "ac", true, true},
		{"a*c", "ab", false, false},
		{"a*b*c", "aXbYbZc", true, true},
		{"a*a*a", "aa", false, false},
		{"a*a*a", "aaa", true, true},
		{"?", "é", true, true},
		{"??", "é", false, false},
		{"h?llo", "héllo", true, true},
		{"*ll?", "héllo", true, true},
		{"*?", "", false, false},
		{"ab?d", "xabcdx", false, true},
		{"b?d*x", "abcdex", false, true},
		{"*x?z", "xxyz", true, true},
		// Segments with ? longer than 64 characters.
		{strings.Repeat("a?", 50), strings.Repeat("a", 100), true, true},
		{strings.Repeat("a?", 50), strings.Repeat("a", 99), false, false},
		{"*" + strings.Repeat("a?", 50), "b" + strings.Repeat("ab", 50), true, true},
		{"*" + strings.Repeat("a?", 50) + "*", strings.Repeat("ab", 40) + "bb" + strings.Repeat("ab", 40), false, false},
		{"*" + strings.Repeat("?", 70) + "b*", strings.Repeat("é", 70) + "b", true, true},
		{"*" + strings.Repeat("?", 70) + "b*", strings.Repeat("é", 69) + "b", false, false},
	} {
		p := newPattern(tt.pat, true)
		if got := p.match(tt.s); got != tt.match {
			t.Errorf("pattern(%q).match(%q) = %v, want %v", tt.pat, tt.s, got, tt.match)
		}
		if got := p.contains(tt.s); got != tt.contain {
			t.Errorf("pattern(%q).contains(%q) = %v, want %v", tt.pat, tt.s, got, tt.contain)
		}
	}
}

// TestPatternRegexp checks patterns against the regexp package: random
// patterns over a small alphabet (with a character of several bytes), and
// segments long enough to need several words of Shift-And bits.
func TestPatternRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "é", "?", "*"}
	for range 20000 {
		var pb, sb strings.Builder
		for range rng.IntN(8) {
			pb.WriteString(pick(rng, alphabet))
		}
		long := rng.IntN(3) == 0
		if long {
			pb.WriteString(strings.Repeat(pick(rng, []string{"a", "?", "a?", "?b"}), 30+rng.IntN(50)))
		}
		for range rng.IntN(12) {
			sb.WriteString(pick(rng, alphabet[:3]))
		}
		if long {
			for range 60 + rng.IntN(100) {
				sb.WriteString(pick(rng, []string{"a", "a", "a", "b"}))
			}
		}
		pat, s := pb.String(), sb.String()
		re := regexp.QuoteMeta(pat)
		re = strings.ReplaceAll(re, `\*`, ".*")
		re = strings.ReplaceAll(re, `\?`, ".")
		p := newPattern(pat, true)
		if got, want := p.match(s), regexp.MustCompile(`(?s)^`+re+`$`).MatchString(s); got != want {
			t.Fatalf("pattern(%q).match(%q) = %v, want %v", pat, s, got, want)
		}
		if got, want := p.contains(s), regexp.MustCompile(`(?s)`+re).MatchString(s); got != want {
			t.Fatalf("pattern(%q).contains(%q) = %v, want %v", pat, s, got, want)
		}
	}
}

func TestDecimal(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"0", "-0", 0}, {"0", "0.000", 0}, {"0e5", "0", 0},
		{"1", "2", -1}, {"10", "9", 1}, {"-10", "-9", -1}, {"-1", "1", -1},
		{"1200", "1.2e3", 0}, {"1200", "12e2", 0}, {"0.25", "25e-2", 0}, {"0.25", "0.250", 0},
		{"0.001", "0.01", -1}, {"1e-7", "0.0000001", 0}, {"1e+21", "1000000000000000000000", 0},
		{"9007199254740993", "9007199254740992", 1}, {"123.456", "123.4559999", 1},
		{"1e999999999999999", "1e308", 1}, {"-1e999999999999", "-1e308", -1}, {"1e-999999999999", "0", 1},
		{"100", "99.99", 1}, {"0.5", "0.05", 1},
	} {
		a, ok1 := parseDecimal(tt.a)
		b, ok2 := parseDecimal(tt.b)
		if !ok1 || !ok2 {
			t.Fatalf("parseDecimal(%q), parseDecimal(%q) = %v, %v", tt.a, tt.b, ok1, ok2)
		}
		if got := cmpDecimal(&a, &b); got != tt.want {
			t.Errorf("cmpDecimal(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := cmpDecimal(&b, &a); got != -tt.want {
			t.Errorf("cmpDecimal(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
	for _, s := range []string{"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1x", "0x10", "1_000", "NaN"} {
		if _, ok := parseDecimal(s); ok {
			t.Errorf("parseDecimal(%q) = ok, want not a number", s)
		}
	}
}
