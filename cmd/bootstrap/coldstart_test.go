package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
)

// envBootstrap names a bootstrap executable for BenchmarkColdStart to run
// instead of building one (bench/bootstrap-init.sh passes build.sh's host
// build, stripped as deployed).
const envBootstrap = "SURGE_BOOTSTRAP"

// lambdaEnv is an environment like the one Lambda gives a function: no
// variables of the machine it runs on (this one's may make the SDK read
// files that Lambda has not, such as AWS_CA_BUNDLE), static credentials,
// a region, and the function's configuration. No endpoint: the DynamoDB
// client is AWS's, as deployed; a cold start sends nothing to it.
func lambdaEnv(home string) []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "TZ=:UTC", "LANG=C.UTF-8",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=surge-local", "AWS_SECRET_ACCESS_KEY=surge-local", "AWS_SESSION_TOKEN=surge-local",
		"AWS_LAMBDA_FUNCTION_NAME=surge-items", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"SURGE_TABLE=items", "SURGE_TENANT_FROM_API_KEY=true",
	}
}

// initReport is the emulator's line for the function's init, from process
// start to the runtime's first request for an event.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// BenchmarkColdStart measures the function's cold start as Lambda has one:
// each iteration starts the emulator and sends the first invocation (a
// REST API event for GET /healthz, which does not touch the store), on
// which the emulator starts the function's process; then a second, warm
// one; then it stops both. Reported, as medians over the iterations:
//
//	first-ms  the first invocation, sent to answered: process start, Go
//	          runtime and package init, the function's own init, and the
//	          invocation itself
//	init-ms   the emulator's INIT REPORT: process start to the runtime's
//	          first /next (what Lambda bills as Init Duration)
//	warm-ms   the second invocation, sent to answered
//
// bench/bootstrap-init.sh runs it with -benchtime=Nx.
func BenchmarkColdStart(b *testing.B) {
	rie := findRIE(b)
	bootstrap := os.Getenv(envBootstrap)
	if bootstrap == "" {
		bootstrap = buildBootstrap(b)
	}
	r := httptest.NewRequest("GET", "https://api.example/healthz", nil)
	r.Header.Set("X-Api-Key", "bench")
	ev, err := awsevent.NewV1Event(r, awsevent.EventOptions{Stage: "prod", APIKeyID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	payload, _ := json.Marshal(ev)
	env := lambdaEnv(b.TempDir())

	var first, inits, warm []float64
	for b.Loop() {
		e := startEmulator(b, rie, bootstrap, env)
		start := time.Now()
		out := e.invoke(b, payload)
		first = append(first, ms(time.Since(start)))
		start = time.Now()
		e.invoke(b, payload)
		warm = append(warm, ms(time.Since(start)))
		e.stop()

		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || resp.Headers["X-Cold-Start"] != "true" {
			b.Fatalf("first invocation: got %s (%v)", out, err)
		}
		m := initReport.FindStringSubmatch(e.logs.String())
		if m == nil {
			b.Fatalf("no INIT REPORT in the emulator's output:\n%s", e.logs)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		inits = append(inits, v)
	}
	b.ReportMetric(median(first), "first-ms")
	b.ReportMetric(median(inits), "init-ms")
	b.ReportMetric(median(warm), "warm-ms")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
