package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// jsonSeeds are valid and invalid JSON texts, used by the tables and as
// the seed corpus of the fuzzers.
var jsonSeeds = []string{
	`null`, `true`, `false`, `0`, `-0`, `1.5e-3`, `""`, `"a"`, `[]`, `{}`,
	` [1, "two", {"three": [3.0]}, null] `,
	`{"a":{"b":{"c":[]}}}`,
	`"\u00e9\u20ac\ud83d\ude00 \" \\ \/ \b \f \n \r \t"`,
	`"é€😀"`,
	`{"":0,"a/b":1,"m~n":2}`,
	`{"a":1,"a":2}`,
	`{"a":1,"\u0061":2}`,
	`"\ud800"`, `"\udc00x"`, `"\ud800\u0041"`,
	"\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
	`1e400`, `-1e400`, `1e-400`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
	`12345678901234567890123456789012345678901234567890123456789012345`,
	`[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[`, `{`, `"abc`, `tru`, `nul`,
	`{} {}`, `1 2`, `[] x`, "\"a\tb\"", "\"a\nb\"", "\ufeff{}",
	"{\n  \"actor\": {\"id\": \"a\", \"id\": \"b\"}\n}",
	strings.Repeat("[", 40) + strings.Repeat("]", 40),
	strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32),
	sampleEvent,
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{`null`, nil},
		{` true `, true},
		{"\t\r\nfalse\n", false},
		{`-12.5e+3`, json.Number("-12.5e+3")},
		{`1e-400`, json.Number("1e-400")}, // underflows to 0: finite
		{`"a\u00e9\ud83d\ude00\/"`, "aé😀/"},
		{`[1,"x",[],{}]`, []any{json.Number("1"), "x", []any{}, map[string]any{}}},
		{`{"a":{"b":null},"c":[true]}`, map[string]any{"a": map[string]any{"b": nil}, "c": []any{true}}},
	}
	for _, tt := range tests {
		got, err := ParseJSON([]byte(tt.in), DefaultLimits())
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseJSON(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		in  string
		lim Limits
		err string // the whole Error() text
	}{
		{`{"actor":{"type":"x","id":"a","id":"b"}}`, Limits{},
			`line 1, column 31 (/actor/id): duplicate key "id"`},
		{"{\n  \"a\": [1, 2,\n  x]}", Limits{},
			`line 3, column 3 (/a/2): unexpected character 'x', want a value`},
		{`{"a\u0062":1,"ab":2}`, Limits{}, `line 1, column 14 (/ab): duplicate key "ab"`},
		{`{"a~/b":[0,{"c":"\ud800"}]}`, Limits{}, `line 1, column 18 (/a~0~1b/1/c): lone surrogate \ud800 in string`},
		{`["é", "\udc00"]`, Limits{}, `line 1, column 8 (/1): lone surrogate \udc00 in string`},
		{"[\"\xff\"]", Limits{}, `line 1, column 3 (/0): invalid UTF-8 in string`},
		{"{\"\xff\":1}", Limits{}, `line 1, column 3: invalid UTF-8 in string`},
		{"\"a\x01\"", Limits{}, `line 1, column 3: control character 0x01 in string`},
		{`{"n":1e400}`, Limits{}, `line 1, column 6 (/n): number 1e400 is out of range`},
		{`{"n":-1e400}`, Limits{}, `line 1, column 6 (/n): number -1e400 is out of range`},
		{`[` + strings.Repeat("1", 65) + `]`, Limits{}, `line 1, column 2 (/0): number is longer than 64 characters`},
		{`[01]`, Limits{}, `line 1, column 3: unexpected character '1', want ',' or ']'`},
		{`[1.]`, Limits{}, `line 1, column 2 (/0): invalid number`},
		{`{"a":1}x`, Limits{}, `line 1, column 8: unexpected character 'x' after top-level value`},
		{`{"a":1} {}`, Limits{}, `line 1, column 9: unexpected character '{' after top-level value`},
		{``, Limits{}, `line 1, column 1: unexpected end of input, want a value`},
		{`{"a":`, Limits{}, `line 1, column 6 (/a): unexpected end of input, want a value`},
		{`{"a":"b`, Limits{}, `line 1, column 8 (/a): unexpected end of input in string`},
		{`[1,]`, Limits{}, `line 1, column 4 (/1): unexpected character ']', want a value`},
		{`{"a":1,}`, Limits{}, `line 1, column 8: unexpected character '}', want a string key`},
		{`"\x"`, Limits{}, `line 1, column 2: invalid escape in string`},
		{`"\u12"`, Limits{}, `line 1, column 2: invalid \u escape`},
		{`tru`, Limits{}, `line 1, column 1: invalid literal, want true`},
		{"\ufeff{}", Limits{}, `line 1, column 1: unexpected byte 0xef, want a value`},
		{`[[[1]]]`, Limits{MaxDepth: 2}, `line 1, column 3 (/0/0): nesting is deeper than 2 levels`},
		{`[1, 2]`, Limits{MaxBytes: 5}, `line 1, column 6: input is longer than 5 bytes`},
	}
	for _, tt := range tests {
		_, err := ParseJSON([]byte(tt.in), tt.lim)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseJSON(%q) = %v, want a *SyntaxError", tt.in, err)
			continue
		}
		if err.Error() != tt.err {
			t.Errorf("ParseJSON(%q) = %v, want %v", tt.in, err, tt.err)
		}
	}
}

func TestParseJSONLimits(t *testing.T) {
	deep := strings.Repeat("[", 32) + strings.Repeat("]", 32)
	if _, err := ParseJSON([]byte(deep), DefaultLimits()); err != nil {
		t.Errorf("ParseJSON(32 levels) = %v, want nil", err)
	}
	if _, err := ParseJSON([]byte("["+deep+"]"), DefaultLimits()); err == nil {
		t.Errorf("ParseJSON(33 levels) = nil, want error")
	}
	exact := []byte(`"` + strings.Repeat("x", 64<<10-2) + `"`)
	if _, err := ParseJSON(exact, Limits{}); err != nil {
		t.Errorf("ParseJSON(64 KiB) = %v, want nil", err)
	}
	if _, err := ParseJSON(append(exact, ' '), Limits{}); err == nil {
		t.Errorf("ParseJSON(64 KiB + 1) = nil, want error")
	}
}

// extraRule reports whether a SyntaxError is one of the rules by which
// ParseJSON is stricter than encoding/json.
func extraRule(se *SyntaxError) bool {
	for _, s := range []string{"duplicate key", "invalid UTF-8", "lone surrogate", "nesting is deeper",
		"is out of range", "number is longer", "input is longer"} {
		if strings.Contains(se.Msg, s) {
			return true
		}
	}
	return false
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseJSON(data, DefaultLimits())
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseJSON(%q) = %v, want a *SyntaxError", data, err)
			}
			if se.Offset < 0 || se.Offset > int64(len(data)) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("ParseJSON(%q): bad position in %#v", data, se)
			}
			// What encoding/json accepts we refuse only for our extra rules.
			if json.Valid(data) && !extraRule(se) {
				t.Fatalf("ParseJSON(%q) = %v, but encoding/json accepts it", data, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("ParseJSON(%q) accepted what encoding/json rejects", data)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("ParseJSON(%q) = %#v, encoding/json gives %#v", data, v, want)
		}
		checkCanonical(t, data, v)
	})
}

func TestSyntaxErrorWithoutPath(t *testing.T) {
	e := &SyntaxError{Line: 2, Column: 5, Msg: "boom"}
	if got, want := e.Error(), "line 2, column 5: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
