package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/a24ba333/indelible/event"
)

// open prepares t for reading: a server, or the data directory in
// process.
func (t *target) open(ctx context.Context, common *commonFlags) (func(), error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if t.dataDir != "" {
		return t.serveLocal(ctx, common)
	}
	return func() {}, nil
}

type eventsAnswer struct {
	Events []struct {
		Index uint64          `json:"index"`
		Entry json.RawMessage `json:"entry"`
	} `json:"events"`
	Watermark  uint64 `json:"watermark"`
	NextCursor string `json:"next_cursor"`
}

func queryCommand() *command {
	var t target
	return &command{
		name:     "query",
		summary:  "search a log with the query language",
		synopsis: "query [EXPR] (--data-dir DIR --log LOG | --server URL --key KEY) [--from T] [--to T] [--limit N] [--json]",
		help: `
Prints the entries of a log that match EXPR, newest first: a table on a
terminal, the entries as JSON lines with --json. The language:

  actor.id:alice  type:auth.*  outcome:failure  resource.type:bucket
  data.amount>1000  time>=-24h  "disk full"  (a OR b) AND NOT c  -actor.type:service

Fields: id type category action outcome subject trace_id project environment
source actor.id actor.type actor.ip actor.user_agent resource.type
resource.id message data.PATH time index. Indexed fields (type, actor.id,
resource.*, outcome, time) are answered by the query index; the rest is
checked entry by entry. On a data directory the query index is brought up
to date first.`,
		examples: `
indelible query 'outcome:failure type:auth.*' --data-dir ./data --log acme --from -24h
indelible query 'data.amount>1000' --server http://127.0.0.1:8080 --key-file reader.key --json`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			from := fs.String("from", "", "only events at or after this `time` (RFC 3339, or -24h, -7d)")
			to := fs.String("to", "", "only events before this `time`")
			limit := fs.Int("limit", 100, "the most `entries` to print (0: all)")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) > 1 {
					return usageErrorf("want at most one expression (quote it)")
				}
				done, err := t.open(ctx, common)
				if err != nil {
					return err
				}
				defer done()
				v := url.Values{}
				if len(args) == 1 && args[0] != "" {
					v.Set("q", args[0])
				}
				if *from != "" {
					v.Set("from", *from)
				}
				if *to != "" {
					v.Set("to", *to)
				}
				var tw *tabwriter.Writer
				if !t.json {
					tw = tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "INDEX\tTIME\tTYPE\tOUTCOME\tACTOR\tRESOURCE\tMESSAGE")
				}
				printed := 0
				for {
					page := 1000
					if *limit > 0 {
						page = min(1000, *limit-printed)
					}
					v.Set("limit", strconv.Itoa(page))
					var a eventsAnswer
					if err := t.call(ctx, "GET", "/v1/events", v, nil, &a); err != nil {
						return err
					}
					for _, ev := range a.Events {
						if t.json {
							fmt.Fprintf(sio.out, "%s\n", ev.Entry)
						} else if e, err := event.ParseEntry(ev.Entry); err == nil {
							printRow(tw, ev.Index, e)
						}
						printed++
					}
					if a.NextCursor == "" || *limit > 0 && printed >= *limit {
						break
					}
					v.Set("cursor", a.NextCursor)
				}
				if tw != nil {
					return tw.Flush()
				}
				return nil
			}
		},
	}
}

func printRow(w io.Writer, index uint64, e *event.Entry) {
	res := ""
	if e.Resource != nil {
		res = e.Resource.Type + "/" + e.Resource.ID
	}
	msg := e.Message
	if len(msg) > 60 {
		msg = msg[:57] + "..."
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", index, e.Time.UTC().Format(time.RFC3339), e.Type, e.Outcome, e.Actor.ID, res, msg)
}

func statsCommand() *command {
	var t target
	return &command{
		name:     "stats",
		summary:  "count events per time bucket and per field value",
		synopsis: "stats [EXPR] (--data-dir DIR --log LOG | --server URL --key KEY) [--by FIELD] [--interval 1h] [--from -7d] [--to T] [--top N] [--json]",
		help: `
Counts the entries of a log that match EXPR (see "query"), per time bucket
of the event time (--interval) and per value of a field (--by: type, actor,
resource.type, resource.id, outcome, project, environment, source, or any
field of the query language). The most frequent --top values are kept; the
rest are counted as "(other)".`,
		examples: `
indelible stats 'outcome:failure' --by type --interval 1h --from -24h --data-dir ./data --log acme`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			by := fs.String("by", "", "the `field` to count per value")
			interval := fs.String("interval", "", "the width of a time bucket (`duration`: 1h, 1d, 15m)")
			from := fs.String("from", "", "only events at or after this `time`")
			to := fs.String("to", "", "only events before this `time`")
			top := fs.Int("top", 10, "keep the `n` most frequent values")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) > 1 {
					return usageErrorf("want at most one expression (quote it)")
				}
				done, err := t.open(ctx, common)
				if err != nil {
					return err
				}
				defer done()
				v := url.Values{"top": {strconv.Itoa(*top)}}
				for k, val := range map[string]string{"by": *by, "interval": *interval, "from": *from, "to": *to} {
					if val != "" {
						v.Set(k, val)
					}
				}
				if len(args) == 1 && args[0] != "" {
					v.Set("q", args[0])
				}
				var a struct {
					Buckets []struct {
						Start  *time.Time `json:"start"`
						Counts []struct {
							Value string `json:"value"`
							Count uint64 `json:"count"`
						} `json:"counts"`
					} `json:"buckets"`
					Totals []struct {
						Value string `json:"value"`
						Count uint64 `json:"count"`
					} `json:"totals"`
					Total uint64 `json:"total"`
				}
				var raw json.RawMessage
				if err := t.call(ctx, "GET", "/v1/stats", v, nil, &raw); err != nil {
					return err
				}
				if t.json {
					fmt.Fprintf(sio.out, "%s\n", raw)
					return nil
				}
				if err := json.Unmarshal(raw, &a); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "BUCKET\tVALUE\tCOUNT")
				for _, b := range a.Buckets {
					start := "all"
					if b.Start != nil {
						start = b.Start.UTC().Format(time.RFC3339)
					}
					for _, c := range b.Counts {
						fmt.Fprintf(tw, "%s\t%s\t%d\n", start, orDash(c.Value), c.Count)
					}
				}
				fmt.Fprintf(tw, "total\t\t%d\n", a.Total)
				return tw.Flush()
			}
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func findingsListCommand() *command {
	var t target
	return &command{
		name:     "findings list",
		summary:  "list the findings the detectors raised",
		synopsis: "findings list (--data-dir DIR --log LOG | --server URL --key KEY) [--status S] [--rule R] [--severity S] [--since T] [--json]",
		help: `
Lists the findings of a log, newest first. Each finding is an entry
(indelible.finding.opened) of the log it is about, raised by a detector or a
user rule, with its severity, group key and the entries that are its
evidence.`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			status := fs.String("status", "", "only findings with this `status`")
			rule := fs.String("rule", "", "only findings of this `rule`")
			severity := fs.String("severity", "", "only findings of this `severity`")
			since := fs.String("since", "", "only findings opened at or after this `time` (event time)")
			limit := fs.Int("limit", 100, "the most `findings` to print")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				done, err := t.open(ctx, common)
				if err != nil {
					return err
				}
				defer done()
				v := url.Values{"limit": {strconv.Itoa(max(1, min(*limit, 1000)))}}
				for k, val := range map[string]string{"status": *status, "rule": *rule, "severity": *severity, "since": *since} {
					if val != "" {
						v.Set(k, val)
					}
				}
				var a struct {
					Findings []struct {
						ID       string    `json:"id"`
						Rule     string    `json:"rule"`
						Severity string    `json:"severity"`
						Status   string    `json:"status"`
						GroupKey string    `json:"group_key"`
						OpenedAt time.Time `json:"opened_at"`
						Summary  string    `json:"summary"`
						Evidence []any     `json:"evidence"`
					} `json:"findings"`
				}
				var raw json.RawMessage
				if err := t.call(ctx, "GET", "/v1/findings", v, nil, &raw); err != nil {
					return err
				}
				if err := json.Unmarshal(raw, &a); err != nil {
					return err
				}
				if t.json {
					var full struct {
						Findings []json.RawMessage `json:"findings"`
					}
					json.Unmarshal(raw, &full)
					for _, f := range full.Findings {
						fmt.Fprintf(sio.out, "%s\n", f)
					}
					return nil
				}
				tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "OPENED\tSEVERITY\tRULE\tGROUP\tEVIDENCE\tSUMMARY")
				for _, f := range a.Findings {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", f.OpenedAt.UTC().Format(time.RFC3339), f.Severity, f.Rule, f.GroupKey, len(f.Evidence), f.Summary)
				}
				return tw.Flush()
			}
		},
	}
}

func tailCommand() *command {
	var t target
	return &command{
		name:     "tail",
		summary:  "follow a log's new entries live",
		synopsis: "tail [EXPR] --server URL --key KEY [--log LOG] [--json]",
		help: `
Prints the entries committed to a log from now on that match EXPR (see
"query"), as they are committed, until interrupted. It follows the server's
live stream (GET /v1/stream) and resumes where it left off if the connection
drops.`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) > 1 {
					return usageErrorf("want at most one expression (quote it)")
				}
				if t.server == "" {
					return usageErrorf("tail follows a server: give --server (and --key)")
				}
				if err := t.check(); err != nil {
					return err
				}
				v := url.Values{}
				if len(args) == 1 && args[0] != "" {
					v.Set("q", args[0])
				}
				if t.log != "" {
					v.Set("log", t.log)
				}
				last := ""
				tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
				for ctx.Err() == nil {
					err := t.follow(ctx, v, &last, func(index uint64, body []byte) {
						if t.json {
							fmt.Fprintf(sio.out, "%s\n", body)
							return
						}
						if e, err := event.ParseEntry(body); err == nil {
							printRow(tw, index, e)
							tw.Flush()
						}
					})
					if ctx.Err() != nil {
						return nil
					}
					common.logger().Warn("stream interrupted; reconnecting", "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
				return nil
			}
		},
	}
}

// follow reads the live stream until it ends, calling fn for each entry
// and keeping the last event id in last for a resumption.
func (t *target) follow(ctx context.Context, v url.Values, last *string, fn func(uint64, []byte)) error {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(t.server, "/")+"/v1/stream?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.key)
	req.Header.Set("Accept", "text/event-stream")
	if *last != "" {
		req.Header.Set("Last-Event-ID", *last)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET /v1/stream: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 128<<10), 1<<20)
	var id string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			if n, err := strconv.ParseUint(id, 10, 64); err == nil {
				fn(n, []byte(strings.TrimPrefix(line, "data: ")))
				*last = id
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// findingActionCommand returns "findings ack|resolve|dismiss|reopen".
func findingActionCommand(action, summary, help string) *command {
	var t target
	return &command{
		name:     "findings " + action,
		summary:  summary,
		synopsis: "findings " + action + " ID (--data-dir DIR --log LOG | --server URL --key KEY) [--note TEXT] [--taken TEXT] [--reason TEXT] [--link URL]... [--suppress-until T]",
		help:     help,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			note := fs.String("note", "", "a `note` for the record")
			taken := fs.String("taken", "", "resolve: what was `done`")
			reason := fs.String("reason", "", "dismiss: `why` it is not a problem")
			suppress := fs.String("suppress-until", "", "dismiss: silence the rule for this group until this `time` (RFC 3339)")
			var links stringList
			fs.Var(&links, "link", "a `URL` of a ticket, commit or runbook (repeatable)")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want the finding id")
				}
				done, err := t.open(ctx, common)
				if err != nil {
					return err
				}
				defer done()
				body := map[string]any{}
				for k, v := range map[string]string{"note": *note, "action_taken": *taken, "reason": *reason, "suppress_until": *suppress} {
					if v != "" {
						body[k] = v
					}
				}
				if len(links) > 0 {
					body["links"] = []string(links)
				}
				b, err := json.Marshal(body)
				if err != nil {
					return err
				}
				var f json.RawMessage
				if err := t.call(ctx, "POST", "/v1/findings/"+url.PathEscape(args[0])+"/"+action, nil, b, &f); err != nil {
					return err
				}
				if t.json {
					fmt.Fprintf(sio.out, "%s\n", f)
					return nil
				}
				var s struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				}
				json.Unmarshal(f, &s)
				fmt.Fprintf(sio.out, "finding %s is now %s\n", s.ID, s.Status)
				return nil
			}
		},
	}
}
