package distribute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/surgehq/surge/internal/load"
)

// Options are the settings of a split run, as `surge load` takes them.
type Options struct {
	// Shards is how many parts the plan is split into.
	Shards int `flag:"shards" help:"split the plan between this many generators, each sending every N-th request (with --on, --emit or --shard)"`
	// Shard, when 0 or more, runs only that shard here, from StartAt.
	Shard int `flag:"shard" help:"run only this shard of --shards here, from --start-at (what each Kubernetes pod runs)"`
	// On runs the shards on AWS Lambda: lambda://FUNCTION?region=R.
	On string `flag:"on" help:"run the shards on AWS Lambda: lambda://FUNCTION?region=R (deploy/aws/loadgen)"`
	// Emit writes a Kubernetes Indexed Job: k8s?image=&claim=&namespace=.
	Emit string `flag:"emit" help:"write a Kubernetes Indexed Job that runs the shards: k8s?image=IMAGE&claim=PVC&namespace=NS"`
	// StartAt is the shards' agreed start: RFC 3339, or +DURATION.
	StartAt string `flag:"start-at" help:"the shards' agreed start: an RFC 3339 time or +DURATION (default +20s on Lambda, +2m on Kubernetes)"`
	// Segment bounds the stretch of the plan one invocation runs.
	Segment time.Duration `flag:"segment" help:"with --on lambda: the longest stretch of the plan one invocation runs (0: as long as 15 minutes allow)"`
	// ClockURL is a `surge load clock` to measure this machine's clock
	// against, with Shard.
	ClockURL string `flag:"clock-url" help:"with --shard: measure this generator's clock against the one surge load clock serves there"`
}

// DefaultOptions are the options of a run that is not split.
func DefaultOptions() Options { return Options{Shard: -1} }

// Split reports whether o asks for a split run.
func (o Options) Split() bool { return o.Shards != 0 || o.Shard >= 0 || o.On != "" || o.Emit != "" }

// UsageError is a split run's settings that do not go together.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// RunLocal runs a scenario (or one part of it) here, as `surge load`
// does, with its progress display.
type RunLocal func(ctx context.Context, s load.Scenario, opts ...load.Option) (*load.Result, error)

// Run runs the split plan of s as o asks: its shards on Lambda (the merged
// result), a Kubernetes Job's manifest written to stdout (no result), or
// one shard here through local (its part's result). seed is the run's
// --seed (0: random). Progress lines go to stderr. Settings that do not go
// together are a UsageError.
func Run(ctx context.Context, s load.Scenario, o Options, seed uint64, local RunLocal, stdout, stderr io.Writer) (*load.Result, error) {
	usage := func(err error) error { return UsageError{err} }
	modes := 0
	for _, set := range []bool{o.On != "", o.Emit != "", o.Shard >= 0} {
		if set {
			modes++
		}
	}
	switch {
	case o.Shards < 1:
		return nil, usage(errors.New("--on, --emit and --shard need --shards N"))
	case modes != 1:
		return nil, usage(errors.New("--shards needs one of --on lambda://FUNCTION, --emit k8s or --shard K"))
	case o.Segment != 0 && o.On == "":
		return nil, usage(errors.New("--segment applies to --on lambda only (a pod or a machine runs the whole plan)"))
	case o.ClockURL != "" && o.Shard < 0:
		return nil, usage(errors.New("--clock-url applies to --shard"))
	}
	now := time.Now()
	sp := load.Split{Shards: o.Shards, Segment: o.Segment, Seed: seed, StartAt: now.Add(DefaultLead)}
	if o.Emit != "" {
		sp.StartAt = now.Add(DefaultK8sLead)
	}
	if o.StartAt != "" {
		var err error
		if sp.StartAt, err = ParseStart(o.StartAt, now); err != nil {
			return nil, usage(err)
		}
	} else if o.Shard >= 0 {
		return nil, usage(errors.New("--shard needs --start-at, the time every shard starts at"))
	}
	if sp.Seed == 0 {
		sp.Seed = rand.Uint64()
	}
	switch {
	case o.Emit != "":
		k, err := ParseK8s(o.Emit)
		if err == nil {
			err = k.Manifest(stdout, s, sp, now)
		}
		if err != nil {
			return nil, usage(err)
		}
		return nil, nil
	case o.Shard >= 0:
		return runShard(ctx, s, sp, o, local, stderr)
	}
	u, err := ParseLambdaURL(o.On)
	if err != nil {
		return nil, usage(err)
	}
	if sp.Segment == 0 {
		sp.Segment = DefaultSegment(&s, DefaultLead)
	}
	if err := CheckSegment(&s, sp.Segment, DefaultLead); err != nil {
		return nil, usage(err)
	}
	if _, err := sp.Parts(&s); err != nil {
		return nil, usage(err)
	}
	l, err := u.Driver(ctx)
	if err != nil {
		return nil, err
	}
	l.OnDone = func(o Outcome) {
		if o.Err != nil {
			fmt.Fprintf(stderr, "surge load: %s failed: %v\n", o.Part, o.Err)
			return
		}
		fmt.Fprintf(stderr, "surge load: %s done: %d of %d sent, clock %+.1fms\n", o.Part, o.Result.Sent, o.Result.Planned, o.Result.Part.Clock.OffsetMs)
	}
	fmt.Fprintf(stderr, "surge load: %d shards on lambda://%s from %s\n", sp.Shards, u.Function, sp.StartAt.UTC().Format(time.RFC3339Nano))
	outs, err := l.Run(ctx, s, sp)
	if err != nil {
		return nil, err
	}
	results, failures := Failures(outs)
	return load.Merge(results, load.MergeOptions{Failures: failures, Scenario: &s, Split: &sp})
}

// runShard runs one shard of the plan here, from the agreed start, after
// measuring this machine's clock against o.ClockURL if given.
func runShard(ctx context.Context, s load.Scenario, sp load.Split, o Options, local RunLocal, stderr io.Writer) (*load.Result, error) {
	parts, err := sp.Parts(&s)
	if err != nil || o.Shard >= len(parts) {
		return nil, UsageError{fmt.Errorf("shard %d of %d: %w", o.Shard, o.Shards, errors.Join(err, errors.New("no such shard")))}
	}
	var clock load.Clock
	if o.ClockURL != "" {
		if clock, err = load.MeasureClock(ctx, http.DefaultClient, o.ClockURL, time.Now); err != nil {
			fmt.Fprintf(stderr, "surge load: %v; the shard runs by its own clock\n", err)
		}
	}
	res, err := local(ctx, s, load.WithPart(parts[o.Shard]))
	if err != nil {
		return nil, err
	}
	res.Part.Clock = clock
	return res, nil
}

// ServeClock serves this machine's clock on addr until ctx is done, for
// shards that measure their offset against it (--clock-url).
func ServeClock(ctx context.Context, addr string, stderr io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "surge load clock: serving this machine's clock at http://%s\n", ln.Addr())
	srv := &http.Server{Handler: load.ClockHandler(time.Now), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
