package events

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the receiver's Prometheus metrics. A nil *Metrics measures
// nothing.
type Metrics struct {
	received *prometheus.CounterVec
	refusedN *prometheus.CounterVec
	legsN    prometheus.Counter
	fbN      prometheus.Counter
	batches  prometheus.Histogram
	latency  prometheus.Histogram
	failed   prometheus.Counter
	passes   prometheus.Histogram
}

// NewMetrics registers the receiver's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_events_stored_total",
			Help: "Events stored in ClickHouse (a webhook's answered 200), by kind (call, agent_status)."}, []string{"kind"}),
		refusedN: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_events_refused_total",
			Help: "Webhook requests (or websocket messages) not stored, by reason: bad_signature, not_jwt, not_event, too_large (4xx); busy, slow (503)."},
			[]string{"reason"}),
		legsN: prometheus.NewCounter(prometheus.CounterOpts{Name: "dialpad_etl_events_legs_total",
			Help: "Legs written to calls from final call events (one per leg and target)."}),
		fbN: prometheus.NewCounter(prometheus.CounterOpts{Name: "dialpad_etl_events_feedback_total",
			Help: "Rows of call_feedback written from call events of states csat, pcsat and dispositions (one per leg and target)."}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dialpad_etl_events_batch_size",
			Help: "Events stored together.", Buckets: prometheus.ExponentialBuckets(1, 4, 6)}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dialpad_etl_events_store_latency_seconds",
			Help:    "From an event's receipt to its rows in ClickHouse.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10}}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "dialpad_etl_events_store_failures_total",
			Help: "Batches of events that could not be stored (answered 503)."}),
		passes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dialpad_etl_events_recompute_duration_seconds",
			Help: "Passes of the recompute of the days final events touched (one every 5 s while there are any), " +
				"from taking the days to releasing the targets' leases; failed passes included.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7.5, 10, 15, 30, 60}}),
	}
	reg.MustRegister(m.received, m.refusedN, m.legsN, m.fbN, m.batches, m.latency, m.failed, m.passes)
	return m
}

func (m *Metrics) refused(reason string) {
	if m != nil {
		m.refusedN.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) legs(n int) {
	if m != nil {
		m.legsN.Add(float64(n))
	}
}

func (m *Metrics) feedback(n int) {
	if m != nil {
		m.fbN.Add(float64(n))
	}
}

func (m *Metrics) stored(batch []*pending, began time.Time, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.failed.Inc()
		return
	}
	m.batches.Observe(float64(len(batch)))
	now := time.Now()
	for _, p := range batch {
		kind := "call"
		if p.ev.Agent != nil {
			kind = "agent_status"
		}
		m.received.WithLabelValues(kind).Inc()
		m.latency.Observe(now.Sub(p.received).Seconds())
	}
}

// recomputed records a pass of the recompute that began at began.
func (m *Metrics) recomputed(began time.Time) {
	if m != nil {
		m.passes.Observe(time.Since(began).Seconds())
	}
}

// SocketMetrics are the websocket Listener's Prometheus metrics. A nil
// *SocketMetrics measures nothing.
type SocketMetrics struct {
	up       prometheus.Gauge
	drops    prometheus.Counter
	down     prometheus.Counter
	renewals prometheus.Counter
}

// NewSocketMetrics registers the Listener's metrics with reg.
func NewSocketMetrics(reg prometheus.Registerer) *SocketMetrics {
	m := &SocketMetrics{
		up: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dialpad_etl_events_websocket_connected",
			Help: "1 while the job holds a connection to Dialpad's websocket (DIALPAD_EVENTS=websocket), else 0."}),
		drops: prometheus.NewCounter(prometheus.CounterOpts{Name: "dialpad_etl_events_websocket_drops_total",
			Help: "Websocket connections that ended without the job closing them (renewals are not drops)."}),
		down: prometheus.NewCounter(prometheus.CounterOpts{Name: "dialpad_etl_events_websocket_disconnected_seconds_total",
			Help: "Seconds the job was without a websocket connection (from its start, and after each drop): " +
				"Dialpad does not send again the events of that time."}),
		renewals: prometheus.NewCounter(prometheus.CounterOpts{Name: "dialpad_etl_events_websocket_renewals_total",
			Help: "Connections renewed with a fresh URL before Dialpad closed them (the new one connected before the old one closed)."}),
	}
	reg.MustRegister(m.up, m.drops, m.down, m.renewals)
	return m
}

func (m *SocketMetrics) connected(up bool) {
	if m != nil {
		v := 0.0
		if up {
			v = 1
		}
		m.up.Set(v)
	}
}

func (m *SocketMetrics) drop() {
	if m != nil {
		m.drops.Inc()
	}
}

func (m *SocketMetrics) disconnected(d time.Duration) {
	if m != nil && d > 0 {
		m.down.Add(d.Seconds())
	}
}

func (m *SocketMetrics) renewed() {
	if m != nil {
		m.renewals.Inc()
	}
}

// DispositionMetrics are DispositionLoad's Prometheus metrics. A nil
// *DispositionMetrics measures nothing.
type DispositionMetrics struct {
	exports *prometheus.CounterVec
	legs    *prometheus.CounterVec
	bad     *prometheus.CounterVec
}

// NewDispositionMetrics registers DispositionLoad's metrics with reg.
func NewDispositionMetrics(reg prometheus.Registerer) *DispositionMetrics {
	m := &DispositionMetrics{
		exports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_dispositions_exports_total",
			Help: "Nightly dispositions exports per target, by status: loaded, refused (Dialpad has none for the target: 4xx), " +
				"failed (not asked for, not finished, not read, not written or not recomputed): alert on failed."},
			[]string{"target", "status"}),
		legs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_dispositions_legs_total",
			Help: "Legs whose dispositions the nightly export wrote to call_feedback."}, []string{"target"}),
		bad: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_dispositions_bad_rows_total",
			Help: "Rows of the dispositions exports that could not be read (logged with their line and reason)."}, []string{"target"}),
	}
	reg.MustRegister(m.exports, m.legs, m.bad)
	return m
}

func (m *DispositionMetrics) observe(r DispositionResult) {
	if m == nil {
		return
	}
	t := r.Target.String()
	status := "loaded"
	switch {
	case r.Refused:
		status = "refused"
	case r.Err != nil:
		status = "failed"
	}
	m.exports.WithLabelValues(t, status).Inc()
	m.legs.WithLabelValues(t).Add(float64(r.Legs))
	m.bad.WithLabelValues(t).Add(float64(r.Bad))
}
