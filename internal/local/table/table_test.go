package table_test

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/autoscaling"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/testkit/manualclock"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

var epoch = time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC) // a Monday

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu        sync.Mutex
	consumed  [2]float64
	throttled [2]int
	changes   []table.Change
}

func (r *recorder) Consumed(_ string, k table.Kind, units float64) {
	r.mu.Lock()
	r.consumed[k] += units
	r.mu.Unlock()
}

func (r *recorder) Throttled(_ string, k table.Kind) {
	r.mu.Lock()
	r.throttled[k]++
	r.mu.Unlock()
}

func (r *recorder) CapacityChanged(c table.Change) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

func (r *recorder) snapshot() (consumed [2]float64, throttled [2]int, changes []table.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.consumed, r.throttled, append([]table.Change(nil), r.changes...)
}

func mustTable(t *testing.T, cfg table.Config) *table.Table {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "items"
	}
	tb, err := table.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestProvisionedThrottlesAtItsLimit(t *testing.T) {
	clock := manualclock.New(epoch)
	rec := &recorder{}
	tb := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 5, WCU: 10, Now: clock.Now, Observer: rec})
	// A new table holds one second of capacity: ten 1 KB writes pass,
	// the eleventh is throttled and told to wait a tenth of a second.
	for i := range 10 {
		if r := tb.Charge(table.Write, 1); r.Throttled || r.Units != 1 {
			t.Fatalf("write %d: got %+v, want 1 unit", i+1, r)
		}
	}
	r := tb.Charge(table.Write, 1)
	if !r.Throttled || r.Units != 0 || r.Wait != 100*time.Millisecond {
		t.Fatalf("write 11: got %+v, want throttled with a 100ms wait", r)
	}
	// Reads have their own bucket: 5 RCU are 10 eventually consistent
	// reads of up to 4 KB.
	for i := range 10 {
		if r := tb.Charge(table.Read, table.ReadUnits(4096, table.Eventual)); r.Throttled {
			t.Fatalf("read %d: throttled", i+1)
		}
	}
	if r := tb.Charge(table.Read, 0.5); !r.Throttled {
		t.Fatal("read 11: not throttled")
	}
	// Offered 20 writes a second for a minute, the table takes its 10 a
	// second: 600.
	admitted := 0
	for range 20 * 60 {
		clock.Advance(50 * time.Millisecond)
		if !tb.Charge(table.Write, 1).Throttled {
			admitted++
		}
	}
	if admitted != 600 {
		t.Errorf("admitted %d writes in a minute at 20/s, want 600", admitted)
	}
	consumed, throttled, _ := rec.snapshot()
	if consumed[table.Write] != 610 || throttled[table.Write] != 601 || consumed[table.Read] != 5 || throttled[table.Read] != 1 {
		t.Errorf("observer: got consumed %v throttled %v, want [5 610] and [1 601]", consumed, throttled)
	}
	st := tb.Stats()
	if st.ConsumedWrite != 610 || st.WriteThrottled != 601 || st.WriteRequests != 610 {
		t.Errorf("stats: got %+v", st)
	}
}

func TestBurstCapacity(t *testing.T) {
	clock := manualclock.New(epoch)
	tb := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 1, WCU: 10, Now: clock.Now})
	drain := func() int {
		n := 0
		for n < 100000 && !tb.Charge(table.Write, 1).Throttled {
			n++
		}
		return n
	}
	drain()
	// A minute unused is kept: a spike of 600 writes at one instant
	// passes, at 60 times the provisioned rate.
	clock.Advance(time.Minute)
	if n := drain(); n != 600 {
		t.Errorf("after a minute idle: a spike of %d writes passed, want 600", n)
	}
	// No more than 300 seconds are kept.
	clock.Advance(time.Hour)
	if n := drain(); n != 3000 {
		t.Errorf("after an hour idle: a spike of %d writes passed, want 3000 (300 s of 10 WCU)", n)
	}
	// A 400 KB write is more than the bucket's second: admitted once the
	// bucket holds it, it leaves the bucket in debt until refilled.
	small := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 1, WCU: 1, Burst: time.Second, Now: clock.Now})
	if r := small.Charge(table.Write, 400); r.Throttled {
		t.Fatalf("a 400 WCU write on a full 1 WCU bucket: got %+v, want admitted", r)
	}
	if r := small.Charge(table.Write, 1); !r.Throttled || r.Wait != 400*time.Second {
		t.Errorf("after it: got %+v, want throttled for 400 s", r)
	}
}

func TestAdmitThenSettle(t *testing.T) {
	clock := manualclock.New(epoch)
	tb := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 2, WCU: 1, Now: clock.Now})
	// A read is admitted on its minimum, half a unit, taken at once; it
	// read a 12 KB item, 1.5 units eventually consistent, which then
	// overdraws the bucket.
	if r := tb.Admit(table.Read, table.ReadUnits(0, table.Eventual)); r.Throttled {
		t.Fatal("first read throttled")
	}
	if r := tb.Admit(table.Read, 0.5); r.Throttled {
		t.Fatal("second read throttled with half a unit left")
	}
	tb.Settle(table.Read, 0.5, table.ReadUnits(12<<10, table.Eventual))
	tb.Settle(table.Read, 0.5, 1.5)
	// The bucket is at -1: the next half unit needs 0.75 s at 2 RCU.
	if r := tb.Admit(table.Read, 0.5); !r.Throttled || r.Wait != 750*time.Millisecond {
		t.Fatalf("third read: got %+v, want throttled for 750ms", r)
	}
	clock.Advance(750 * time.Millisecond)
	if r := tb.Admit(table.Read, 0.5); r.Throttled {
		t.Fatalf("after the wait: got %+v", r)
	}
	// A request that failed settles at 0: its estimate comes back.
	tb.Settle(table.Read, 0.5, 0)
	if r := tb.Admit(table.Read, 0.5); r.Throttled {
		t.Fatalf("after a refund: got %+v", r)
	}
	if st := tb.Stats(); st.ConsumedRead != 3 || st.ReadRequests != 2 {
		t.Errorf("stats: got %v units in %d requests, want 3 in 2", st.ConsumedRead, st.ReadRequests)
	}
}

func TestOnDemand(t *testing.T) {
	clock := manualclock.New(epoch)
	tb := mustTable(t, table.Config{Now: clock.Now})
	for i := range 30000 {
		if r := tb.Charge(table.Write, 1); r.Throttled {
			t.Fatalf("on-demand write %d throttled", i)
		}
	}
	// Over its quota an on-demand table throttles too.
	small := mustTable(t, table.Config{OnDemandLimit: 5, Now: clock.Now})
	for range 5 {
		small.Charge(table.Read, 1)
	}
	if r := small.Charge(table.Read, 1); !r.Throttled {
		t.Error("over the on-demand quota: not throttled")
	}
	if st := tb.Stats(); st.Mode != table.OnDemand || st.ConsumedWrite != 30000 || st.WCUHours != 0 {
		t.Errorf("stats: got %+v", st)
	}
}

func TestCompression(t *testing.T) {
	clock := manualclock.New(epoch)
	// At 60, a wall second is a table minute.
	tb := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 1, WCU: 10, Compression: 60, Now: clock.Now})
	for range 10 {
		tb.Charge(table.Write, 1)
	}
	r := tb.Charge(table.Write, 1)
	// 100ms of table time is 100/60 ms of wall time.
	if want := 100 * time.Millisecond / 60; !r.Throttled || r.Wait != want {
		t.Fatalf("got %+v, want throttled for %v", r, want)
	}
	clock.Advance(time.Second)
	n := 0
	for n < 10000 && !tb.Charge(table.Write, 1).Throttled {
		n++
	}
	if n != 600 {
		t.Errorf("a wall second at 60: %d writes passed, want 600", n)
	}
	if got := tb.Now().Sub(epoch); got != time.Minute {
		t.Errorf("table time after a wall second: got %v, want a minute", got)
	}
	if st := tb.Stats(); st.WCUHours != 10.0/60 {
		t.Errorf("WCU hours after a table minute: got %v, want %v", st.WCUHours, 10.0/60)
	}
}

func TestAutoScaling(t *testing.T) {
	clock := manualclock.New(epoch)
	rec := &recorder{}
	logs := &syncbuf.Buffer{}
	tb := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 20, WCU: 10, Now: clock.Now, Observer: rec,
		Log:     slog.New(slog.NewTextHandler(logs, nil)),
		Scaling: table.Scaling{Write: table.Dimension{Min: 10, Max: 40, Target: 0.7}}})
	// Writes offered at 20 a second: the table takes 10, its whole
	// capacity, 100% > 70%. After two one-minute datapoints over the
	// target it scales to ceil(10 * 1.0 / 0.7) = 15.
	second := func() (admitted int) {
		for range 20 {
			clock.Advance(50 * time.Millisecond)
			if !tb.Charge(table.Write, 1).Throttled {
				admitted++
			}
		}
		return admitted
	}
	for range 119 {
		second()
	}
	if st := tb.Stats(); st.WCU != 10 {
		t.Fatalf("after 1 minute 59: WCU %d, want 10", st.WCU)
	}
	second()
	if st := tb.Stats(); st.WCU != 15 {
		t.Fatalf("after 2 minutes (the second datapoint): WCU %d, want 15", st.WCU)
	}
	// At 15 WCU, 20 offered is 100% again: ceil(15 * 1.0 / 0.7) = 22.
	// At 22 all 20 pass, 91% of it: ceil(22 * 20/22 / 0.7) = 29. At 29,
	// 69% is under the target: it stays, and nothing is throttled.
	for range 10 * 60 {
		second()
	}
	st := tb.Stats()
	if st.WCU != 29 {
		t.Fatalf("after 10 more minutes: WCU %d, want 29", st.WCU)
	}
	if got := second(); got != 20 {
		t.Errorf("at 29 WCU, %d of 20 writes a second passed", got)
	}
	_, _, changes := rec.snapshot()
	var tos []int
	for _, c := range changes {
		if c.Table != "items" || c.Kind != table.Write {
			t.Errorf("change %+v: want of items' write capacity", c)
		}
		tos = append(tos, c.To)
	}
	if len(tos) != 3 || tos[0] != 15 || tos[1] != 22 || tos[2] != 29 {
		t.Errorf("got changes to %v, want to 15, 22, 29", tos)
	}
	if !strings.Contains(logs.String(), "from=10 to=15") || !strings.Contains(logs.String(), "target tracking: 2 datapoints over 0.7") {
		t.Errorf("log: %s", logs.String())
	}
	if st.RCU != 20 {
		t.Errorf("read capacity: got %d, want 20 (no read scaling)", st.RCU)
	}
}

func TestScheduledCapacity(t *testing.T) {
	clock := manualclock.New(epoch) // 07:00 on a Monday
	rec := &recorder{}
	tb := mustTable(t, table.Config{Mode: table.Provisioned, RCU: 20, WCU: 10, Now: clock.Now, Observer: rec,
		Scaling: table.Scaling{Read: table.Dimension{Min: 20, Max: 200, Target: 0.7, Actions: []autoscaling.Action{
			{Name: "business-hours", Schedule: "cron(0 8 ? * MON-FRI *)", Min: 100, Max: 200},
			{Name: "night", Schedule: "cron(0 19 ? * MON-FRI *)", Min: 20, Max: 200},
		}}}})
	clock.Advance(59 * time.Minute)
	tb.Tick()
	if st := tb.Stats(); st.RCU != 20 {
		t.Fatalf("at 07:59: RCU %d, want 20", st.RCU)
	}
	clock.Advance(time.Minute)
	tb.Tick()
	if st := tb.Stats(); st.RCU != 100 {
		t.Fatalf("at 08:00: RCU %d, want 100", st.RCU)
	}
	// In the evening the minimum goes back to 20; with a little traffic
	// (under 50% of 100 for 15 minutes) target tracking scales in.
	clock.Advance(11 * time.Hour)
	for range 16 * 60 {
		clock.Advance(time.Second)
		tb.Charge(table.Read, 1) // 1 RCU a second of 100: 1%
	}
	if st := tb.Stats(); st.RCU != 20 {
		t.Fatalf("after 16 quiet minutes past 19:00: RCU %d, want 20 (ceil(100 * 0.01 / 0.7) = 2, held at the minimum)", st.RCU)
	}
	_, _, changes := rec.snapshot()
	var reasons []string
	for _, c := range changes {
		reasons = append(reasons, c.Reason)
	}
	if len(changes) < 3 || !strings.Contains(reasons[0], "business-hours") {
		t.Errorf("got reasons %q", reasons)
	}
}

func TestSetCapacity(t *testing.T) {
	clock := manualclock.New(epoch)
	tb := mustTable(t, table.Config{Now: clock.Now})
	if err := tb.SetCapacity(table.Provisioned, 1, 2); err != nil {
		t.Fatal(err)
	}
	tb.Charge(table.Write, 2)
	if r := tb.Charge(table.Write, 1); !r.Throttled {
		t.Error("after UpdateTable to 2 WCU: the third write was not throttled")
	}
	if err := tb.SetCapacity(table.Provisioned, 0, 2); err == nil {
		t.Error("0 RCU: got no error")
	}
	clock.Advance(time.Hour)
	if st := tb.Stats(); st.RCUHours != 1 || st.WCUHours != 2 {
		t.Errorf("after an hour at 1/2: got %v RCU-h, %v WCU-h", st.RCUHours, st.WCUHours)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []table.Config{
		{},
		{Name: "t", Mode: table.Provisioned},
		{Name: "t", Mode: table.OnDemand, RCU: 5},
		{Name: "t", Mode: "reserved"},
		{Name: "t", Compression: 0.5},
		{Name: "t", Burst: -time.Second},
		{Name: "t", Mode: table.Provisioned, RCU: 1, WCU: 1, Scaling: table.Scaling{Read: table.Dimension{Min: 5, Max: 2}}},
		{Name: "t", Mode: table.Provisioned, RCU: 1, WCU: 1, Scaling: table.Scaling{Write: table.Dimension{Min: 1, Max: 2, Target: 0.95}}},
	} {
		if _, err := table.New(cfg); err == nil {
			t.Errorf("%+v: got no error", cfg)
		}
	}
}
