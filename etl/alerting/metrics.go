package alerting

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the alert mail's Prometheus metrics. A nil *Metrics
// measures nothing. Labels carry only rule uids, never a target or an
// address.
type Metrics struct {
	mails    *prometheus.CounterVec
	failures *prometheus.CounterVec
	firing   *prometheus.GaugeVec
}

// NewMetrics registers the alert mail's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_alert_mails_total",
			Help: "Alert mails sent, per rule and kind (firing, resolved)."}, []string{"rule", "kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_alert_failures_total",
			Help: "Alert rules not evaluated (step evaluation: a query failed) and mails not sent (step mail), per rule."},
			[]string{"rule", "step"}),
		firing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dialpad_etl_alerts_firing",
			Help: "Alerts whose firing mail went and no recovery since, per rule, at the rule's last evaluation."}, []string{"rule"}),
	}
	reg.MustRegister(m.mails, m.failures, m.firing)
	return m
}

func (m *Metrics) mailed(rule, kind string) {
	if m != nil {
		m.mails.WithLabelValues(rule, kind).Inc()
	}
}

func (m *Metrics) failed(rule, step string) {
	if m != nil {
		m.failures.WithLabelValues(rule, step).Inc()
	}
}

func (m *Metrics) setFiring(rule string, n int) {
	if m != nil {
		m.firing.WithLabelValues(rule).Set(float64(n))
	}
}
