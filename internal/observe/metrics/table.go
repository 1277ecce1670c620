package metrics

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/table"
)

// Table are the local DynamoDB table's capacity metrics, after the
// CloudWatch metrics DynamoDB publishes: a table.Observer (units
// consumed, throttles and changes of capacity, by table and kind) and a
// table.StoreObserver (units and throttles by store operation), and a
// collector of the watched tables' provisioned capacity at scrape time.
type Table struct {
	consumed    *prometheus.CounterVec
	throttled   *prometheus.CounterVec
	opUnits     *prometheus.CounterVec
	opThrottled *prometheus.CounterVec
	changes     *prometheus.CounterVec

	provisioned *prometheus.Desc
	unitHours   *prometheus.Desc

	mu      sync.Mutex
	watched []*table.Table
}

var (
	_ table.Observer      = (*Table)(nil)
	_ table.StoreObserver = (*Table)(nil)
)

// NewTable makes the metrics and registers them with reg.
func NewTable(reg prometheus.Registerer) *Table {
	m := &Table{
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_table_consumed_capacity_units_total",
			Help: "Capacity units a table consumed, by kind, read or write (CloudWatch: ConsumedReadCapacityUnits, ConsumedWriteCapacityUnits)."},
			[]string{"table", "kind"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_table_throttled_requests_total",
			Help: "Requests a table refused for capacity, each attempt counted (CloudWatch: ReadThrottleEvents, WriteThrottleEvents)."},
			[]string{"table", "kind"}),
		opUnits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_table_operation_capacity_units_total",
			Help: "Capacity units consumed by the store's operations, by operation (get, create, replace, delete, list, scan, query) and kind."},
			[]string{"table", "op", "kind"}),
		opThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_table_operation_throttled_total",
			Help: "Store operations refused once the retries were spent (answered 503 with X-Limit-Source table.read or table.write)."},
			[]string{"table", "op"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "surge_table_capacity_changes_total",
			Help: "Changes of a table's provisioned capacity or of its bounds, and refused decreases, by kind and reason (auto scaling's alarms and scheduled actions, UpdateTable)."},
			[]string{"table", "kind", "reason"}),
		provisioned: prometheus.NewDesc("surge_table_provisioned_capacity_units",
			"A table's provisioned capacity units, by kind (CloudWatch: ProvisionedReadCapacityUnits, ProvisionedWriteCapacityUnits); 0 on demand.",
			[]string{"table", "kind", "mode"}, nil),
		unitHours: prometheus.NewDesc("surge_table_provisioned_capacity_unit_hours_total",
			"A provisioned table's capacity over its life, in capacity-unit hours on the table's clock, as auto scaling set it: what provisioned capacity is billed on.",
			[]string{"table", "kind"}, nil),
	}
	reg.MustRegister(m.consumed, m.throttled, m.opUnits, m.opThrottled, m.changes, m)
	return m
}

// Watch adds t to the tables whose provisioned capacity is collected.
func (m *Table) Watch(t *table.Table) {
	m.mu.Lock()
	m.watched = append(m.watched, t)
	m.mu.Unlock()
}

// Consumed implements table.Observer.
func (m *Table) Consumed(tbl string, k table.Kind, units float64) {
	m.consumed.WithLabelValues(tbl, k.String()).Add(units)
}

// Throttled implements table.Observer.
func (m *Table) Throttled(tbl string, k table.Kind) {
	m.throttled.WithLabelValues(tbl, k.String()).Inc()
}

// CapacityChanged implements table.Observer.
func (m *Table) CapacityChanged(c table.Change) {
	m.changes.WithLabelValues(c.Table, c.Kind.String(), reasonOf(c.Reason)).Inc()
}

// reasonOf is a change's reason without its figures and names, a label:
// "target tracking", "scheduled action", "bounds", "UpdateTable", or
// "decrease refused".
func reasonOf(r string) string {
	switch {
	case strings.Contains(r, "decrease refused"):
		return "decrease refused"
	case strings.HasPrefix(r, "scheduled action"):
		return "scheduled action"
	}
	kind, _, _ := strings.Cut(r, ":")
	return kind
}

// Charged implements table.StoreObserver.
func (m *Table) Charged(tbl, op string, c items.Capacity) {
	if c.Read != 0 {
		m.opUnits.WithLabelValues(tbl, op, "read").Add(c.Read)
	}
	if c.Write != 0 {
		m.opUnits.WithLabelValues(tbl, op, "write").Add(c.Write)
	}
}

// ThrottledOp implements table.StoreObserver.
func (m *Table) ThrottledOp(tbl, op string) {
	m.opThrottled.WithLabelValues(tbl, op).Inc()
}

// Describe implements prometheus.Collector.
func (m *Table) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.provisioned
	ch <- m.unitHours
}

// Collect implements prometheus.Collector.
func (m *Table) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	watched := append([]*table.Table(nil), m.watched...)
	m.mu.Unlock()
	for _, t := range watched {
		st := t.Stats()
		mode := string(st.Mode)
		ch <- prometheus.MustNewConstMetric(m.provisioned, prometheus.GaugeValue, float64(st.RCU), t.Name(), "read", mode)
		ch <- prometheus.MustNewConstMetric(m.provisioned, prometheus.GaugeValue, float64(st.WCU), t.Name(), "write", mode)
		ch <- prometheus.MustNewConstMetric(m.unitHours, prometheus.CounterValue, st.RCUHours, t.Name(), "read")
		ch <- prometheus.MustNewConstMetric(m.unitHours, prometheus.CounterValue, st.WCUHours, t.Name(), "write")
	}
}
