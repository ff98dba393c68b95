package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/capture"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/policy"
	"github.com/a24ba333/indelible/internal/seal"
)

// readPolicyFile reads and parses a policy file, printing every problem
// as FILE:LINE:COLUMN.
func readPolicyFile(path string) (*policy.Policy, []byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	p, err := policy.Parse(src)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			msg := fmt.Sprintf("%s is not a valid policy:", path)
			for _, pr := range pe.Problems {
				msg += fmt.Sprintf("\n  %s:%d:%d: %s: %s", path, pr.Line, pr.Column, pr.Path, pr.Message)
			}
			return nil, nil, badData(errors.New(msg))
		}
		return nil, nil, badData(fmt.Errorf("%s: %w", path, err))
	}
	return p, src, nil
}

func policyValidateCommand() *command {
	return &command{
		name:     "policy validate",
		summary:  "check a capture policy file offline",
		synopsis: "policy validate FILE",
		help: `
Checks a capture policy (YAML) exactly as a server does when it is applied:
YAML syntax, unknown keys, levels, JSON Pointers, and every CEL condition
parsed and type-checked against the event's fields. Every problem is printed
with its line and column; the exit status is 1 if there is any.`,
		examples: `
indelible policy validate policy.yaml`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want one policy file")
				}
				p, _, err := readPolicyFile(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(sio.out, "%s: valid policy %s, rules in order: %v\n", args[0], p.Hash(), p.RuleNames())
				return nil
			}
		},
	}
}

func policyTestCommand() *command {
	return &command{
		name:     "policy test",
		summary:  "show what a policy would store for an event",
		synopsis: "policy test FILE EVENT.json [--log LOG] [--source api|kubernetes]",
		help: `
Runs one event (a JSON file in the format of POST /v1/events) through a
capture policy and prints the rule that matches and the exact entry that
would be stored (or that the event would not be stored). Nothing is written.
Schemas are not checked here; see "schemas show".`,
		examples: `
indelible policy test policy.yaml login.json`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			log := fs.String("log", "preview", "the `log` the entry would be in")
			source := fs.String("source", capture.SourceAPI, "the ingest `source`: api or kubernetes")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 2 {
					return usageErrorf("want a policy file and an event file")
				}
				p, _, err := readPolicyFile(args[0])
				if err != nil {
					return err
				}
				data, err := os.ReadFile(args[1])
				if err != nil {
					return err
				}
				ev, err := event.Parse(data, event.DefaultLimits())
				if err != nil {
					return badData(fmt.Errorf("%s: %w", args[1], err))
				}
				st := &capture.State{Log: *log, Policy: p}
				res := st.Capture(ev, *source, rand.Reader)
				return printTest(sio.out, *log, ev, res)
			}
		},
	}
}

func printTest(w io.Writer, log string, ev *event.Event, res capture.Result) error {
	switch {
	case res.Fallback != nil:
		fmt.Fprintf(w, "the policy fails for this event (%v): it would be captured in full and the fallback recorded\n", res.Fallback)
	case res.Dropped:
		fmt.Fprintf(w, "rule %q: level none: the event would not be stored (only counted)\n", res.Capture.Rule)
		return nil
	case res.Capture.Rule == "":
		fmt.Fprintln(w, "no rule matches: the event would be captured in full")
	default:
		fmt.Fprintf(w, "rule %q: level %s\n", res.Capture.Rule, res.Capture.Level)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	s, err := seal.New(seal.Config{DigestKey: key})
	if err != nil {
		return err
	}
	e, err := s.SealCaptured(log, ev, res.Event, res.Capture)
	if err != nil {
		return err
	}
	body, err := e.Canonical()
	if err != nil {
		return fmt.Errorf("the entry could not be stored: %w", err)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	fmt.Fprintln(w, "entry (digest and received_at are those of this preview):")
	return printJSON(w, v)
}

func policyApplyCommand() *command {
	var t target
	return &command{
		name:     "policy apply",
		summary:  "make a capture policy the one in force (or preview it)",
		synopsis: "policy apply FILE (--data-dir DIR --log LOG | --server URL --key KEY) [--dry-run [--last N]]",
		help: `
Applies a capture policy to a log. It is checked first (as by "policy
validate"); a policy that does not pass is refused, the refusal is recorded
in the log, and the policy in force stays. The change is recorded in the log
as an indelible.policy.activated entry with the old and new version hashes
and a diff. Under the two-person rule (settings.approval: two-person in the
policy in force) it is only proposed; another admin approves it with
"policy approve".

With --dry-run nothing changes: the last N entries of the log are replayed
through the candidate and the policy in force, and the report says per rule
how many events would be dropped, reduced to metadata or redacted.`,
		examples: `
indelible policy apply policy.yaml --data-dir ./data --log acme --dry-run
indelible policy apply policy.yaml --server http://127.0.0.1:8080 --key-file admin.key --log acme`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			dry := fs.Bool("dry-run", false, "only report what the policy would change")
			last := fs.Int("last", 10000, "with --dry-run, the `number` of recent entries to replay")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want one policy file")
				}
				if err := t.check(); err != nil {
					return err
				}
				_, src, err := readPolicyFile(args[0])
				if err != nil {
					return err
				}
				if *dry {
					var rep capture.Report
					err = t.either(ctx, common, func() error {
						return t.call(ctx, "PUT", "/v1/policies", url.Values{"dry_run": {strconv.Itoa(*last)}}, src, &rep)
					}, func(in *instance) (err error) {
						rep, err = in.capture.DryRun(ctx, t.log, src, *last)
						return err
					})
					if err != nil {
						return err
					}
					return printReport(sio.out, rep, t.json)
				}
				var o capture.Outcome
				err = t.either(ctx, common, func() error {
					return t.call(ctx, "PUT", "/v1/policies", nil, src, &o)
				}, func(in *instance) (err error) {
					o, err = in.capture.ApplyPolicy(ctx, localActor(), t.log, src)
					return err
				})
				if err != nil {
					return refusal(err)
				}
				return printOutcome(sio.out, "policy", o, t.json)
			}
		},
	}
}

func printReport(w io.Writer, r capture.Report, asJSON bool) error {
	if asJSON {
		return printJSON(w, r)
	}
	active := r.Active
	if active == "" {
		active = "(none: everything in full)"
	}
	fmt.Fprintf(w, "replayed %d events from entry %d of log %s\nactive:    %s\ncandidate: %s\n\n", r.Replayed, r.From, r.Log, active, r.Candidate)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tLEVEL\tMATCHED\tDROPPED\tREDUCED\tREDACTED\tCHANGED")
	for _, rr := range r.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", rr.Rule, rr.Level, rr.Matched, rr.Dropped, rr.Reduced, rr.Redacted, rr.Changed)
	}
	tw.Flush()
	if r.Fallbacks > 0 {
		fmt.Fprintf(w, "\n%d events could not be evaluated by the candidate (they would be captured in full, with a fallback entry)\n", r.Fallbacks)
	}
	fmt.Fprintln(w, "\nlevel changes (active -> candidate):")
	for _, t := range r.Transition {
		fmt.Fprintf(w, "  %-8s -> %-8s %d\n", t.From, t.To, t.Count)
	}
	return nil
}

func policyShowCommand() *command {
	var t target
	return &command{
		name:     "policy show",
		summary:  "print the capture policy in force and pending proposals",
		synopsis: "policy show (--data-dir DIR --log LOG | --server URL --key KEY)",
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if err := t.check(); err != nil {
					return err
				}
				var res struct {
					Log    string `json:"log"`
					Active *struct {
						Hash   string `json:"hash"`
						Index  uint64 `json:"index"`
						Source string `json:"source"`
					} `json:"active"`
					Settings policy.Settings    `json:"settings"`
					Pending  []capture.Proposal `json:"pending"`
				}
				err := t.either(ctx, common, func() error {
					return t.call(ctx, "GET", "/v1/policies", nil, nil, &res)
				}, func(in *instance) error {
					st, err := in.capture.State(ctx, t.log)
					if err != nil {
						return err
					}
					res.Log, res.Settings = t.log, st.Settings()
					if st.Policy != nil {
						res.Active = &struct {
							Hash   string `json:"hash"`
							Index  uint64 `json:"index"`
							Source string `json:"source"`
						}{st.Policy.Hash(), st.PolicyIndex, string(st.Policy.Source())}
					}
					for _, p := range st.Pending {
						res.Pending = append(res.Pending, p)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if t.json {
					return printJSON(sio.out, res)
				}
				if res.Active == nil {
					fmt.Fprintf(sio.out, "log %s has no capture policy: every event is captured in full\n", res.Log)
				} else {
					fmt.Fprintf(sio.out, "# log %s, policy %s, activated by entry %d\n%s", res.Log, res.Active.Hash, res.Active.Index, res.Active.Source)
				}
				for _, p := range res.Pending {
					fmt.Fprintf(sio.out, "# pending %s proposal %s by %s (entry %d): %s\n", p.Kind, p.ID, p.By, p.Index, p.Hash)
				}
				return nil
			}
		},
	}
}

func policyApproveCommand() *command {
	var t target
	return &command{
		name:     "policy approve",
		summary:  "approve a pending policy or schema change (two-person rule)",
		synopsis: "policy approve PROPOSAL (--data-dir DIR --log LOG | --server URL --key KEY)",
		help: `
Approves a change proposed by another admin under the two-person rule. The
approval and the activation are recorded in the log in one commit.`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want the proposal id")
				}
				if err := t.check(); err != nil {
					return err
				}
				var (
					o   capture.Outcome
					err error
				)
				err = t.either(ctx, common, func() error {
					return t.call(ctx, "POST", "/v1/proposals/"+url.PathEscape(args[0])+"/approve", nil, nil, &o)
				}, func(in *instance) (err error) {
					o, err = in.capture.Approve(ctx, localActor(), t.log, args[0])
					return err
				})
				if err != nil {
					return err
				}
				return printOutcome(sio.out, "change", o, t.json)
			}
		},
	}
}

func policyHistoryCommand() *command {
	return &command{
		name:     "policy history",
		summary:  "verify a log and print its configuration timeline",
		synopsis: "policy history --data-dir DIR --log LOG [--rule NAME] [--json]",
		help: `
Verifies the log (every entry, tile and checkpoint, as "verify" does), then
rebuilds the timeline of its configuration from its entries alone: every
policy activation, schema registration, proposal, approval, refusal and
fallback, with who did it and the version hashes.

With --rule NAME it shows, for every policy version, the level of that rule,
which proves for example that login capture was never switched off: the
timeline is read from verified entries, so it cannot have been edited.`,
		examples: `
indelible policy history --data-dir ./data --log acme --rule logins-full`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			dir := fs.String("data-dir", "", "`directory` of the instance")
			log := fs.String("log", "", "the `log` whose history to show")
			rule := fs.String("rule", "", "show the level of this `rule` in every policy version")
			asJSON := fs.Bool("json", false, "print JSON lines")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if *log == "" {
					return usageErrorf("--log is required")
				}
				in, err := openInstance(ctx, *dir, defaultInstanceName, common.logger(), ledger.Config{}, common.storeOptions())
				if err != nil {
					return err
				}
				defer in.Close()
				st, cp, err := verifyAndRebuild(ctx, in, *dir, *log)
				if err != nil {
					return err
				}
				return printHistory(sio.out, st, cp.Size, *rule, *asJSON)
			}
		},
	}
}

func printHistory(w io.Writer, st *capture.State, size uint64, rule string, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, c := range st.History {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(w, "log %s: verified %d entries; %d configuration entries\n\n", st.Log, size, len(st.History))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "INDEX\tTIME\tCHANGE\tBY\tWHAT"
	if rule != "" {
		head += "\tRULE " + rule
	}
	fmt.Fprintln(tw, head)
	for _, c := range st.History {
		what := c.Hash
		if c.EventType != "" {
			what = c.EventType + " " + c.Hash
			if c.Version > 0 {
				what = fmt.Sprintf("%s@%d %s", c.EventType, c.Version, c.Hash)
			}
		}
		line := fmt.Sprintf("%d\t%s\t%s\t%s\t%s", c.Index, fmtTime(c.Time), c.Type, c.Actor, shortHash(what))
		if rule != "" && c.Type == capture.TypePolicyActivated {
			line += "\t" + ruleLevel(st, c.Index, rule)
		}
		fmt.Fprintln(tw, line)
		for _, e := range c.Errors {
			fmt.Fprintf(tw, "\t\t  %s\t\t\n", e)
		}
	}
	return tw.Flush()
}

// ruleLevel returns the level of rule in the policy activated at index.
func ruleLevel(st *capture.State, index uint64, rule string) string {
	for _, v := range st.Policies {
		if v.Index == index {
			if l, ok := v.Policy.RuleLevel(rule); ok {
				return string(l)
			}
			return "absent"
		}
	}
	return "?"
}

func shortHash(s string) string {
	if len(s) > 90 {
		return s[:90] + "…"
	}
	return s
}
