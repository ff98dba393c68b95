package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/a24ba333/indelible/internal/capture"
)

// schemaView is a schema as the API shows it.
type schemaView struct {
	Type    string          `json:"type"`
	Version int             `json:"version"`
	Ref     string          `json:"ref"`
	Hash    string          `json:"hash"`
	Source  json.RawMessage `json:"source,omitempty"`
}

type schemasView struct {
	Log     string             `json:"log"`
	Schemas []schemaView       `json:"schemas"`
	Pending []capture.Proposal `json:"pending"`
	History []capture.Change   `json:"history,omitempty"`
}

// schemasOf returns what GET /v1/schemas[/TYPE] answers, from the
// server or the data directory.
func schemasOf(ctx context.Context, t *target, common *commonFlags, eventType string) (schemasView, error) {
	var v schemasView
	if t.server != "" {
		path := "/v1/schemas"
		if eventType != "" {
			path += "/" + url.PathEscape(eventType)
		}
		err := t.call(ctx, "GET", path, nil, nil, &v)
		return v, err
	}
	in, done, err := t.local(ctx, common)
	if err != nil {
		return v, err
	}
	defer done()
	st, err := in.capture.State(ctx, t.log)
	if err != nil {
		return v, err
	}
	v.Log = t.log
	types := st.Schemas.Types()
	if eventType != "" {
		types = []string{eventType}
	}
	for _, typ := range types {
		versions := st.Schemas.Versions(typ)
		if eventType == "" && len(versions) > 0 {
			versions = versions[len(versions)-1:]
		}
		for _, sc := range versions {
			sv := schemaView{Type: typ, Version: sc.Version, Ref: sc.Ref(), Hash: sc.Hash}
			if eventType != "" {
				sv.Source = sc.Source
			}
			v.Schemas = append(v.Schemas, sv)
		}
	}
	for _, p := range st.Pending {
		if p.Kind == capture.KindSchema && (eventType == "" || p.EventType == eventType) {
			v.Pending = append(v.Pending, p)
		}
	}
	if eventType != "" {
		for _, c := range st.History {
			if c.EventType == eventType {
				v.History = append(v.History, c)
			}
		}
	}
	return v, nil
}

func schemasPutCommand() *command {
	var t target
	return &command{
		name:     "schemas put",
		summary:  "register a JSON Schema for an event type",
		synopsis: "schemas put TYPE FILE (--data-dir DIR --log LOG | --server URL --key KEY)",
		help: `
Registers FILE, a JSON Schema (draft 2020-12) for the data of events of TYPE,
as the type's next version. From then on every event of that type is
validated against it before it is sealed, and its entry records the schema
version ("capture.schema": "TYPE@VERSION"). A schema that does not compile is
refused with the JSON path and keyword at fault, and the refusal is
recorded. The schema must be self-contained: remote references are never
fetched. Registering is recorded as an indelible.schema.registered entry.`,
		examples: `
indelible schemas put payment.refund refund.schema.json --data-dir ./data --log acme`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 2 {
					return usageErrorf("want an event type and a schema file")
				}
				if err := t.check(); err != nil {
					return err
				}
				src, err := os.ReadFile(args[1])
				if err != nil {
					return err
				}
				var o capture.Outcome
				err = t.either(ctx, common, func() error {
					return t.call(ctx, "PUT", "/v1/schemas/"+url.PathEscape(args[0]), nil, src, &o)
				}, func(in *instance) (err error) {
					o, err = in.capture.PutSchema(ctx, localActor(), t.log, args[0], src)
					return err
				})
				if err != nil {
					return refusal(err)
				}
				return printOutcome(sio.out, "schema of "+args[0], o, t.json)
			}
		},
	}
}

func schemasListCommand() *command {
	var t target
	return &command{
		name:     "schemas list",
		summary:  "list the registered schemas of a log",
		synopsis: "schemas list (--data-dir DIR --log LOG | --server URL --key KEY) [--json]",
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				if err := t.check(); err != nil {
					return err
				}
				v, err := schemasOf(ctx, &t, common, "")
				if err != nil {
					return err
				}
				if t.json {
					return printJSON(sio.out, v)
				}
				tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TYPE\tVERSION\tHASH")
				for _, s := range v.Schemas {
					fmt.Fprintf(tw, "%s\t%d\t%s\n", s.Type, s.Version, s.Hash)
				}
				for _, p := range v.Pending {
					fmt.Fprintf(tw, "%s\tpending %s\t%s\n", p.EventType, p.ID, p.Hash)
				}
				return tw.Flush()
			}
		},
	}
}

func schemasShowCommand() *command {
	var t target
	return &command{
		name:     "schemas show",
		summary:  "print a schema (newest version, or --version N)",
		synopsis: "schemas show TYPE [--version N] (--data-dir DIR --log LOG | --server URL --key KEY)",
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			version := fs.Int("version", 0, "the `version` to show (default the newest)")
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want an event type")
				}
				if err := t.check(); err != nil {
					return err
				}
				v, err := schemasOf(ctx, &t, common, args[0])
				if err != nil {
					return err
				}
				if len(v.Schemas) == 0 {
					return fmt.Errorf("no schema is registered for %q", args[0])
				}
				sc := v.Schemas[len(v.Schemas)-1]
				if *version > 0 {
					if *version > len(v.Schemas) {
						return fmt.Errorf("%q has %d versions, not %d", args[0], len(v.Schemas), *version)
					}
					sc = v.Schemas[*version-1]
				}
				if t.json {
					return printJSON(sio.out, sc)
				}
				var pretty any
				if err := json.Unmarshal(sc.Source, &pretty); err != nil {
					return err
				}
				fmt.Fprintf(sio.out, "# %s version %d, %s\n", sc.Type, sc.Version, sc.Hash)
				return printJSON(sio.out, pretty)
			}
		},
	}
}

func schemasHistoryCommand() *command {
	var t target
	return &command{
		name:     "schemas history",
		summary:  "list the changes of a type's schema",
		synopsis: "schemas history TYPE (--data-dir DIR --log LOG | --server URL --key KEY) [--json]",
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			t.define(fs)
			return func(ctx context.Context, sio *stdio, args []string) error {
				if len(args) != 1 {
					return usageErrorf("want an event type")
				}
				if err := t.check(); err != nil {
					return err
				}
				v, err := schemasOf(ctx, &t, common, args[0])
				if err != nil {
					return err
				}
				if t.json {
					return printJSON(sio.out, v.History)
				}
				tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "INDEX\tTIME\tCHANGE\tBY\tVERSION\tHASH")
				for _, c := range v.History {
					ver := ""
					if c.Version > 0 {
						ver = strconv.Itoa(c.Version)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", c.Index, fmtTime(c.Time), c.Type, c.Actor, ver, c.Hash)
					for _, e := range c.Errors {
						fmt.Fprintf(tw, "\t\t  %s\t\t\t\n", e)
					}
				}
				return tw.Flush()
			}
		},
	}
}
