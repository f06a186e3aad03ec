package derive

import (
	"fmt"
	"testing"
	"time"
)

// Counted by hand: an agent in New York over the night the clocks went
// forward (2026-03-08 02:00 EST became 03:00 EDT, at 07:00 UTC), whose
// current status lasts until now.
func TestCountAgentTimeAtTheDSTChangeUntilNow(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m, s int) int64 { return time.Date(2026, 3, 8, h, m, s, 0, time.UTC).UnixMilli() }
	spans := []StatusSpan{
		// 04:50 UTC is 23:50 EST on 7 March; 05:00 UTC is midnight.
		{Agent: 3, Name: "Al", Status: Unavailable, Reason: "break", Start: at(4, 50, 0), End: at(4, 55, 0)},
		{Agent: 3, Name: "Al", Status: "occupied-end", CallCenters: []uint64{5}, Start: at(4, 55, 0), End: at(5, 5, 0)},
		{Agent: 3, Name: "Al", Status: "paused", CallCenters: []uint64{5}, Start: at(5, 5, 0), End: at(6, 59, 0)},
		{Agent: 3, Name: "Al B.", Status: Wrapup, CallCenters: []uint64{5}, Start: at(6, 59, 0)},
	}
	agents, duty := CountAgentTime(spans, at(4, 52, 0), at(7, 7, 30), ny)
	var got []string
	for _, a := range agents {
		got = append(got, fmt.Sprintf("%s %s %s av=%d wr=%d un=%d %v:%v uk=%d", a.Name,
			time.UnixMilli(a.Start).UTC().Format("15:04"), a.Day.Format(time.DateOnly), a.Available/1000, a.Wrapup/1000,
			a.Unavailable/1000, a.Reasons, a.ReasonMs, a.Unknown/1000))
	}
	want := []string{
		// The recount starts at 04:45, the interval that holds 04:52.
		"Al B. 04:45 2026-03-07 av=300 wr=0 un=300 [break]:[300000] uk=0",
		"Al B. 05:00 2026-03-08 av=300 wr=0 un=0 []:[] uk=600",
		"Al B. 05:15 2026-03-08 av=0 wr=0 un=0 []:[] uk=900",
		"Al B. 05:30 2026-03-08 av=0 wr=0 un=0 []:[] uk=900",
		"Al B. 05:45 2026-03-08 av=0 wr=0 un=0 []:[] uk=900",
		"Al B. 06:00 2026-03-08 av=0 wr=0 un=0 []:[] uk=900",
		"Al B. 06:15 2026-03-08 av=0 wr=0 un=0 []:[] uk=900",
		"Al B. 06:30 2026-03-08 av=0 wr=0 un=0 []:[] uk=900",
		"Al B. 06:45 2026-03-08 av=0 wr=60 un=0 []:[] uk=840",
		"Al B. 07:00 2026-03-08 av=0 wr=450 un=0 []:[] uk=0",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("agent intervals:\n got %q\nwant %q", got, want)
	}
	// Per day: 7 March (EST) holds the 04:45 interval; 8 March lasts 23
	// hours, its clocks having gone forward.
	days, dutyDays := DailyTime(agents, duty, ny)
	got = nil
	for _, d := range days {
		got = append(got, fmt.Sprintf("%s %s+%s av=%d wr=%d un=%d %v:%v uk=%d", d.Day.Format(time.DateOnly),
			d.Start.Format("01-02 15:04"), d.End.Sub(d.Start), d.Available/1000, d.Wrapup/1000, d.Unavailable/1000,
			d.Reasons, d.ReasonMs, d.Unknown/1000))
	}
	wantDays := []string{
		"2026-03-07 03-07 05:00+24h0m0s av=300 wr=0 un=300 [break]:[300000] uk=0",
		"2026-03-08 03-08 05:00+23h0m0s av=300 wr=510 un=0 []:[] uk=6840",
	}
	if fmt.Sprint(got) != fmt.Sprint(wantDays) {
		t.Errorf("agent days:\n got %q\nwant %q", got, wantDays)
	}
	if len(dutyDays) != 2 || dutyDays[0].OnDuty != 300_000 || dutyDays[1].OnDuty != 7_650_000 {
		t.Errorf("duty days %+v, want 300 s on 7 March and 7,650 s on 8 March", dutyDays)
	}
	// Call center 5 in every interval, 0 where the agent was off duty.
	if len(duty) != len(agents) || duty[0].OnDuty != 300_000 || duty[1].OnDuty != 900_000 || duty[9].OnDuty != 450_000 {
		t.Errorf("duty intervals %+v", duty)
	}
}
