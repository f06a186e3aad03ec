package grafana

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/ccstatus"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
)

// The wallboard's panels of Dialpad's own status, from polls alone (no
// event, no load): what the poller stored of the simulator's answer, on
// both engines; no value on a department's wallboard, nor for a stale
// poll.
func TestWallboardShowsThePolledStatus(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	// The simulated company at a Thursday morning instant with callers
	// waiting in its call center's queue (its clock; the job's is the
	// real one, which the panels' now() reads).
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 5, 15, 0, 0, 0, 0, ny)
	var simNow atomic.Int64
	sim, err := simulator.New(simulator.Config{Seed: 1, Start: day.AddDate(0, 0, -4), End: day.AddDate(0, 0, 1),
		RateLimit: -1, CallsPerDay: 400, Location: ny, Now: func() time.Time { return time.UnixMilli(simNow.Load()).UTC() }})
	if err != nil {
		t.Fatal(err)
	}
	dept, cc := sim.Targets()[0], sim.Targets()[len(sim.Targets())-1]
	at := day.Add(10 * time.Hour)
	for ; at.Before(day.Add(12 * time.Hour)); at = at.Add(5 * time.Second) {
		if st, _ := sim.CallCenterStatus(cc.ID, at); st.Pending >= 2 {
			break
		}
	}
	simNow.Store(at.UnixMilli())
	served, _ := sim.CallCenterStatus(cc.ID, at)
	if served.Pending < 2 || served.OnDutyOperators == 0 || served.Availability.Status != "open" {
		t.Fatalf("the simulator serves %+v at %v, want callers waiting, operators on duty, open", served, at)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	client, err := dialpad.New(srv.URL, "sim-token", dialpad.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}

	// Earlier polls of two other call centers: 130 s old at a 15 s
	// interval is stale (past both 3 intervals and 2 minutes); 100 s old
	// at a 60 s interval is not (within 3 intervals).
	stale, slow := dialpad.Target{Type: "callcenter", ID: 301}, dialpad.Target{Type: "callcenter", ID: 302}
	now := time.Now().UTC().Truncate(time.Second)
	store := ccstatus.NewStorage(f.store.DB())
	old := dialpad.CallCenterStatus{Availability: "closed", Capacity: 1, OnDutyOperators: 2, Pending: 3, LongestWaitS: 4}
	if err := store.WriteStatus(ctx, []ccstatus.Poll{
		{Target: stale, At: now.Add(-130 * time.Second), Interval: 15 * time.Second, Status: old},
		{Target: slow, At: now.Add(-100 * time.Second), Interval: 60 * time.Second, Status: old},
	}); err != nil {
		t.Fatal(err)
	}
	// The poll, as schedule runs it: the department is not polled.
	p := &ccstatus.Poller{Source: client, Store: store, Targets: []dialpad.Target{dept, cc}, Every: 15 * time.Second}
	if err := p.Once(ctx); err != nil {
		t.Fatal(err)
	}
	polled := time.Now()
	var targets string
	for i, tg := range []dialpad.Target{dept, cc, stale, slow} {
		targets += fmt.Sprintf("%sSELECT '%s' AS t, %d AS i, 'Name %d' AS n", map[bool]string{true: "", false: " UNION ALL "}[i == 0], tg.Type, tg.ID, i)
	}
	if err := f.twin.Conn().Exec(ctx, `INSERT INTO targets (target_type, target_id, name, updated_at, version)
		SELECT t, i, n, now(), 1 FROM (`+targets+`)`); err != nil {
		t.Fatal(err)
	}

	d := dashboardByUID(t, "dialpad-wallboard")
	check := func(target dialpad.Target, want map[string]float64) {
		t.Helper()
		e := f.queryVars(t, ctx, d, target, span{"today", now.Add(-time.Hour), now}, mode{name: "one value each"})
		for _, pn := range d.Leaves() {
			n, ok := want[pn.Title]
			if !ok {
				continue
			}
			sql, err := e.Expand(pn.Targets[0].RawSQL)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.query(t, ctx, pn.Title, sql)
			if err != nil || len(res.rows) != 1 || len(res.cols) != 1 {
				t.Errorf("%s, %q: %v, %d rows of %v\n%s", target, pn.Title, err, len(res.rows), res.cols, sql)
				continue
			}
			got, has := res.number(0, res.cols[0])
			elapsed := math.Ceil(time.Since(now).Seconds()) + 1
			switch {
			case math.IsNaN(n):
				if has {
					t.Errorf("%s: %q shows %v, want no value", target, pn.Title, got)
				}
			case !has:
				t.Errorf("%s: %q shows no value, want %v", target, pn.Title, n)
			case growing[pn.Title]:
				if got < n || got > n+elapsed {
					t.Errorf("%s: %q shows %v, want %v (plus the %v s since)", target, pn.Title, got, n, elapsed)
				}
			case got != n:
				t.Errorf("%s: %q shows %v, want %v", target, pn.Title, got, n)
			}
		}
	}
	check(cc, map[string]float64{
		"Dialpad: calls waiting":    float64(served.Pending),
		"Dialpad: longest wait":     float64(served.LongestCallWaitTime),
		"Dialpad: agents on duty":   float64(served.OnDutyOperators),
		"Dialpad: agents available": float64(served.Capacity),
		"Dialpad: open":             1,
		"Dialpad status polled":     math.Floor(time.Since(polled).Seconds()),
	})
	check(dept, noPoll())
	staleWant := noPoll()
	staleWant["Dialpad status polled"] = 130
	check(stale, staleWant)
	check(slow, map[string]float64{"Dialpad: calls waiting": 3, "Dialpad: longest wait": 4, "Dialpad: agents on duty": 2,
		"Dialpad: agents available": 1, "Dialpad: open": 0, "Dialpad status polled": 100})
}

// The polls of the days older than CALLCENTER_STATUS_KEEP are dropped
// whole, on both engines; those of the day of the limit stay.
func TestCallCenterStatusDropsOldDays(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	store := ccstatus.NewStorage(f.store.DB())
	cc := dialpad.Target{Type: "callcenter", ID: 5}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var polls []ccstatus.Poll
	for _, at := range []time.Time{day.Add(-time.Second), day, day.Add(23 * time.Hour), day.AddDate(0, 0, 1).Add(time.Hour)} {
		polls = append(polls, ccstatus.Poll{Target: cc, At: at, Interval: 15 * time.Second})
	}
	if err := store.WriteStatus(ctx, polls); err != nil {
		t.Fatal(err)
	}
	// Keep 35 days at 2026-04-05 12:00: the limit falls on 2026-03-01.
	if err := store.DropDays(ctx, time.Date(2026, 4, 5, 12, 0, 0, 0, time.UTC).Add(-35*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n uint64
	var first time.Time
	if err := f.twin.Conn().QueryRow(ctx, "SELECT count(), min(polled_at) FROM callcenter_status").Scan(&n, &first); err != nil {
		t.Fatal(err)
	}
	if n != 3 || !first.Equal(day) {
		t.Errorf("%d polls from %v left, want 3 from %v", n, first, day)
	}
}
