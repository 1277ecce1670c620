package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/report"
)

func init() { addCommand(newLoadCommand) }

// thresholdExit is the exit code of a run whose thresholds were breached,
// the one k6 uses, so CI scripts written for it read it the same way.
const thresholdExit = 99

// loadConfig holds the flags of `surge load`. Each flag overrides the
// scenario file's value only when it is given (on the command line or in
// the environment), so a file and flags compose.
type loadConfig struct {
	*root
	fs *ff.FlagSet

	scenarioFile string
	out          string
	progress     string
	every        time.Duration
	seed         uint64

	target, model, preset, stages, client   string
	rate, startRate                         float64
	vus                                     int
	duration, think                         time.Duration
	requests                                int64
	maxInFlight                             int
	timeout, lateAfter, maxLag, grace       time.Duration
	http2, insecure                         bool
	headers, thresholds                     []string
	mix, opsMix, payloads                   string
	ids                                     string
	zipfS                                   float64
	preseed, poolSize, batchSize            int
	basePath, items, idFrom, idPath, body   string
	patch, listQuery, opsTable, errorStatus string
}

func newLoadCommand(r *root) *ff.Command {
	c := &loadConfig{root: r}
	d := load.DefaultScenario()
	fs := ff.NewFlagSet("load").SetParent(r.flags)
	c.fs = fs
	fs.StringVar(&c.scenarioFile, 0, "scenario", "", "YAML scenario file; flags override its values")
	fs.StringVar(&c.out, 0, "out", "", "write the result as JSON to this file (redraw it with surge load report)")
	fs.StringEnumVar(&c.progress, 0, "progress", "live progress on stderr: auto (a status line on a terminal, plain lines otherwise), tty, plain or none", "auto", "tty", "plain", "none")
	fs.DurationVar(&c.every, 0, "progress-every", 10*time.Second, "interval of the plain progress lines")
	fs.Uint64Var(&c.seed, 0, "seed", 0, "seed of the random choices, for a reproducible run (0: random)")

	fs.StringVar(&c.target, 0, "target", d.Target, "base URL of the service under test (also the first argument)")
	fs.StringEnumVar(&c.model, 0, "model", "open (arrival rate, the default) or closed (virtual users, like wrk)", load.ModelOpen, load.ModelClosed)
	fs.StringEnumVar(&c.preset, 0, "preset", "shape of load: sustain, ramp (0 to peak), spike (to 3x and back) or seed (ramp, hold, spike to 3x, recover)", load.Presets...)
	fs.Float64Var(&c.rate, 0, "rate", d.Rate, "peak rate, requests per second (open model)")
	fs.IntVar(&c.vus, 0, "vus", d.VUs, "peak virtual users (closed model)")
	fs.DurationVar(&c.duration, 'd', "duration", d.Duration, "length of the preset (0 with --requests: as long as they take)")
	fs.StringVar(&c.stages, 0, "stages", "", "stages instead of a preset: DURATION:TARGET,... ramped linearly, such as 30s:100,1m:100,10s:300")
	fs.Float64Var(&c.startRate, 0, "start-rate", d.StartRate, "rate (or users) the stages start from")
	fs.Int64Var(&c.requests, 'n', "requests", d.Requests, "stop after this many requests (0: no limit)")
	fs.DurationVar(&c.think, 0, "think", d.Think, "closed model: pause between a user's response and its next request")
	fs.IntVar(&c.maxInFlight, 'c', "max-inflight", d.MaxInFlight, "open model: most requests (and connections) outstanding; a request due while all are busy goes out late")
	fs.DurationVar(&c.timeout, 0, "timeout", d.Timeout, "bound on each request")
	fs.DurationVar(&c.lateAfter, 0, "late-after", d.LateAfter, "a request sent more than this after its intended time counts as late")
	fs.DurationVar(&c.maxLag, 0, "max-lag", d.MaxLag, "drop (and count) a request that cannot be sent within this of its intended time (0: send it late)")
	fs.DurationVar(&c.grace, 0, "grace", d.Grace, "how long after the plan requests still waiting for a slot may go out; the rest are dropped")
	fs.StringEnumVar(&c.client, 0, "client", "HTTP client: fasthttp (HTTP/1.1, fastest) or nethttp (also HTTP/2)", load.ClientFast, load.ClientStd)
	fs.BoolVar(&c.http2, 0, "http2", "speak HTTP/2 (h2c on http:// targets); implies --client nethttp")
	fs.BoolVar(&c.insecure, 0, "insecure", "skip TLS certificate verification")
	fs.StringListVar(&c.headers, 'H', "header", "header sent with every request, 'Name: value' (repeatable)")
	fs.StringListVar(&c.thresholds, 0, "threshold", "pass/fail criterion such as 'read.p99<50ms' or 'errors<1%' (repeatable, or comma-separated); a breach exits 99")

	fs.StringVar(&c.mix, 0, "mix", "", "operation weights, such as read=5,create=1,update=1 (create read update patch delete list batch ops)")
	fs.StringVar(&c.opsMix, 0, "ops-mix", "", "weights of the /ops dispatcher's operations (create read update delete list echo ping)")
	fs.StringVar(&c.payloads, 0, "payloads", "", "body size classes with weights, such as 256B=70,4KB=25,64KB=5")
	fs.StringEnumVar(&c.ids, 0, "ids", "how operations pick existing items: uniform or zipf (hot keys)", load.DistUniform, load.DistZipf)
	fs.Float64Var(&c.zipfS, 0, "zipf-s", d.IDs.ZipfS, "zipf exponent (> 1; larger is hotter)")
	fs.IntVar(&c.preseed, 0, "preseed", d.IDs.Preseed, "items to create before measuring")
	fs.IntVar(&c.poolSize, 0, "pool-size", d.IDs.PoolSize, "most item ids remembered for reads, updates and deletes")
	fs.StringVar(&c.basePath, 0, "base-path", d.API.BasePath, "path prefix of every request, such as an API Gateway stage /prod")
	fs.StringVar(&c.items, 0, "items-path", d.API.Items, "collection path; an item is at <items-path>/<id>")
	fs.StringEnumVar(&c.idFrom, 0, "id-from", "where a create response has the id: json (at --id-path) or location (the Location header)", load.IDFromJSON, load.IDFromLocation)
	fs.StringVar(&c.idPath, 0, "id-path", d.API.IDPath, "dotted path of the id in a create response, such as id or data.id")
	fs.StringVar(&c.body, 0, "body", d.API.Body, "create and update body template: {{name}}, {{n}} and {{data}} (padding to the size class)")
	fs.StringVar(&c.patch, 0, "patch-body", d.API.Patch, "patch body template")
	fs.StringVar(&c.listQuery, 0, "list-query", d.API.ListQuery, "query string of list requests")
	fs.IntVar(&c.batchSize, 0, "batch-size", d.API.BatchSize, "operations in a batch request")
	fs.StringVar(&c.opsTable, 0, "ops-table", d.API.OpsTable, "tableName sent to the /ops dispatcher (empty: none)")
	fs.StringVar(&c.errorStatus, 0, "error-status", strconv.Itoa(d.API.ErrorStatus), "lowest HTTP status counted as an error")

	reportCmd := &ff.Command{
		Name:      "report",
		Usage:     "surge load report [--threshold T ...] RESULT.json",
		ShortHelp: "redraw the report of a saved result, optionally against new thresholds",
		Flags:     ff.NewFlagSet("report").SetParent(fs),
		Exec:      func(ctx context.Context, args []string) error { return c.report(args) },
	}
	compareCmd := &ff.Command{
		Name:      "compare",
		Usage:     "surge load compare A.json B.json",
		ShortHelp: "compare two saved results (a baseline and a change)",
		Flags:     ff.NewFlagSet("compare").SetParent(fs),
		Exec:      func(ctx context.Context, args []string) error { return c.compare(args) },
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
			"exits with status 99.",
		Flags:       fs,
		Subcommands: []*ff.Command{reportCmd, compareCmd},
		Exec:        c.run,
	}
}

// scenario builds the run's scenario: the defaults, the file, then every
// flag that was given.
func (c *loadConfig) scenario(args []string) (load.Scenario, error) {
	s := load.DefaultScenario()
	if c.scenarioFile != "" {
		f, err := os.Open(c.scenarioFile)
		if err != nil {
			return s, fmt.Errorf("scenario: %w", err)
		}
		s, err = load.DecodeScenario(f)
		f.Close()
		if err != nil {
			return s, fmt.Errorf("scenario %s: %w", c.scenarioFile, err)
		}
	}
	set := func(name string) bool {
		f, ok := c.fs.GetFlag(name)
		return ok && f.IsSet()
	}
	var errs []error
	if len(args) > 1 {
		errs = append(errs, fmt.Errorf("want at most one argument, the target URL; got %q", args))
	}
	if len(args) == 1 {
		s.Target = args[0]
	}
	if set("target") {
		if len(args) == 1 && args[0] != c.target {
			errs = append(errs, errors.New("the target is given twice, as --target and as an argument"))
		}
		s.Target = c.target
	}
	if set("model") {
		s.Model = c.model
	}
	if set("preset") {
		s.Preset = c.preset
		s.Stages = nil
	}
	if set("rate") {
		s.Rate = c.rate
	}
	if set("vus") {
		s.VUs = c.vus
	}
	if set("duration") {
		s.Duration = c.duration
	}
	if set("requests") {
		s.Requests = c.requests
		if !set("duration") && c.scenarioFile == "" {
			s.Duration = 0 // a count alone bounds the run
		}
	}
	if set("stages") {
		st, err := parseStages(c.stages)
		if err != nil {
			errs = append(errs, err)
		}
		s.Stages = st
	}
	if set("start-rate") {
		s.StartRate = c.startRate
	}
	if set("think") {
		s.Think = c.think
	}
	if set("max-inflight") {
		s.MaxInFlight = c.maxInFlight
	}
	if set("timeout") {
		s.Timeout = c.timeout
	}
	if set("late-after") {
		s.LateAfter = c.lateAfter
	}
	if set("max-lag") {
		s.MaxLag = c.maxLag
	}
	if set("grace") {
		s.Grace = c.grace
	}
	if set("client") {
		s.Client = c.client
	}
	if set("http2") {
		s.HTTP2 = c.http2
		if c.http2 && !set("client") {
			s.Client = load.ClientStd
		}
	}
	if set("insecure") {
		s.Insecure = c.insecure
	}
	for _, h := range c.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			errs = append(errs, fmt.Errorf("header %q: want 'Name: value'", h))
			continue
		}
		if s.Headers == nil {
			s.Headers = map[string]string{}
		}
		s.Headers[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	for _, t := range c.thresholds {
		// Thresholds never hold a comma, so a list in one environment
		// variable splits safely.
		for _, p := range strings.Split(t, ",") {
			if p = strings.TrimSpace(p); p != "" {
				s.Thresholds = append(s.Thresholds, p)
			}
		}
	}
	if set("mix") {
		m, err := parseWeights("mix", c.mix)
		errs = appendErr(errs, err)
		s.Mix = m
	}
	if set("ops-mix") {
		m, err := parseWeights("ops-mix", c.opsMix)
		errs = appendErr(errs, err)
		s.API.OpsMix = m
	}
	if set("payloads") {
		p, err := parsePayloads(c.payloads)
		errs = appendErr(errs, err)
		s.Payloads = p
	}
	if set("ids") {
		s.IDs.Distribution = c.ids
	}
	if set("zipf-s") {
		s.IDs.ZipfS = c.zipfS
	}
	if set("preseed") {
		s.IDs.Preseed = c.preseed
	}
	if set("pool-size") {
		s.IDs.PoolSize = c.poolSize
	}
	if set("base-path") {
		s.API.BasePath = c.basePath
	}
	if set("items-path") {
		s.API.Items = c.items
		s.API.Batch = strings.TrimSuffix(c.items, "/") + "/_batch"
	}
	if set("id-from") {
		s.API.IDFrom = c.idFrom
	}
	if set("id-path") {
		s.API.IDPath = c.idPath
	}
	if set("body") {
		s.API.Body = c.body
	}
	if set("patch-body") {
		s.API.Patch = c.patch
	}
	if set("list-query") {
		s.API.ListQuery = c.listQuery
	}
	if set("batch-size") {
		s.API.BatchSize = c.batchSize
	}
	if set("ops-table") {
		s.API.OpsTable = c.opsTable
	}
	if set("error-status") {
		n, err := strconv.Atoi(c.errorStatus)
		if err != nil {
			errs = append(errs, fmt.Errorf("error-status %q: %w", c.errorStatus, err))
		}
		s.API.ErrorStatus = n
	}
	errs = append(errs, s.Validate()...)
	if len(errs) > 0 {
		return s, errors.Join(errs...)
	}
	return s, nil
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

func (c *loadConfig) run(ctx context.Context, args []string) error {
	s, err := c.scenario(args)
	if err != nil {
		return exitCode{code: 2, err: fmt.Errorf("load: %w", err)}
	}
	var opts []load.Option
	if c.seed != 0 {
		opts = append(opts, load.WithSeed(c.seed))
	}
	var live *report.Live
	switch c.progress {
	case "auto":
		live = report.NewLive(c.stderr, isTerminal(c.stderr), c.every)
	case "tty":
		live = report.NewLive(c.stderr, true, c.every)
	case "plain":
		live = report.NewLive(c.stderr, false, c.every)
	}
	if live != nil {
		opts = append(opts, load.WithProgress(live.Update))
	}
	res, err := load.Run(ctx, s, opts...)
	if live != nil {
		live.Done()
	}
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if err := report.Text(c.stdout, res); err != nil {
		return fmt.Errorf("load: report: %w", err)
	}
	if c.out != "" {
		if err := writeResult(c.out, res); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return thresholdError(res.Thresholds)
}

func thresholdError(ts []load.ThresholdResult) error {
	var failed []string
	for _, t := range ts {
		if !t.Pass {
			failed = append(failed, t.Threshold)
		}
	}
	if len(failed) > 0 {
		return exitCode{code: thresholdExit, err: fmt.Errorf("load: thresholds breached: %s", strings.Join(failed, ", "))}
	}
	return nil
}

func writeResult(path string, res *load.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := res.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

func readResult(path string) (*load.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := load.ReadResult(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

func (c *loadConfig) report(args []string) error {
	if len(args) != 1 {
		return exitCode{code: 2, err: errors.New("load report: want one result file")}
	}
	res, err := readResult(args[0])
	if err != nil {
		return fmt.Errorf("load report: %w", err)
	}
	if len(c.thresholds) > 0 {
		var ts []string
		for _, t := range c.thresholds {
			ts = append(ts, strings.Split(t, ",")...)
		}
		res.Thresholds, _, err = load.EvalThresholds(res, ts)
		if err != nil {
			return exitCode{code: 2, err: fmt.Errorf("load report: %w", err)}
		}
	}
	if err := report.Text(c.stdout, res); err != nil {
		return fmt.Errorf("load report: %w", err)
	}
	return thresholdError(res.Thresholds)
}

func (c *loadConfig) compare(args []string) error {
	if len(args) != 2 {
		return exitCode{code: 2, err: errors.New("load compare: want two result files")}
	}
	a, err := readResult(args[0])
	if err != nil {
		return fmt.Errorf("load compare: %w", err)
	}
	b, err := readResult(args[1])
	if err != nil {
		return fmt.Errorf("load compare: %w", err)
	}
	return report.Compare(c.stdout, a, b)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// parseStages reads "30s:100,1m:100,10s:300".
func parseStages(s string) ([]load.Stage, error) {
	var out []load.Stage
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ds, ts, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("stages: %q: want DURATION:TARGET", part)
		}
		d, err := time.ParseDuration(strings.TrimSpace(ds))
		if err != nil {
			return nil, fmt.Errorf("stages: %q: %w", part, err)
		}
		t, err := strconv.ParseFloat(strings.TrimSpace(ts), 64)
		if err != nil {
			return nil, fmt.Errorf("stages: %q: %w", part, err)
		}
		out = append(out, load.Stage{Duration: d, Target: t})
	}
	if len(out) == 0 {
		return nil, errors.New("stages: none given")
	}
	return out, nil
}

// parseWeights reads "read=5,create=1".
func parseWeights(field, s string) (map[string]float64, error) {
	m := map[string]float64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q: want NAME=WEIGHT", field, part)
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", field, part, err)
		}
		m[strings.TrimSpace(k)] = w
	}
	return m, nil
}

// parsePayloads reads "256B=70,4KB=25,64KB=5"; a size without a weight
// weighs 1.
func parsePayloads(s string) ([]load.PayloadClass, error) {
	var out []load.PayloadClass
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		size, weight, hasWeight := strings.Cut(part, "=")
		b, err := load.ParseByteSize(size)
		if err != nil {
			return nil, fmt.Errorf("payloads: %w", err)
		}
		w := 1.0
		if hasWeight {
			if w, err = strconv.ParseFloat(strings.TrimSpace(weight), 64); err != nil {
				return nil, fmt.Errorf("payloads: %q: %w", part, err)
			}
		}
		out = append(out, load.PayloadClass{Size: b, Weight: w})
	}
	return out, nil
}
