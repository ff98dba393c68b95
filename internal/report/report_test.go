package report

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// period is the period of the fixture in testdata/api.json.
var (
	from = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	to   = time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
)

// fakeAPI answers from a map of canned answers, keyed by the path and the
// query parameters other than log, top and limit, sorted and unescaped:
// "/v1/stats?by=actor&from=...&to=...". A request without an answer fails,
// so a test notices a request it did not expect.
type fakeAPI struct {
	answers  map[string]json.RawMessage
	fail     map[string]error // by path
	requests []string
}

func loadAPI(t *testing.T) *fakeAPI {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "api.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAPI{fail: map[string]error{}}
	if err := json.Unmarshal(data, &f.answers); err != nil {
		t.Fatalf("testdata/api.json: %v", err)
	}
	return f
}

func apiKey(path string, q url.Values) string {
	var parts []string
	for k, vs := range q {
		if k == "log" || k == "top" || k == "limit" {
			continue
		}
		for _, v := range vs {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return path
	}
	slices.Sort(parts)
	return path + "?" + strings.Join(parts, "&")
}

func (f *fakeAPI) get(ctx context.Context, path string, q url.Values, out any) error {
	if err := f.fail[path]; err != nil {
		return err
	}
	if !strings.HasPrefix(path, "/v1/logs/") && q.Get("log") != "acme" {
		return fmt.Errorf("GET %s: log=%q, want acme", path, q.Get("log"))
	}
	k := apiKey(path, q)
	f.requests = append(f.requests, k)
	a, ok := f.answers[k]
	if !ok {
		return fmt.Errorf("GET %s: 404 no canned answer", k)
	}
	if p, ok := out.(*[]byte); ok {
		var s string
		if err := json.Unmarshal(a, &s); err != nil {
			return err
		}
		*p = []byte(s)
		return nil
	}
	return json.Unmarshal(a, out)
}

func build(t *testing.T, f *fakeAPI) *Report {
	t.Helper()
	r, err := Build(context.Background(), f.get, Params{Log: "acme", From: from, To: to})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r
}

func TestGolden(t *testing.T) {
	r := build(t, loadAPI(t))
	for _, g := range []struct {
		name  string
		write func(io.Writer) error
	}{{"report.md", r.Markdown}, {"report.html", r.HTML}, {"report.json", r.JSON}} {
		t.Run(g.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := g.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", g.name+".golden")
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from %s (run go test -update and review the diff)", g.name, path)
			}
			// The same answers give the same bytes.
			var again bytes.Buffer
			if err := g.write(&again); err != nil || !bytes.Equal(again.Bytes(), b.Bytes()) {
				t.Errorf("%s is not deterministic", g.name)
			}
		})
	}
}

func TestFindingsNumbers(t *testing.T) {
	f := build(t, loadAPI(t)).Findings
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"opened", f.Opened, 8},
		{"still open", f.StillOpen, 2},
		{"acknowledged", f.Acknowledged, 3},
		{"resolved", f.Resolved, 3}, // with one of a finding opened before the period
		{"dismissed", f.Dismissed, 4},
		{"reopened", f.Reopened, 1},
		// First responses: 30m, 1h, 15m, 6h, 5h, 3h, 2h; 1065m/7 = 2h32m08.57s.
		{"MTTA", f.MTTA, 2*time.Hour + 32*time.Minute + 9*time.Second},
		{"MTTA samples", f.MTTASamples, 7},
		// Resolutions of findings opened in the period: 2h and 3h.
		{"MTTR", f.MTTR, 2*time.Hour + 30*time.Minute},
		{"MTTR samples", f.MTTRSamples, 2},
		{"verdicts", f.Verdicts, Verdicts{Effective: 1, Recurred: 1, Inconclusive: 1}},
		{"severity", f.BySeverity, []Count{{"high", 5}, {"low", 3}}},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("Findings.%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	want := []RuleNoise{
		{Rule: "failure_burst", Detector: "failure_burst", Opened: 4, Dismissed: 2, Ratio: 0.5}, // exactly half: no advice
		{Rule: "off_hours", Detector: "off_hours", Opened: 3, Dismissed: 2, Ratio: 2.0 / 3, Advice: noisyAdvice},
		{Rule: "silence", Detector: "silence", Opened: 1},
	}
	if !slices.Equal(f.Rules, want) {
		t.Errorf("Findings.Rules = %+v\nwant %+v", f.Rules, want)
	}
}

func TestSilentAndChanges(t *testing.T) {
	r := build(t, loadAPI(t))
	if len(r.Silent) != 1 || r.Silent[0].Source != "billing-api" || !r.Silent[0].OpenedAt.Equal(time.Date(2026, 3, 5, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("Silent = %+v, want billing-api at 2026-03-05 16:00", r.Silent)
	}
	var idx []uint64
	for _, c := range r.Changes {
		idx = append(idx, c.Index)
	}
	if want := []uint64{1803, 2410, 3955}; !slices.Equal(idx, want) {
		t.Errorf("Changes = %v, want %v (the period is [from, to))", idx, want)
	}
}

func TestFailureRates(t *testing.T) {
	r := build(t, loadAPI(t))
	if len(r.FailureRate) != 7 {
		t.Fatalf("len(FailureRate) = %d, want 7 (one per day, the empty one included)", len(r.FailureRate))
	}
	for _, c := range []struct {
		day             int
		failures, total uint64
		rate            string
	}{
		{0, 20, 215, "9.3%"},
		{1, 30, 233, "12.9%"},
		{5, 3, 83, "3.6%"},
		{6, 0, 0, "-"}, // no events at all that day
	} {
		p := r.FailureRate[c.day]
		if want := from.AddDate(0, 0, c.day); !p.Start.Equal(want) {
			t.Errorf("FailureRate[%d].Start = %v, want %v", c.day, p.Start, want)
		}
		if p.Failures != c.failures || p.Total != c.total || ratePct(p.Rate) != c.rate {
			t.Errorf("FailureRate[%d] = %d/%d %s, want %d/%d %s", c.day, p.Failures, p.Total, ratePct(p.Rate), c.failures, c.total, c.rate)
		}
	}
	if got := r.Volume.Counts[6]; !slices.Equal(got, []uint64{0, 0, 0, 0, 0}) {
		t.Errorf("Volume.Counts[6] = %v, want zeros", got)
	}
	if want := []string{"auth", "billing", "config", "deploy", "(other)"}; !slices.Equal(r.Volume.Categories, want) {
		t.Errorf("Volume.Categories = %v, want %v", r.Volume.Categories, want)
	}
}

func TestImpact(t *testing.T) {
	r := build(t, loadAPI(t))
	want := []struct {
		typ, source   string
		before, after string
		delta         float64
		verdict       string
	}{
		{"indelible.policy.activated", "", "2.0%", "2.5%", 0.5, "unchanged"},
		{"indelible.schema.registered", "", "3.0%", "-", 0, "no data"},
		{"deploy.finished", "billing-api", "2.0%", "15.0%", 13, "worse"},
		{"config.feature_flag.changed", "auth-service", "20.0%", "4.0%", -16, "better"},
	}
	if len(r.Impact) != len(want) {
		t.Fatalf("len(Impact) = %d, want %d: %+v", len(r.Impact), len(want), r.Impact)
	}
	for i, w := range want {
		im := r.Impact[i]
		if im.Type != w.typ || im.Source != w.source || ratePct(im.Before) != w.before || ratePct(im.After) != w.after || im.Delta != w.delta || im.Verdict != w.verdict {
			t.Errorf("Impact[%d] = %s %q %s→%s %+.2f %s, want %s %q %s→%s %+.2f %s", i,
				im.Type, im.Source, ratePct(im.Before), ratePct(im.After), im.Delta, im.Verdict,
				w.typ, w.source, w.before, w.after, w.delta, w.verdict)
		}
	}
}

func TestCompare(t *testing.T) {
	rate := func(f, n uint64) Rate { return Rate{f, n, ratio(f, n)} }
	for _, c := range []struct {
		before, after Rate
		delta         float64
		verdict       string
	}{
		{rate(0, 0), rate(5, 10), 0, "no data"},
		{rate(5, 10), rate(0, 0), 0, "no data"},
		{rate(1, 100), rate(3, 100), 2, "worse"},         // +2 points, tripled
		{rate(10, 100), rate(12, 100), 2, "unchanged"},   // +2 points but only a fifth more
		{rate(1, 100), rate(2, 100), 1, "unchanged"},     // doubled but only +1 point
		{rate(30, 100), rate(10, 100), -20, "better"},    // -20 points, a third
		{rate(1, 3), rate(2, 3), 33.33, "worse"},         // rounded to 0.01
		{rate(50, 100), rate(40, 100), -10, "unchanged"}, // -10 points but not halved
	} {
		d, v := compare(c.before, c.after)
		if d != c.delta || v != c.verdict {
			t.Errorf("compare(%v, %v) = %v, %q, want %v, %q", c.before, c.after, d, v, c.delta, c.verdict)
		}
	}
}

func TestHTMLWellFormed(t *testing.T) {
	var b bytes.Buffer
	if err := build(t, loadAPI(t)).HTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Error("the page has a script")
	}
	for _, bad := range []string{"http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("the page refers to an external asset (%q)", bad)
		}
	}
	for _, tag := range []string{"svg", "section", "table", "tr", "ul", "div", "html", "body", "style"} {
		if o, c := strings.Count(page, "<"+tag), strings.Count(page, "</"+tag+">"); o != c {
			t.Errorf("<%s> opened %d times, closed %d times", tag, o, c)
		}
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	if !strings.Contains(page, "@media print") {
		t.Error("no print style")
	}
	// Each chart is well-formed XML on its own.
	rest := page
	for {
		i := strings.Index(rest, "<svg")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "</svg>") + i + len("</svg>")
		d := xml.NewDecoder(strings.NewReader(rest[i:j]))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("chart is not well-formed XML: %v", err)
			}
		}
		rest = rest[j:]
	}
}

// emptyAPI answers every request with an empty answer.
func emptyAPI(requests *[]url.Values) Getter {
	return func(ctx context.Context, path string, q url.Values, out any) error {
		*requests = append(*requests, q)
		if p, ok := out.(*[]byte); ok {
			*p = []byte("example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n")
			return nil
		}
		return json.Unmarshal([]byte(`{"log":"solo"}`), out)
	}
}

func TestEmptyLog(t *testing.T) {
	for _, c := range []struct {
		period   time.Duration
		interval string
	}{{72 * time.Hour, "1h"}, {73 * time.Hour, "1d"}, {7 * 24 * time.Hour, "1d"}} {
		var reqs []url.Values
		r, err := Build(context.Background(), emptyAPI(&reqs), Params{From: from, To: from.Add(c.period)})
		if err != nil {
			t.Fatalf("Build over %v: %v", c.period, err)
		}
		if r.Interval != c.interval || reqs[0].Get("interval") != c.interval {
			t.Errorf("Build over %v: interval %q (asked %q), want %q", c.period, r.Interval, reqs[0].Get("interval"), c.interval)
		}
		if r.Log != "solo" || r.Checkpoint == nil || r.Checkpoint.Size != 0 {
			t.Errorf("Build over %v: log %q checkpoint %+v, want the key's log and its checkpoint", c.period, r.Log, r.Checkpoint)
		}
		for _, w := range []func(io.Writer) error{r.Markdown, r.HTML, r.JSON} {
			if err := w(io.Discard); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestUnavailable(t *testing.T) {
	f := loadAPI(t)
	f.fail["/v1/findings"] = errors.New("GET /v1/findings: 403 Forbidden: the key's role reader may not list findings")
	r := build(t, f)
	if msg := r.Unavailable["findings"]; !strings.Contains(msg, "403") {
		t.Errorf("Unavailable[findings] = %q, want the 403", msg)
	}
	var b bytes.Buffer
	if err := r.Markdown(&b); err != nil || !strings.Contains(b.String(), "Not available: listing findings") {
		t.Errorf("Markdown does not say the findings are not available:\n%s", b.String())
	}
	if len(r.Impact) != 4 {
		t.Errorf("len(Impact) = %d, want 4: the other sections still work", len(r.Impact))
	}

	f = loadAPI(t)
	f.fail["/v1/stats"] = errors.New("GET /v1/stats: 500")
	if _, err := Build(context.Background(), f.get, Params{Log: "acme", From: from, To: to}); err == nil {
		t.Error("Build with failing stats succeeded, want an error")
	}
	if _, err := Build(context.Background(), f.get, Params{Log: "acme", From: to, To: from}); err == nil {
		t.Error("Build with From after To succeeded, want an error")
	}
}

func TestParseCheckpoint(t *testing.T) {
	const root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for _, c := range []struct {
		in   string
		size uint64
		ok   bool
	}{
		{"example.com/log\n12\n" + root + "\n\n— example.com/log sig\n", 12, true},
		{"example.com/log\n12\n" + root + "\n", 12, true},
		{"example.com/log\n12\n" + root, 0, false},          // no end of the root line
		{"example.com/log\n-1\n" + root + "\n\n", 0, false}, // bad size
		{"example.com/log\n12\nAAAA\n\n", 0, false},         // short hash
		{"\n12\n" + root + "\n\n", 0, false},                // no origin
		{"", 0, false},
	} {
		got, err := parseCheckpoint([]byte(c.in))
		if (err == nil) != c.ok || c.ok && (got.Size != c.size || got.RootHash != root) {
			t.Errorf("parseCheckpoint(%q) = %+v, %v, want size %d ok %v", c.in, got, err, c.size, c.ok)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("example.com/log\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"))
	f.Add([]byte("a\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := parseCheckpoint(data); err == nil && c.Origin == "" {
			t.Errorf("parseCheckpoint(%q) accepted an empty origin", data)
		}
	})
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{formatInterval(24 * time.Hour), "1d"},
		{formatInterval(6 * time.Hour), "6h"},
		{formatInterval(90 * time.Minute), "90m"},
		{formatInterval(45 * time.Second), "45s"},
		{meanDur(0, 0), "n/a"},
		{meanDur(45*time.Second, 1), "45s"},
		{meanDur(12*time.Minute+5*time.Second, 1), "12m 05s"},
		{meanDur(2*time.Hour+32*time.Minute+9*time.Second, 1), "2h 32m"},
		{meanDur(50*time.Hour, 1), "2d 2h"},
		{quote("billing-api"), "billing-api"},
		{quote("my source"), `"my source"`},
		{quote(`a"b`), `"a\"b"`},
		{quote(""), `""`},
		{cell("a|b\nc"), `a\|b c`},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
