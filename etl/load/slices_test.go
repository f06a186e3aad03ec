package load_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// inFlight counts the requests a handler is answering at once.
type inFlight struct {
	http.Handler
	mu       sync.Mutex
	now, max int
}

func (f *inFlight) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.now++
	f.max = max(f.max, f.now)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.now--; f.mu.Unlock() }()
	f.Handler.ServeHTTP(w, r)
}

// A load of a single day, the hourly run's case, keeps ETL_CONCURRENCY
// requests in flight, and still loads every leg once: the slices of a
// window neither overlap nor leave a gap.
func TestOneWindowKeepsEveryWorkerBusy(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) // a Wednesday
	sim, err := simulator.New(simulator.Config{Seed: 5, Start: day, End: day.AddDate(0, 0, 1), CallsPerDay: 300,
		RateLimit: -1, Location: time.UTC, Now: func() time.Time { return day.AddDate(0, 0, 2) },
		Faults: simulator.Faults{Latency: 100 * time.Millisecond}}) // long enough that all 8 overlap on a busy machine
	if err != nil {
		t.Fatal(err)
	}
	counted := &inFlight{Handler: sim}
	srv := httptest.NewServer(counted)
	t.Cleanup(srv.Close)
	client, err := dialpad.New(srv.URL, "sim-token", dialpad.WithRateLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	target := sim.Targets()[0]
	want := sim.Legs(target, day, day.AddDate(0, 0, 1))
	if len(want) < 40*25 {
		t.Fatalf("the simulator serves %d legs; the test needs at least 40 pages", len(want))
	}
	addr, db := chtest.Database(t)
	store := migrated(t, addr, db)
	counted.mu.Lock()
	counted.max = 0
	counted.mu.Unlock()
	job := &load.Job{Source: client, Store: store, Derived: store.Derived(), Leases: store.Leases(), Targets: []dialpad.Target{target}, Location: time.UTC,
		Start: day, Concurrency: 8, Now: func() time.Time { return day.AddDate(0, 0, 2) }}
	results := job.Backfill(ctx, day, day.AddDate(0, 0, 1), nil, true)
	if len(results) != 1 || results[0].Err != nil {
		t.Fatalf("backfill: %+v", results)
	}
	if counted.max != 8 {
		t.Errorf("at most %d requests were in flight for one window, want ETL_CONCURRENCY = 8", counted.max)
	}
	if got := results[0].Run.Legs; got != int64(len(want)) {
		t.Errorf("the run read %d legs, the window holds %d: a slice read another's legs, or missed some", got, len(want))
	}
	if got := results[0].Run.LegsChanged; got != int64(len(want)) {
		t.Errorf("the first load counted %d legs new or changed, want all %d", got, len(want))
	}
	// Read again, nothing changed: the legs shared inserts across slices,
	// and each is still counted once.
	again := job.Backfill(ctx, day, day.AddDate(0, 0, 1), nil, true)
	if len(again) != 1 || again[0].Err != nil || again[0].Run.Legs != int64(len(want)) || again[0].Run.LegsChanged != 0 {
		t.Errorf("a second load of the same day: %+v, want %d legs read and none new or changed", again, len(want))
	}
	var ids []uint64
	rows, err := store.DB().Query(ctx, "SELECT call_id FROM calls FINAL ORDER BY call_id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var wantIDs []uint64
	for _, raw := range want {
		c, err := wire.DecodeCall(raw)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs = append(wantIDs, uint64(c.CallID))
	}
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("calls holds %d legs, the simulator served %d (or other ones)", len(ids), len(wantIDs))
	}
	if loaded, err := store.LoadedWindows(ctx, target, dialpad.Window{From: day, To: day.AddDate(0, 0, 1)}); err != nil || len(loaded) != 1 {
		t.Errorf("loaded windows %v, %v; want the one day", loaded, err)
	}
}

// cancelling cancels the load after a number of pages.
type cancelling struct {
	load.Source
	after  int64
	pages  atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelling) ListCalls(ctx context.Context, t dialpad.Target, w dialpad.Window, fn func(*wire.Page) error) error {
	return c.Source.ListCalls(ctx, t, w, func(p *wire.Page) error {
		if c.pages.Add(1) == c.after {
			c.cancel()
		}
		return fn(p)
	})
}

// A load stopped part-way through a month (SIGTERM) returns with every
// slice and insert ended, records the run as cancelled, and moves the
// mark over nothing it did not recompute: its month was never complete.
// The next load then gets every leg and agent day right.
func TestACancelledLoadEndsAndLeavesNoGap(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	sim, client := simulated(t, simulator.Config{Seed: 9, Start: day(2), End: day(12), Now: func() time.Time { return day(14) },
		CallsPerDay: 60})
	addr, db := chtest.Database(t)
	store := migrated(t, addr, db)
	target := sim.Targets()[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &cancelling{Source: client, after: 6, cancel: cancel}
	job := &load.Job{Source: src, Store: store, Derived: store.Derived(), Leases: store.Leases(), Targets: []dialpad.Target{target}, Location: time.UTC, Start: day(2),
		Lookback: time.Hour, Concurrency: 4, BatchSize: 50, Now: func() time.Time { return day(12) }}
	done := make(chan []load.Result)
	go func() { done <- job.Incremental(ctx) }()
	var results []load.Result
	select {
	case results = <-done:
	case <-time.After(time.Minute):
		t.Fatal("a cancelled load did not return within a minute")
	}
	if len(results) != 1 || results[0].Run.Status != "cancelled" {
		t.Fatalf("cancelled load: %+v, want one cancelled run", results)
	}
	if mark, ok, err := store.HighWater(context.Background(), target); err != nil || (ok && mark.After(day(2))) {
		t.Errorf("mark %v (%v, %v) after a load cancelled in its first month, want none past %v", mark, ok, err, day(2))
	}
	job.Source = client
	if results := job.Incremental(context.Background()); len(results) != 1 || results[0].Err != nil {
		t.Fatalf("the next load: %+v", results)
	}
	var legs, days uint64
	if err := store.DB().QueryRow(context.Background(), "SELECT count() FROM calls FINAL").Scan(&legs); err != nil {
		t.Fatal(err)
	}
	if want := len(sim.Legs(target, day(2), day(12))); int(legs) != want {
		t.Errorf("calls holds %d legs after the next load, the simulator %d", legs, want)
	}
	if err := store.DB().QueryRow(context.Background(), "SELECT sum(total_calls) FROM agent_daily FINAL").Scan(&days); err != nil {
		t.Fatal(err)
	}
	var agentLegs uint64
	if err := store.DB().QueryRow(context.Background(), "SELECT count() FROM calls FINAL WHERE agent_id != 0").Scan(&agentLegs); err != nil {
		t.Fatal(err)
	}
	if days != agentLegs || days == 0 {
		t.Errorf("agent days count %d legs, calls holds %d agent legs", days, agentLegs)
	}
}
