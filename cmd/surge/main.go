// Command surge runs the items service and the tools around it: the load
// tester and the local stand-ins for API Gateway and Lambda. It binds
// flags, their SURGE_ variables and YAML config files onto the
// configurations of the packages that do the work (server.Config for
// `surge serve`), runs them, and prints. Each subcommand lives in its own
// file; commands lists them.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
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
	// cpuProfile and memProfile name the files of --cpu-profile and
	// --mem-profile.
	cpuProfile, memProfile string
	// started, when set (by a test), is given the server of `surge serve`
	// once it listens, before it serves.
	started func(*server.Server)
}

// commands are the subcommands' names and constructors, in the order of
// the help.
var commands = []struct {
	name string
	new  func(*root) *ff.Command
}{
	{"function", newFunctionCommand},
	{"lab", newLabCommand},
	{"load", newLoadCommand},
	{"serve", newServeCommand},
	{"table", newTableCommand},
}

// newRoot builds the command tree. With args, it builds only the
// subcommand that args name, if they name one: a function instance
// (`surge function`, started at each cold start) does not pay for the
// other subcommands' flag sets, serve's most of all.
func newRoot(stdout, stderr io.Writer, args ...string) *root {
	r := &root{stdout: stdout, stderr: stderr}
	r.flags = ff.NewFlagSet("surge")
	r.flags.StringEnumVar(&r.logFormat, 0, "log-format", "log format: text or json", "text", "json")
	r.flags.StringEnumVar(&r.logLevel, 0, "log-level", "log level: info, debug, warn or error", "info", "debug", "warn", "error")
	r.flags.StringVar(&r.cpuProfile, 0, "cpu-profile", "", "write a CPU profile of the subcommand's run to this file (go tool pprof reads it)")
	r.flags.StringVar(&r.memProfile, 0, "mem-profile", "", "write an allocation profile to this file when the subcommand ends")
	r.cmd = &ff.Command{
		Name:      "surge",
		Usage:     "surge [FLAGS] <SUBCOMMAND> ...",
		ShortHelp: "the serverless items service, its local AWS stand-ins, and a load tester",
		LongHelp: "Every flag can also be set by an environment variable: SURGE_ and the flag's\n" +
			"name in upper case with dashes as underscores (--admin-addr is SURGE_ADMIN_ADDR).\n" +
			"A flag on the command line wins over the environment.",
		Flags: r.flags,
		Exec: func(_ context.Context, args []string) error {
			if len(args) > 0 {
				names := make([]string, len(commands))
				for i, c := range commands {
					names[i] = c.name
				}
				return fmt.Errorf("unknown subcommand %q (want one of %s)", args[0], strings.Join(names, ", "))
			}
			return ff.ErrHelp
		},
	}
	name := subcommandName(args)
	for _, c := range commands {
		if c.name == name {
			r.cmd.Subcommands = []*ff.Command{c.new(r)}
			return r
		}
	}
	for _, c := range commands {
		r.cmd.Subcommands = append(r.cmd.Subcommands, c.new(r))
	}
	return r
}

// subcommandName is the first argument that is not a global flag or a
// global flag's value ("" if none): every global flag takes a value, given
// as --flag=value or as the next argument.
func subcommandName(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return ""
		case strings.HasPrefix(a, "-"):
			if !strings.Contains(a, "=") {
				i++
			}
		default:
			return a
		}
	}
	return ""
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

// runProfiled runs the parsed command, with the profiles the global flags
// ask for.
func (r *root) runProfiled(ctx context.Context) error {
	if r.cpuProfile != "" {
		f, err := os.Create(r.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpu-profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	err := r.cmd.Run(ctx)
	if r.memProfile != "" {
		if perr := writeHeapProfile(r.memProfile); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// writeHeapProfile writes the allocation profile (every allocation since
// the start, sampled; and what is live after a collection) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--mem-profile: %w", err)
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("--mem-profile: %w", err)
	}
	return f.Close()
}

// run parses args and runs the selected subcommand; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return newRoot(stdout, stderr, args...).run(ctx, args)
}

// run parses args and runs the selected subcommand; it returns the exit
// code.
func (r *root) run(ctx context.Context, args []string) int {
	err := r.cmd.Parse(args, ff.WithEnvVarPrefix(envPrefix))
	if moved, ok := cli.FlagsLast(r.cmd, args); err == nil && ok {
		// Flags after the arguments (surge load URL --rate 100): parse
		// again with the arguments moved behind the flags.
		started := r.started
		r = newRoot(r.stdout, r.stderr, moved...)
		r.started = started
		err = r.cmd.Parse(moved, ff.WithEnvVarPrefix(envPrefix))
	}
	if err == nil {
		err = r.runProfiled(ctx)
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
