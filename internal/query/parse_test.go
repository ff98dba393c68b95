package query

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// validExprs are expressions that parse; TestParseGolden records their
// normalised form in testdata/parse.golden.
var validExprs = []string{
	``,
	`   `,
	`actor.id:alice`,
	`actor.id:alice@example.com actor.type:service actor.ip:203.0.113.7`,
	`actor.user_agent:"curl/8.4 (x86_64)"`,
	`type:auth.*`,
	`type:auth.login`,
	`type:auth.?ogin`,
	`type:"auth.*"`,
	`category:auth action:login outcome:failure`,
	`outcome:s*`,
	`resource.type:bucket resource.id:acct-42`,
	`project:payments environment:production source:billing-api`,
	`subject:subj-9 trace_id:4bf92f3577b34da6 id:ev-1`,
	`message:"disk full"`,
	`message:Rejected`,
	`data.method:password`,
	`data.user.name:"Alice Smith"`,
	`data.items.0.sku:x1`,
	`data.amount>1000`,
	`data.amount>=1000 data.amount<2e3 data.amount<=1999.5`,
	`data.amount!=5`,
	`data.delta<-5`,
	`data.version>"10"`,
	`data.name:""`,
	`time>=-24h`,
	`time>=-7d time<-30m`,
	`time>-1h30m`,
	`time<=now`,
	`time<2026-11-23T10:00:00Z`,
	`time<2026-11-23T10:00:00+01:00`,
	`time>="2026-11-23T10:00:00.123456789Z"`,
	`time:2026-11-23T10:00:00.5Z`,
	`time!=2026-11-23T10:00:00Z`,
	`index>=10`,
	`index<0010`,
	`index:7`,
	`password`,
	`"disk full"`,
	`fail*`,
	`"fail*"`,
	`12:30`,
	`"http://example.com/a"`,
	`"actor.id:alice"`,
	`"and" "OR" "Not"`,
	`"-x"`,
	`"a\"b\\c"`,
	`""`,
	`ünïcødé`,
	`a b c`,
	`a AND b AND c`,
	`a and b or c`,
	`a OR b c`,
	`a b OR c`,
	`(a OR b) c`,
	`a (b OR c) d`,
	`NOT a b`,
	`NOT a OR b`,
	`NOT (a OR b)`,
	`not not a`,
	`-a -b`,
	`-(a b)`,
	`--a`,
	`-"quoted text"`,
	`NOT(a)`,
	`((a))`,
	`(a AND b) AND (c AND d)`,
	`(a OR b) OR (c OR d)`,
	`((a OR b) c) OR d`,
	`a OR (b OR (c OR d))`,
	`outcome:failure type:auth.* -actor.type:service`,
	`data.amount>1000 AND (project:payments OR project:billing)`,
	"actor.id:alice\tOR\n actor.id:bob",
	`actor.id:and actor.id:OR`,
	`actor.id:-x`,
	`resource.id:a:b:c`,
}

func TestParseGolden(t *testing.T) {
	var b strings.Builder
	for _, src := range validExprs {
		x, err := Parse(src)
		if err != nil {
			t.Errorf("Parse(%q) = %v, want no error", src, err)
			continue
		}
		fmt.Fprintf(&b, "%q\n\t%s\n", src, x)
	}
	golden(t, "parse.golden", b.String())
}

// parseTests are the cases that show the grammar (precedence, implicit
// AND, negation, quoting) with their normalised form.
var parseTests = []struct {
	name, in, want string
}{
	{"empty", "", ""},
	{"implicit and", "a b", "a AND b"},
	{"and binds tighter than or", "a OR b c", "a OR (b AND c)"},
	{"and binds tighter than or on the left", "a b OR c", "(a AND b) OR c"},
	{"not binds tighter than and", "NOT a b", "NOT a AND b"},
	{"not binds tighter than or", "NOT a OR b", "NOT a OR b"},
	{"parentheses", "(a OR b) c", "(a OR b) AND c"},
	{"minus", "-a b", "NOT a AND b"},
	{"minus group", "-(a b)", "NOT (a AND b)"},
	{"double negation kept", "--a", "NOT NOT a"},
	{"keywords ignore case", "a and b Or not c", "(a AND b) OR NOT c"},
	{"flattened and", "(a b) (c d)", "a AND b AND c AND d"},
	{"flattened or", "(a OR b) OR c", "a OR b OR c"},
	{"redundant parentheses", "((a))", "a"},
	{"not equal", "data.x!=5", "NOT data.x:5"},
	{"quoted keyword", `"and"`, `"and"`},
	{"quoted bare word", `"alice"`, "alice"},
	{"quoted field value", `actor.id:"alice"`, "actor.id:alice"},
	{"escapes", `"say \"hi\" \\o/"`, `"say \"hi\" \\o/"`},
	{"quoted pattern is literal", `"a*"`, `"a*"`},
	{"bare pattern", `a*`, `a*`},
	{"quoted colon", `"a:b"`, `"a:b"`},
	{"leading digit is text", `12:30`, `12:30`},
	{"keyword value", `actor.id:or`, `actor.id:or`},
	{"time in UTC", `time<2026-11-23T10:00:00+01:00`, `time<2026-11-23T09:00:00Z`},
	{"time in milliseconds", `time:2026-11-23T10:00:00.123456Z`, `time:2026-11-23T10:00:00.123Z`},
	{"relative time kept", `time>=-7d`, `time>=-7d`},
	{"index normalised", `index>=007`, `index>=7`},
	{"number kept as written", `data.n<1.50`, `data.n<1.50`},
	{"spaces", " \t a \n ", "a"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.in, err)
			}
			if got := x.String(); got != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

var errorTests = []struct {
	in  string
	col int
	msg string
}{
	{`actr.id:x`, 1, `unknown field "actr.id" (did you mean "actor.id"?)`},
	{`outcome:failure typ:auth.login`, 17, `unknown field "typ" (did you mean "type"?)`},
	{`Actor.ID:x`, 1, `unknown field "Actor.ID" (did you mean "actor.id"?)`},
	{`http://example.com`, 1, `unknown field "http"; to search for text with a ":" in it, put the text in double quotes`},
	{`data:x`, 1, `data needs a path of dot-separated keys, like data.method or data.user.name`},
	{`data..x:1`, 1, `data needs a path of dot-separated keys, like data.method or data.user.name`},
	{`data.x.:1`, 1, `data needs a path of dot-separated keys, like data.method or data.user.name`},
	{`outcome:failure actor.id:`, 26, `expected a value after "actor.id:"`},
	{`actor.id: alice`, 10, `expected a value after "actor.id:"`},
	{`data.x>=)`, 9, `expected a value after "data.x>="`},
	{`time>=-24x`, 7, `bad time "-24x": want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)`},
	{`time>=-`, 7, `bad time "-": want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)`},
	{`time>=-h`, 7, `bad time "-h": want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)`},
	{`time>=24h`, 7, `bad time "24h": want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)`},
	{`time>=-99999999999w`, 7, `relative time "-99999999999w" is too far back`},
	{`time<2026-13-01T00:00:00Z`, 6, `bad time "2026-13-01T00:00:00Z": want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)`},
	{`time<2026-11-23`, 6, `bad time "2026-11-23": want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)`},
	{`time:*`, 6, `bad time "*": want an RFC 3339 time (2026-11-23T10:00:00Z) or one relative to now (now, -24h, -7d, -30m)`},
	{`actor.id>3`, 9, `actor.id cannot be compared with ">": only data.*, time and index can; use ":" or "!=" for equality`},
	{`message<=x`, 8, `message cannot be compared with "<=": only data.*, time and index can; use ":" or "!=" for equality`},
	{`index>=x`, 8, `index takes a whole number, not "x"`},
	{`index:-1`, 7, `index takes a whole number, not "-1"`},
	{`index:+1`, 7, `index takes a whole number, not "+1"`},
	{`outcome:failed`, 9, `outcome is success, failure or unknown, not "failed"`},
	{`data.n>1*`, 8, `">" takes a plain value, not a pattern with * or ?`},
	{`data.x=5`, 7, `unexpected "=": compare with ":" (actor.id:alice), "!=", "<", "<=", ">" or ">="`},
	{`(a b`, 1, `"(" is not closed: add a ")"`},
	{`a (b (c)`, 3, `"(" is not closed: add a ")"`},
	{`a b)`, 4, `unexpected ")" without a matching "("`},
	{`)`, 1, `unexpected ")" without a matching "("`},
	{`()`, 1, `empty parentheses: put a term inside "()"`},
	{`a AND`, 6, `expected a term after "AND"`},
	{`a or`, 5, `expected a term after "OR"`},
	{`NOT`, 4, `expected a term after "NOT"`},
	{`a OR OR b`, 6, `expected a term after "OR", not "OR"`},
	{`a AND )`, 7, `expected a term after "AND", not ")"`},
	{`AND a`, 1, `"AND" needs a term on its left`},
	{`(or a)`, 2, `"OR" needs a term on its left`},
	{`- a`, 1, `expected a term right after "-"`},
	{`a -`, 3, `expected a term right after "-"`},
	{`a"b"`, 2, `unexpected '"' after "a": separate terms with a space`},
	{`"a"b`, 4, `unexpected 'b' after "\"a\"": separate terms with a space`},
	{`a(b)`, 2, `unexpected '(' after "a": separate terms with a space`},
	{`12>3`, 3, `unexpected '>' after "12": separate terms with a space`},
	{`a & b`, 3, `unexpected '&'`},
	{`"open`, 1, `quoted string is not closed: add a '"'`},
	{`"open\`, 1, `quoted string is not closed: add a '"'`},
	{`x "a\nb"`, 5, `unknown escape "\n" in a quoted string: only \" and \\ are escapes`},
	{`ünï "a\é"`, 7, `unknown escape "\é" in a quoted string: only \" and \\ are escapes`},
	{"a \xff", 3, `invalid UTF-8`},
	{strings.Repeat("a ", MaxLength/2) + "b", MaxLength + 1, `the expression is longer than 4096 bytes`},
	{strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), MaxDepth + 1, `the expression nests parentheses and negations more than 64 deep`},
	{strings.Repeat("NOT ", MaxDepth) + "-a", 4*MaxDepth + 1, `the expression nests parentheses and negations more than 64 deep`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			x, err := Parse(tt.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, %v, want a *SyntaxError", tt.in, x, err)
			}
			if se.Column != tt.col || se.Msg != tt.msg {
				t.Errorf("Parse(%q) = column %d: %s\nwant column %d: %s", tt.in, se.Column, se.Msg, tt.col, tt.msg)
			}
			if want := fmt.Sprintf("query: column %d: %s", tt.col, tt.msg); err.Error() != want {
				t.Errorf("Parse(%q).Error() = %q, want %q", tt.in, err.Error(), want)
			}
		})
	}
}

// TestParseLimits checks that expressions just within the limits parse.
func TestParseLimits(t *testing.T) {
	long := strings.Repeat("a ", MaxLength/2-1) + "bb"
	deep := strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth)
	if len(long) != MaxLength {
		t.Fatalf("len(long) = %d, want %d", len(long), MaxLength)
	}
	for _, src := range []string{long, deep, strings.Repeat("-", MaxDepth) + "a"} {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%.20q...) = %v, want no error", src, err)
		}
	}
}

// TestRoundTrip checks that the normalised form parses back to itself.
func TestRoundTrip(t *testing.T) {
	for _, src := range validExprs {
		x := mustParse(t, src)
		y, err := Parse(x.String())
		if err != nil {
			t.Errorf("Parse(%q) = %v, from Parse(%q)", x.String(), err, src)
			continue
		}
		if y.String() != x.String() {
			t.Errorf("Parse(%q) = %s, want %s", x.String(), y, x)
		}
	}
}

// TestColumnsInCharacters checks that columns count characters, not bytes.
func TestColumnsInCharacters(t *testing.T) {
	src := `message:"héllo wörld" actr.id:x`
	_, err := Parse(src)
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("Parse(%q) = %v, want a *SyntaxError", src, err)
	}
	if want := utf8.RuneCountInString(`message:"héllo wörld" `) + 1; se.Column != want {
		t.Errorf("Parse(%q) = column %d, want %d", src, se.Column, want)
	}
}
