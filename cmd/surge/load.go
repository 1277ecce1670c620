package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/distribute"
	"github.com/surgehq/surge/internal/load/htmlreport"
	"github.com/surgehq/surge/internal/load/postman"
	"github.com/surgehq/surge/internal/load/report"
)

// loadCmd is `surge load`: the flags of the run, and the flags bound onto
// the fields of its scenario, applied over the scenario file.
type loadCmd struct {
	*root
	fs             *ff.FlagSet
	settings       *cli.Later // the scenario's fields
	file, progress string
	out            report.Outputs
	every          time.Duration
	seed           uint64
	split          distribute.Options
	search         load.Search
	dir            string // of postman-export
}

func newLoadCommand(r *root) *ff.Command {
	c := &loadCmd{root: r, fs: ff.NewFlagSet("load").SetParent(r.flags), search: load.DefaultSearch()}
	c.fs.StringVar(&c.file, 0, "scenario", "", "YAML scenario file; flags override its values")
	c.fs.StringVar(&c.out.JSON, 0, "out", "", "write the result as JSON to this file, as the run goes (redraw it with surge load report)")
	c.fs.StringEnumVar(&c.progress, 0, "progress", "live progress on stderr: auto (a status line on a terminal, plain lines otherwise), tty, plain or none", "auto", "tty", "plain", "none")
	c.fs.DurationVar(&c.every, 0, "progress-every", 10*time.Second, "interval of the plain progress lines")
	c.fs.Uint64Var(&c.seed, 0, "seed", 0, "seed of the random choices, for a reproducible run (0: random)")
	c.fs.StringVar(&c.out.HTML, 0, "html", "", "also write the report as one self-contained HTML file (charts, tables; opens offline)")
	c.split = distribute.DefaultOptions()
	if err := errors.Join(cli.Bind(c.fs, &c.split), cli.Bind(c.fs, &c.search)); err != nil {
		panic(err) // a mistake in distribute.Options' or load.Search's tags
	}

	d := load.DefaultScenario()
	var err error
	if c.settings, err = cli.BindLater(c.fs, &d); err != nil {
		panic(err) // a mistake in load.Scenario's tags
	}

	export := ff.NewFlagSet("postman-export").SetParent(c.fs)
	export.StringVar(&c.dir, 0, "dir", ".", "directory to write them into")
	sub := func(name, usage, help string, exec func(context.Context, []string) error) *ff.Command {
		return &ff.Command{Name: name, Usage: usage, ShortHelp: help, Flags: ff.NewFlagSet(name).SetParent(c.fs), Exec: exec}
	}
	return &ff.Command{
		Name:      "load",
		Usage:     "surge load [FLAGS] [TARGET-URL]",
		ShortHelp: "load-test a CRUD API at a planned arrival rate, and report latency per operation",
		LongHelp: "Sends the CRUD mix of the seed article's method (creates, reads, updates,\n" +
			"patches, deletes, lists, batches, /ops calls) at planned times: an open model,\n" +
			"so latency is timed from when each request was due, and a stalled server cannot\n" +
			"hide its stall (coordinated omission). Reads, updates and deletes use items the\n" +
			"run created. At the end it prints a table per operation; --out keeps the result.\n" +
			"Ctrl-C stops the run and still prints what ran. With --threshold, a breach\n" +
			"exits with status 99.\n\n" +
			"--openapi takes the API's shape from an OpenAPI document. --postman runs a\n" +
			"Postman collection instead: each user iterating it in order (--model closed,\n" +
			"--iterations), or its requests as an open-model mix chained through what\n" +
			"their responses captured; its checks are the run's errors.\n\n" +
			"With --shards N the plan is split between N generators, each sending every\n" +
			"N-th request from one agreed start (--start-at): on AWS Lambda (--on), as a\n" +
			"Kubernetes Indexed Job (--emit k8s), or one shard here (--shard K); their\n" +
			"results merge exactly (surge load merge). A split run with parts missing\n" +
			"exits with status 3.",
		Flags: c.fs,
		Subcommands: []*ff.Command{
			sub("report", "surge load report [--threshold T ...] [--html FILE] RESULT.json", "redraw the report of a saved result, optionally against new thresholds", c.report),
			sub("compare", "surge load compare [--html FILE] A.json B.json", "compare two saved results (a baseline and a change)", c.compare),
			sub("merge", "surge load merge [--threshold T ...] [--out FILE] RESULT.json|DIR ...", "merge the results of a split plan's shards exactly, and report the plan's result", c.merge),
			sub("clock", "surge load clock ADDR", "serve this machine's clock, for shards that measure their offset against it (--clock-url)", c.clock),
			{Name: "postman-export", Usage: "surge load postman-export [--dir DIR]", ShortHelp: "write surge's API as a Postman collection and environment (as examples/postman holds them)",
				Flags: export, Exec: c.postmanExport},
		},
		Exec: c.run,
	}
}

func (c *loadCmd) run(ctx context.Context, args []string) error {
	s, notes, err := load.Compose(c.file, args, c.settings)
	if err != nil {
		return cli.ExitError{Code: 2, Err: fmt.Errorf("load: %w", err)}
	}
	for _, n := range notes {
		fmt.Fprintln(c.stderr, n)
	}
	if c.split.Split() && c.search.FindKnee {
		return cli.ExitError{Code: 2, Err: errors.New("load: --find-knee runs here, step after step; it does not split")}
	}
	if c.split.Split() {
		// A part derives its own seed from the split's.
		local := func(ctx context.Context, s load.Scenario, opts ...load.Option) (*load.Result, error) {
			return c.runLive(ctx, s, 0, opts...)
		}
		res, err := distribute.Run(ctx, s, c.split, c.seed, local, c.stdout, c.stderr)
		var usage distribute.UsageError
		switch {
		case errors.As(err, &usage):
			return cli.ExitError{Code: 2, Err: fmt.Errorf("load: %w", err)}
		case err != nil:
			return fmt.Errorf("load: %w", err)
		case res == nil: // a manifest was written
			return nil
		}
		return c.finish("load", res)
	}
	stream, err := c.out.Stream(!c.search.FindKnee) // a knee search's steps are runs of their own
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	res, err := c.runLive(ctx, s, c.seed, stream...)
	if err != nil {
		return errors.Join(fmt.Errorf("load: %w", err), c.out.Close())
	}
	return c.finish("load", res)
}

// runLive runs s with the live progress display the flags ask for.
func (c *loadCmd) runLive(ctx context.Context, s load.Scenario, seed uint64, opts ...load.Option) (*load.Result, error) {
	opts = append(opts, load.WithNotes(c.stderr))
	if seed != 0 {
		opts = append(opts, load.WithSeed(seed))
	}
	var live *report.Live
	if tty, ok := map[string]bool{"auto": report.IsTerminal(c.stderr), "tty": true, "plain": false}[c.progress]; ok {
		live = report.NewLive(c.stderr, tty, c.every)
		opts = append(opts, load.WithProgress(live.Update))
	}
	res, err := c.search.Run(ctx, s, opts, func(st load.KneeStep) { fmt.Fprintln(c.stderr, report.KneeStepLine(st)) })
	if live != nil {
		live.Done()
	}
	return res, err
}

// finish reports a result, writes it to --out and --html, and returns the
// exit of an incomplete merge or of breached thresholds.
func (c *loadCmd) finish(cmd string, res *load.Result) error {
	if err := c.out.Write(c.stdout, res); err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	return report.Exit(cmd, res)
}

func (c *loadCmd) report(_ context.Context, args []string) error {
	if len(args) != 1 {
		return cli.ExitError{Code: 2, Err: errors.New("load report: want one result file")}
	}
	res, err := load.ReadResultFile(args[0])
	if err != nil {
		return fmt.Errorf("load report: %w", err)
	}
	if err := c.rejudge("load report", res); err != nil {
		return err
	}
	return c.finish("load report", res)
}

// rejudge evaluates the --threshold flags, if any, on a saved result.
func (c *loadCmd) rejudge(cmd string, res *load.Result) error {
	var s load.Scenario
	if err := c.settings.Apply(&s, "threshold"); err != nil {
		return cli.ExitError{Code: 2, Err: fmt.Errorf("%s: %w", cmd, err)}
	}
	if len(s.Thresholds) > 0 {
		res.Thresholds, _ = s.Thresholds.Eval(res)
	}
	return nil
}

func (c *loadCmd) compare(_ context.Context, args []string) error {
	if len(args) != 2 {
		return cli.ExitError{Code: 2, Err: errors.New("load compare: want two result files")}
	}
	var r [2]*load.Result
	for i, path := range args {
		var err error
		if r[i], err = load.ReadResultFile(path); err != nil {
			return fmt.Errorf("load compare: %w", err)
		}
	}
	if err := c.out.WriteHTML(func(w io.Writer) error { return htmlreport.Compare(w, r[0], r[1], htmlreport.Options{}) }); err != nil {
		return fmt.Errorf("load compare: %w", err)
	}
	return report.Compare(c.stdout, r[0], r[1])
}

func (c *loadCmd) merge(_ context.Context, args []string) error {
	if len(args) == 0 {
		return cli.ExitError{Code: 2, Err: errors.New("load merge: want the shards' result files (or directories of them)")}
	}
	results, names, err := distribute.ReadResults(args)
	if err != nil {
		return fmt.Errorf("load merge: %w", err)
	}
	res, err := load.Merge(results, load.MergeOptions{Names: names})
	if err != nil {
		return fmt.Errorf("load %w", err)
	}
	if err := c.rejudge("load merge", res); err != nil {
		return err
	}
	return c.finish("load merge", res)
}

func (c *loadCmd) clock(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return cli.ExitError{Code: 2, Err: errors.New("load clock: want the address to listen on, such as 0.0.0.0:7070")}
	}
	if err := distribute.ServeClock(ctx, args[0], c.stderr); err != nil {
		return fmt.Errorf("load clock: %w", err)
	}
	return nil
}

func (c *loadCmd) postmanExport(context.Context, []string) error {
	paths, err := postman.WriteSurgeFiles(c.dir, itemsapi.OpenAPI)
	if err != nil {
		return fmt.Errorf("load postman-export: %w", err)
	}
	fmt.Fprintln(c.stdout, strings.Join(paths, "\n"))
	return nil
}
