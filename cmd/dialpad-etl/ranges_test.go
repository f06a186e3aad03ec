package main

import (
	"testing"
	"time"
)

// The days the commands pick by themselves, at hard moments in New York:
// report --period (yesterday, last Monday-to-Sunday week, last month)
// and reconcile without --from and --to (RECONCILE_DAYS days, up to
// yesterday). The expected dates are worked out from the calendar.
func TestReportAndReconcileRanges(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	d := func(y int, m time.Month, day int) string {
		return time.Date(y, m, day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	for _, c := range []struct {
		name                      string
		now                       time.Time
		day, week, month, recon3d string
	}{
		{"a minute before the clocks go forward", time.Date(2026, 3, 8, 1, 59, 0, 0, ny),
			d(2026, 3, 7), d(2026, 2, 23) + " to " + d(2026, 3, 1), d(2026, 2, 1) + " to " + d(2026, 2, 28), d(2026, 3, 5) + " to " + d(2026, 3, 7)},
		{"03:00 EDT, a minute later", time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),
			d(2026, 3, 7), d(2026, 2, 23) + " to " + d(2026, 3, 1), d(2026, 2, 1) + " to " + d(2026, 2, 28), d(2026, 3, 5) + " to " + d(2026, 3, 7)},
		{"01:30 EST, the repeated hour's second run", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC),
			d(2026, 10, 31), d(2026, 10, 19) + " to " + d(2026, 10, 25), d(2026, 10, 1) + " to " + d(2026, 10, 31), d(2026, 10, 29) + " to " + d(2026, 10, 31)},
		{"a 1st of a month at 00:05", time.Date(2028, 3, 1, 0, 5, 0, 0, ny),
			d(2028, 2, 29), d(2028, 2, 21) + " to " + d(2028, 2, 27), d(2028, 2, 1) + " to " + d(2028, 2, 29), d(2028, 2, 27) + " to " + d(2028, 2, 29)},
		{"a Sunday at 23:55", time.Date(2026, 12, 6, 23, 55, 0, 0, ny),
			d(2026, 12, 5), d(2026, 11, 23) + " to " + d(2026, 11, 29), d(2026, 11, 1) + " to " + d(2026, 11, 30), d(2026, 12, 3) + " to " + d(2026, 12, 5)},
		{"Monday at 00:00", time.Date(2026, 12, 7, 0, 0, 0, 0, ny),
			d(2026, 12, 6), d(2026, 11, 30) + " to " + d(2026, 12, 6), d(2026, 11, 1) + " to " + d(2026, 11, 30), d(2026, 12, 4) + " to " + d(2026, 12, 6)},
		{"31 December at 23:30", time.Date(2026, 12, 31, 23, 30, 0, 0, ny),
			d(2026, 12, 30), d(2026, 12, 21) + " to " + d(2026, 12, 27), d(2026, 11, 1) + " to " + d(2026, 11, 30), d(2026, 12, 28) + " to " + d(2026, 12, 30)},
		{"1 January at 00:30 (05:30 UTC)", time.Date(2027, 1, 1, 5, 30, 0, 0, time.UTC),
			d(2026, 12, 31), d(2026, 12, 21) + " to " + d(2026, 12, 27), d(2026, 12, 1) + " to " + d(2026, 12, 31), d(2026, 12, 29) + " to " + d(2026, 12, 31)},
		{"29 February at noon", time.Date(2028, 2, 29, 12, 0, 0, 0, ny),
			d(2028, 2, 28), d(2028, 2, 21) + " to " + d(2028, 2, 27), d(2028, 1, 1) + " to " + d(2028, 1, 31), d(2028, 2, 26) + " to " + d(2028, 2, 28)},
	} {
		t.Run(c.name, func(t *testing.T) {
			for kind, want := range map[string]string{"day": c.day, "week": c.week, "month": c.month} {
				p, err := reportPeriod(kind, "", "", ny, c.now)
				if err != nil || p.String() != want {
					t.Errorf("report --period %s at %s: %s (%v); want %s", kind, c.now.In(ny), p, err, want)
				}
			}
			first, last, err := reconcileRange("", "", 3, ny, c.now)
			if got := first.Format(time.DateOnly) + " to " + last.Format(time.DateOnly); err != nil || got != c.recon3d {
				t.Errorf("reconcile with RECONCILE_DAYS=3 at %s: %s (%v); want %s", c.now.In(ny), got, err, c.recon3d)
			}
			// Today is not over: reconcile --to today is refused.
			today := c.now.In(ny).Format(time.DateOnly)
			if _, _, err := reconcileRange("", today, 3, ny, c.now); err == nil {
				t.Errorf("reconcile --to %s at %s was accepted; today is not over", today, c.now.In(ny))
			}
		})
	}
}
