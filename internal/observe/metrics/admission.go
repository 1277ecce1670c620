package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surgehq/surge/internal/admission"
)

// Admission exports what the admission control does: the requests it
// refused, by reason (an admission.Observer), and, once Watch is called,
// the requests in service and waiting.
type Admission struct {
	shed *prometheus.CounterVec
}

// NewAdmission makes the admission collectors and registers them.
func NewAdmission(reg prometheus.Registerer) *Admission {
	m := &Admission{shed: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "surge_admission_shed_total",
		Help: "Requests refused with 503 by the admission control (X-Limit-Source: admission), by reason: queue_full, queue_timeout or client_gone.",
	}, []string{"reason"})}
	for _, r := range []string{admission.ReasonQueueFull, admission.ReasonQueueTimeout, admission.ReasonGone} {
		m.shed.WithLabelValues(r)
	}
	reg.MustRegister(m.shed)
	return m
}

// Shed implements admission.Observer.
func (m *Admission) Shed(reason string) { m.shed.WithLabelValues(reason).Inc() }

// Watch registers gauges of c's requests in service and waiting and of
// its limit, and the counter of those it admitted.
func (m *Admission) Watch(reg prometheus.Registerer, c *admission.Controller) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_admission_in_flight",
			Help: "Requests in service under the admission control."},
			func() float64 { return float64(c.Stats().InFlight) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_admission_queued",
			Help: "Requests waiting for a slot of the admission control."},
			func() float64 { return float64(c.Stats().Queued) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_admission_limit",
			Help: "Requests the admission control allows in service now: the throughput times its target, within its bounds."},
			func() float64 { return float64(c.Stats().Limit) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "surge_admission_admitted_total",
			Help: "Requests the admission control let through."},
			func() float64 { return float64(c.Stats().Admitted) }),
	)
}
