package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// fakeExports is Dialpad's records export in memory: an export of a
// target's days hands over a row per leg that started in them (in the
// request's zone), oldest first, then the bad rows of those days, and
// stops at the first error of row or bad. As Dialpad's client, it
// refuses days that are not over in the request's zone at its time at.
// fail, if set, fails the export of a request before any row.
type fakeExports struct {
	rows map[dialpad.Target][]records.Record
	bad  map[dialpad.Target][]records.BadRow
	at   time.Time // RequestedAt
	fail func(req dialpad.ExportRequest) error

	mu    sync.Mutex
	asked []string // "target from..to", in the order asked
}

func (f *fakeExports) ExportCallsEach(ctx context.Context, req dialpad.ExportRequest, row func(records.Record) error,
	bad func(records.BadRow) error) (dialpad.ExportInfo, error) {
	f.mu.Lock()
	f.asked = append(f.asked, fmt.Sprintf("%s %s..%s", req.Target, req.From.Format(time.DateOnly), req.To.Format(time.DateOnly)))
	f.mu.Unlock()
	if f.fail != nil {
		if err := f.fail(req); err != nil {
			return dialpad.ExportInfo{}, err
		}
	}
	if y, m, d := f.at.In(req.Zone).Date(); !req.To.Before(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		return dialpad.ExportInfo{}, fmt.Errorf("an export ends before today; %s is not over in %s", req.To.Format(time.DateOnly), req.Zone)
	}
	y, m, d := req.From.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, req.Zone)
	y, m, d = req.To.Date()
	to := time.Date(y, m, d+1, 0, 0, 0, 0, req.Zone)
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	for _, r := range f.rows[req.Target] {
		if in(r.Started) {
			if err := row(r); err != nil {
				return dialpad.ExportInfo{}, err
			}
		}
	}
	for _, b := range f.bad[req.Target] {
		if in(b.StartedLocal) {
			if err := bad(b); err != nil {
				return dialpad.ExportInfo{}, err
			}
		}
	}
	return dialpad.ExportInfo{RequestID: "req-" + req.From.Format(time.DateOnly), RequestedAt: f.at}, nil
}

func (f *fakeExports) askedFor() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.asked)
}

// exportRow is an ended, answered inbound leg of dept's agent 7 that
// started at.
func exportRow(id int64, at time.Time) records.Record {
	return records.Record{CallID: wire.ID(id), Direction: "inbound", Categories: []string{"incoming", "answered"},
		Started: at, StartedLocal: at, Connected: at.Add(10 * time.Second), Ended: at.Add(2 * time.Minute),
		Talk: 110 * time.Second, TargetType: "user", TargetID: 7}
}

// exportWorld is dept's backfill from exports at now (2026-03-10 12:00
// UTC), with a leg every day at 10:00 from 2025-12-01 to 2026-03-09.
func exportWorld() (*Job, *fakeStore, *fakeDeriver, *fakeExports) {
	now := utc(2026, 3, 10, 12, 0)
	ex := &fakeExports{rows: map[dialpad.Target][]records.Record{}, at: now}
	for d := utc(2025, 12, 1, 10, 0); d.Before(now); d = d.AddDate(0, 0, 1) {
		ex.rows[dept] = append(ex.rows[dept], exportRow(d.UnixMilli(), d))
	}
	j, st, der, _ := fakeJob(newSource(), now)
	j.Exports, j.Lookback = ex, 2*time.Hour
	return j, st, der, ex
}

// days are the dates of ws, for messages.
func dates(ws []dialpad.Window) string {
	var out []string
	for _, w := range ws {
		out = append(out, w.From.Format(time.DateOnly))
	}
	return strings.Join(out, " ")
}

// 60 days take two exports, the newest first, of at most 31 days (the
// 6th of February to the 8th of March, then the 8th of January to the
// 5th of February); every
// leg lands with source export, each month is computed once after its
// last export is in, every day is marked loaded from an export, and the
// high-water mark does not move (the backfill starts after it).
func TestExportBackfillOfSixtyDays(t *testing.T) {
	j, st, der, ex := exportWorld()
	ctx := context.Background()
	if err := st.AdvanceHighWater(ctx, dept, utc(2026, 3, 9, 0, 0)); err != nil {
		t.Fatal(err)
	}
	// 2026-01-08 to 2026-03-08, 60 days.
	r := oneResult(t, j.BackfillExport(ctx, utc(2026, 1, 8, 0, 0), utc(2026, 3, 9, 0, 0), nil, false))
	if r.Err != nil || r.Run.Status != "succeeded" || r.Run.Legs != 60 {
		t.Fatalf("run %s, %d legs, %v; want succeeded, 60", r.Run.Status, r.Run.Legs, r.Err)
	}
	want := []string{"department:42 2026-02-06..2026-03-08", "department:42 2026-01-08..2026-02-05"}
	if got := ex.askedFor(); !slices.Equal(got, want) {
		t.Errorf("exports asked for %q, want %q", got, want)
	}
	if st.stored() != 60 {
		t.Errorf("%d legs stored, want 60", st.stored())
	}
	for _, b := range st.batches {
		for _, l := range b {
			if l.Source != transform.SourceExport || !l.Read.Equal(time.UnixMilli(l.StartedMs)) {
				t.Fatalf("leg %d: source %q, read %v; want export, read at its start", l.CallID, l.Source, l.Read)
			}
		}
	}
	// January's days are all in the older export, March's in the newer;
	// February's in both: computed once, after the second.
	var months []string
	for _, rc := range der.recomputes {
		months = append(months, fmt.Sprintf("%s %d days, %d stored", rc.days[0].Format("2006-01"), len(rc.days), rc.stored))
	}
	slices.Sort(months)
	if w := []string{"2026-01 24 days, 60 stored", "2026-02 28 days, 60 stored", "2026-03 8 days, 31 stored"}; !slices.Equal(months, w) {
		t.Errorf("recomputes %q, want %q", months, w)
	}
	if len(st.loaded) != 60 {
		t.Fatalf("%d days marked loaded, want 60", len(st.loaded))
	}
	for _, l := range st.loaded {
		if l.from != transform.SourceExport || l.legs != 1 {
			t.Errorf("day %s marked loaded from %q with %d legs; want export, 1", l.w.From.Format(time.DateOnly), l.from, l.legs)
		}
	}
	if mark, _, _ := st.HighWater(ctx, dept); !mark.Equal(utc(2026, 3, 9, 0, 0)) {
		t.Errorf("high-water mark %v; want it where it was", mark)
	}

	// Again: every day is loaded, nothing is asked for.
	r = oneResult(t, j.BackfillExport(ctx, utc(2026, 1, 8, 0, 0), utc(2026, 3, 9, 0, 0), nil, false))
	if r.Err != nil || len(ex.askedFor()) != 2 {
		t.Errorf("run again: %v, exports %q; want none more", r.Err, ex.askedFor())
	}
}

// Days loaded before, from the list, split the exports: each run of
// days not loaded is its own; today and later days are never asked for.
func TestExportBackfillSkipsLoadedDaysAndToday(t *testing.T) {
	j, st, _, ex := exportWorld()
	ctx := context.Background()
	for d := 3; d <= 4; d++ {
		_ = st.MarkWindowLoaded(ctx, dept, dialpad.Window{From: utc(2026, 3, d, 0, 0), To: utc(2026, 3, d+1, 0, 0)}, 1, transform.SourceList)
	}
	r := oneResult(t, j.BackfillExport(ctx, utc(2026, 3, 1, 0, 0), utc(2026, 3, 12, 0, 0), nil, false))
	want := []string{"department:42 2026-03-05..2026-03-09", "department:42 2026-03-01..2026-03-02"}
	if got := ex.askedFor(); r.Err != nil || !slices.Equal(got, want) {
		t.Errorf("exports asked for %q, %v; want %q (today, the 10th, is not over)", got, r.Err, want)
	}
	// With force, the loaded days are asked for again, in one export.
	r = oneResult(t, j.BackfillExport(ctx, utc(2026, 3, 1, 0, 0), utc(2026, 3, 10, 0, 0), nil, true))
	if got := ex.askedFor(); r.Err != nil || len(got) != 3 || got[2] != "department:42 2026-03-01..2026-03-09" {
		t.Errorf("with force: exports %q, %v; want one more of the 1st to the 9th", got, r.Err)
	}
}

// An export that fails leaves its days unloaded and the run failed,
// naming them; the other export's days are loaded and their months
// computed. Rows of legs not ended are left to the list; bad rows are
// quarantined with their line.
func TestExportBackfillFailureLeavesItsDaysUnloaded(t *testing.T) {
	j, st, der, ex := exportWorld()
	ctx := context.Background()
	ex.fail = func(req dialpad.ExportRequest) error {
		if req.From.Month() == time.January {
			return errors.New("dialpad: the export failed: Dialpad reports the export as failed")
		}
		return nil
	}
	going := exportRow(1, utc(2026, 2, 20, 23, 50))
	going.Ended = time.Time{}
	unplaced := exportRow(2, utc(2026, 2, 22, 9, 0))
	unplaced.Unplaced, unplaced.Line = true, 12
	ex.rows[dept] = append(ex.rows[dept], going, unplaced)
	ex.bad = map[dialpad.Target][]records.BadRow{dept: {{Line: 7, CallID: 99, StartedLocal: utc(2026, 2, 21, 9, 0), Reason: "direction \"sideways\""}}}
	r := oneResult(t, j.BackfillExport(ctx, utc(2026, 1, 8, 0, 0), utc(2026, 3, 9, 0, 0), nil, false))
	if r.Err == nil || r.Run.Status != "failed" || !strings.Contains(r.Run.Error, "2026-01-08 to 2026-02-05") {
		t.Errorf("run %s %q; want failed, naming the days of the failed export", r.Run.Status, r.Run.Error)
	}
	loaded := st.loadedWindows()
	if len(loaded) != 31 || !slices.ContainsFunc(loaded, func(w dialpad.Window) bool { return w.From.Equal(utc(2026, 2, 6, 0, 0)) }) {
		t.Errorf("loaded days %s; want the 31 of the export that succeeded, from the 6th of February", dates(loaded))
	}
	if st.stored() != 31 || r.Run.Legs != 31 || r.Run.Rejected != 2 {
		t.Errorf("%d legs stored, run: %d legs, %d rejected; want 31, 31, 2 (not the leg still going, nor the one whose times cannot be placed)",
			st.stored(), r.Run.Legs, r.Run.Rejected)
	}
	if len(st.rejected) != 2 || st.rejected[0].CallID != 2 || !strings.Contains(st.rejected[0].Reason, "line 12: its times cannot be put in order") ||
		st.rejected[1].CallID != 99 || !strings.Contains(st.rejected[1].Reason, "line 7: direction") {
		t.Errorf("rejected %+v; want call 2 (line 12, not placed) and call 99 (line 7)", st.rejected)
	}
	if len(der.recomputes) != 2 {
		t.Errorf("%d recomputes, want 2 (February, March)", len(der.recomputes))
	}
}

// Months without a leg (the target is younger than the range) are marked
// loaded like the others, and the high-water mark moves over the days
// loaded when the backfill starts at or before it; a day that had not
// ended a Lookback before the export was made is not marked.
func TestExportBackfillMarksEmptyMonthsAndMovesTheMark(t *testing.T) {
	j, st, der, ex := exportWorld()
	ctx := context.Background()
	if err := st.AdvanceHighWater(ctx, dept, utc(2025, 10, 1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	// October to February: legs from the 1st of December only.
	r := oneResult(t, j.BackfillExport(ctx, utc(2025, 10, 1, 0, 0), utc(2026, 3, 1, 0, 0), nil, false))
	if r.Err != nil || len(st.loaded) != 151 {
		t.Fatalf("%v, %d days marked; want all 151 of October to February", r.Err, len(st.loaded))
	}
	if len(der.recomputes) != 3 {
		t.Errorf("%d recomputes; want 3 (December to February: October and November have no legs)", len(der.recomputes))
	}
	if mark, _, _ := st.HighWater(ctx, dept); !mark.Equal(utc(2026, 3, 1, 0, 0)) {
		t.Errorf("high-water mark %v; want the end of February", mark)
	}
	n := len(ex.askedFor())
	if r = oneResult(t, j.BackfillExport(ctx, utc(2025, 10, 1, 0, 0), utc(2026, 3, 1, 0, 0), nil, false)); r.Err != nil || len(ex.askedFor()) != n {
		t.Errorf("run again: %v, %d exports more; want none", r.Err, len(ex.askedFor())-n)
	}

	// An export made at 01:00 of the 9th of March, with a Lookback of 2
	// hours: the 8th is in it but not final, the 7th is.
	ex.at = utc(2026, 3, 9, 1, 0)
	r = oneResult(t, j.BackfillExport(ctx, utc(2026, 3, 7, 0, 0), utc(2026, 3, 9, 0, 0), nil, false))
	last := st.loadedWindows()[len(st.loadedWindows())-1]
	if r.Err != nil || len(st.loaded) != 152 || !last.From.Equal(utc(2026, 3, 7, 0, 0)) {
		t.Errorf("%v, last day marked %s of %d; want the 7th only (the 8th not final at the export)", r.Err, last.From, len(st.loaded))
	}
}

// West of UTC, the export is asked for in UTC dates covering the zone's
// days, and only days that ended before today's UTC date: at 15:00 of
// the 10th of March in Chicago (21:00 UTC), the 9th ends at 06:00 UTC
// of the 10th, so the export holds the 1st to the 8th (UTC dates of the
// 1st to the 9th). A leg of a day beside the chunk's, in its UTC dates,
// is left to that day.
func TestExportBackfillWestOfUTC(t *testing.T) {
	j, st, _, ex := exportWorld()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	j.Location = chicago
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, chicago)
	j.Now, ex.at = func() time.Time { return now }, now
	// The 28th of February at 21:00 in Chicago, in the export's first UTC
	// date.
	ex.rows[dept] = append(ex.rows[dept], exportRow(1, utc(2026, 3, 1, 3, 0)))
	r := oneResult(t, j.BackfillExport(context.Background(), time.Date(2026, 3, 1, 0, 0, 0, 0, chicago), now, nil, false))
	if got := ex.askedFor(); r.Err != nil || !slices.Equal(got, []string{"department:42 2026-03-01..2026-03-09"}) {
		t.Fatalf("exports %q, %v; want one of the UTC dates 1st to 9th", got, r.Err)
	}
	loaded := st.loadedWindows()
	if len(loaded) != 8 || !loaded[0].From.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, chicago)) ||
		!loaded[7].To.Equal(time.Date(2026, 3, 9, 0, 0, 0, 0, chicago)) {
		t.Errorf("days marked %s; want Chicago's 1st to 8th", dates(loaded))
	}
	// The legs of 10:00 UTC of the 1st to the 8th (04:00 in Chicago);
	// not the 28th's, nor the 9th's.
	if st.stored() != 8 || r.Run.Legs != 8 {
		t.Errorf("%d legs stored (run: %d); want the 8 of the 1st to the 8th", st.stored(), r.Run.Legs)
	}
}
