package etl_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/chtest"
)

// gated holds every page until gate is closed.
type gated struct {
	etl.Source
	reading chan struct{} // closed at the first page
	gate    chan struct{}
}

func (g *gated) ListCalls(ctx context.Context, t dialpad.Target, w dialpad.Window, fn func(*dialpad.Page) error) error {
	return g.Source.ListCalls(ctx, t, w, func(p *dialpad.Page) error {
		select {
		case <-g.reading:
		default:
			close(g.reading)
		}
		<-g.gate
		return fn(p)
	})
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
	job := func(src etl.Source, owner string) *etl.Job {
		return &etl.Job{Source: src, Store: migrated(t, addr, db), Targets: sim.Targets()[:2], Location: time.UTC, Lookback: time.Hour,
			Start: day(2), Now: func() time.Time { return day(4) }, Owner: owner}
	}
	g := &gated{Source: client, reading: make(chan struct{}), gate: make(chan struct{})}
	first, second := job(g, "first"), job(client, "second")

	done := make(chan []etl.Result)
	go func() { done <- first.Incremental(ctx) }()
	<-g.reading
	requests := sim.Stats().Requests
	results := second.Incremental(ctx)
	if n := sim.Stats().Requests - requests; n != 0 {
		t.Errorf("the second load sent %d requests, want none", n)
	}
	if len(results) != 2 {
		t.Fatalf("second load: %d results, want one per target", len(results))
	}
	for _, r := range results {
		if r.Err != nil || r.Run.Status != etl.StatusSkipped || !strings.Contains(r.Run.Error, "first") {
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
	if err := first.Store.Conn().QueryRow(ctx, "SELECT countIf(status = 'skipped') FROM etl_runs").Scan(&skipped); err != nil || skipped != 2 {
		t.Errorf("etl_runs has %d skipped runs, %v; want 2", skipped, err)
	}
	// Released: a later load takes the targets.
	for _, r := range second.Incremental(ctx) {
		if r.Err != nil || r.Run.Status != "succeeded" {
			t.Errorf("a later load of %s: %s %v", r.Run.Target, r.Run.Status, r.Err)
		}
	}
}
