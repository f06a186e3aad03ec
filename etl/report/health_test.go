package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// A backfill that begins after ETL_START (as the demo's does) loads its
// days without moving the incremental high-water mark over the days
// before it. The report says which days are loaded and that the
// incremental load has not run, with nothing in red; a gap between two
// backfills, where a run failed, is red.
func TestHealthOfABackfillAfterStart(t *testing.T) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, loc) }
	w := testkit.NewWorld(t, testkit.Options{Sim: simulator.Config{Seed: 6, Start: day(1), End: day(12), CallsPerDay: 20, Token: "tok-health"},
		Zone: zone, Now: day(12).Add(6 * time.Hour), Direct: true})
	ctx := context.Background()
	job := *w.Job
	job.Start = day(1).AddDate(0, 0, -3) // ETL_START: before the backfills
	whole, gapped := w.Targets[0], w.Targets[1]
	backfill := func(tg dialpad.Target, from, to time.Time) {
		t.Helper()
		for _, r := range job.Backfill(ctx, from, to, []dialpad.Target{tg}, true) {
			if r.Err != nil {
				t.Fatalf("backfill of %s: %v", tg, r.Err)
			}
		}
	}
	backfill(whole, day(1), day(12))
	backfill(gapped, day(1), day(5))
	backfill(gapped, day(7), day(12))
	if err := w.Store.RecordRun(ctx, warehouse.Run{ID: "failed-1", Target: gapped, Kind: "backfill",
		Window: dialpad.Window{From: day(5), To: day(7)}, Started: w.Now, Finished: w.Now, Status: "failed",
		Error: "list calls: 503 Service Unavailable"}); err != nil {
		t.Fatal(err)
	}
	for _, tg := range w.Targets[:2] {
		if mark, ok, err := w.Store.HighWater(ctx, tg); err != nil || ok {
			t.Fatalf("%s: high-water mark %s (%v, %v): a backfill after ETL_START must not move it", tg, mark, ok, err)
		}
	}

	p := report.Custom(day(3), day(9))
	r, err := report.Build(ctx, report.Options{Conn: w.Store.DB(), Targets: w.Targets[:2], Location: loc, Period: p,
		Now: func() time.Time { return w.Now }})
	if err != nil {
		t.Fatal(err)
	}
	sections := strings.Split(r.Text(), "\n== ")[1:]
	if len(sections) != 2 {
		t.Fatalf("%d sections, want 2:\n%s", len(sections), r.Text())
	}

	if h := r.Sections[0].Health; !h.Complete || len(h.Missing) != 0 || len(h.Loaded.Rows) != 7 {
		t.Errorf("%s: complete %v, missing %v, %d days listed: want the 7 days loaded", whole, h.Complete, h.Missing, len(h.Loaded.Rows))
	}
	health := sections[0][strings.Index(sections[0], "\nData health\n"):]
	for _, want := range []string{
		"  Loaded: every day of the period (2025-03-03 to 2025-03-09 by backfill).",
		"  The incremental load (dialpad-etl schedule) has not run yet: the days above were backfilled.",
	} {
		if !strings.Contains(health, want) {
			t.Errorf("%s: the health lacks %q:\n%s", whole, want, health)
		}
	}
	if strings.Contains(health, "\n! ") || strings.Contains(health, "Not loaded") {
		t.Errorf("%s: every day of the period is loaded, yet the health has a warning:\n%s", whole, health)
	}

	h := r.Sections[1].Health
	if h.Complete || len(h.Missing) != 2 || h.Missing[0].Format(time.DateOnly) != "2025-03-05" || h.Missing[1].Format(time.DateOnly) != "2025-03-06" {
		t.Errorf("%s: complete %v, missing %v: want 2025-03-05 and 06, the gap where the run failed", gapped, h.Complete, h.Missing)
	}
	health = sections[1][strings.Index(sections[1], "\nData health\n"):]
	for _, want := range []string{
		"  Loaded: 2025-03-03 to 2025-03-04 by backfill; 2025-03-07 to 2025-03-09 by backfill.",
		"! Not loaded: 2025-03-05 to 2025-03-06; calls of these days are missing from this report",
	} {
		if !strings.Contains(health, want) {
			t.Errorf("%s: the health lacks %q:\n%s", gapped, want, health)
		}
	}

	// The HTML report shows the same lines, the gap in red.
	html, _, err := r.HTML(report.ContentID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "font-weight:bold;\">Not loaded: 2025-03-05 to 2025-03-06") {
		t.Errorf("the HTML report does not show the gap in red")
	}
	if strings.Contains(string(html), "Not loaded yet") {
		t.Errorf("the HTML report says a target is not loaded yet; both were backfilled")
	}
}
