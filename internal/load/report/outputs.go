package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/htmlreport"
)

// Exit codes of a reported result: IncompleteExit for a split run (or
// merge) with parts missing, whose figures cover only part of the plan;
// ThresholdExit for breached thresholds, the one k6 uses, so CI scripts
// written for it read it the same way.
const (
	IncompleteExit = 3
	ThresholdExit  = 99
)

// Outputs are where surge load and its report and merge commands put a
// result beside the text report: the JSON result file (--out), streamed
// as the run goes when the run was given Stream's options, and the HTML
// report (--html).
type Outputs struct {
	JSON, HTML string
	stream     *load.Stream
}

// Stream creates the JSON result file, if any, for a run to write as it
// goes, and returns the run's options that do so: a run that is killed
// leaves the file with every interval it finished. oneRun false (the
// options go to several runs, such as a knee search's steps) gives none:
// the result is then written at the end.
func (o *Outputs) Stream(oneRun bool) ([]load.Option, error) {
	if o.JSON == "" || !oneRun {
		return nil, nil
	}
	st, err := load.CreateStream(o.JSON)
	if err != nil {
		return nil, err
	}
	o.stream = st
	return []load.Option{load.WithStream(st)}, nil
}

// Close closes a stream that will get no result (the run failed).
func (o *Outputs) Close() error { return o.stream.Close() }

// Write prints the text report of res to w, then writes the JSON result
// (the stream's last record, when the run streamed) and the HTML report.
func (o *Outputs) Write(w io.Writer, res *load.Result) error {
	if err := Text(w, res); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	switch {
	case o.stream != nil:
		if err := o.stream.Finish(res); err != nil {
			return err
		}
	case o.JSON != "":
		if err := res.WriteFile(o.JSON); err != nil {
			return err
		}
	}
	return o.WriteHTML(func(w io.Writer) error { return htmlreport.Run(w, res, htmlreport.Options{}) })
}

// WriteHTML writes the HTML report that render draws to the HTML file,
// if one is named.
func (o *Outputs) WriteHTML(render func(io.Writer) error) error {
	if o.HTML == "" {
		return nil
	}
	return htmlreport.WriteFile(o.HTML, render)
}

// Exit returns the exit of a reported result: IncompleteExit for a merge
// with parts missing, ThresholdExit for breached thresholds, else nil.
func Exit(cmd string, res *load.Result) error {
	if m := res.Merged; m != nil && len(m.Missing) > 0 {
		return cli.ExitError{Code: IncompleteExit, Err: fmt.Errorf("%s: incomplete: %d of %d planned requests are in %d parts with no result (first: %s)",
			cmd, m.MissingRequests, res.Planned, len(m.Missing), m.Missing[0])}
	}
	if failed := res.Breached(); len(failed) > 0 {
		return cli.ExitError{Code: ThresholdExit, Err: fmt.Errorf("load: thresholds breached: %s", strings.Join(failed, ", "))}
	}
	return nil
}
