package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/lab"
	"github.com/surgehq/surge/internal/observe/logbuf"
)

// newLabCommand makes `surge lab`, the article's experiment end to end
// (internal/lab), and `surge lab report`, which redraws a saved result.
func newLabCommand(r *root) *ff.Command {
	cfg := lab.DefaultConfig()
	fs := ff.NewFlagSet("lab").SetParent(r.flags)
	if err := cli.Bind(fs, &cfg); err != nil {
		panic(err) // a mistake in lab.Config's tags, which every test would show
	}
	rep := &ff.Command{Name: "report", Usage: "surge lab report [--html FILE] [--markdown FILE] RESULT.json",
		ShortHelp: "redraw the reports of a saved lab result", Flags: ff.NewFlagSet("report").SetParent(fs),
		Exec: func(_ context.Context, args []string) error {
			if len(args) != 1 {
				return cli.ExitError{Code: 2, Err: errors.New("lab report: want one result file")}
			}
			return lab.Redraw(r.stdout, args[0], cfg.HTML, cfg.Markdown)
		}}
	return &ff.Command{Name: "lab", Usage: "surge lab [FLAGS]", Flags: fs, Subcommands: []*ff.Command{rep},
		ShortHelp: "run the article's experiment on this machine: two profiles, every phase, the findings (docs/LAB.md)",
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return cli.ExitError{Code: 2, Err: errors.New("lab takes no arguments")}
			}
			log, flush := logbuf.NewLogger(r.stderr, r.logFormat == "json", max(r.level(), slog.LevelWarn))
			defer flush()
			cfg.Progress, cfg.Log = r.stderr, log
			return lab.Main(ctx, cfg, r.stdout)
		}}
}
