package records

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The simulator's columns, in its order: one row per leg and
// disposition.
const dispositionsHeader = "date_started,call_id,timezone,target_type,target_id,name,agent_name,agent_email,disposition,notes\n"

// A leg's rows make one leg with its dispositions sorted, each once; the
// columns not read are kept by name, a value the rows disagree on as
// the list of its values; a row with no disposition adds none, and a
// leg without any is left out.
func TestParseDispositionsMergesALegsRows(t *testing.T) {
	csv := dispositionsHeader +
		`2026-06-01 10:00:00,101,America/New_York,user,11,Support,Ana Agent,ana@example.com,Refund,first note` + "\n" +
		`2026-06-01 10:00:00,101,America/New_York,user,11,Support,Ana Agent,ana@example.com,Billing,second note` + "\n" +
		`2026-06-01 11:30:00.250000,102,America/New_York,user,12,Support,Bo Agent,,Sales,` + "\n" +
		`2026-06-01 10:00:00,101,America/New_York,user,11,Support,Ana Agent,ana@example.com,Refund,first note` + "\n" +
		`2026-06-01 12:00:00,103,America/New_York,user,12,Support,Bo Agent,,,` + "\n"
	got, err := ParseDispositions(strings.NewReader(csv), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Calls) != 2 || len(got.Bad) != 0 || got.Rows != 5 {
		t.Fatalf("%d legs, %d bad, %d rows: %+v; want 2 legs of 5 rows", len(got.Calls), len(got.Bad), got.Rows, got)
	}
	a, b := got.Calls[0], got.Calls[1]
	if a.CallID != 101 || a.Line != 2 || !slices.Equal(a.Names, []string{"Billing", "Refund"}) ||
		!a.Started.Equal(utc("2026-06-01T14:00:00Z")) || !a.StartedLocal.Equal(utc("2026-06-01T10:00:00Z")) {
		t.Errorf("leg 101 read as %+v", a)
	}
	var extra map[string]any
	if err := json.Unmarshal([]byte(a.Extra), &extra); err != nil {
		t.Fatalf("extra %q is not JSON: %v", a.Extra, err)
	}
	want := map[string]any{"target_type": "user", "target_id": "11", "name": "Support", "agent_name": "Ana Agent",
		"agent_email": "ana@example.com", "notes": []any{"first note", "second note"}}
	if !reflect.DeepEqual(extra, want) {
		t.Errorf("extra of leg 101 %v, want %v", extra, want)
	}
	if b.CallID != 102 || !slices.Equal(b.Names, []string{"Sales"}) || !b.Started.Equal(utc("2026-06-01T15:30:00.25Z")) ||
		strings.Contains(b.Extra, "agent_email") || strings.Contains(b.Extra, "notes") {
		t.Errorf("leg 102 read as %+v (empty cells left out of extra)", b)
	}
}

// Free text is data: quotes, commas, line breaks, markup, SQL and
// spreadsheet formulas come through as written, in the names and in
// extra, whose JSON holds them whole.
func TestParseDispositionsKeepsHostileTextAsData(t *testing.T) {
	hostile := []string{`Won't "fix", really`, "two\nlines", `<script>alert(1)</script>`, `'); DROP TABLE calls; --`, `=HYPERLINK("http://x")`, "Ünïcødé ☎"}
	var b strings.Builder
	b.WriteString(dispositionsHeader)
	quote := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	for _, h := range hostile {
		b.WriteString("2026-06-01 10:00:00,7,UTC,user,11,Support," + quote(h) + ",," + quote(h) + "," + quote(h) + "\n")
	}
	got, err := ParseDispositions(strings.NewReader(b.String()), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Calls) != 1 || len(got.Bad) != 0 {
		t.Fatalf("%d legs, bad %v; want 1 leg", len(got.Calls), got.Bad)
	}
	want := slices.Sorted(slices.Values(hostile))
	if !slices.Equal(got.Calls[0].Names, want) {
		t.Errorf("names %q, want %q", got.Calls[0].Names, want)
	}
	var extra map[string]any
	if err := json.Unmarshal([]byte(got.Calls[0].Extra), &extra); err != nil {
		t.Fatalf("extra %q is not JSON: %v", got.Calls[0].Extra, err)
	}
	notes, _ := extra["notes"].([]any)
	if len(notes) != len(hostile) || notes[0] != hostile[0] || notes[1] != hostile[1] || notes[4] != hostile[4] {
		t.Errorf("notes in extra %q, want %q", notes, hostile)
	}
}

// A row that cannot be read is counted with its line and why, and the
// others are read; a file without a required column is an error.
func TestParseDispositionsCountsBadRows(t *testing.T) {
	csv := dispositionsHeader +
		`2026-06-01 10:00:00,101,UTC,user,11,Support,Ana,,Refund,` + "\n" +
		`2026-06-01 10:00:00,abc,UTC,user,11,Support,Ana,,Refund,` + "\n" +
		`yesterday,104,UTC,user,11,Support,Ana,,Refund,` + "\n" +
		`2026-06-01 10:00:00,105,Mars/Olympus,user,11,Support,Ana,,Refund,` + "\n" +
		`2026-06-01 10:00:00,106,UTC,user,11,Support,Ana,,Refund` + "\n" +
		`,107,UTC,user,11,Support,Ana,,Refund,` + "\n" +
		`2026-06-01 10:00:00,108,UTC,user,11,"Sup"port,Ana,,Refund,` + "\n" +
		`2026-06-01 10:05:00,109,UTC,user,11,Support,Ana,,Sales,` + "\n"
	got, err := ParseDispositions(strings.NewReader(csv), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range got.Calls {
		ids = append(ids, int64(c.CallID))
	}
	if !slices.Equal(ids, []int64{101, 109}) || got.Rows != 8 {
		t.Errorf("legs %v of %d rows, want 101 and 109 of 8", ids, got.Rows)
	}
	want := []struct {
		line   int
		reason string
	}{{3, `call_id "abc"`}, {4, `date_started "yesterday"`}, {5, `timezone "Mars/Olympus"`}, {6, "9 fields where the header has 10"},
		{7, "date_started is empty"}, {8, `"`}}
	if len(got.Bad) != len(want) {
		t.Fatalf("bad rows %+v, want %d", got.Bad, len(want))
	}
	for i, w := range want {
		if b := got.Bad[i]; b.Line != w.line || !strings.Contains(b.Reason, w.reason) {
			t.Errorf("bad row %d: line %d %q, want line %d saying %q", i, b.Line, b.Reason, w.line, w.reason)
		}
	}
	if _, err := ParseDispositions(strings.NewReader("call_id,date_started,timezone\n1,2026-06-01 10:00:00,UTC\n"), time.UTC); err == nil ||
		!strings.Contains(err.Error(), `"disposition"`) {
		t.Errorf("a file without a disposition column: %v, want an error naming it", err)
	}
	if _, err := ParseDispositions(strings.NewReader(""), time.UTC); err == nil {
		t.Error("an empty file is not an error")
	}
}

// date_started is read in the row's zone (the request's when it has
// none) with the offset in force then, on either side of a change of
// the clocks: a repeated time as its earlier instant, a skipped one
// with the offset before the change; the date is always the clock
// reading's.
func TestParseDispositionsPlacesStartsAcrossDST(t *testing.T) {
	csv := "call_id,timezone,date_started,disposition\n" +
		"1,America/New_York,2026-03-08 01:59:30,A\n" + // before spring forward: EST
		"2,America/New_York,2026-03-08 03:00:10,A\n" + // after: EDT
		"3,America/New_York,2026-03-08 02:30:00,A\n" + // skipped: read as EST
		"4,America/New_York,2026-11-01 01:30:00,A\n" + // repeated: the first (EDT)
		"5,America/New_York,2026-11-01 02:30:00,A\n" + // after fall back: EST
		"6,,2026-07-01 09:00:00,A\n" + // no zone: the request's (Chicago, CDT)
		"7,Europe/London,2026-03-29 01:30:00,A\n" // skipped in London: read as GMT
	got, err := ParseDispositions(strings.NewReader(csv), mustZone(t, "America/Chicago"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-03-08T06:59:30Z", "2026-03-08T07:00:10Z", "2026-03-08T07:30:00Z", "2026-11-01T05:30:00Z",
		"2026-11-01T07:30:00Z", "2026-07-01T14:00:00Z", "2026-03-29T01:30:00Z"}
	if len(got.Calls) != len(want) || len(got.Bad) != 0 {
		t.Fatalf("%d legs, bad %v; want %d", len(got.Calls), got.Bad, len(want))
	}
	for i, w := range want {
		if c := got.Calls[i]; !c.Started.Equal(utc(w)) {
			t.Errorf("leg %d: started %s, want %s", c.CallID, c.Started.UTC().Format(time.RFC3339), w)
		}
	}
}
