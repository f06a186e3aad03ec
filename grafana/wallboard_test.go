package grafana

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// The wallboard over a warehouse worked out by hand: rows written into the
// tables as the event receiver and the loads write them, relative to now,
// on both engines.

var (
	support  = dialpad.Target{Type: "department", ID: 100} // the wallboard's
	sales    = dialpad.Target{Type: "department", ID: 200} // another target
	quietCCs = dialpad.Target{Type: "callcenter", ID: 300} // no calls today, none live
)

// liveRow is a row of live_calls; times are seconds from now.
type liveRow struct {
	target                           dialpad.Target
	call, conv                       uint64
	direction, state                 string
	started, waiting, event, expires int
	agent                            uint64
	version                          uint64
}

// statusRow is a row of agent_status; times are seconds from now, ended
// 0 for the current interval.
type statusRow struct {
	agent          uint64
	status         string
	onDuty         bool
	started, ended int
	version        uint64
}

// operator is a row of agents.
type operator struct {
	target  dialpad.Target
	agent   uint64
	kind    string
	name    string
	version uint64
}

// convRow is a row of conversations of today (or of yesterday).
type convRow struct {
	target    dialpad.Target
	conv      uint64
	yesterday bool
	direction string
	outcome   string
	waitMs    uint64
	version   uint64
}

var (
	// The live legs, by version: each slice is one insert, as the receiver
	// writes a later event's row after the first.
	liveV1 = []liveRow{
		// Callers waiting 10 s, 40 s and 95 s (queued 25 s after the call
		// started), and an agent's leg ringing for the second: a leg, not a
		// caller.
		{support, 1001, 1001, "inbound", "queued", -10, -10, -10, 3590, 0, 1},
		{support, 1002, 1002, "inbound", "ringing", -40, -40, -38, 3562, 0, 1},
		{support, 1012, 1002, "inbound", "ringing", -38, -38, -38, 3562, 12, 1},
		{support, 1003, 1003, "inbound", "queued", -120, -95, -95, 3505, 0, 1},
		// Last event two hours ago: expired an hour ago, no longer live.
		{support, 1004, 1004, "inbound", "queued", -7200, -7200, -7200, -3600, 0, 1},
		// Another target's caller.
		{sales, 1005, 1005, "inbound", "queued", -300, -300, -300, 3300, 0, 1},
		// Queued from -200, then hung up (version 2).
		{support, 1006, 1006, "inbound", "queued", -200, -200, -200, 3400, 0, 1},
		// A call the team places, ringing out: nobody waits for the team.
		{support, 1007, 1007, "outbound", "calling", -30, -30, -30, 3570, 11, 1},
		// Connected: the customer's line and an agent's (one call), and a
		// call on hold.
		{support, 2001, 2001, "inbound", "connected", -300, -300, -200, 3400, 0, 1},
		{support, 2011, 2001, "inbound", "connected", -290, -290, -200, 3400, 13, 1},
		{support, 2002, 2002, "inbound", "hold", -600, -600, -60, 3540, 0, 1},
		{support, 2021, 2002, "inbound", "hold", -590, -590, -60, 3540, 14, 1},
		// Expired while connected.
		{support, 2003, 2003, "inbound", "connected", -9000, -9000, -7200, -3600, 0, 1},
		// Connected, then hung up (version 2).
		{support, 2004, 2004, "outbound", "connected", -500, -500, -400, 3200, 15, 1},
		{sales, 2005, 2005, "inbound", "connected", -100, -100, -100, 3500, 0, 1},
	}
	liveV2 = []liveRow{
		{support, 1006, 1006, "inbound", "hangup", -200, -200, -150, 3450, 0, 2},
		{support, 2004, 2004, "outbound", "hangup", -500, -500, -100, 3500, 15, 2},
	}

	operators = []operator{
		{support, 11, "user", "Ana", 1}, {support, 12, "user", "Ben", 1}, {support, 12, "user", "Benjamin", 2},
		{support, 13, "user", "Cy", 1}, {support, 14, "user", "Dee", 1}, {support, 15, "user", "Eve", 1},
		{support, 16, "user", "Fay", 1}, {support, 17, "user", "Gus", 1}, {support, 19, "room", "Front desk", 1},
		{support, 20, "user", "Hal", 1}, {support, 21, "user", "Ivy", 1},
		{sales, 14, "user", "Dee", 1}, {sales, 18, "user", "Jo", 1},
	}
	statusV1 = []statusRow{
		{11, "unavailable", true, -7200, 0, 1}, // closed by version 2
		{12, "available", true, -600, 0, 1},
		{13, "available", true, -1800, 0, 1}, // never closed: the later start wins
		{13, "occupied", true, -300, 0, 1},
		{14, "busy", true, -120, 0, 1},
		{15, "wrapup", true, -30, 0, 1},
		{16, "unavailable", true, -900, 0, 1},
		{17, "available", false, -900, 0, 1}, // on duty for no call center
		{18, "available", true, -100, 0, 1},  // not an operator of the target
		{19, "available", true, -100, 0, 1},  // a room, not an agent
		{21, "available", true, -4000, 0, 1}, // closed by version 2, nothing since
	}
	statusV2 = []statusRow{
		{11, "unavailable", true, -7200, -3600, 2},
		{11, "available", true, -3600, 0, 2},
		{21, "available", true, -4000, -2000, 2},
	}

	convV1 = []convRow{
		{support, 3001, false, "inbound", "answered", 5000, 1},
		{support, 3002, false, "inbound", "missed", 0, 1}, // answered after all (version 2)
		{support, 3003, false, "inbound", "answered", 60000, 1},
		{support, 3004, false, "inbound", "answered", 60001, 1},
		{support, 3005, false, "inbound", "answered", 120000, 1},
		{support, 3006, false, "inbound", "missed", 0, 1},
		{support, 3007, false, "inbound", "missed", 0, 1},
		{support, 3008, false, "inbound", "voicemail", 0, 1},
		{support, 3009, false, "outbound", "answered", 3000, 1},
		{support, 3010, false, "outbound", "cancelled", 0, 1},
		{support, 3101, true, "inbound", "answered", 1000, 1},
		{support, 3102, true, "inbound", "answered", 1000, 1},
		{support, 3103, true, "inbound", "missed", 0, 1},
		{sales, 3201, false, "inbound", "answered", 1000, 1},
		{sales, 3202, false, "inbound", "missed", 0, 1},
		{quietCCs, 3301, true, "inbound", "answered", 1000, 1},
	}
	convV2 = []convRow{
		{support, 3002, false, "inbound", "answered", 30000, 2},
	}
)

// noValue is what a panel shows when its query gives no value.
var noValue = math.NaN()

// The panels' figures, worked out from the rows above.
var (
	todayWant = map[string]float64{
		"Answered today": 5, // 3001, 3002 (its newer version), 3003, 3004, 3005; not the outbound 3009
		"Missed today":   3, // 3006, 3007, 3008 (voicemail)
		// Within 60 s: 3001, 3002, 3003 (60 000 ms exactly); of 8 inbound.
		"Service level today": 3.0 / 8,
	}
	liveWant = map[string]float64{
		"Calls waiting":       3,  // 1001, 1002, 1003
		"Longest wait":        95, // 1003, queued 95 s ago; not 1004 (expired) nor 1006 (ended)
		"Calls connected":     2,  // 2001 (two legs), 2002 (hold)
		"Agents available":    2,  // 11, 12
		"Agents on a call":    2,  // 13 (occupied), 14 (busy)
		"Agents in wrap-up":   1,  // 15
		"Agents unavailable":  2,  // 16, 17 (off duty)
		"Last event received": 5,
	}
	// growing are the figures that grow with the clock from when the rows
	// were written.
	growing = map[string]bool{"Longest wait": true, "Last event received": true, "Dialpad status polled": true}
	// pollTitles are the panels of Dialpad's polled status (none of the
	// targets above was polled: see wallboard_status_test.go).
	pollTitles = []string{"Dialpad: calls waiting", "Dialpad: longest wait", "Dialpad: agents on duty",
		"Dialpad: agents available", "Dialpad: open", "Dialpad status polled"}
)

// noPoll is the polled status's panels, each with no value.
func noPoll() map[string]float64 {
	out := map[string]float64{}
	for _, title := range pollTitles {
		out[title] = noValue
	}
	return out
}

func TestWallboard(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	loc := f.loc
	now := time.Now().UTC().Truncate(time.Second)
	w := &wallboardRows{t: t, ctx: ctx, f: f, now: now, loc: loc}
	w.load()

	d := dashboardByUID(t, "dialpad-wallboard")
	check := func(phase string, target dialpad.Target, want map[string]float64) {
		t.Helper()
		e := f.queryVars(t, ctx, d, target, span{"today", now.Add(-time.Hour), now}, mode{name: "one value each"})
		var titles []string
		for _, p := range d.Leaves() {
			titles = append(titles, p.Title)
			n, ok := want[p.Title]
			if !ok {
				t.Errorf("panel %q is not worked out by this test", p.Title)
				continue
			}
			sql, err := e.Expand(p.Targets[0].RawSQL)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.query(t, ctx, p.Title, sql)
			if err != nil {
				t.Errorf("%s: %q: %v\n%s", phase, p.Title, err, sql)
				continue
			}
			elapsed := math.Ceil(time.Since(now).Seconds())
			if len(res.cols) != 1 || len(res.rows) > 1 {
				t.Errorf("%s: %q: want one value, got %d rows of %v", phase, p.Title, len(res.rows), res.cols)
				continue
			}
			got, has := res.number(0, res.cols[0])
			switch {
			case math.IsNaN(n):
				if has {
					t.Errorf("%s, %s: %q shows %v, want no value", phase, target, p.Title, got)
				}
			case !has:
				t.Errorf("%s, %s: %q shows no value, want %v", phase, target, p.Title, n)
			case growing[p.Title] && n != 0:
				if got < n || got > n+elapsed+1 {
					t.Errorf("%s, %s: %q shows %v, want %v (plus the %v s since the rows were written)", phase, target, p.Title, got, n, elapsed)
				}
			case math.Abs(got-n) > 1e-9:
				t.Errorf("%s, %s: %q shows %v, want %v", phase, target, p.Title, got, n)
			}
		}
		for title := range want {
			if !slices.Contains(titles, title) {
				t.Errorf("the wallboard has no panel %q", title)
			}
		}
	}
	// merge is the figures of ms, the later ones winning.
	merge := func(ms ...map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for _, m := range ms {
			for title, n := range m {
				out[title] = n
			}
		}
		return out
	}
	noLive := map[string]float64{}
	for title := range liveWant {
		noLive[title] = noValue
	}

	// No call event ever: nothing live is shown, not even a zero; today's
	// figures come from the loads.
	check("no events ever", support, merge(noLive, todayWant, noPoll()))
	// The last event 20 minutes ago: the receiver stopped.
	w.event(9001, -1200)
	check("last event 20 min ago", support, merge(noLive, todayWant, noPoll()))
	// Events arrive.
	w.event(9002, -5)
	check("events arriving", support, merge(liveWant, todayWant, noPoll()))
	// A target with nothing live and no call today: zeros, and no service
	// level (no inbound call to measure it on).
	check("events arriving, quiet target", quietCCs, merge(map[string]float64{
		"Calls waiting": 0, "Longest wait": 0, "Calls connected": 0, "Agents available": 0,
		"Agents on a call": 0, "Agents in wrap-up": 0, "Agents unavailable": 0, "Last event received": 5,
	}, map[string]float64{"Answered today": 0, "Missed today": 0, "Service level today": noValue}, noPoll()))
}

// The wallboard refreshes on its own and says why a live figure is
// missing.
func TestWallboardSaysWhenNoEventsArrive(t *testing.T) {
	d := dashboardByUID(t, "dialpad-wallboard")
	if d.Refresh != "10s" {
		t.Errorf("refresh %q, want 10s", d.Refresh)
	}
	for _, p := range d.Leaves() {
		if _, live := liveWant[p.Title]; !live {
			continue
		}
		text := p.FieldConfig.Defaults.NoValue
		if !strings.Contains(strings.ToLower(text), "no events") {
			t.Errorf("%q: noValue %q, want it to say there are no events", p.Title, text)
		}
		if p.Title == "Last event received" && !strings.Contains(text, "dialpad-etl webhooks setup") {
			t.Errorf("%q: noValue %q, want it to name dialpad-etl webhooks setup", p.Title, text)
		}
	}
}

// wallboardRows writes the hand-worked rows.
type wallboardRows struct {
	t   *testing.T
	ctx context.Context
	f   *fixture
	now time.Time
	loc *time.Location
}

// at is the time sec seconds from now.
func (w *wallboardRows) at(sec int) time.Time { return w.now.Add(time.Duration(sec) * time.Second) }

func (w *wallboardRows) ms(sec int) int64 { return w.at(sec).UnixMilli() }

// insert writes rows into table's columns, in one batch as the job does.
func (w *wallboardRows) insert(table, columns string, rows [][]any) {
	w.t.Helper()
	b, err := w.f.twin.Conn().PrepareBatch(w.ctx, "INSERT INTO "+table+" ("+columns+")")
	if err != nil {
		w.t.Fatalf("insert into %s: %v", table, err)
	}
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			w.t.Fatalf("insert into %s: %v", table, err)
		}
	}
	if err := b.Send(); err != nil {
		w.t.Fatalf("insert into %s: %v", table, err)
	}
}

func (w *wallboardRows) load() {
	for _, batch := range [][]liveRow{liveV1, liveV2} {
		var rows [][]any
		for _, r := range batch {
			var connected *time.Time
			if r.state == "connected" || r.state == "hold" {
				at := w.at(r.started + 5)
				connected = &at
			}
			rows = append(rows, []any{r.target.Type, uint64(r.target.ID), r.call, r.conv, flag(r.call == r.conv), r.direction, r.state,
				flag(wire.IsFinal(r.state)), w.at(r.started), w.at(r.waiting), connected, r.agent, fmt.Sprint("agent ", r.agent),
				w.at(r.event), w.at(r.expires), r.version})
		}
		w.insert("live_calls", "target_type, target_id, call_id, conversation_id, is_entry_leg, direction, state, ended, "+
			"started_at, waiting_since, connected_at, agent_id, agent_name, event_at, expires_at, version", rows)
	}

	var rows [][]any
	for _, o := range operators {
		rows = append(rows, []any{o.target.Type, uint64(o.target.ID), o.agent, o.kind, o.name, w.at(-86400), o.version})
	}
	w.insert("agents", "target_type, target_id, agent_id, kind, display_name, seen_at, version", rows)

	for _, batch := range [][]statusRow{statusV1, statusV2} {
		var rows [][]any
		for _, s := range batch {
			ccs, endedMs, endedAt := []uint64{300}, int64(0), (*time.Time)(nil)
			if !s.onDuty {
				ccs = []uint64{}
			}
			if s.ended != 0 {
				at := w.at(s.ended)
				endedMs, endedAt = at.UnixMilli(), &at
			}
			rows = append(rows, []any{s.agent, fmt.Sprint("agent ", s.agent), s.status, flag(s.onDuty), ccs,
				w.ms(s.started), w.at(s.started), endedMs, endedAt, w.ms(s.started), s.version})
		}
		w.insert("agent_status", "agent_id, agent_name, status, on_duty, call_center_ids, started_ms, started_at, ended_ms, ended_at, event_ms, version", rows)
	}

	// Today and yesterday in the reporting zone, and the instants they
	// begin and end, as calls_daily holds them.
	local := w.now.In(w.loc)
	todayStart := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, w.loc)
	days := map[bool]time.Time{false: todayStart, true: todayStart.AddDate(0, 0, -1)}
	date := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	for _, batch := range [][]convRow{convV1, convV2} {
		var rows [][]any
		for _, c := range batch {
			day := days[c.yesterday]
			rows = append(rows, []any{c.target.Type, uint64(c.target.ID), c.conv, c.direction,
				day.Add(time.Duration(c.conv%60) * time.Second).UTC(), date(day), flag(c.outcome == "answered"), c.outcome, c.waitMs, c.version})
		}
		w.insert("conversations", "target_type, target_id, conversation_id, direction, started_at, day, answered, outcome, wait_ms, version", rows)
	}
	rows = nil
	seen := map[string]bool{}
	for _, c := range convV1 {
		key := fmt.Sprint(c.target, c.yesterday)
		if seen[key] {
			continue
		}
		seen[key] = true
		day := days[c.yesterday]
		rows = append(rows, []any{c.target.Type, uint64(c.target.ID), date(day), day.UTC(), day.AddDate(0, 0, 1).UTC(),
			uint64(0), "inbound", "completed", uint32(1), uint64(1)})
	}
	w.insert("calls_daily", "target_type, target_id, day, day_start, day_end, agent_id, direction, status, legs, version", rows)

	rows = nil
	for _, tg := range []dialpad.Target{support, sales, quietCCs} {
		rows = append(rows, []any{tg.Type, uint64(tg.ID), strings.ToUpper(tg.Type[:1]) + tg.Type[1:], w.now, uint64(1)})
	}
	w.insert("targets", "target_type, target_id, name, updated_at, version", rows)
}

// event records a call event received sec seconds from now.
func (w *wallboardRows) event(call uint64, sec int) {
	w.t.Helper()
	w.insert("call_events", "call_id, state, event_ms, event_at, received_at, received_ms, payload_hash, version",
		[][]any{{call, "ringing", w.ms(sec - 1), w.at(sec - 1), w.at(sec), w.ms(sec), call, uint64(1)}})
}

func flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
