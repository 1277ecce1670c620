package lambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/lambda"
)

func TestColdStartThenWarm(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-cold", MemoryMB: 256, Timeout: 5 * time.Second, Env: []string{"EXTRA=1"}})
	before := time.Now()
	first := invoke(t, f.Pool, event("/echo"))
	e1 := echoOf(t, first)
	if !first.Cold || first.InitDuration <= 0 || first.Duration <= 0 || first.Provisioned {
		t.Errorf("first: got cold %v, init %v, duration %v, provisioned %v; want a cold start with its init measured",
			first.Cold, first.InitDuration, first.Duration, first.Provisioned)
	}
	second := invoke(t, f.Pool, event("/echo"))
	e2 := echoOf(t, second)
	if second.Cold || second.InitDuration != 0 || e2.PID != e1.PID {
		t.Errorf("second: got cold %v, init %v, pid %d (first %d); want the warm instance", second.Cold, second.InitDuration, e2.PID, e1.PID)
	}

	// The environment Lambda sets, and the Runtime API's headers.
	api := e1.Env["AWS_LAMBDA_RUNTIME_API"]
	if host, _, err := net.SplitHostPort(api); err != nil || host != "127.0.0.1" {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want a loopback address", api)
	}
	exe, _ := os.Executable()
	wantEnv := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "fn-cold", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_REGION": "us-east-1", "TZ": ":UTC", "EXTRA": "1",
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn-cold",
		"_HANDLER": strings.TrimSuffix(exe[strings.LastIndex(exe, "/")+1:], ""), "LAMBDA_TASK_ROOT": exe[:strings.LastIndex(exe, "/")]}
	for k, v := range wantEnv {
		if e1.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, e1.Env[k], v)
		}
	}
	if _, ok := e1.Env["HOME"]; ok {
		t.Error("the instance got surge's HOME; Lambda's environment has none")
	}
	if e1.RequestID != first.RequestID || e1.ARN != "arn:aws:lambda:us-east-1:000000000000:function:fn-cold" ||
		!strings.HasPrefix(e1.Trace, "Root=1-") {
		t.Errorf("got request id %q (result %q), ARN %q, trace %q", e1.RequestID, first.RequestID, e1.ARN, e1.Trace)
	}
	if d := time.UnixMilli(e1.Deadline).Sub(before); d < 4*time.Second || d > 6*time.Second+first.InitDuration {
		t.Errorf("deadline %v after the call, want about the 5 s timeout", d)
	}
	if s := f.Stats(); s.Idle != 1 || s.Busy != 0 || s.Starts != 1 || s.ColdStarts != 1 {
		t.Errorf("got stats %+v, want one idle instance started once", s)
	}
}

func TestConcurrencyCapIsExact(t *testing.T) {
	const n, k = 3, 2
	f := newFault(t, lambda.Config{Name: "fn-cap", ReservedConcurrency: n, Timeout: 10 * time.Second})
	var wg sync.WaitGroup
	start := make(chan struct{})
	type outcome struct {
		res     *lambda.Result
		err     error
		elapsed time.Duration
	}
	out := make(chan outcome, n+k)
	for i := 0; i < n+k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			res, err := f.Invoke(context.Background(), event("/sleep", "ms", "1500"), lambda.InvokeOptions{})
			out <- outcome{res, err, time.Since(t0)}
		}()
	}
	close(start)
	wg.Wait()
	close(out)
	served, throttled := 0, 0
	for o := range out {
		if reason, ok := isThrottle(o.err); ok {
			throttled++
			if reason != lambda.ReasonReserved {
				t.Errorf("got reason %s, want %s", reason, lambda.ReasonReserved)
			}
			// Served ones hold their instance 1.5 s: a throttle that took
			// less waited for none of them.
			if o.elapsed > 1200*time.Millisecond {
				t.Errorf("a throttle took %v; Lambda throttles at once", o.elapsed)
			}
			continue
		}
		if o.err != nil || o.res.FunctionError != "" {
			t.Fatalf("got %v %+v", o.err, o.res)
		}
		served++
	}
	if served != n || throttled != k {
		t.Errorf("got %d served and %d throttled, want exactly %d and %d", served, throttled, n, k)
	}
	if s := f.Stats(); s.Idle != n || s.Starts != n {
		t.Errorf("got stats %+v, want %d instances", s, n)
	}
}

func TestProvisionedAnswersWithoutColdStart(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-prov", Provisioned: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.WaitProvisioned(ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.Stats(); s.ProvisionedIdle != 2 || s.Idle != 2 {
		t.Fatalf("got stats %+v, want 2 provisioned instances idle", s)
	}
	// Two at once use the provisioned instances; a third spills over.
	var wg sync.WaitGroup
	results := make([]*lambda.Result, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = invoke(t, f.Pool, event("/sleep", "ms", "800"))
		}()
		if i == 1 {
			waitFor(t, f.Pool, "two busy", func(s lambda.Stats) bool { return s.Busy == 2 })
		}
	}
	wg.Wait()
	prov, cold := 0, 0
	for _, r := range results {
		e := echoOf(t, r)
		switch {
		case r.Provisioned && !r.Cold && e.Env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency":
			prov++
		case !r.Provisioned && r.Cold && e.Env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand":
			cold++
		default:
			t.Errorf("got provisioned %v, cold %v, %s", r.Provisioned, r.Cold, e.Env["AWS_LAMBDA_INITIALIZATION_TYPE"])
		}
	}
	if prov != 2 || cold != 1 {
		t.Errorf("got %d provisioned and %d cold answers, want 2 and 1", prov, cold)
	}
}

func TestIdleReclaim(t *testing.T) {
	c := newClock()
	f := newFault(t, lambda.Config{Name: "fn-idle", Provisioned: 1, IdleTimeout: 5 * time.Minute, Now: c.Now, TickEvery: -1})
	waitFor(t, f.Pool, "the provisioned instance", func(s lambda.Stats) bool { return s.ProvisionedIdle == 1 })
	// Two at once: the provisioned instance and an on-demand one.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); invoke(t, f.Pool, event("/sleep", "ms", "500")) }()
	}
	wg.Wait()
	waitFor(t, f.Pool, "both idle", func(s lambda.Stats) bool { return s.Idle == 2 })
	f.Tick(c.Advance(5*time.Minute - time.Second))
	if s := f.Stats(); s.Idle != 2 {
		t.Fatalf("got %+v before the idle timeout, want both instances", s)
	}
	f.Tick(c.Advance(time.Second))
	waitFor(t, f.Pool, "the on-demand instance reclaimed", func(s lambda.Stats) bool {
		return s.Idle == 1 && s.ProvisionedIdle == 1 && s.Initializing == 0
	})
	// The provisioned one stays through any idle period.
	f.Tick(c.Advance(time.Hour))
	if s := f.Stats(); s.ProvisionedIdle != 1 || s.Idle != 1 {
		t.Errorf("got %+v after an idle hour, want the provisioned instance", s)
	}
	if r := invoke(t, f.Pool, event("/echo")); r.Cold || !r.Provisioned {
		t.Errorf("after idling: got cold %v provisioned %v, want the provisioned instance warm", r.Cold, r.Provisioned)
	}
}

func TestScheduledProvisionedConcurrency(t *testing.T) {
	c := newClock() // Monday 07:00 UTC
	f := newFault(t, lambda.Config{Name: "fn-sched", Provisioned: 1, MaxProvisioned: 5, Now: c.Now, TickEvery: -1,
		Schedule: []lambda.ScheduledAction{
			{Schedule: "cron(0 8 ? * MON-FRI *)", Min: 3, Max: 5},
			{Schedule: "cron(0 19 ? * MON-FRI *)", Min: 1, Max: 1},
		}})
	waitFor(t, f.Pool, "1 provisioned", func(s lambda.Stats) bool { return s.ProvisionedReady == 1 })
	f.Tick(c.Advance(59 * time.Minute)) // 07:59
	if s := f.Stats(); s.Provisioned != 1 {
		t.Fatalf("at 07:59 got %+v, want 1", s)
	}
	f.Tick(c.Advance(time.Minute)) // 08:00: business hours
	waitFor(t, f.Pool, "3 provisioned at 08:00", func(s lambda.Stats) bool {
		return s.Provisioned == 3 && s.ProvisionedReady == 3 && s.ProvisionedMin == 3
	})
	f.Tick(c.Advance(11 * time.Hour)) // 19:00
	waitFor(t, f.Pool, "1 provisioned at 19:00", func(s lambda.Stats) bool {
		return s.Provisioned == 1 && s.ProvisionedReady == 1 && s.Initializing == 0 && s.Idle == 1
	})
}

func TestStartRateIsBounded(t *testing.T) {
	c := newClock()
	f := newFault(t, lambda.Config{Name: "fn-rate", StartRate: 1, StartBurst: 2, Now: c.Now, TickEvery: -1})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.Invoke(context.Background(), event("/sleep", "ms", "700"), lambda.InvokeOptions{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	throttled := 0
	for err := range errs {
		if reason, ok := isThrottle(err); ok && reason == lambda.ReasonRate {
			throttled++
		} else if err != nil {
			t.Errorf("got %v", err)
		}
	}
	if throttled != 1 {
		t.Errorf("got %d throttled by the start rate, want 1 (a burst of 2)", throttled)
	}
	// Two idle now: two at once run warm, a third needs a start, which the
	// bucket allows a second later.
	c.Advance(time.Second)
	var cold int
	var mu sync.Mutex
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := invoke(t, f.Pool, event("/sleep", "ms", "800")); r.Cold {
				mu.Lock()
				cold++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if cold != 1 {
		t.Errorf("got %d cold starts, want 1", cold)
	}
}

func TestCrashFailsOnlyItsInvocation(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-crash", Provisioned: 1})
	waitFor(t, f.Pool, "provisioned", func(s lambda.Stats) bool { return s.ProvisionedIdle == 1 })
	var wg sync.WaitGroup
	var crash, ok *lambda.Result
	wg.Add(2)
	go func() { defer wg.Done(); ok = invoke(t, f.Pool, event("/sleep", "ms", "600")) }()
	waitFor(t, f.Pool, "one busy", func(s lambda.Stats) bool { return s.Busy == 1 })
	go func() { defer wg.Done(); crash = invoke(t, f.Pool, event("/crash")) }()
	wg.Wait()
	echoOf(t, ok)
	typ, msg := errorOf(t, crash)
	if typ != "Runtime.ExitError" || !strings.Contains(msg, "Runtime exited with error: exit status 2") ||
		!strings.Contains(msg, crash.RequestID) {
		t.Errorf("crash: got %s %q", typ, msg)
	}
	// The provisioned instance that survived answers; a crashed
	// provisioned one would have been replaced.
	waitFor(t, f.Pool, "the crashed instance gone", func(s lambda.Stats) bool { return s.Busy == 0 && s.Idle == 1 })
	if r := invoke(t, f.Pool, event("/crash")); r.FunctionError == "" {
		t.Fatal("a second crash did not fail")
	}
	waitFor(t, f.Pool, "the provisioned instance replaced", func(s lambda.Stats) bool { return s.ProvisionedIdle == 1 })
	if r := invoke(t, f.Pool, event("/echo")); r.FunctionError != "" || !r.Provisioned {
		t.Errorf("after the crash: got %+v", r)
	}
}

func TestTimeoutEndsTheInstance(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-timeout", Timeout: 400 * time.Millisecond})
	first := echoOf(t, invoke(t, f.Pool, event("/echo")))
	t0 := time.Now()
	res := invoke(t, f.Pool, event("/hang"))
	took := time.Since(t0)
	typ, msg := errorOf(t, res)
	if typ != "Sandbox.Timedout" || !strings.Contains(msg, "Task timed out after 0.40 seconds") {
		t.Errorf("got %s %q", typ, msg)
	}
	if took < 400*time.Millisecond || took > 3*time.Second {
		t.Errorf("the timeout took %v, want about 400ms", took)
	}
	waitFor(t, f.Pool, "the stuck instance gone", func(s lambda.Stats) bool { return s.Busy == 0 && s.Idle == 0 })
	next := invoke(t, f.Pool, event("/echo"))
	if e := echoOf(t, next); !next.Cold || e.PID == first.PID {
		t.Errorf("after a timeout: got cold %v pid %d (stuck one %d), want a new instance", next.Cold, e.PID, first.PID)
	}
}

func TestInitErrors(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-init", InitTimeout: 2 * time.Second, Timeout: time.Second})
	t.Run("Reported", func(t *testing.T) {
		f.setInit(t, "fail")
		typ, msg := errorOf(t, invoke(t, f.Pool, event("/echo")))
		if typ != "Function.TestInitFailure" || msg != "the test asked init to fail" {
			t.Errorf("got %s %q", typ, msg)
		}
	})
	t.Run("Exit", func(t *testing.T) {
		f.setInit(t, "exit")
		res := invoke(t, f.Pool, event("/echo"))
		typ, msg := errorOf(t, res)
		if typ != "Runtime.ExitError" || !strings.Contains(msg, "exit status 3") || !res.Cold {
			t.Errorf("got %s %q cold %v", typ, msg, res.Cold)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		// Past InitTimeout the init is tried again within the invocation,
		// bounded by the function timeout, as Lambda does.
		f.setInit(t, "hang")
		before := f.Stats().Starts
		res := invoke(t, f.Pool, event("/echo"))
		typ, msg := errorOf(t, res)
		if typ != "Sandbox.Timedout" || !strings.Contains(msg, "Task timed out after 1.00 seconds") || !strings.Contains(msg, res.RequestID) {
			t.Errorf("got %s %q", typ, msg)
		}
		if starts := f.Stats().Starts - before; starts != 2 {
			t.Errorf("%d instances started, want the first and its retry", starts)
		}
	})
	t.Run("Recovered", func(t *testing.T) {
		f.setInit(t, "")
		waitFor(t, f.Pool, "no instance left", func(s lambda.Stats) bool { return s.Initializing+s.Idle+s.Busy == 0 })
		if r := invoke(t, f.Pool, event("/echo")); r.FunctionError != "" || !r.Cold {
			t.Errorf("got %+v", r)
		}
	})
}

func TestProvisionedInitErrorIsRetried(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-provfail", Provisioned: 1})
	f.setInit(t, "exit")
	// The first attempt may have started before the control file changed;
	// either way, a failure is retried until init succeeds. Wait for a
	// second start (the retry of a failed one) or a first that succeeded.
	waitFor(t, f.Pool, "a retried start", func(s lambda.Stats) bool { return s.Starts >= 2 || s.ProvisionedIdle == 1 })
	f.setInit(t, "")
	waitFor(t, f.Pool, "provisioned after retries", func(s lambda.Stats) bool { return s.ProvisionedIdle == 1 })
}

func TestFunctionErrorAndMalformedResponse(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-err"})
	typ, msg := errorOf(t, invoke(t, f.Pool, event("/error")))
	if typ != "errorString" || msg != "the test asked for a function error" {
		t.Errorf("got %s %q", typ, msg)
	}
	// The instance stays: a handled function error does not end it.
	if r := invoke(t, f.Pool, event("/echo")); r.Cold {
		t.Error("a function error ended its instance")
	}
	if r := invoke(t, f.Pool, event("/bad")); r.FunctionError != "" || string(r.Payload) != `"not a proxy response"` {
		t.Errorf("got %+v", r)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-close", Provisioned: 2})
	waitFor(t, f.Pool, "provisioned", func(s lambda.Stats) bool { return s.ProvisionedIdle == 2 })
	done := make(chan *lambda.Result, 1)
	go func() {
		res, _ := f.Invoke(context.Background(), event("/hang"), lambda.InvokeOptions{})
		done <- res
	}()
	waitFor(t, f.Pool, "busy", func(s lambda.Stats) bool { return s.Busy == 1 })
	f.Close()
	if res := <-done; res == nil || res.FunctionError == "" {
		t.Errorf("the invocation in flight at close: got %+v, want a function error", res)
	}
	if _, err := f.Invoke(context.Background(), event("/echo"), lambda.InvokeOptions{}); err != lambda.ErrClosed {
		t.Errorf("after close: got %v, want ErrClosed", err)
	}
	if s := f.Stats(); s.Idle+s.Busy+s.Initializing != 0 {
		t.Errorf("after close: got %+v", s)
	}
	f.Close() // twice is fine
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []lambda.Config{
		{Name: "bad name"},
		{MemoryMB: 64},
		{MemoryMB: 20000},
		{Timeout: 16 * time.Minute},
		{ReservedConcurrency: 5, Provisioned: 6},
		{ConcurrencyLimit: 10, ReservedConcurrency: 11},
		{Schedule: []lambda.ScheduledAction{{Schedule: "cron(0 8 * * MON-FRI *)"}}},
		{Schedule: []lambda.ScheduledAction{{Schedule: "at(2026-01-01)"}}},
		{TargetUtilization: 1.5},
		{Limits: "strict"},
	} {
		c.Command = []string{"/bin/true"}
		if _, err := lambda.New(c); err == nil {
			t.Errorf("%+v: got no error", c)
		}
	}
	if _, err := lambda.New(lambda.Config{}); err == nil || !strings.Contains(err.Error(), "command") {
		t.Errorf("no command: got %v", err)
	}
}

// jsonField reads one field of a JSON object.
func jsonField(t testing.TB, b []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	switch v := m[name].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(m[name])
}

// TestBusySeconds holds the pool's busy integral to Little's law: over
// invocations on warm instances, the instance-time held lies between the
// invocations' Durations and their callers' wall times, summed.
func TestBusySeconds(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "busy", ReservedConcurrency: 2})
	var wg sync.WaitGroup
	for range 2 { // two warm instances
		wg.Add(1)
		go func() { defer wg.Done(); invoke(t, f.Pool, event("/sleep", "ms", "50")) }()
	}
	wg.Wait()
	before := f.Stats().BusySeconds
	var mu sync.Mutex
	var durations, walls time.Duration
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				t0 := time.Now()
				r := invoke(t, f.Pool, event("/sleep", "ms", "80"))
				wall := time.Since(t0)
				mu.Lock()
				durations, walls = durations+r.Duration, walls+wall
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s := f.Stats()
	busy := time.Duration((s.BusySeconds - before) * float64(time.Second))
	if busy < durations || busy > walls {
		t.Errorf("busy %v over 10 invocations, want between their Durations %v and their wall times %v", busy, durations, walls)
	}
	if s.Busy != 0 {
		t.Errorf("%d busy after the invocations", s.Busy)
	}
	// Idle instances add nothing.
	time.Sleep(50 * time.Millisecond)
	if after := f.Stats().BusySeconds; after != s.BusySeconds {
		t.Errorf("busy seconds grew from %v to %v with no invocation", s.BusySeconds, after)
	}
}
