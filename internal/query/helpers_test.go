package query

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with the file testdata/name, or rewrites the file
// with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update to accept it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the lines of want and got that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n\twant %s\n\tgot  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// sealed returns the entry that holds ev, as the store gives it back:
// canonicalised and parsed with event.ParseEntry, so that data numbers
// are json.Number.
func sealed(tb testing.TB, ev *event.Event) *event.Entry {
	tb.Helper()
	en := &event.Entry{
		Event:      *ev,
		Version:    event.EntryVersion,
		Log:        "acme",
		ReceivedAt: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
		Digest:     []byte{1, 2, 3},
		Capture:    event.Capture{Level: event.CaptureFull},
	}
	b, err := en.Canonical()
	if err != nil {
		tb.Fatalf("Canonical() of %+v: %v", ev, err)
	}
	e, err := event.ParseEntry(b)
	if err != nil {
		tb.Fatalf("ParseEntry(%s): %v", b, err)
	}
	return e
}

// entryJSON returns the entry of the event written as JSON. An outcome of
// "-" leaves the entry without one (event.Parse would make it "unknown").
func entryJSON(tb testing.TB, js string) *event.Entry {
	tb.Helper()
	noOutcome := strings.Contains(js, `"outcome":"-"`)
	js = strings.Replace(js, `"outcome":"-"`, `"outcome":"unknown"`, 1)
	ev, err := event.Parse([]byte(js), event.DefaultLimits())
	if err != nil {
		tb.Fatalf("event.Parse(%s): %v", js, err)
	}
	if noOutcome {
		ev.Outcome = ""
	}
	return sealed(tb, ev)
}

// indexMatches applies q to e as the documentation of store.IndexQuery
// says an index does, from the row that the entry would have
// (store.IndexRow): times in whole milliseconds, an absent outcome
// stored as "unknown", absent resource fields as "".
func indexMatches(q store.IndexQuery, e *event.Entry) bool {
	t := e.Time.UnixMilli()
	if !q.From.IsZero() && t < q.From.UnixMilli() || !q.To.IsZero() && t >= q.To.UnixMilli() {
		return false
	}
	if p := q.TypePrefix; p != "" {
		if strings.HasSuffix(p, ".") {
			if !strings.HasPrefix(e.Type, p) {
				return false
			}
		} else if e.Type != p && !strings.HasPrefix(e.Type, p+".") {
			return false
		}
	}
	var rtype, rid string
	if e.Resource != nil {
		rtype, rid = e.Resource.Type, e.Resource.ID
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = event.OutcomeUnknown
	}
	for _, c := range []struct{ want, got string }{
		{q.Actor, e.Actor.ID}, {q.ResourceType, rtype}, {q.ResourceID, rid}, {q.Outcome, outcome},
	} {
		if c.want != "" && c.want != c.got {
			return false
		}
	}
	return true
}

func mustParse(tb testing.TB, src string) Expr {
	tb.Helper()
	x, err := Parse(src)
	if err != nil {
		tb.Fatalf("Parse(%q) = %v", src, err)
	}
	return x
}
