package distribute_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/distribute"
	"github.com/surgehq/surge/internal/load/shard"
)

// inProcess invokes the generator's handler in this process, as Lambda
// would run it: the event and the answer go through JSON; fail names a
// shard whose invocation fails as a crashed instance's does.
type inProcess struct {
	h     *shard.Handler
	fail  int
	calls atomic.Int64
}

func (f *inProcess) Invoke(ctx context.Context, in *awslambda.InvokeInput, _ ...func(*awslambda.Options)) (*awslambda.InvokeOutput, error) {
	f.calls.Add(1)
	var ev shard.Event
	if err := json.Unmarshal(in.Payload, &ev); err != nil {
		return nil, err
	}
	if ev.Part.Shard == f.fail {
		return &awslambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: []byte(`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: 1 Error: signal: killed"}`)}, nil
	}
	resp, err := f.h.Handle(ctx, ev)
	if err != nil {
		b, _ := json.Marshal(map[string]string{"errorType": "errorString", "errorMessage": err.Error()})
		return &awslambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: b}, nil
	}
	b, err := json.Marshal(resp)
	return &awslambda.InvokeOutput{StatusCode: 200, Payload: b}, err
}

func countingTarget(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"a`+time.Now().Format("150405.000000000")+`"}`)
			return
		}
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestLambdaRunsEverySegment runs 2 shards in 2 segments; shard 1's
// invocations fail as a killed instance's do. Segment 1's invocations go
// out a lead before their start, while segment 0's still run.
func TestLambdaRunsEverySegment(t *testing.T) {
	srv, n := countingTarget(t)
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration, s.IDs.Preseed, s.Grace = srv.URL, 100, 2*time.Second, 0, 30*time.Second
	s.Payloads = load.Payloads{{Size: 64, Weight: 1}}
	sp := load.Split{Shards: 2, Segment: time.Second, StartAt: time.Now().Add(300 * time.Millisecond), Seed: 4}
	inv := &inProcess{h: &shard.Handler{}, fail: 1}
	var ended atomic.Int64
	l := &distribute.Lambda{Function: "loadgen", Client: inv, Lead: 500 * time.Millisecond, OnDone: func(distribute.Outcome) { ended.Add(1) }}
	outs, err := l.Run(context.Background(), s, sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 4 || inv.calls.Load() != 4 || ended.Load() != 4 {
		t.Fatalf("%d outcomes, %d invocations, %d ended; want 4", len(outs), inv.calls.Load(), ended.Load())
	}
	for _, o := range outs {
		switch o.Part.Shard {
		case 0:
			if o.Err != nil || o.Result.Sent != 50 || o.Result.Part.Clock.Via != load.ClockViaInvoke {
				t.Errorf("%s: %v %+v", o.Part, o.Err, o.Result)
			}
		case 1:
			if o.Err == nil || !strings.Contains(o.Err.Error(), "Runtime.ExitError: RequestId: 1 Error: signal: killed") {
				t.Errorf("%s: got %v", o.Part, o.Err)
			}
		}
	}
	results, failures := distribute.Failures(outs)
	m, err := load.Merge(results, load.MergeOptions{Failures: failures})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stop != load.StopIncomplete || m.Sent != 100 || n.Load() != 100 || m.Merged.MissingRequests != 100 || len(m.Merged.Missing) != 2 {
		t.Errorf("stop %q sent %d (target %d) missing %+v", m.Stop, m.Sent, n.Load(), m.Merged.Missing)
	}
	// The series runs over both segments, on the plan's time line.
	if last := m.Series[len(m.Series)-1]; last.T < 2 {
		t.Errorf("the merged series ends at %gs, before the second segment's end", last.T)
	}
}

// TestLambdaFetchesStoredResults: a result too large to answer with is
// fetched by the URL the generator answers with; one that cannot be read
// fails its part.
func TestLambdaFetchesStoredResults(t *testing.T) {
	srv, _ := countingTarget(t)
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration, s.IDs.Preseed, s.Grace = srv.URL, 20, 200*time.Millisecond, 0, 30*time.Second
	sp := load.Split{Shards: 2, StartAt: time.Now(), Seed: 4}
	objs := map[string][]byte{}
	var mu sync.Mutex
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		b, ok := objs[r.URL.Path]
		if !ok || strings.Contains(r.URL.Path, "shard-1") {
			http.Error(w, "AccessDenied", http.StatusForbidden)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(files.Close)
	st := storeFunc(func(key string, body []byte) (*shard.Stored, error) {
		mu.Lock()
		objs["/"+key] = body
		mu.Unlock()
		return &shard.Stored{Bucket: "b", Key: key, Size: int64(len(body)), URL: files.URL + "/" + key}, nil
	})
	l := &distribute.Lambda{Function: "loadgen", Client: &inProcess{h: &shard.Handler{Store: st, InlineMax: 100}, fail: -1}}
	outs, _ := l.Run(context.Background(), s, sp)
	if outs[0].Err != nil || outs[0].Result.Sent != 2 {
		t.Errorf("shard 0: %v %+v", outs[0].Err, outs[0].Result)
	}
	if outs[1].Err == nil || !strings.Contains(outs[1].Err.Error(), "status 403: AccessDenied") {
		t.Errorf("shard 1: got %v", outs[1].Err)
	}
}

type storeFunc func(key string, body []byte) (*shard.Stored, error)

func (f storeFunc) Put(_ context.Context, key string, body []byte) (*shard.Stored, error) {
	return f(key, body)
}

func TestParseLambdaURL(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want distribute.LambdaURL
		err  string
	}{
		{in: "lambda://loadgen?region=eu-west-1", want: distribute.LambdaURL{Function: "loadgen", Region: "eu-west-1"}},
		{in: "lambda://loadgen?region=eu-west-1&qualifier=live", want: distribute.LambdaURL{Function: "loadgen", Region: "eu-west-1", Qualifier: "live"}},
		{in: "lambda://loadgen?endpoint=http://127.0.0.1:9001", want: distribute.LambdaURL{Function: "loadgen", Endpoint: "http://127.0.0.1:9001"}},
		{in: "http://loadgen", err: "want lambda://FUNCTION"},
		{in: "lambda://", err: "want lambda://FUNCTION"},
		{in: "lambda://f/x", err: "want lambda://FUNCTION"},
		{in: "lambda://f?colour=red", err: `unknown parameter "colour"`},
		{in: "lambda://f?bucket=b", err: `unknown parameter "bucket"`},
		{in: "lambda://f?endpoint=127.0.0.1:9001", err: "want an http or https URL"},
	} {
		got, err := distribute.ParseLambdaURL(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: got %v, want %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || *got != tt.want):
			t.Errorf("%s: got %+v %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestSegmentFitsTheFunction(t *testing.T) {
	s := load.DefaultScenario() // grace 2s, timeout 10s
	d := distribute.DefaultSegment(&s, distribute.DefaultLead)
	// 15 minutes less the 20 s lead, 2 s of grace, 10 s of request
	// timeout, 10 s to answer and 20 s to spare, in whole minutes.
	if d != 13*time.Minute {
		t.Errorf("default segment %s, want 13m", d)
	}
	if err := distribute.CheckSegment(&s, d, distribute.DefaultLead); err != nil {
		t.Errorf("the default segment does not fit: %v", err)
	}
	err := distribute.CheckSegment(&s, 14*time.Minute+30*time.Second, distribute.DefaultLead)
	if err == nil || !strings.Contains(err.Error(), "over Lambda's 15m0s") {
		t.Errorf("got %v", err)
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	if got, err := distribute.ParseStart("+30s", now); err != nil || !got.Equal(time.Date(2026, 12, 1, 10, 0, 30, 123000000, time.UTC)) {
		t.Errorf("+30s: %s %v", got, err)
	}
	if got, err := distribute.ParseStart("2026-12-01T11:00:00+01:00", now); err != nil || !got.Equal(now.Truncate(time.Hour)) {
		t.Errorf("RFC 3339: %s %v", got, err)
	}
	for _, bad := range []string{"+-1s", "tomorrow", "+"} {
		if _, err := distribute.ParseStart(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
