package reconcile

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Metrics are the reconciliation's Prometheus metrics. A nil *Metrics
// measures nothing.
type Metrics struct {
	days     *prometheus.CounterVec
	differ   *prometheus.GaugeVec
	lastRun  *prometheus.GaugeVec
	reloaded *prometheus.CounterVec
}

// NewMetrics registers the reconciliation's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		days: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_reconciled_days_total",
			Help: "Target-days compared with Dialpad's records export, by status (match, differ, failed, timeout, error)."},
			[]string{"target", "status"}),
		differ: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dialpad_etl_reconcile_days_out_of_agreement",
			Help: "Days whose latest reconciliation with Dialpad's export is not a match (differ, or no export to compare): alert on > 0."},
			[]string{"target"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dialpad_etl_reconcile_last_timestamp_seconds",
			Help: "When the target was last reconciled (Unix time)."}, []string{"target"}),
		reloaded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_reconcile_reloaded_legs_total",
			Help: "Legs missing from the warehouse that Dialpad's export showed and a re-load of their day found."}, []string{"target"}),
	}
	reg.MustRegister(m.days, m.differ, m.lastRun, m.reloaded)
	return m
}

func (m *Metrics) observe(results []Result) {
	if m == nil {
		return
	}
	for _, r := range results {
		t := r.Target.String()
		for _, d := range r.Days {
			m.days.WithLabelValues(t, string(d.Status)).Inc()
			m.reloaded.WithLabelValues(t).Add(float64(d.Reloaded))
			m.lastRun.WithLabelValues(t).Set(float64(d.CheckedAt.Unix()))
		}
	}
}

// outOfAgreement sets the gauge of every target, 0 for those with none.
func (m *Metrics) outOfAgreement(targets []dialpad.Target, counts map[dialpad.Target]int) {
	if m == nil {
		return
	}
	for _, t := range targets {
		m.differ.WithLabelValues(t.String()).Set(float64(counts[t]))
	}
}
