package runtimes_test

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
)

// runtimeCase is a function of one runtime for the tests: its handler
// answers by the event's "op" (testdata/python/app.py, testdata/node/index.js).
type runtimeCase struct {
	name      string
	runtime   string
	dir       string
	handler   string
	errorKeys []string // the members of its handler errors, in order
	errorType string   // the type of the "fail" op's error
	// init errors: a missing module and a missing function, as Lambda
	// reports them.
	missingModule, missingHandler [3]string // handler, errorType, message prefix
	logLine                       func(id string) *regexp.Regexp
}

var cases = []runtimeCase{
	{
		name: "python", runtime: "python3.12", dir: "testdata/python", handler: "app.handler",
		errorKeys: []string{"errorMessage", "errorType", "requestId", "stackTrace"}, errorType: "ValueError",
		missingModule:  [3]string{"nope.handler", "Runtime.ImportModuleError", "Unable to import module 'nope': No module named 'nope'"},
		missingHandler: [3]string{"app.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'app'"},
		logLine: func(id string) *regexp.Regexp {
			return regexp.MustCompile(`(?m)^\[INFO\]\t\d{4}-\d\d-\d\dT[\d:.]+Z\t` + regexp.QuoteMeta(id) + `\tinfo line 7$`)
		},
	},
	{
		name: "node", runtime: "nodejs20.x", dir: "testdata/node", handler: "index.handler",
		errorKeys: []string{"errorType", "errorMessage", "trace"}, errorType: "Error",
		missingModule:  [3]string{"nope.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'nope'"},
		missingHandler: [3]string{"index.missing", "Runtime.HandlerNotFound", "index.missing is undefined or not exported"},
		logLine: func(id string) *regexp.Regexp {
			return regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT[\d:.]+Z\t` + regexp.QuoteMeta(id) + `\tINFO\techo 7$`)
		},
	},
}

// echoAnswer is what the test functions answer.
type echoAnswer struct {
	PID          int
	RequestID    string
	FunctionName string
	Memory       string
	Remaining    int
	ARN          string
	Env          map[string]*string
	Cwd          string
}

func (c runtimeCase) launch(t testing.TB, handler string) *runtimes.Launch {
	t.Helper()
	if handler == "" {
		handler = c.handler
	}
	return resolve(t, runtimes.Function{Runtime: c.runtime, Handler: handler, CodeDir: c.dir}, runtimes.Options{})
}

// TestAnswerEnvironmentAndLogs runs each runtime's function in a pool:
// its answer, the context and environment Lambda gives it, a cold start
// then a warm invocation on the same process, and its log lines, each
// with its invocation.
func TestAnswerEnvironmentAndLogs(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := c.launch(t, "")
			p, logs := startPool(t, l, lambda.Config{Name: "echo-" + c.name, MemoryMB: 256, Timeout: 20 * time.Second,
				// The function's own: FUNCTION_OWN is its; _HANDLER is Lambda's.
				Env: []string{"FUNCTION_OWN=yes", "_HANDLER=not.mine", "TZ=Europe/Amsterdam"}})
			cold := invoke(t, p, map[string]any{"op": "echo", "n": 7}, lambda.InvokeOptions{Tail: true})
			var a echoAnswer
			answer(t, cold, &a)
			if !cold.Cold || cold.InitDuration <= 0 {
				t.Errorf("first invocation: got Cold %v, Init Duration %v; want a cold start", cold.Cold, cold.InitDuration)
			}
			dir, _ := filepath.Abs(c.dir)
			env := func(k string) string {
				if v := a.Env[k]; v != nil {
					return *v
				}
				return "<unset>"
			}
			checks := []struct{ what, got, want string }{
				{"request id", a.RequestID, cold.RequestID},
				{"function name", a.FunctionName, "echo-" + c.name},
				{"memory", a.Memory, "256"},
				{"ARN", a.ARN, "arn:aws:lambda:us-east-1:000000000000:function:echo-" + c.name},
				{"cwd", a.Cwd, dir},
				{"_HANDLER", env("_HANDLER"), c.handler},
				{"AWS_EXECUTION_ENV", env("AWS_EXECUTION_ENV"), "AWS_Lambda_" + c.runtime},
				{"LAMBDA_TASK_ROOT", env("LAMBDA_TASK_ROOT"), dir},
				{"LAMBDA_RUNTIME_DIR", env("LAMBDA_RUNTIME_DIR"), filepath.Dir(l.Command[len(l.Command)-1])},
				{"LANG", env("LANG"), "en_US.UTF-8"},
				{"TZ", env("TZ"), "Europe/Amsterdam"},
				{"FUNCTION_OWN", env("FUNCTION_OWN"), "yes"},
				{"AWS_LAMBDA_FUNCTION_NAME", env("AWS_LAMBDA_FUNCTION_NAME"), "echo-" + c.name},
			}
			if c.name == "python" {
				checks = append(checks, struct{ what, got, want string }{"PYTHONPATH", env("PYTHONPATH"), env("LAMBDA_RUNTIME_DIR")})
			} else {
				checks = append(checks, struct{ what, got, want string }{"NODE_PATH", env("NODE_PATH"),
					env("LAMBDA_RUNTIME_DIR") + "/node_modules:" + env("LAMBDA_RUNTIME_DIR") + ":" + dir})
			}
			for _, ck := range checks {
				if ck.got != ck.want {
					t.Errorf("%s: got %q, want %q", ck.what, ck.got, ck.want)
				}
			}
			if a.Remaining <= 0 || a.Remaining > 20000 {
				t.Errorf("remaining time: got %d ms, want some of the 20 s timeout", a.Remaining)
			}
			if !strings.HasPrefix(env("PATH"), filepath.Dir(l.Interpreter)+":") {
				t.Errorf("PATH: got %q, want the interpreter's directory %s first", env("PATH"), filepath.Dir(l.Interpreter))
			}

			// The pool's lines in the invocation's log, and the function's
			// own, a line at a time with the request id, in the pool's log
			// of the instance's output. (They reach the pool through a pipe,
			// which the pool may read after the response: so they are
			// waited for there, not looked for in the invocation's tail.)
			log := string(cold.Log)
			for _, want := range []string{"START RequestId: " + cold.RequestID, "END RequestId: " + cold.RequestID,
				"REPORT RequestId: " + cold.RequestID, "Init Duration: "} {
				if !strings.Contains(log, want) {
					t.Errorf("log: no %q in\n%s", want, log)
				}
			}
			waitOutput(t, logs, "echo-"+c.name+"-1", c.logLine(cold.RequestID))

			warm := invoke(t, p, map[string]any{"op": "echo", "n": 8}, lambda.InvokeOptions{Tail: true})
			var w echoAnswer
			answer(t, warm, &w)
			if warm.Cold || w.PID != a.PID {
				t.Errorf("second invocation: got Cold %v on pid %d, want warm on pid %d", warm.Cold, w.PID, a.PID)
			}
			if strings.Contains(string(warm.Log), "Init Duration") || strings.Contains(string(warm.Log), cold.RequestID) {
				t.Errorf("warm log has the cold start's lines:\n%s", warm.Log)
			}
		})
	}
}

// TestHandlerError checks a handler's error as Lambda returns it: a
// function error (X-Amz-Function-Error: Unhandled) with the runtime's
// error object; the instance goes on.
func TestHandlerError(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, _ := startPool(t, c.launch(t, ""), lambda.Config{})
			res := invoke(t, p, map[string]any{"op": "fail"}, lambda.InvokeOptions{})
			keys, obj := errorObject(t, res)
			if !slices.Equal(keys, c.errorKeys) {
				t.Errorf("got members %v, want %v (%s)", keys, c.errorKeys, res.Payload)
			}
			if obj["errorType"] != c.errorType || obj["errorMessage"] != "the test asked to fail" {
				t.Errorf("got %s", res.Payload)
			}
			if c.name == "python" && obj["requestId"] != res.RequestID {
				t.Errorf("got requestId %v, want %s", obj["requestId"], res.RequestID)
			}
			trace := obj["stackTrace"]
			if c.name == "node" {
				trace = obj["trace"]
			}
			if tr, ok := trace.([]any); !ok || len(tr) == 0 {
				t.Errorf("got trace %v, want the handler's frames", trace)
			}
			if again := invoke(t, p, map[string]any{"op": "echo"}, lambda.InvokeOptions{}); again.FunctionError != "" || again.Cold {
				t.Errorf("after a handler error: got %s %s cold=%v, want a warm answer", again.FunctionError, again.Payload, again.Cold)
			}
		})
	}
}

// TestInitErrors checks a missing module and a missing handler function:
// the invocation that waited for the instance fails with the runtime's
// init error, as Lambda reports it.
func TestInitErrors(t *testing.T) {
	for _, c := range cases {
		for _, ie := range [][3]string{c.missingModule, c.missingHandler} {
			t.Run(c.name+"/"+ie[0], func(t *testing.T) {
				t.Parallel()
				p, _ := startPool(t, c.launch(t, ie[0]), lambda.Config{Log: quietLog()})
				res := invoke(t, p, map[string]any{"op": "echo"}, lambda.InvokeOptions{})
				_, obj := errorObject(t, res)
				msg, _ := obj["errorMessage"].(string)
				if res.ErrorType != ie[1] || !strings.HasPrefix(msg, ie[2]) {
					t.Errorf("got %s %s, want %s %q...", res.ErrorType, res.Payload, ie[1], ie[2])
				}
				if !res.Cold {
					t.Error("got a warm invocation, want the cold start that failed")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				// The instance is gone: the next invocation starts another, which fails alike.
				if err := p.Wait(ctx, func(s lambda.Stats) bool { return s.Initializing+s.Idle+s.Busy == 0 }); err != nil {
					t.Fatal(err)
				}
				if again := invoke(t, p, map[string]any{"op": "echo"}, lambda.InvokeOptions{}); again.ErrorType != ie[1] || !again.Cold {
					t.Errorf("second invocation: got %s cold=%v", again.ErrorType, again.Cold)
				}
			})
		}
	}
}

// TestTimeoutAndCrash checks that a timeout and a crash fail only their
// own invocation: another one, running at once on another instance,
// answers, and the next invocation gets a new instance.
func TestTimeoutAndCrash(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, _ := startPool(t, c.launch(t, ""), lambda.Config{Timeout: 3 * time.Second, Log: quietLog()})
			// Three instances, warm: two fail, one by one, each while another
			// is busy.
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Long enough for the three to overlap, each on an instance of its own.
					invoke(t, p, map[string]any{"op": "sleep", "ms": 1000}, lambda.InvokeOptions{})
				}()
			}
			wg.Wait()
			if s := p.Stats(); s.Idle != 3 {
				t.Fatalf("got %+v, want three idle instances", s)
			}
			for _, op := range []map[string]any{{"op": "sleep", "ms": 10000}, {"op": "crash"}} {
				var slow *lambda.Result
				started := make(chan struct{})
				wg.Add(1)
				go func() {
					defer wg.Done()
					close(started)
					slow = invoke(t, p, map[string]any{"op": "sleep", "ms": 1000}, lambda.InvokeOptions{})
				}()
				<-started
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := p.Wait(ctx, func(s lambda.Stats) bool { return s.Busy == 1 }); err != nil {
					t.Fatal(err)
				}
				cancel()
				bad := invoke(t, p, op, lambda.InvokeOptions{})
				wg.Wait()
				want := "Sandbox.Timedout"
				if op["op"] == "crash" {
					want = "Runtime.ExitError"
				}
				_, obj := errorObject(t, bad)
				if bad.ErrorType != want || bad.Cold {
					t.Errorf("%v: got %s cold=%v (%v), want %s on a warm instance", op, bad.ErrorType, bad.Cold, obj, want)
				}
				if slow.FunctionError != "" {
					t.Errorf("%v: the invocation beside it failed: %s", op, slow.Payload)
				}
			}
			// Both failed instances are gone; the survivor answers warm.
			if s := p.Stats(); s.Idle != 1 {
				t.Errorf("got %+v, want the one instance that did not fail", s)
			}
			next := invoke(t, p, map[string]any{"op": "echo"}, lambda.InvokeOptions{})
			if next.FunctionError != "" || next.Cold {
				t.Errorf("after the failures: got %s %s cold=%v", next.FunctionError, next.Payload, next.Cold)
			}
		})
	}
}

// TestNodeModuleKinds runs an ES module's async and callback handlers
// through the pool.
func TestNodeModuleKinds(t *testing.T) {
	for _, h := range []string{"esm.handler", "esm.callback"} {
		t.Run(h, func(t *testing.T) {
			t.Parallel()
			l := resolve(t, runtimes.Function{Runtime: "nodejs22.x", Handler: h, CodeDir: "testdata/node"}, runtimes.Options{})
			p, _ := startPool(t, l, lambda.Config{})
			var a struct{ Module, RequestID, Style string }
			answer(t, invoke(t, p, map[string]any{}, lambda.InvokeOptions{}), &a)
			if a.Module != "esm" || (h == "esm.callback") != (a.Style == "callback") {
				t.Errorf("got %+v", a)
			}
		})
	}
}

// TestProvided runs a custom runtime's bootstrap.
func TestProvided(t *testing.T) {
	py := resolve(t, runtimes.Function{Runtime: "python3.12", Handler: "x.y", CodeDir: "testdata/python"}, runtimes.Options{})
	for _, rt := range []string{"provided.al2023", "provided.al2"} {
		t.Run(rt, func(t *testing.T) {
			l := resolve(t, runtimes.Function{Runtime: rt, Handler: "my.handler", CodeDir: "testdata/provided"}, runtimes.Options{})
			p, _ := startPool(t, l, lambda.Config{Env: []string{"SURGE_TEST_PYTHON=" + py.Interpreter}})
			var a struct {
				Handler, ExecutionEnv, Cwd string
				Event                      map[string]int
			}
			answer(t, invoke(t, p, map[string]int{"n": 1}, lambda.InvokeOptions{}), &a)
			dir, _ := filepath.Abs("testdata/provided")
			if a.Handler != "my.handler" || a.ExecutionEnv != "AWS_Lambda_"+rt || a.Cwd != dir || a.Event["n"] != 1 {
				t.Errorf("got %+v", a)
			}
		})
	}
}
