package events_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// End to end, on the simulator and ClickHouse: the nightly load of the
// call center's dispositions export, asked for and read by the client,
// leaves in call_feedback (FINAL) one row per agent leg that started in
// the days and ended before the export, with exactly the dispositions
// the leg's dispositions event gives, and the days derived again.
func TestTheNightlyDispositionsOfTheSimulatedCallCenter(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 6, 3, 4, 0, 0, 0, time.UTC) // midnight in New York
	clock := end.Add(2 * time.Hour)
	sim, err := simulator.New(simulator.Config{Seed: 31, Start: end.Add(-3 * 24 * time.Hour), End: end, CallsPerDay: 60,
		RateLimit: -1, Location: ny, Now: func() time.Time { return clock }, ExportDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := dialpad.New(srv.URL, "sim-token", dialpad.WithClock(func() time.Time { return clock }),
		dialpad.WithExportPolling(10*time.Millisecond, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var center dialpad.Target
	for _, tg := range sim.Targets() {
		if tg.Type == "callcenter" {
			center = tg
			break
		}
	}
	if center.ID == 0 {
		t.Fatal("the simulated company has no call center")
	}
	store := chtest.NewTwin(t).Migrated(warehouse.Options{Location: ny})
	d := &events.DispositionLoad{Exports: client, Store: events.NewStorage(store.DB()), Derived: store.Derived(),
		Leases: store.Leases(), Targets: []dialpad.Target{center}, Location: ny}
	first, last := time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	res := d.Run(context.Background(), first, last)
	if len(res) != 1 || res[0].Err != nil || res[0].Bad != 0 {
		t.Fatalf("results %+v, want the call center's export loaded whole", res)
	}

	// What the dispositions events of the call center's agent legs of
	// those days say.
	from, to := time.Date(2026, 5, 31, 0, 0, 0, 0, ny), time.Date(2026, 6, 3, 0, 0, 0, 0, ny)
	want := map[int64][]string{}
	for _, ev := range sim.Events(from, clock.Add(24*time.Hour)) {
		if ev.State != "dispositions" {
			continue
		}
		e, err := wire.DecodeEvent(ev.Claims)
		if err != nil {
			t.Fatal(err)
		}
		c := e.Call
		startedAt := time.UnixMilli(int64(c.DateStarted))
		if c.EntryPointTarget.ID != wire.ID(center.ID) || startedAt.Before(from) || !startedAt.Before(to) ||
			time.UnixMilli(int64(c.DateEnded)).After(clock) {
			continue
		}
		want[int64(c.CallID)] = events.SortedNames(c.Dispositions)
	}
	if len(want) < 5 {
		t.Fatalf("only %d legs with dispositions in the simulated days", len(want))
	}
	rows, err := store.DB().Query(context.Background(), `SELECT call_id, names, toString(source), extra FROM call_feedback FINAL
		WHERE target_type = 'callcenter' AND target_id = ? AND kind = 'disposition'`, uint64(center.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64][]string{}
	for rows.Next() {
		var id uint64
		var names []string
		var source, extra string
		if err := rows.Scan(&id, &names, &source, &extra); err != nil {
			t.Fatal(err)
		}
		if source != "export" || extra == "" || extra == "{}" {
			t.Errorf("leg %d: source %s, extra %s; want export, with the unread columns", id, source, extra)
		}
		got[int64(id)] = names
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, names := range want {
		if !slices.Equal(got[id], names) {
			t.Errorf("leg %d: stored dispositions %q, the event gives %q", id, got[id], names)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("leg %d stored, but no dispositions event of the days gives it", id)
		}
	}
	t.Logf("%d legs with dispositions, %d stored, days %v", len(want), len(got), res[0].Days)
	if len(res[0].Days) == 0 {
		t.Error("no day recomputed")
	}
}
