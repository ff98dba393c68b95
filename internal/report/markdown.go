package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// The sections' titles and one-line explanations, shared by every format.
var sections = [...]struct{ title, about string }{
	{"Volume by category", "Events per category (the first segment of the type) in each time bucket."},
	{"Failure rate", "Share of the events with outcome failure in each time bucket."},
	{"Top actors and resources", "Who acted most, and on what, over the whole period."},
	{"Findings", "What the detectors and rules raised in the period, and how fast people answered."},
	{"Silent sources", "Sources that stopped sending while the others went on (detector silence)."},
	{"Configuration changes", "Policies, schemas and analysis rules changed in the period, as the log records them."},
	{"Change impact", "Failure rate of the affected source in the 24 hours before and after each change."},
	{"Verification state", "The newest signed checkpoint: the tree size and root hash the log commits to."},
}

// Markdown writes the report as a Markdown document.
func (r *Report) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p("# Review of log %s\n\n", code(r.Log))
	p("Period %s to %s (UTC), buckets of %s. Built from the Indelible HTTP API.\n", stamp(r.From), stamp(r.To), r.Interval)

	r.mdSection(bw, 0)
	if len(r.Volume.Categories) == 0 {
		p("No events in the period.\n")
	} else {
		head := append([]string{"bucket"}, r.Volume.Categories...)
		rows := [][]string{}
		for i, t := range r.Volume.Buckets {
			row := []string{r.bucketLabel(t)}
			for _, c := range r.Volume.Counts[i] {
				row = append(row, fmt.Sprint(c))
			}
			rows = append(rows, row)
		}
		mdTable(bw, head, rows)
		p("\nTotal: %d events.", r.Volume.Total)
		for _, c := range r.Volume.Totals {
			p(" %s %d (%s).", c.Value, c.Count, pct(ratio(c.Count, r.Volume.Total)))
		}
		p("\n")
	}

	r.mdSection(bw, 1)
	rows := [][]string{}
	var all Rate
	for _, pt := range r.FailureRate {
		all.Failures += pt.Failures
		all.Total += pt.Total
		rows = append(rows, []string{r.bucketLabel(pt.Start), fmt.Sprint(pt.Failures), fmt.Sprint(pt.Total), ratePct(pt.Rate)})
	}
	mdTable(bw, []string{"bucket", "failures", "events", "rate"}, rows)
	all.Rate = ratio(all.Failures, all.Total)
	p("\nOver the period: %d failures in %d events, %s.\n", all.Failures, all.Total, ratePct(all))

	r.mdSection(bw, 2)
	mdTable(bw, []string{"actor", "events"}, countRows(r.TopActors))
	p("\n")
	mdTable(bw, []string{"resource", "events"}, countRows(r.TopResources))

	r.mdSection(bw, 3)
	if !r.unavailable(bw, "findings") {
		f := r.Findings
		p("Opened %d (still open %d); acknowledged %d, resolved %d, dismissed %d, reopened %d.\n\n",
			f.Opened, f.StillOpen, f.Acknowledged, f.Resolved, f.Dismissed, f.Reopened)
		p("- Mean time to acknowledge: %s (%d findings)\n", meanDur(f.MTTA, f.MTTASamples), f.MTTASamples)
		p("- Mean time to resolve: %s (%d findings)\n", meanDur(f.MTTR, f.MTTRSamples), f.MTTRSamples)
		p("- Resolutions checked: %d effective, %d recurred, %d inconclusive\n", f.Verdicts.Effective, f.Verdicts.Recurred, f.Verdicts.Inconclusive)
		if len(f.BySeverity) > 0 {
			var parts []string
			for _, c := range f.BySeverity {
				parts = append(parts, fmt.Sprintf("%s %d", c.Value, c.Count))
			}
			p("- By severity: %s\n", strings.Join(parts, ", "))
		}
		p("\nNoisiest rules:\n\n")
		rows = [][]string{}
		for _, rn := range f.Rules {
			rows = append(rows, []string{code(rn.Rule), rn.Detector, fmt.Sprint(rn.Opened), fmt.Sprint(rn.Dismissed), pct(rn.Ratio), rn.Advice})
		}
		mdTable(bw, []string{"rule", "detector", "opened", "dismissed", "ratio", "suggestion"}, rows)
	}

	r.mdSection(bw, 4)
	if !r.unavailable(bw, "findings") {
		rows = [][]string{}
		for _, s := range r.Silent {
			rows = append(rows, []string{code(s.Source), stamp(s.OpenedAt), s.Severity, s.Status, s.Summary})
		}
		mdTable(bw, []string{"source", "silent since", "severity", "status", "summary"}, rows)
	}

	r.mdSection(bw, 5)
	if !r.unavailable(bw, "config") {
		rows = [][]string{}
		for _, c := range r.Changes {
			rows = append(rows, []string{fmt.Sprint(c.Index), stamp(c.Time), code(c.Type), c.Actor, changeWhat(c), short(c.Hash)})
		}
		mdTable(bw, []string{"index", "time", "type", "actor", "what", "hash"}, rows)
	}

	r.mdSection(bw, 6)
	r.unavailable(bw, "events")
	rows = [][]string{}
	for _, im := range r.Impact {
		rows = append(rows, []string{stamp(im.Time), code(im.Type), sourceName(im.Source), ratePct(im.Before), ratePct(im.After), signedPoints(im), im.Verdict})
	}
	mdTable(bw, []string{"time", "change", "source", "before", "after", "change in rate", "verdict"}, rows)
	if r.ImpactOmitted > 0 {
		p("\n%d older changes were not measured.\n", r.ImpactOmitted)
	}

	r.mdSection(bw, 7)
	if !r.unavailable(bw, "checkpoint") && r.Checkpoint != nil {
		c := r.Checkpoint
		p("- Origin: %s\n- Tree size: %d\n- Root hash: %s\n\n", code(c.Origin), c.Size, code(c.RootHash))
		p("This is the log's state when the report was built. `indelible verify` checks the checkpoint's signature and that every entry, tile and index row agrees with it.\n")
	}
	return bw.Flush()
}

func (r *Report) mdSection(w io.Writer, i int) {
	fmt.Fprintf(w, "\n## %d. %s\n\n%s\n\n", i+1, sections[i].title, sections[i].about)
}

// unavailable writes why a section is empty, if it is.
func (r *Report) unavailable(w io.Writer, name string) bool {
	msg, ok := r.Unavailable[name]
	if ok {
		fmt.Fprintf(w, "Not available: %s\n\n", cell(msg))
	}
	return ok
}

// mdTable writes a table, or "None." for no rows.
func mdTable(w io.Writer, head []string, rows [][]string) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "None.")
		return
	}
	line := func(cells []string) {
		for _, c := range cells {
			fmt.Fprintf(w, "| %s ", cell(c))
		}
		fmt.Fprintln(w, "|")
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}

// cell makes s safe in a table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// code writes s as inline code.
func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}

func countRows(cs []Count) [][]string {
	rows := [][]string{}
	for _, c := range cs {
		rows = append(rows, []string{c.Value, fmt.Sprint(c.Count)})
	}
	return rows
}

// stamp writes a time to the minute, or the second if it has one.
func stamp(t time.Time) string {
	t = t.UTC()
	if t.Second() != 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

func (r *Report) bucketLabel(t time.Time) string {
	if strings.HasSuffix(r.Interval, "d") {
		return t.UTC().Format("2006-01-02")
	}
	return t.UTC().Format("01-02 15:04")
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", x*100) }

// ratePct writes a rate, or a dash without events.
func ratePct(r Rate) string {
	if r.Total == 0 {
		return "-"
	}
	return pct(r.Rate)
}

func signedPoints(im Impact) string {
	if im.Verdict == "no data" {
		return "-"
	}
	return fmt.Sprintf("%+.1f pp", im.Delta)
}

func sourceName(s string) string {
	if s == "" {
		return "(all)"
	}
	return s
}

// short abbreviates a hash for a table: its first 12 hex digits.
func short(h string) string {
	if _, rest, ok := strings.Cut(h, ":"); ok {
		h = rest
	}
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func changeWhat(c Change) string {
	s := ""
	if c.EventType != "" {
		s = fmt.Sprintf("%s v%d", c.EventType, c.Version)
	}
	if len(c.Errors) > 0 {
		s = strings.TrimSpace(s + " " + strings.Join(c.Errors, "; "))
	}
	return s
}

// meanDur writes a mean duration: "2d 3h", "4h 05m", "12m 30s", "45s".
func meanDur(d time.Duration, samples int) string {
	if samples == 0 {
		return "n/a"
	}
	d = d.Round(time.Second)
	day, h, m, s := d/(24*time.Hour), d/time.Hour%24, d/time.Minute%60, d/time.Second%60
	switch {
	case day > 0:
		return fmt.Sprintf("%dd %dh", day, h)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}
