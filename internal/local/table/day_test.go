package table_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/cost"
	"github.com/surgehq/surge/internal/local/autoscaling"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

// articleDay is the traffic of a weekday, in capacity units a second of
// each kind by the hour: a night at 20% of the article's table, business
// hours at its 70% target of 20 RCU and 10 WCU, and a lunch hour at four
// times its baseline capacity.
func articleDay(hour int) (read, write int) {
	switch {
	case hour == 12:
		return 80, 40
	case hour >= 8 && hour < 20:
		return 14, 7
	}
	return 4, 2
}

// dayRun is what a table did over the day.
type dayRun struct {
	st                        table.Stats
	bill                      cost.Bill
	maxRCU, maxWCU            int
	throttledRead, throttledW int
}

// runArticleDay plays articleDay through a table second by second, on
// its clock (a Monday from midnight), each unit its own request, and
// prices what it consumed or was provisioned at the embedded prices.
func runArticleDay(t *testing.T, cfg table.Config) dayRun {
	t.Helper()
	clock := manualclock.New(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) // a Monday
	cfg.Name, cfg.Now = "items", clock.Now
	tb, err := table.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var run dayRun
	for s := range 24 * 3600 {
		read, write := articleDay(s / 3600)
		for range write {
			if tb.Charge(table.Write, 1).Throttled {
				run.throttledW++
			}
		}
		// Eventually consistent reads of 4 KB: half a unit each.
		for range 2 * read {
			if tb.Charge(table.Read, 0.5).Throttled {
				run.throttledRead++
			}
		}
		clock.Advance(time.Second)
		tb.Tick()
		st := tb.Stats()
		run.maxRCU, run.maxWCU = max(run.maxRCU, st.RCU), max(run.maxWCU, st.WCU)
	}
	run.st = tb.Stats()
	p, err := cost.Load("")
	if err != nil {
		t.Fatal(err)
	}
	u := cost.DynamoDBUsage{Table: "items", Mode: cost.OnDemand, ReadRequestUnits: run.st.ConsumedRead, WriteRequestUnits: run.st.ConsumedWrite}
	if cfg.Mode == table.Provisioned {
		u = cost.DynamoDBUsage{Table: "items", Mode: cost.Provisioned, RCUHours: run.st.RCUHours, WCUHours: run.st.WCUHours}
	}
	if run.bill, err = p.Price(cost.Usage{Requests: run.st.ReadRequests + run.st.WriteRequests, DynamoDB: []cost.DynamoDBUsage{u}}); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestArticleDayCost is the article's capacity finding, played through
// the table and priced: a weekday of traffic on an on-demand table, and
// on the article's provisioned one (20 RCU, 10 WCU, auto scaling at 70%
// from that baseline to ten times it), with and without scheduled actions
// that raise the floor before the lunch peak. With them nothing is
// throttled and the day costs less than on demand; without them auto
// scaling alone reacts only after two minutes over its target, by steps
// of at most 1/0.7, and the peak is throttled once the burst capacity
// (300 seconds of unused capacity) is spent.
func TestArticleDayCost(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulated day of 3 million requests")
	}
	dim := func(base int, peak string) table.Dimension {
		d := table.Dimension{Min: base, Max: 10 * base, Target: 0.7}
		if peak != "" {
			d.Actions = []autoscaling.Action{
				{Name: "before-lunch", Schedule: "cron(45 11 ? * MON-FRI *)", Min: 6 * base},
				{Name: "after-lunch", Schedule: "cron(0 13 ? * MON-FRI *)", Min: base},
			}
		}
		return d
	}
	provisioned := func(scheduled string) table.Config {
		return table.Config{Mode: table.Provisioned, RCU: 20, WCU: 10,
			Scaling: table.Scaling{Read: dim(20, scheduled), Write: dim(10, scheduled)}}
	}
	onDemand := runArticleDay(t, table.Config{})
	scheduled := runArticleDay(t, provisioned("scheduled"))
	tracking := runArticleDay(t, provisioned(""))

	// Every unit offered: 1 h at 40 WCU, 11 h at 7, 12 h at 2 (507,600
	// write units); twice that in read units.
	if onDemand.st.ConsumedWrite != 507_600 || onDemand.st.ConsumedRead != 1_015_200 || onDemand.throttledW+onDemand.throttledRead != 0 {
		t.Fatalf("on demand: %+v", onDemand.st)
	}
	if scheduled.throttledW+scheduled.throttledRead != 0 || scheduled.st.ConsumedWrite != onDemand.st.ConsumedWrite {
		t.Errorf("with scheduled actions: %d writes and %d reads throttled, %v write units", scheduled.throttledW, scheduled.throttledRead, scheduled.st.ConsumedWrite)
	}
	if tracking.throttledW == 0 || tracking.throttledRead == 0 {
		t.Errorf("target tracking alone: %d writes and %d reads throttled at the peak, want some", tracking.throttledW, tracking.throttledRead)
	}
	// The floor is the baseline outside the peak, and the peak's capacity
	// keeps it at or under 70%: 60 WCU and 120 RCU, the scheduled floor.
	if scheduled.maxWCU != 60 || scheduled.maxRCU != 120 || scheduled.st.WCU != 10 || scheduled.st.RCU != 20 {
		t.Errorf("with scheduled actions: most %d WCU and %d RCU, at the end %d and %d", scheduled.maxWCU, scheduled.maxRCU, scheduled.st.WCU, scheduled.st.RCU)
	}
	// Capacity hours: at least the floor all day and the peak's for its
	// two hours, and less than the peak's all day.
	if h := scheduled.st.WCUHours; h < 10*23+60*1 || h > 60*24 {
		t.Errorf("WCU-hours %v", h)
	}
	saving := onDemand.bill.Saving(scheduled.bill)
	if saving <= 0 || saving >= 1 {
		t.Errorf("provisioned with scheduled actions saves %.0f%% of on demand, want a saving", 100*saving)
	}
	for _, r := range []struct {
		name string
		run  dayRun
	}{{"on demand", onDemand}, {"provisioned, target tracking and scheduled actions", scheduled}, {"provisioned, target tracking alone", tracking}} {
		t.Logf("%-52s USD %.4f a day (%s); %.0f RCU-hours, %.0f WCU-hours, at most %d RCU and %d WCU; %d reads and %d writes throttled",
			r.name, r.run.bill.Total, fmt.Sprintf("%+.0f%% against on demand", -100*onDemand.bill.Saving(r.run.bill)),
			r.run.st.RCUHours, r.run.st.WCUHours, r.run.maxRCU, r.run.maxWCU, r.run.throttledRead, r.run.throttledW)
	}
}
