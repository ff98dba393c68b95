package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{
		name:     "version",
		summary:  "print the version of this binary",
		synopsis: "version",
		help: `
Prints the module version, the source revision when it was recorded at
build time, and the Go version the binary was built with.`,
		setup: func(fs *flag.FlagSet, common *commonFlags) func(context.Context, *stdio, []string) error {
			return func(ctx context.Context, sio *stdio, args []string) error {
				if err := noArgs(args); err != nil {
					return err
				}
				fmt.Fprintln(sio.out, versionString())
				return nil
			}
		},
	}
}

// versionString describes the running binary from its build information.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "indelible (unknown version)"
	}
	s := "indelible " + info.Main.Version
	var rev, when string
	modified := false
	for _, kv := range info.Settings {
		switch kv.Key {
		case "vcs.revision":
			rev = kv.Value
		case "vcs.time":
			when = kv.Value
		case "vcs.modified":
			modified = kv.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		s += " " + rev
		if modified {
			s += "+modified"
		}
		if when != "" {
			s += " " + when
		}
	}
	return s + " " + info.GoVersion
}
