package derive_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/staffing"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// staffRow is a row of staffing.
type staffRow struct {
	offered   float64
	handleMs  uint64
	erlangs   float64
	required  uint32
	scheduled uint32
	weeks     uint8
}

// ivRow is a row of target_intervals, as the staffing reads it.
type ivRow struct {
	day               time.Time
	offered, answered uint32
	handleMs          uint64
}

// Five weeks of a simulated company whose calls follow the hours of its
// weekdays, on both engines: each past interval needs what Erlang C says
// of its own offered calls and handle time (its agents' after-call work
// included), and each forecast interval holds the mean of the same
// weekday and time of the (three) weeks before its day, leaving out an
// excluded day; the forecast reaches 14 days past today and no further.
func TestStaffingOfASimulatedCompany(t *testing.T) {
	ctx := context.Background()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 6, 8, 0, 0, 0, 0, ny) // a Monday
	end := start.AddDate(0, 0, 35)                 // five weeks; clocks unchanged all along
	now := end.Add(10 * time.Hour)                 // Monday 13 July, 10:00
	excluded := time.Date(2026, 6, 29, 0, 0, 0, 0, time.UTC)
	plan := derive.DefaultStaffing
	plan.Model.Threshold = 20 * time.Second
	plan.Weeks = 3
	plan.Exclude = []time.Time{excluded}
	w := testkit.NewWorld(t, testkit.Options{Sim: simulator.Config{Seed: 11, Start: start, End: end, CallsPerDay: 40},
		Zone: ny.String(), Now: now, Direct: true, Staffing: &plan})
	store := w.Store
	var cc dialpad.Target
	for _, tg := range w.Targets {
		if tg.Type == "callcenter" {
			cc = tg
		}
	}
	if cc.ID == 0 {
		t.Fatalf("no call center among %v", w.Targets)
	}

	intervals := func(tg dialpad.Target) map[time.Time]ivRow {
		t.Helper()
		rows, err := store.DB().Query(ctx, `SELECT interval_start, day, offered, answered, total_handle_ms
			FROM target_intervals FINAL WHERE target_type = ? AND target_id = ?`, tg.Type, uint64(tg.ID))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[time.Time]ivRow{}
		for rows.Next() {
			var s time.Time
			var r ivRow
			if err := rows.Scan(&s, &r.day, &r.offered, &r.answered, &r.handleMs); err != nil {
				t.Fatal(err)
			}
			out[s.UTC()] = r
		}
		return out
	}
	staffed := func(tg dialpad.Target, forecast uint8) map[time.Time]staffRow {
		t.Helper()
		rows, err := store.DB().Query(ctx, `SELECT interval_start, offered, handle_ms, erlangs, required, scheduled, weeks
			FROM staffing FINAL WHERE target_type = ? AND target_id = ? AND forecast = ?`, tg.Type, uint64(tg.ID), forecast)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[time.Time]staffRow{}
		for rows.Next() {
			var s time.Time
			var r staffRow
			if err := rows.Scan(&s, &r.offered, &r.handleMs, &r.erlangs, &r.required, &r.scheduled, &r.weeks); err != nil {
				t.Fatal(err)
			}
			out[s.UTC()] = r
		}
		return out
	}
	// erlangOf checks r against Erlang C of its own offered calls and
	// handle time, with the settings' goals.
	erlangOf := func(what string, r staffRow) {
		t.Helper()
		h := time.Duration(r.handleMs) * time.Millisecond
		m := plan.Model
		req := 0
		if r.offered > 0 && h > 0 {
			req = m.Required(r.offered, h)
		}
		if math.Abs(r.erlangs-r.offered*h.Seconds()/900) > 1e-9 || int(r.required) != req || int(r.scheduled) != m.Scheduled(req) {
			t.Errorf("%s: %+v; want %.4f erlangs, %d required, %d scheduled", what, r, r.offered*h.Seconds()/900, req, m.Scheduled(req))
		}
	}

	// acw is the after-call work of each target's days; handleOf is an
	// interval's talk and hold with its share of its day's after-call
	// work (the day's spread evenly over its answered calls).
	acw := map[dialpad.Target]map[time.Time]float64{}
	dateOf := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC) }
	handleOf := func(tg dialpad.Target, ivs map[time.Time]ivRow, iv ivRow) float64 {
		var answered float64
		for _, o := range ivs {
			if dateOf(o.day).Equal(dateOf(iv.day)) {
				answered += float64(o.answered)
			}
		}
		if answered == 0 {
			return float64(iv.handleMs)
		}
		return float64(iv.handleMs) + float64(iv.answered)*acw[tg][dateOf(iv.day)]/answered
	}
	near := func(got uint64, want float64) bool { return math.Abs(float64(got)-math.Round(want)) <= 1 }

	// The past: every interval from its own calls, of every day up to
	// now; as a recompute leaves it (touched), only up to the end of the
	// day after the target's last call if that is earlier: those are the
	// days a recompute touches.
	checkPast := func(stage string, touched bool) {
		t.Helper()
		for _, tg := range w.Targets {
			ivs, past := intervals(tg), staffed(tg, 0)
			until, last := now, time.Time{}
			for _, iv := range ivs {
				if d := dateOf(iv.day); d.After(last) {
					last = d
				}
			}
			if end := time.Date(last.Year(), last.Month(), last.Day()+2, 0, 0, 0, 0, ny); touched && end.Before(until) {
				until = end
			}
			want := 0
			for s := start.UTC(); s.Before(until); s = s.Add(staffing.Length) {
				want++
				r, ok := past[s]
				iv := ivs[s]
				what := fmt.Sprintf("%s: %s past interval %s", stage, tg, s.In(ny).Format("Mon 2 Jan 15:04"))
				if !ok {
					t.Errorf("%s: missing", what)
					continue
				}
				if r.offered != float64(iv.offered) {
					t.Errorf("%s: offered %v; target_intervals has %d", what, r.offered, iv.offered)
				}
				if iv.answered > 0 {
					if h := handleOf(tg, ivs, iv) / float64(iv.answered); !near(r.handleMs, h) {
						t.Errorf("%s: handle %d ms; want %.0f (%d ms of talk and hold, and after-call work, by %d calls)",
							what, r.handleMs, h, iv.handleMs, iv.answered)
					}
				}
				if iv.offered > 0 && r.handleMs == 0 {
					t.Errorf("%s: %d offered and no handle time", what, iv.offered)
				}
				erlangOf(what, r)
			}
			for s := range past {
				if s.Before(start) {
					delete(past, s) // the day before the first, which the recompute also touches
				}
			}
			if len(past) != want {
				t.Errorf("%s: %s has %d past intervals; want %d (every quarter hour up to %s)", stage, tg, len(past), want, until.In(ny))
			}
		}
	}
	checkPast("after the load", true)

	// Two agents wrap up in one busy interval of the call center's: Ana,
	// on duty for it alone, for 6 minutes; Ben, on duty for it and for
	// another call center, for 4 (half of it is this one's). Those 8
	// minutes are the day's after-call work: each answered call of the
	// day carries its share.
	ivs := intervals(cc)
	var busy time.Time
	for s := time.Date(2026, 7, 6, 9, 0, 0, 0, ny).UTC(); busy.IsZero() && s.Before(now); s = s.Add(staffing.Length) {
		if ivs[s].answered > 0 {
			busy = s
		}
	}
	if busy.IsZero() {
		t.Fatal("no answered call on Monday 6 July")
	}
	status := func(agent uint64, name, st string, ccs []uint64, from, to time.Time) {
		t.Helper()
		if err := store.DB().InsertRow(ctx, "agent_status", `INSERT INTO agent_status (agent_id, agent_name, status, on_duty,
			call_center_ids, reason, started_ms, started_at, ended_ms, ended_at, event_ms, version)`,
			agent, name, st, uint8(1), ccs, "", from.UnixMilli(), from, to.UnixMilli(), &to, from.UnixMilli(), uint64(1)); err != nil {
			t.Fatal(err)
		}
	}
	both := []uint64{uint64(cc.ID), 77}
	status(901, "Ana", "occupied", []uint64{uint64(cc.ID)}, busy, busy.Add(2*time.Minute))
	status(901, "Ana", "wrapup", []uint64{uint64(cc.ID)}, busy.Add(2*time.Minute), busy.Add(8*time.Minute))
	status(901, "Ana", "available", []uint64{uint64(cc.ID)}, busy.Add(8*time.Minute), busy.Add(15*time.Minute))
	status(902, "Ben", "wrapup", both, busy, busy.Add(4*time.Minute))
	status(902, "Ben", "available", both, busy.Add(4*time.Minute), busy.Add(15*time.Minute))
	if err := store.Derived().RebuildAgents(ctx, busy.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 7, 6, 0, 0, 0, 0, time.UTC)
	acw[cc] = map[time.Time]float64{day: 6*60000 + 4*60000/2}
	if err := store.Derived().Recompute(ctx, cc, []time.Time{day}); err != nil {
		t.Fatal(err)
	}
	checkPast("after the agents' statuses", true)

	// The forecasts: the nightly run's of the last week and the next two,
	// then a rebuild's of every day from 8 June on. The rebuild also makes
	// the past again.
	today := time.Date(2026, 7, 13, 0, 0, 0, 0, time.UTC)
	checkForecast := func(stage string, from time.Time) {
		t.Helper()
		for _, tg := range w.Targets {
			ivs := intervals(tg)
			withData := map[time.Time]bool{}
			for _, iv := range ivs {
				if iv.offered > 0 {
					withData[time.Date(iv.day.Year(), iv.day.Month(), iv.day.Day(), 0, 0, 0, 0, time.UTC)] = true
				}
			}
			forecast := staffed(tg, 1)
			n := 0
			for d := from; d.Before(today.AddDate(0, 0, 14)); d = d.AddDate(0, 0, 1) {
				for s := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, ny).UTC(); s.Before(time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, ny)); s = s.Add(staffing.Length) {
					n++
					what := fmt.Sprintf("%s: %s forecast of %s", stage, tg, s.In(ny).Format("Mon 2 Jan 15:04"))
					r, ok := forecast[s]
					if !ok {
						t.Errorf("%s: missing", what)
						continue
					}
					var sum, weeks, handle, answered float64
					for k := 1; k <= plan.Weeks; k++ {
						w := d.AddDate(0, 0, -7*k)
						if withData[w] && !w.Equal(excluded) {
							iv := ivs[s.AddDate(0, 0, -7*k)]
							sum += float64(iv.offered)
							weeks++
							if iv.answered > 0 {
								handle += handleOf(tg, ivs, iv)
								answered += float64(iv.answered)
							}
						}
					}
					if answered > 0 && !near(r.handleMs, handle/answered) {
						t.Errorf("%s: handle %d ms; want the weeks' %.0f", what, r.handleMs, handle/answered)
					}
					want := 0.0
					if weeks > 0 {
						want = sum / weeks
					}
					if math.Abs(r.offered-want) > 1e-9 || float64(r.weeks) != weeks {
						t.Errorf("%s: %.4f offered from %d weeks; want %.4f from %.0f", what, r.offered, r.weeks, want, weeks)
					}
					erlangOf(what, r)
				}
			}
			if len(forecast) != n {
				t.Errorf("%s: %s has %d forecast intervals; want %d (%s to 26 July)", stage, tg, len(forecast), n, from.Format("2 Jan"))
			}
			// The weekdays differ from the weekends: the pattern is there.
			mon, sun := forecast[time.Date(2026, 7, 20, 11, 0, 0, 0, ny).UTC()], forecast[time.Date(2026, 7, 19, 11, 0, 0, 0, ny).UTC()]
			if mon.offered <= sun.offered || mon.required == 0 {
				t.Errorf("%s: %s: Monday 11:00 forecast %+v, Sunday's %+v: want more calls on the weekday", stage, tg, mon, sun)
			}
		}
	}
	if err := store.Derived().PlanStaffing(ctx, w.Targets, time.Time{}, now); err != nil {
		t.Fatal(err)
	}
	checkForecast("the nightly run", today.AddDate(0, 0, -7))
	if err := store.Derived().RebuildStaffing(ctx); err != nil {
		t.Fatal(err)
	}
	checkPast("after the rebuild", false)
	checkForecast("after the rebuild", time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC))
}
