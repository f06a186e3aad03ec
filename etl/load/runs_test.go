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
)

// An incremental load reads from Start the first time, then from a
// lookback before the mark (Dialpad lists a call only once it ended), up
// to now, which becomes the mark. Only a window that ended a lookback
// before it was read is marked loaded.
func TestIncrementalStartsALookbackBeforeTheMark(t *testing.T) {
	w := func(from, to time.Time) dialpad.Window { return dialpad.Window{From: from, To: to} }
	for _, c := range []struct {
		name   string
		mark   time.Time // zero: none yet
		now    time.Time
		asked  []dialpad.Window
		loaded []dialpad.Window
	}{
		{
			name: "first load, from Start",
			now:  utc(2026, 3, 4, 18, 0),
			asked: []dialpad.Window{
				w(utc(2026, 3, 3, 0, 0), utc(2026, 3, 4, 0, 0)),
				w(utc(2026, 3, 4, 0, 0), utc(2026, 3, 4, 18, 0)),
			},
			loaded: []dialpad.Window{w(utc(2026, 3, 3, 0, 0), utc(2026, 3, 4, 0, 0))},
		},
		{
			name: "later load, two hours before the mark",
			mark: utc(2026, 3, 5, 12, 0),
			now:  utc(2026, 3, 6, 1, 30),
			asked: []dialpad.Window{
				w(utc(2026, 3, 5, 10, 0), utc(2026, 3, 6, 0, 0)),
				w(utc(2026, 3, 6, 0, 0), utc(2026, 3, 6, 1, 30)),
			},
			// The first window ended 01:30 before the read: within the
			// lookback, so not final yet.
			loaded: nil,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := newSource(call(1, utc(2026, 3, 3, 9, 0)), call(2, utc(2026, 3, 5, 11, 0)), call(3, utc(2026, 3, 6, 1, 0)))
			job, st, _, _ := fakeJob(src, c.now)
			job.Start, job.Lookback = utc(2026, 3, 3, 0, 0), 2*time.Hour
			if !c.mark.IsZero() {
				st.marks[dept] = c.mark
			}
			r := oneResult(t, job.Incremental(context.Background()))
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if got := src.askedFor(); !slices.Equal(got, c.asked) {
				t.Errorf("asked for %v, want %v", got, c.asked)
			}
			if want := (dialpad.Window{From: c.asked[0].From, To: c.now}); r.Run.Window != want || r.Run.Kind != KindIncremental {
				t.Errorf("run recorded as %s of %s, want incremental of %s", r.Run.Kind, r.Run.Window, want)
			}
			if mark := st.marks[dept]; !mark.Equal(c.now) {
				t.Errorf("mark %v after the load, want now, %v", mark, c.now)
			}
			if got := st.loadedWindows(); !slices.Equal(got, c.loaded) {
				t.Errorf("marked loaded %v, want %v", got, c.loaded)
			}
		})
	}
}

// A backfill moves the mark only when it starts at or before it: one
// that starts later would leave the days between unloaded behind it.
func TestABackfillMovesTheMarkOnlyWithoutAGap(t *testing.T) {
	day := func(d int) time.Time { return utc(2026, 3, d, 0, 0) }
	for _, c := range []struct {
		name     string
		from     time.Time
		wantMark time.Time
	}{
		{"starting after the mark", day(5), day(3)},
		{"starting before the mark", day(2), day(7)},
	} {
		t.Run(c.name, func(t *testing.T) {
			job, st, _, _ := fakeJob(newSource(call(1, day(5).Add(time.Hour))), day(20))
			job.Start = day(1)
			st.marks[dept] = day(3)
			if r := oneResult(t, job.Backfill(context.Background(), c.from, day(7), nil, false)); r.Err != nil {
				t.Fatal(r.Err)
			}
			if mark := st.marks[dept]; !mark.Equal(c.wantMark) {
				t.Errorf("mark %v after a backfill from %v, want %v", mark, c.from, c.wantMark)
			}
		})
	}
}

// A run's record tells what it did: windows, pages, legs read, those new
// or changed, items rejected; a second run of the same calls finds none
// changed but the one whose JSON did.
func TestARunIsRecordedWithWhatItDid(t *testing.T) {
	day := func(d int) time.Time { return utc(2026, 3, d, 0, 0) }
	src := newSource(
		call(1, day(2).Add(1*time.Hour)), call(2, day(2).Add(2*time.Hour)), call(3, day(2).Add(3*time.Hour)),
		call(4, day(3).Add(1*time.Hour)), call(5, day(3).Add(2*time.Hour)))
	src.pageSize = 2
	src.rejects = []fakeReject{{at: day(3).Add(5 * time.Hour), r: wire.Rejected{Reason: "date_started is missing", CallID: 6}}}
	now := day(4)
	job, st, _, _ := fakeJob(src, now)
	job.Start = day(2)

	r := oneResult(t, job.Incremental(context.Background()))
	// Day 2: pages of 2 and 1 legs; day 3: one page of 2 and the reject.
	want := struct {
		status                         string
		windows                        int
		pages, legs, changed, rejected int64
	}{"succeeded", 2, 3, 5, 5, 1}
	got := r.Run
	if r.Err != nil || got.Status != want.status || got.Windows != want.windows || got.Pages != want.pages ||
		got.Legs != want.legs || got.LegsChanged != want.changed || got.Rejected != want.rejected || got.Error != "" {
		t.Errorf("first run: %s, %d windows, %d pages, %d legs (%d changed), %d rejected, %q, %v; want %+v",
			got.Status, got.Windows, got.Pages, got.Legs, got.LegsChanged, got.Rejected, got.Error, r.Err, want)
	}
	if !got.Started.Equal(now) || !got.Finished.Equal(now) || got.Target != dept {
		t.Errorf("run of %s from %v to %v, want %s at %v", got.Target, got.Started, got.Finished, dept, now)
	}
	if len(st.runs) != 1 || st.runs[0] != got {
		t.Errorf("recorded %+v, want the run returned", st.runs)
	}
	if len(st.rejected) != 1 || st.rejected[0].CallID != 6 || st.rejected[0].RunID != got.ID {
		t.Errorf("rejected items recorded %+v, want call 6 of run %s", st.rejected, got.ID)
	}

	// Call 4's JSON changed (a label was added) since it was loaded.
	calls := src.calls[dept]
	calls[3].Raw = []byte(`{"call_id":"4","labels":["vip"]}`)
	delete(st.marks, dept) // read the same two days again
	again := oneResult(t, job.Incremental(context.Background())).Run
	if again.Legs != 5 || again.LegsChanged != 1 || again.ID == got.ID {
		t.Errorf("second run %s: %d legs, %d changed; want 5 legs, 1 changed, and a run of its own", again.ID, again.Legs, again.LegsChanged)
	}
}

var errReset = errors.New("connection reset by peer")

// A window whose listing fails part-way fails the run, with the cause on
// record: what it listed is written, but it is not marked loaded and the
// mark stops at its start.
func TestASourceErrorFailsTheRunAndStopsTheMark(t *testing.T) {
	day := func(d int) time.Time { return utc(2026, 3, d, 0, 0) }
	var calls []wire.Call
	for d := 2; d < 5; d++ {
		calls = append(calls, spread(int64(100*d), day(d), 5)...)
	}
	src := newSource(calls...)
	src.before = func(w dialpad.Window, n int) error {
		if w.From.Equal(day(3)) && n == 2 {
			return errReset
		}
		return nil
	}
	job, st, _, _ := fakeJob(src, day(6))
	job.Start = day(2)

	r := oneResult(t, job.Incremental(context.Background()))
	if !errors.Is(r.Err, errReset) || r.Run.Status != "failed" || !strings.Contains(r.Run.Error, "connection reset by peer") {
		t.Errorf("run %s %q, %v; want failed with the cause", r.Run.Status, r.Run.Error, r.Err)
	}
	if len(st.runs) != 1 || st.runs[0].Status != "failed" {
		t.Errorf("recorded %+v, want the failed run", st.runs)
	}
	// Days 2 and 4 in full, and the first page (3 legs) of day 3.
	if st.stored() != 13 || r.Run.Legs != 13 {
		t.Errorf("stored %d legs, the run read %d; want 5 + 3 + 5 = 13", st.stored(), r.Run.Legs)
	}
	if mark := st.marks[dept]; !mark.Equal(day(3)) {
		t.Errorf("mark %v, want %v: the start of the window that failed", mark, day(3))
	}
	for _, w := range st.loadedWindows() {
		if w.From.Equal(day(3)) {
			t.Errorf("the window that failed, %s, was marked loaded", w)
		}
	}
}
