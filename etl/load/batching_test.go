package load

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// daysOf returns the days of legs, each once, in order of first sight.
func daysOf(legs []transform.Leg) []time.Time {
	var out []time.Time
	for _, l := range legs {
		if !slices.ContainsFunc(out, l.Day.Equal) {
			out = append(out, l.Day)
		}
	}
	return out
}

// threeDaysInOneInsert is a load of three days of two legs each by three
// workers, each holding its listing open until all three have handed
// their page over: so all six legs wait for the inserts at once.
func threeDaysInOneInsert() (*Job, *fakeStore, time.Time) {
	day := func(d int) time.Time { return utc(2026, 3, d, 0, 0) }
	var calls []wire.Call
	for d := 2; d < 5; d++ {
		calls = append(calls, call(int64(10*d), day(d).Add(22*time.Hour)), call(int64(10*d+1), day(d).Add(23*time.Hour)))
	}
	src := newSource(calls...)
	all := newBarrier(3)
	src.after = func(dialpad.Window, int) { all.wait() }
	job, st, _, _ := fakeJob(src, day(20))
	job.Concurrency, job.BatchSize, job.Start = 3, 5, day(2)
	return job, st, day(2)
}

// The slices of a load share their inserts: with BatchSize 5, three
// windows' pages of two legs go in as one insert of four (two windows')
// and one of two, not three of two.
func TestSlicesShareInsertsOfBatchSize(t *testing.T) {
	job, st, from := threeDaysInOneInsert()
	r := oneResult(t, job.Backfill(context.Background(), from, from.AddDate(0, 0, 3), nil, false))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	var sizes []int
	for _, b := range st.batches {
		sizes = append(sizes, len(b))
	}
	if !slices.Equal(sizes, []int{4, 2}) {
		t.Fatalf("inserts of %v legs, want [4 2]: the slices' legs fill shared inserts of up to 5", sizes)
	}
	if days := daysOf(st.batches[0]); len(days) != 2 {
		t.Errorf("the first insert holds the legs of %v, want those of two windows", days)
	}
	if st.stored() != 6 || r.Run.Legs != 6 {
		t.Errorf("stored %d legs, the run read %d; want all 6", st.stored(), r.Run.Legs)
	}
}

// However the slices and their pages interleave, every leg read is
// written exactly once, in inserts of at most BatchSize.
func TestEveryLegReadIsWrittenOnceInInsertsOfAtMostBatchSize(t *testing.T) {
	from := utc(2026, 3, 2, 0, 0)
	perDay := []int{0, 9, 23, 4, 17, 1} // 54 legs
	var calls []wire.Call
	for d, n := range perDay {
		day := from.AddDate(0, 0, d)
		for i := range n {
			// Every 50 minutes from 00:10.
			calls = append(calls, call(int64(1000*d+i), day.Add(10*time.Minute+time.Duration(i)*50*time.Minute)))
		}
	}
	src := newSource(calls...)
	src.pageSize = 4
	job, st, _, _ := fakeJob(src, utc(2026, 3, 20, 0, 0))
	job.Concurrency, job.BatchSize = 4, 7

	r := oneResult(t, job.Backfill(context.Background(), from, from.AddDate(0, 0, len(perDay)), nil, false))
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Run.Legs != 54 || r.Run.LegsChanged != 54 || st.stored() != 54 {
		t.Errorf("the run read %d legs (%d new), stored %d; want 54 (all new)", r.Run.Legs, r.Run.LegsChanged, st.stored())
	}
	for k, n := range st.writes {
		if n != 1 {
			t.Errorf("leg %d written %d times, want once", k.id, n)
		}
	}
	for i, b := range st.batches {
		if len(b) > 7 || len(b) == 0 {
			t.Errorf("insert %d holds %d legs, want 1 to BatchSize = 7", i+1, len(b))
		}
	}
}

var errRefused = errors.New("insert refused: too many parts")

// A write that fails fails the run: its window is not marked loaded, its
// unlisted legs are not dropped, and the mark stops before it, so the
// next load reads it again. The windows after it load as usual.
func TestAFailedWriteFailsTheRunAndHoldsBackItsWindow(t *testing.T) {
	day := func(d int) time.Time { return utc(2026, 3, d, 0, 0) }
	window := func(d int) dialpad.Window { return dialpad.Window{From: day(d), To: day(d + 1)} }
	var calls []wire.Call
	for d := 2; d < 6; d++ {
		calls = append(calls, spread(int64(100*d), day(d), 3)...)
	}
	src := newSource(calls...)
	job, st, _, _ := fakeJob(src, day(7))
	job.Start, job.Lookback = day(2), time.Hour
	st.failLegs = func(legs []transform.Leg) error {
		if slices.ContainsFunc(legs, func(l transform.Leg) bool { return l.Day.Equal(day(4)) }) {
			return errRefused
		}
		return nil
	}

	r := oneResult(t, job.Incremental(context.Background()))
	if !errors.Is(r.Err, errRefused) || r.Run.Status != "failed" || !strings.Contains(r.Run.Error, "insert refused") {
		t.Errorf("run %s %q, %v; want failed with the insert's error", r.Run.Status, r.Run.Error, r.Err)
	}
	// Day 6 has no calls and ended within the lookback of its read: it
	// is done but not final.
	if got, want := st.loadedWindows(), []dialpad.Window{window(2), window(3), window(5)}; !slices.Equal(got, want) {
		t.Errorf("marked loaded %v, want %v: not the day whose legs did not land", got, want)
	}
	if slices.Contains(st.dropped, window(4)) {
		t.Errorf("dropped the unlisted legs of %s, whose read did not land", window(4))
	}
	if mark := st.marks[dept]; !mark.Equal(day(4)) {
		t.Errorf("mark %v, want %v: the start of the window that failed", mark, day(4))
	}
	if st.stored() != 9 {
		t.Errorf("%d legs stored, want the 9 of the three days that landed", st.stored())
	}
}

// An insert shared by several windows fails them all, and only them.
func TestAFailedSharedInsertFailsEveryWindowWithLegsInIt(t *testing.T) {
	job, st, from := threeDaysInOneInsert()
	writes := 0
	st.failLegs = func([]transform.Leg) error {
		if writes++; writes == 1 {
			return errRefused
		}
		return nil
	}
	r := oneResult(t, job.Backfill(context.Background(), from, from.AddDate(0, 0, 3), nil, false))
	if !errors.Is(r.Err, errRefused) || r.Run.Status != "failed" {
		t.Errorf("run %s, %v; want failed with the insert's error", r.Run.Status, r.Err)
	}
	failed := daysOf(st.batches[0])
	if len(failed) != 2 {
		t.Fatalf("the failed insert held the legs of %v, want two windows'", failed)
	}
	var wantLoaded []dialpad.Window
	for d := range 3 {
		day := from.AddDate(0, 0, d)
		if !slices.ContainsFunc(failed, day.Equal) {
			wantLoaded = append(wantLoaded, dialpad.Window{From: day, To: day.AddDate(0, 0, 1)})
		}
	}
	if got := st.loadedWindows(); !slices.Equal(got, wantLoaded) {
		t.Errorf("marked loaded %v, want only %v, whose legs were not in the failed insert", got, wantLoaded)
	}
	first := slices.MinFunc(failed, time.Time.Compare)
	if mark, ok := st.marks[dept]; ok && mark.After(first) {
		t.Errorf("mark %v moved past the failed window of %v", mark, first)
	}
}
