package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// A hand-worked hour of two agents in Kathmandu (UTC+05:45, whose
// midnight is 18:15 UTC), 2026-03-10, counted by hand from
// docs/counting.md ("Agent time"). Bea (7) is an operator of call centers
// 100 and 200, Cy (8) of 100. Bea's events, in UTC:
//
//	18:05:00 available   {100, 200}
//	18:12:30 occupied    {100, 200}
//	18:20:00 wrapup      {100, 200}   (local midnight at 18:15 lies inside occupied)
//	18:21:00 available   {100}        (off duty for 200)
//	18:33:00 unavailable {} "lunch"
//	18:40:00 busy        {100}
//
// then nothing reaches the job: Dialpad's duty-status read at 19:00 says
// she is available since 18:52. The last event the job heard of anyone is
// Cy's at 18:45 (available, {100}), so Bea was busy until 18:45, unknown
// from 18:45 to 18:52, and available (on duty for both call centers) from
// 18:52 until now, 19:00.
func TestAgentTimeOfAHandWorkedHour(t *testing.T) {
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)
	now := hour.Add(time.Hour)
	g := newRigIn(t, kathmandu, func() time.Time { return now })
	ms := func(min, sec int) int64 {
		return hour.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second).UnixMilli()
	}
	status := func(id int, name, s, reason string, date int64, ccs ...string) string {
		if ccs == nil {
			ccs = []string{}
		}
		b, _ := json.Marshal(map[string]any{"target": map[string]any{"id": id, "type": "user", "name": name},
			"on_duty_status": s, "on_duty_status_reason": reason, "availability_status": "available",
			"call_center_ids": ccs, "date": date, "event_timestamp": date})
		return string(b)
	}
	bea := func(s, reason string, min, sec int, ccs ...string) string {
		return status(7, "Bea", s, reason, ms(min, sec), ccs...)
	}
	e1 := bea("available", "", 5, 0, "100", "200")
	e2 := bea("occupied", "", 12, 30, "100", "200")
	e3 := bea("wrapup", "", 20, 0, "100", "200")
	e4 := bea("available", "", 21, 0, "100")
	e5 := bea("unavailable", "lunch", 33, 0)
	e6 := bea("busy", "", 40, 0, "100")
	cy := status(8, "Cy", "available", "", ms(45, 0), "100")
	// Out of order, two of them twice.
	for _, e := range []string{e4, e1, e5, e2, e4, e6, e3, e1, cy} {
		if code, body := g.post(t, sign(t, e)); code != http.StatusOK {
			t.Fatalf("POST: %d %q", code, body)
		}
	}
	// The receiver counts the agents' time in its rounds: Cy's, posted
	// last, tells that it has counted them all.
	testkit.Eventually(t, time.Minute, "Cy's time counted", func() bool {
		return g.count(t, "SELECT count() FROM agent_intervals WHERE agent_id = 8") > 0
	})
	repair := &events.Repair{
		Dialpad: dutyStatuses{
			7: {UserID: 7, OnDuty: true, Status: "available", Started: time.UnixMilli(ms(52, 0))},
			8: {UserID: 8, OnDuty: true, Status: "available", Started: time.UnixMilli(ms(45, 0))},
		},
		Store: operatorsOf{events.NewStorage(g.store.DB()), map[int64][]events.Operator{
			7: {{Target: dialpad.Target{Type: "callcenter", ID: 100}, Name: "Bea"}, {Target: dialpad.Target{Type: "callcenter", ID: 200}, Name: "Bea"}},
			8: {{Target: dialpad.Target{Type: "callcenter", ID: 100}, Name: "Cy"}},
		}},
		Recount: g.store.Derived(),
		Now:     func() time.Time { return now },
	}
	res, err := repair.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res != (events.RepairResult{Operators: 2, Repaired: 1}) {
		t.Errorf("repair %+v, want 2 operators read and Bea's statuses repaired", res)
	}

	const k = 1000 // ms in a second
	want := []string{
		// agent interval (UTC) day: available busy occupied wrapup unavailable unknown, reasons
		"7 18:00 2026-03-10: 450 0 150 0 0 0 []",
		"7 18:15 2026-03-11: 540 0 300 60 0 0 []",
		"7 18:30 2026-03-11: 180 300 0 0 420 0 [lunch:420]",
		"7 18:45 2026-03-11: 480 0 0 0 0 420 []",
		"8 18:45 2026-03-11: 900 0 0 0 0 0 []",
	}
	rows, err := g.conn.Query(context.Background(), `SELECT agent_id, interval_start, day, available_ms, busy_ms,
		occupied_ms, wrapup_ms, unavailable_ms, unknown_ms, unavailable_reasons, unavailable_reason_ms
		FROM agent_intervals FINAL ORDER BY agent_id, interval_start`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var agent uint64
		var start, day time.Time
		var av, bu, oc, wr, un, uk uint32
		var reasons []string
		var reasonMs []uint32
		if err := rows.Scan(&agent, &start, &day, &av, &bu, &oc, &wr, &un, &uk, &reasons, &reasonMs); err != nil {
			t.Fatal(err)
		}
		var split []string
		for i := range reasons {
			split = append(split, fmt.Sprintf("%s:%d", reasons[i], reasonMs[i]/k))
		}
		got = append(got, fmt.Sprintf("%d %s %s: %d %d %d %d %d %d %v", agent, start.UTC().Format("15:04"),
			day.Format(time.DateOnly), av/k, bu/k, oc/k, wr/k, un/k, uk/k, split))
	}
	rows.Close()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("agent_intervals:\n got %q\nwant %q", got, want)
	}

	wantDuty := []string{
		// call center, agent, interval: on-duty s
		"100 7 18:00: 600", "100 7 18:15: 900", "100 7 18:30: 480", "100 7 18:45: 480",
		"100 8 18:45: 900",
		"200 7 18:00: 600", "200 7 18:15: 360", "200 7 18:45: 480",
	}
	rows, err = g.conn.Query(context.Background(), `SELECT target_id, agent_id, interval_start, on_duty_ms
		FROM agent_duty_intervals FINAL WHERE target_type = 'callcenter' ORDER BY target_id, agent_id, interval_start`)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for rows.Next() {
		var cc, agent uint64
		var start time.Time
		var duty uint32
		if err := rows.Scan(&cc, &agent, &start, &duty); err != nil {
			t.Fatal(err)
		}
		if duty > 0 {
			got = append(got, fmt.Sprintf("%d %d %s: %d", cc, agent, start.UTC().Format("15:04"), duty/k))
		}
	}
	rows.Close()
	if fmt.Sprint(got) != fmt.Sprint(wantDuty) {
		t.Errorf("agent_duty_intervals:\n got %q\nwant %q", got, wantDuty)
	}

	// The days, summed, with their bounds in UTC: of Kathmandu's 10 March
	// only the 18:00 interval has time.
	wantDays := []string{
		"7 2026-03-10 [03-09 18:15, 03-10 18:15): 450 0 150 0 0 0 []",
		"7 2026-03-11 [03-10 18:15, 03-11 18:15): 1200 300 300 60 420 420 [lunch:420]",
		"8 2026-03-11 [03-10 18:15, 03-11 18:15): 900 0 0 0 0 0 []",
	}
	rows, err = g.conn.Query(context.Background(), `SELECT agent_id, day, day_start, day_end, available_ms, busy_ms,
		occupied_ms, wrapup_ms, unavailable_ms, unknown_ms, unavailable_reasons, unavailable_reason_ms
		FROM agent_time_daily FINAL ORDER BY agent_id, day`)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for rows.Next() {
		var agent, av, bu, oc, wr, un, uk uint64
		var day, from, to time.Time
		var reasons []string
		var reasonMs []uint64
		if err := rows.Scan(&agent, &day, &from, &to, &av, &bu, &oc, &wr, &un, &uk, &reasons, &reasonMs); err != nil {
			t.Fatal(err)
		}
		var split []string
		for i := range reasons {
			split = append(split, fmt.Sprintf("%s:%d", reasons[i], reasonMs[i]/k))
		}
		got = append(got, fmt.Sprintf("%d %s [%s, %s): %d %d %d %d %d %d %v", agent, day.Format(time.DateOnly),
			from.UTC().Format("01-02 15:04"), to.UTC().Format("01-02 15:04"), av/k, bu/k, oc/k, wr/k, un/k, uk/k, split))
	}
	rows.Close()
	if fmt.Sprint(got) != fmt.Sprint(wantDays) {
		t.Errorf("agent_time_daily:\n got %q\nwant %q", got, wantDays)
	}
	wantDutyDays := []string{"100 7 2026-03-10: 600", "100 7 2026-03-11: 1860", "100 8 2026-03-11: 900",
		"200 7 2026-03-10: 600", "200 7 2026-03-11: 840"}
	rows, err = g.conn.Query(context.Background(), `SELECT target_id, agent_id, day, on_duty_ms
		FROM agent_duty_daily FINAL WHERE target_type = 'callcenter' ORDER BY target_id, agent_id, day`)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for rows.Next() {
		var cc, agent, duty uint64
		var day time.Time
		if err := rows.Scan(&cc, &agent, &day, &duty); err != nil {
			t.Fatal(err)
		}
		if duty > 0 {
			got = append(got, fmt.Sprintf("%d %d %s: %d", cc, agent, day.Format(time.DateOnly), duty/k))
		}
	}
	rows.Close()
	if fmt.Sprint(got) != fmt.Sprint(wantDutyDays) {
		t.Errorf("agent_duty_daily:\n got %q\nwant %q", got, wantDutyDays)
	}

	// A second read finds nothing to repair.
	if res, err := repair.Once(context.Background()); err != nil || res.Repaired != 0 {
		t.Errorf("second repair: %+v, %v; want nothing repaired", res, err)
	}
}

// dutyStatuses is Dialpad's duty-status read, from a map.
type dutyStatuses map[int64]dialpad.DutyStatus

func (d dutyStatuses) OperatorDutyStatus(ctx context.Context, user int64) (dialpad.DutyStatus, error) {
	s, ok := d[user]
	if !ok {
		return dialpad.DutyStatus{}, &dialpad.APIError{Status: http.StatusNotFound}
	}
	return s, nil
}

// operatorsOf is the event storage with the operators given.
type operatorsOf struct {
	*events.Storage
	ops map[int64][]events.Operator
}

func (o operatorsOf) Operators(context.Context) (map[int64][]events.Operator, error) {
	return o.ops, nil
}
