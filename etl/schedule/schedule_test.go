package schedule

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// loads is a hand-written Loads whose incremental load blocks until
// released, or panics.
type loads struct {
	mu      sync.Mutex
	calls   int
	release chan struct{}
	panics  bool
}

func (l *loads) Incremental(ctx context.Context) []etl.Result {
	l.mu.Lock()
	l.calls++
	l.mu.Unlock()
	if l.panics {
		panic("boom")
	}
	if l.release != nil {
		<-l.release
	}
	t := dialpad.Target{Type: "department", ID: 7}
	now := time.Now()
	return []etl.Result{{Run: warehouse.Run{Target: t, Kind: etl.KindIncremental, Status: "succeeded",
		Started: now.Add(-2 * time.Second), Finished: now, Legs: 120, Rejected: 1, Requests: 9, Retries: 2, RateLimited: 1}}}
}

func (l *loads) Reload(ctx context.Context, _ time.Duration) []etl.Result { return l.Incremental(ctx) }

func newScheduler(l Loads) *Scheduler {
	return &Scheduler{Loads: l, Metrics: NewMetrics(nil), Location: time.UTC, Log: slog.New(slog.DiscardHandler)}
}

// An hourly load that comes due while another load runs is skipped (the
// next hour reads the same); a nightly re-load runs when it ends.
func TestALoadDueWhileAnotherRunsIsSkippedOrQueued(t *testing.T) {
	l := &loads{release: make(chan struct{})}
	s := newScheduler(l)
	var mu sync.Mutex
	var ran []string
	load := func(name string) due {
		return due{name: name, wait: name == "nightly", load: func(ctx context.Context) []etl.Result {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			return l.Incremental(ctx)
		}}
	}
	done := make(chan struct{})
	go func() { s.once(context.Background(), load("first")); close(done) }()
	for {
		l.mu.Lock()
		started := l.calls == 1
		l.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.once(context.Background(), load("incremental")) // returns at once: skipped
	s.once(context.Background(), load("nightly"))     // returns at once: queued
	close(l.release)
	<-done
	if strings.Join(ran, " ") != "first nightly" {
		t.Fatalf("loads ran: %v; want the first, then the nightly one that came due during it", ran)
	}
}

func TestAPanickingLoadDoesNotStopTheScheduler(t *testing.T) {
	l := &loads{panics: true}
	s := newScheduler(l)
	s.once(context.Background(), due{name: "incremental", load: l.Incremental})
	s.once(context.Background(), due{name: "incremental", load: l.Incremental})
	if l.calls != 2 {
		t.Fatalf("%d loads ran after a panic, want 2", l.calls)
	}
}

func TestMetricsCountRunsPerTarget(t *testing.T) {
	l := &loads{}
	s := newScheduler(l)
	s.Metrics.Known("callcenter:9")
	s.once(context.Background(), due{name: "incremental", load: l.Incremental})
	s.once(context.Background(), due{name: "incremental", load: l.Incremental})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`dialpad_etl_runs_total{target="department:7",kind="incremental",status="succeeded"} 2`,
		`dialpad_etl_legs_loaded_total{target="department:7"} 240`,
		`dialpad_etl_api_rate_limited_total{target="department:7"} 2`,
		`dialpad_etl_seconds_since_last_success{target="callcenter:9"} -1`,
		`dialpad_etl_running 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("/healthz answered %d", rec.Code)
	}
}
