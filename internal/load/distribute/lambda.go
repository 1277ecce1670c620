// Package distribute runs a split load plan (load.Split) on many
// generators and brings their results back for load.Merge: on AWS Lambda,
// invoking a generator function (cmd/loadgen) once per part, N at once,
// segment after segment; and on Kubernetes, as an Indexed Job whose
// manifest it writes (K8sJob), each pod running `surge load --shard`.
package distribute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/shard"
)

// MaxFunctionTime is Lambda's longest function timeout: a segment of the
// plan, with the wait for its start, its grace and its last request, must
// fit in it.
const MaxFunctionTime = 15 * time.Minute

// DefaultLead is how long before a segment's start its invocations go
// out: time for the instances to start cold and preseed their items.
const DefaultLead = 20 * time.Second

// finishMargin is the time a generator keeps after its last request to
// answer (shard.Handler's).
const finishMargin = 10 * time.Second

// DefaultSegment returns the longest segment that fits in a Lambda
// function's 15 minutes with the lead, the scenario's grace and request
// timeout, and room to answer, in whole minutes.
func DefaultSegment(s *load.Scenario, lead time.Duration) time.Duration {
	d := MaxFunctionTime - lead - s.Grace - s.Timeout - finishMargin - 20*time.Second
	return max(time.Minute, d.Truncate(time.Minute))
}

// CheckSegment says whether a segment fits in a Lambda function.
func CheckSegment(s *load.Scenario, segment, lead time.Duration) error {
	need := lead + segment + s.Grace + s.Timeout + finishMargin
	if need > MaxFunctionTime {
		return fmt.Errorf("segment %s: with %s of lead, %s of grace, a %s request timeout and %s to answer, a part needs %s, over Lambda's %s: shorten the segment (at most %s)",
			segment, lead, s.Grace, s.Timeout, finishMargin, need, MaxFunctionTime, DefaultSegment(s, lead))
	}
	return nil
}

// Invoker invokes a Lambda function: aws-sdk-go-v2's Lambda client.
type Invoker interface {
	Invoke(ctx context.Context, in *awslambda.InvokeInput, optFns ...func(*awslambda.Options)) (*awslambda.InvokeOutput, error)
}

// Lambda runs the parts of a split plan on a generator function.
type Lambda struct {
	// Function is the generator function's name or ARN, and Qualifier its
	// version or alias (empty: $LATEST).
	Function, Qualifier string
	// Client invokes it. It must not retry: a retried invocation would
	// send its part's load twice.
	Client Invoker
	// HTTP fetches results the generators stored in their results bucket,
	// by the presigned URLs they answer with (default a client that gives
	// up after 5 minutes).
	HTTP *http.Client
	// Lead is how long before a segment's start its invocations go out
	// (default DefaultLead); the first segment's go out at once.
	Lead time.Duration
	// Now is the coordinator's clock (default time.Now).
	Now func() time.Time
	// OnDone, when set, is called as each part ends, one call at a time.
	OnDone func(Outcome)
}

// Outcome is how one part fared: its result, or why there is none.
type Outcome struct {
	Part   load.Part
	Result *load.Result
	Err    error
}

// Run invokes the generator once per part of the plan that s and sp make,
// the N parts of a segment at once, each segment's Lead before its start
// (so that the next segment's generators wait for the plan's time while
// the last ones finish, and the plan has no gap), and returns how each
// part fared, in the order of sp.Parts. It measures each generator's
// clock against this one's from its invocation's times. It returns an
// error only when the plan cannot be split.
func (l *Lambda) Run(ctx context.Context, s load.Scenario, sp load.Split) ([]Outcome, error) {
	parts, err := sp.Parts(&s)
	if err != nil {
		return nil, err
	}
	now := l.Now
	if now == nil {
		now = time.Now
	}
	lead := l.Lead
	if lead <= 0 {
		lead = DefaultLead
	}
	out := make([]Outcome, len(parts))
	var wg sync.WaitGroup
	var mu sync.Mutex // one OnDone call at a time
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := Outcome{Part: p}
			if p.Segment > 0 {
				o.Err = sleepUntil(ctx, now, p.Split.StartAt.Add(p.From-lead))
			}
			if o.Err == nil {
				o.Result, o.Err = l.invoke(ctx, now, s, p)
			}
			out[i] = o
			if l.OnDone != nil {
				mu.Lock()
				l.OnDone(o)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// sleepUntil waits until the wall-clock time at, or ctx's end.
func sleepUntil(ctx context.Context, now func() time.Time, at time.Time) error {
	d := at.Sub(now())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("not invoked: %w", ctx.Err())
	}
}

// functionError is the payload of a failed invocation.
type functionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (l *Lambda) invoke(ctx context.Context, now func() time.Time, s load.Scenario, p load.Part) (*load.Result, error) {
	ev := shard.Event{Scenario: s, Part: p, SentAt: now()}
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	in := &awslambda.InvokeInput{FunctionName: aws.String(l.Function), Payload: payload}
	if l.Qualifier != "" {
		in.Qualifier = aws.String(l.Qualifier)
	}
	res, err := l.Client.Invoke(ctx, in)
	returned := now()
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", l.Function, err)
	}
	if res.FunctionError != nil {
		var fe functionError
		_ = json.Unmarshal(res.Payload, &fe)
		if fe.Type == "" && fe.Message == "" {
			fe.Message = clip(string(res.Payload))
		}
		return nil, fmt.Errorf("function error (%s): %s: %s", aws.ToString(res.FunctionError), fe.Type, fe.Message)
	}
	resp, r, err := shard.ParseResponse(res.Payload)
	if err != nil {
		return nil, err
	}
	if r == nil {
		hc := l.HTTP
		if hc == nil {
			hc = &http.Client{Timeout: 5 * time.Minute}
		}
		if r, err = shard.Fetch(ctx, hc, resp.Stored); err != nil {
			return nil, err
		}
	}
	if r.Part == nil || r.Part.PlanID != p.PlanID || r.Part.Shard != p.Shard || r.Part.Segment != p.Segment {
		return nil, errors.New("the generator answered with the result of another part")
	}
	r.Part.Clock = load.ClockSample{Sent: ev.SentAt, Received: resp.Received, Replied: resp.Replied, Returned: returned}.Clock(load.ClockViaInvoke)
	return r, nil
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// Failures returns the parts that have no result, and why, for
// load.Merge; and the results.
func Failures(outs []Outcome) ([]*load.Result, []load.Failure) {
	var rs []*load.Result
	var fs []load.Failure
	for _, o := range outs {
		if o.Result != nil {
			rs = append(rs, o.Result)
		} else {
			reason := "no result"
			if o.Err != nil {
				reason = o.Err.Error()
			}
			fs = append(fs, load.Failure{Part: o.Part, Reason: reason})
		}
	}
	return rs, fs
}

// LambdaURL is where --on lambda:// points: a function, and how to reach
// it.
type LambdaURL struct {
	Function  string
	Qualifier string
	Region    string
	// Endpoint is a Lambda Invoke API endpoint instead of AWS's (surge's
	// local Lambda).
	Endpoint string
}

// ParseLambdaURL reads lambda://FUNCTION?region=R&qualifier=Q&endpoint=URL.
func ParseLambdaURL(s string) (*LambdaURL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	if u.Scheme != "lambda" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%q: want lambda://FUNCTION?region=R", s)
	}
	q := u.Query()
	l := &LambdaURL{Function: u.Host, Qualifier: q.Get("qualifier"), Region: q.Get("region"), Endpoint: q.Get("endpoint")}
	for k := range q {
		switch k {
		case "qualifier", "region", "endpoint":
		default:
			return nil, fmt.Errorf("%q: unknown parameter %q (want region, qualifier, endpoint)", s, k)
		}
	}
	if e := l.Endpoint; e != "" {
		if eu, err := url.Parse(e); err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return nil, fmt.Errorf("%q: endpoint %q: want an http or https URL", s, e)
		}
	}
	return l, nil
}

// Driver returns the Lambda driver for the URL: aws-sdk-go-v2's Lambda
// client, never retrying, with the SDK's default configuration and
// credentials (the environment, the shared files, then the instance's
// role).
func (u *LambdaURL) Driver(ctx context.Context) (*Lambda, error) {
	var opts []func(*config.LoadOptions) error
	if u.Region != "" {
		opts = append(opts, config.WithRegion(u.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("lambda://%s: %w", u.Function, err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("lambda://%s: no region: add ?region=R or set AWS_REGION", u.Function)
	}
	client := awslambda.NewFromConfig(cfg, func(o *awslambda.Options) {
		if u.Endpoint != "" {
			o.BaseEndpoint = aws.String(u.Endpoint)
		}
		// A retried invocation would run its part twice.
		o.Retryer = aws.NopRetryer{}
	})
	return &Lambda{Function: u.Function, Qualifier: u.Qualifier, Client: client}, nil
}
