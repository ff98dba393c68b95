package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/capture"
)

// readRulesFile reads and checks an analysis configuration file, printing
// every problem as FILE:LINE:COLUMN.
func readRulesFile(path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := analyze.ParseConfig(src); err != nil {
		var pe *analyze.Error
		if errors.As(err, &pe) {
			msg := fmt.Sprintf("%s is not a valid analysis configuration:", path)
			for _, pr := range pe.Problems {
				msg += fmt.Sprintf("\n  %s:%d:%d: %s: %s", path, pr.Line, pr.Column, pr.Path, pr.Message)
			}
			return nil, badData(errors.New(msg))
		}
		return nil, badData(fmt.Errorf("%s: %w", path, err))
	}
	return src, nil
}

func rulesApplyCommand() *command {
	var t target
	return &command{
		name:     "rules apply",
		summary:  "set the detectors and user rules of a log",
		synopsis: "rules apply FILE (--data-dir DIR --log LOG | --server URL --key KEY) [--check]",
		help: `
Sets the analysis configuration of a log (YAML): which detectors run, their
parameters, the sensitive actions, and user rules (a CEL condition with an
optional window count). It is checked first, with every problem's line and
column; with --check nothing else happens. Like a policy, the change is an
entry of the log (indelible.rules.activated), only admins may make it, and
under the two-person rule it is a proposal until another admin approves it.
The running analysis picks the new configuration up and keeps what it has
learned.`,
		examples: `
indelible rules apply rules.yaml --data-dir ./data --log acme`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			check := fs.Bool("check", false, "only check the file")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want one configuration file")
				}
				src, err := readRulesFile(args[0])
				if err != nil {
					return err
				}
				if *check {
					fmt.Fprintf(sio.out, "%s: valid analysis configuration\n", args[0])
					return nil
				}
				if err := t.check(); err != nil {
					return err
				}
				var o capture.Outcome
				err = t.either(ctx, common, func() error {
					return t.call(ctx, "PUT", "/v1/rules", nil, src, &o)
				}, func(in *instance) (err error) {
					o, err = in.capture.ApplyRules(ctx, localActor(), t.log, src)
					return err
				})
				if err != nil {
					return refusal(err)
				}
				return printOutcome(sio.out, "analysis configuration", o, t.json)
			}
		},
	}
}

func rulesShowCommand() *command {
	var t target
	return &command{
		name:     "rules show",
		summary:  "print the analysis configuration of a log",
		synopsis: "rules show (--data-dir DIR --log LOG | --server URL --key KEY)",
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
					Active *struct {
						Hash   string `json:"hash"`
						Index  uint64 `json:"index"`
						Source string `json:"source"`
					} `json:"active"`
				}
				err := t.either(ctx, common, func() error {
					return t.call(ctx, "GET", "/v1/rules", nil, nil, &res)
				}, func(in *instance) error {
					st, err := in.capture.State(ctx, t.log)
					if err != nil {
						return err
					}
					if st.AnalysisSource != nil {
						res.Active = &struct {
							Hash   string `json:"hash"`
							Index  uint64 `json:"index"`
							Source string `json:"source"`
						}{st.AnalysisHash(), st.AnalysisIndex, string(st.AnalysisSource)}
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
					fmt.Fprintln(sio.out, "# the default detectors (no analysis configuration applied)")
					return nil
				}
				fmt.Fprintf(sio.out, "# analysis configuration %s, activated by entry %d\n%s", res.Active.Hash, res.Active.Index, res.Active.Source)
				return nil
			}
		},
	}
}
