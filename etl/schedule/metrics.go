package schedule

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dialpad-etl/dialpad-etl/etl/load"
)

// Metrics are the scheduler's Prometheus metrics, with the Go runtime's and
// the process's, served by client_golang. They are safe for concurrent
// use. Labels carry only target names, kinds, statuses and HTTP codes:
// never a token or an address.
type Metrics struct {
	registry    *prometheus.Registry
	started     time.Time
	runs        *prometheus.CounterVec
	legs        *prometheus.CounterVec
	changed     *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	requests    *prometheus.CounterVec
	retries     *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
	lastRun     *prometheus.GaugeVec
	running     prometheus.Gauge
	apiDuration *prometheus.HistogramVec

	mu        sync.Mutex
	successes map[string]time.Time // the last success of each target, or the start
}

// NewMetrics returns the metrics of a process started at now() (nil for
// time.Now).
func NewMetrics(now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	perTarget := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"target"})
	}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		started:  now(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dialpad_etl_runs_total",
			Help: "Loads of a target by kind and outcome (succeeded, failed, cancelled, skipped)."}, []string{"target", "kind", "status"}),
		legs:        perTarget("dialpad_etl_legs_loaded_total", "Call legs read from Dialpad and written to ClickHouse."),
		changed:     perTarget("dialpad_etl_legs_changed_total", "Of the legs loaded, those that were new or had changed since their stored copy."),
		rejected:    perTarget("dialpad_etl_rejected_total", "Call list items quarantined in rejected_calls."),
		requests:    perTarget("dialpad_etl_api_requests_total", "Requests sent to the Dialpad API, every attempt counted."),
		retries:     perTarget("dialpad_etl_api_retries_total", "Dialpad API requests that were retried."),
		rateLimited: perTarget("dialpad_etl_api_rate_limited_total", "Dialpad API responses with status 429."),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dialpad_etl_last_success_timestamp_seconds",
			Help: "When the target last loaded without error (Unix time), or when this process started if it has not since: " +
				"alert on time() - this."}, []string{"target"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dialpad_etl_last_run_duration_seconds",
			Help: "How long the target's last load took."}, []string{"target"}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dialpad_etl_running", Help: "1 while a load is under way."}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dialpad_etl_api_request_duration_seconds",
			Help:    "Time of one HTTP request to the Dialpad API, from sending to the response's headers, by status code.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 11)}, []string{"code"}),
		successes: map[string]time.Time{},
	}
	start := prometheus.NewGauge(prometheus.GaugeOpts{Name: "dialpad_etl_start_time_seconds",
		Help: "When this process started (Unix time)."})
	start.Set(float64(m.started.Unix()))
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.runs, m.legs, m.changed, m.rejected, m.requests, m.retries, m.rateLimited, m.lastSuccess, m.lastRun,
		m.running, m.apiDuration, start)
	return m
}

// Registerer is where other parts of the process register their
// metrics, to be served beside these.
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

// Known makes targets appear with zero values, and the start as their
// last success, before their first run.
func (m *Metrics) Known(targets ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range targets {
		for _, v := range []*prometheus.CounterVec{m.legs, m.changed, m.rejected, m.requests, m.retries, m.rateLimited} {
			v.WithLabelValues(t)
		}
		if _, ok := m.successes[t]; !ok {
			m.successes[t] = m.started
			m.lastSuccess.WithLabelValues(t).Set(float64(m.started.Unix()))
		}
	}
}

// Observe adds the results of one load.
func (m *Metrics) Observe(results []load.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range results {
		t := r.Run.Target.String()
		m.runs.WithLabelValues(t, r.Run.Kind, r.Run.Status).Inc()
		m.legs.WithLabelValues(t).Add(float64(r.Run.Legs))
		m.changed.WithLabelValues(t).Add(float64(r.Run.LegsChanged))
		m.rejected.WithLabelValues(t).Add(float64(r.Run.Rejected))
		m.requests.WithLabelValues(t).Add(float64(r.Run.Requests))
		m.retries.WithLabelValues(t).Add(float64(r.Run.Retries))
		m.rateLimited.WithLabelValues(t).Add(float64(r.Run.RateLimited))
		if r.Run.Status == load.StatusSkipped {
			// Another process was loading it just then: as fresh as a
			// success, for /healthz; that process's own metrics say more.
			m.successes[t] = r.Run.Finished
			continue
		}
		m.lastRun.WithLabelValues(t).Set(r.Run.Finished.Sub(r.Run.Started).Seconds())
		if r.Err == nil {
			m.successes[t] = r.Run.Finished
			m.lastSuccess.WithLabelValues(t).Set(float64(r.Run.Finished.Unix()))
		} else if _, ok := m.successes[t]; !ok {
			m.successes[t] = m.started
			m.lastSuccess.WithLabelValues(t).Set(float64(m.started.Unix()))
		}
	}
}

// Running sets whether a load is under way.
func (m *Metrics) Running(on bool) {
	if on {
		m.running.Set(1)
	} else {
		m.running.Set(0)
	}
}

// InstrumentAPI wraps the transport of the Dialpad client so that every
// request's duration goes into dialpad_etl_api_request_duration_seconds.
func (m *Metrics) InstrumentAPI(next http.RoundTripper) http.RoundTripper {
	return promhttp.InstrumentRoundTripperDuration(m.apiDuration, next)
}

// Stale returns the targets whose last success (or the start, if none
// since) is older than age at now, each with how long ago that was.
func (m *Metrics) Stale(now time.Time, age time.Duration) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for t, at := range m.successes {
		if since := now.Sub(at); since > age {
			out = append(out, fmt.Sprintf("%s: no successful load for %s", t, since.Round(time.Second)))
		}
	}
	sort.Strings(out)
	return out
}

// ServeHTTP writes the metrics in the Prometheus exposition format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}
