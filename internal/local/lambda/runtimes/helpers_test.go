package runtimes_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// The examples' tests share one dynalite.
func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }

// Variables that make a missing interpreter a failure rather than a skip
// (CI sets both).
const (
	envRequirePython = "SURGE_REQUIRE_PYTHON"
	envRequireNode   = "SURGE_REQUIRE_NODE"
)

// requireEnv names the variable that makes a runtime's skip a failure.
func requireEnv(runtime string) string {
	if strings.HasPrefix(runtime, "nodejs") {
		return envRequireNode
	}
	return envRequirePython
}

// unavailable skips t, saying why and how to fix it, or fails it when
// the runtime's SURGE_REQUIRE_ variable is 1.
func unavailable(t testing.TB, runtime string, err error) {
	t.Helper()
	env := requireEnv(runtime)
	msg := fmt.Sprintf("SKIP: %v; install it (scripts/setup installs what the examples need), or set %s=1 to make this a failure", err, env)
	if os.Getenv(env) == "1" {
		t.Fatal(msg)
	}
	fmt.Fprintln(os.Stderr, msg) // loud: shown even without -v
	t.Skip(msg)
}

// cacheDir is the clients' cache of this test binary: one for all tests,
// so that they are written once, as for a surge process.
var cacheDir = filepath.Join(os.TempDir(), fmt.Sprintf("surge-runtimes-test-%d", os.Getuid()))

// resolve resolves fn, skipping t where its interpreter is missing.
func resolve(t testing.TB, fn runtimes.Function, opt runtimes.Options) *runtimes.Launch {
	t.Helper()
	if opt.CacheDir == "" {
		opt.CacheDir = cacheDir
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := runtimes.Resolve(ctx, fn, opt)
	if errors.Is(err, runtimes.ErrNoInterpreter) {
		unavailable(t, fn.Runtime, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// startPool starts a pool of l with cfg (limits off, a debug log kept for
// a failure), closed when t ends.
func startPool(t testing.TB, l *runtimes.Launch, cfg lambda.Config) (*lambda.Pool, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	cfg.Limits = lambda.LimitsOff
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Name == "" {
		cfg.Name = "fn"
	}
	p, err := lambda.New(l.Config(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("pool log:\n%s", logs)
		}
	})
	return p, logs
}

// invoke runs one invocation of payload (a value to encode, or raw bytes)
// and fails t on a pool error.
func invoke(t testing.TB, p *lambda.Pool, payload any, opt lambda.InvokeOptions) *lambda.Result {
	t.Helper()
	b, ok := payload.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, b, opt)
	if err != nil {
		t.Fatalf("invoke %s: %v", b, err)
	}
	return res
}

// answer decodes a successful invocation's payload into v.
func answer(t testing.TB, res *lambda.Result, v any) {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("got function error %s (%s), want an answer", res.ErrorType, res.Payload)
	}
	if err := json.Unmarshal(res.Payload, v); err != nil {
		t.Fatalf("answer %s: %v", res.Payload, err)
	}
}

// errorObject decodes a function error's payload, keeping its members'
// order, and checks that it is Unhandled with the type of its payload.
func errorObject(t testing.TB, res *lambda.Result) (keys []string, obj map[string]any) {
	t.Helper()
	if res.FunctionError != "Unhandled" {
		t.Fatalf("got FunctionError %q (payload %s), want Unhandled", res.FunctionError, res.Payload)
	}
	if err := json.Unmarshal(res.Payload, &obj); err != nil {
		t.Fatalf("error payload %s: %v", res.Payload, err)
	}
	d := json.NewDecoder(strings.NewReader(string(res.Payload)))
	d.Token()
	for d.More() {
		tok, _ := d.Token()
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		d.Decode(&skip)
	}
	if obj["errorType"] != res.ErrorType {
		t.Errorf("got errorType %v in the payload and %q in the result", obj["errorType"], res.ErrorType)
	}
	return keys, obj
}

// quietLog discards a pool's log.
func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitOutput waits (10 s at most) until the pool's debug log has a line
// of instance's output that matches re.
func waitOutput(t testing.TB, logs *syncbuf.Buffer, instance string, re *regexp.Regexp) {
	t.Helper()
	for range 400 {
		for _, line := range strings.Split(logs.String(), "\n") {
			var e struct{ Msg, Instance, Line string }
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "function output" && e.Instance == instance && re.MatchString(e.Line) {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Errorf("no output line of %s matches %v", instance, re)
}
