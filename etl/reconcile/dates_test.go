package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
)

// At hard moments in New York (the minute before the clocks go forward
// and the night after that 23-hour day, the repeated hour when they go
// back and the night after that 25-hour day, a Sunday night, New Year's Eve, a 29 February and the 1st after
// it), with every clock standing there: yesterday, loaded by the job,
// matches Dialpad's export leg for leg, and the
// report's last day, week and month are the right dates, the day's
// report seeing it loaded and reconciled. The expected dates are worked
// out by hand from the calendar.
func TestReconcileAndReportAtHardDates(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h, mi int) time.Time { return time.Date(y, m, d, h, mi, 0, 0, ny) }
	for _, c := range []struct {
		name               string
		now                time.Time
		yesterday          time.Time
		weekFrom, weekTo   time.Time
		monthFrom, monthTo time.Time
	}{
		// Sunday 8 March 2026, 01:59 EST: a minute before 02:00 becomes 03:00.
		{"before the clocks go forward", at(2026, 3, 8, 1, 59), date(2026, 3, 7),
			date(2026, 2, 23), date(2026, 3, 1), date(2026, 2, 1), date(2026, 2, 28)},
		// Monday 9 March 2026, 00:05: yesterday had 23 hours.
		{"after the day the clocks went forward", at(2026, 3, 9, 0, 5), date(2026, 3, 8),
			date(2026, 3, 2), date(2026, 3, 8), date(2026, 2, 1), date(2026, 2, 28)},
		// Sunday 1 November 2026, 01:30 EDT: the hour that 02:00 repeats.
		{"in the hour the clocks go back", at(2026, 11, 1, 1, 30), date(2026, 10, 31),
			date(2026, 10, 19), date(2026, 10, 25), date(2026, 10, 1), date(2026, 10, 31)},
		// Monday 2 November 2026, 00:05: yesterday had 25 hours.
		{"after the day the clocks went back", at(2026, 11, 2, 0, 5), date(2026, 11, 1),
			date(2026, 10, 26), date(2026, 11, 1), date(2026, 10, 1), date(2026, 10, 31)},
		// Wednesday 1 March 2028, 00:05: yesterday was a 29 February.
		{"the 1st of a month at 00:05", at(2028, 3, 1, 0, 5), date(2028, 2, 29),
			date(2028, 2, 21), date(2028, 2, 27), date(2028, 2, 1), date(2028, 2, 29)},
		// Sunday 6 December 2026, 23:55: the week still runs until midnight.
		{"a Sunday at 23:55", at(2026, 12, 6, 23, 55), date(2026, 12, 5),
			date(2026, 11, 23), date(2026, 11, 29), date(2026, 11, 1), date(2026, 11, 30)},
		// Thursday 31 December 2026, 23:30.
		{"31 December at 23:30", at(2026, 12, 31, 23, 30), date(2026, 12, 30),
			date(2026, 12, 21), date(2026, 12, 27), date(2026, 11, 1), date(2026, 11, 30)},
		// Tuesday 29 February 2028, noon.
		{"29 February", at(2028, 2, 29, 12, 0), date(2028, 2, 28),
			date(2028, 2, 21), date(2028, 2, 27), date(2028, 1, 1), date(2028, 1, 31)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each its own simulator and database
			for _, w := range []struct {
				kind     string
				from, to time.Time
			}{{"day", c.yesterday, c.yesterday}, {"week", c.weekFrom, c.weekTo}, {"month", c.monthFrom, c.monthTo}} {
				p, err := report.LastPeriod(w.kind, c.now, ny)
				if err != nil || !p.From.Equal(w.from) || !p.To.Equal(w.to) {
					t.Errorf("the last %s at %s is %s (%v); want %s to %s", w.kind, c.now, p, err,
						w.from.Format(time.DateOnly), w.to.Format(time.DateOnly))
				}
			}

			// The departments' calls of yesterday and of today until now.
			w := newWorldAt(t, ny, c.yesterday, c.now, c.now, "department", func(cfg *simulator.Config) { cfg.CallsPerDay = 60 })
			w.last = c.yesterday // today is not over
			days := w.run(t)
			total := 0
			for _, tg := range w.targets {
				key := tg.String() + " " + c.yesterday.Format(time.DateOnly)
				got, ok := days[key]
				want := len(w.truth(t, tg, c.yesterday))
				if !ok || got.Status != reconcile.StatusMatch || got.OurLegs != want || got.DialpadLegs != want {
					t.Errorf("%s: %+v; want a match of the simulator's %d legs", key, got, want)
				}
				total += want
			}
			t.Logf("%d legs yesterday", total)
			if total < 10 {
				t.Fatalf("the simulator made %d legs yesterday; the test needs more to mean something", total)
			}
			if diffs := w.diffs(t); len(diffs) != 0 {
				t.Errorf("differences recorded: %v", diffs)
			}

			day, err := report.LastPeriod("day", c.now, ny)
			if err != nil {
				t.Fatal(err)
			}
			r, err := report.Build(context.Background(), report.Options{Conn: w.store.DB(), Targets: w.targets,
				Location: ny, Period: day, Now: func() time.Time { return c.now }})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range r.Sections {
				if h := s.Health; !h.Complete || h.Days != 1 || h.Reconciled != 1 || len(h.NotMatching.Rows) != 0 {
					t.Errorf("%s's report of %s: loaded up to %s (complete %v), %d of %d days reconciled, %d not matching; "+
						"want complete, 1 of 1, none", s.Target, day, h.LoadedUpTo, h.Complete, h.Reconciled, h.Days, len(h.NotMatching.Rows))
				}
			}
		})
	}
}
