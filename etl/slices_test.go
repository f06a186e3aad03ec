package etl_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/chtest"
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
		Faults: simulator.Faults{Latency: 20 * time.Millisecond}})
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
	job := &etl.Job{Source: client, Store: store, Targets: []dialpad.Target{target}, Location: time.UTC,
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
	rows, err := store.Conn().Query(ctx, "SELECT call_id FROM calls FINAL ORDER BY call_id")
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
		c, err := dialpad.DecodeCall(raw)
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
