package reconcile_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
)

// The comparison of one day with Dialpad's export, on fakes: what a
// reader of reconciliation and reconciliation_diffs sees, worked out by
// hand from docs/reconciliation.md.

var sales = dialpad.Target{Type: "department", ID: 1}

// runDays reconciles the days first..last of sales and fails the test on
// an error.
func runDays(t *testing.T, rec *reconcile.Reconciler, first, last time.Time) {
	t.Helper()
	for _, res := range rec.Run(context.Background(), first, last) {
		if res.Err != nil {
			t.Fatalf("%s: %v", res.Target, res.Err)
		}
	}
}

func checkDiffs(t *testing.T, store *fakeStore, tg dialpad.Target, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := store.diffs(tg); !slices.Equal(got, want) {
		t.Errorf("differences recorded:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Every leg on both sides, agreeing: the day is a match, with its legs
// and conversations counted on both sides (a transfer's second leg is
// in its first's conversation), the export it was compared with, and the
// clock's time.
func TestADayThatAgreesIsAMatch(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportOf(t,
		"101,2026-06-02 09:00:00,2026-06-02 09:00:20,2026-06-02 09:05:20,inbound,5.0,",
		"102,2026-06-02 09:04:00,2026-06-02 09:04:10,2026-06-02 09:10:10,inbound,6.0,101",
		"103,2026-06-02 14:00:00,,2026-06-02 14:00:30,outbound,0.0,",
	)}}
	transfer := leg(102, "2026-06-02 09:04:00", "inbound", true, 6*time.Minute)
	transfer.ConversationID = 101
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		leg(101, "2026-06-02 09:00:00", "inbound", true, 5*time.Minute),
		transfer,
		leg(103, "2026-06-02 14:00:00", "outbound", false, 0),
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 2), utcDate(2026, 6, 2))

	d := store.day(t, sales, "2026-06-02")
	if d.Status != reconcile.StatusMatch || d.OurLegs != 3 || d.DialpadLegs != 3 || d.OurConvs != 2 || d.DialpadConvs != 2 ||
		d.OnlyDialpad+d.OnlyOurs+d.Disagreeing+d.Unreadable+d.Reloaded != 0 {
		t.Errorf("%+v; want a match of 3 legs in 2 conversations on each side", d)
	}
	if d.Target != sales || d.ExportID != "export-department:1" || !d.ExportedAt.Equal(requestedAt) ||
		!d.CheckedAt.Equal(fakeNow) || d.RunID == "" {
		t.Errorf("%+v; want the target, export export-department:1 asked at %s, checked at %s, a run id", d, requestedAt, fakeNow)
	}
	checkDiffs(t, store, sales)
}

// Legs only in Dialpad's export, only in ours, and on both sides but
// disagreeing are each listed with what each side says; a leg that
// disagrees twice counts once. Talk times written with one decimal of a
// minute are compared to 3 s (half of 0.1 minute) plus a second: 4 s
// apart agree, 5 s apart do not.
func TestLegsOnOneSideOrDisagreeingAreListed(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportOf(t,
		"101,2026-06-02 09:00:00,2026-06-02 09:00:10,2026-06-02 09:02:10,inbound,2.0,",
		"102,2026-06-02 09:10:00,2026-06-02 09:10:10,2026-06-02 09:12:10,inbound,2.0,",
		"104,2026-06-02 09:30:00,2026-06-02 09:30:10,2026-06-02 09:31:10,inbound,1.0,",
		"105,2026-06-02 09:40:00,2026-06-02 09:40:10,2026-06-02 09:40:12,inbound,0.0,",
		"106,2026-06-02 09:50:00,2026-06-02 09:50:10,2026-06-02 09:52:40,inbound,2.5,",
		"107,2026-06-02 10:00:00,2026-06-02 10:00:10,2026-06-02 10:02:40,inbound,2.5,",
		"108,2026-06-02 10:10:00,2026-06-02 10:10:10,2026-06-02 10:11:10,outbound,1.0,",
	)}}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		leg(101, "2026-06-02 09:00:00", "inbound", true, 2*time.Minute),
		leg(103, "2026-06-02 09:20:00", "outbound", false, 0),                          // not in the export
		leg(104, "2026-06-02 09:30:00", "outbound", true, time.Minute),                 // direction
		leg(105, "2026-06-02 09:40:00", "inbound", false, 0),                           // not answered
		leg(106, "2026-06-02 09:50:00", "inbound", true, 2*time.Minute+35*time.Second), // 5 s more talk
		leg(107, "2026-06-02 10:00:00", "inbound", true, 2*time.Minute+34*time.Second), // 4 s more talk
		leg(108, "2026-06-02 10:10:00", "inbound", true, 3*time.Minute),                // direction and talk
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 2), utcDate(2026, 6, 2))

	d := store.day(t, sales, "2026-06-02")
	if d.Status != reconcile.StatusDiffer || d.OurLegs != 7 || d.DialpadLegs != 7 || d.OnlyDialpad != 1 || d.OnlyOurs != 1 ||
		d.Disagreeing != 4 || d.Unreadable != 0 || d.OurConvs != 7 || d.DialpadConvs != 7 {
		t.Errorf("%+v; want differ: 7 legs on each side, 1 only in Dialpad's, 1 only in ours, 4 disagreeing", d)
	}
	checkDiffs(t, store, sales,
		`2026-06-02 only_dialpad 102 ours="" dialpad="inbound, answered, talk 2m0s"`,
		`2026-06-02 only_ours 103 ours="outbound, not answered, talk 0s" dialpad=""`,
		`2026-06-02 direction 104 ours="outbound" dialpad="inbound"`,
		`2026-06-02 connected 105 ours="not answered" dialpad="answered"`,
		`2026-06-02 duration 106 ours="2m35s" dialpad="2m30s"`,
		`2026-06-02 direction 108 ours="inbound" dialpad="outbound"`,
		`2026-06-02 duration 108 ours="3m0s" dialpad="1m0s"`,
	)
}

// A day whose legs all agree but whose conversations differ in number
// differs: we count a transfer as one conversation, Dialpad's export as
// two.
func TestConversationsDifferingInNumberMakeTheDayDiffer(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportOf(t,
		"201,2026-06-02 09:00:00,2026-06-02 09:00:10,2026-06-02 09:01:10,inbound,1.0,",
		"202,2026-06-02 09:01:00,2026-06-02 09:01:10,2026-06-02 09:02:10,inbound,1.0,",
	)}}
	transfer := leg(202, "2026-06-02 09:01:00", "inbound", true, time.Minute)
	transfer.ConversationID = 201
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		leg(201, "2026-06-02 09:00:00", "inbound", true, time.Minute), transfer,
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 2), utcDate(2026, 6, 2))

	d := store.day(t, sales, "2026-06-02")
	if d.Status != reconcile.StatusDiffer || d.OurLegs != 2 || d.DialpadLegs != 2 || d.OurConvs != 1 || d.DialpadConvs != 2 ||
		d.OnlyDialpad+d.OnlyOurs+d.Disagreeing+d.Unreadable != 0 {
		t.Errorf("%+v; want differ: 2 legs agreeing, 1 conversation ours, 2 Dialpad's", d)
	}
	checkDiffs(t, store, sales)
}

// Rows of the export that cannot be read are counted as unreadable on
// their day and listed with their line and why; none stops the run. Our
// leg of the same call id is left out rather than reported as only ours.
// A row without an end that started 45 hours before the export is
// unreadable too; a row whose call id cannot be read counts on the day
// it started.
func TestUnreadableRowsAreCountedAndListed(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportOf(t,
		"301,2026-06-02 09:00:00,,2026-06-02 09:01:00,sideways,0.0,", // line 2
		"x1,2026-06-03 10:00:00,,2026-06-03 10:01:00,inbound,0.0,",   // line 3
		"302,2026-06-02 08:00:00,2026-06-02 08:00:10,,inbound,1.0,",  // line 4
		"306,2026-06-02 11:00:00,,2026-06-02 11:00:30,outbound,0.0,", // line 5
	)}}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		leg(301, "2026-06-02 09:00:00", "inbound", false, 0),
		leg(302, "2026-06-02 08:00:00", "inbound", true, time.Minute),
		leg(306, "2026-06-02 11:00:00", "outbound", false, 0),
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 1), utcDate(2026, 6, 3))

	for _, c := range []struct {
		day                       string
		status                    reconcile.Status
		ours, dialpad, unreadable int
	}{
		{"2026-06-01", reconcile.StatusMatch, 0, 0, 0},
		{"2026-06-02", reconcile.StatusDiffer, 1, 1, 2},
		{"2026-06-03", reconcile.StatusDiffer, 0, 0, 1},
	} {
		d := store.day(t, sales, c.day)
		if d.Status != c.status || d.OurLegs != c.ours || d.DialpadLegs != c.dialpad || d.Unreadable != c.unreadable ||
			d.OnlyDialpad+d.OnlyOurs+d.Disagreeing != 0 {
			t.Errorf("%s: %+v; want %s, %d legs ours, %d Dialpad's, %d unreadable, nothing else", c.day, d, c.status,
				c.ours, c.dialpad, c.unreadable)
		}
	}
	checkDiffs(t, store, sales,
		`2026-06-02 unreadable 301 ours="" dialpad="line 2: direction \"sideways\" is neither inbound nor outbound"`,
		`2026-06-02 unreadable 302 ours="" dialpad="line 4: no date_ended, though it started 45h0m0s before the export"`,
		`2026-06-03 unreadable 0 ours="" dialpad="line 3: call_id \"x1\" is not a call id"`,
	)
}

// A leg that had not ended when the export was asked for (05:00 on 4
// June) is left out on both sides: the export has it without its end
// (started 5 h 10 min before), or ending after 05:00, or not at all;
// the warehouse has it whole. The day matches on the leg that had ended.
func TestLegsUnfinishedAtTheExportAreLeftOutOnBothSides(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportOf(t,
		"401,2026-06-03 23:50:00,2026-06-03 23:50:10,,inbound,0.0,",
		"402,2026-06-03 23:00:00,2026-06-03 23:00:10,2026-06-04 05:30:00,inbound,389.8,",
		"403,2026-06-03 12:00:00,,2026-06-03 12:00:40,outbound,0.0,",
	)}}
	ended := func(l reconcile.StoredLeg, at string) reconcile.StoredLeg {
		l.Ended, _ = time.Parse(time.DateTime, at)
		return l
	}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		ended(leg(401, "2026-06-03 23:50:00", "inbound", true, 9*time.Minute+50*time.Second), "2026-06-04 00:00:00"),
		ended(leg(402, "2026-06-03 23:00:00", "inbound", true, 389*time.Minute+50*time.Second), "2026-06-04 05:30:00"),
		leg(403, "2026-06-03 12:00:00", "outbound", false, 0),
		ended(leg(404, "2026-06-03 22:00:00", "inbound", true, 7*time.Hour), "2026-06-04 05:10:00"),
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 3), utcDate(2026, 6, 3))

	d := store.day(t, sales, "2026-06-03")
	if d.Status != reconcile.StatusMatch || d.OurLegs != 1 || d.DialpadLegs != 1 ||
		d.OnlyDialpad+d.OnlyOurs+d.Disagreeing+d.Unreadable != 0 {
		t.Errorf("%+v; want a match of the 1 leg that had ended, nothing else", d)
	}
	checkDiffs(t, store, sales)
}

// categoriesHeader is csvHeader with Dialpad's categories of each leg.
const categoriesHeader = "call_id,date_started,date_connected,date_ended,direction,talk_duration,entry_point_call_id,categories\n"

// exportWithCategories parses an export written in a test:
// categoriesHeader then rows.
func exportWithCategories(t *testing.T, rows ...string) *records.Records {
	t.Helper()
	recs, err := records.Parse(strings.NewReader(categoriesHeader+strings.Join(rows, "\n")+"\n"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// classed is leg with its conversation's class.
func classed(l reconcile.StoredLeg, c reconcile.Class) reconcile.StoredLeg {
	l.Class = c
	return l
}

// A day of inbound entry legs of every class, and an agent's leg and an
// outbound call Dialpad classes too: the entry legs are counted by class
// on each side (Dialpad's abandoned is "incoming,missed,abandoned"), and
// the agent's leg, which rang and was missed, and the outbound call are
// not. The classes agree, so the day is a match.
func TestEntryLegsClassedAlikeAreAMatch(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportWithCategories(t,
		`501,2026-06-02 09:00:00,2026-06-02 09:00:20,2026-06-02 09:05:20,inbound,5.0,,"incoming,answered"`,
		`502,2026-06-02 10:00:00,,2026-06-02 10:01:00,inbound,0.0,,"incoming,voicemail"`,
		`503,2026-06-02 11:00:00,,2026-06-02 11:00:40,inbound,0.0,,"incoming,missed,abandoned"`,
		`504,2026-06-02 12:00:00,,2026-06-02 12:00:50,inbound,0.0,,"incoming,missed"`,
		`505,2026-06-02 12:00:05,,2026-06-02 12:00:35,inbound,0.0,504,"incoming,missed"`,
		`506,2026-06-02 13:00:00,2026-06-02 13:00:10,2026-06-02 13:02:10,outbound,2.0,,outgoing`,
	)}}
	agent := leg(505, "2026-06-02 12:00:05", "inbound", false, 0)
	agent.ConversationID = 504
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		classed(leg(501, "2026-06-02 09:00:00", "inbound", true, 5*time.Minute), reconcile.ClassAnswered),
		classed(leg(502, "2026-06-02 10:00:00", "inbound", false, 0), reconcile.ClassVoicemail),
		classed(leg(503, "2026-06-02 11:00:00", "inbound", false, 0), reconcile.ClassAbandoned),
		classed(leg(504, "2026-06-02 12:00:00", "inbound", false, 0), reconcile.ClassMissed),
		agent,
		leg(506, "2026-06-02 13:00:00", "outbound", true, 2*time.Minute),
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 2), utcDate(2026, 6, 2))

	d := store.day(t, sales, "2026-06-02")
	want := reconcile.Categories{Answered: 1, Voicemail: 1, Abandoned: 1, Missed: 1}
	if d.Status != reconcile.StatusMatch || d.OurCategories != want || d.DialpadCategories != want || d.Disagreeing != 0 {
		t.Errorf("%+v; want a match with %+v on each side", d, want)
	}
	checkDiffs(t, store, sales)
}

// An entry leg Dialpad calls abandoned (no agent rang) that our
// conversation calls missed (an agent rang) makes its day differ: each
// side's counts show it, and the leg is listed with each side's class.
// The other day, whose classes agree, is a match.
func TestAnEntryLegClassedDifferentlyMakesTheDayDiffer(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportWithCategories(t,
		`601,2026-06-02 09:00:00,2026-06-02 09:00:20,2026-06-02 09:05:20,inbound,5.0,,"incoming,answered"`,
		`602,2026-06-02 11:00:00,,2026-06-02 11:00:40,inbound,0.0,,"incoming,missed,abandoned"`,
		`603,2026-06-02 12:00:00,,2026-06-02 12:00:50,inbound,0.0,,"incoming,missed"`,
		`611,2026-06-03 09:00:00,,2026-06-03 09:00:30,inbound,0.0,,"incoming,missed,abandoned"`,
	)}}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		classed(leg(601, "2026-06-02 09:00:00", "inbound", true, 5*time.Minute), reconcile.ClassAnswered),
		classed(leg(602, "2026-06-02 11:00:00", "inbound", false, 0), reconcile.ClassMissed),
		classed(leg(603, "2026-06-02 12:00:00", "inbound", false, 0), reconcile.ClassMissed),
		classed(leg(611, "2026-06-03 09:00:00", "inbound", false, 0), reconcile.ClassAbandoned),
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 2), utcDate(2026, 6, 3))

	d := store.day(t, sales, "2026-06-02")
	ours := reconcile.Categories{Answered: 1, Missed: 2}
	theirs := reconcile.Categories{Answered: 1, Abandoned: 1, Missed: 1}
	if d.Status != reconcile.StatusDiffer || d.OurCategories != ours || d.DialpadCategories != theirs ||
		d.Disagreeing != 1 || d.OurLegs != 3 || d.DialpadLegs != 3 || d.OnlyDialpad+d.OnlyOurs+d.Unreadable != 0 {
		t.Errorf("%+v; want differ: 1 leg disagreeing, ours %+v, Dialpad's %+v", d, ours, theirs)
	}
	next := store.day(t, sales, "2026-06-03")
	if want := (reconcile.Categories{Abandoned: 1}); next.Status != reconcile.StatusMatch ||
		next.OurCategories != want || next.DialpadCategories != want {
		t.Errorf("3 June: %+v; want a match with %+v on each side", next, want)
	}
	checkDiffs(t, store, sales, `2026-06-02 category 602 ours="missed" dialpad="abandoned"`)
}

// An entry leg our conversations do not class (none of the four: they
// were derived before the classes were) differs from the class Dialpad
// gives it, and is listed as none.
func TestAnEntryLegWithoutOurClassDiffers(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportWithCategories(t,
		`621,2026-06-02 11:00:00,,2026-06-02 11:00:40,inbound,0.0,,"incoming,missed"`,
	)}}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		leg(621, "2026-06-02 11:00:00", "inbound", false, 0),
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 2), utcDate(2026, 6, 2))

	d := store.day(t, sales, "2026-06-02")
	if want := (reconcile.Categories{Missed: 1}); d.Status != reconcile.StatusDiffer || d.OurCategories != (reconcile.Categories{}) ||
		d.DialpadCategories != want {
		t.Errorf("%+v; want differ: none counted ours, %+v Dialpad's", d, want)
	}
	checkDiffs(t, store, sales, `2026-06-02 category 621 ours="none" dialpad="missed"`)
}

// Entry legs still ringing when the export was asked for (05:00 on 4
// June), which Dialpad writes as just "incoming", without an end, and
// ones that ended after it, are set aside on both sides, whatever their
// class: the day matches on the leg that had ended.
func TestEntryLegsRingingAtTheExportAreSetAside(t *testing.T) {
	exports := &fakeExports{exports: map[dialpad.Target]*records.Records{sales: exportWithCategories(t,
		`701,2026-06-03 23:58:00,,,inbound,0.0,,incoming`,
		`702,2026-06-03 23:50:00,,2026-06-04 05:01:00,inbound,0.0,,"incoming,missed,abandoned"`,
		`703,2026-06-03 12:00:00,,2026-06-03 12:00:40,inbound,0.0,,"incoming,voicemail"`,
	)}}
	ended := func(l reconcile.StoredLeg, at string) reconcile.StoredLeg {
		l.Ended, _ = time.Parse(time.DateTime, at)
		return l
	}
	store := &fakeStore{legs: map[dialpad.Target][]reconcile.StoredLeg{sales: {
		classed(ended(leg(701, "2026-06-03 23:58:00", "inbound", false, 0), "2026-06-04 00:01:00"), reconcile.ClassMissed),
		classed(ended(leg(702, "2026-06-03 23:50:00", "inbound", false, 0), "2026-06-04 05:01:00"), reconcile.ClassMissed),
		classed(leg(703, "2026-06-03 12:00:00", "inbound", false, 0), reconcile.ClassVoicemail),
	}}}
	runDays(t, reconciler(exports, store, sales), utcDate(2026, 6, 3), utcDate(2026, 6, 3))

	d := store.day(t, sales, "2026-06-03")
	want := reconcile.Categories{Voicemail: 1}
	if d.Status != reconcile.StatusMatch || d.OurLegs != 1 || d.DialpadLegs != 1 || d.OurCategories != want || d.DialpadCategories != want {
		t.Errorf("%+v; want a match of the 1 leg that had ended, %+v on each side", d, want)
	}
	checkDiffs(t, store, sales)
}
