package grafana

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// center9 is a call center whose agents are the support department's.
var center9 = dialpad.Target{Type: "callcenter", ID: 9}

// The wallboard over what the event receiver made of a hand-worked
// sequence of Dialpad events, posted signed over HTTP, shuffled and some
// twice.
func TestWallboardFromEvents(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	store, twin, loc := f.store, f.twin, f.loc
	// Ana, Bo, Cy, Dee and Eve are the support department's agents.
	var ops []warehouse.Agent
	for id, name := range map[int64]string{11: "Ana", 12: "Bo", 13: "Cy", 14: "Dee", 15: "Eve"} {
		ops = append(ops, warehouse.Agent{ID: id, Kind: "user", DisplayName: name})
	}
	if err := store.WriteAgents(ctx, support, ops); err != nil {
		t.Fatal(err)
	}
	// They are the agents of call center 9 too, with Fay, who is on duty
	// for call center 8 only.
	ops = append(ops, warehouse.Agent{ID: 16, Kind: "user", DisplayName: "Fay"})
	if err := store.WriteAgents(ctx, center9, ops); err != nil {
		t.Fatal(err)
	}
	// The call center is on the target list (it had calls before).
	if err := twin.Conn().Exec(ctx, `INSERT INTO targets (target_type, target_id, name, updated_at, version)
		SELECT 'callcenter', 9, 'Nine', now(), 1`); err != nil {
		t.Fatal(err)
	}
	const secret = "wallboard-events-secret-0123456789"
	rcv := &events.Receiver{Store: events.NewStorage(store.DB()), Legs: store, Derived: store.Derived(), Leases: store.Leases(),
		Secret: []byte(secret), Targets: []dialpad.Target{support}, Location: loc,
		MaxWait: 50 * time.Millisecond, RecomputeEvery: 100 * time.Millisecond, LeaseTTL: 10 * time.Second, Answer: time.Minute}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { rcv.Run(rctx); close(done) }()
	srv := httptest.NewServer(rcv)
	defer func() { srv.Close(); stop(); <-done }()

	now := time.Now().UTC().Truncate(time.Second)
	at := func(sec int) int64 { return now.Add(time.Duration(sec) * time.Second).UnixMilli() }
	dept := map[string]any{"id": support.ID, "type": "department", "name": "Support"}
	agent := func(id int64) map[string]any { return map[string]any{"id": id, "type": "user"} }
	var bodies []string
	call := func(id, entry int64, target map[string]any, state string, sec int, more map[string]any) {
		m := map[string]any{"call_id": id, "state": state, "event_timestamp": at(sec), "direction": "inbound",
			"date_started": at(sec), "target": target, "entry_point_target": dept, "contact": map[string]any{"name": "Caller"}}
		if entry != id {
			m["entry_point_call_id"] = entry
		}
		for k, v := range more {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		bodies = append(bodies, string(b))
	}
	started := func(sec int) map[string]any { return map[string]any{"date_started": at(sec)} }
	with := func(a, b map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range a {
			out[k] = v
		}
		for k, v := range b {
			out[k] = v
		}
		return out
	}
	// A: a caller queued 48 s ago, still waiting.
	call(2001, 2001, dept, "ringing", -50, started(-50))
	call(2001, 2001, dept, "queued", -48, with(started(-50), map[string]any{"date_queued": at(-48)}))
	// B: answered by Ana 10 s ago.
	call(2101, 2101, dept, "ringing", -30, started(-30))
	call(2101, 2101, dept, "queued", -29, with(started(-30), map[string]any{"date_queued": at(-29)}))
	call(2102, 2101, agent(11), "ringing", -20, started(-20))
	call(2102, 2101, agent(11), "connected", -10, with(started(-20), map[string]any{"date_connected": at(-10)}))
	call(2101, 2101, dept, "connected", -10, with(started(-30), map[string]any{"date_connected": at(-10)}))
	// C: answered by Bo 80 s ago, on hold since 40 s ago.
	call(2201, 2201, dept, "ringing", -100, started(-100))
	call(2201, 2201, dept, "queued", -99, with(started(-100), map[string]any{"date_queued": at(-99)}))
	call(2202, 2201, agent(12), "ringing", -90, started(-90))
	call(2202, 2201, agent(12), "connected", -80, with(started(-90), map[string]any{"date_connected": at(-80)}))
	call(2201, 2201, dept, "connected", -80, with(started(-100), map[string]any{"date_connected": at(-80)}))
	call(2202, 2201, agent(12), "hold", -40, with(started(-90), map[string]any{"date_connected": at(-80)}))
	// E: answered by an agent 5 s ago, after 54 s in the queue, though no
	// event said so of the customer's line: not waiting.
	call(2401, 2401, dept, "ringing", -60, started(-60))
	call(2401, 2401, dept, "queued", -59, with(started(-60), map[string]any{"date_queued": at(-59)}))
	call(2402, 2401, agent(15), "ringing", -8, started(-8))
	call(2402, 2401, agent(15), "connected", -5, with(started(-8), map[string]any{"date_connected": at(-5)}))
	// D: a caller who gave up after 50 s in the queue, nobody answered.
	call(2301, 2301, dept, "ringing", -200, started(-200))
	call(2301, 2301, dept, "queued", -199, with(started(-200), map[string]any{"date_queued": at(-199)}))
	call(2301, 2301, dept, "hangup", -150, with(started(-200), map[string]any{"date_queued": at(-199),
		"date_ended": at(-150), "total_duration": 50000}))
	status := func(id int64, s string, sec int, onDuty bool) {
		ccs := []string{}
		if onDuty {
			ccs = []string{"9"}
		}
		if id == 16 {
			ccs = []string{"8"}
		}
		b, _ := json.Marshal(map[string]any{"target": agent(id), "on_duty_status": s, "call_center_ids": ccs,
			"date": at(sec), "event_timestamp": at(sec)})
		bodies = append(bodies, string(b))
	}
	for id := int64(11); id <= 16; id++ {
		status(id, "available", -3600, true)
	}
	status(11, "occupied", -10, true)
	status(12, "occupied", -80, true)
	status(13, "occupied", -300, true)
	status(13, "wrapup", -30, true)
	status(14, "unavailable", -600, false)

	all := append(append([]string{}, bodies...), bodies[:7]...) // some twice
	rand.New(rand.NewPCG(3, 3)).Shuffle(len(all), func(i, k int) { all[i], all[k] = all[k], all[i] })
	for _, b := range all {
		tok, err := wire.SignEvent([]byte(b), []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(srv.URL, "application/jwt", strings.NewReader(tok))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST an event: %d %s", resp.StatusCode, msg)
		}
	}

	want := map[string]float64{
		"Calls waiting":       1,  // A; not E, whose agent answered
		"Longest wait":        48, // A, since it entered the queue (not E's 59 s)
		"Calls connected":     3,  // B, C (on hold) and E; D ended
		"Agents available":    1,  // Eve
		"Agents on a call":    2,  // Ana, Bo
		"Agents in wrap-up":   1,  // Cy
		"Agents unavailable":  1,  // Dee, off duty
		"Last event received": 0,
	}
	// Today: D, missed (its leg came from its final event and its
	// conversation was recomputed), unless it started on another day.
	sameDay := transform.Day(at(-200), loc).Equal(transform.Day(now.UnixMilli(), loc))
	if sameDay {
		want["Answered today"], want["Missed today"], want["Service level today"] = 0, 1, 0
		testkit.Eventually(t, 20*time.Second, "the conversation of the missed call recomputed", func() bool {
			var n uint64
			err := twin.Conn().QueryRow(ctx, "SELECT count() FROM conversations FINAL WHERE conversation_id = 2301 AND outcome = 'missed'").Scan(&n)
			return err == nil && n == 1
		})
	}
	d := dashboardByUID(t, "dialpad-wallboard")
	check := func(target dialpad.Target, want map[string]float64) {
		t.Helper()
		e := f.queryVars(t, ctx, d, target, span{"today", now.Add(-time.Hour), now}, mode{name: "one value each"})
		for _, p := range d.Leaves() {
			n, ok := want[p.Title]
			if !ok {
				continue
			}
			sql, err := e.Expand(p.Targets[0].RawSQL)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.query(t, ctx, p.Title, sql)
			if err != nil || len(res.rows) != 1 || len(res.cols) != 1 {
				t.Errorf("%s, %q: %v, %d rows", target, p.Title, err, len(res.rows))
				continue
			}
			got, has := res.number(0, res.cols[0])
			elapsed := math.Ceil(time.Since(now).Seconds()) + 1
			switch {
			case !has:
				t.Errorf("%s: %q shows no value, want %v", target, p.Title, n)
			case growing[p.Title]:
				if got < n || got > n+elapsed {
					t.Errorf("%s: %q shows %v, want %v (plus the %v s since)", target, p.Title, got, n, elapsed)
				}
			case math.Abs(got-n) > 1e-9:
				t.Errorf("%s: %q shows %v, want %v", target, p.Title, got, n)
			}
		}
	}
	check(support, want)
	// On call center 9's wallboard Fay, on duty only for call center 8,
	// is unavailable; no call of it is live.
	check(center9, map[string]float64{
		"Calls waiting": 0, "Calls connected": 0,
		"Agents available": 1, "Agents on a call": 2, "Agents in wrap-up": 1, "Agents unavailable": 2,
	})
}
