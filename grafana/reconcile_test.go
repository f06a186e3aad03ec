package grafana

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// The health dashboard's reconciliation panels over hand-written runs:
// a day found short, then re-loaded and matching; a day that differs,
// with an entry leg classed differently; a day whose export failed; days
// outside the range; and another target. A day's state is its latest
// run, with each side's entry legs by class when it was compared.
func TestReconciliationPanels(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	store, loc := f.store, f.loc

	sales := dialpad.Target{Type: "department", ID: 1}
	support := dialpad.Target{Type: "callcenter", ID: 2}
	for _, target := range []dialpad.Target{sales, support} {
		run := warehouse.Run{ID: "run-" + target.String(), Target: target, Kind: "nightly", Status: "succeeded",
			Started: time.Date(2025, 3, 14, 7, 0, 0, 0, time.UTC), Finished: time.Date(2025, 3, 14, 7, 1, 0, 0, time.UTC)}
		if err := store.RecordRun(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	first := time.Date(2025, 3, 11, 8, 0, 0, 0, time.UTC)
	second := time.Date(2025, 3, 13, 8, 0, 0, 0, time.UTC)
	third := time.Date(2025, 3, 13, 9, 30, 0, 0, time.UTC)
	write := func(days []reconcile.Reconciled, diffs []reconcile.Difference) {
		t.Helper()
		if err := reconcile.NewStorage(store.DB()).WriteReconciliation(ctx, days, diffs); err != nil {
			t.Fatal(err)
		}
	}
	// The first run: the 10th lacks 3 of Dialpad's legs (not re-loaded),
	// the 5th (outside the range) has one of ours Dialpad lacks.
	write([]reconcile.Reconciled{
		{Target: sales, Day: day(5), RunID: "r1", CheckedAt: first, Status: "differ", OurLegs: 6, DialpadLegs: 5,
			OurConvs: 4, DialpadConvs: 4, OnlyOurs: 1, ExportID: "e1", ExportedAt: first},
		{Target: sales, Day: day(10), RunID: "r1", CheckedAt: first, Status: "differ", OurLegs: 10, DialpadLegs: 13,
			OurConvs: 8, DialpadConvs: 10, OnlyDialpad: 3, ExportID: "e1", ExportedAt: first},
	}, []reconcile.Difference{
		{Day: day(5), CallID: 90, Kind: "only_ours", Ours: "inbound, answered, talk 1m0s"},
		{Day: day(10), CallID: 101, Kind: "only_dialpad", Dialpad: "inbound, answered, talk 1m0s"},
		{Day: day(10), CallID: 102, Kind: "only_dialpad", Dialpad: "inbound, not answered, talk 0s"},
		{Day: day(10), CallID: 103, Kind: "only_dialpad", Dialpad: "outbound, answered, talk 2m0s"},
	})
	// The second: the 10th's missing legs re-loaded, so it matches; the
	// 11th has a leg Dialpad lacks, one whose talk time disagrees and an
	// entry leg Dialpad calls abandoned and we call missed; the 13th
	// (past the range in the reporting zone, not in UTC) differs.
	write([]reconcile.Reconciled{
		{Target: sales, Day: day(10), RunID: "r2", CheckedAt: second, Status: "match", OurLegs: 13, DialpadLegs: 13,
			OurConvs: 10, DialpadConvs: 10, Reloaded: 3, ExportID: "e2", ExportedAt: second,
			OurCategories:     reconcile.Categories{Answered: 6, Abandoned: 2, Missed: 1},
			DialpadCategories: reconcile.Categories{Answered: 6, Abandoned: 2, Missed: 1}},
		{Target: sales, Day: day(11), RunID: "r2", CheckedAt: second, Status: "differ", OurLegs: 8, DialpadLegs: 7,
			OurConvs: 6, DialpadConvs: 5, OnlyOurs: 1, Disagreeing: 2, ExportID: "e2", ExportedAt: second,
			OurCategories:     reconcile.Categories{Answered: 3, Voicemail: 1, Missed: 1},
			DialpadCategories: reconcile.Categories{Answered: 3, Voicemail: 1, Abandoned: 1}},
		{Target: sales, Day: day(13), RunID: "r2", CheckedAt: second, Status: "differ", OurLegs: 2, DialpadLegs: 3,
			OurConvs: 2, DialpadConvs: 3, OnlyDialpad: 1, ExportID: "e2", ExportedAt: second},
	}, []reconcile.Difference{
		{Day: day(10), CallID: 101, Kind: "reloaded"},
		{Day: day(10), CallID: 102, Kind: "reloaded"},
		{Day: day(10), CallID: 103, Kind: "reloaded"},
		{Day: day(11), CallID: 202, Kind: "duration", Ours: "inbound, answered, talk 3m0s", Dialpad: "inbound, answered, talk 5m0s"},
		{Day: day(11), CallID: 201, Kind: "only_ours", Ours: "outbound, answered, talk 2m0s"},
		{Day: day(11), CallID: 203, Kind: "category", Ours: "missed", Dialpad: "abandoned"},
		{Day: day(13), CallID: 401, Kind: "only_dialpad", Dialpad: "inbound, answered, talk 4m0s"},
	})
	// The third: Dialpad failed the 12th's export.
	write([]reconcile.Reconciled{
		{Target: sales, Day: day(12), RunID: "r3", CheckedAt: third, Status: "failed", OurLegs: 5,
			OurConvs: 4, Error: "dialpad: the export failed"},
	}, nil)
	// The other target: a row of Dialpad's export on the 11th was
	// unreadable.
	write([]reconcile.Reconciled{
		{Target: support, Day: day(11), RunID: "r4", CheckedAt: second, Status: "differ", OurLegs: 4, DialpadLegs: 4,
			OurConvs: 3, DialpadConvs: 3, Unreadable: 1, ExportID: "e4", ExportedAt: second},
	}, []reconcile.Difference{
		{Day: day(11), CallID: 0, Kind: "unreadable", Dialpad: "line 7: no call id"},
	})

	// E-mailed reports: last week's sent at the second attempt; the 11th's
	// failed twice; one attempted before the range is not shown.
	attempts := []sends.ReportSend{
		{Kind: "weekly", From: day(3), To: day(9), Attempt: 1, Status: "failed", At: time.Date(2025, 3, 10, 11, 0, 0, 0, time.UTC), Error: "dial failed"},
		{Kind: "weekly", From: day(3), To: day(9), Attempt: 2, Status: "sent", At: time.Date(2025, 3, 10, 11, 2, 0, 0, time.UTC)},
		{Kind: "daily", From: day(11), To: day(11), Attempt: 1, Status: "failed", At: time.Date(2025, 3, 12, 11, 0, 0, 0, time.UTC), Error: "dial failed"},
		{Kind: "daily", From: day(11), To: day(11), Attempt: 2, Status: "failed", At: time.Date(2025, 3, 12, 11, 2, 0, 0, time.UTC), Error: "451 try again later"},
		{Kind: "daily", From: day(1), To: day(1), Attempt: 1, Status: "sent", At: time.Date(2025, 3, 2, 11, 0, 0, 0, time.UTC)},
	}
	for _, r := range attempts {
		r.Recipients, r.Host = "a@example.com", "test"
		if err := sends.NewStorage(store.DB()).RecordReportSend(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	// The times without the websocket: one of 5 minutes on the 11th, one
	// from 23:00 on the 12th still open, one on the 1st before the range.
	gaps := events.NewStorage(store.DB())
	for _, g := range []struct{ from, to time.Time }{
		{time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 9, 1, 0, 0, time.UTC)},
		{time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC), time.Date(2025, 3, 11, 10, 5, 0, 0, time.UTC)},
		{time.Date(2025, 3, 12, 23, 0, 0, 0, time.UTC), time.Time{}},
	} {
		if err := gaps.OpenGap(ctx, g.from); err != nil {
			t.Fatal(err)
		}
		if !g.to.IsZero() {
			if err := gaps.CloseGaps(ctx, g.to); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The 8th to the 12th in the reporting zone: its end is on the 13th
	// in UTC.
	s := span{"five days", time.Date(2025, 3, 8, 0, 0, 0, 0, loc), time.Date(2025, 3, 13, 0, 0, 0, 0, loc).Add(-time.Second)}
	d := dashboardByUID(t, "dialpad-etl-health")
	one := f.queryVars(t, ctx, d, sales, s, mode{name: "one target"})
	all := f.queryVars(t, ctx, d, sales, s, mode{name: "all", multiAll: true})

	// The 11th and the 12th; the 10th matches now.
	if got := singleValue(t, ctx, f, one, d, "Days out of agreement with Dialpad"); got != 2 {
		t.Errorf("days out of agreement of %s: %v, want 2 (the 11th differs, the 12th failed)", sales, got)
	}
	if got := singleValue(t, ctx, f, all, d, "Days out of agreement with Dialpad"); got != 3 {
		t.Errorf("days out of agreement of all targets: %v, want 3 (and %s's 11th)", got, support)
	}

	checked := func(at time.Time) string { return at.Format(time.DateTime) }
	tableCols := []string{"Target", "Day", "Status", "Our legs", "Dialpad's legs", "Only in Dialpad's", "Only in ours",
		"Disagreeing", "Unreadable", "Re-loaded", "Our conversations", "Dialpad's conversations", "Entry legs by class, ours/Dialpad's",
		"Checked at", "Error"}
	twelfth := []string{"department:1", "2025-03-12", "failed", "5", "0", "0", "0", "0", "0", "0", "4", "0", "", checked(third),
		"dialpad: the export failed"}
	eleventh := []string{"department:1", "2025-03-11", "differ", "8", "7", "0", "1", "2", "0", "0", "6", "5",
		"answered 3/3, voicemail 1/1, abandoned 0/1, missed 1/0", checked(second), ""}
	tenth := []string{"department:1", "2025-03-10", "match", "13", "13", "0", "0", "0", "0", "3", "10", "10",
		"answered 6/6, voicemail 0/0, abandoned 2/2, missed 1/1", checked(second), ""}
	supportEleventh := []string{"callcenter:2", "2025-03-11", "differ", "4", "4", "0", "0", "0", "1", "0", "3", "3",
		"answered 0/0, voicemail 0/0, abandoned 0/0, missed 0/0", checked(second), ""}
	checkRows(t, "per day, one target", panelResult(t, ctx, f, one, d, "Ours vs Dialpad's, per day"), tableCols,
		[][]string{twelfth, eleventh, tenth})
	checkRows(t, "per day, all targets", panelResult(t, ctx, f, all, d, "Ours vs Dialpad's, per day"), tableCols,
		[][]string{twelfth, supportEleventh, eleventh, tenth})

	// The latest runs' legs: not the first run's missing ones of the
	// 10th, which the re-load found, nor those of days outside the range.
	diffCols := []string{"Target", "Day", "Kind", "Call id", "Ours", "Dialpad's"}
	diffs := [][]string{
		{"department:1", "2025-03-11", "only_ours", "201", "outbound, answered, talk 2m0s", ""},
		{"department:1", "2025-03-11", "duration", "202", "inbound, answered, talk 3m0s", "inbound, answered, talk 5m0s"},
		{"department:1", "2025-03-11", "category", "203", "missed", "abandoned"},
		{"department:1", "2025-03-10", "reloaded", "101", "", ""},
		{"department:1", "2025-03-10", "reloaded", "102", "", ""},
		{"department:1", "2025-03-10", "reloaded", "103", "", ""},
	}
	checkRows(t, "legs, one target", panelResult(t, ctx, f, one, d, "Legs that differ from Dialpad's"), diffCols, diffs)
	checkRows(t, "e-mailed reports", panelResult(t, ctx, f, one, d, "E-mailed reports"),
		[]string{"Report", "First day", "Last day", "Status", "Attempts", "Last attempt", "Recipients", "Last error"},
		[][]string{
			{"daily", "2025-03-11", "2025-03-11", "failed", "2", checked(attempts[3].At), "a@example.com", "451 try again later"},
			{"weekly", "2025-03-03", "2025-03-09", "sent", "2", checked(attempts[1].At), "a@example.com", ""},
		})
	gapRes := panelResult(t, ctx, f, one, d, "Time without the websocket")
	if len(gapRes.rows) != 2 {
		t.Errorf("times without the websocket: %v; want the 12th's (open) and the 11th's", gapRes.rows)
	} else {
		since := func(i int) any { return gapRes.rows[i][slices.Index(gapRes.cols, "Since")] }
		until := func(i int) any { return deref(gapRes.rows[i][slices.Index(gapRes.cols, "Until")]) }
		open, _ := gapRes.number(0, "Without")
		closed, _ := gapRes.number(1, "Without")
		if s, ok := since(0).(time.Time); !ok || !s.Equal(time.Date(2025, 3, 12, 23, 0, 0, 0, time.UTC)) || until(0) != nil ||
			open < float64(time.Since(s)/time.Second)-60 {
			t.Errorf("the open gap: since %v until %v, %v s; want since the 12th 23:00, no end, until now", since(0), until(0), open)
		}
		if s, ok := since(1).(time.Time); !ok || !s.Equal(time.Date(2025, 3, 11, 10, 0, 0, 0, time.UTC)) || closed != 300 {
			t.Errorf("the closed gap: since %v until %v, %v s; want the 11th 10:00 for 300 s", since(1), until(1), closed)
		}
	}
	checkRows(t, "legs, all targets", panelResult(t, ctx, f, all, d, "Legs that differ from Dialpad's"), diffCols,
		slices.Insert(diffs, 0, []string{"callcenter:2", "2025-03-11", "unreadable", "0", "", "line 7: no call id"}))
}

// checkRows fails t unless res holds want, in order, in the columns cols:
// each cell as text (a Date as its date, a DateTime in UTC).
func checkRows(t *testing.T, what string, res result, cols []string, want [][]string) {
	t.Helper()
	if !slices.Equal(res.cols, cols) {
		t.Errorf("%s: columns %q, want %q", what, res.cols, cols)
		return
	}
	var got [][]string
	for i, row := range res.rows {
		got = append(got, nil)
		for j, v := range row {
			v = reflect.Indirect(reflect.ValueOf(v)).Interface()
			s := fmt.Sprint(v)
			if at, ok := v.(time.Time); ok {
				s = at.UTC().Format(time.DateTime)
				if res.types[j] == "Date" {
					s = at.Format(time.DateOnly)
				}
			}
			got[i] = append(got[i], s)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: rows\n%q\nwant\n%q", what, got, want)
	}
}
