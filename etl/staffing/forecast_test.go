package staffing

import (
	"testing"
	"time"
)

// quarter is the textbook's goals on the warehouse's 15-minute intervals.
var quarter = Model{Interval: Length, Threshold: 20 * time.Second, Goal: 0.8, MaxOccupancy: 0.85, Shrinkage: 0.3}

// at is the interval of New York's day y-m-d that starts at hh:mm on its
// clock; second picks the second of two (the hour repeated in autumn).
func at(t *testing.T, y int, m time.Month, d, hh, mm int, second bool) time.Time {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	s := time.Date(y, m, d, hh, mm, 0, 0, ny).UTC()
	if second {
		s = s.Add(time.Hour)
	}
	if c := s.In(ny); c.Hour() != hh || c.Minute() != mm {
		t.Fatalf("%d-%d-%d %02d:%02d is not on New York's clock that day", y, m, d, hh, mm)
	}
	return s
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// The forecast of a time of day is the mean of that time on the same
// weekday of the weeks before, across the changes of the clocks: the day
// they go back has 100 intervals, its repeated times forecast alike and,
// as history, count the mean of their two; the hour skipped in spring is
// left out of that week only. An excluded day and a day without calls
// are left out of every time of day.
func TestForecastAcrossTheClockChanges(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p := Planner{Model: quarter, Weeks: 3, Zone: ny, Exclude: []time.Time{day(2026, 10, 11)}}
	iv := func(s time.Time, d time.Time, offered, answered, handleMs float64) Interval {
		return Interval{Start: s, Day: d, Offered: offered, Answered: answered, HandleMs: handleMs}
	}
	history := []Interval{
		// Sunday 18 October: 4 calls at 01:15, 180 s each.
		iv(at(t, 2026, 10, 18, 1, 15, false), day(2026, 10, 18), 4, 4, 4*180000),
		// Sunday 25 October: 8 at 01:15, 120 s each.
		iv(at(t, 2026, 10, 25, 1, 15, false), day(2026, 10, 25), 8, 8, 8*120000),
		// Sunday 11 October, excluded: 100 calls.
		iv(at(t, 2026, 10, 11, 1, 15, false), day(2026, 10, 11), 100, 100, 100*600000),
		// Sunday 1 November, the clocks go back at 02:00: 6 calls in the
		// first 01:15, 2 in the second, 60 s each.
		iv(at(t, 2026, 11, 1, 1, 15, false), day(2026, 11, 1), 6, 6, 6*60000),
		iv(at(t, 2026, 11, 1, 1, 15, true), day(2026, 11, 1), 2, 2, 2*60000),
	}

	// Sunday 1 November from 25, 18 and (excluded) 11 October.
	nov1 := p.Forecast(history, []time.Time{day(2026, 11, 1)})
	if len(nov1) != 100 {
		t.Fatalf("1 November has %d intervals; want 100 (25 hours)", len(nov1))
	}
	for _, second := range []bool{false, true} {
		s := at(t, 2026, 11, 1, 1, 15, second)
		var got *Need
		for i := range nov1 {
			if nov1[i].Start.Equal(s) {
				got = &nov1[i]
			}
		}
		// (4 + 8) / 2 weeks = 6 calls; (4·180 + 8·120) / 12 = 140 s.
		if got == nil || got.Offered != 6 || got.Handle != 140*time.Second || got.Weeks != 2 || !got.Forecast {
			t.Errorf("1 November 01:15 (second %v): %+v; want 6 calls of 140 s from 2 weeks", second, got)
			continue
		}
		if want := quarter.Required(6, 140*time.Second); got.Required != want || got.Scheduled != quarter.Scheduled(want) || want == 0 {
			t.Errorf("1 November 01:15: %d required, %d scheduled; want %d, %d", got.Required, got.Scheduled, want, quarter.Scheduled(want))
		}
	}

	// Sunday 8 November from 1 November (its two 01:15 as their mean: 4
	// calls of 60 s), 25 and 18 October: (4 + 8 + 4) / 3 calls.
	nov8 := p.Forecast(history, []time.Time{day(2026, 11, 8)})
	if len(nov8) != 96 {
		t.Fatalf("8 November has %d intervals; want 96", len(nov8))
	}
	for _, n := range nov8 {
		if n.Start.Equal(at(t, 2026, 11, 8, 1, 15, false)) {
			// Handle: (4·60 + 8·120 + 4·180) / 16 calls = 120 s.
			if n.Offered != 16.0/3 || n.Handle != 120*time.Second || n.Weeks != 3 {
				t.Errorf("8 November 01:15: %+v; want 5.33 calls of 120 s from 3 weeks", n)
			}
		} else if n.Offered != 0 || n.Required != 0 || n.Weeks != 3 {
			t.Errorf("8 November %s: %+v; want no calls, from 3 weeks", n.Start.In(ny).Format("15:04"), n)
		}
	}

	// Spring: Sunday 15 March 2026 from 8 March (the clocks went forward
	// at 02:00: no 02:30) and 1 March.
	spring := []Interval{
		iv(at(t, 2026, 3, 1, 2, 30, false), day(2026, 3, 1), 3, 3, 3*100000),
		iv(at(t, 2026, 3, 1, 3, 30, false), day(2026, 3, 1), 1, 1, 100000),
		iv(at(t, 2026, 3, 8, 3, 30, false), day(2026, 3, 8), 5, 5, 5*100000),
	}
	for _, n := range p.Forecast(spring, []time.Time{day(2026, 3, 15)}) {
		switch c := n.Start.In(ny).Format("15:04"); c {
		case "02:30":
			if n.Offered != 3 || n.Weeks != 1 {
				t.Errorf("15 March 02:30: %+v; want 3 calls from 1 week (8 March had no 02:30)", n)
			}
		case "03:30":
			if n.Offered != 3 || n.Weeks != 2 {
				t.Errorf("15 March 03:30: %+v; want (1 + 5) / 2 = 3 calls from 2 weeks", n)
			}
		}
	}
}

// What an interval needed comes from its own calls; where none was
// answered, from its day's handle time, or else from all the history's;
// an interval yet to begin has no row, and one without calls needs none.
func TestActualNeedOfEachInterval(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	p := Planner{Model: quarter, Weeks: 8, Zone: ny}
	d := day(2026, 6, 2)
	history := []Interval{
		{Start: at(t, 2026, 6, 2, 9, 0, false), Day: d, Offered: 100.0 / 2, Answered: 40, HandleMs: 40 * 180000},
		{Start: at(t, 2026, 6, 2, 9, 15, false), Day: d, Offered: 3, Answered: 0},
		{Start: at(t, 2026, 6, 2, 9, 30, false), Day: d, Offered: 2, Answered: 2, HandleMs: 2 * 60000},
		{Start: at(t, 2026, 6, 1, 9, 0, false), Day: day(2026, 6, 1), Offered: 1, Answered: 1, HandleMs: 30000},
		{Start: at(t, 2026, 6, 3, 9, 0, false), Day: day(2026, 6, 3), Offered: 2, Answered: 0},
	}
	until := at(t, 2026, 6, 3, 9, 30, false)
	needs := p.Actual(history, []time.Time{d, day(2026, 6, 3)}, until)
	if len(needs) != 96+38 {
		t.Fatalf("%d needs; want 96 of 2 June and 38 of 3 June (until 09:30)", len(needs))
	}
	find := func(s time.Time) Need {
		for _, n := range needs {
			if n.Start.Equal(s) {
				return n
			}
		}
		t.Fatalf("no need at %s", s)
		return Need{}
	}
	// 50 calls in 15 minutes at 180 s: the textbook's 10 erlangs.
	if n := find(at(t, 2026, 6, 2, 9, 0, false)); n.Erlangs != 10 || n.Handle != 180*time.Second || n.Required != 14 || n.Scheduled != 20 || n.Forecast {
		t.Errorf("09:00: %+v; want 10 erlangs, 14 required, 20 scheduled", n)
	}
	// None answered: the day's (40·180 + 2·60) / 42 = 174.286 s.
	if n := find(at(t, 2026, 6, 2, 9, 15, false)); n.Handle != 174286*time.Millisecond || n.Required == 0 {
		t.Errorf("09:15: %+v; want the day's 174.286 s", n)
	}
	// 3 June answered nothing: that of the 8 weeks up to it,
	// (40·180 + 2·60 + 30) / 43.
	if n := find(at(t, 2026, 6, 3, 9, 0, false)); n.Handle != 170930*time.Millisecond {
		t.Errorf("3 June 09:00: %+v; want the 8 weeks' 170.930 s", n)
	}
	if n := find(at(t, 2026, 6, 2, 10, 0, false)); n.Offered != 0 || n.Required != 0 || n.Scheduled != 0 {
		t.Errorf("10:00 without calls: %+v; want 0 needed", n)
	}
}

// Today's calls have not all come: a forecast made during the day leaves
// today out of the weeks of the day a week ahead, as it does a week
// without calls.
func TestForecastLeavesOutToday(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	history := []Interval{
		{Start: at(t, 2026, 6, 1, 9, 0, false), Day: day(2026, 6, 1), Offered: 10, Answered: 10, HandleMs: 10 * 180000},
		// Monday 8 June, today: two calls so far.
		{Start: at(t, 2026, 6, 8, 9, 0, false), Day: day(2026, 6, 8), Offered: 2, Answered: 2, HandleMs: 2 * 180000},
	}
	p := Planner{Model: quarter, Weeks: 2, Zone: ny, Today: day(2026, 6, 8)}
	for _, n := range p.Forecast(history, []time.Time{day(2026, 6, 15)}) {
		if n.Start.Equal(at(t, 2026, 6, 15, 9, 0, false)) && (n.Offered != 10 || n.Weeks != 1) {
			t.Errorf("15 June 09:00: %+v; want 10 calls from 1 week (1 June; not today, 8 June)", n)
		}
	}
	// Made the next day, today's calls count.
	p.Today = day(2026, 6, 9)
	for _, n := range p.Forecast(history, []time.Time{day(2026, 6, 15)}) {
		if n.Start.Equal(at(t, 2026, 6, 15, 9, 0, false)) && (n.Offered != 6 || n.Weeks != 2) {
			t.Errorf("15 June 09:00, made on 9 June: %+v; want (10 + 2) / 2 = 6 calls from 2 weeks", n)
		}
	}
}
