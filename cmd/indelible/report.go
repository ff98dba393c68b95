package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/a24ba333/indelible/internal/query"
	"github.com/a24ba333/indelible/internal/report"
)

func reportCommand() *command {
	var t target
	return &command{
		name:     "report",
		summary:  "write a periodic review of a log (Markdown, HTML or JSON)",
		synopsis: "report (--data-dir DIR --log LOG | --server URL --key KEY) [--from -7d] [--to now] [--format md|html|json] [--out FILE] [--interval 1d]",
		help: `
Writes a review of one log for the period [--from, --to), built only from
the HTTP API (on a data directory, the same API answers in process):

  1. volume by category over time        5. silent sources
  2. failure rate over time              6. configuration changes
  3. top actors and resources            7. change impact: failure rate of the
  4. findings: opened, acknowledged,        affected source 24h before and after
     resolved, dismissed, mean times,       each configuration change and each
     verdicts, noisiest rules               config.* or deploy.* event
                                         8. verification state (newest checkpoint)

--format html writes one self-contained page (inline SVG charts, no script,
no external asset) that also prints well. The findings need an auditor (or
admin) key; with a reader key that section says it is not available. Times
are RFC 3339 or relative to now (-7d, -24h, -1h30m, now); buckets are a day
for periods over three days and an hour otherwise, unless --interval says.`,
		examples: `
indelible report --data-dir ./data --log acme --from -7d --format html --out acme-week.html
indelible report --server http://127.0.0.1:8080 --key-file auditor.key --from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			from := fs.String("from", "-7d", "start of the period (`time`: RFC 3339, or -7d, -24h)")
			to := fs.String("to", "now", "end of the period, excluded (`time`)")
			format := fs.String("format", "md", "output `format`: md, html or json")
			out := fs.String("out", "", "write to this `file` instead of standard output")
			interval := fs.String("interval", "", "width of a time bucket (`duration`: 1h, 1d; default by the period's length)")
			top := fs.Int("top", 10, "how many actors, resources, categories and rules to list (`n`)")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) > 0 {
					return usageErrorf("report takes no arguments")
				}
				now := time.Now()
				p := report.Params{Log: t.log, Top: *top}
				var err error
				if p.From, err = parseWhen(*from, now); err != nil {
					return usageErrorf("--from: %v", err)
				}
				if p.To, err = parseWhen(*to, now); err != nil {
					return usageErrorf("--to: %v", err)
				}
				if !p.From.Before(p.To) {
					return usageErrorf("--from must be before --to")
				}
				if *interval != "" {
					if p.Interval, err = parseSpan(*interval); err != nil || p.Interval < time.Second {
						return usageErrorf("--interval: want a duration of at least 1s such as 1h or 1d, not %q", *interval)
					}
				}
				if t.json {
					*format = "json"
				}
				var write func(*report.Report, io.Writer) error
				switch *format {
				case "md", "markdown":
					write = (*report.Report).Markdown
				case "html":
					write = (*report.Report).HTML
				case "json":
					write = (*report.Report).JSON
				default:
					return usageErrorf("--format: want md, html or json, not %q", *format)
				}
				done, err := t.open(ctx, common)
				if err != nil {
					return err
				}
				defer done()
				r, err := report.Build(ctx, t.getter(), p)
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := write(r, &buf); err != nil {
					return err
				}
				if *out == "" {
					_, err := sio.out.Write(buf.Bytes())
					return err
				}
				return os.WriteFile(*out, buf.Bytes(), 0o644)
			}
		},
	}
}

// getter adapts t.call to report.Getter.
func (t *target) getter() report.Getter {
	return func(ctx context.Context, path string, query url.Values, out any) error {
		return t.call(ctx, "GET", path, query, nil, out)
	}
}

// parseWhen reads a time given on the command line: "now", an RFC 3339
// time, or a span before now ("-7d", "-24h", "-1h30m"; see
// query.ParseRelative).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "now" || strings.HasPrefix(s, "-") {
		d, err := query.ParseRelative(s)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-03-01T00:00:00Z) or a relative one (-7d, -24h, now), not %q", s)
	}
	return t, nil
}

// parseSpan reads a sum of whole numbers with units: "7d", "1h30m", "2w"
// (the units of query.ParseRelative).
func parseSpan(s string) (time.Duration, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("want a duration such as 7d, 24h or 1h30m (units ms, s, m, h, d, w), not %q", s)
	}
	d, err := query.ParseRelative("-" + s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 7d, 24h or 1h30m (units ms, s, m, h, d, w), not %q", s)
	}
	return d, nil
}
