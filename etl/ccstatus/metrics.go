package ccstatus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Metrics are the poller's Prometheus metrics. A nil *Metrics measures
// nothing. Labels carry only target names.
type Metrics struct {
	polls    *prometheus.CounterVec
	failures *prometheus.CounterVec
}

// NewMetrics registers the poller's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_callcenter_status_polls_total",
			Help: "Reads of a call center's live status from Dialpad, stored or not."}, []string{"target"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_callcenter_status_failures_total",
			Help: "Of those, the ones that failed: Dialpad's answer, or the write to ClickHouse."}, []string{"target"}),
	}
	reg.MustRegister(m.polls, m.failures)
	return m
}

// polled counts a poll of t, stored or not.
func (m *Metrics) polled(t dialpad.Target, ok bool) {
	if m == nil {
		return
	}
	m.polls.WithLabelValues(t.String()).Inc()
	if !ok {
		m.failures.WithLabelValues(t.String()).Inc()
	}
}
