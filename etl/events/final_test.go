package events_test

// Final call events, on fakes: their legs go to calls, and their days
// are recomputed soon after, under the targets' leases.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // New York, without a system zoneinfo

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// Ana's leg of a call into the department: connected, then hung up. The
// hangup's leg is written to calls (the list's copy kept first, then
// written), named as the loads listed Ana, on its day in New York, and
// that day is recomputed soon after, under the department's lease held
// briefly; a state that is not final gives no leg.
func TestAFinalEventsLegIsWrittenAndItsDayRecomputedUnderTheLease(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeRig(dept)
	g.r.Location, g.r.RecomputeEvery, g.r.LiveMaxAge = ny, 10*time.Millisecond, 2*time.Hour
	g.store.ops[11] = []events.Operator{{Target: dept, Name: "Ana Agent"}}
	g.run(t)
	ms := started.UnixMilli()
	ana := map[string]any{"id": 11, "type": "user", "name": "Ana"}
	connected := sign(t, event(1002, "connected", ms+5000, map[string]any{"target": ana, "date_started": ms,
		"date_connected": ms + 5000, "entry_point_call_id": 1001}))
	if code, body := g.post(connected); code != http.StatusOK {
		t.Fatalf("connected: %d %q", code, body)
	}
	if _, ok := g.legs.leg(dept, 1002); ok {
		t.Fatalf("a connected leg was written to calls")
	}
	if code, body := g.post(hangup(t, 1002, dept, map[string]any{"target": ana, "entry_point_call_id": 1001})); code != http.StatusOK {
		t.Fatalf("hangup: %d %q", code, body)
	}
	// Answered 200: the leg is in calls now.
	l, ok := g.legs.leg(dept, 1002)
	if !ok {
		t.Fatal("the hung-up leg is not in calls")
	}
	// 02:30 UTC of the 6th is the evening of the 5th in New York.
	if day := l.Day.Format(time.DateOnly); day != "2026-03-05" || l.AgentName != "Ana Agent" || l.Status != "completed" || l.Source != transform.SourceEvent {
		t.Errorf("the leg: day %s, agent %q, status %s, from an event %v; want 2026-03-05, Ana Agent, completed, true",
			day, l.AgentName, l.Status, l.Source)
	}
	if steps := g.legs.steps(dept, 1002); !slices.Equal(steps, []string{"keep", "write"}) {
		t.Errorf("the leg went through %v, want the list's copy kept, then written", steps)
	}
	live, ok := g.store.liveState(dept, 1002)
	if !ok || live.Event.State != "hangup" || live.Agent != "Ana Agent" || !live.Expires.Equal(started.Add(time.Minute+2*time.Hour)) {
		t.Errorf("live state %s of %q until %v (found %v), want hangup of Ana Agent until %v (its event and LiveMaxAge)",
			live.Event.State, live.Agent, live.Expires, ok, started.Add(time.Minute+2*time.Hour))
	}

	// Its day, and the two a restart recomputes anyway (the clock's day
	// in New York, the 9th, and the 8th).
	want := []string{"2026-03-05", "2026-03-08", "2026-03-09"}
	testkit.Eventually(t, 10*time.Second, "the leg's day recomputed", func() bool { return slices.Contains(g.derived.days(dept), want[0]) })
	if got := g.derived.days(dept); !slices.Equal(got, want) {
		t.Errorf("recomputed %v, want %v", got, want)
	}
	for _, r := range g.derived.of(dept) {
		if r.holder == "" || r.holder.Hold() != lease.Brief {
			t.Errorf("recomputed %v while the lease was held by %q, want by the receiver, briefly", r.days, r.holder)
		}
	}
	testkit.Eventually(t, 10*time.Second, "the lease released", func() bool { return g.leases.Holder(lease.Target(dept)) == "" })
}

// A final event of a leg the list gave already leaves the list's copy
// (its recordings, MOS score and the rest, which events lack) in calls,
// even when the event is timed after the list was read: here the call
// ended at 60 s, the list was read at 62 s, the event says 65 s.
func TestAFinalEventKeepsTheListsCopy(t *testing.T) {
	g := newFakeRig(dept)
	g.run(t)
	ms := started.UnixMilli()
	listed := fmt.Sprintf(`{"call_id":"5001","direction":"inbound","state":"hangup","date_started":"%d",`+
		`"date_connected":"%d","date_ended":"%d","mos_score":4.2,"target":{"id":"700","type":"department"}}`, ms, ms+5000, ms+60000)
	c, err := wire.DecodeCall([]byte(listed))
	if err != nil {
		t.Fatal(err)
	}
	copyOf := transform.NewLeg(dept, &c, time.UTC, nil)
	copyOf.Read = started.Add(62 * time.Second)
	if err := g.legs.WriteLegsEach(t.Context(), []transform.Leg{copyOf}, func(int) {}); err != nil {
		t.Fatal(err)
	}
	if code, body := g.post(hangup(t, 5001, dept, map[string]any{"event_timestamp": ms + 65000})); code != http.StatusOK {
		t.Fatalf("%d %q", code, body)
	}
	if l, _ := g.legs.leg(dept, 5001); l.Source != transform.SourceList || string(l.Call.Raw) != listed {
		t.Errorf("after the final event, calls has the copy from an event %q, %s; want the list's", l.Source, l.Call.Raw)
	}
}

// While a load holds the department's lease its days wait, and are
// recomputed once the load is done; another target's are recomputed
// meanwhile.
func TestATargetALoadHoldsIsRecomputedOnceTheLoadIsDone(t *testing.T) {
	g := newFakeRig(dept, other)
	g.r.RecomputeEvery = 10 * time.Millisecond
	load := lease.NewOwner(lease.Long)
	name := lease.Target(dept)
	if got, _, err := g.leases.Acquire(t.Context(), load, time.Minute, name); err != nil || len(got) != 1 {
		t.Fatalf("the load's lease: %v, %v", got, err)
	}
	g.run(t)
	for _, body := range []string{hangup(t, 5001, dept, nil), hangup(t, 5002, other, nil)} {
		if code, text := g.post(body); code != http.StatusOK {
			t.Fatalf("%d %q", code, text)
		}
	}
	// Two rounds after the legs were written, the other target's day is
	// recomputed, the department's is not.
	after := g.leases.Refusals(name)
	testkit.Eventually(t, 10*time.Second, "two more rounds", func() bool {
		return len(g.derived.of(dept)) > 0 ||
			g.leases.Refusals(name) >= after+2 && slices.Contains(g.derived.days(other), "2026-03-06")
	})
	if len(g.derived.of(dept)) != 0 {
		t.Fatalf("the department recomputed %v while a load held its lease", g.derived.days(dept))
	}
	if err := g.leases.Release(t.Context(), load, name); err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-03-06", "2026-03-09", "2026-03-10"}
	testkit.Eventually(t, 10*time.Second, "the department recomputed", func() bool { return len(g.derived.of(dept)) > 0 })
	if got := g.derived.days(dept); !slices.Equal(got, want) {
		t.Errorf("the department's days recomputed: %v, want %v", got, want)
	}
	if r := g.derived.of(dept)[0]; r.holder.Hold() != lease.Brief || r.holder == load {
		t.Errorf("recomputed under %q's lease, want the receiver's", r.holder)
	}
}

// The hourly drops cut at what the clock says: live states of legs that
// started over two days ago, call events of months that ended over
// Retention ago.
func TestOldLiveStatesAndEventsAreDroppedByTheClock(t *testing.T) {
	g := newFakeRig(dept)
	g.r.RecomputeEvery, g.r.Retention = 10*time.Millisecond, 30*24*time.Hour
	g.run(t)
	var live, old []time.Time
	testkit.Eventually(t, 10*time.Second, "the drops", func() bool {
		g.store.mu.Lock()
		defer g.store.mu.Unlock()
		live, old = slices.Clone(g.store.dropLive), slices.Clone(g.store.dropOld)
		return len(live) > 0 && len(old) > 0
	})
	// 03:30 of 10 March, less two days; less 30 days.
	if want := time.Date(2026, 3, 8, 3, 30, 0, 0, time.UTC); !live[0].Equal(want) {
		t.Errorf("live states dropped before %v, want %v", live[0], want)
	}
	if want := time.Date(2026, 2, 8, 3, 30, 0, 0, time.UTC); !old[0].Equal(want) {
		t.Errorf("call events dropped before %v, want %v", old[0], want)
	}
}

// A round that cannot take the leases, or whose recompute fails, leaves
// its days for the next round: none is lost.
func TestAFailedRecomputeIsTriedAgain(t *testing.T) {
	for _, method := range []string{"Acquire", "Recompute"} {
		t.Run(method, func(t *testing.T) {
			g := newFakeRig(dept)
			g.r.RecomputeEvery = 10 * time.Millisecond
			if method == "Acquire" {
				g.leases.FailNext(method, 1)
			} else {
				g.derived.failNext(method, 1)
			}
			g.run(t)
			if code, body := g.post(hangup(t, 5001, dept, nil)); code != http.StatusOK {
				t.Fatalf("%d %q", code, body)
			}
			// The leg's day, and the clock's and the day before.
			want := []string{"2026-03-06", "2026-03-09", "2026-03-10"}
			testkit.Eventually(t, 10*time.Second, "the days recomputed", func() bool { return slices.Equal(g.derived.days(dept), want) })
		})
	}
}

// Each round that has days to recompute is one pass of the histogram
// dialpad_etl_events_recompute_duration_seconds; a round with none is
// not counted.
func TestEachRecomputePassIsMeasured(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := newFakeRig(dept)
	g.r.RecomputeEvery, g.r.Metrics = 10*time.Millisecond, events.NewMetrics(reg)
	passes := func() (n uint64, sum float64) {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "dialpad_etl_events_recompute_duration_seconds" {
				h := f.GetMetric()[0].GetHistogram()
				return h.GetSampleCount(), h.GetSampleSum()
			}
		}
		t.Fatal("no dialpad_etl_events_recompute_duration_seconds among the metrics")
		return 0, 0
	}
	g.run(t)
	// The days a restart recomputes, in the first round.
	testkit.Eventually(t, 10*time.Second, "the first pass measured", func() bool { n, _ := passes(); return n == 1 })
	if code, body := g.post(hangup(t, 5001, dept, nil)); code != http.StatusOK {
		t.Fatalf("%d %q", code, body)
	}
	testkit.Eventually(t, 10*time.Second, "the leg's day recomputed and measured", func() bool {
		n, _ := passes()
		return n == 2 && slices.Contains(g.derived.days(dept), "2026-03-06")
	})
	time.Sleep(100 * time.Millisecond) // some ten rounds with nothing to recompute
	if n, sum := passes(); n != 2 || sum <= 0 {
		t.Errorf("%d passes measured, %g s in all; want 2, taking some time", n, sum)
	}
}

// An agent's status change is answered once stored; its time is counted
// by the next recompute round, from the change on, and counted again in
// the round after when that fails. A 503 answered is remembered as the
// time events may have been lost from.
func TestAgentTimeIsCountedAfterTheAnswerUntilItSucceeds(t *testing.T) {
	g := newFakeRig(dept)
	g.r.RecomputeEvery = 10 * time.Millisecond
	g.derived.failNext("RecountAgents", 1)
	if got := g.r.TakeTrouble(); !got.Equal(clock) {
		t.Errorf("trouble at the start %v, want the receiver's start %v", got, clock)
	}
	g.run(t)
	date := started.UnixMilli()
	change, _ := json.Marshal(map[string]any{"target": map[string]any{"id": 7, "type": "user", "name": "Bea"},
		"on_duty_status": "available", "call_center_ids": []string{"100"}, "date": date, "event_timestamp": date})
	if code, body := g.post(sign(t, string(change))); code != http.StatusOK {
		t.Fatalf("POST: %d %q", code, body)
	}
	testkit.Eventually(t, 10*time.Second, "the agent's time counted", func() bool {
		g.derived.mu.Lock()
		defer g.derived.mu.Unlock()
		return len(g.derived.recounts) > 0
	})
	g.derived.mu.Lock()
	got := g.derived.recounts[0]
	g.derived.mu.Unlock()
	if len(got) != 1 || got[7] != date {
		t.Errorf("counted %v, want agent 7 from %d", got, date)
	}
	if got := g.r.TakeTrouble(); !got.IsZero() {
		t.Errorf("trouble %v after nothing went wrong, want none", got)
	}
	g.store.failNext("WriteAgentStatus", 1)
	if code, _ := g.post(sign(t, string(change))); code != http.StatusServiceUnavailable {
		t.Fatalf("a status that could not be stored answered %d, want 503", code)
	}
	if got := g.r.TakeTrouble(); !got.Equal(clock) {
		t.Errorf("trouble %v after a 503, want %v", got, clock)
	}
}
