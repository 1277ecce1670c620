package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/examples"
	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/server"
)

// serveFlags are the flags of `surge serve`: those of server.Config
// (package cli binds them from its tags), and the files of settings.
type serveFlags struct {
	cfg        server.Config
	configFile string
	optimized  bool
}

// newServeFlags defines the flags of `surge serve` on fs.
func newServeFlags(fs *ff.FlagSet) *serveFlags {
	c := &serveFlags{cfg: server.DefaultConfig()}
	if err := cli.Bind(fs, &c.cfg); err != nil {
		panic(err) // a mistake in server.Config's tags, which every test would show
	}
	fs.StringVar(&c.configFile, 0, "config", "", "YAML config file: a section per part, each key a flag (cache: {ttl: 300s} is --cache-ttl); flags and SURGE_ variables win over it")
	fs.BoolVar(&c.optimized, 0, "optimized", "turn on the seed article's optimizations (examples/optimized.yaml) under any --config, flags and variables")
	return c
}

// config returns the server's configuration, the flags parsed.
func (c *serveFlags) config(r *root) server.Config {
	cfg := c.cfg
	cfg.Functions.LogLevel = r.level()
	return cfg
}

func newServeCommand(r *root) *ff.Command {
	fs := ff.NewFlagSet("serve").SetParent(r.flags)
	c := newServeFlags(fs)
	return &ff.Command{
		Name:      "serve",
		Usage:     "surge serve [FLAGS]",
		ShortHelp: "run the items service",
		LongHelp: "Serves the items API (see API.md) on --addr, storing in SQLite under --data\n" +
			"unless --store names another store. SIGINT or SIGTERM stops it gracefully:\n" +
			"it stops accepting, finishes requests in flight (up to --shutdown-timeout),\n" +
			"and closes the store.\n\n" +
			"With --functions the API is served by a pool of function processes (`surge\n" +
			"function`, or --function-command) behind the gateway, as AWS Lambda runs the\n" +
			"function: cold starts, reserved and provisioned concurrency, idle reclaim, CPU\n" +
			"by memory size; and Lambda's Invoke API answers on --function-invoke-addr at\n" +
			"POST /2015-03-31/functions/{name}/invocations, to callers with the run's token\n" +
			"(<data>/invoke-token, or --function-invoke-token-file). --function-runtime,\n" +
			"--function-handler and --function-code run a Python, Node.js or custom\n" +
			"runtime's function instead.\n\n" +
			"With --template a SAM application runs instead of surge's own API: each\n" +
			"function in a pool of its own, its APIs' routes and settings on the gateway,\n" +
			"its tables in dynalite (started here); what surge does not run is listed.",
		Flags: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("serve takes no arguments, got %q", args)
			}
			if err := c.applyConfigFiles(fs); err != nil {
				return err
			}
			log, flush := r.logger()
			defer flush()
			cfg := c.config(r)
			cfg.Log = log
			serverGC()
			s, err := server.New(ctx, cfg)
			if err != nil {
				return err
			}
			if r.started != nil {
				r.started(s)
			}
			return s.Run(ctx)
		},
	}
}

// applyConfigFiles sets the flags that neither the command line nor the
// environment set from --config, then from the --optimized preset, so
// that flags win over variables, variables over the file, and the file
// over the preset.
func (c *serveFlags) applyConfigFiles(fs *ff.FlagSet) error {
	if c.configFile != "" {
		if err := cli.ApplyYAMLFile(fs, c.configFile, "config", "optimized"); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	if c.optimized {
		if err := cli.ApplyYAML(fs, bytes.NewReader(examples.Optimized), "config", "optimized"); err != nil {
			return fmt.Errorf("--optimized preset: %w", err)
		}
	}
	return nil
}

// serverGCPercent is the Go collector's target (GOGC) of `surge serve`
// unless the GOGC environment variable sets one. A server's live heap is
// small beside what its requests allocate, so Go's default of 100 collects
// many times a second under load; at 400 the heap may grow to five times
// the live data between collections, for a quarter of the collections.
const serverGCPercent = 400

func serverGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}
