package event

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The reference implementation: events decoded as Parse and ParseBatch did
// before they decoded events while parsing (see eventparse.go), by the
// generic parser and decoder, within the same framing (parseOne,
// parseBatch). The tests below check that both give the same results and
// errors on every input they can find.

// eventFromValue maps a parsed JSON value to an Event and validates it.
func eventFromValue(v any, allowReserved bool) (*Event, []FieldError) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, []FieldError{{Path: "", Message: "an event must be a JSON object, not " + jsonType(v)}}
	}
	var d decoder
	e := new(Event)
	d.event(m, e, isEventField)
	if e.Outcome == "" {
		e.Outcome = OutcomeUnknown
	}
	return e, d.finish(func(v *validator) { v.event(e, allowReserved, false) })
}

// referenceItem parses an event with the generic parser, then decodes it.
func referenceItem(p *parser) (*Event, []FieldError, error) {
	v, err := p.value()
	if err != nil {
		return nil, nil, err
	}
	e, errs := eventFromValue(v, false)
	return e, errs, nil
}

// referenceParse is Parse by way of parser.value and eventFromValue.
func referenceParse(data []byte, lim Limits) (*Event, error) {
	return parseOne(data, lim, referenceItem)
}

// referenceParseBatch is ParseBatch by way of parser.value and
// eventFromValue.
func referenceParseBatch(data []byte, lim Limits) ([]*Event, error) {
	return parseBatch(data, lim, referenceItem)
}

// checkEquivalent fails t unless Parse and ParseBatch give what the
// reference gives for data, alone and as items of an array.
func checkEquivalent(t *testing.T, data []byte, lim Limits) {
	t.Helper()
	e, err := Parse(data, lim)
	we, werr := referenceParse(data, lim)
	if !sameResult(e, err, we, werr) {
		t.Fatalf("Parse(%q, %+v) = %#v, %#v\nreference gives %#v, %#v", data, lim, e, err, we, werr)
	}
	batches := [][]byte{
		data,
		slices3("[", data, "]"),
		slices3("[\n", data, ",\n"+string(data)+"\n]"),
		slices3(`[{"x":1}, `, data, `, 3]`),
	}
	for _, b := range batches {
		evs, err := ParseBatch(b, lim)
		wevs, werr := referenceParseBatch(b, lim)
		if !sameResult(evs, err, wevs, werr) {
			t.Fatalf("ParseBatch(%q, %+v) = %#v, %#v\nreference gives %#v, %#v", b, lim, evs, err, wevs, werr)
		}
	}
}

func slices3(a string, b []byte, c string) []byte {
	return append(append([]byte(a), b...), c...)
}

// sameResult reports whether two results and errors are equal, errors
// down to their type, fields and text.
func sameResult(got any, err error, want any, wantErr error) bool {
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(err, wantErr) {
		return false
	}
	if err != nil && (reflect.TypeOf(err) != reflect.TypeOf(wantErr) || err.Error() != wantErr.Error()) {
		return false
	}
	return true
}

// equivalenceSeeds are inputs meant to reach every branch of the event
// decoder: each member with each JSON type, duplicates and unknown
// members at every level, escaped keys, and syntax errors inside members.
func equivalenceSeeds() []string {
	seeds := []string{
		sampleEvent,
		`{` + base + `}`,
		`{}`, `{ }`, `[]`, `[{}]`, `{"actor":{}}`, `{"actor":null}`, `{"resource":{}}`,
		`{` + base + `,"outcome":"x","resource":{"id":1},"data":{"a":[1,{"b":null}]}}`,
		`{` + base + `,"extra":1,"Type":"x"}`,
		`{"time":1,"type":true,"actor":"bob","outcome":null}`,
		`{"time":"2026-01-02T03:04:05.1234567891Z","type":"indelible.key.created","actor":{"id":"a","ip":"1.2.3","name":"x"}}`,
		`{"time":"0000-01-01T00:00:00+01:00","type":"Auth.Login","actor":{"id":7,"id2":[]}}`,
		`{` + base + `,"resource":{"id":"r","kind":"k","type":null}}`,
		`{` + base + `,"resource":[],"data":[1],"subject":{}}`,
		`{` + base + `,"id":"has space","message":"` + strings.Repeat("x", 8<<10+1) + `"}`,
		`{"actor":{"id":"a","id":"b"}}`,
		`{"id":"a","id":"b"}`, `{"id":null,"id":null}`, `{"x":1,"x":2}`, `{"x":1,"\u0078":2}`,
		`{"\u0069d":"a","id":"b"}`, `{"a/b~c":1,"a/b~c":2}`, `{"a/b":1,"m~n":{"x":[}}`,
		`{"resource":{"type":"a","\u0074ype":"b"}}`, `{"actor":{"q":1,"q":1}}`,
		`{"data":{"a":1,"a":2}}`, `{"data":{"n":1.0,"m":1e2,"o":-0,"p":1e400}}`,
		`{"id":1e400}`, `{"zz":1e400}`, `{"actor":{"id":1e400}}`, `{"data":null,"resource":null}`,
		`{"time":"","type":"","outcome":"","actor":{"id":""},"project":"","environment":"",` +
			`"source":"","message":"","trace_id":"","subject":"","resource":{"type":"","id":""},"data":{}}`,
		`{"id":true,"time":false,"type":null,"outcome":1,"actor":[],"resource":"r","project":{},` +
			`"environment":[],"source":0,"message":-1.5,"trace_id":true,"subject":false,"data":"d"}`,
		`{"type":"a.b","actor":{"id":"x","type":1,"ip":[],"user_agent":{},"z":1,"a":2},"y":1,"b":2}`,
		`{"actor":{"id":"` + strings.Repeat("a", 257) + `","user_agent":"` + strings.Repeat("u", 1025) + `"}}`,
		`{"type":"a.b","time":"2026-01-02T03:04:05Z","actor":{"id":"\ud83d\ude00\u00e9"},"message":"\"\\\/\b\f\n\r\t"}`,
		"{\"id\":\"\x01\"}", "{\"id\":\"\xff\"}", `{"id":"\ud800"}`, `{"id\ud800":1}`, "{\"\xff\":1}",
		`{"actor" 1}`, `{"actor":{"id" "a"}}`, `{"actor":{"id":"a"` + "\n" + `x}`, `{"actor":{"id":"a",}}`,
		`{"actor":{1:2}}`, `{"resource":{"id":"a"]}`, `{"data":{"a":}}`, `{"id":"a"`, `{"id":`, `{"id"`,
		`{"id`, `{`, `{"actor":{`, `{"actor":{"id":`, `{"a":1}}`, `{} x`, "\t{}\n", `{"id":"a",}`,
		`{"id":tru}`, `{"id":nul}`, `{"id":-}`, `{"data":{"a":[1,2,]}}`,
		strings.Repeat(`{"data":`, 33) + "{}" + strings.Repeat("}", 33),
		`{"data":` + strings.Repeat(`{"a":`, 30) + "1" + strings.Repeat("}", 31),
		`{"data":` + strings.Repeat(`[`, 31) + strings.Repeat("]", 31) + "}",
		`{"zz":` + strings.Repeat(`[`, 31) + strings.Repeat("]", 31) + "}",
		`{"actor":{"x":` + strings.Repeat(`[`, 30) + strings.Repeat("]", 30) + "}}",
		`[{"data":[[1]]}]`,
		"[" + `{` + base + `}` + "," + `{` + base + `}` + "]",
		"[\n" + `{` + base + `}` + ",\n1,\n{\"x\":1}\n]",
	}
	return append(seeds, jsonSeeds...)
}

// fuzzCorpus returns the inputs in the seed corpora of the fuzz targets
// (testdata/fuzz/*/*), as far as they are []byte or string values.
func fuzzCorpus(t *testing.T) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			for _, prefix := range []string{"[]byte(", "string("} {
				if s, ok := strings.CutPrefix(line, prefix); ok {
					if u, err := strconv.Unquote(strings.TrimSuffix(s, ")")); err == nil {
						out = append(out, []byte(u))
					}
				}
			}
		}
	}
	return out
}

// mutations returns variants of s made by deleting, duplicating,
// replacing and inserting bytes and by truncating it, drawn from r.
func mutations(r *rand.Rand, s []byte, n int) [][]byte {
	pieces := []string{`"`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, "\n", `\`, `\u`, `0`, `1.5e3`, `-`, `null`, `true`,
		`"id"`, `"actor"`, `"data"`, `"time"`, `"resource"`, `"type"`, `"x"`, `{}`, `[]`, "\xff", "é", `"a.b"`}
	out := [][]byte{}
	for i := 0; i <= len(s); i += 1 + len(s)/50 {
		out = append(out, s[:i:i])
	}
	for range n {
		b := bytes.Clone(s)
		for range 1 + r.IntN(3) {
			i := 0
			if len(b) > 0 {
				i = r.IntN(len(b))
			}
			switch r.IntN(4) {
			case 0:
				if len(b) > 0 {
					b = append(b[:i], b[i+1:]...)
				}
			case 1:
				j := min(len(b), i+1+r.IntN(20))
				b = append(b[:j], append(bytes.Clone(b[i:j]), b[j:]...)...)
			case 2:
				if len(b) > 0 {
					b[i] = byte(r.IntN(256))
				}
			case 3:
				p := pieces[r.IntN(len(pieces))]
				b = append(b[:i], append([]byte(p), b[i:]...)...)
			}
		}
		out = append(out, b)
	}
	return out
}

func TestParseEquivalence(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	limits := []Limits{{}, {MaxDepth: 2}, {MaxDepth: 3}, {MaxBytes: 70}, {MaxBytes: 300, MaxDepth: 5}}
	var inputs [][]byte
	for _, s := range equivalenceSeeds() {
		inputs = append(inputs, []byte(s))
	}
	inputs = append(inputs, fuzzCorpus(t)...)
	n := len(inputs)
	for _, in := range inputs[:n] {
		inputs = append(inputs, mutations(r, in, 150)...)
	}
	for _, in := range inputs {
		for _, lim := range limits {
			checkEquivalent(t, in, lim)
		}
	}
	t.Logf("%d inputs, %d limits", len(inputs), len(limits))
}

func FuzzParseEquivalence(f *testing.F) {
	for _, s := range equivalenceSeeds() {
		f.Add([]byte(s), uint16(0), uint8(0))
	}
	f.Add([]byte(`[{"data":[[1]]}]`), uint16(0), uint8(2))
	f.Add([]byte(`[{},{}]`), uint16(70), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, maxBytes uint16, maxDepth uint8) {
		checkEquivalent(t, data, Limits{MaxBytes: int(maxBytes), MaxDepth: int(maxDepth % 40)})
	})
}
