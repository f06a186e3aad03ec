package schedule

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
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

func (l *loads) Incremental(ctx context.Context) []load.Result {
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
	return []load.Result{{Run: warehouse.Run{Target: t, Kind: load.KindIncremental, Status: "succeeded",
		Started: now.Add(-2 * time.Second), Finished: now, Legs: 120, LegsChanged: 30, Rejected: 1, Requests: 9, Retries: 2, RateLimited: 1}}}
}

func (l *loads) Reload(ctx context.Context, _ time.Duration) []load.Result { return l.Incremental(ctx) }

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
		return due{name: name, wait: name == "nightly", load: func(ctx context.Context) []load.Result {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			return l.Incremental(ctx)
		}}
	}
	done := make(chan struct{})
	go func() { s.job(context.Background(), load("first")).Run(); close(done) }()
	for {
		l.mu.Lock()
		started := l.calls == 1
		l.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.job(context.Background(), load("incremental")).Run() // returns at once: skipped
	s.job(context.Background(), load("nightly")).Run()     // returns at once: queued
	close(l.release)
	<-done
	if strings.Join(ran, " ") != "first nightly" {
		t.Fatalf("loads ran: %v; want the first, then the nightly one that came due during it", ran)
	}
}

func TestAPanickingLoadDoesNotStopTheScheduler(t *testing.T) {
	l := &loads{panics: true}
	s := newScheduler(l)
	s.job(context.Background(), due{name: "incremental", load: l.Incremental}).Run()
	s.job(context.Background(), due{name: "incremental", load: l.Incremental}).Run()
	if l.calls != 2 {
		t.Fatalf("%d loads ran after a panic, want 2", l.calls)
	}
}

func TestMetricsCountRunsPerTarget(t *testing.T) {
	l := &loads{}
	s := newScheduler(l)
	s.Metrics.Known("callcenter:9")
	s.job(context.Background(), due{name: "incremental", load: l.Incremental}).Run()
	s.job(context.Background(), due{name: "incremental", load: l.Incremental}).Run()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`dialpad_etl_runs_total{kind="incremental",status="succeeded",target="department:7"} 2`,
		`dialpad_etl_legs_loaded_total{target="department:7"} 240`,
		`dialpad_etl_legs_changed_total{target="department:7"} 60`,
		`dialpad_etl_api_rate_limited_total{target="department:7"} 2`,
		`dialpad_etl_legs_loaded_total{target="callcenter:9"} 0`,
		`dialpad_etl_running 0`,
		"# TYPE go_goroutines gauge",
		"# TYPE process_start_time_seconds gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	// Unix times, never a sentinel: a target without a success since the
	// start shows the start, so time() - x alerts on it as on the others.
	start := metricValue(t, body, "dialpad_etl_start_time_seconds")
	if never := metricValue(t, body, `dialpad_etl_last_success_timestamp_seconds{target="callcenter:9"}`); never != start || start < 1.7e9 {
		t.Errorf("last success of a target that never loaded = %v, want the start %v", never, start)
	}
	if done := metricValue(t, body, `dialpad_etl_last_success_timestamp_seconds{target="department:7"}`); done < start {
		t.Errorf("last success of department:7 = %v, before the start %v", done, start)
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Errorf("/healthz answered %d", rec.Code)
	}
}

func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no %s in\n%s", series, body)
	return 0
}

// /healthz turns unhealthy when a target has gone without a successful
// load for longer than MaxAge, and names it; a success makes it healthy.
func TestHealthzSaysWhenATargetStopsLoading(t *testing.T) {
	now := time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)
	s := newScheduler(&loads{})
	s.Metrics = NewMetrics(func() time.Time { return now })
	s.MaxAge = time.Hour
	s.Metrics.Known("department:7", "callcenter:9")
	clock := now
	s.Now = func() time.Time { return clock }
	health := func() (int, string) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, _ := health(); code != 200 {
		t.Fatalf("just started: %d", code)
	}
	clock = now.Add(2 * time.Hour)
	code, body := health()
	if code != 503 || !strings.Contains(body, "department:7: no successful load for 2h0m0s") || !strings.Contains(body, "callcenter:9") ||
		!strings.Contains(body, "ETL_HEALTH_MAX_AGE") {
		t.Errorf("two hours without a load: %d %q, want 503 naming both targets", code, body)
	}
	t7 := dialpad.Target{Type: "department", ID: 7}
	s.Metrics.Observe([]load.Result{{Run: warehouse.Run{Target: t7, Kind: load.KindIncremental, Status: "succeeded", Finished: clock}}})
	code, body = health()
	if code != 503 || strings.Contains(body, "department:7") || !strings.Contains(body, "callcenter:9") {
		t.Errorf("after department:7 loaded: %d %q, want only callcenter:9 named", code, body)
	}
	// callcenter:9 is being loaded by another process (a cron run beside
	// this schedule): that is fresh too.
	s.Metrics.Observe([]load.Result{{Run: warehouse.Run{Target: dialpad.Target{Type: "callcenter", ID: 9}, Kind: load.KindIncremental,
		Status: load.StatusSkipped, Finished: clock}}})
	if code, body := health(); code != 200 {
		t.Errorf("after one loaded and the other was skipped for another process: %d %q", code, body)
	}
}

// What runs after the nightly load (the reconciliation) runs once its
// results are counted, and before a load that came due meanwhile, which
// waits for it.
func TestAfterNightlyRunsAfterTheLoadIsCounted(t *testing.T) {
	l := &loads{}
	s := newScheduler(l)
	var counted string
	release := make(chan struct{})
	afterStarted := make(chan struct{})
	s.AfterNightly = func(context.Context, time.Time) {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		counted = rec.Body.String()
		close(afterStarted)
		<-release
	}
	done := make(chan struct{})
	go func() {
		s.job(context.Background(), due{name: "nightly", load: l.Incremental, wait: true, after: s.AfterNightly}).Run()
		close(done)
	}()
	<-afterStarted
	if !strings.Contains(counted, `dialpad_etl_runs_total{kind="incremental",status="succeeded",target="department:7"} 1`) {
		t.Errorf("the nightly load was not counted before what runs after it:\n%s", counted)
	}
	s.job(context.Background(), due{name: "incremental", load: l.Incremental}).Run() // skipped: the nightly's step runs
	close(release)
	<-done
	if l.calls != 1 {
		t.Errorf("%d loads ran; want the nightly alone (the hourly one skipped while the step ran)", l.calls)
	}
}

// A task's catch-up finds the last time its schedule fired in the window:
// Monday 06:00 for a weekly report, seen on the Wednesday after, and
// nothing when the window ends before it.
func TestLastFire(t *testing.T) {
	sched, err := cron.ParseStandard("0 6 * * 1")
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 12, 2, 9, 30, 0, 0, ny) // a Wednesday
	if got, want := lastFire(sched, now, 8*24*time.Hour), time.Date(2026, 11, 30, 6, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("last fire %s, want %s", got, want)
	}
	if got := lastFire(sched, now, 24*time.Hour); !got.IsZero() {
		t.Errorf("last fire within a day: %s, want none", got)
	}
}

// A load that comes due once the context has ended does not start, nor
// does a nightly one queued before it ended.
func TestNoLoadStartsOnceTheContextEnds(t *testing.T) {
	l := &loads{release: make(chan struct{})}
	s := newScheduler(l)
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan struct{})
	first := func(ctx context.Context) []load.Result { close(started); return l.Incremental(ctx) }
	go func() { s.job(ctx, due{name: "incremental", load: first}).Run(); close(done) }()
	<-started
	s.job(ctx, due{name: "nightly", load: l.Incremental, wait: true}).Run() // queued
	cancel()
	close(l.release)
	<-done
	s.job(ctx, due{name: "incremental", load: l.Incremental}).Run()
	if l.calls != 1 {
		t.Errorf("%d loads ran; want only the one under way when the context ended", l.calls)
	}
}

// What runs after the nightly load is given the scheduler's clock.
func TestAfterNightlyIsGivenTheSchedulersClock(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 8, 1, 59, 0, 0, ny)
	s := newScheduler(&loads{})
	s.Now = func() time.Time { return now }
	var got time.Time
	after := func(_ context.Context, at time.Time) { got = at }
	s.job(context.Background(), due{name: "nightly", load: (&loads{}).Incremental, wait: true, after: after}).Run()
	if !got.Equal(now) {
		t.Errorf("after the nightly load at %s, want %s", got, now)
	}
}

// At start, a task whose schedule fired within its catch-up window, by
// the scheduler's clock, runs for that time once the first load is done.
func TestRunCatchesUpATaskByItsClockAfterTheFirstLoad(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	l := &loads{}
	s := newScheduler(l)
	s.Location = ny
	s.Hourly, s.Nightly = "0 0 30 2 *", "0 0 30 2 *" // February 30th: never
	// Monday 30 November 2026, 09:30 in New York: the weekly task was
	// due at 06:00.
	s.Now = func() time.Time { return time.Date(2026, 11, 30, 9, 30, 0, 0, ny) }
	type run struct {
		due   time.Time
		loads int
	}
	runs := make(chan run, 8)
	s.Tasks = []Task{{Name: "weekly report", Spec: "0 6 * * 1", CatchUp: 7 * 24 * time.Hour,
		Run: func(_ context.Context, due time.Time) {
			l.mu.Lock()
			defer l.mu.Unlock()
			select {
			case runs <- run{due, l.calls}:
			default:
			}
		}}}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- s.Run(ctx, "127.0.0.1:0") }()
	want := time.Date(2026, 11, 30, 6, 0, 0, 0, ny)
	// cron fires the task by the real clock too, if this runs on a Monday
	// at 06:00 in New York: that run has another due time.
	for r := range runs {
		if r.due.Equal(want) {
			if r.loads < 1 {
				t.Errorf("the catch-up ran before the first load")
			}
			break
		}
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
