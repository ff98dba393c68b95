package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"strings"
)

// css is the page's only style sheet; it prints on A4 without the
// screen's background.
const css = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; max-width: 980px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin: 1.8em 0 .3em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
p.about { color: #555; margin-top: 0; }
p.meta { color: #555; }
table { border-collapse: collapse; margin: .6em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td code { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f4f4f4; padding: 0 3px; border-radius: 3px; }
.legend { list-style: none; padding: 0; margin: .3em 0; display: flex; flex-wrap: wrap; gap: .3em 1.2em; font-size: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px; }
.kpis { display: flex; flex-wrap: wrap; gap: .6em; margin: .6em 0; }
.kpi { border: 1px solid #ddd; border-radius: 4px; padding: .4em .8em; min-width: 8em; }
.kpi b { display: block; font-size: 1.3em; }
.worse { color: #b03a2e; font-weight: 600; }
.better { color: #1e8449; font-weight: 600; }
.advice { color: #b03a2e; }
.unavailable { color: #b03a2e; }
svg { max-width: 100%; height: auto; display: block; }
section { break-inside: avoid-page; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; }
  table, svg { break-inside: avoid; }
  th { background: none; }
  code { background: none; padding: 0; }
}
@page { size: A4; margin: 14mm; }
`

// HTML writes the report as one self-contained page: embedded CSS,
// inline SVG charts, no script and no external asset.
func (r *Report) HTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	e := html.EscapeString
	title := "Review of log " + r.Log
	p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	p("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", e(title), css)
	p("<h1>%s</h1>\n<p class=\"meta\">Period %s to %s (UTC), buckets of %s. Built from the Indelible HTTP API.</p>\n",
		e(title), stamp(r.From), stamp(r.To), e(r.Interval))

	r.htmlSection(bw, 0)
	if len(r.Volume.Categories) == 0 {
		p("<p>No events in the period.</p>\n")
	} else {
		p("%s%s", r.volumeSVG(), r.legend())
		rows := [][]string{}
		for _, c := range r.Volume.Totals {
			rows = append(rows, []string{e(c.Value), num0(c.Count), pct(ratio(c.Count, r.Volume.Total))})
		}
		rows = append(rows, []string{"<b>total</b>", "<b>" + num0(r.Volume.Total) + "</b>", "100.0%"})
		htmlTable(bw, []string{"category", "events", "share"}, rows, 1, 2)
	}
	p("</section>\n")

	r.htmlSection(bw, 1)
	var all Rate
	for _, pt := range r.FailureRate {
		all.Failures += pt.Failures
		all.Total += pt.Total
	}
	all.Rate = ratio(all.Failures, all.Total)
	p("%s<p>Over the period: %d failures in %d events, <b>%s</b>.</p>\n</section>\n", r.failureSVG(), all.Failures, all.Total, ratePct(all))

	r.htmlSection(bw, 2)
	p("<div class=\"kpis\">\n")
	for _, t := range []struct {
		head string
		cs   []Count
	}{{"actor", r.TopActors}, {"resource", r.TopResources}} {
		rows := [][]string{}
		for _, c := range t.cs {
			rows = append(rows, []string{"<code>" + e(c.Value) + "</code>", num0(c.Count)})
		}
		p("<div>")
		htmlTable(bw, []string{t.head, "events"}, rows, 1)
		p("</div>\n")
	}
	p("</div>\n</section>\n")

	r.htmlSection(bw, 3)
	if !r.htmlUnavailable(bw, "findings") {
		f := r.Findings
		p("<div class=\"kpis\">\n")
		for _, k := range []struct{ label, value string }{
			{"opened", fmt.Sprint(f.Opened)}, {"still open", fmt.Sprint(f.StillOpen)},
			{"acknowledged", fmt.Sprint(f.Acknowledged)}, {"resolved", fmt.Sprint(f.Resolved)},
			{"dismissed", fmt.Sprint(f.Dismissed)}, {"reopened", fmt.Sprint(f.Reopened)},
			{"mean time to acknowledge", meanDur(f.MTTA, f.MTTASamples)},
			{"mean time to resolve", meanDur(f.MTTR, f.MTTRSamples)},
		} {
			p("<div class=\"kpi\"><b>%s</b>%s</div>\n", e(k.value), e(k.label))
		}
		p("</div>\n<p>Resolutions checked: %d effective, %d recurred, %d inconclusive.", f.Verdicts.Effective, f.Verdicts.Recurred, f.Verdicts.Inconclusive)
		if len(f.BySeverity) > 0 {
			var parts []string
			for _, c := range f.BySeverity {
				parts = append(parts, fmt.Sprintf("%s %d", e(c.Value), c.Count))
			}
			p(" By severity: %s.", strings.Join(parts, ", "))
		}
		p("</p>\n<p>Noisiest rules:</p>\n")
		rows := [][]string{}
		for _, rn := range f.Rules {
			rows = append(rows, []string{"<code>" + e(rn.Rule) + "</code>", e(rn.Detector), fmt.Sprint(rn.Opened), fmt.Sprint(rn.Dismissed), pct(rn.Ratio),
				`<span class="advice">` + e(rn.Advice) + "</span>"})
		}
		htmlTable(bw, []string{"rule", "detector", "opened", "dismissed", "ratio", "suggestion"}, rows, 2, 3, 4)
	}
	p("</section>\n")

	r.htmlSection(bw, 4)
	if !r.htmlUnavailable(bw, "findings") {
		rows := [][]string{}
		for _, s := range r.Silent {
			rows = append(rows, []string{"<code>" + e(s.Source) + "</code>", stamp(s.OpenedAt), e(s.Severity), e(s.Status), e(s.Summary)})
		}
		htmlTable(bw, []string{"source", "silent since", "severity", "status", "summary"}, rows)
	}
	p("</section>\n")

	r.htmlSection(bw, 5)
	if !r.htmlUnavailable(bw, "config") {
		rows := [][]string{}
		for _, c := range r.Changes {
			rows = append(rows, []string{fmt.Sprint(c.Index), stamp(c.Time), "<code>" + e(c.Type) + "</code>", e(c.Actor), e(changeWhat(c)), codeHTML(short(c.Hash))})
		}
		htmlTable(bw, []string{"index", "time", "type", "actor", "what", "hash"}, rows, 0)
	}
	p("</section>\n")

	r.htmlSection(bw, 6)
	r.htmlUnavailable(bw, "events")
	rows := [][]string{}
	for _, im := range r.Impact {
		verdict := e(im.Verdict)
		if im.Verdict == "worse" || im.Verdict == "better" {
			verdict = `<span class="` + im.Verdict + `">` + verdict + "</span>"
		}
		rows = append(rows, []string{stamp(im.Time), "<code>" + e(im.Type) + "</code>", e(sourceName(im.Source)),
			ratePct(im.Before), ratePct(im.After), signedPoints(im), verdict})
	}
	htmlTable(bw, []string{"time", "change", "source", "before", "after", "change in rate", "verdict"}, rows, 3, 4, 5)
	if r.ImpactOmitted > 0 {
		p("<p>%d older changes were not measured.</p>\n", r.ImpactOmitted)
	}
	p("</section>\n")

	r.htmlSection(bw, 7)
	if !r.htmlUnavailable(bw, "checkpoint") && r.Checkpoint != nil {
		c := r.Checkpoint
		htmlTable(bw, []string{"origin", "tree size", "root hash"},
			[][]string{{"<code>" + e(c.Origin) + "</code>", num0(c.Size), "<code>" + e(c.RootHash) + "</code>"}}, 1)
		p("<p>This is the log's state when the report was built. <code>indelible verify</code> checks the checkpoint's signature and that every entry, tile and index row agrees with it.</p>\n")
	}
	p("</section>\n</body>\n</html>\n")
	return bw.Flush()
}

func (r *Report) htmlSection(w io.Writer, i int) {
	fmt.Fprintf(w, "<section>\n<h2>%d. %s</h2>\n<p class=\"about\">%s</p>\n", i+1, html.EscapeString(sections[i].title), html.EscapeString(sections[i].about))
}

func (r *Report) htmlUnavailable(w io.Writer, name string) bool {
	msg, ok := r.Unavailable[name]
	if ok {
		fmt.Fprintf(w, "<p class=\"unavailable\">Not available: %s</p>\n", html.EscapeString(msg))
	}
	return ok
}

// htmlTable writes a table of cells that are already HTML; the columns
// numeric are aligned right.
func htmlTable(w io.Writer, head []string, rows [][]string, numeric ...int) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "<p>None.</p>")
		return
	}
	isNum := map[int]bool{}
	for _, i := range numeric {
		isNum[i] = true
	}
	fmt.Fprint(w, "<table>\n<tr>")
	for _, h := range head {
		fmt.Fprintf(w, "<th>%s</th>", html.EscapeString(h))
	}
	fmt.Fprint(w, "</tr>\n")
	for _, row := range rows {
		fmt.Fprint(w, "<tr>")
		for i, c := range row {
			if isNum[i] {
				fmt.Fprintf(w, "<td class=\"n\">%s</td>", c)
			} else {
				fmt.Fprintf(w, "<td>%s</td>", c)
			}
		}
		fmt.Fprint(w, "</tr>\n")
	}
	fmt.Fprint(w, "</table>\n")
}

// num0 writes a count.
func num0(n uint64) string { return fmt.Sprint(n) }

// codeHTML writes s as inline code, or nothing for an empty s.
func codeHTML(s string) string {
	if s == "" {
		return ""
	}
	return "<code>" + html.EscapeString(s) + "</code>"
}
