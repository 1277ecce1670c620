// Command surge runs the items service and the tools around it: the load
// tester, the local stand-ins for API Gateway and Lambda, and the lab.
// Each subcommand lives in its own file and registers itself with
// addCommand.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/google/uuid"
	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffhelp"
)

// envPrefix is the prefix of the environment variables that set flags:
// --admin-addr is also SURGE_ADMIN_ADDR.
const envPrefix = "SURGE"

// root holds what every subcommand shares: the global flags and streams.
type root struct {
	stdout, stderr io.Writer
	flags          *ff.FlagSet
	cmd            *ff.Command

	logFormat string
	logLevel  string
}

// commands are the constructors of the subcommands, added by each
// subcommand's file in an init function.
var commands []func(*root) *ff.Command

func addCommand(c func(*root) *ff.Command) { commands = append(commands, c) }

func newRoot(stdout, stderr io.Writer) *root {
	r := &root{stdout: stdout, stderr: stderr}
	r.flags = ff.NewFlagSet("surge")
	r.flags.StringEnumVar(&r.logFormat, 0, "log-format", "log format: text or json", "text", "json")
	r.flags.StringEnumVar(&r.logLevel, 0, "log-level", "log level: info, debug, warn or error", "info", "debug", "warn", "error")
	r.cmd = &ff.Command{
		Name:      "surge",
		Usage:     "surge [FLAGS] <SUBCOMMAND> ...",
		ShortHelp: "the serverless items service, its local AWS stand-ins, and a load tester",
		LongHelp: "Every flag can also be set by an environment variable: SURGE_ and the flag's\n" +
			"name in upper case with dashes as underscores (--admin-addr is SURGE_ADMIN_ADDR).\n" +
			"A flag on the command line wins over the environment.",
		Flags: r.flags,
		Exec: func(context.Context, []string) error {
			return ff.ErrHelp
		},
	}
	for _, c := range commands {
		r.cmd.Subcommands = append(r.cmd.Subcommands, c(r))
	}
	return r
}

// logger returns the process's logger as the global flags ask, writing
// to stderr through a buffer; call the returned function before exiting to
// flush it.
func (r *root) logger() (*slog.Logger, func()) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(r.logLevel))
	opts := &slog.HandlerOptions{Level: level}
	lw := newLogWriter(r.stderr)
	var h slog.Handler
	if r.logFormat == "json" {
		h = slog.NewJSONHandler(lw, opts)
	} else {
		h = slog.NewTextHandler(lw, opts)
	}
	return slog.New(flushingHandler{h, lw}), lw.Close
}

// run parses args and runs the selected subcommand; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	r := newRoot(stdout, stderr)
	err := r.cmd.Parse(args, ff.WithEnvVarPrefix(envPrefix))
	if moved, ok := flagsLast(r, args); err == nil && ok {
		// Flags after the arguments (surge load URL --rate 100): parse
		// again with the arguments moved behind the flags.
		r = newRoot(stdout, stderr)
		err = r.cmd.Parse(moved, ff.WithEnvVarPrefix(envPrefix))
	}
	if err == nil {
		err = r.cmd.Run(ctx)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ff.ErrHelp):
		printHelp(stderr, r.cmd.GetSelected())
		return 0
	case errors.Is(err, ff.ErrNoExec):
		printHelp(stderr, r.cmd.GetSelected())
		return 2
	default:
		var ec exitCode
		if errors.As(err, &ec) {
			if ec.err != nil {
				fmt.Fprintf(stderr, "surge: %v\n", ec.err)
			}
			return ec.code
		}
		fmt.Fprintf(stderr, "surge: %v\n", err)
		return 1
	}
}

// flagsLast returns args with the selected command's leading arguments
// moved behind the flags that follow them, and whether there were such
// flags: the parser stops at the first argument, as the flag package does.
func flagsLast(r *root, args []string) ([]string, bool) {
	sel := r.cmd.GetSelected()
	if sel == nil || sel.Flags == nil {
		return nil, false
	}
	left := sel.Flags.GetArgs()
	k := 0
	for k < len(left) && !strings.HasPrefix(left[k], "-") {
		k++
	}
	if k == 0 || k == len(left) || left[k] == "--" || len(left) > len(args) {
		return nil, false
	}
	moved := append([]string{}, args[:len(args)-len(left)]...)
	moved = append(moved, left[k:]...)
	return append(moved, left[:k]...), true
}

// printHelp prints a command's help and the environment variable of each
// of its flags.
func printHelp(w io.Writer, cmd *ff.Command) {
	fmt.Fprintf(w, "%s\n", ffhelp.Command(cmd))
	if cmd.Flags == nil {
		return
	}
	var names []string
	_ = cmd.Flags.WalkFlags(func(f ff.Flag) error {
		if long, ok := f.GetLongName(); ok && long != "help" {
			names = append(names, long)
		}
		return nil
	})
	if len(names) == 0 {
		return
	}
	fmt.Fprintf(w, "ENVIRONMENT\n  Each flag can also be set by an environment variable; a flag given on the\n  command line wins.\n\n")
	for _, n := range names {
		fmt.Fprintf(w, "  %-30s --%s\n", envName(n), n)
	}
	fmt.Fprintln(w)
}

// envName is the environment variable of the flag with the long name n.
func envName(n string) string {
	return envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(n, "-", "_"))
}

// exitCode is an error that asks for a particular exit code, such as a
// load test whose thresholds were breached.
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func main() {
	// Request ids (UUIDv7) take their random bits from a buffered pool
	// rather than one crypto/rand read each. Ids are not secrets. This must
	// happen before any goroutine makes one.
	uuid.EnableRandPool()
	// The first SIGINT or SIGTERM cancels ctx, so that a subcommand can stop
	// gracefully; a second one kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
