package load_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// failing fails ListCalls for windows that start at or after failFrom.
type failing struct {
	load.Source
	failFrom time.Time
}

var errInjected = errors.New("injected: connection reset by peer")

func (f failing) ListCalls(ctx context.Context, t dialpad.Target, w dialpad.Window, fn func(*wire.Page) error) error {
	if !w.From.Before(f.failFrom) {
		// Hand over one page first, so the window fails half-way.
		err := f.Source.ListCalls(ctx, t, w, func(p *wire.Page) error {
			if err := fn(p); err != nil {
				return err
			}
			return errInjected
		})
		if err == nil {
			err = errInjected
		}
		return err
	}
	return f.Source.ListCalls(ctx, t, w, fn)
}

// simulated serves a simulator of cfg (no rate limit, UTC) over HTTP for
// the test, and returns it with a client of it.
func simulated(t *testing.T, cfg simulator.Config) (*simulator.Sim, *dialpad.Client) {
	t.Helper()
	cfg.RateLimit, cfg.Location = -1, time.UTC
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := dialpad.New(srv.URL, "sim-token")
	if err != nil {
		t.Fatal(err)
	}
	return sim, client
}

// migrated opens a store on database db, with the schema applied, as one
// process of the job would.
func migrated(t *testing.T, addr, db string) *warehouse.Store {
	t.Helper()
	store, err := warehouse.Open(context.Background(), warehouse.Options{Addr: addr, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store
}

func TestMarkStopsAtTheFirstWindowThatFailed(t *testing.T) {
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	sim, client := simulated(t, simulator.Config{Seed: 3, Start: day(2), End: day(7), Now: func() time.Time { return day(9) },
		CallsPerDay: 40})
	addr, db := chtest.Database(t)
	store := migrated(t, addr, db)
	target := sim.Targets()[0]
	job := &load.Job{
		Source: failing{Source: client, failFrom: day(5)},
		Store:  store, Derived: store.Derived(), Leases: store.Leases(),
		Targets:  []dialpad.Target{target},
		Location: time.UTC,
		Lookback: 24 * time.Hour,
		Start:    day(2),
		Now:      func() time.Time { return day(7) },
	}

	results := job.Incremental(ctx)
	if len(results) != 1 || results[0].Err == nil {
		t.Fatalf("a load with failing windows reported %+v, want one failed result", results)
	}
	r := results[0].Run
	if r.Status != "failed" || !strings.Contains(r.Error, "connection reset") {
		t.Errorf("run recorded as %s %q, want failed with the cause", r.Status, r.Error)
	}
	mark, ok, err := store.HighWater(ctx, target)
	if err != nil || !ok || !mark.Equal(day(5)) {
		t.Fatalf("mark after a load that failed from day 5 on = %v (ok=%v, err=%v), want %v: only the windows loaded without a gap count", mark, ok, err, day(5))
	}

	// The failed windows wrote part of their legs; the next, healthy run
	// starts a lookback before the mark and loads the rest.
	job.Source = client
	if results := job.Incremental(ctx); results[0].Err != nil {
		t.Fatalf("healthy run: %v", results[0].Err)
	}
	if mark, _, _ := store.HighWater(ctx, target); !mark.Equal(day(7)) {
		t.Errorf("mark after a healthy run = %v, want %v", mark, day(7))
	}
	var got uint64
	if err := store.DB().QueryRow(ctx, "SELECT count() FROM calls FINAL").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := len(sim.Legs(target, day(2), day(7))); int(got) != want {
		t.Errorf("calls holds %d legs after the healthy run, want the simulator's %d", got, want)
	}
}

func TestSplitDaysCutsAtTheZonesMidnights(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	// 2026-03-08 is 23 hours long in Chicago (daylight saving starts).
	from := time.Date(2026, 3, 7, 12, 0, 0, 0, chicago)
	to := time.Date(2026, 3, 9, 6, 0, 0, 0, chicago)
	got := load.SplitDays(dialpad.Window{From: from, To: to}, chicago)
	want := []string{
		"2026-03-07T18:00:00Z/2026-03-08T06:00:00Z",
		"2026-03-08T06:00:00Z/2026-03-09T05:00:00Z",
		"2026-03-09T05:00:00Z/2026-03-09T11:00:00Z",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("window %d = %s, want %s", i, got[i], want[i])
		}
	}
}
