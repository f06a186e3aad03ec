package dialpad_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
)

// CallCenterStatus reads what the simulator serves, over HTTP, at
// instants with callers waiting and open, and closed at the weekend; a
// department's id is not found.
func TestCallCenterStatusReadsTheSimulator(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	day := time.Date(2025, 5, 15, 0, 0, 0, 0, ny) // a Thursday
	clock.Store(day.Add(10 * time.Hour).UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()).UTC() }
	sim, err := simulator.New(simulator.Config{Seed: 1, Start: day.AddDate(0, 0, -4), End: day.AddDate(0, 0, 4),
		RateLimit: -1, CallsPerDay: 400, Location: ny, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := dialpad.New(srv.URL, "sim-token", dialpad.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cc := sim.Targets()[len(sim.Targets())-1]

	// The first instant of the morning, in steps of 5 s, with two callers
	// waiting.
	at := day.Add(10 * time.Hour)
	for ; at.Before(day.Add(12 * time.Hour)); at = at.Add(5 * time.Second) {
		if st, _ := sim.CallCenterStatus(cc.ID, at); st.Pending >= 2 {
			break
		}
	}
	for _, inst := range []struct {
		name string
		t    time.Time
		open bool
	}{{"Thursday, callers waiting", at, true}, {"Saturday", day.AddDate(0, 0, 2).Add(15 * time.Hour), false}} {
		clock.Store(inst.t.UnixMilli())
		got, err := c.CallCenterStatus(t.Context(), cc.ID)
		if err != nil {
			t.Fatalf("%s: %v", inst.name, err)
		}
		served, _ := sim.CallCenterStatus(cc.ID, inst.t)
		want := dialpad.CallCenterStatus{Availability: served.Availability.Status, AvailabilityName: served.Availability.Name,
			Capacity: served.Capacity, OnDutyOperators: served.OnDutyOperators, Pending: served.Pending,
			LongestWaitS: served.LongestCallWaitTime}
		if got != want {
			t.Errorf("%s: read %+v, the simulator served %+v", inst.name, got, want)
		}
		if got.Open() != inst.open {
			t.Errorf("%s: open %v, want %v", inst.name, got.Open(), inst.open)
		}
		if inst.open && (got.Pending < 2 || got.LongestWaitS == 0 || got.OnDutyOperators == 0) {
			t.Errorf("%s: %+v, want callers waiting and operators on duty", inst.name, got)
		}
	}
	if _, err := c.CallCenterStatus(t.Context(), sim.Targets()[0].ID); !errors.Is(err, dialpad.ErrNotFound) {
		t.Errorf("status of a department: %v, want ErrNotFound", err)
	}
}

// Counts arrive as numbers, strings or null, and the availability may be
// null; a body that is not an object is retried and then an error.
func TestCallCenterStatusIsReadTolerantly(t *testing.T) {
	bodies := []string{
		`{"availability":{"name":"Thanksgiving","status":"holiday_closed"},"capacity":2,"on_duty_operators":"5","pending":"3","longest_call_wait_time":41.0}`,
		`{"availability":null,"capacity":null,"on_duty_operators":"0","pending":null}`,
		`[]`,
	}
	want := []dialpad.CallCenterStatus{
		{Availability: "holiday_closed", AvailabilityName: "Thanksgiving", Capacity: 2, OnDutyOperators: 5, Pending: 3, LongestWaitS: 41},
		{},
	}
	var i atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/callcenters/77/status" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(bodies[min(int(i.Add(1))-1, len(bodies)-1)]))
	}))
	t.Cleanup(srv.Close)
	c, err := dialpad.New(srv.URL, "tok", dialpad.WithBackoff(0, 0), dialpad.WithMaxAttempts(2))
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		got, err := c.CallCenterStatus(t.Context(), 77)
		if err != nil || got != w {
			t.Errorf("body %d: %+v, %v; want %+v", k, got, err, w)
		}
	}
	if got, err := c.CallCenterStatus(t.Context(), 77); !errors.Is(err, dialpad.ErrBadResponse) {
		t.Errorf("an array: %+v, %v; want ErrBadResponse", got, err)
	}
	if st := c.Stats(); st.Requests != 4 {
		t.Errorf("%d requests, want 4 (the array tried twice)", st.Requests)
	}
}
