package report

import (
	"testing"
	"time"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestLastPeriod(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind     string
		now      time.Time
		loc      *time.Location
		from, to time.Time
	}{
		// Wednesday 2026-12-02 in Chicago.
		{"day", time.Date(2026, 12, 2, 9, 0, 0, 0, chicago), chicago, date(2026, 12, 1), date(2026, 12, 1)},
		{"week", time.Date(2026, 12, 2, 9, 0, 0, 0, chicago), chicago, date(2026, 11, 23), date(2026, 11, 29)},
		{"month", time.Date(2026, 12, 2, 9, 0, 0, 0, chicago), chicago, date(2026, 11, 1), date(2026, 11, 30)},
		// Monday: the week before this one, not the one that starts today.
		{"week", time.Date(2026, 11, 30, 0, 0, 1, 0, chicago), chicago, date(2026, 11, 23), date(2026, 11, 29)},
		// Sunday: the current week runs to today; the one before it.
		{"week", time.Date(2026, 11, 29, 23, 59, 0, 0, chicago), chicago, date(2026, 11, 16), date(2026, 11, 22)},
		// The zone's day, not UTC's: 05:00 UTC on Monday is still Sunday in Chicago.
		{"day", time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC), chicago, date(2026, 11, 28), date(2026, 11, 28)},
		{"week", time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC), chicago, date(2026, 11, 16), date(2026, 11, 22)},
		// 20:00 UTC on Sunday is Monday in Tokyo.
		{"week", time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC), tokyo, date(2026, 11, 23), date(2026, 11, 29)},
		// Across a year; a leap February.
		{"month", time.Date(2027, 1, 1, 8, 0, 0, 0, chicago), chicago, date(2026, 12, 1), date(2026, 12, 31)},
		{"month", time.Date(2028, 3, 31, 8, 0, 0, 0, chicago), chicago, date(2028, 2, 1), date(2028, 2, 29)},
		{"day", time.Date(2027, 1, 1, 8, 0, 0, 0, chicago), chicago, date(2026, 12, 31), date(2026, 12, 31)},
	} {
		p, err := LastPeriod(c.kind, c.now, c.loc)
		if err != nil || p.Kind != c.kind || !p.From.Equal(c.from) || !p.To.Equal(c.to) {
			t.Errorf("LastPeriod(%s, %s) = %s %v, %v; want %s to %s", c.kind, c.now.In(c.loc), p.Kind, p, err,
				c.from.Format(time.DateOnly), c.to.Format(time.DateOnly))
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%v: %v", p, err)
		}
	}
	if _, err := LastPeriod("year", time.Now(), chicago); err == nil {
		t.Error("a year is not a period kind")
	}
}

func TestPeriodRangeAndText(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	week := Period{Kind: "week", From: date(2025, 3, 3), To: date(2025, 3, 9)}
	from, to := week.Range(chicago)
	// CST until 2 am on Sunday 9 March, then CDT: the week is an hour short.
	if want := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC); !from.Equal(want) {
		t.Errorf("from %s, want %s", from, want)
	}
	if want := time.Date(2025, 3, 10, 4, 59, 59, 0, time.UTC); !to.Equal(want) {
		t.Errorf("to %s, want %s (23:59:59 CDT)", to.UTC(), want)
	}
	if week.Days() != 7 || week.String() != "2025-03-03 to 2025-03-09" {
		t.Errorf("days %d, %q", week.Days(), week.String())
	}
	r := &Report{Period: week}
	if got := r.Subject(); got != "Dialpad weekly report, 2025-03-03 to 2025-03-09" {
		t.Errorf("subject %q", got)
	}
	day := Period{Kind: "day", From: date(2025, 3, 9), To: date(2025, 3, 9)}
	if from, to := day.Range(chicago); to.Sub(from) != 23*time.Hour-time.Second {
		t.Errorf("the day clocks go forward lasts %s, want 23h less a second", to.Sub(from))
	}
	r.Period = day
	if got := r.Subject(); got != "Dialpad daily report, 2025-03-09" {
		t.Errorf("subject %q", got)
	}
	r.Period = Custom(time.Date(2025, 3, 1, 0, 0, 0, 0, chicago), time.Date(2025, 3, 12, 0, 0, 0, 0, chicago))
	if got := r.Subject(); got != "Dialpad report, 2025-03-01 to 2025-03-12" || r.Period.Days() != 12 {
		t.Errorf("subject %q, %d days", got, r.Period.Days())
	}
	for _, bad := range []Period{
		{Kind: "week", From: date(2025, 3, 9), To: date(2025, 3, 3)},
		{Kind: "fortnight", From: date(2025, 3, 3), To: date(2025, 3, 9)},
		{Kind: "day", From: time.Date(2025, 3, 3, 0, 0, 0, 0, chicago), To: time.Date(2025, 3, 3, 0, 0, 0, 0, chicago)},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v is not a valid period", bad)
		}
	}
}
