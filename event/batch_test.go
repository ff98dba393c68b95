package event

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

const good = `{` + base + `}`

// readAll runs ReadNDJSON and returns the lines of the events it passed on.
func readAll(in string, lim Limits) ([]int, error) {
	var lines []int
	err := ReadNDJSON(strings.NewReader(in), lim, func(line int, ev *Event) error {
		if ev.Actor.ID != "alice" {
			return fmt.Errorf("line %d: wrong event %+v", line, ev)
		}
		lines = append(lines, line)
		return nil
	})
	return lines, err
}

func TestReadNDJSON(t *testing.T) {
	tests := []struct {
		in    string
		lines []int
	}{
		{good, []int{1}},
		{good + "\n", []int{1}},
		{good + "\r\n" + good + "\r\n", []int{1, 2}},
		{"\n\n" + good + "\n  \t\n\r\n" + good, []int{3, 6}},
	}
	for _, tt := range tests {
		lines, err := readAll(tt.in, DefaultLimits())
		if err != nil || !reflect.DeepEqual(lines, tt.lines) {
			t.Errorf("ReadNDJSON(%q) = %v, %v; want %v", tt.in, lines, err, tt.lines)
		}
	}
}

func TestReadNDJSONErrors(t *testing.T) {
	long := `{` + base + `,"message":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		in   string
		lim  Limits
		want []ItemError
	}{
		{
			good + "\n{\"actor\":{\"id\":1}," + base[:len(base)-len(`,"actor":{"id":"alice"}`)] + "}\n\n" + good + "\n{\"a\":1,\"a\":2}\n",
			Limits{},
			[]ItemError{
				{Item: 1, Line: 2, Errors: []FieldError{{"/actor/id", "must be a string, not number"}}},
				{Item: 3, Line: 5, Errors: []FieldError{{"/a", `column 8: duplicate key "a"`}}},
			},
		},
		{
			good + "\n" + long + "\n" + good,
			Limits{MaxBytes: 200},
			[]ItemError{{Item: 1, Line: 2, Errors: []FieldError{{"", "line is longer than 200 bytes"}}}},
		},
		{
			long, // last line, no newline
			Limits{MaxBytes: 200},
			[]ItemError{{Item: 0, Line: 1, Errors: []FieldError{{"", "line is longer than 200 bytes"}}}},
		},
		{
			"[" + good + "]\n",
			Limits{},
			[]ItemError{{Item: 0, Line: 1, Errors: []FieldError{{"", "an event must be a JSON object, not array"}}}},
		},
	}
	for _, tt := range tests {
		_, err := readAll(tt.in, tt.lim)
		var be *BatchError
		if !errors.As(err, &be) || !reflect.DeepEqual(be.Items, tt.want) || be.Truncated {
			t.Errorf("ReadNDJSON(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestReadNDJSONLongLineStreams(t *testing.T) {
	// A 10 MiB line is rejected while read in small pieces.
	r := io.MultiReader(strings.NewReader(`{"message":"`), &repeatReader{b: 'x', n: 10 << 20}, strings.NewReader("\"}\n"+good+"\n"))
	var lines []int
	err := ReadNDJSON(iotest.HalfReader(r), DefaultLimits(), func(line int, ev *Event) error {
		lines = append(lines, line)
		return nil
	})
	var be *BatchError
	if !errors.As(err, &be) || len(be.Items) != 1 || be.Items[0].Line != 1 || !reflect.DeepEqual(lines, []int{2}) {
		t.Errorf("ReadNDJSON(10 MiB line, good line) = %v, lines %v; want line 1 too long, line 2 read", err, lines)
	}
}

type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func TestReadNDJSONStops(t *testing.T) {
	in := strings.Repeat("{}\n", 150)
	_, err := readAll(in, DefaultLimits())
	var be *BatchError
	if !errors.As(err, &be) || len(be.Items) != MaxItemErrors || !be.Truncated {
		t.Errorf("ReadNDJSON(150 bad lines) = %v, want %d items and Truncated", err, MaxItemErrors)
	}

	for _, in := range []string{"", "\n", " \r\n\n"} {
		if _, err := readAll(in, DefaultLimits()); err != ErrEmptyBatch {
			t.Errorf("ReadNDJSON(%q) = %v, want ErrEmptyBatch", in, err)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err = ReadNDJSON(strings.NewReader(good+"\n"+good), DefaultLimits(), func(int, *Event) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("ReadNDJSON with failing fn = %v after %d calls, want stop after 1", err, calls)
	}

	failing := iotest.ErrReader(errors.New("disk on fire"))
	if err := ReadNDJSON(failing, DefaultLimits(), nil); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("ReadNDJSON(failing reader) = %v, want the read error", err)
	}
}

func TestParseBatch(t *testing.T) {
	for _, in := range []string{good, " " + good + "\n", "[" + good + "]", "[\n" + good + ",\n" + good + "\n]\n"} {
		evs, err := ParseBatch([]byte(in), DefaultLimits())
		if err != nil || len(evs) != strings.Count(in, base) {
			t.Errorf("ParseBatch(%q) = %d events, %v; want %d", in, len(evs), err, strings.Count(in, base))
		}
	}
}

func TestParseBatchErrors(t *testing.T) {
	bad := `{"time":"2026-01-02T03:04:05Z","type":"auth.login","actor":{"id":"alice"},"x":1}`
	tests := []struct {
		in    string
		lim   Limits
		items []ItemError
		err   string // Error() text when items is nil
	}{
		{in: "", err: ErrEmptyBatch.Error()},
		{in: " [ ] ", err: ErrEmptyBatch.Error()},
		{in: "\n" + bad, items: []ItemError{{Item: 0, Line: 2, Errors: []FieldError{{"/x", "unknown field"}}}}},
		{in: "[" + good + ",\n" + bad + ",\n1,\n" + good + ",\n" + bad + "]", items: []ItemError{
			{Item: 1, Line: 2, Errors: []FieldError{{"/x", "unknown field"}}},
			{Item: 2, Line: 3, Errors: []FieldError{{"", "an event must be a JSON object, not number"}}},
			{Item: 4, Line: 5, Errors: []FieldError{{"/x", "unknown field"}}},
		}},
		{in: "[" + good + "," + good + "]", lim: Limits{MaxBytes: 70}, items: []ItemError{
			{Item: 0, Line: 1, Errors: []FieldError{{"", "event is longer than 70 bytes"}}},
			{Item: 1, Line: 1, Errors: []FieldError{{"", "event is longer than 70 bytes"}}},
		}},
		{in: "[" + good + ",\n" + `{"a":1,"a":2}]`, err: `line 2, column 8 (/1/a): duplicate key "a"`},
		{in: "[" + good + " " + good + "]", err: `line 1, column 77: unexpected character '{', want ',' or ']'`},
		{in: "[" + good + "] x", err: `line 1, column 78: unexpected character 'x' after the array of events`},
		{in: "[" + good + ",", err: `line 1, column 77 (/1): unexpected end of input, want a value`},
		{in: `[{"data":[[1]]}]`, lim: Limits{MaxDepth: 2}, err: `line 1, column 11 (/0/data/0): nesting is deeper than 2 levels`},
		{in: good + good, err: `line 1, column 75: unexpected character '{' after top-level value`},
	}
	for _, tt := range tests {
		evs, err := ParseBatch([]byte(tt.in), tt.lim)
		if tt.items == nil {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseBatch(%q) = %d events, %v; want %v", tt.in, len(evs), err, tt.err)
			}
			continue
		}
		var be *BatchError
		if !errors.As(err, &be) || !reflect.DeepEqual(be.Items, tt.items) {
			t.Errorf("ParseBatch(%q) = %v, want %v", tt.in, err, tt.items)
		}
	}
}

func TestBatchErrorText(t *testing.T) {
	e := &BatchError{Items: []ItemError{
		{Item: 0, Line: 1, Errors: []FieldError{{"/time", "is required"}, {"/x", "unknown field"}}},
		{Item: 3, Errors: []FieldError{{"", "an event must be a JSON object, not number"}}},
	}, Truncated: true}
	want := "2 invalid events: item 0 (line 1): /time: is required; /x: unknown field; " +
		"item 3: an event must be a JSON object, not number; stopped checking after these"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func FuzzReadNDJSON(f *testing.F) {
	f.Add([]byte(good+"\n"+good), 0)
	f.Add([]byte("\r\n\n"+good+"\r\n{}\n[]\n{\"a\":1,\"a\":1}"), 0)
	f.Add([]byte(good+"\n"+good), 100)
	f.Add([]byte(strings.Repeat("\n", 10)), 1)
	for _, s := range jsonSeeds {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxBytes int) {
		lim := Limits{MaxBytes: maxBytes % 1000}
		var lines []int
		err := ReadNDJSON(iotest.OneByteReader(strings.NewReader(string(data))), lim, func(line int, ev *Event) error {
			if len(lines) > 0 && line <= lines[len(lines)-1] {
				t.Fatalf("line %d after line %d", line, lines[len(lines)-1])
			}
			lines = append(lines, line)
			return nil
		})
		var be *BatchError
		switch {
		case err == nil:
			if len(lines) == 0 {
				t.Fatalf("ReadNDJSON(%q) = nil without events", data)
			}
		case err == ErrEmptyBatch:
			if len(lines) != 0 {
				t.Fatalf("ReadNDJSON(%q) = ErrEmptyBatch after %d events", data, len(lines))
			}
		case errors.As(err, &be):
			for _, it := range be.Items {
				if it.Line < 1 || len(it.Errors) == 0 {
					t.Fatalf("ReadNDJSON(%q): bad item %+v", data, it)
				}
			}
		default:
			t.Fatalf("ReadNDJSON(%q) = %v", data, err)
		}
		// Each line parses alone exactly as within the stream.
		n := strings.Count(string(data), "\n") + 1
		if len(lines) > n {
			t.Fatalf("ReadNDJSON(%q) passed %d events from %d lines", data, len(lines), n)
		}
	})
}
