package grafana

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// The Workforce dashboard over rows worked out by hand, which loadFixture
// adds (workforceFixture): a call center of its own, handCenter, whose
// agents' status changes the event receiver's storage records and the
// job counts into intervals (derive), and whose calls per interval and
// agents' days are written as the recompute writes them.

// handCenter is the hand-worked call center; otherCenter another one that
// one of its agents is on duty for.
var (
	handCenter  = dialpad.Target{Type: "callcenter", ID: 4242}
	otherCenter = dialpad.Target{Type: "callcenter", ID: 4243}
)

// The hand-worked agents. Ana and Bo are operators of handCenter (and of
// the fixture's first target); Cy is one too, without a status; Dee is
// on duty for handCenter without being listed. Eve, not listed either,
// is on duty for it only days earlier (eveStatuses), around a whole day.
const (
	ana uint64 = 9100001 + iota
	bo
	cy
	dee
	eve
)

// handStatus is a status change, at min minutes after handBase.
type handStatus struct {
	agent   uint64
	name    string
	min     int
	status  string
	reason  string
	centers []int64
}

var handStatuses = []handStatus{
	// Ana: available, on a call from 20, wrap-up from 50, available from
	// 60, off duty for lunch 90-120, available again, off duty from 150 on.
	{ana, "Ana", 0, "available", "", []int64{4242}},
	{ana, "Ana", 20, "occupied", "", []int64{4242}},
	{ana, "Ana", 50, "wrapup", "", []int64{4242}},
	{ana, "Ana", 60, "available", "", []int64{4242}},
	{ana, "Ana", 90, "unavailable", "Lunch", nil},
	{ana, "Ana", 120, "available", "", []int64{4242}},
	{ana, "Ana", 150, "unavailable", "", nil},
	// Bo: available, busy from 30, then 30 minutes the job missed
	// (unknown, as the duty-status repair records it), on a call from 75,
	// wrap-up from 105, off duty for a meeting from 120 on.
	{bo, "Bo", 0, "available", "", []int64{4242}},
	{bo, "Bo", 30, "busy", "", []int64{4242}},
	{bo, "Bo", 45, "unknown", "", nil},
	{bo, "Bo", 75, "occupied", "", []int64{4242}},
	{bo, "Bo", 105, "wrapup", "", []int64{4242}},
	{bo, "Bo", 120, "unavailable", "Meeting", nil},
	// Dee: available for the other call center, from 15 for both, off
	// duty from 60 on.
	{dee, "Dee", 0, "available", "", []int64{4243}},
	{dee, "Dee", 15, "available", "", []int64{4242, 4243}},
	{dee, "Dee", 60, "unavailable", "", nil},
}

// eveStatus is a status change of Eve's, at a reporting-zone time of
// the day day days after eveDay.
type eveStatus struct {
	day, hour, min int
	status, reason string
	centers        []int64
}

// eveStatuses span eveDay, a whole day, and the evening before and the
// night after it; the last one (off duty, for no call center) lasts
// until now.
var eveStatuses = []eveStatus{
	{-1, 20, 0, "available", "", []int64{4242}},
	{-1, 22, 0, "occupied", "", []int64{4242}},
	{0, 1, 0, "wrapup", "", []int64{4242}},
	{0, 1, 30, "unavailable", "Break", nil},
	{0, 3, 0, "available", "", []int64{4242}},
	{0, 12, 0, "busy", "", []int64{4242}},
	{0, 13, 0, "available", "", []int64{4242}},
	{0, 23, 0, "unavailable", "Training", nil},
	{1, 2, 0, "available", "", []int64{4242}},
	{1, 4, 0, "unavailable", "", nil},
}

// eveDay is the start of Eve's whole day in the reporting zone: three
// days before handDay, or earlier where a day around it is not 24 hours
// long (a change of clocks), so that the hand-worked figures hold on any
// date.
func (f *fixture) eveDay() time.Time {
	at := func(d time.Time, days int) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day()+days, 0, 0, 0, 0, f.loc)
	}
	base := f.handBase().In(f.loc)
	for back := 3; ; back++ {
		d := at(base, -back)
		if at(d, -1).Add(72 * time.Hour).Equal(at(d, 2)) {
			return d
		}
	}
}

// eveAt is the time of s.
func (f *fixture) eveAt(s eveStatus) time.Time {
	d := f.eveDay()
	return time.Date(d.Year(), d.Month(), d.Day()+s.day, s.hour, s.min, 0, 0, f.loc)
}

// handBase is where the hand-worked statuses start: 14:00 UTC of the
// fixture's last day (the morning in Chicago), ten hours before its end.
func (f *fixture) handBase() time.Time { return f.end.Add(-10 * time.Hour) }

// handDay is the reporting-zone day of handBase, as a day column holds it.
// weekAfter is the first day after the "last day" range's last
// reporting-zone day (its end is f.end less a second).
func (f *fixture) weekAfter() time.Time {
	y, m, d := f.end.Add(-time.Second).In(f.loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, f.loc)
}

func (f *fixture) handDay() string { return f.handBase().In(f.loc).Format(time.DateOnly) }

// workforceFixture writes the hand-worked rows.
func workforceFixture(t *testing.T, ctx context.Context, f *fixture) {
	t.Helper()
	store, base := f.store, f.handBase()
	if err := store.DB().Exec(ctx, `INSERT INTO targets (target_type, target_id, name, updated_at, version)
		SELECT 'callcenter', 4242, 'Hand-worked center', now(), 1`); err != nil {
		t.Fatal(err)
	}
	op := func(id uint64, name string) warehouse.Agent {
		return warehouse.Agent{ID: int64(id), Kind: "user", DisplayName: name}
	}
	if err := store.WriteAgents(ctx, handCenter, []warehouse.Agent{op(ana, "Ana"), op(bo, "Bo"), op(cy, "Cy")}); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteAgents(ctx, f.targets[0], []warehouse.Agent{op(ana, "Ana"), op(bo, "Bo")}); err != nil {
		t.Fatal(err)
	}
	var evs []events.ReceivedAgent
	statuses := handStatuses
	for _, s := range eveStatuses {
		statuses = append(statuses, handStatus{agent: eve, name: "Eve", min: int(f.eveAt(s).Sub(base) / time.Minute),
			status: s.status, reason: s.reason, centers: s.centers})
	}
	for _, s := range statuses {
		at := base.Add(time.Duration(s.min) * time.Minute).UnixMilli()
		var ccs []wire.ID
		for _, c := range s.centers {
			ccs = append(ccs, wire.ID(c))
		}
		evs = append(evs, events.ReceivedAgent{Received: time.Now(), Event: &wire.AgentStatusEvent{
			Target:       wire.Party{ID: wire.ID(s.agent), Type: "user", Name: s.name},
			OnDutyStatus: s.status, OnDutyStatusReason: s.reason, CallCenterIDs: ccs,
			Date: wire.Millis(at), EventTimestamp: wire.Millis(at)}})
	}
	if err := events.NewStorage(store.DB()).WriteAgentStatus(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := store.Derived().RecountAgents(ctx, events.Changes(evs), time.Now()); err != nil {
		t.Fatal(err)
	}
	// Calls per interval: 10 offered at base (one short abandoned, six
	// answered within the threshold, 160 s of wait), 6 at base+15 and 4 at
	// base+30. The first row is written twice: the older version must not
	// count.
	day := f.handDay()
	at := func(min int) int64 { return base.Add(time.Duration(min) * time.Minute).Unix() }
	for _, r := range []string{
		fmt.Sprintf("toDateTime(%d), 99, 99, 0, 0, 99, 990000, 990000, 1", at(0)),
		fmt.Sprintf("toDateTime(%d), 10, 8, 1, 1, 6, 160000, 1600000, 2", at(0)),
		fmt.Sprintf("toDateTime(%d), 6, 6, 0, 0, 3, 240000, 900000, 2", at(15)),
		fmt.Sprintf("toDateTime(%d), 4, 2, 2, 0, 2, 20000, 300000, 2", at(30)),
	} {
		if err := store.DB().Exec(ctx, `INSERT INTO target_intervals (target_type, target_id, day, interval_start, offered, answered,
			abandoned, short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms, version)
			SELECT 'callcenter', 4242, toDate('`+day+`'), `+r); err != nil {
			t.Fatal(err)
		}
	}
	// Its staffing: what base+0 … base+60 needed (the first row written
	// twice: the older version must not count), the forecast of the same
	// intervals (base+60's from no week, base+75's yet to begin), and the
	// forecast of the week after the day, with a row of the day after it
	// and one of what that week needed, neither of which the forecast may
	// show.
	staff := func(start time.Time, forecast int, offered float64, required, scheduled, weeks int, version int) {
		t.Helper()
		y, m, dd := start.In(f.loc).Date()
		if err := store.DB().Exec(ctx, fmt.Sprintf(`INSERT INTO staffing (target_type, target_id, interval_start, day, forecast,
			offered, handle_ms, erlangs, required, scheduled, weeks, version)
			SELECT 'callcenter', 4242, toDateTime(%d), toDate('%04d-%02d-%02d'), %d, %v, 180000, 0, %d, %d, %d, %d`,
			start.Unix(), y, m, dd, forecast, offered, required, scheduled, weeks, version)); err != nil {
			t.Fatal(err)
		}
	}
	min := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	staff(min(0), 0, 99, 99, 99, 0, 1)
	for _, r := range []struct {
		min                              int
		offered, forecast                float64
		required, scheduled, weeks, done int
	}{{0, 10, 8, 3, 5, 2, 1}, {15, 6, 6, 2, 3, 2, 1}, {30, 4, 5, 1, 2, 2, 1}, {45, 0, 2, 0, 0, 2, 1}, {60, 3, 0, 1, 2, 0, 1},
		{75, 0, 9, 0, 0, 2, 0}} {
		if r.done == 1 {
			staff(min(r.min), 0, r.offered, r.required, r.scheduled, 0, 2)
		}
		staff(min(r.min), 1, r.forecast, r.required, r.scheduled, r.weeks, 2)
	}
	next := f.weekAfter()
	for _, r := range []struct {
		day, hour, min, forecast, scheduled int
	}{{1, 9, 0, 1, 4}, {1, 9, 15, 1, 6}, {1, 9, 30, 1, 5}, {1, 9, 45, 1, 3}, {2, 9, 15, 1, 7}, {8, 9, 0, 1, 99}, {1, 10, 0, 0, 88}} {
		d := next.AddDate(0, 0, r.day-1)
		staff(time.Date(d.Year(), d.Month(), d.Day(), r.hour, r.min, 0, 0, f.loc), r.forecast, 1, 1, r.scheduled, 2, 2)
	}
	// The agents' legs of the day: Ana 4 connected with 20 min of talk and
	// 2 of hold, Bo 3 with 15 min of talk.
	for _, r := range []string{
		fmt.Sprintf("%d, 'Ana', 4, 1200000, 120000", ana),
		fmt.Sprintf("%d, 'Bo', 3, 900000, 0", bo),
	} {
		if err := store.DB().Exec(ctx, `INSERT INTO agent_daily (target_type, target_id, day, agent_id, agent_name,
			completed_calls, total_duration_ms, hold_ms, version)
			SELECT 'callcenter', 4242, toDate('`+day+`'), `+r+`, 1`); err != nil {
			t.Fatal(err)
		}
	}
}

// testWorkforce checks the Workforce dashboard's figures against the
// hand-worked ones (see handStatuses and workforceFixture).
func testWorkforce(t *testing.T, ctx context.Context, f *fixture) {
	d := dashboardByUID(t, "dialpad-workforce")
	base := f.handBase()
	lastDay := span{"last day", f.end.Add(-24 * time.Hour), f.end.Add(-time.Second)}
	view := func(s span, interval string) *expansion {
		e := f.queryVars(t, ctx, d, handCenter, s, mode{name: "all", multiAll: true})
		e.Vars["interval"] = selection{Values: []string{interval}}
		return e
	}
	// at returns the row of res whose time is min minutes after base.
	at := func(res result, min int) int {
		want := base.Add(time.Duration(min) * time.Minute)
		for i, row := range res.rows {
			if ts, ok := row[slices.Index(res.cols, "time")].(time.Time); ok && ts.Equal(want) {
				return i
			}
		}
		t.Fatalf("no row at %s (base+%d min) in %v", want, min, res.rows)
		return -1
	}
	near := func(what string, got float64, ok bool, want float64) {
		t.Helper()
		if !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: %v (value: %v), want %v", what, got, ok, want)
		}
	}

	t.Run("per interval", func(t *testing.T) {
		type figure struct {
			panel, col string
			min        int
			want       float64
		}
		for interval, figures := range map[string][]figure{
			"15": {
				// 6 answered within the threshold of 10 offered, one short abandoned.
				{"Service level per interval", "Service level", 0, 6.0 / 9},
				{"Service level per interval", "Service level", 15, 3.0 / 6},
				{"Service level per interval", "Goal", 0, 0.8},
				{"Average speed of answer per interval", "Speed of answer", 0, 160.0 / 8},
				{"Offered and answered per interval", "Offered", 0, 10},
				// Ana and Bo on duty, Dee on duty for the other center.
				{staffedPanel, "Staffed agents", 0, 2},
				// Ana and Bo (busy), Dee.
				{staffedPanel, "Staffed agents", 30, 3},
				// Ana and Dee; Bo's time is unknown.
				{staffedPanel, "Staffed agents", 45, 2},
				// 3 needed (not the older version's 99), 2 on duty: 1 short.
				{staffedPanel, "Required", 0, 3},
				{staffedPanel, "Scheduled", 0, 5},
				{staffedPanel, "Short", 0, 1},
				// 1 needed, 3 on duty: none short.
				{staffedPanel, "Required", 30, 1},
				{staffedPanel, "Short", 30, 0},
				{staffedPanel, "Required", 45, 0},
			},
			"30": {
				{"Service level per interval", "Service level", 0, (6.0 + 3) / (10 + 6 - 1)},
				{"Service level per interval", "Service level", 30, 2.0 / 4},
				// 30 + 45 minutes on duty in 30.
				{staffedPanel, "Staffed agents", 0, 2.5},
				// The mean of 3 and 2 needed, of 5 and 3 scheduled.
				{staffedPanel, "Required", 0, 2.5},
				{staffedPanel, "Scheduled", 0, 4},
				{staffedPanel, "Short", 0, 0},
			},
			"60": {
				{"Offered and answered per interval", "Offered", 0, 20},
				{"Offered and answered per interval", "Answered", 0, 16},
				{"Service level per interval", "Service level", 0, 11.0 / 19},
				{"Average speed of answer per interval", "Speed of answer", 0, (160.0 + 240 + 20) / 16},
				// (30 + 45 + 45 + 30) minutes on duty in 60.
				{staffedPanel, "Staffed agents", 0, 2.5},
				// Ana 60-90, Bo 75-120: 75 minutes.
				{staffedPanel, "Staffed agents", 60, 1.25},
				// (3 + 2 + 1 + 0) / 4 needed.
				{staffedPanel, "Required", 0, 1.5},
			},
			// A size not offered (set in a URL) counts as 15 and changes
			// nothing else.
			"60' OR 1=1 --": {
				{"Service level per interval", "Service level", 0, 6.0 / 9},
				{staffedPanel, "Staffed agents", 0, 2},
				{staffedPanel, "Required", 0, 3},
			},
		} {
			e := view(lastDay, interval)
			for _, fg := range figures {
				res := panelResult(t, ctx, f, e, d, fg.panel)
				got, ok := res.number(at(res, fg.min), fg.col)
				near(fmt.Sprintf("interval %s, %s at base+%d", interval, fg.col, fg.min), got, ok, fg.want)
			}
		}
	})

	t.Run("agent time", func(t *testing.T) {
		res := panelResult(t, ctx, f, view(lastDay, "15"), d, "Agent time")
		var names []string
		for i := range res.rows {
			names = append(names, fmt.Sprint(res.rows[i][slices.Index(res.cols, "Agent")]))
		}
		// Cy is listed but has no time; Dee is not listed but was on duty.
		if !slices.Equal(names, []string{"Ana", "Bo", "Dee"}) {
			t.Fatalf("agents %v, want Ana, Bo and Dee", names)
		}
		minutes := func(m float64) float64 { return m * 60 }
		want := map[string]map[string]float64{
			// Until the end of the day (600 minutes after base), off duty
			// from 150 on: 480 minutes off duty.
			"Ana": {"On duty": minutes(120), "Available": minutes(80), "Occupied": minutes(30), "Wrap-up": minutes(10),
				"Busy": 0, "Off duty": minutes(30 + 450), "Unknown": 0,
				"Occupancy": 40.0 / 120, "Utilization": 40.0 / 120,
				// (20 min talk + 2 min hold + 10 min wrap-up) / 4 legs.
				"Handle time with after-call work": (1200 + 120 + 600) / 4.0},
			"Bo": {"On duty": minutes(90), "Available": minutes(30), "Occupied": minutes(30), "Wrap-up": minutes(15),
				"Busy": minutes(15), "Off duty": minutes(480), "Unknown": minutes(30),
				"Occupancy": 45.0 / 75, "Utilization": 45.0 / 90,
				"Handle time with after-call work": (900 + 900) / 3.0},
			"Dee": {"On duty": minutes(45), "Available": minutes(60), "Occupied": 0, "Wrap-up": 0, "Busy": 0,
				"Off duty": minutes(540), "Unknown": 0, "Occupancy": 0, "Utilization": 0},
		}
		reasons := map[string]string{"Ana": "no reason 7:30, Lunch 0:30", "Bo": "Meeting 8:00", "Dee": "no reason 9:00"}
		for i, name := range names {
			for col, w := range want[name] {
				got, ok := res.number(i, col)
				near(name+": "+col, got, ok, w)
			}
			if _, ok := res.number(i, "Handle time with after-call work"); name == "Dee" && ok {
				t.Errorf("Dee: a handle time without connected legs")
			}
			if got := fmt.Sprint(deref(res.rows[i][slices.Index(res.cols, "Off duty by reason")])); got != reasons[name] {
				t.Errorf("%s: off duty by reason %q, want %q", name, got, reasons[name])
			}
		}
	})

	// Over a range of whole days and the partial days at its ends, the
	// whole days are read from the daily sums and the ends from the
	// intervals: Eve's figures are those of the intervals that start in
	// the range, added up by hand from eveStatuses.
	t.Run("agent time over whole days", func(t *testing.T) {
		day := f.eveDay()
		hours := func(h float64) float64 { return h * 3600 }
		for _, c := range []struct {
			s       span
			want    map[string]float64
			reasons string
		}{{
			// 21:00 the evening before to 03:00 the morning after:
			// available 1 + 9 + 10 + 1 hours, occupied 2 + 1, wrap-up
			// 0.5, busy 1, off duty 1.5 (Break) + 1 + 2 (Training).
			span{"whole day and both ends", day.Add(-3 * time.Hour), day.AddDate(0, 0, 1).Add(3*time.Hour - time.Second)},
			map[string]float64{"On duty": hours(25.5), "Available": hours(21), "Occupied": hours(3), "Wrap-up": hours(0.5),
				"Busy": hours(1), "Off duty": hours(4.5), "Unknown": 0, "Occupancy": 3.5 / 24.5, "Utilization": 3.5 / 25.5},
			"Break 1:30, Training 3:00",
		}, {
			// The day alone: on duty only in its daily sums.
			span{"whole day alone", day, day.AddDate(0, 0, 1).Add(-time.Second)},
			map[string]float64{"On duty": hours(21.5), "Available": hours(19), "Occupied": hours(1), "Wrap-up": hours(0.5),
				"Busy": hours(1), "Off duty": hours(2.5), "Unknown": 0, "Occupancy": 1.5 / 20.5, "Utilization": 1.5 / 21.5},
			"Break 1:30, Training 1:00",
		}} {
			res := panelResult(t, ctx, f, view(c.s, "15"), d, "Agent time")
			// Ana, Bo and Cy have no time before handBase; Eve was on duty.
			if len(res.rows) != 1 || fmt.Sprint(res.rows[0][slices.Index(res.cols, "Agent")]) != "Eve" {
				t.Fatalf("%s: rows %v, want Eve's alone", c.s.name, res.rows)
			}
			for col, w := range c.want {
				got, ok := res.number(0, col)
				near(c.s.name+": "+col, got, ok, w)
			}
			if _, ok := res.number(0, "Handle time with after-call work"); ok {
				t.Errorf("%s: a handle time without connected legs", c.s.name)
			}
			if got := fmt.Sprint(deref(res.rows[0][slices.Index(res.cols, "Off duty by reason")])); got != c.reasons {
				t.Errorf("%s: off duty by reason %q, want %q", c.s.name, got, c.reasons)
			}
		}
	})

	t.Run("agent states", func(t *testing.T) {
		type point struct {
			min    int
			status string // "" for none: a gap, or after now
		}
		want := map[string][]point{
			"Ana": {{0, "available"}, {20, "occupied"}, {50, "wrapup"}, {60, "available"}, {90, "unavailable"}, {120, "available"}, {150, "unavailable"}},
			"Bo":  {{0, "available"}, {30, "busy"}, {45, "unknown"}, {75, "occupied"}, {105, "wrapup"}, {120, "unavailable"}},
			"Dee": {{0, "available"}, {15, "available"}, {60, "unavailable"}},
		}
		// A range that starts inside a status shows it from the range's
		// start: each agent's last point at or before 25 minutes moves
		// there.
		inside := map[string][]point{}
		for name, ps := range want {
			for i, p := range ps {
				switch {
				case p.min <= 25 && (i+1 == len(ps) || ps[i+1].min > 25):
					inside[name] = append(inside[name], point{25, p.status})
				case p.min > 25:
					inside[name] = append(inside[name], p)
				}
			}
		}
		now := time.Now()
		for _, s := range []span{lastDay, {"to now and after", base.Add(-time.Hour), now.Add(time.Hour)},
			{"from inside a status", base.Add(25 * time.Minute), now.Add(time.Hour)}} {
			want := want
			if s.name == "from inside a status" {
				want = inside
			}
			res := panelResult(t, ctx, f, view(s, "15"), d, "Agent states")
			got := map[string][]point{}
			for i, row := range res.rows {
				ts := row[slices.Index(res.cols, "time")].(time.Time)
				name := fmt.Sprint(row[slices.Index(res.cols, "Agent")])
				status := deref(row[slices.Index(res.cols, "Status")])
				if status == nil && s.to.After(now) && ts.Sub(now).Abs() < 30*time.Second {
					continue // the current status ends now
				}
				got[name] = append(got[name], point{int(ts.Sub(base) / time.Minute), fmt.Sprint(status)})
				if i > 0 && fmt.Sprint(res.rows[i-1][slices.Index(res.cols, "Agent")]) == name &&
					!res.rows[i-1][slices.Index(res.cols, "time")].(time.Time).Before(ts) {
					t.Errorf("%s: %s's rows are not in time order", s.name, name)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: the timeline is\n%v\nwant\n%v", s.name, got, want)
			}
			if s.to.After(now) {
				// Every agent's current status ends now, in a row of its own.
				ends := 0
				for _, row := range res.rows {
					if deref(row[slices.Index(res.cols, "Status")]) == nil {
						ends++
					}
				}
				if ends != 3 {
					t.Errorf("%s: %d rows end a status, want 3 (each agent's current status, at now)", s.name, ends)
				}
			}
		}
	})

	t.Run("agent states only for up to 31 days", func(t *testing.T) {
		long := span{"32 days", f.end.Add(-32 * 24 * time.Hour), f.end}
		if res := panelResult(t, ctx, f, view(long, "15"), d, "Agent states"); len(res.rows) != 0 {
			t.Errorf("%s: %d rows, want none (a month's status changes are as many as a screen shows)", long.name, len(res.rows))
		}
	})

	t.Run("agents to schedule", func(t *testing.T) {
		next := f.weekAfter()
		wd := func(plus int) string { return next.AddDate(0, 0, plus).Weekday().String()[:3] }
		for interval, want := range map[string]map[string]map[string]float64{
			// The busiest quarter hour of 09:00-10:00: 6 the first day,
			// 7 the second; none of the day after the week (99), nor of
			// what a day needed (88).
			"60": {"09:00": {wd(0): 6, wd(1): 7}},
			"15": {"09:00": {wd(0): 4}, "09:15": {wd(0): 6, wd(1): 7}, "09:30": {wd(0): 5}, "09:45": {wd(0): 3}},
		} {
			res := panelResult(t, ctx, f, view(lastDay, interval), d, "Agents to schedule in the 7 days after the range")
			if len(res.rows) != len(want) {
				t.Errorf("interval %s: %d times %v; want %d", interval, len(res.rows), res.rows, len(want))
			}
			for i := range res.rows {
				clock := fmt.Sprint(deref(res.rows[i][slices.Index(res.cols, "Time")]))
				days, ok := want[clock]
				if !ok {
					t.Errorf("interval %s: time %s, want none", interval, clock)
					continue
				}
				for _, day := range []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
					got, ok := res.number(i, day)
					if !ok || got != days[day] {
						t.Errorf("interval %s, %s %s: %v (%v), want %v", interval, day, clock, got, ok, days[day])
					}
				}
			}
		}
	})

	t.Run("forecast error", func(t *testing.T) {
		res := panelResult(t, ctx, f, view(lastDay, "15"), d, "Forecast error per weekday")
		if len(res.rows) != 1 {
			t.Fatalf("%d weekdays %v; want the hand-worked day's alone", len(res.rows), res.rows)
		}
		day, _ := time.ParseInLocation(time.DateOnly, f.handDay(), f.loc)
		if got := fmt.Sprint(deref(res.rows[0][slices.Index(res.cols, "Weekday")])); got != day.Weekday().String() {
			t.Errorf("weekday %s, want %s", got, day.Weekday())
		}
		days, _ := res.number(0, "Days")
		// Intervals with calls that have begun and a forecast from past
		// weeks: 8 for 10, 6 for 6, 5 for 4; the day: 21 (8 + 6 + 5 + 2)
		// for 20.
		perInterval, ok1 := res.number(0, "Error per interval")
		perDay, ok2 := res.number(0, "Error per day")
		near("days", days, true, 1)
		near("error per interval", perInterval, ok1, (0.2+0+0.25)/3)
		near("error per day", perDay, ok2, 1.0/20)
	})

	// The fixture's first target is a department: its agents are on duty
	// for no call center.
	t.Run("no duty outside call centers", func(t *testing.T) {
		e := f.queryVars(t, ctx, d, f.targets[0], lastDay, mode{name: "all", multiAll: true})
		res := panelResult(t, ctx, f, e, d, staffedPanel)
		required := 0.0
		for i := range res.rows {
			if n, ok := res.number(i, "Staffed agents"); ok {
				t.Fatalf("a department has %v staffed agents, want no value", n)
			}
			if n, ok := res.number(i, "Short"); ok {
				t.Fatalf("a department is %v agents short, want no value", n)
			}
			n, _ := res.number(i, "Required")
			required += n
		}
		if required == 0 {
			t.Error("the department needed no agent all day")
		}
		res = panelResult(t, ctx, f, e, d, "Agent time")
		if len(res.rows) != 2 {
			t.Errorf("the department's agent time has %d agents, want its operators Ana and Bo", len(res.rows))
		}
		for i := range res.rows {
			if _, ok := res.number(i, "On duty"); ok {
				t.Errorf("row %d: on duty for a department", i)
			}
			if occ, ok := res.number(i, "Occupancy"); !ok || occ <= 0 {
				t.Errorf("row %d: occupancy %v, want the agent's own (it does not depend on the target)", i, occ)
			}
		}
	})
}

// staffedPanel is the Workforce dashboard's panel of the agents needed
// and staffed per interval.
const staffedPanel = "Required and staffed agents per interval"

// deref is v, or what it points to (nil for a nil pointer: NULL).
func deref(v any) any {
	switch p := v.(type) {
	case *string:
		if p == nil {
			return nil
		}
		return *p
	case *float64:
		if p == nil {
			return nil
		}
		return *p
	case *time.Time:
		if p == nil {
			return nil
		}
		return *p
	}
	return v
}
