package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// statusPath is the live status endpoint of call center id.
func statusPath(id string) string { return "/api/v2/callcenters/" + id + "/status" }

// servedStatus GETs a call center's status; the counts must be JSON
// strings, as Dialpad sends its int64s.
type servedStatus struct {
	Availability struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"availability"`
	Capacity int64 `json:"capacity,string"`
	Longest  int64 `json:"longest_call_wait_time,string"`
	OnDuty   int64 `json:"on_duty_operators,string"`
	Pending  int64 `json:"pending,string"`
}

// At each instant, the call center's status is what its events say: the
// callers whose entry leg's last event is ringing or queued, the longest
// of their waits, the operators whose last status event is not
// unavailable and of those the available ones; open in business hours.
func TestCallCenterStatusIsWhatItsEventsSay(t *testing.T) {
	t.Parallel()
	clock := simtest.NewClock(simtest.End)
	s := newTestSim(t, Config{Now: clock.Now, CallsPerDay: 400})
	base := serve(t, s).URL
	cc := s.Targets()[len(s.Targets())-1]
	ops := callCenterMembers(t, s, base)["operator"]
	local := func(d, h, m int) time.Time { return time.Date(2025, 5, d, h, m, 0, 0, s.cfg.Location) }

	// An instant with callers waiting: 2 s after a call center's caller
	// entered the queue on Wednesday morning.
	var queued time.Time
	for _, ev := range s.Events(local(14, 10, 0), local(14, 11, 0)) {
		if ev.State != "queued" {
			continue
		}
		d, _ := wire.DecodeEvent(ev.Claims)
		if d.Call != nil && d.Call.Target.Type == "callcenter" && int64(d.Call.Target.ID) == cc.ID {
			queued = ev.At.Add(2 * time.Second)
			break
		}
	}
	if queued.IsZero() {
		t.Fatal("no caller of the call center queued on Wednesday 10:00-11:00")
	}
	var sawPending, sawOpen, sawClosed bool
	for _, at := range []struct {
		name string
		t    time.Time
		open bool
	}{
		{"Wednesday, a caller queued", queued, true},
		{"Thursday mid-morning", local(15, 10, 30), true},
		{"Thursday 12:20, lunch", local(15, 12, 20), true},
		{"Saturday afternoon", local(17, 15, 0), false},
		{"Monday before opening", local(12, 7, 30), false},
		{"Friday 18:00, closing", local(16, 18, 0), false},
	} {
		clock.Set(at.t)
		code, _, body := get(t, base, statusPath(strconv.FormatInt(cc.ID, 10)), nil, "sim-token")
		var got servedStatus
		if err := json.Unmarshal(body, &got); code != http.StatusOK || err != nil {
			t.Fatalf("%s: status %d %v: %s", at.name, code, err, body)
		}

		// The callers waiting, from the call events of the hours before.
		last := map[int64]wire.CallEvent{}
		for _, ev := range s.Events(at.t.Add(-5*time.Hour), at.t.Add(time.Millisecond)) {
			d, err := wire.DecodeEvent(ev.Claims)
			if err != nil {
				t.Fatal(err)
			}
			if d.Call != nil && d.Call.Target.Type == "callcenter" && int64(d.Call.Target.ID) == cc.ID {
				last[int64(d.Call.CallID)] = *d.Call
			}
		}
		var want servedStatus
		for _, e := range last {
			if e.State == "ringing" || e.State == "queued" {
				want.Pending++
				want.Longest = max(want.Longest, (at.t.UnixMilli()-int64(e.DateStarted))/1000)
			}
		}
		changes := fromEvents(t, s, at.t)
		for _, id := range ops {
			c := changes[id]
			if c.status != "unavailable" {
				want.OnDuty++
			}
			if c.status == "available" {
				want.Capacity++
			}
		}
		if got.Pending != want.Pending || got.Longest != want.Longest || got.OnDuty != want.OnDuty || got.Capacity != want.Capacity {
			t.Errorf("%s: served %+v, the events say pending %d, longest %d s, on duty %d, available %d",
				at.name, got, want.Pending, want.Longest, want.OnDuty, want.Capacity)
		}
		if wantOpen := map[bool]string{true: "open", false: "closed"}[at.open]; got.Availability.Status != wantOpen {
			t.Errorf("%s: availability %q, want %q", at.name, got.Availability.Status, wantOpen)
		}
		sawPending = sawPending || got.Pending > 0
		sawOpen = sawOpen || got.Availability.Status == "open"
		sawClosed = sawClosed || got.Availability.Status == "closed"
		if truth, _ := s.CallCenterStatus(cc.ID, at.t); truth.Pending != got.Pending || truth.Capacity != got.Capacity {
			t.Errorf("%s: CallCenterStatus %+v, served %+v", at.name, truth, got)
		}
	}
	if !sawPending || !sawOpen || !sawClosed {
		t.Errorf("the instants saw callers waiting %v, open %v, closed %v: want all", sawPending, sawOpen, sawClosed)
	}
}

// A department, an unknown id or no id at all is Dialpad's 404.
func TestCallCenterStatusOfOthers(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	base := serve(t, s).URL
	for _, id := range []string{fmt.Sprint(s.Targets()[0].ID), "1234", "not-an-id"} {
		if code, _, body := get(t, base, statusPath(id), nil, "sim-token"); code != http.StatusNotFound {
			t.Errorf("status of %s: %d %s, want 404", id, code, body)
		}
	}
	if code, _, _ := get(t, base, statusPath(fmt.Sprint(s.Targets()[2].ID)), nil, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("status with a wrong key: %d, want 401", code)
	}
}
