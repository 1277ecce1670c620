package htmlreport_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/htmlreport"
)

// The surge binary, built once for the tests that run it.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// surgeBinary builds cmd/surge into a temporary directory (TestMain
// removes it).
func surgeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "surge-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "surge")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/surgehq/surge/cmd/surge").CombinedOutput()
		if err != nil {
			binErr = &buildError{err: err, out: string(out)}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build cmd/surge: " + e.err.Error() + "\n" + e.out }

// serveStack runs `surge serve` as a child process with the parts that
// report themselves to a load test: the API through local Lambda
// functions (X-Cold-Start, invocations and concurrency on /metrics), the
// gateway's response cache (X-Cache), a stage throttle below the offered
// rate (429s naming gateway.stage), the table's capacity units
// (Server-Timing rcu and wcu) and the usage report that prices a run. It
// returns the API's and the admin listener's URLs.
func serveStack(t *testing.T, bin string) (api, admin string) {
	t.Helper()
	cmd := exec.Command(bin, "--log-format", "json", "serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--data", t.TempDir(), "--access-log=false", "--functions", "--function-limits", "off",
		"--cache-enabled", "--throttle-stage-rate", "150", "--throttle-stage-burst", "30")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	listening := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "listening" {
				listening <- rec
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	// SIGTERM: the server stops its function instances before it exits.
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case rec := <-listening:
		return "http://" + rec["addr"].(string), "http://" + rec["admin_addr"].(string)
	case <-exited:
		t.Fatal("surge serve exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("surge serve did not listen within 60s")
	}
	return "", ""
}

// surge runs the surge command line args to its end.
func surge(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("surge %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestBrowserStack draws the report that `surge load --html` wrote of a
// real run against a real stack (surge serve with functions, the
// response cache, a stage throttle and the table's capacity), and the
// comparison `surge load compare --html` wrote of it against a knee
// search of the same stack: every chart the result's members feed is
// drawn with its series (cold against warm latency, 429s by their
// X-Limit-Source, cache hits and misses, invocations and concurrent
// executions, latency by payload class, capacity units), and the key
// figures show the cost, the target's counts, the capacity units and the
// throughput at the knee.
func TestBrowserStack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds surge and runs a stack of function processes")
	}
	browser(t)
	bin := surgeBinary(t)
	api, admin := serveStack(t, bin)
	dir := t.TempDir()
	run := func(name string, extra ...string) *load.Result {
		args := append([]string{"load", "--progress", "none", "--preseed", "0", "--seed", "7",
			"--metrics", admin + "/metrics", "--usage", admin + "/usage",
			"--out", filepath.Join(dir, name+".json"), "--html", filepath.Join(dir, name+".html")}, extra...)
		surge(t, bin, append(args, api)...)
		r, err := load.ReadResultFile(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := run("run", "--rate", "200", "--duration", "3s")
	// The members the charts read must be there: the stack sends them all
	// (with no preseed, the run's first requests start the functions'
	// instances: cold starts).
	x := extraOfResult(a)
	has := func(what string, ok bool) {
		if !ok {
			t.Errorf("the result of a run against the stack has no %s", what)
		}
	}
	some := func(f func(p load.Point) bool) bool { return slices.ContainsFunc(a.Series, f) }
	has("cold starts", a.Total.ColdStarts > 0 && some(func(p load.Point) bool { return p.ColdStarts != nil }))
	has("cold latency", slices.ContainsFunc(x.Ops, func(o htmlreport.OpExtra) bool { return o.ColdLatencyHist != "" }))
	has("429s by source", some(func(p load.Point) bool { return p.StatusSources["429"]["gateway.stage"] > 0 }))
	has("cache hits", some(func(p load.Point) bool { return p.CacheHits != nil && *p.CacheHits > 0 }))
	has("invocations", some(func(p load.Point) bool { return p.Invocations != nil && *p.Invocations > 0 }))
	has("concurrency", some(func(p load.Point) bool { return p.Concurrency != nil }))
	has("payload classes", len(a.PayloadLatency) > 1)
	has("capacity units", a.Total.Capacity != nil && a.Total.Capacity.Write > 0)
	has("cost", a.Cost != nil && a.Cost.Total > 0)
	has("target figures", a.Target != nil && a.Target.Invocations != nil && a.Target.ConcurrencyMax != nil)
	if t.Failed() {
		t.FailNow()
	}

	page, err := os.ReadFile(filepath.Join(dir, "run.html"))
	if err != nil {
		t.Fatal(err)
	}
	tb := open(t, page, "stack-run", 1200, 900)
	want := expectRun(a, nil, "s1")
	// Each of these charts must be among those expected, with its series.
	for id, labels := range map[string][]string{
		"s1-status-sources":     {"429 from gateway.stage"},
		"s1-status-sources-ops": {"429 from gateway.stage"},
		"s1-cache":              {"cache hits", "cache misses", "invocations"},
		"s1-cache-ops":          {"cache hits"},
		"s1-concurrency":        {"concurrent executions"},
		"s1-cold-time":          {"cold starts"},
		"s1-capacity-ops":       {"write units"},
	} {
		for _, l := range labels {
			if _, ok := want[id][l]; !ok {
				t.Errorf("chart %s: series %q not expected from the result (%v)", id, l, want[id])
			}
		}
	}
	coldwarm, payload := 0, 0
	for id := range want {
		switch {
		case strings.HasPrefix(id, "s1-coldwarm-"):
			coldwarm++
		case strings.HasPrefix(id, "s1-payload-"):
			payload++
		}
	}
	if coldwarm == 0 || payload == 0 {
		t.Errorf("%d cold-against-warm and %d payload charts expected, want some of each", coldwarm, payload)
	}
	checkCharts(t, tb.charts(), want)
	missing := eval[[]string](tb, `[...document.querySelectorAll("p.missing")].map(p => p.textContent)`)
	for _, m := range missing {
		if strings.Contains(m, "did not report") || strings.Contains(m, "does not split") {
			t.Errorf("the report says data is missing that the result carries: %q", m)
		}
	}
	figures := keyFigures(tb, "s1-summary")
	for name, want := range map[string]string{
		"function invocations":       strconv.FormatInt(*a.Target.Invocations, 10) + " (the target's count)",
		"peak concurrent executions": strconv.FormatFloat(*a.Target.ConcurrencyMax, 'f', -1, 64),
		"cost":                       a.Cost.Currency + " " + strconv.FormatFloat(a.Cost.Total, 'f', 4, 64),
		"response cache hits, misses": strconv.FormatInt(a.Total.CacheHits, 10) + ", " +
			strconv.FormatInt(a.Total.CacheMisses, 10),
	} {
		if got := figures[name]; len(got) == 0 || !strings.HasPrefix(got[0], want) {
			t.Errorf("key figure %q: %q, want it to start %q", name, got, want)
		}
	}
	tb.use()
	tb.offline()
	tb.screenshot("report-stack-run")

	// A knee search of the same stack (the throttle makes one), compared
	// with the run: both runs' cost, and the knee of the one that has it.
	k := run("knee", "--find-knee", "--rate", "400", "--knee-start", "100", "--knee-hold", "1s", "--knee-bisect", "1", "--knee-retries", "0",
		"--knee-factor", "2", "--knee-p99", "2s")
	if k.Knee == nil || k.Knee.Rate <= 0 {
		t.Fatalf("the knee search found no knee: %+v", k.Knee)
	}
	cmp := filepath.Join(dir, "compare.html")
	surge(t, bin, "load", "compare", "--html", cmp, filepath.Join(dir, "run.json"), filepath.Join(dir, "knee.json"))
	if page, err = os.ReadFile(cmp); err != nil {
		t.Fatal(err)
	}
	tc := open(t, page, "stack-compare", 1200, 900)
	checkCharts(t, tc.charts(), expectCompare(expectRun(a, nil, "s1"), expectRun(k, nil, "s1")))
	figures = keyFigures(tc, "s1-summary")
	if got := figures["throughput at the knee"]; len(got) < 2 || got[0] != "-" || !strings.HasPrefix(got[1], strconv.FormatFloat(k.Knee.Rate, 'f', 1, 64)+"/s") {
		t.Errorf("throughput at the knee: %q, want - and %.1f/s", got, k.Knee.Rate)
	}
	if got := figures["cost"]; len(got) < 3 || !strings.HasPrefix(got[0], a.Cost.Currency+" ") || !strings.HasPrefix(got[1], k.Cost.Currency+" ") || !strings.HasSuffix(got[2], "%") {
		t.Errorf("cost: %q, want both runs' and the change", got)
	}
	tc.offline()
	tc.screenshot("report-stack-compare")
}

// keyFigures reads a key figures table: each figure's cells after its name.
func keyFigures(tb *tab, id string) map[string][]string {
	return eval[map[string][]string](tb, `Object.fromEntries([...document.querySelectorAll("#`+id+` tbody tr")].map(r => {
		const cells = [...r.cells].map(c => c.textContent.trim());
		return [cells[0], cells.slice(1)];
	}))`)
}
