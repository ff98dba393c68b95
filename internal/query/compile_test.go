package query

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
)

var compileNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// ts parses an RFC 3339 time for a table.
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// compileTests are expressions and their plans for the log "acme" at
// compileNow.
var compileTests = []struct {
	expr     string
	want     store.IndexQuery // without Log
	residual string           // Residual.String(), "" for nil
	empty    bool
}{
	{expr: ``},
	{expr: `actor.id:alice`, want: store.IndexQuery{Actor: "alice"}},
	{expr: `actor.id:alice actor.id:alice`, want: store.IndexQuery{Actor: "alice"}},
	{expr: `actor.id:alice actor.id:bob`, empty: true},
	{expr: `actor.id:al*`, residual: `actor.id:al*`},
	{expr: `actor.id:""`, residual: `actor.id:""`},
	{expr: `resource.type:bucket resource.id:b-1`, want: store.IndexQuery{ResourceType: "bucket", ResourceID: "b-1"}},
	{expr: `resource.id:b-1 resource.id:b-2`, empty: true},
	{expr: `outcome:failure`, want: store.IndexQuery{Outcome: "failure"}},
	{expr: `outcome:unknown`, want: store.IndexQuery{Outcome: "unknown"}},
	{expr: `outcome:failure outcome:success`, empty: true},
	{expr: `outcome:fail*`, residual: `outcome:fail*`},
	{expr: `type:auth.*`, want: store.IndexQuery{TypePrefix: "auth."}},
	{expr: `type:auth.login.*`, want: store.IndexQuery{TypePrefix: "auth.login."}},
	{expr: `type:auth.login`, want: store.IndexQuery{TypePrefix: "auth.login"}, residual: `type:auth.login`},
	{expr: `type:auth*`, residual: `type:auth*`},
	{expr: `type:auth.*.sso`, residual: `type:auth.*.sso`},
	{expr: `type:a?th.*`, residual: `type:a?th.*`},
	{expr: `category:auth`, want: store.IndexQuery{TypePrefix: "auth."}},
	{expr: `category:auth type:auth.login.*`, want: store.IndexQuery{TypePrefix: "auth.login."}},
	{expr: `type:auth.login.* category:auth`, want: store.IndexQuery{TypePrefix: "auth.login."}},
	{expr: `category:auth type:auth.login`, want: store.IndexQuery{TypePrefix: "auth.login"}, residual: `type:auth.login`},
	{expr: `type:auth.login type:auth.login.*`, want: store.IndexQuery{TypePrefix: "auth.login."}, residual: `type:auth.login`},
	{expr: `category:auth category:data`, empty: true},
	{expr: `category:auth type:authz.*`, empty: true},
	{expr: `category:auth.login`, residual: `category:auth.login`},
	{expr: `category:au*`, residual: `category:au*`},
	{expr: `time>=2026-11-23T10:00:00Z`, want: store.IndexQuery{From: ts("2026-11-23T10:00:00Z")}},
	{expr: `time>2026-11-23T10:00:00Z`, want: store.IndexQuery{From: ts("2026-11-23T10:00:00.001Z")}},
	{expr: `time<2026-11-23T10:00:00Z`, want: store.IndexQuery{To: ts("2026-11-23T10:00:00Z")}},
	{expr: `time<=2026-11-23T10:00:00Z`, want: store.IndexQuery{To: ts("2026-11-23T10:00:00.001Z")}},
	{expr: `time:2026-11-23T10:00:00Z`, want: store.IndexQuery{From: ts("2026-11-23T10:00:00Z"), To: ts("2026-11-23T10:00:00.001Z")}},
	{expr: `time>=-24h`, want: store.IndexQuery{From: compileNow.Add(-24 * time.Hour)}},
	{expr: `time>=-7d time<-1h30m`, want: store.IndexQuery{From: compileNow.AddDate(0, 0, -7), To: compileNow.Add(-90 * time.Minute)}},
	{expr: `time>=-24h time>=-1h time<now time<-30m`, want: store.IndexQuery{From: compileNow.Add(-time.Hour), To: compileNow.Add(-30 * time.Minute)}},
	{expr: `time>=2026-11-23T10:00:00Z time<2026-11-23T10:00:00Z`, empty: true},
	{expr: `time>2026-11-23T10:00:00Z time<=2026-11-23T10:00:00Z`, empty: true},
	{expr: `time>=0001-01-01T00:00:00Z`, residual: `time>=0001-01-01T00:00:00Z`},
	{expr: `time!=2026-11-23T10:00:00Z`, residual: `NOT time:2026-11-23T10:00:00Z`},
	{expr: `time>=-1h OR actor.id:alice`, residual: `time>=2026-11-23T11:00:00Z OR actor.id:alice`},
	{expr: `-time<-1h`, residual: `NOT time<2026-11-23T11:00:00Z`},
	{expr: `index>=10`, residual: `index>=10`},
	{expr: `-actor.id:alice`, residual: `NOT actor.id:alice`},
	{expr: `actor.id:alice OR actor.id:bob`, residual: `actor.id:alice OR actor.id:bob`},
	{
		expr:     `outcome:failure type:auth.* actor.id:alice (project:a OR project:b) time>=-24h "disk full"`,
		want:     store.IndexQuery{Outcome: "failure", TypePrefix: "auth.", Actor: "alice", From: compileNow.Add(-24 * time.Hour)},
		residual: `(project:a OR project:b) AND "disk full"`,
	},
	{
		expr:     `(actor.id:alice (resource.id:r1 data.n>3))`,
		want:     store.IndexQuery{Actor: "alice", ResourceID: "r1"},
		residual: `data.n>3`,
	},
}

func TestCompile(t *testing.T) {
	for _, tt := range compileTests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := Compile(mustParse(t, tt.expr), "acme", compileNow)
			if err != nil {
				t.Fatalf("Compile(%q) = %v", tt.expr, err)
			}
			want := tt.want
			want.Log = "acme"
			if tt.empty {
				want = store.IndexQuery{Log: "acme"}
			}
			if !sameQuery(p.Index, want) {
				t.Errorf("Compile(%q).Index = %+v, want %+v", tt.expr, p.Index, want)
			}
			var residual string
			if p.Residual != nil {
				residual = p.Residual.String()
			}
			if residual != tt.residual {
				t.Errorf("Compile(%q).Residual = %q, want %q", tt.expr, residual, tt.residual)
			}
			if p.Exact != (p.Residual == nil) {
				t.Errorf("Compile(%q).Exact = %v with Residual %v", tt.expr, p.Exact, p.Residual)
			}
			if p.Empty != tt.empty {
				t.Errorf("Compile(%q).Empty = %v, want %v", tt.expr, p.Empty, tt.empty)
			}
		})
	}
}

// sameQuery compares index queries, times by instant.
func sameQuery(a, b store.IndexQuery) bool {
	if !a.From.Equal(b.From) || !a.To.Equal(b.To) {
		return false
	}
	a.From, a.To, b.From, b.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestCompileNoLog(t *testing.T) {
	if _, err := Compile(mustParse(t, "a"), "", compileNow); err == nil {
		t.Errorf(`Compile(a, "") = nil error, want one`)
	}
}

// TestCompileProperty checks Compile against Match: for random
// expressions and entries, the index query (as store.IndexQuery documents
// it) and the residual together select exactly the entries that the
// expression matches.
func TestCompileProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	entries := make([]*event.Entry, 300)
	for i := range entries {
		entries[i] = randomEntry(t, rng)
	}
	n := 5000
	if testing.Short() {
		n = 500
	}
	var exact, empty, indexed int
	for range n {
		src := randomExpr(rng)
		x := mustParse(t, src)
		p, err := Compile(x, "acme", compileNow)
		if err != nil {
			t.Fatalf("Compile(%q) = %v", src, err)
		}
		if p.Exact {
			exact++
		}
		if p.Empty {
			empty++
		}
		if p.Index != (store.IndexQuery{Log: "acme"}) {
			indexed++
		}
		checkPlan(t, src, x, p, entries)
	}
	t.Logf("%d expressions: %d exact plans, %d empty, %d using the index", n, exact, empty, indexed)
	if exact == 0 || empty == 0 || indexed < n/4 {
		t.Errorf("the random expressions exercise too little: %d exact plans, %d empty, %d using the index", exact, empty, indexed)
	}
}

// checkPlan reports the entries on which plan p of x disagrees with Match.
func checkPlan(t *testing.T, src string, x Expr, p Plan, entries []*event.Entry) {
	t.Helper()
	rx := Resolve(x, compileNow)
	for i, e := range entries {
		want := Match(rx, e, uint64(i))
		got := !p.Empty && indexMatches(p.Index, e) && (p.Residual == nil || Match(p.Residual, e, uint64(i)))
		if got != want {
			t.Fatalf("Compile(%q) = %+v, residual %v: selects entry %d (%s %s %v %q) = %v, Match = %v",
				src, p.Index, p.Residual, i, e.Time.Format(time.RFC3339Nano), e.Type, e.Resource, e.Outcome, got, want)
		}
	}
}

// Vocabularies of the random entries and expressions, small so that terms
// often meet.
var (
	randTypes   = []string{"auth.login", "auth.login.sso", "auth.logout", "authz.check", "data.read", "auth.login2"}
	randActors  = []string{"alice", "bob"}
	randRefs    = []string{"", "r1", "r2"}
	randResTyps = []string{"", "bucket", "account"}
	randOutcome = []string{"", "success", "failure", "unknown"}
	randTerms   = []string{
		`actor.id:alice`, `actor.id:bob`, `actor.id:al*`, `actor.id:""`,
		`resource.type:bucket`, `resource.type:account`, `resource.type:""`, `resource.type:*`,
		`resource.id:r1`, `resource.id:r2`, `resource.id:r?`,
		`outcome:success`, `outcome:failure`, `outcome:unknown`, `outcome:*e*`,
		`type:auth.login`, `type:auth.*`, `type:auth.login.*`, `type:auth.login.sso`, `type:data.*`,
		`type:auth*`, `type:authz.check`, `category:auth`, `category:data`, `category:authz`, `action:login`,
		`time>=-1h`, `time<-30m`, `time>2026-11-23T11:15:00Z`, `time<=2026-11-23T11:45:00.5Z`,
		`time:2026-11-23T11:30:00Z`, `time>=2026-11-23T11:30:00.001Z`, `time<now`, `time>=0001-01-01T00:00:00Z`,
		`index>=100`, `index<150`, `data.n>3`, `data.n<=5`, `data.s:x`, `alice`, `login`, `project:p1`,
	}
)

// randInstants are the times of randTerms, with compileNow for "now".
var randInstants = []time.Time{
	ts("2026-11-23T11:00:00Z"), ts("2026-11-23T11:15:00Z"), ts("2026-11-23T11:30:00Z"),
	ts("2026-11-23T11:30:00.001Z"), ts("2026-11-23T11:45:00.5Z"), compileNow,
	ts("0001-01-01T00:00:00Z"),
}

// randomTime returns a time on or next to one of randInstants (a
// millisecond or half of one before or after), or between them.
func randomTime(rng *rand.Rand) time.Time {
	if rng.IntN(4) == 0 {
		return ts("2026-11-23T11:00:00Z").Add(time.Duration(rng.Int64N(int64(time.Hour))))
	}
	d := pick(rng, []time.Duration{-time.Millisecond, -time.Millisecond / 2, 0, time.Millisecond / 2, time.Millisecond})
	t := pick(rng, randInstants).Add(d)
	if t.IsZero() { // an event's time is required: the zero time is none
		t = t.Add(time.Millisecond)
	}
	return t
}

func randomEntry(tb testing.TB, rng *rand.Rand) *event.Entry {
	ev := &event.Event{
		Time:    randomTime(rng),
		Type:    pick(rng, randTypes),
		Outcome: pick(rng, randOutcome),
		Actor:   event.Actor{ID: pick(rng, randActors)},
		Project: pick(rng, []string{"", "p1"}),
		Data:    map[string]any{"n": json.Number(fmt.Sprint(rng.IntN(8))), "s": pick(rng, []string{"x", "y"})},
	}
	if rt, rid := pick(rng, randResTyps), pick(rng, randRefs); rt != "" || rid != "" {
		ev.Resource = &event.Resource{Type: rt, ID: rid}
	}
	return sealed(tb, ev)
}

// randomExpr returns a conjunction of one to five operands, each a term, a
// negated term, or a group of terms joined by OR or AND.
func randomExpr(rng *rand.Rand) string {
	n := 1 + rng.IntN(5)
	parts := make([]string, n)
	for i := range parts {
		switch r := rng.IntN(10); {
		case r < 6:
			parts[i] = pick(rng, randTerms)
		case r < 8:
			parts[i] = "-" + pick(rng, randTerms)
		default:
			op := pick(rng, []string{" OR ", " "})
			parts[i] = "(" + pick(rng, randTerms) + op + pick(rng, randTerms) + ")"
		}
	}
	return strings.Join(parts, pick(rng, []string{" ", " AND "}))
}

func pick[T any](rng *rand.Rand, l []T) T { return l[rng.IntN(len(l))] }
