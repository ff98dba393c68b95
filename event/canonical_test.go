package event

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestCanonicalizeGolden checks the examples of RFC 8785 and of its
// reference implementations: testdata/jcs/NAME.in.json must canonicalise
// to testdata/jcs/NAME.out.json.
func TestCanonicalizeGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/jcs/*.in.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".in.json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(in, ".in.json") + ".out.json")
			if err != nil {
				t.Fatal(err)
			}
			got, err := Canonicalize(data)
			if err != nil {
				t.Fatalf("Canonicalize(%s) error: %v", in, err)
			}
			if string(got) != string(want) {
				t.Errorf("Canonicalize(%s) =\n%s\nwant\n%s", in, got, want)
			}
			again, err := Canonicalize(got)
			if err != nil || string(again) != string(got) {
				t.Errorf("Canonicalize(Canonicalize(%s)) = %s, %v; want idempotent", in, again, err)
			}
		})
	}
}

// TestNumberVectors checks RFC 8785 Appendix B, given as IEEE 754 bits.
func TestNumberVectors(t *testing.T) {
	f, err := os.Open("testdata/jcs/numbers.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		hex, want, _ := strings.Cut(line, " ")
		bits, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		v := math.Float64frombits(bits)
		got, err := AppendCanonical(nil, v)
		switch {
		case want == "error" && err == nil:
			t.Errorf("AppendCanonical(%s) = %s, want error", hex, got)
		case want != "error" && (err != nil || string(got) != want):
			t.Errorf("AppendCanonical(%s) = %s, %v; want %s", hex, got, err, want)
		}
		// The text must also parse back to the same double.
		if err == nil {
			back, _ := strconv.ParseFloat(string(got), 64)
			if back != v && !(v == 0 && back == 0) {
				t.Errorf("ParseFloat(%s) = %v, want %v", got, back, v)
			}
		}
		n++
	}
	if n < 26 {
		t.Errorf("read %d vectors, want 26", n)
	}
}

func TestAppendCanonicalTypes(t *testing.T) {
	tests := []struct {
		v    any
		want string // "" means an error
	}{
		{nil, "null"},
		{true, "true"},
		{false, "false"},
		{"a\"b\\c\u0007", `"a\"b\\c\u0007"`},
		{"\u2028\u00e9<>&", "\"\u2028\u00e9<>&\""},
		{1.0, "1"},
		{math.Copysign(0, -1), "0"},
		{int(-42), "-42"},
		{int64(1 << 53), "9007199254740992"},
		{int64(1<<53 + 1), ""},
		{uint64(1 << 53), "9007199254740992"},
		{uint64(math.MaxUint64), ""},
		{json.Number("1.50"), "1.5"},
		{json.Number("1e400"), ""},
		{json.Number("0x10"), ""},
		{json.Number("Inf"), ""},
		{json.Number(""), ""},
		{math.NaN(), ""},
		{math.Inf(-1), ""},
		{[]string{"b", "a"}, `["b","a"]`},
		{[]string{"\xff"}, ""},
		{[]any{1.5, "x", nil, map[string]any{}}, `[1.5,"x",null,{}]`},
		{map[string]any{"b": 1, "a": []any{}, "": "e"}, `{"":"e","a":[],"b":1}`},
		{map[string]any{"\xff": 1}, ""},
		{"\xed\xa0\x80", ""}, // an encoded surrogate is not UTF-8
		{float32(1), ""},
		{struct{}{}, ""},
	}
	for _, tt := range tests {
		got, err := AppendCanonical(nil, tt.v)
		if tt.want == "" {
			if err == nil {
				t.Errorf("AppendCanonical(%#v) = %s, want error", tt.v, got)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendCanonical(%#v) = %s, %v; want %s", tt.v, got, err, tt.want)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	// In order of UTF-16 code units; UTF-8 byte order differs for the
	// last two.
	sorted := []string{"", "\r", "1", "a", "ab", "b", "\u0080", "\u00f6", "\u20ac", "\U0001F600", "\U0001F601", "\ufb33", "\uffff"}
	for i, a := range sorted {
		for j, b := range sorted {
			got := compareUTF16(a, b)
			if (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("compareUTF16(%q, %q) = %d, want sign of %d", a, b, got, i-j)
			}
		}
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	for _, in := range []string{`{"a":1,"a":2}`, `"\ud800"`, `1e999`, `[1,]`, "\"\xff\""} {
		if got, err := Canonicalize([]byte(in)); err == nil {
			t.Errorf("Canonicalize(%q) = %s, want error", in, got)
		}
	}
	// No size limit, unlike ParseJSON's default.
	big := `"` + strings.Repeat("x", 100<<10) + `"`
	if _, err := Canonicalize([]byte(big)); err != nil {
		t.Errorf("Canonicalize(100 KiB string) error: %v", err)
	}
}

// TestCanonicalProperties checks on varied inputs that canonicalisation
// is idempotent and that its output parses to an equal value.
func TestCanonicalProperties(t *testing.T) {
	for _, in := range jsonSeeds {
		v, err := ParseJSON([]byte(in), DefaultLimits())
		if err != nil {
			continue
		}
		checkCanonical(t, []byte(in), v)
	}
}

func checkCanonical(t *testing.T, in []byte, v any) {
	t.Helper()
	c, err := AppendCanonical(nil, v)
	if err != nil {
		t.Fatalf("AppendCanonical(ParseJSON(%q)) error: %v", in, err)
	}
	c2, err := Canonicalize(c)
	if err != nil || string(c2) != string(c) {
		t.Fatalf("Canonicalize(%q) = %q, %v; want it unchanged", c, c2, err)
	}
	back, err := ParseJSON(c, Limits{MaxBytes: math.MaxInt})
	if err != nil {
		t.Fatalf("ParseJSON(%q) error: %v", c, err)
	}
	if !equalJSON(v, back) {
		t.Fatalf("ParseJSON(Canonicalize(%q)) = %#v, want %#v", in, back, v)
	}
}

// equalJSON compares parsed values, numbers by their float64 value.
func equalJSON(a, b any) bool {
	switch a := a.(type) {
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		fa, _ := a.Float64()
		fb, _ := b.Float64()
		return fa == fb
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equalJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equalJSON(av, bv) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(a, b)
	}
}
