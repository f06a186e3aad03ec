package schedule

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl"
)

// Metrics counts the scheduler's runs per target and serves them in the
// Prometheus text format. It is safe for concurrent use. Labels carry only
// target names and kinds: never a token or an address.
type Metrics struct {
	mu      sync.Mutex
	now     func() time.Time
	targets map[string]*targetMetrics
	running int
}

type targetMetrics struct {
	runs        map[[2]string]int64 // kind, status
	legs        int64
	rejected    int64
	requests    int64
	retries     int64
	rateLimited int64
	lastSuccess time.Time
	lastRun     time.Duration
}

// NewMetrics returns empty metrics; now is the clock (nil for time.Now).
func NewMetrics(now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	return &Metrics{now: now, targets: map[string]*targetMetrics{}}
}

// Observe adds the results of one load.
func (m *Metrics) Observe(results []etl.Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range results {
		t := m.target(r.Run.Target.String())
		status := r.Run.Status
		t.runs[[2]string{r.Run.Kind, status}]++
		t.legs += r.Run.Legs
		t.rejected += r.Run.Rejected
		t.requests += r.Run.Requests
		t.retries += r.Run.Retries
		t.rateLimited += r.Run.RateLimited
		t.lastRun = r.Run.Finished.Sub(r.Run.Started)
		if r.Err == nil {
			t.lastSuccess = r.Run.Finished
		}
	}
}

// Running sets whether a load is under way.
func (m *Metrics) Running(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running = 0
	if on {
		m.running = 1
	}
}

// Known makes targets appear with zero values before their first run.
func (m *Metrics) Known(targets ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range targets {
		m.target(t)
	}
}

func (m *Metrics) target(name string) *targetMetrics {
	t := m.targets[name]
	if t == nil {
		t = &targetMetrics{runs: map[[2]string]int64{}}
		m.targets[name] = t
	}
	return t
}

// ServeHTTP writes the metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.WriteTo(w)
}

// WriteTo writes the metrics in the Prometheus text format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	names := make([]string, 0, len(m.targets))
	for n := range m.targets {
		names = append(names, n)
	}
	sort.Strings(names)
	head := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	head("dialpad_etl_runs_total", "counter", "Loads of a target by kind and outcome.")
	for _, n := range names {
		keys := make([][2]string, 0)
		for k := range m.targets[n].runs {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
		for _, k := range keys {
			fmt.Fprintf(&b, "dialpad_etl_runs_total{target=%q,kind=%q,status=%q} %d\n", n, k[0], k[1], m.targets[n].runs[k])
		}
	}
	counter := func(name, help string, v func(*targetMetrics) int64) {
		head(name, "counter", help)
		for _, n := range names {
			fmt.Fprintf(&b, "%s{target=%q} %d\n", name, n, v(m.targets[n]))
		}
	}
	counter("dialpad_etl_legs_loaded_total", "Call legs written to ClickHouse.", func(t *targetMetrics) int64 { return t.legs })
	counter("dialpad_etl_rejected_total", "Call list items quarantined in rejected_calls.", func(t *targetMetrics) int64 { return t.rejected })
	counter("dialpad_etl_api_requests_total", "Requests sent to the Dialpad API, every attempt counted.", func(t *targetMetrics) int64 { return t.requests })
	counter("dialpad_etl_api_retries_total", "Dialpad API requests that were retried.", func(t *targetMetrics) int64 { return t.retries })
	counter("dialpad_etl_api_rate_limited_total", "Dialpad API responses with status 429.", func(t *targetMetrics) int64 { return t.rateLimited })
	head("dialpad_etl_seconds_since_last_success", "gauge", "Seconds since the target last loaded without error; -1 before its first success.")
	now := m.now()
	for _, n := range names {
		v := -1.0
		if s := m.targets[n].lastSuccess; !s.IsZero() {
			v = now.Sub(s).Seconds()
		}
		fmt.Fprintf(&b, "dialpad_etl_seconds_since_last_success{target=%q} %.0f\n", n, v)
	}
	head("dialpad_etl_last_run_duration_seconds", "gauge", "How long the target's last load took.")
	for _, n := range names {
		fmt.Fprintf(&b, "dialpad_etl_last_run_duration_seconds{target=%q} %.3f\n", n, m.targets[n].lastRun.Seconds())
	}
	head("dialpad_etl_running", "gauge", "1 while a load is under way.")
	fmt.Fprintf(&b, "dialpad_etl_running %d\n", m.running)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
