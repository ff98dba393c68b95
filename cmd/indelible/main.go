// Command indelible is the Indelible binary: a tamper-evident audit log
// whose entries are the leaves of an RFC 6962 Merkle tree, committed to by
// signed C2SP checkpoints and verifiable offline.
//
// Run "indelible --help" for the list of commands and "indelible COMMAND
// --help" for one command. Every flag may also be given as an environment
// variable: --data-dir is INDELIBLE_DATA_DIR, --max-batch is
// INDELIBLE_MAX_BATCH, and so on; a flag on the command line wins.
//
// Exit status: 0 on success, 1 when the data is bad (invalid input events,
// a failed verification), 2 when the command could not do its job (usage
// errors, missing files, I/O errors).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitOK    = 0
	exitBad   = 1 // the data is bad: invalid input, failed verification
	exitUsage = 2 // usage, configuration or I/O error
)

func main() {
	// The first interrupt cancels ctx: commands stop after the transaction
	// in flight. A second one kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], &stdio{
		in:     os.Stdin,
		out:    os.Stdout,
		err:    os.Stderr,
		getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}

// stdio is what a command may touch of its process: the standard streams
// and the environment. Tests substitute their own.
type stdio struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string
}

// command is one subcommand. Adding a subcommand is writing one file that
// defines a function returning a *command, and listing it in commands.
type command struct {
	name     string // "append", or "keys init" for a nested command
	summary  string // one line for the command list
	synopsis string // usage line(s), without the leading "indelible "
	help     string // what the command does, printed before the flags
	examples string // printed after the flags
	// setup defines the command's flags on fs and returns the function
	// that runs the command once the flags are parsed; args are the
	// remaining arguments.
	setup func(fs *flag.FlagSet, common *commonFlags) func(ctx context.Context, sio *stdio, args []string) error
}

// commands lists every subcommand, in the order of the command list.
func commands() []*command {
	return []*command{
		serveCommand(),
		appendCommand(),
		verifyCommand(),
		keysInitCommand(),
		keysCreateCommand(),
		keysListCommand(),
		keysRevokeCommand(),
		keysPublicCommand(),
		schemasPutCommand(),
		schemasListCommand(),
		schemasShowCommand(),
		schemasHistoryCommand(),
		policyValidateCommand(),
		policyTestCommand(),
		policyApplyCommand(),
		policyShowCommand(),
		policyApproveCommand(),
		policyHistoryCommand(),
		queryCommand(),
		statsCommand(),
		tailCommand(),
		findingsListCommand(),
		findingActionCommand("ack", "acknowledge a finding: someone is on it",
			"\nRecords that someone is looking at an open finding (an indelible.finding.acknowledged entry)."),
		findingActionCommand("resolve", "resolve a finding, saying what was done",
			"\nRecords what was done about a finding (--taken, required; --link for tickets) as an\nindelible.finding.resolved entry. Its rule may raise again for the same group."),
		findingActionCommand("dismiss", "dismiss a finding as not a problem",
			"\nRecords why a finding is not a problem (--reason, required). With --suppress-until, the\nrule stays silent for the same group until then."),
		findingActionCommand("reopen", "reopen a resolved or dismissed finding",
			"\nReopens a finding that was resolved or dismissed."),
		reportCommand(),
		rulesApplyCommand(),
		rulesShowCommand(),
		migrateCommand(),
		benchCommand(),
		versionCommand(),
	}
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, sio *stdio) int {
	cmds := commands()
	if len(args) == 0 {
		printCommandList(sio.err, cmds)
		return exitUsage
	}
	if isHelpFlag(args[0]) || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			if c, _ := lookup(cmds, args[1:]); c != nil {
				fs, _, _ := c.define()
				printHelp(sio.out, c, fs)
				return exitOK
			}
		}
		printCommandList(sio.out, cmds)
		return exitOK
	}
	c, rest := lookup(cmds, args)
	if c == nil {
		if group := groupOf(cmds, args[0]); group != "" {
			// "indelible keys": list the commands of the group.
			if len(args) == 2 && isHelpFlag(args[1]) {
				printGroup(sio.out, cmds, group)
				return exitOK
			}
			printGroup(sio.err, cmds, group)
			if len(args) > 1 {
				return fatal(sio.err, usageErrorf("unknown command %q", strings.Join(args[:2], " ")))
			}
			return exitUsage
		}
		return fatal(sio.err, usageErrorf("unknown command %q (run 'indelible --help' for the list)", args[0]))
	}
	return fatal(sio.err, c.run(ctx, sio, rest))
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// lookup finds the command named by the first one or two words of args.
func lookup(cmds []*command, args []string) (*command, []string) {
	if len(args) >= 2 {
		for _, c := range cmds {
			if c.name == args[0]+" "+args[1] {
				return c, args[2:]
			}
		}
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c, args[1:]
		}
	}
	return nil, nil
}

// groupOf returns word if it is the first word of nested commands.
func groupOf(cmds []*command, word string) string {
	for _, c := range cmds {
		if strings.HasPrefix(c.name, word+" ") {
			return word
		}
	}
	return ""
}

// define returns the command's flag set, with its flags defined, and the
// function that runs the command once they are parsed.
func (c *command) define() (*flag.FlagSet, *commonFlags, func(context.Context, *stdio, []string) error) {
	fs := flag.NewFlagSet("indelible "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // parse errors are returned and reported by fatal
	fs.Usage = func() {}
	common := &commonFlags{}
	runFn := c.setup(fs, common)
	common.register(fs)
	return fs, common, runFn
}

// run parses the command's flags (and their environment variables) and
// runs it.
func (c *command) run(ctx context.Context, sio *stdio, args []string) error {
	fs, common, runFn := c.define()
	// Flags may come before or after the arguments; "--" ends the flags.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printHelp(sio.out, c, fs)
				return nil
			}
			return usageErrorf("%v (run 'indelible %s --help' for usage)", err, c.name)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	if err := applyEnv(fs, sio.getenv); err != nil {
		return usageErrorf("%v", err)
	}
	common.stderr = sio.err
	common.stderrIsTerminal = isTerminal(sio.err)
	return runFn(ctx, sio, positional)
}

// printGroup lists the commands whose first word is group.
func printGroup(w io.Writer, cmds []*command, group string) {
	fmt.Fprintf(w, "Usage:\n\n\tindelible %s COMMAND [flags]\n\nCommands:\n\n", group)
	for _, c := range cmds {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(w, "\t%-12s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintf(w, "\nRun 'indelible %s COMMAND --help' for the flags and examples of a command.\n", group)
}

func printCommandList(w io.Writer, cmds []*command) {
	fmt.Fprint(w, `Indelible is a tamper-evident audit log: events are sealed into entries that
form an RFC 6962 Merkle tree, each commit is covered by a signed checkpoint,
and anyone holding the public key can verify the log offline.

Usage:

	indelible COMMAND [flags] [arguments]

Commands:

`)
	for _, c := range cmds {
		fmt.Fprintf(w, "\t%-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'indelible COMMAND --help' for the flags and examples of a command.
Every flag can also be set by an environment variable: --data-dir is
INDELIBLE_DATA_DIR, --log-level is INDELIBLE_LOG_LEVEL, and so on.

Getting started:

	indelible append --data-dir ./data --log acme events.ndjson
	indelible verify --data-dir ./data

Exit status: 0 success, 1 invalid input or failed verification,
2 usage, configuration or I/O error.
`)
}

// exitError carries an exit status with an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf returns an error that exits with status 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// badData marks err as a problem with the data (exit status 1).
func badData(err error) error {
	return &exitError{code: exitBad, err: err}
}

// fatal is the one place where an error ends the program: it prints err
// (if any) and returns the exit status it calls for. Errors that are not
// marked otherwise are operational failures (status 2).
func fatal(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(w, "indelible: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}
