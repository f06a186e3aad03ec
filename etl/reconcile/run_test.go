package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
)

// A run's handling of exports that failed, re-loads and what it records,
// on fakes.

// An export Dialpad failed, one that never finished, and one that could
// not be had at all leave their days unreconciled, and say so: status
// failed, timeout and error, never a match, with our side counted (its
// entry legs by class too), the reason kept, nothing re-loaded, and the
// target's error returned.
func TestDaysWithoutAnExportSayWhy(t *testing.T) {
	failed, slow, broken := dialpad.Target{Type: "department", ID: 1}, dialpad.Target{Type: "department", ID: 2},
		dialpad.Target{Type: "callcenter", ID: 3}
	errs := map[dialpad.Target]error{
		failed: fmt.Errorf("export of department:1: %w", dialpad.ErrExportFailed),
		slow:   fmt.Errorf("export of department:2: %w", dialpad.ErrExportTimeout),
		broken: errors.New("download the export: 502 Bad Gateway"),
	}
	want := map[dialpad.Target]reconcile.Status{failed: reconcile.StatusFailed, slow: reconcile.StatusTimeout, broken: reconcile.StatusError}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{}}
	for _, tg := range []dialpad.Target{failed, slow, broken} {
		transfer := leg(uint64(tg.ID)*10+2, "2026-06-02 09:05:00", "inbound", true, time.Minute)
		transfer.ConversationID = uint64(tg.ID)*10 + 1
		store.legs[tg] = []reconcile.StoredLeg{classed(leg(uint64(tg.ID)*10+1, "2026-06-02 09:00:00", "inbound", true, time.Minute),
			reconcile.ClassAnswered), transfer,
			leg(uint64(tg.ID)*10+3, "2026-06-02 10:00:00", "outbound", false, 0)}
	}
	rec := reconciler(&fakeExports{errs: errs}, store, failed, slow, broken)
	loads := &fakeLoads{store: store}
	rec.Loads = loads

	for _, res := range rec.Run(context.Background(), utcDate(2026, 6, 1), utcDate(2026, 6, 2)) {
		if !errors.Is(res.Err, errs[res.Target]) {
			t.Errorf("%s: error %v; want %v", res.Target, res.Err, errs[res.Target])
		}
		if len(res.Days) != 2 {
			t.Errorf("%s: %d days returned; want 2", res.Target, len(res.Days))
		}
	}
	for _, tg := range []dialpad.Target{failed, slow, broken} {
		for _, c := range []struct {
			day         string
			legs, convs int
			classes     reconcile.Categories
		}{{"2026-06-01", 0, 0, reconcile.Categories{}}, {"2026-06-02", 3, 2, reconcile.Categories{Answered: 1}}} {
			d := store.day(t, tg, c.day)
			if d.Status != want[tg] || d.OurLegs != c.legs || d.OurConvs != c.convs || d.DialpadLegs != 0 ||
				d.OurCategories != c.classes || d.DialpadCategories != (reconcile.Categories{}) ||
				d.Error != errs[tg].Error() || !d.CheckedAt.Equal(fakeNow) || d.RunID == "" {
				t.Errorf("%s %s: %+v; want %s with %d legs ours in %d conversations (entry legs %+v), the reason %q, checked at %s",
					tg, c.day, d, want[tg], c.legs, c.convs, c.classes, errs[tg], fakeNow)
			}
		}
		checkDiffs(t, store, tg)
	}
	if len(loads.days) != 0 {
		t.Errorf("re-loads %v without an export; want none", loads.days)
	}
}

// lostLeg is a leg of day (YYYY-MM-DD) at 10:00, 1 min of talk, as the
// export writes it and as a load stores it.
func lostLeg(id uint64, day string) (row string, stored reconcile.StoredLeg) {
	row = fmt.Sprintf("%d,%s 10:00:00,%s 10:00:10,%s 10:01:10,inbound,1.0,", id, day, day, day)
	return row, leg(id, day+" 10:00:00", "inbound", true, time.Minute)
}

// Days where Dialpad's export has legs the warehouse lacks are loaded
// again, the most recent first, at most MaxReloadDays (here 3) of each
// target in a run, across the parts of 31 days its 40 days are asked for
// in (of 31 days at most, the most recent first). What a re-load brings back is recorded as reloaded and the day
// matches; a leg the re-load does not bring, and a day beyond the
// bound, stay only in Dialpad's. Each part's days are recorded with
// their own differences.
func TestReloadsOfDaysMissingLegsAreBoundedPerTarget(t *testing.T) {
	first, last := utcDate(2026, 4, 24), utcDate(2026, 6, 2) // 40 days: 3 May to 2 June, then 24 April to 2 May
	support := dialpad.Target{Type: "callcenter", ID: 2}
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{}}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{}}
	loads := &fakeLoads{store: store, lost: map[dialpad.Target][]reconcile.StoredLeg{}}
	for _, tg := range []dialpad.Target{sales, support} {
		base := uint64(tg.ID) * 1000
		kept, keptLeg := lostLeg(base, "2026-05-25") // on both sides
		rows := []string{kept}
		store.legs[tg] = []reconcile.StoredLeg{keptLeg}
		for i, day := range []string{"2026-06-01", "2026-06-01", "2026-05-20", "2026-04-28", "2026-04-26"} {
			row, l := lostLeg(base+1+uint64(i), day)
			rows = append(rows, row)
			if i != 1 { // the second leg of 1 June: Dialpad's call list does not have it either
				loads.lost[tg] = append(loads.lost[tg], l)
			}
		}
		exports.exports[tg] = exportOf(t, rows...)
	}
	rec := reconciler(exports, store, sales, support)
	rec.Loads, rec.MaxReloadDays = loads, 3
	runDays(t, rec, first, last)

	for _, tg := range []dialpad.Target{sales, support} {
		base := tg.ID * 1000
		var reloaded []string
		for _, d := range loads.days {
			if strings.HasPrefix(d, tg.String()+" ") {
				reloaded = append(reloaded, d)
			}
		}
		if want := []string{tg.String() + " 2026-06-01", tg.String() + " 2026-05-20", tg.String() + " 2026-04-28"}; !slices.Equal(reloaded, want) {
			t.Errorf("re-loads %q; want %q", reloaded, want)
		}
		for _, c := range []struct {
			day                                  string
			status                               reconcile.Status
			ours, dialpad, onlyDialpad, reloaded int
		}{
			{"2026-06-01", reconcile.StatusDiffer, 1, 2, 1, 1},
			{"2026-05-25", reconcile.StatusMatch, 1, 1, 0, 0},
			{"2026-05-20", reconcile.StatusMatch, 1, 1, 0, 1},
			{"2026-04-28", reconcile.StatusMatch, 1, 1, 0, 1},
			{"2026-04-26", reconcile.StatusDiffer, 0, 1, 1, 0},
			{"2026-04-27", reconcile.StatusMatch, 0, 0, 0, 0},
		} {
			d := store.day(t, tg, c.day)
			if d.Status != c.status || d.OurLegs != c.ours || d.DialpadLegs != c.dialpad || d.OnlyDialpad != c.onlyDialpad ||
				d.Reloaded != c.reloaded || d.OnlyOurs+d.Disagreeing+d.Unreadable != 0 {
				t.Errorf("%s %s: %+v; want %s, %d legs ours, %d Dialpad's, %d only Dialpad's, %d re-loaded", tg, c.day, d,
					c.status, c.ours, c.dialpad, c.onlyDialpad, c.reloaded)
			}
		}
		checkDiffs(t, store, tg,
			fmt.Sprintf(`2026-04-26 only_dialpad %d ours="" dialpad="inbound, answered, talk 1m0s"`, base+5),
			fmt.Sprintf(`2026-04-28 reloaded %d ours="" dialpad=""`, base+4),
			fmt.Sprintf(`2026-05-20 reloaded %d ours="" dialpad=""`, base+3),
			fmt.Sprintf(`2026-06-01 only_dialpad %d ours="" dialpad="inbound, answered, talk 1m0s"`, base+2),
			fmt.Sprintf(`2026-06-01 reloaded %d ours="" dialpad=""`, base+1),
		)
	}
	checkParts(t, store, exports, first, last, []string{"2026-05-03..2026-06-02", "2026-04-24..2026-05-02"}, sales, support)
}

// checkParts checks that each target's days first..last were asked for
// in the exports of parts (from..to), in that order, and recorded a part
// at a time: every day once, each with its own differences.
func checkParts(t *testing.T, store *fakeStore, exports *fakeExports, first, last time.Time, parts []string, targets ...dialpad.Target) {
	t.Helper()
	for _, tg := range targets {
		var asked []string
		for _, req := range exports.asked {
			if req.Target == tg {
				asked = append(asked, req.From.Format(time.DateOnly)+".."+req.To.Format(time.DateOnly))
			}
		}
		if !slices.Equal(asked, parts) {
			t.Errorf("%s: exports asked for %q; want %q", tg, asked, parts)
		}
	}
	seen := map[string]int{}
	for _, w := range store.writes {
		days := map[time.Time]bool{}
		for _, d := range w.days {
			days[d.Day] = true
			seen[d.Target.String()+" "+d.Day.Format(time.DateOnly)]++
		}
		for _, d := range w.diffs {
			if !days[d.Day] {
				t.Errorf("a difference of %s (%s %d) recorded with the days of another part", d.Day.Format(time.DateOnly), d.Kind, d.CallID)
			}
		}
	}
	for _, tg := range targets {
		for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
			if n := seen[tg.String()+" "+d.Format(time.DateOnly)]; n != 1 {
				t.Errorf("%s %s recorded %d times; want once", tg, d.Format(time.DateOnly), n)
			}
		}
	}
	if len(store.writes) != 2*len(targets) {
		t.Errorf("%d writes; want one per part, 2 per target", len(store.writes))
	}
}
