package load

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// spread is n calls of the day that starts at day, one every two hours
// from 00:30, ids from first on.
func spread(first int64, day time.Time, n int) []wire.Call {
	var out []wire.Call
	for i := range n {
		out = append(out, call(first+int64(i), day.Add(30*time.Minute+time.Duration(i)*2*time.Hour)))
	}
	return out
}

// A backfill keeps Concurrency listings in flight, whether it has more
// windows than workers (each worker takes a day) or a single day (idle
// workers split it), and still reads every window once: each leg is
// written once and each day marked loaded once, with its 12 legs.
func TestABackfillKeepsConcurrencySlicesInFlight(t *testing.T) {
	for _, c := range []struct {
		name       string
		days, conc int
	}{
		{"five days, three workers", 5, 3},
		{"one day, four workers", 1, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			from := utc(2026, 3, 2, 0, 0)
			var calls []wire.Call
			for d := range c.days {
				calls = append(calls, spread(int64(100*(d+1)), from.AddDate(0, 0, d), 12)...)
			}
			src := newSource(calls...)
			all := newBarrier(c.conc)
			src.enter = func(dialpad.Window) { all.wait() }
			job, st, _, _ := fakeJob(src, utc(2026, 3, 20, 0, 0))
			job.Concurrency, job.BatchSize = c.conc, 5
			to := from.AddDate(0, 0, c.days)

			r := oneResult(t, job.Backfill(context.Background(), from, to, nil, false))
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if src.most != c.conc {
				t.Errorf("%d listings in flight at most, want Concurrency = %d", src.most, c.conc)
			}
			if want := int64(12 * c.days); r.Run.Legs != want || st.stored() != int(want) {
				t.Errorf("the run read %d legs and stored %d, want %d", r.Run.Legs, st.stored(), want)
			}
			for k, n := range st.writes {
				if n != 1 {
					t.Errorf("leg %d written %d times, want once", k.id, n)
				}
			}
			// Each day marked loaded once, whole, with its 12 legs.
			loaded := slices.Clone(st.loaded)
			slices.SortFunc(loaded, func(a, b loadedWindow) int { return a.w.From.Compare(b.w.From) })
			if len(loaded) != c.days {
				t.Fatalf("%d windows marked loaded, want the %d days: %v", len(loaded), c.days, loaded)
			}
			for i, l := range loaded {
				if want := (dialpad.Window{From: from.AddDate(0, 0, i), To: from.AddDate(0, 0, i+1)}); l.w != want || l.legs != 12 {
					t.Errorf("marked loaded %s with %d legs, want %s with 12", l.w, l.legs, want)
				}
			}
		})
	}
}

// A backfill without force fetches only the days not loaded before; with
// force it fetches them all again.
func TestABackfillFetchesOnlyTheWindowsNotLoadedBefore(t *testing.T) {
	day := func(d int) time.Time { return utc(2026, 3, d, 0, 0) }
	window := func(d int) dialpad.Window { return dialpad.Window{From: day(d), To: day(d + 1)} }
	var calls []wire.Call
	for d := 2; d < 6; d++ {
		calls = append(calls, spread(int64(100*d), day(d), 4)...)
	}
	src := newSource(calls...)
	job, st, _, _ := fakeJob(src, day(20))
	for _, d := range []int{3, 5} {
		_ = st.MarkWindowLoaded(context.Background(), dept, window(d), 4, transform.SourceList)
	}
	var last Progress
	job.Progress = func(p Progress) { last = p }

	r := oneResult(t, job.Backfill(context.Background(), day(2), day(6), nil, false))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got, want := src.askedFor(), []dialpad.Window{window(2), window(4)}; !slices.Equal(got, want) {
		t.Errorf("asked Dialpad for %v, want only the days not loaded %v", got, want)
	}
	if st.stored() != 8 {
		t.Errorf("%d legs stored, want the 4 of each of the 2 days fetched", st.stored())
	}
	if last.WindowsDone != 2 || last.WindowsTotal != 2 || last.Legs != 8 {
		t.Errorf("last progress %+v, want 2 of 2 windows and 8 legs", last)
	}

	src.asked = nil
	if r := oneResult(t, job.Backfill(context.Background(), day(2), day(6), nil, true)); r.Err != nil {
		t.Fatal(r.Err)
	}
	if got, want := src.askedFor(), []dialpad.Window{window(2), window(3), window(4), window(5)}; !slices.Equal(got, want) {
		t.Errorf("a forced backfill asked for %v, want every day %v", got, want)
	}
}

// The windows of a load are the reporting zone's days, 23 hours long
// when daylight saving starts and 25 when it ends; each leg counts on
// its local date.
func TestWindowsAreTheReportingZonesDaysAcrossDaylightSaving(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { at, _ := time.Parse(time.RFC3339, s); return at }
	w := func(from, to string) dialpad.Window { return dialpad.Window{From: at(from), To: at(to)} }
	date := func(m time.Month, d int) time.Time { return utc(2026, m, d, 0, 0) }
	for _, c := range []struct {
		name     string
		from, to time.Time
		calls    []time.Time
		windows  []dialpad.Window
		legs     []int       // marked loaded with each window
		days     []time.Time // recomputed
	}{
		{
			name: "spring forward on 2026-03-08",
			from: time.Date(2026, 3, 7, 0, 0, 0, 0, ny), to: time.Date(2026, 3, 10, 0, 0, 0, 0, ny),
			calls: []time.Time{
				at("2026-03-08T04:59:00Z"), // 23:59 EST on the 7th
				at("2026-03-08T07:30:00Z"), // 03:30 EDT, just after the jump
				at("2026-03-09T03:30:00Z"), // 23:30 EDT on the 8th
				at("2026-03-09T04:15:00Z"), // 00:15 EDT on the 9th
			},
			windows: []dialpad.Window{
				w("2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z"),
				w("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"),
				w("2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z"),
			},
			legs: []int{1, 2, 1},
			days: []time.Time{date(3, 7), date(3, 8), date(3, 9)},
		},
		{
			name: "fall back on 2026-11-01",
			from: time.Date(2026, 10, 31, 0, 0, 0, 0, ny), to: time.Date(2026, 11, 3, 0, 0, 0, 0, ny),
			calls: []time.Time{
				at("2026-11-01T05:30:00Z"), // 01:30 EDT on the 1st
				at("2026-11-01T06:30:00Z"), // 01:30 EST, the hour again
				at("2026-11-02T04:45:00Z"), // 23:45 EST on the 1st
				at("2026-11-02T05:10:00Z"), // 00:10 EST on the 2nd
			},
			windows: []dialpad.Window{
				w("2026-10-31T04:00:00Z", "2026-11-01T04:00:00Z"),
				w("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"),
				w("2026-11-02T05:00:00Z", "2026-11-03T05:00:00Z"),
			},
			legs: []int{0, 3, 1},
			days: []time.Time{date(11, 1), date(11, 2)},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls []wire.Call
			for i, s := range c.calls {
				calls = append(calls, call(int64(i+1), s))
			}
			src := newSource(calls...)
			job, st, d, _ := fakeJob(src, c.to.AddDate(0, 0, 7))
			job.Location = ny
			if r := oneResult(t, job.Backfill(context.Background(), c.from, c.to, nil, false)); r.Err != nil {
				t.Fatal(r.Err)
			}
			if got := src.askedFor(); !slices.Equal(got, c.windows) {
				t.Errorf("asked for %v, want the zone's days %v", got, c.windows)
			}
			if got := st.loadedWindows(); !slices.Equal(got, c.windows) {
				t.Errorf("marked loaded %v, want %v", got, c.windows)
			}
			for i, l := range st.loaded {
				if i < len(c.legs) && l.legs != c.legs[i] {
					t.Errorf("window %s marked loaded with %d legs, want %d", l.w, l.legs, c.legs[i])
				}
			}
			var days []time.Time
			for _, r := range d.recomputes {
				days = append(days, r.days...)
			}
			if !slices.Equal(days, c.days) {
				t.Errorf("recomputed %v, want the local dates %v", days, c.days)
			}
		})
	}
}
