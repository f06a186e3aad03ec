package records

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Columns are read by name whatever their order, unknown ones are
// ignored and missing optional ones read as empty; durations are minutes.
func TestParseRecordsReadsColumnsByName(t *testing.T) {
	csv := "name,talk_duration,Timezone,direction,csat_score,categories,date_ended,date_connected,call_id,date_started,entry_point_call_id\n" +
		`"Sales, East",2.5,America/New_York,inbound,5,"incoming,answered",2026-06-01 10:05:00,2026-06-01 10:02:30,101,2026-06-01 10:00:00.250000,100` + "\n" +
		`Sales,0,America/New_York,outbound,,outgoing,2026-06-01 11:00:20,,102,2026-06-01 11:00:00,` + "\n"
	recs, err := Parse(strings.NewReader(csv), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.Rows) != 2 || len(recs.Bad) != 0 {
		t.Fatalf("%d rows, bad %v; want 2 rows", len(recs.Rows), recs.Bad)
	}
	a, b := recs.Rows[0], recs.Rows[1]
	if a.CallID != 101 || a.Direction != "inbound" || a.Talk != 150*time.Second || a.ConversationID() != 100 ||
		!a.Started.Equal(utc("2026-06-01T14:00:00.25Z")) || !a.Connected.Equal(utc("2026-06-01T14:02:30Z")) ||
		!a.Ended.Equal(utc("2026-06-01T14:05:00Z")) || strings.Join(a.Categories, "+") != "incoming+answered" {
		t.Errorf("first row read as %+v", a)
	}
	if b.CallID != 102 || b.WasConnected() || b.Talk != 0 || b.ConversationID() != 102 || b.Line != 3 {
		t.Errorf("second row read as %+v", b)
	}
	// One decimal is the export's precision: 3 s either way.
	if a.TalkTolerance != 3*time.Second {
		t.Errorf("talk tolerance %s, want 3s (half of 0.1 minute)", a.TalkTolerance)
	}
}

// Naive local times are read in the row's zone with the offset in force
// at that moment, on either side of a DST change; a time the clocks went
// back over is placed by the order of the leg's times and its talk time.
func TestParseRecordsPlacesLocalTimesAcrossDST(t *testing.T) {
	head := "call_id,date_started,date_connected,date_ended,timezone,direction,talk_duration\n"
	rows := []string{
		// Spring forward (2026-03-08, 02:00 EST becomes 03:00 EDT).
		"1,2026-03-08 01:59:30,2026-03-08 03:00:10,2026-03-08 03:05:10,America/New_York,inbound,5",
		// Fall back (2026-11-01, 02:00 EDT becomes 01:00 EST): ended in
		// the repeated hour's second run, so the start is its first.
		"2,2026-11-01 01:50:00,2026-11-01 01:55:00,2026-11-01 01:05:00,America/New_York,inbound,10",
		// Inside the repeated hour throughout: two starts fit.
		"3,2026-11-01 01:10:00,2026-11-01 01:12:00,2026-11-01 01:20:00,America/New_York,inbound,8",
		// A time the clocks skipped.
		"4,2026-03-08 02:30:00,,2026-03-08 03:40:00,America/New_York,outbound,0",
		// A row in another zone than the request's.
		"5,2026-07-01 09:00:00,,2026-07-01 09:01:00,Europe/London,outbound,0",
		// No zone on the row: the request's.
		"6,2026-07-01 09:00:00,,2026-07-01 09:01:00,,outbound,0",
	}
	recs, err := Parse(strings.NewReader(head+strings.Join(rows, "\n")+"\n"), mustZone(t, "America/Chicago"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.Rows) != 6 {
		t.Fatalf("%d rows, bad %v; want 6", len(recs.Rows), recs.Bad)
	}
	want := []struct{ started, connected, ended string }{
		{"2026-03-08T06:59:30Z", "2026-03-08T07:00:10Z", "2026-03-08T07:05:10Z"},
		{"2026-11-01T05:50:00Z", "2026-11-01T05:55:00Z", "2026-11-01T06:05:00Z"},
		{"2026-11-01T05:10:00Z", "", ""},
	}
	for i, w := range want {
		r := recs.Rows[i]
		if !r.Started.Equal(utc(w.started)) || r.Unplaced {
			t.Errorf("row %d: started %s (unplaced %v), want %s", i+1, r.Started.UTC(), r.Unplaced, w.started)
		}
		if w.connected != "" && (!r.Connected.Equal(utc(w.connected)) || !r.Ended.Equal(utc(w.ended))) {
			t.Errorf("row %d: connected %s ended %s, want %s and %s", i+1, r.Connected.UTC(), r.Ended.UTC(), w.connected, w.ended)
		}
	}
	if r := recs.Rows[0]; len(r.StartedAlt) != 0 || r.Ended.Sub(r.Connected) != r.Talk {
		t.Errorf("row 1: alternatives %v, talk %s; want none and the 5 minutes across the change", r.StartedAlt, r.Ended.Sub(r.Connected))
	}
	if r := recs.Rows[1]; len(r.StartedAlt) != 0 {
		t.Errorf("row 2: alternatives %v, want none (the end fixes the start)", r.StartedAlt)
	}
	if r := recs.Rows[2]; len(r.StartedAlt) != 1 || !r.StartedAlt[0].Equal(utc("2026-11-01T06:10:00Z")) {
		t.Errorf("row 3: alternatives %v, want the repeated hour's second run, 06:10Z", r.StartedAlt)
	}
	if r := recs.Rows[3]; !r.Unplaced || r.StartedLocal.Format(time.DateOnly) != "2026-03-08" {
		t.Errorf("row 4: unplaced %v on %s; want unplaced (02:30 did not happen that night) on 2026-03-08", r.Unplaced, r.StartedLocal)
	}
	if r := recs.Rows[4]; !r.Started.Equal(utc("2026-07-01T08:00:00Z")) {
		t.Errorf("row 5: started %s, want 08:00Z (09:00 in London's summer time)", r.Started.UTC())
	}
	if r := recs.Rows[5]; !r.Started.Equal(utc("2026-07-01T14:00:00Z")) {
		t.Errorf("row 6: started %s, want 14:00Z (09:00 in the request's Chicago)", r.Started.UTC())
	}
}

// Dialpad writes some times with microseconds and others in whole
// seconds, so an agent leg that rang for less than a second ends, as
// written, before it started. The first row is such a leg, as the
// simulator exports it (seed 31, 2026-12-04): it is in order within its
// cells' precision, and placed. An end a whole second before the start
// is not, nor one a microsecond before it when both have microseconds.
func TestParseRecordsReadsEachTimeToItsPrecision(t *testing.T) {
	head := "date_started,call_id,timezone,direction,categories,contact_name,date_rang,date_first_rang,date_queued," +
		"date_connected,date_ended,external_number,internal_number,target_id,target_type,name,entry_point_call_id," +
		"master_call_id,talk_duration,hold_duration,time_to_answer,csat_score,was_recorded,mos_score,transferred_to\r\n"
	rows := []string{
		`2026-12-04 23:43:13.078000,7932172564865878,UTC,inbound,"incoming,missed",Marcus Garcia,2026-12-04 23:43:13,` +
			`2026-12-04 23:43:13,,,2026-12-04 23:43:13,+17375330240,+12107855830,4844214108276868,user,Leah Anderson,` +
			`8273883339628248,8273883339628248,0,0,,,false,,`,
		// Answered at .500 and hung up within the same second.
		`2026-12-04 10:00:01.250000,2,UTC,inbound,"incoming,answered",,,,,2026-12-04 10:00:04.500000,2026-12-04 10:00:04,,,1,user,,,,0.01,0,,,false,,`,
		// Ended a whole second before it started: out of order.
		`2026-12-04 10:00:01.250000,3,UTC,inbound,"incoming,missed",,,,,,2026-12-04 10:00:00,,,1,user,,,,0,0,,,false,,`,
		// Microseconds on both sides: one microsecond early is out of order.
		`2026-12-04 10:00:01.250000,4,UTC,inbound,"incoming,missed",,,,,,2026-12-04 10:00:01.249999,,,1,user,,,,0,0,,,false,,`,
		// The same with a decimal comma.
		`2026-12-04 10:00:01.250000,5,UTC,inbound,"incoming,missed",,,,,,"2026-12-04 10:00:01,249999",,,1,user,,,,0,0,,,false,,`,
	}
	recs, err := Parse(strings.NewReader(head+strings.Join(rows, "\r\n")+"\r\n"), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.Rows) != 5 || len(recs.Bad) != 0 {
		t.Fatalf("%d rows, bad %v; want 5", len(recs.Rows), recs.Bad)
	}
	a := recs.Rows[0]
	if a.Unplaced || a.CallID != 7932172564865878 || a.Line != 2 || !a.Started.Equal(utc("2026-12-04T23:43:13.078Z")) ||
		!a.Ended.Equal(utc("2026-12-04T23:43:13Z")) || a.WasConnected() {
		t.Errorf("the sub-second missed leg: %+v; want placed, started 23:43:13.078Z, ended 23:43:13Z, not connected", a)
	}
	if b := recs.Rows[1]; b.Unplaced || !b.Connected.Equal(utc("2026-12-04T10:00:04.5Z")) {
		t.Errorf("the sub-second answered leg: unplaced %v, connected %s; want placed at 10:00:04.5Z", b.Unplaced, b.Connected)
	}
	for _, r := range recs.Rows[2:] {
		if !r.Unplaced {
			t.Errorf("leg %d ended before it started beyond its precision, yet was placed: %+v", r.CallID, r)
		}
	}
}

// A row that cannot be read is counted with its line and skipped; the
// rest are read. A file without a required column is refused.
func TestParseRecordsCountsBadRows(t *testing.T) {
	csv := "call_id,date_started,direction,talk_duration,date_ended,date_rang,was_recorded,mos_score,hold_duration\n" +
		"1,2026-06-01 10:00:00,inbound,1.25,2026-06-01 10:02:00,,,,\n" +
		"abc,2026-06-01 10:00:00,inbound,1,2026-06-01 10:02:00,,,,\n" +
		"3,yesterday,inbound,1,2026-06-01 10:02:00,,,,\n" +
		"4,2026-06-01 10:00:00,sideways,1,2026-06-01 10:02:00,,,,\n" +
		"5,2026-06-01 10:00:00,inbound,-1,2026-06-01 10:02:00,,,,\n" +
		"6,2026-06-01 10:00:00,inbound\n" +
		"7,2026-06-01 10:00:00,outbound,0.5,2026-06-01 10:01:00,2026-06-01 10:00:01,false,4.1,0.25\n" +
		"8,2026-06-01 10:00:00,inbound,1,2026-06-01 10:02:00,soon,,,\n" +
		"9,2026-06-01 10:00:00,inbound,1,2026-06-01 10:02:00,,maybe,,\n" +
		"10,2026-06-01 10:00:00,inbound,1,2026-06-01 10:02:00,,,good,\n" +
		"11,2026-06-01 10:00:00,inbound,1,2026-06-01 10:02:00,,,,-2\n"
	recs, err := Parse(strings.NewReader(csv), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var ids []wire.ID
	for _, r := range recs.Rows {
		ids = append(ids, r.CallID)
	}
	if !slices.Equal(ids, []wire.ID{1, 7, 8, 9, 10, 11}) {
		t.Fatalf("rows of calls %v; want 1 and 7, and 8 to 11 whose bad cells are optional", ids)
	}
	var lines []int
	for _, b := range recs.Bad {
		lines = append(lines, b.Line)
	}
	if len(lines) != 5 || lines[0] != 3 || lines[4] != 7 || recs.Bad[1].CallID != 3 || recs.Bad[0].CallID != 0 {
		t.Errorf("bad rows %+v; want lines 3 to 7, with the call ids that could be read", recs.Bad)
	}
	// A cell of the details that cannot be read leaves the row whole,
	// the cell empty and noted.
	for i, want := range []string{"date_rang \"soon\"", "was_recorded \"maybe\"", "mos_score \"good\"", "hold_duration \"-2\""} {
		r := recs.Rows[2+i]
		if len(r.Unread) != 1 || !strings.Contains(r.Unread[0], want) || !r.Rang.IsZero() || r.WasRecorded || r.MOS != nil || r.Hold != 0 {
			t.Errorf("call %d: unread %q, details %+v; want %s noted and every detail empty", r.CallID, r.Unread, r.Details, want)
		}
	}
	if r := recs.Rows[1]; len(r.Unread) != 0 || r.MOS == nil || *r.MOS != 4.1 || r.Hold != 15*time.Second {
		t.Errorf("call 7: unread %q, details %+v; want MOS 4.1 and 15 s on hold", r.Unread, r.Details)
	}
	if recs.Rows[0].TalkTolerance != 300*time.Millisecond {
		t.Errorf("talk tolerance %s, want 300ms (half of 0.01 minute, the file's finest)", recs.Rows[0].TalkTolerance)
	}
	if _, err := Parse(strings.NewReader("call_id,date_ended\n1,2026-06-01 10:00:00\n"), time.UTC); err == nil ||
		!strings.Contains(err.Error(), `"date_started"`) {
		t.Errorf("a file without date_started: %v; want an error naming it", err)
	}
	if _, err := Parse(strings.NewReader(""), time.UTC); err == nil {
		t.Error("an empty file was accepted")
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Read hands over the rows and bad rows Parse keeps, in the file's order,
// each row with the tolerance of its own talk_duration; an error of the
// caller's ends the reading at that row and comes back as is.
func TestReadHandsOverEachRowInTurn(t *testing.T) {
	csv := "call_id,date_started,direction,talk_duration,date_ended\n" +
		"1,2026-06-01 10:00:00,inbound,1.25,2026-06-01 10:02:00\n" +
		"abc,2026-06-01 10:00:00,inbound,1,2026-06-01 10:02:00\n" +
		"3,2026-06-01 10:00:00,outbound,0.5,2026-06-01 10:01:00\n" +
		"4,2026-06-01 11:00:00,inbound,2,2026-06-01 11:03:00\n"
	var got []string
	err := Read(strings.NewReader(csv), time.UTC, func(r Record) error {
		got = append(got, fmt.Sprintf("row %d %s %s", r.CallID, r.Talk, r.TalkTolerance))
		return nil
	}, func(b BadRow) error {
		got = append(got, fmt.Sprintf("bad line %d", b.Line))
		return nil
	})
	want := []string{"row 1 1m15s 300ms", "bad line 3", "row 3 30s 3s", "row 4 2m0s 30s"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("read %q, %v; want %q", got, err, want)
	}

	stop := errors.New("the warehouse is down")
	var calls []wire.ID
	err = Read(strings.NewReader(csv), time.UTC, func(r Record) error {
		calls = append(calls, r.CallID)
		if r.CallID == 3 {
			return stop
		}
		return nil
	}, func(BadRow) error { return nil })
	if err != stop || !slices.Equal(calls, []wire.ID{1, 3}) {
		t.Errorf("stopped at call 3: read %v, %v; want [1 3] and the caller's error", calls, err)
	}
}

// The optional times are placed after date_started: a date_rang in the
// hour repeated when clocks go back is the reading not before the start.
// The other columns read as written; empty ones as zero values.
func TestParseRecordsReadsTheDetails(t *testing.T) {
	csv := "call_id,date_started,timezone,direction,date_ended,date_rang,date_queued,date_first_rang,external_number," +
		"internal_number,name,contact_name,was_recorded,mos_score,hold_duration,csat_score,csat_transcriptions,transferred_to\n" +
		"1,2026-11-01 01:59:58,America/New_York,inbound,2026-11-01 01:10:00,2026-11-01 01:00:01,2026-11-01 01:59:59,," +
		"+15550100,+15550199,Support,Kim Park,TRUE,3.75,1.5,4,\"Kind\nFast\",Bo Li\n" +
		"2,2026-11-01 03:00:00,America/New_York,outbound,2026-11-01 03:01:00,,,,,,,,,,,,,\n"
	recs, err := Parse(strings.NewReader(csv), time.UTC)
	if err != nil || len(recs.Rows) != 2 {
		t.Fatalf("rows %+v, bad %+v, err %v", recs.Rows, recs.Bad, err)
	}
	a, b := recs.Rows[0], recs.Rows[1]
	// 01:59:58 EDT is 05:59:58Z; the clocks then go back, and 01:00:01
	// (EST) is 06:00:01Z, 01:10:00 (EST) 06:10Z.
	if !a.Started.Equal(utc("2026-11-01T05:59:58Z")) || !a.Rang.Equal(utc("2026-11-01T06:00:01Z")) ||
		!a.Queued.Equal(utc("2026-11-01T05:59:59Z")) || !a.FirstRang.IsZero() || !a.Ended.Equal(utc("2026-11-01T06:10:00Z")) {
		t.Errorf("times %s %s %s %s %s", a.Started, a.Rang, a.Queued, a.FirstRang, a.Ended)
	}
	if a.ExternalNumber != "+15550100" || a.InternalNumber != "+15550199" || a.TargetName != "Support" ||
		a.ContactName != "Kim Park" || !a.WasRecorded || a.MOS == nil || *a.MOS != 3.75 || a.Hold != 90*time.Second ||
		a.CSATScore != "4" || strings.Join(a.CSATComments, "|") != "Kind|Fast" || a.TransferredTo != "Bo Li" {
		t.Errorf("details %+v", a.Details)
	}
	if b.MOS != nil || b.WasRecorded || b.Hold != 0 || b.CSATComments != nil || b.TransferredTo != "" || !b.Rang.IsZero() {
		t.Errorf("empty details read as %+v", b.Details)
	}
}
