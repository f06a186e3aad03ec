package grafana

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

// The scorecard's figures, the team's medians and the score, worked out
// from the legs by docs/dashboards.md's formula (answer rate 0.5, handle time
// 0.3, transfers 0.2). Two agents have status intervals: one on duty
// but for two days (the inbound legs it missed on the others count), with
// one call's 30 minutes occupied and 10 in wrap-up (its occupancy and
// after-call work), one off duty (none does, no occupancy, no after-call
// work); the others have none (no figure).
func TestAgentScorecard(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	d := dashboardByUID(t, "dialpad-scorecard")
	target := f.targets[0]
	type agent struct {
		id                                    uint64
		name                                  string
		inbound, missed, completed, transfers int
		handleMs                              uint64
		missedMs                              []int64
	}
	for _, s := range []span{{"14 days", f.start, f.end}, {"odd window", f.start.Add(3*24*time.Hour + 5*time.Hour), f.start.Add(9 * 24 * time.Hour)}} {
		fromDay := transform.Day(s.from.UnixMilli(), f.loc)
		toDay := transform.Day(s.to.UnixMilli(), f.loc)
		agents := map[uint64]*agent{}
		for _, l := range transformtest.Dedup(f.legs[target]) {
			if l.AgentID == 0 || l.Day.Before(fromDay) || l.Day.After(toDay) {
				continue
			}
			a := agents[l.AgentID]
			if a == nil {
				a = &agent{id: l.AgentID}
				agents[l.AgentID] = a
			}
			missed := l.Direction == "inbound" && (l.Status == transform.StatusMissed || l.Status == transform.StatusVoicemail)
			if l.Direction == "inbound" {
				a.inbound++
			}
			if missed {
				a.missed++
			}
			if missed && inSpan(l.StartedMs, s) {
				a.missedMs = append(a.missedMs, l.StartedMs)
			}
			if l.Status == transform.StatusCompleted {
				a.completed++
			}
			if l.Call.IsTransferred {
				a.transfers++
			}
			a.handleMs += l.DurationMs + l.HoldMs
		}
		var ids []uint64
		for id := range agents {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if len(ids) < 3 {
			t.Fatalf("%s: only %d agents", s.name, len(ids))
		}
		onDuty, offDuty := ids[0], ids[1]
		// Status intervals, written once (the first span holds the other):
		// onDuty is on duty but for days 6 and 7 of the fixture, on a call
		// for 30 minutes and in wrap-up for 10 on its second day, and off
		// duty after its end; offDuty off duty throughout.
		off, back := f.start.Add(6*24*time.Hour), f.start.Add(8*24*time.Hour)
		onDutyAt := func(ms int64) bool { return ms < off.UnixMilli() || ms >= back.UnixMilli() }
		call := f.start.Add(24 * time.Hour)
		type interval struct {
			agent    uint64
			status   string
			on       int
			from, to time.Time // to zero: the current status
		}
		intervals := []interval{
			{onDuty, "available", 1, f.start.Add(-time.Hour), call}, {onDuty, "occupied", 1, call, call.Add(30 * time.Minute)},
			{onDuty, "wrapup", 1, call.Add(30 * time.Minute), call.Add(40 * time.Minute)},
			{onDuty, "available", 1, call.Add(40 * time.Minute), off}, {onDuty, "unavailable", 0, off, back},
			{onDuty, "available", 1, back, f.end}, {onDuty, "unavailable", 0, f.end, time.Time{}},
			{offDuty, "unavailable", 0, f.start.Add(-time.Hour), time.Time{}},
		}
		if s.name == "14 days" {
			for _, iv := range intervals {
				ended := int64(0)
				if !iv.to.IsZero() {
					ended = iv.to.UnixMilli()
				}
				if err := f.store.DB().Exec(ctx, fmt.Sprintf(`INSERT INTO agent_status (agent_id, agent_name, status, on_duty,
					started_ms, started_at, ended_ms, event_ms, version)
					SELECT %d, 'x', '%s', %d, %d, toDateTime(%d), %d, %d, 1`, iv.agent, iv.status, iv.on,
					iv.from.UnixMilli(), iv.from.Unix(), ended, iv.from.UnixMilli())); err != nil {
					t.Fatal(err)
				}
			}
			// The agents are the target's operators: only theirs count.
			for _, id := range []uint64{onDuty, offDuty} {
				if err := f.store.DB().Exec(ctx, fmt.Sprintf(`INSERT INTO agents (target_type, target_id, agent_id, kind,
					display_name, seen_at, version) SELECT '%s', %d, %d, 'user', 'x', now(), 1`, target.Type, target.ID, id)); err != nil {
					t.Fatal(err)
				}
			}
			// The job counts their time per interval.
			from := f.start.Add(-time.Hour).UnixMilli()
			if err := f.store.Derived().RecountAgents(ctx, map[uint64]int64{onDuty: from, offDuty: from}, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		// Occupancy and after-call work are over the range's days in the
		// reporting zone, like the other figures: the time of the statuses
		// between the first day's midnight and the last one's end.
		dayFrom := time.Date(fromDay.Year(), fromDay.Month(), fromDay.Day(), 0, 0, 0, 0, f.loc)
		dayTo := time.Date(toDay.Year(), toDay.Month(), toDay.Day()+1, 0, 0, 0, 0, f.loc)
		timeIn := func(status string) time.Duration {
			var d time.Duration
			for _, iv := range intervals {
				if iv.agent == onDuty && iv.status == status && !iv.to.IsZero() {
					d += overlap(iv.from, iv.to, dayFrom, dayTo)
				}
			}
			return d
		}
		worked, available, wrapup := timeIn("occupied")+timeIn("wrapup"), timeIn("available"), timeIn("wrapup")
		if s.name == "14 days" && (worked != 40*time.Minute || wrapup != 10*time.Minute) {
			t.Fatalf("%s: %s worked and %s in wrap-up in the range's days, want the call's 40 and 10 minutes", s.name, worked, wrapup)
		}
		missedOnDuty := 0
		for _, ms := range agents[onDuty].missedMs {
			if onDutyAt(ms) {
				missedOnDuty++
			}
		}
		if missedOnDuty == 0 || missedOnDuty == len(agents[onDuty].missedMs) {
			t.Fatalf("%s: agent %d missed %d of %d legs on duty: the test needs both kinds", s.name, onDuty, missedOnDuty, len(agents[onDuty].missedMs))
		}

		med := func(xs []float64) float64 {
			sort.Float64s(xs)
			n := len(xs)
			if n%2 == 1 {
				return xs[n/2]
			}
			return (xs[n/2-1] + xs[n/2]) / 2
		}
		var rates, handles, transferRates []float64
		for _, a := range agents {
			if a.inbound > 0 {
				rates = append(rates, float64(a.inbound-a.missed)/float64(a.inbound))
			}
			if a.completed > 0 {
				handles = append(handles, float64(a.handleMs)/float64(a.completed)/1000)
				transferRates = append(transferRates, float64(a.transfers)/float64(a.completed))
			}
		}
		teamHandle := med(handles)
		want := map[uint64]map[string]float64{}
		for _, a := range agents {
			occupancy := worked.Seconds() / (worked + available).Seconds()
			w := map[string]float64{"Transfers": float64(a.transfers), "Answer rate, team": med(rates),
				"Handle time, team": teamHandle, "Transfer rate, team": med(transferRates), "Missed while on duty, team": float64(missedOnDuty) / 2,
				// Only onDuty has a figure; offDuty's after-call work is 0.
				"Occupancy, team": occupancy, "After-call work, team": wrapup.Seconds() / 2}
			answer, handle, transfer := 1.0, 1.0, 1.0
			if a.inbound > 0 {
				answer = float64(a.inbound-a.missed) / float64(a.inbound)
				w["Answer rate"] = answer
			}
			if a.completed > 0 {
				aht := float64(a.handleMs) / float64(a.completed) / 1000
				w["Handle time"], w["Transfer rate"] = aht, float64(a.transfers)/float64(a.completed)
				handle, transfer = math.Min(1, teamHandle/aht), 1-w["Transfer rate"]
			}
			switch a.id {
			case onDuty:
				w["Missed while on duty"] = float64(missedOnDuty)
				w["Occupancy"], w["After-call work"] = occupancy, wrapup.Seconds()
			case offDuty:
				w["Missed while on duty"] = 0
				w["After-call work"] = 0
			}
			w["Score"] = 100 * (0.5*answer + 0.3*handle + 0.2*transfer)
			want[a.id] = w
		}

		e := f.queryVars(t, ctx, d, target, s, mode{name: "all", multiAll: true})
		res := panelResult(t, ctx, f, e, d, "Scorecard")
		if len(res.rows) != len(agents) {
			t.Fatalf("%s: the scorecard has %d agents, the legs %d", s.name, len(res.rows), len(agents))
		}
		prev := math.Inf(1)
		for i, row := range res.rows {
			var id uint64
			fmt.Sscan(fmt.Sprint(row[slices.Index(res.cols, "agent_key")]), &id)
			w, ok := want[id]
			if !ok {
				t.Fatalf("%s: the scorecard shows agent %d, who has no legs in the range", s.name, id)
			}
			for _, col := range []string{"Answer rate", "Answer rate, team", "Handle time", "Handle time, team", "Transfers",
				"Transfer rate", "Transfer rate, team", "Missed while on duty", "Missed while on duty, team",
				"Occupancy", "Occupancy, team", "After-call work", "After-call work, team", "Score"} {
				got, has := res.number(i, col)
				n, wanted := w[col]
				tolerance := 1e-9 * max(1, math.Abs(n))
				if col == "Score" {
					tolerance = 0.051 // rounded to one decimal
				}
				switch {
				case !wanted && has:
					t.Errorf("%s, agent %d: %q shows %v, want no value", s.name, id, col, got)
				case wanted && (!has || math.Abs(got-n) > tolerance):
					t.Errorf("%s, agent %d: %q shows %v (value: %v), want %v", s.name, id, col, got, has, n)
				}
			}
			score, _ := res.number(i, "Score")
			if score > prev {
				t.Errorf("%s: row %d's score %v is above the row before's %v: want the best first", s.name, i, score, prev)
			}
			prev = score
		}
	}
}

// overlap is how long [from, to) and [lo, hi) share.
func overlap(from, to, lo, hi time.Time) time.Duration {
	if from.Before(lo) {
		from = lo
	}
	if to.After(hi) {
		to = hi
	}
	return max(0, to.Sub(from))
}
