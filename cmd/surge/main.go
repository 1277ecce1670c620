// Command surge runs the items service and the tools around it: the load
// tester and the local stand-ins for API Gateway and Lambda. It binds
// flags, their SURGE_ variables and YAML config files onto the
// configurations of the packages that do the work (server.Config for
// `surge serve`), runs them, and prints. Each subcommand lives in its own
// file; commands lists them.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/google/uuid"
	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/observe/logbuf"
	"github.com/surgehq/surge/internal/server"
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
	// started, when set (by a test), is given the server of `surge serve`
	// once it listens, before it serves.
	started func(*server.Server)
}

// commands are the constructors of the subcommands, in the order of the
// help.
var commands = []func(*root) *ff.Command{newFunctionCommand, newLabCommand, newLoadCommand, newServeCommand, newTableCommand}

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
	return logbuf.NewLogger(r.stderr, r.logFormat == "json", r.level())
}

// level is the --log-level flag's level.
func (r *root) level() slog.Level {
	var level slog.Level
	_ = level.UnmarshalText([]byte(r.logLevel))
	return level
}

// run parses args and runs the selected subcommand; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newRoot(stdout, stderr).run(ctx, args)
}

// run parses args and runs the selected subcommand; it returns the exit
// code.
func (r *root) run(ctx context.Context, args []string) int {
	err := r.cmd.Parse(args, ff.WithEnvVarPrefix(envPrefix))
	if moved, ok := cli.FlagsLast(r.cmd, args); err == nil && ok {
		// Flags after the arguments (surge load URL --rate 100): parse
		// again with the arguments moved behind the flags.
		started := r.started
		r = newRoot(r.stdout, r.stderr)
		r.started = started
		err = r.cmd.Parse(moved, ff.WithEnvVarPrefix(envPrefix))
	}
	if err == nil {
		err = r.cmd.Run(ctx)
	}
	return cli.Exit(r.stderr, r.cmd, err, envPrefix)
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
