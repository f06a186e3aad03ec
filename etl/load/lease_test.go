package load_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// gated holds every page until gate is closed.
type gated struct {
	load.Source
	held atomic.Int64 // pages held so far
	gate chan struct{}
}

func (g *gated) ListCalls(ctx context.Context, t dialpad.Target, w dialpad.Window, fn func(*wire.Page) error) error {
	return g.Source.ListCalls(ctx, t, w, func(p *wire.Page) error {
		g.held.Add(1)
		<-g.gate
		return fn(p)
	})
}

// asked counts what a load asks of Dialpad.
type asked struct {
	load.Source
	n atomic.Int64
}

func (a *asked) ListCalls(ctx context.Context, t dialpad.Target, w dialpad.Window, fn func(*wire.Page) error) error {
	a.n.Add(1)
	return a.Source.ListCalls(ctx, t, w, fn)
}

func (a *asked) Operators(ctx context.Context, t dialpad.Target) ([]dialpad.Operator, error) {
	a.n.Add(1)
	return a.Source.Operators(ctx, t)
}

// Two processes load the same targets at once (a cron run beside
// schedule): the second skips every target the first holds, records the
// runs as skipped, and asks Dialpad for nothing.
func TestASecondLoadSkipsTheTargetsOfTheFirst(t *testing.T) {
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	sim, client := simulated(t, simulator.Config{Seed: 4, Start: day(2), End: day(4), Now: func() time.Time { return day(9) },
		CallsPerDay: 20})
	addr, db := chtest.Database(t)
	job := func(src load.Source, owner lease.Owner) *load.Job {
		st := migrated(t, addr, db)
		return &load.Job{Source: src, Store: st, Derived: st.Derived(), Leases: st.Leases(), Targets: sim.Targets()[:2], Location: time.UTC, Lookback: time.Hour,
			Start: day(2), Now: func() time.Time { return day(4) }, Owner: owner}
	}
	g := &gated{Source: client, gate: make(chan struct{})}
	secondAsks := &asked{Source: client}
	first, second := job(g, "first"), job(secondAsks, "second")

	done := make(chan []load.Result)
	go func() { done <- first.Incremental(ctx) }()
	// Every window of the first load (2 targets x 2 days) holds its first
	// page until the gate opens.
	for g.held.Load() < 4 {
		time.Sleep(10 * time.Millisecond)
	}
	results := second.Incremental(ctx)
	if n := secondAsks.n.Load(); n != 0 {
		t.Errorf("the second load asked Dialpad %d times, want never", n)
	}
	if len(results) != 2 {
		t.Fatalf("second load: %d results, want one per target", len(results))
	}
	for _, r := range results {
		if r.Err != nil || r.Run.Status != load.StatusSkipped || !strings.Contains(r.Run.Error, "first") {
			t.Errorf("second load of %s: %s %q, %v; want skipped, naming the holder", r.Run.Target, r.Run.Status, r.Run.Error, r.Err)
		}
	}
	close(g.gate)
	for _, r := range <-done {
		if r.Err != nil || r.Run.Status != "succeeded" {
			t.Errorf("first load of %s: %s %v", r.Run.Target, r.Run.Status, r.Err)
		}
	}
	var skipped uint64
	if err := first.Store.(*warehouse.Store).DB().QueryRow(ctx, "SELECT countIf(status = 'skipped') FROM etl_runs").Scan(&skipped); err != nil || skipped != 2 {
		t.Errorf("etl_runs has %d skipped runs, %v; want 2", skipped, err)
	}
	// Released: a later load takes the targets.
	for _, r := range second.Incremental(ctx) {
		if r.Err != nil || r.Run.Status != "succeeded" {
			t.Errorf("a later load of %s: %s %v", r.Run.Target, r.Run.Status, r.Err)
		}
	}
}

// A rebuild into another zone while a schedule is up: the schedule's next
// load refuses to write days of its old zone.
func TestALoadRefusesAZoneChangedSinceItsStart(t *testing.T) {
	ctx := context.Background()
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	sim, client := simulated(t, simulator.Config{Seed: 5, Start: day(2), End: day(3), Now: func() time.Time { return day(9) },
		CallsPerDay: 10})
	addr, db := chtest.Database(t)
	st := migrated(t, addr, db)
	job := &load.Job{Source: client, Store: st, Derived: st.Derived(), Leases: st.Leases(), Targets: sim.Targets()[:1], Location: time.UTC,
		Lookback: time.Hour, Start: day(2), Now: func() time.Time { return day(3) }}
	for _, r := range job.Incremental(ctx) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	chicago, _ := time.LoadLocation("America/Chicago")
	rebuilt, err := warehouse.Open(ctx, warehouse.Options{Addr: addr, Database: db, Location: chicago})
	if err != nil {
		t.Fatal(err)
	}
	defer rebuilt.Close()
	if err := rebuilt.Derived().Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var ze *derive.ZoneError
	for _, r := range job.Incremental(ctx) {
		if !errors.As(r.Err, &ze) || r.Run.Status != "failed" {
			t.Errorf("a load in UTC after a rebuild in Chicago: %s %v, want it refused", r.Run.Status, r.Err)
		}
	}
}
