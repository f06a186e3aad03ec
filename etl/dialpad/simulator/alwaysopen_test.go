package simulator

import (
	"math"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
)

// customerCalls counts the calls of s's customers (entry legs and
// outbound legs: one per call) that started in [from, to), per local
// weekday and hour.
func customerCalls(s *Sim, from, to time.Time) (total int, perHour [7][24]int) {
	for _, l := range s.tr.List() {
		if l.EntryID != 0 || l.Started < from.UnixMilli() || l.Started >= to.UnixMilli() {
			continue
		}
		local := time.UnixMilli(l.Started).In(s.cfg.Location)
		total++
		perHour[local.Weekday()][local.Hour()]++
	}
	return total, perHour
}

// operatorIDs are the user ids of the call center's operators.
func operatorIDs(s *Sim) []int64 {
	co := s.tr.Company()
	cc := len(co.Groups) - 1
	var out []int64
	for ui, u := range co.Users {
		for _, m := range u.Groups {
			if m.Group == cc && m.Role == "operator" {
				out = append(out, co.Parties[co.UserParty(ui)].ID)
			}
		}
	}
	return out
}

// callCenterID is the id of s's call center (its last group).
func callCenterID(s *Sim) int64 {
	co := s.tr.Company()
	return co.Parties[len(co.Groups)-1].ID
}

// A company open around the clock has calls and an agent on duty at every
// hour of every day of the week, and every day a weekday's calls; the
// default company keeps business hours.
func TestAlwaysOpen(t *testing.T) {
	t.Parallel()
	open := newTestSim(t, Config{AlwaysOpen: true})
	usual := newTestSim(t, Config{})
	loc := open.cfg.Location
	week := time.Date(2025, 5, 5, 0, 0, 0, 0, loc) // a Monday, in the two weeks before simtest.End
	if week.Before(simtest.Start) || week.AddDate(0, 0, 7).After(simtest.End) {
		t.Fatalf("the week of %s is outside the test range", week)
	}

	_, perHour := customerCalls(open, week, week.AddDate(0, 0, 7))
	for wd := range perHour {
		for h, n := range perHour[wd] {
			if n == 0 {
				t.Errorf("always open: no call on %s at %02d:00", time.Weekday(wd), h)
			}
		}
	}
	_, usualPerHour := customerCalls(usual, week, week.AddDate(0, 0, 7))
	if sat3, sun23 := usualPerHour[time.Saturday][3], usualPerHour[time.Sunday][23]; sat3+sun23 > perHour[time.Saturday][3]+perHour[time.Sunday][23] {
		t.Errorf("Saturday 03:00 and Sunday 23:00 have %d calls by default, %d around the clock: want more around the clock",
			sat3+sun23, perHour[time.Saturday][3]+perHour[time.Sunday][23])
	}

	// Every day has a weekday's calls: as many as a usual Wednesday (its
	// day weight is 1), whatever its weekday.
	wednesday := week.AddDate(0, 0, 2)
	want, _ := customerCalls(usual, wednesday, wednesday.AddDate(0, 0, 1))
	var perDay []int
	for d := range 7 {
		day := week.AddDate(0, 0, d)
		got, _ := customerCalls(open, day, day.AddDate(0, 0, 1))
		perDay = append(perDay, got)
		if math.Abs(float64(got-want)) > 0.2*float64(want) {
			t.Errorf("always open: %s %s has %d calls, want about a usual Wednesday's %d", day.Weekday(), day.Format(time.DateOnly), got, want)
		}
	}

	t.Logf("calls of a usual Wednesday: %d; around the clock, Monday to Sunday: %v", want, perDay)

	// An agent is on duty at every hour of the week, among them a
	// Saturday 03:00 and a Sunday night.
	ops := operatorIDs(open)
	if len(ops) == 0 {
		t.Fatal("the call center has no operators")
	}
	for h := range 7 * 24 {
		at := week.Add(time.Duration(h)*time.Hour + 20*time.Minute)
		onDuty := 0
		for _, id := range ops {
			ds, ok := open.hub.DutyStatus(id, at)
			if !ok {
				t.Fatalf("operator %d has no duty status", id)
			}
			if ds.OnDuty {
				onDuty++
			}
		}
		if wd, hour := at.Weekday(), at.Hour(); wd == time.Saturday && hour == 3 || wd == time.Sunday && hour == 23 {
			t.Logf("%s: %d of %d operators on duty", at.Format("Mon 15:04"), onDuty, len(ops))
		}
		if onDuty == 0 {
			t.Errorf("always open: no operator on duty on %s", at.Format("Mon 2006-01-02 15:04"))
		}
		// Dialpad's live status of the call center says open too.
		if st, ok := open.hub.CallCenterStatus(callCenterID(open), at); !ok || st.Availability.Status != "open" {
			t.Errorf("always open: the call center's status on %s is %+v (%v), want open", at.Format("Mon 15:04"), st.Availability, ok)
		}
	}
	// By default nobody is available on a Saturday night (busy with a
	// call at most).
	for _, id := range ops {
		at := time.Date(2025, 5, 17, 3, 20, 0, 0, loc)
		if ds, _ := usual.hub.DutyStatus(id, at); ds.OnDutyStatus == "available" {
			t.Errorf("by default operator %d is available on Saturday 03:20", id)
		}
	}
}
