package runtimes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/local/lambda/runtimes"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// BenchmarkColdStart measures each example's cold start as a client sees
// it: from the invocation that finds no instance (the process starts) to
// the function's first answer, a GET /items/{id} that reads DynamoDB
// (dynalite); and, for comparison in the same run, the runtime alone: the
// test function of testdata, which imports nothing beyond its standard
// library. Each iteration is a new pool, so a new process. It reports the
// medians and the worst of the run: cold-ms (start to answer), init-ms
// (Lambda's Init Duration: start to the runtime's first /next) and warm-ms
// (the same request again, on the warm instance).
//
//	go test -run '^$' -bench ColdStart -benchtime 15x ./internal/local/lambda/runtimes
func BenchmarkColdStart(b *testing.B) {
	for _, ex := range examples {
		b.Run(ex.name, func(b *testing.B) {
			l := launchExample(b, ex, ex.itemsHandler)
			endpoint := dynalitetest.Start(b)
			table := dynalitetest.NewTable(b, dynalitetest.NewClient(endpoint))
			env := []string{"TABLE_NAME=" + table, "AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
				"AWS_ACCESS_KEY_ID=surgelocal", "AWS_SECRET_ACCESS_KEY=surgelocal"}
			event, _ := json.Marshal(map[string]any{"resource": "/items/{id}", "path": "/items/absent", "httpMethod": "GET",
				"pathParameters": map[string]string{"id": "absent"}, "headers": map[string]string{}, "requestContext": map[string]any{}})
			coldStarts(b, l, env, event, notFoundAnswer)
		})
	}
	for _, c := range cases {
		b.Run(c.name+"-runtime", func(b *testing.B) {
			coldStarts(b, c.launch(b, ""), nil, []byte(`{"op":"echo"}`), func(res *lambda.Result) bool {
				return res.FunctionError == "" && bytes.Contains(res.Payload, []byte(`"requestId"`))
			})
		})
	}
}

// BenchmarkColdStartByMemory measures, for each runtime, a cold start at
// the memory size SURGE_BENCH_MEMORY (MB; unset: no limits), whose CPU
// share the pool enforces through cgroups as Lambda gives it (memory /
// 1,769 MB of a vCPU): from the invocation that finds no instance (the
// process starts) to the first answer, a GET /items/{id} that reads
// DynamoDB (dynalite), for the Go build (cmd/bootstrap built for this
// machine: SURGE_BENCH_BOOTSTRAP, default dist/host), the Python example
// with boto3 and the Node.js example with the AWS SDK v3; and, the
// baseline of the same run, each interpreted runtime alone (the test
// functions, standard library only), as lambda-perf's hello-world
// functions. SURGE_BENCH_INIT_CPU sets lambda.Config.InitCPU.
// bench/runtimes-coldstart.sh runs it at 128 and 1,024 MB.
func BenchmarkColdStartByMemory(b *testing.B) {
	base := lambda.Config{Limits: lambda.LimitsOff}
	if m := os.Getenv("SURGE_BENCH_MEMORY"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			b.Fatalf("SURGE_BENCH_MEMORY=%q: want megabytes", m)
		}
		base.MemoryMB, base.Limits = n, lambda.LimitsAuto
	}
	if c := os.Getenv("SURGE_BENCH_INIT_CPU"); c != "" {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil {
			b.Fatalf("SURGE_BENCH_INIT_CPU=%q: want vCPUs", c)
		}
		base.InitCPU = v
	}
	notFound, _ := json.Marshal(map[string]any{"resource": "/items/{id}", "path": "/items/absent", "httpMethod": "GET",
		"pathParameters": map[string]string{"id": "absent"}, "headers": map[string]string{}, "requestContext": map[string]any{}})
	tableEnv := func(b *testing.B) []string {
		endpoint := dynalitetest.Start(b)
		table := dynalitetest.NewTable(b, dynalitetest.NewClient(endpoint))
		return []string{"TABLE_NAME=" + table, "AWS_ENDPOINT_URL_DYNAMODB=" + endpoint, "SURGE_TABLE=" + table,
			"SURGE_DYNAMODB_ENDPOINT=" + endpoint, "AWS_ACCESS_KEY_ID=surgelocal", "AWS_SECRET_ACCESS_KEY=surgelocal"}
	}
	b.Run("go", func(b *testing.B) {
		dir := os.Getenv("SURGE_BENCH_BOOTSTRAP")
		if dir == "" {
			dir = "../../../../dist/host"
		}
		if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
			b.Skipf("SKIP: no %s/bootstrap: build it with deploy/aws/build.sh --host-only", dir)
		}
		l := resolve(b, runtimes.Function{Runtime: "provided.al2023", Handler: "bootstrap", CodeDir: dir}, runtimes.Options{})
		coldStartsAt(b, base, l, tableEnv(b), notFound, notFoundAnswer)
	})
	for _, ex := range examples {
		b.Run(ex.name, func(b *testing.B) {
			l := launchExample(b, ex, ex.itemsHandler)
			coldStartsAt(b, base, l, tableEnv(b), notFound, notFoundAnswer)
		})
	}
	for _, c := range cases {
		b.Run(c.name+"-runtime", func(b *testing.B) {
			// On the interpreter the example runs on (the one with boto3),
			// so that the difference is the example's own init.
			opt := runtimes.Options{}
			if c.name == "python" {
				opt.PythonModules = []string{"boto3"}
			}
			l := resolve(b, runtimes.Function{Runtime: c.runtime, Handler: c.handler, CodeDir: c.dir}, opt)
			coldStartsAt(b, base, l, nil, []byte(`{"op":"echo"}`), func(res *lambda.Result) bool {
				return res.FunctionError == "" && bytes.Contains(res.Payload, []byte(`"requestId"`))
			})
		})
	}
}

// coldStarts runs b.N cold starts of l, each answering event as ok says,
// and reports their medians and worst.
func coldStarts(b *testing.B, l *runtimes.Launch, env []string, event []byte, ok func(*lambda.Result) bool) {
	coldStartsAt(b, lambda.Config{Limits: lambda.LimitsOff}, l, env, event, ok)
}

// coldStartsAt is coldStarts with base's memory size and limits, and
// reports the 99th percentiles too.
func coldStartsAt(b *testing.B, base lambda.Config, l *runtimes.Launch, env []string, event []byte, ok func(*lambda.Result) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if l.Interpreter != "" {
		b.Logf("%s on %s %s", l.Runtime, l.Interpreter, l.InterpreterVersion)
	}
	var cold, init, warm []time.Duration
	for b.Loop() {
		p, err := lambda.New(l.Config(lambda.Config{Name: "cold", Limits: base.Limits, MemoryMB: base.MemoryMB, InitCPU: base.InitCPU, Env: env, Log: quietLog(),
			Timeout: time.Minute, InitTimeout: time.Minute, TickEvery: -1}))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := p.Invoke(ctx, event, lambda.InvokeOptions{})
		cold = append(cold, time.Since(start))
		if err != nil || !res.Cold || !ok(res) {
			p.Close()
			b.Fatalf("cold invocation: %v %+v %s", err, res, res.Payload)
		}
		init = append(init, res.InitDuration)
		start = time.Now()
		res, err = p.Invoke(ctx, event, lambda.InvokeOptions{})
		warm = append(warm, time.Since(start))
		p.Close()
		if err != nil || res.Cold || !ok(res) {
			b.Fatalf("warm invocation: %v %+v", err, res)
		}
	}
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"cold", cold}, {"init", init}, {"warm", warm}} {
		slices.Sort(m.ds)
		b.ReportMetric(ms(m.ds[len(m.ds)/2]), m.name+"-ms-p50")
		b.ReportMetric(ms(m.ds[(len(m.ds)*99+99)/100-1]), m.name+"-ms-p99")
		b.ReportMetric(ms(m.ds[len(m.ds)-1]), m.name+"-ms-max")
	}
}

// notFoundAnswer reports whether res is the contract's 404 as a proxy
// response.
func notFoundAnswer(res *lambda.Result) bool {
	var r struct {
		StatusCode int
		Body       string
	}
	return res.FunctionError == "" && json.Unmarshal(res.Payload, &r) == nil && r.StatusCode == 404 &&
		r.Body == `{"code":"not_found","message":"Item not found."}`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
