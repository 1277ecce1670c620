package table_test

import (
	"testing"
	"time"

	"github.com/surgehq/surge/internal/local/autoscaling"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

func TestTables(t *testing.T) {
	clock := manualclock.New(epoch)
	rec := &recorder{}
	ts := table.NewTables(table.Config{Mode: table.Provisioned, RCU: 2, WCU: 3, Now: clock.Now, Observer: rec})
	// A table first named takes the defaults, and is the same table after.
	a := ts.Get("a")
	if a != ts.Get("a") || a.Name() != "a" {
		t.Fatal("Get made two tables, or misnamed one")
	}
	if st := a.Stats(); st.Mode != table.Provisioned || st.RCU != 2 || st.WCU != 3 {
		t.Errorf("defaults: got %+v", st)
	}
	if _, ok := ts.Lookup("b"); ok {
		t.Error("Lookup found a table never named")
	}
	// Add declares a table, with the set's clock and observer, and
	// auto scaling; Tick runs its schedule without traffic.
	b, err := ts.Add(table.Config{Name: "b", Mode: table.Provisioned, RCU: 5, WCU: 5, Scaling: table.Scaling{
		Write: table.Dimension{Min: 5, Max: 50, Actions: []autoscaling.Action{{Name: "peak", Schedule: "cron(0 8 ? * MON-FRI *)", Min: 20, Max: 50}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ts.Lookup("b"); got != b {
		t.Fatal("Lookup does not find the added table")
	}
	clock.Advance(time.Hour) // 08:00
	ts.Tick()
	if st := b.Stats(); st.WCU != 20 {
		t.Errorf("after 08:00 and a Tick: WCU %d, want 20", st.WCU)
	}
	if _, _, changes := rec.snapshot(); len(changes) != 1 || changes[0].Table != "b" || changes[0].To != 20 {
		t.Errorf("changes: %+v", changes)
	}
	if all := ts.All(); len(all) != 2 || all[0] != a || all[1] != b {
		t.Errorf("All: got %d tables, want a and b in order", len(all))
	}
	// Defaults that are not a valid table give on-demand tables.
	bad := table.NewTables(table.Config{Mode: table.Provisioned})
	if st := bad.Get("c").Stats(); st.Mode != table.OnDemand {
		t.Errorf("invalid defaults: got %+v, want on-demand", st)
	}
}
