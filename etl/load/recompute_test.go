package load

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// The days recomputed are those of the legs written and of the legs the
// list dropped (events gave them, the list does not have them), once per
// month, after the month's legs were all written.
func TestRecomputeCoversTheDaysOfTheLegsWrittenAndDropped(t *testing.T) {
	date := func(m time.Month, d int) time.Time { return utc(2026, m, d, 0, 0) }
	src := newSource(
		call(1, date(2, 27).Add(9*time.Hour)), call(2, date(2, 27).Add(10*time.Hour)), call(3, date(2, 27).Add(11*time.Hour)),
		call(4, date(2, 28).Add(9*time.Hour)), call(5, date(2, 28).Add(23*time.Hour)),
		// Nothing listed on March 1st.
		call(6, date(3, 2).Add(8*time.Hour)), call(7, date(3, 2).Add(12*time.Hour)),
		call(8, date(3, 2).Add(13*time.Hour)), call(9, date(3, 2).Add(17*time.Hour)))
	job, st, d, _ := fakeJob(src, date(3, 20))
	// Events gave a leg of March 1st that the list does not have.
	st.unlisted = func(w dialpad.Window) []time.Time {
		if w.From.Equal(date(3, 1)) {
			return []time.Time{date(3, 1)}
		}
		return nil
	}

	r := oneResult(t, job.Backfill(context.Background(), date(2, 27), date(3, 3), nil, false))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	want := []recompute{
		{dept, []time.Time{date(2, 27), date(2, 28)}, 5},
		{dept, []time.Time{date(3, 1), date(3, 2)}, 9},
	}
	if len(d.recomputes) != len(want) {
		t.Fatalf("recomputed %+v, want once per month %+v", d.recomputes, want)
	}
	for i, got := range d.recomputes {
		if got.t != want[i].t || !slices.Equal(got.days, want[i].days) || got.stored != want[i].stored {
			t.Errorf("recompute %d: %s days %v with %d legs stored, want %v with %d", i+1, got.t, got.days, got.stored,
				want[i].days, want[i].stored)
		}
	}
	var asked []time.Time
	for _, w := range st.dropped {
		asked = append(asked, w.From)
	}
	if wantDropped := []time.Time{date(2, 27), date(2, 28), date(3, 1), date(3, 2)}; !slices.Equal(asked, wantDropped) {
		t.Errorf("dropped the unlisted legs of the windows from %v, want every window read whole %v", asked, wantDropped)
	}
}
