package main

import (
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
)

// backfill --via auto hands the days before the last
// BACKFILL_EXPORT_AFTER_DAYS to the export and those to the list, at the
// reporting zone's midnights (here across the change to summer time in
// Chicago); export and list take it all.
func TestSplitVia(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, chicago) }
	now := time.Date(2026, 3, 12, 15, 0, 0, 0, chicago) // clocks went forward on the 8th
	from, to := day(1, 1), now
	for _, c := range []struct {
		via                string
		exportTo, listFrom time.Time
	}{
		{"auto", day(3, 5), day(3, 5)}, // 7 days before the 12th
		{"export", to, to},
		{"list", from, from},
	} {
		e, l := splitVia(c.via, from, to, now, 7, chicago)
		if !e.Equal(c.exportTo) || !l.Equal(c.listFrom) {
			t.Errorf("%s: export to %v, list from %v; want %v, %v", c.via, e, l, c.exportTo, c.listFrom)
		}
	}
	// A range wholly in the last week is the list's; wholly before it,
	// the export's.
	if e, l := splitVia("auto", day(3, 9), to, now, 7, chicago); e.After(day(3, 9)) || !l.Equal(day(3, 9)) {
		t.Errorf("the last days: export to %v, list from %v; want nothing for the export", e, l)
	}
	if e, l := splitVia("auto", day(1, 1), day(2, 1), now, 7, chicago); !e.Equal(day(2, 1)) || l.Before(day(2, 1)) {
		t.Errorf("January: export to %v, list from %v; want all of it for the export", e, l)
	}
	if got := day(3, 5).UTC().Format(time.RFC3339); got != "2026-03-05T06:00:00Z" {
		t.Errorf("the split is at %s; want Chicago's midnight, 06:00 UTC before the change", got)
	}
}

// A target's line of a backfill from exports: its days, legs, rate, the
// time the days left take at the pace of those done, and the exports
// pending and failed.
func TestExportBar(t *testing.T) {
	pr := load.ExportProgress{Target: dialpad.Target{Type: "callcenter", ID: 7}, DaysDone: 10, Days: 40, Legs: 5000,
		ExportsPending: 1, Failed: 1, Elapsed: 10 * time.Second}
	want := "callcenter:7       [#######.......................] 10/40 days  5000 legs  500 legs/s  ETA 30s  1 exports pending  1 failed"
	if got := exportBar(pr); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
