package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/server"
)

// changes records a table's changes of capacity.
type changes struct {
	mu  sync.Mutex
	all []table.Change
}

func (c *changes) Consumed(string, table.Kind, float64) {}
func (c *changes) Throttled(string, table.Kind)         {}
func (c *changes) CapacityChanged(ch table.Change) {
	c.mu.Lock()
	c.all = append(c.all, ch)
	c.mu.Unlock()
}

func (c *changes) snapshot() []table.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]table.Change(nil), c.all...)
}

func envInt(name string, dflt int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return dflt
}

// BenchmarkServeTableCapacity is bench/table-capacity.sh's run through
// surge serve (the Server that `surge serve` runs, its store SQLite): a
// provisioned table with target tracking at 70% between WCU and 10 x WCU,
// offered writes (POST /items of 1 WCU each) at a multiple of its
// capacity over loopback HTTP, with the store's retries off, so that every
// refusal comes back as 503 X-Limit-Source table.write. It prints, per
// table minute, the writes offered, created and refused and the capacity,
// the write rate the table let through while it throttled against its
// provisioned WCU (the run's own baseline; goal within 5%), and the
// minute from which nothing is refused. Its settings come from the
// environment (SURGE_BENCH_WCU, _COMPRESSION, _MINUTES, _OFFER, _WORKERS);
// the defaults make a short run for `make test`.
func BenchmarkServeTableCapacity(b *testing.B) {
	wcu := envInt("SURGE_BENCH_WCU", 5)
	compression := envInt("SURGE_BENCH_COMPRESSION", 30)
	minutes := envInt("SURGE_BENCH_MINUTES", 3)
	offer := envInt("SURGE_BENCH_OFFER", 2)
	workers := envInt("SURGE_BENCH_WORKERS", 64)

	rec := &changes{}
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.AdminAddr, cfg.Data, cfg.AccessLog = "127.0.0.1:0", "", b.TempDir(), false
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Capacity.Billing, cfg.Capacity.RCU, cfg.Capacity.WCU = string(table.Provisioned), 5, wcu
	cfg.Capacity.TargetUtilization, cfg.Capacity.MaxWCU = 0.7, 10*wcu
	cfg.Capacity.Compression, cfg.Capacity.Retries = float64(compression), 1
	cfg.Observers.Table = rec
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	tb := s.Table()
	url := "http://" + s.Addr() + "/items"
	body := `{"data":"` + strings.Repeat("x", 150) + `"}`
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}

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
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				o := outcome{at: tb.Now().Sub(start)}
				if err != nil {
					errs.Store(err.Error(), true)
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					o.ok = resp.StatusCode == http.StatusCreated
					o.thrtl = resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("X-Limit-Source") == "table.write"
					if !o.ok && !o.thrtl {
						errs.Store(resp.Status, true)
					}
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

	chs := rec.snapshot()
	capAt := func(t time.Duration) int {
		n := wcu
		for _, ch := range chs {
			if ch.Kind == table.Write && ch.At.Sub(start) <= t {
				n = ch.To
			}
		}
		return n
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\nsurge serve: provisioned %d WCU, auto scaling %d..%d WCU at 70%%, offered %d writes a table second (%.0f/s of wall time) as POST /items, time x%d, %d table minutes\n",
		wcu, wcu, 10*wcu, offer*wcu, rate, compression, minutes)
	fmt.Fprintf(&out, "%-7s %8s %8s %9s %8s %6s\n", "minute", "offered", "created", "throttled", "passed/s", "WCU")
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
	for _, ch := range chs {
		if ch.Kind == table.Write {
			fmt.Fprintf(&out, "capacity %d -> %d WCU at table time %v: %s\n", ch.From, ch.To, ch.At.Sub(start).Round(time.Second), ch.Reason)
			firstChange = min(firstChange, ch.At.Sub(start))
		}
	}
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
	recovery := lastThrottled + 2
	if lastThrottled == minutes || recovery > minutes {
		fmt.Fprintf(&out, "not recovered within %d table minutes\n", minutes)
		recovery = -1
	} else {
		fmt.Fprintf(&out, "recovered: no throttle from table minute %d on, at %d WCU\n", recovery, capAt(time.Duration(minutes)*time.Minute))
	}
	fmt.Fprintf(&out, "late (every worker busy): %d of %d; wall time %v\n", late, total, wall.Round(time.Millisecond))
	fmt.Print(out.String())
	b.ReportMetric(achieved, "writes/s")
	b.ReportMetric(off, "pct-off-wcu")
	b.ReportMetric(float64(recovery), "recovery-min")
	b.ReportMetric(float64(capAt(time.Duration(minutes)*time.Minute)), "final-wcu")
}
