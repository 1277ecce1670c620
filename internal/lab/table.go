package lab

import (
	"fmt"
	"math"

	"github.com/surgehq/surge/internal/cost"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/server"
)

// tableMaxFactor is auto scaling's most capacity, as a multiple of the
// provisioned, where a profile gives no maximum: room for the article's
// "maintaining performance" at the lab's scaled rates (DynamoDB's
// default maximum is the user's to set).
const tableMaxFactor = 100

// scaleTable sets a provisioned table's units from the article's (its 20
// RCU and 10 WCU at its rates): times the scale's factor, as every rate,
// and divided by the table's time compression, which makes the table
// admit that many times its units a second of wall time. The table then
// sees, in its own time, the load the article's table saw in its.
func (l *labRun) scaleTable(c *server.CapacityConfig, lim Limits) {
	sc := &l.res.Scale
	comp := math.Max(1, c.Compression)
	units := func(article int) int { return max(1, int(math.Round(float64(article)*sc.Factor/comp))) }
	c.RCU, c.WCU = units(lim.TableRCU), units(lim.TableWCU)
	if c.MinRCU == 0 {
		c.MinRCU = c.RCU
	}
	if c.MinWCU == 0 {
		c.MinWCU = c.WCU
	}
	if c.MaxRCU == 0 {
		c.MaxRCU = tableMaxFactor * c.RCU
	}
	if c.MaxWCU == 0 {
		c.MaxWCU = tableMaxFactor * c.WCU
	}
	sc.TableRCU, sc.TableWCU, sc.TableCompression = c.RCU, c.WCU, comp
	why := fmt.Sprintf("the provisioned table: the article's %d RCU / %d WCU times %.2f, at a time compression of %g (a table minute in %.1f s; the table admits %g times its units a second of wall time): %d RCU / %d WCU, auto scaling between them and %d times them",
		lim.TableRCU, lim.TableWCU, sc.Factor, comp, 60/comp, comp, c.RCU, c.WCU, tableMaxFactor)
	if over := float64(c.WCU) * comp / (float64(lim.TableWCU) * sc.Factor); over > 1.5 {
		why += fmt.Sprintf(". Units are whole: at this scale the table admits %.1f times the scaled write units a second of wall time (%.1f times the read units), so it throttles less than the article's would", over,
			float64(c.RCU)*comp/(float64(lim.TableRCU)*sc.Factor))
	}
	sc.Why = append(sc.Why, why)
	l.printf("  %s\n", why)
}

// tableMark is the table's usage so far, as the server bills it, and
// its throttles.
type tableMark struct {
	usage                   []cost.DynamoDBUsage
	readThrottled, writeThr int64
}

func (pr *profileRun) tableUsage() tableMark {
	if pr.st == nil {
		return tableMark{}
	}
	m := tableMark{usage: pr.st.srv.Usage().DynamoDB}
	if t := pr.st.srv.Table(); t != nil {
		st := t.Stats()
		m.readThrottled, m.writeThr = st.ReadThrottled, st.WriteThrottled
	}
	return m
}

// tableCost prices the table's usage since from (on demand: its request
// units; provisioned: its capacity hours as auto scaling set them, on
// the table's clock) and records it with the table's throttles.
func (pr *profileRun) tableCost(ph *Phase, from tableMark) {
	if pr.st == nil {
		return
	}
	now := pr.tableUsage()
	if len(now.usage) == 0 {
		return
	}
	u := cost.Usage{DynamoDB: now.usage}.Sub(cost.Usage{DynamoDB: from.usage})
	prices, err := cost.Load("")
	if err != nil {
		return
	}
	bill, err := prices.Price(u)
	if err != nil {
		return
	}
	d := u.DynamoDB[0]
	ph.setFig("table_cost_usd", bill.Total)
	ph.setFig("table_read_units", d.ReadRequestUnits)
	ph.setFig("table_write_units", d.WriteRequestUnits)
	if d.Mode == cost.Provisioned {
		ph.setFig("table_rcu_hours", d.RCUHours)
		ph.setFig("table_wcu_hours", d.WCUHours)
	}
	if t := pr.st.srv.Table(); t != nil {
		st := t.Stats()
		ph.setCount("table_read_throttled", now.readThrottled-from.readThrottled)
		ph.setCount("table_write_throttled", now.writeThr-from.writeThr)
		if st.Mode == table.Provisioned {
			ph.setFig("table_rcu_end", float64(st.RCU))
			ph.setFig("table_wcu_end", float64(st.WCU))
		}
	}
	ph.Tables = append(ph.Tables, Table{Title: "The table over this phase, as AWS would bill it",
		Columns: []string{"mode", "read units", "write units", "RCU-hours", "WCU-hours", "cost (USD)"},
		Rows:    [][]string{{d.Mode, f1(d.ReadRequestUnits), f1(d.WriteRequestUnits), fmt.Sprintf("%.4f", d.RCUHours), fmt.Sprintf("%.4f", d.WCUHours), fmt.Sprintf("%.6f", bill.Total)}},
		Note:    fmt.Sprintf("Prices of %s (%s); a provisioned table's hours are on its clock (time compression), as its units are divided by it.", bill.PricesDate, bill.Region)})
}
