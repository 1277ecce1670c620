package lambda_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/lambda"
)

// sinkLines is a LogSink that keeps every line, by instance.
type sinkLines struct {
	mu    sync.Mutex
	lines map[string][]string
	all   []string
}

func (s *sinkLines) Line(function, instance string, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines == nil {
		s.lines = map[string][]string{}
	}
	l := function + " | " + string(line)
	s.lines[instance] = append(s.lines[instance], l)
	s.all = append(s.all, l)
}

func (s *sinkLines) snapshot() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for k, v := range s.lines {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// waitLines waits until the sink holds n REPORT lines (10 s at most): the
// reader writes them after the invocation's answer.
func (s *sinkLines) waitReports(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		got := 0
		for _, l := range s.all {
			if strings.Contains(l, "| REPORT RequestId: ") {
				got++
			}
		}
		s.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d REPORT lines, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var reportRe = regexp.MustCompile(`^logs \| REPORT RequestId: (\S+)\tDuration: (\d+\.\d\d) ms\tBilled Duration: (\d+) ms\tMemory Size: 256 MB\tMax Memory Used: (\d+) MB\t(Init Duration: \d+\.\d\d ms\t)?$`)

// TestLogLines checks each invocation's log as Lambda writes it: START,
// everything the function printed for it (more than a pipe holds, so
// that the reader lags behind the answer), END and REPORT, in that order
// in the instance's stream, and the same in the Tail log.
func TestLogLines(t *testing.T) {
	sink := &sinkLines{}
	f := newFault(t, lambda.Config{Name: "logs", MemoryMB: 256, Logs: sink})
	const lines = 200 // 200 KB, three times a pipe's buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var results []*lambda.Result
	for i := range 3 {
		res, err := f.Invoke(ctx, event("/print", "n", fmt.Sprint(lines)), lambda.InvokeOptions{Tail: i == 2})
		if err != nil || res.FunctionError != "" {
			t.Fatalf("invoke: %v %s", err, res.Payload)
		}
		results = append(results, res)
	}
	sink.waitReports(t, 3)
	streams := sink.snapshot()
	if len(streams) != 1 {
		t.Fatalf("got %d streams, want one instance's", len(streams))
	}
	var stream []string
	for _, s := range streams {
		stream = s
	}
	// Drop the instance's own output at init, before the first START.
	for len(stream) > 0 && !strings.HasPrefix(stream[0], "logs | START ") {
		stream = stream[1:]
	}
	per := lines + 3
	if len(stream) != 3*per {
		t.Fatalf("got %d lines after the first START, want %d:\n%s", len(stream), 3*per, strings.Join(stream[:min(len(stream), 10)], "\n"))
	}
	for i, res := range results {
		got := stream[i*per : (i+1)*per]
		id := res.RequestID
		if got[0] != "logs | START RequestId: "+id+" Version: $LATEST" {
			t.Errorf("invocation %d: first line %q", i, got[0])
		}
		for j := 1; j <= lines; j++ {
			if !strings.HasPrefix(got[j], fmt.Sprintf("logs | line %d of %s ", j, id)) {
				t.Fatalf("invocation %d: line %d is %.80q, want the function's line %d", i, j, got[j], j)
			}
		}
		if got[lines+1] != "logs | END RequestId: "+id {
			t.Errorf("invocation %d: got %q, want END", i, got[lines+1])
		}
		m := reportRe.FindStringSubmatch(got[lines+2])
		if m == nil || m[1] != id {
			t.Fatalf("invocation %d: REPORT line %q", i, got[lines+2])
		}
		if cold := m[5] != ""; cold != res.Cold || cold != (i == 0) {
			t.Errorf("invocation %d: Init Duration in REPORT %v, cold %v", i, m[5] != "", res.Cold)
		}
		var billed int64
		fmt.Sscan(m[3], &billed)
		if want := res.BilledDuration().Milliseconds(); billed != want || billed < res.Duration.Milliseconds() {
			t.Errorf("invocation %d: Billed Duration %d ms, want %d (duration %v, init %v)", i, billed, want, res.Duration, res.InitDuration)
		}
		if res.MaxMemory <= 0 || m[4] != fmt.Sprint(res.MaxMemory>>20) {
			t.Errorf("invocation %d: Max Memory Used %s MB, result %d bytes", i, m[4], res.MaxMemory)
		}
	}
	// The Tail log ends with the function's last line, END and REPORT
	// (its start is cut to 4 KB, as Lambda's).
	tail := strings.Split(strings.TrimSuffix(string(results[2].Log), "\n"), "\n")
	n := len(tail)
	id := results[2].RequestID
	if n < 3 || !strings.HasPrefix(tail[n-3], fmt.Sprintf("line %d of %s", lines, id)) ||
		tail[n-2] != "END RequestId: "+id || !strings.HasPrefix(tail[n-1], "REPORT RequestId: "+id+"\t") {
		t.Errorf("Tail log ends\n%s", strings.Join(tail[max(0, n-3):], "\n"))
	}
}

// TestLogFailures checks the lines Lambda writes for a timeout and a crash
// before END and REPORT.
func TestLogFailures(t *testing.T) {
	sink := &sinkLines{}
	f := newFault(t, lambda.Config{Name: "logs", MemoryMB: 256, Timeout: time.Second, Logs: sink})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hang, err := f.Invoke(ctx, event("/hang"), lambda.InvokeOptions{})
	if err != nil || hang.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("hang: %v %+v", err, hang)
	}
	crash, err := f.Invoke(ctx, event("/crash"), lambda.InvokeOptions{})
	if err != nil || crash.ErrorType != "Runtime.ExitError" {
		t.Fatalf("crash: %v %+v", err, crash)
	}
	sink.waitReports(t, 2)
	all := strings.Join(sink.all, "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`logs \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ` + hang.RequestID + ` Task timed out after 1\.00 seconds\nlogs \| END RequestId: ` +
			hang.RequestID + `\nlogs \| REPORT RequestId: ` + hang.RequestID + `\t.*\tStatus: timeout`),
		regexp.MustCompile(`logs \| RequestId: ` + crash.RequestID + ` Error: Runtime exited with error: exit status 2\nlogs \| Runtime.ExitError\nlogs \| END RequestId: ` +
			crash.RequestID + `\nlogs \| REPORT RequestId: ` + crash.RequestID + `\t.*\tStatus: error\tError Type: Runtime.ExitError`),
	} {
		if !want.MatchString(all) {
			t.Errorf("the log has no match for %s:\n%s", want, all)
		}
	}
}

// TestConsoleLog checks the console's format: the function's name, then
// the line, one write a line.
func TestConsoleLog(t *testing.T) {
	var w countingWriter
	c := lambda.NewConsoleLog(&w)
	c.Line("create", "create-1", []byte("START RequestId: x Version: $LATEST"))
	c.Line("read", "read-2", []byte("hello"))
	if got := w.String(); got != "create | START RequestId: x Version: $LATEST\nread | hello\n" || w.writes != 2 {
		t.Errorf("got %q in %d writes", got, w.writes)
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(b []byte) (int, error) { w.writes++; return w.Buffer.Write(b) }

// TestIntegrationDefaults checks what API Gateway adds to a proxy
// response that names no Content-Type (application/json, where net/http
// would sniff text/plain), and a payload format 2.0 integration: the
// event's shape as the function sees it, and an answer that is not a
// response object taken as the body.
func TestIntegrationDefaults(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "defaults"})
	srv := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{}))
	code, h, body := get(t, srv.URL+"/bare")
	if code != 200 || h.Get("Content-Type") != "application/json" || string(body) != `{"bare":true}` {
		t.Errorf("v1 without Content-Type: got %d %q %s", code, h.Get("Content-Type"), body)
	}

	v2 := front(t, lambda.NewIntegration(f.Pool, lambda.IntegrationOptions{PayloadVersion: lambda.PayloadV2}))
	resp, err := http.Get(v2.URL + "/echo?a=1&a=2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The fault function reads a v1 event's fields: a v2 event has no
	// httpMethod, so it answers with its echo itself, which API Gateway
	// takes as the body of a 200.
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(b), `"pid":`) {
		t.Errorf("v2: got %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

// TestAccount checks the account's concurrency that pools share: two
// functions without reserved concurrency take from its unreserved part,
// which a third function's reservation shrinks; an invocation beyond it
// is throttled as Lambda throttles it (ConcurrentInvocationLimitExceeded),
// whichever function holds the instances.
func TestAccount(t *testing.T) {
	acct := lambda.NewAccount(3)
	reserved := newFault(t, lambda.Config{Name: "reserved", ReservedConcurrency: 1, Account: acct})
	a := newFault(t, lambda.Config{Name: "a", Account: acct})
	b := newFault(t, lambda.Config{Name: "b", Account: acct})
	if limit, busy := acct.Unreserved(); limit != 2 || busy != 0 {
		t.Fatalf("unreserved %d, busy %d; want 2, 0", limit, busy)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	hold := func(p *lambda.Pool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Invoke(ctx, event("/sleep", "ms", "3000"), lambda.InvokeOptions{})
		}()
	}
	hold(a.Pool)
	hold(b.Pool)
	waitFor(t, a.Pool, "a busy", func(s lambda.Stats) bool { return s.Busy == 1 })
	waitFor(t, b.Pool, "b busy", func(s lambda.Stats) bool { return s.Busy == 1 })
	if _, err := a.Invoke(ctx, event("/echo"), lambda.InvokeOptions{}); err == nil {
		t.Fatal("a third unreserved invocation ran")
	} else if reason, ok := isThrottle(err); !ok || reason != lambda.ReasonAccount {
		t.Fatalf("got %v, want a throttle for the account's limit", err)
	}
	// The reserved function has its own.
	if res := invoke(t, reserved.Pool, event("/echo")); res.FunctionError != "" {
		t.Fatalf("reserved: %s", res.Payload)
	}
	wg.Wait()
	if _, busy := acct.Unreserved(); busy != 0 {
		t.Errorf("%d units still held", busy)
	}
	if res := invoke(t, a.Pool, event("/echo")); res.FunctionError != "" {
		t.Errorf("after the others ended: %s", res.Payload)
	}
	// A reservation over what is left is refused.
	exe, _ := os.Executable()
	if _, err := lambda.New(lambda.Config{Name: "greedy", Command: []string{exe}, ReservedConcurrency: 3, Account: acct, Limits: lambda.LimitsOff}); err == nil {
		t.Error("a reservation over the account's unreserved concurrency was taken")
	}
}
