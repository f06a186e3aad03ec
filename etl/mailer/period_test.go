package mailer_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
)

// The period a due time sends, in the reporting zone (New York): the
// daily report is the day before the due time's day there, the weekly
// one the Monday-to-Sunday week before its week. The dates are worked
// out on a calendar: 2026-03-08 and 2026-11-01 are the Sundays the clocks
// change; 2026-03-01 and 2026-05-31 are Sundays, 2026-06-01 a Monday and
// 2027-01-01 a Friday.
func TestPeriodSentForADueTime(t *testing.T) {
	cases := []struct {
		name     string
		kind     string
		at       time.Time
		from, to time.Time
		subject  string
	}{
		{"the Monday after clocks go forward", mailer.Weekly, mondayAfterDST, date(2026, 3, 2), date(2026, 3, 8),
			"Dialpad weekly report, 2026-03-02 to 2026-03-08"},
		{"the Monday after clocks go forward", mailer.Daily, mondayAfterDST, date(2026, 3, 8), date(2026, 3, 8),
			"Dialpad daily report, 2026-03-08"},
		// Monday 03:30 UTC is still Sunday 23:30 in New York.
		{"Monday in UTC, Sunday in New York", mailer.Daily, time.Date(2026, 3, 9, 3, 30, 0, 0, time.UTC), date(2026, 3, 7), date(2026, 3, 7),
			"Dialpad daily report, 2026-03-07"},
		{"Monday in UTC, Sunday in New York", mailer.Weekly, time.Date(2026, 3, 9, 3, 30, 0, 0, time.UTC), date(2026, 2, 23), date(2026, 3, 1),
			"Dialpad weekly report, 2026-02-23 to 2026-03-01"},
		{"the first of March", mailer.Daily, time.Date(2026, 3, 1, 6, 0, 0, 0, newYork), date(2026, 2, 28), date(2026, 2, 28),
			"Dialpad daily report, 2026-02-28"},
		{"a month that ends on a Sunday", mailer.Weekly, time.Date(2026, 6, 1, 7, 0, 0, 0, newYork), date(2026, 5, 25), date(2026, 5, 31),
			"Dialpad weekly report, 2026-05-25 to 2026-05-31"},
		// 00:30 on the Monday after clocks go back is 05:30 UTC.
		{"just after midnight after clocks go back", mailer.Daily, time.Date(2026, 11, 2, 5, 30, 0, 0, time.UTC), date(2026, 11, 1), date(2026, 11, 1),
			"Dialpad daily report, 2026-11-01"},
		{"new year's day, a Friday", mailer.Weekly, time.Date(2027, 1, 1, 7, 0, 0, 0, newYork), date(2026, 12, 21), date(2026, 12, 27),
			"Dialpad weekly report, 2026-12-21 to 2026-12-27"},
	}
	for _, c := range cases {
		t.Run(c.kind+" "+c.name, func(t *testing.T) {
			f := newFixture()
			if err := f.m.Send(context.Background(), c.kind, c.at); err != nil {
				t.Fatal(err)
			}
			asks := f.builds.asks
			if len(asks) != 1 {
				t.Fatalf("the report was read %d times; want once", len(asks))
			}
			p := asks[0].Period
			if !p.From.Equal(c.from) || !p.To.Equal(c.to) || p.Kind != map[string]string{mailer.Daily: "day", mailer.Weekly: "week"}[c.kind] {
				t.Errorf("read the %s %s to %s; want %s to %s", p.Kind, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly),
					c.from.Format(time.DateOnly), c.to.Format(time.DateOnly))
			}
			if asks[0].Location != newYork || !slices.Equal(asks[0].Targets, fakeTargets) {
				t.Errorf("read in %v for %v; want New York and %v", asks[0].Location, asks[0].Targets, fakeTargets)
			}
			rows := f.sends.all()
			if len(rows) != 1 || !rows[0].From.Equal(c.from) || !rows[0].To.Equal(c.to) || rows[0].Kind != c.kind {
				t.Errorf("report_sends %+v; want the %s report of %s to %s sent", rows, c.kind, c.from.Format(time.DateOnly), c.to.Format(time.DateOnly))
			}
			if mails := f.outbox.mails(); len(mails) != 1 || subjectOf(mails[0]) != c.subject {
				t.Errorf("%d mails; want one titled %q", len(mails), c.subject)
			}
		})
	}
}
