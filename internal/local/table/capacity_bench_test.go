package table_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// BenchmarkTableCapacity is bench/table-capacity.sh's run: a provisioned
// table behind the front, on dynalite, offered writes at a multiple of its
// capacity through the AWS SDK (no retries, so that every throttle is
// seen), in compressed time. It reports the write rate the table let
// through while it throttled, against its provisioned WCU, and its
// recovery as auto scaling (target tracking at 70%) raises the capacity.
// Its settings come from the environment (see envInt); the defaults make a
// short run for `make test`.
func BenchmarkTableCapacity(b *testing.B) {
	wcu := envInt("SURGE_BENCH_WCU", 5)
	compression := envInt("SURGE_BENCH_COMPRESSION", 30)
	minutes := envInt("SURGE_BENCH_MINUTES", 3)
	offer := envInt("SURGE_BENCH_OFFER", 2) // offered writes a table second, per WCU
	maxWCU := envInt("SURGE_BENCH_MAX_WCU", 10*wcu)
	workers := envInt("SURGE_BENCH_WORKERS", 64)

	rec := &recorder{}
	tables := table.NewTables(table.Config{Compression: float64(compression), Observer: rec})
	f, err := table.NewFront(table.FrontConfig{Engine: dynalitetest.Start(b), Tables: tables})
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: f}
	ln := listen(b)
	go srv.Serve(ln)
	defer srv.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = workers
	c := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + ln.Addr().String()),
		Credentials: credentials.NewStaticCredentialsProvider("surgelocal", "surgelocal", ""), RetryMaxAttempts: 1,
		HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}})
	name := dynalitetest.TableName()
	tb, err := tables.Add(table.Config{Name: name, Mode: table.Provisioned, RCU: 5, WCU: wcu,
		Scaling: table.Scaling{Write: table.Dimension{Min: wcu, Max: maxWCU, Target: 0.7}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, c, name, dynamo.TableOptions{Billing: dynamo.Provisioned, RCU: 5, WCU: int64(wcu)}); err != nil {
		b.Fatal(err)
	}
	defer dynamo.DeleteTable(context.Background(), c, name, 0)
	item := func(i int) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "bench"},
			"id": &types.AttributeValueMemberS{Value: strconv.Itoa(i)}, "data": &types.AttributeValueMemberS{Value: strings.Repeat("x", 200)}}
	}

	// An open model: writes due at a fixed rate of wall time, whatever the
	// answers; a write due while every worker is busy is counted late.
	rate := float64(offer*wcu) * float64(compression) // writes a wall second
	wall := time.Duration(float64(minutes) * float64(time.Minute) / float64(compression))
	total := int(rate * wall.Seconds())
	type outcome struct {
		at        time.Duration // table time since the start
		ok, thrtl bool
	}
	results := make([]outcome, total)
	due := make(chan int, workers)
	var wg sync.WaitGroup
	start := tb.Now()
	var errs sync.Map
	for range workers {
		wg.Go(func() {
			for i := range due {
				_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: item(i)})
				o := outcome{at: tb.Now().Sub(start), ok: err == nil, thrtl: isThrottle(err)}
				if err != nil && !o.thrtl {
					errs.Store(err.Error(), true)
				}
				results[i] = o
			}
		})
	}
	late := 0
	t0 := time.Now()
	b.ResetTimer()
	for i := range total {
		if d := time.Until(t0.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
		select {
		case due <- i:
		default:
			late++
			results[i] = outcome{at: -1}
		}
	}
	close(due)
	wg.Wait()
	b.StopTimer()
	errs.Range(func(k, _ any) bool { b.Errorf("write: %v", k); return true })

	// Per table minute: offered, passed, throttled, the capacity at its end.
	_, _, changes := rec.snapshot()
	capAt := func(t time.Duration) int {
		n := wcu
		for _, ch := range changes {
			if ch.Kind == table.Write && ch.At.Sub(start) <= t {
				n = ch.To
			}
		}
		return n
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\nprovisioned %d WCU, auto scaling %d..%d WCU at 70%%, offered %d writes a table second (%.0f/s of wall time), time x%d, %d table minutes\n",
		wcu, wcu, maxWCU, offer*wcu, rate, compression, minutes)
	fmt.Fprintf(&out, "%-7s %8s %8s %9s %8s %6s\n", "minute", "offered", "passed", "throttled", "passed/s", "WCU")
	lastThrottled := -1
	for m := range minutes + 1 {
		var ok, th int
		for _, r := range results {
			if r.at >= time.Duration(m)*time.Minute && r.at < time.Duration(m+1)*time.Minute {
				if r.ok {
					ok++
				}
				if r.thrtl {
					th++
				}
			}
		}
		if ok+th == 0 {
			continue
		}
		if th > 0 {
			lastThrottled = m
		}
		fmt.Fprintf(&out, "%-7d %8d %8d %9d %8.2f %6d\n", m+1, ok+th, ok, th, float64(ok)/60, capAt(time.Duration(m+1)*time.Minute))
	}
	firstChange := time.Duration(minutes) * time.Minute
	for _, ch := range changes {
		if ch.Kind == table.Write {
			fmt.Fprintf(&out, "capacity %d -> %d WCU at table time %v: %s\n", ch.From, ch.To, ch.At.Sub(start).Round(time.Second), ch.Reason)
			firstChange = min(firstChange, ch.At.Sub(start))
		}
	}
	// The throttling window: from 10 table seconds in (past the bucket's
	// first second) to the first change of capacity.
	from, to := 10*time.Second, firstChange
	passed := 0
	for _, r := range results {
		if r.ok && r.at >= from && r.at < to {
			passed++
		}
	}
	achieved := float64(passed) / (to - from).Seconds()
	off := (achieved - float64(wcu)) / float64(wcu) * 100
	fmt.Fprintf(&out, "while throttling (%v to %v): %.2f writes a second against %d WCU: %+.1f%% (within 5%%: %v)\n",
		from, to.Round(time.Second), achieved, wcu, off, math.Abs(off) <= 5)
	recovery := lastThrottled + 2 // the first minute without a throttle, 1-based
	if lastThrottled == minutes || recovery > minutes {
		fmt.Fprintf(&out, "not recovered within %d table minutes\n", minutes)
		recovery = -1
	} else {
		fmt.Fprintf(&out, "recovered: no throttle from table minute %d on, at %d WCU\n", recovery, capAt(time.Duration(minutes)*time.Minute))
	}
	fmt.Fprintf(&out, "late (every worker busy): %d of %d; wall time %v\n", late, total, wall.Round(time.Millisecond))
	// Printed, not logged: the testing package cuts a benchmark's log
	// to its first lines.
	fmt.Print(out.String())
	b.ReportMetric(achieved, "writes/s")
	b.ReportMetric(off, "pct-off-wcu")
	b.ReportMetric(float64(recovery), "recovery-min")
	b.ReportMetric(float64(capAt(time.Duration(minutes)*time.Minute)), "final-wcu")
}

func envInt(name string, dflt int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return dflt
}

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}
