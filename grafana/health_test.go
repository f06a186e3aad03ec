package grafana

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The days a backfill loaded are loaded, whatever the high-water mark
// says; the days after its window are not.
func TestDaysLoadedPerTarget(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	d := dashboardByUID(t, "dialpad-etl-health")
	s := span{"the backfill and 2 days after", f.start, f.end.Add(48 * time.Hour)}
	target := f.targets[0]
	e := f.queryVars(t, ctx, d, target, s, mode{name: "one value each"})
	res := panelResult(t, ctx, f, e, d, "Days loaded per target")
	day, loaded, by := slices.Index(res.cols, "Day"), slices.Index(res.cols, "Loaded"), slices.Index(res.cols, "Loaded by")
	if day < 0 || loaded < 0 || by < 0 {
		t.Fatalf("columns %v, want Day, Loaded and Loaded by", res.cols)
	}
	// The fixture's backfill loaded [start, end): the reporting zone's
	// days wholly inside it.
	first := time.Date(f.start.In(f.loc).Year(), f.start.In(f.loc).Month(), f.start.In(f.loc).Day(), 0, 0, 0, 0, f.loc)
	var want []string
	var days int
	for dd := first; dd.Before(s.to); dd = dd.AddDate(0, 0, 1) {
		days++
		if !dd.Before(f.start) && !dd.AddDate(0, 0, 1).After(f.end) {
			want = append(want, dd.Format(time.DateOnly))
		}
	}
	var got []string
	for _, row := range res.rows {
		at, ok := row[day].(time.Time)
		if !ok {
			t.Fatalf("Day is %T, want a date", row[day])
		}
		if n, _ := toFloat(row[loaded]); n == 1 {
			got = append(got, at.Format(time.DateOnly))
			if row[by] != "backfill" {
				t.Errorf("%s: loaded by %q, want backfill", at.Format(time.DateOnly), row[by])
			}
		}
	}
	if len(res.rows) != days || !slices.Equal(got, want) {
		t.Errorf("%d rows, loaded days %v; want %d rows, loaded %v", len(res.rows), got, days, want)
	}
}
