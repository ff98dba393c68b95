package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "INDELIBLE_"

// envName returns the environment variable that sets a flag:
// "data-dir" is INDELIBLE_DATA_DIR.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// applyEnv sets every flag that the command line did not set from its
// environment variable, if that is set and not empty.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		name := envName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s=%q: %v", name, v, e)
		}
	})
	return err
}

// stringList is a flag that may be repeated.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// commonFlags are the flags every command has.
type commonFlags struct {
	level slog.Level
	// store is the URL of a PostgreSQL store shared by several servers
	// ("" for the SQLite file of the data directory); migrate lets the
	// command bring its schema up to date.
	store   string
	migrate bool

	// Set by command.run after parsing.
	stderr           io.Writer
	stderrIsTerminal bool
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.TextVar(&c.level, "log-level", slog.LevelInfo, "least severe `level` of log messages to print: debug, info, warn or error")
	fs.StringVar(&c.store, "store", "", "`URL` of a PostgreSQL store shared by several servers (postgres://user@host/db);\ndefault: the SQLite file in the data directory")
	fs.BoolVar(&c.migrate, "migrate", false, "with --store, bring the PostgreSQL schema up to date first (needs a role that may create tables)")
}

// logger returns the program's logger: text on a terminal, JSON lines
// otherwise, on standard error.
func (c *commonFlags) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.level}
	if c.stderrIsTerminal {
		return slog.New(slog.NewTextHandler(c.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(c.stderr, opts))
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// printHelp prints a command's help: synopsis, description, flags with
// their environment variables, and examples.
func printHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage:\n\n")
	for _, line := range strings.Split(strings.TrimSpace(c.synopsis), "\n") {
		fmt.Fprintf(w, "\tindelible %s\n", strings.TrimSpace(line))
	}
	fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	fmt.Fprintf(w, "\nFlags (each also read from the environment variable shown):\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "  (%s)\n", envName(f.Name))
		fmt.Fprintf(w, "\t%s", strings.ReplaceAll(usage, "\n", "\n\t"))
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	if ex := strings.TrimSpace(c.examples); ex != "" {
		fmt.Fprintf(w, "\nExamples:\n\n")
		for _, line := range strings.Split(ex, "\n") {
			if line == "" {
				fmt.Fprintln(w)
				continue
			}
			fmt.Fprintf(w, "\t%s\n", line)
		}
	}
}
