package main

import (
	"testing"
	"time"
)

// The dispositions are loaded for the days the nightly re-load read
// again: from the date ETL_NIGHTLY_LOOKBACK ago to yesterday, dates of
// the reporting zone; a lookback within today is no day.
func TestNightlyDaysAreThoseReadAgain(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		lookback    time.Duration
		now         time.Time
		first, last string
		ok          bool
	}{
		// 02:00 in New York on the 10th: 72 h back is 02:00 of the 7th.
		{72 * time.Hour, time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC), "2026-03-07", "2026-03-09", true},
		// 03:30 UTC of the 10th is still the 9th in New York, 48 h back the
		// evening of the 7th.
		{48 * time.Hour, time.Date(2026, 3, 10, 3, 30, 0, 0, time.UTC), "2026-03-07", "2026-03-08", true},
		{time.Hour, time.Date(2026, 3, 10, 6, 0, 0, 0, time.UTC), "2026-03-10", "2026-03-09", false},
	} {
		first, last, ok := nightlyDays(tt.lookback, ny, tt.now)
		if first.Format(time.DateOnly) != tt.first || last.Format(time.DateOnly) != tt.last || ok != tt.ok {
			t.Errorf("%s back from %v: %s to %s (%v), want %s to %s (%v)", tt.lookback, tt.now,
				first.Format(time.DateOnly), last.Format(time.DateOnly), ok, tt.first, tt.last, tt.ok)
		}
	}
}
