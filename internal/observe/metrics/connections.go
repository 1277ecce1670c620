package metrics

import "github.com/prometheus/client_golang/prometheus"

// Connections counts the API listener's connections refused over its
// bound (listen.Shed).
type Connections struct {
	shed prometheus.Counter
}

// NewConnections makes the counter and registers it.
func NewConnections(reg prometheus.Registerer) *Connections {
	m := &Connections{shed: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "surge_connections_shed_total",
		Help: "Connections to the API refused with 503 (X-Limit-Source: connections) because the listener had its most connections open.",
	})}
	reg.MustRegister(m.shed)
	return m
}

// Shed counts one refused connection.
func (m *Connections) Shed() { m.shed.Inc() }
