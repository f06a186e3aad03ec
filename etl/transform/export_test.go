package transform

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
)

const exportHeader = "call_id,date_started,timezone,direction,categories,contact_name,date_rang,date_first_rang," +
	"date_queued,date_connected,date_ended,external_number,internal_number,target_id,target_type,name," +
	"entry_point_call_id,master_call_id,talk_duration,hold_duration,was_recorded,mos_score,csat_score," +
	"csat_transcriptions,transferred_to\r\n"

func msAt(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// Each row becomes the leg the list would give for it, every field worked
// out by hand from the call model: New York rows, reported in Chicago.
func TestExportLegShapesRowsAsTheListWould(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	dept := dialpad.Target{Type: "department", ID: 11}
	names := func(id int64) (string, bool) { return map[int64]string{7: "Ana D."}[id], id == 7 }
	june1 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, row string
		want      Leg
		// Call fields the derived tables read beyond the Leg's.
		transferred, recorded bool
		mos                   string // "" for none
		csat, comments        string // comments joined by |
		external, contact     string
	}{{
		name: "connected inbound agent leg",
		row: `201,2026-06-01 10:00:05.250000,America/New_York,inbound,"incoming,answered",Kim Park,2026-06-01 10:00:06,` +
			`2026-06-01 10:00:06,,2026-06-01 10:00:12.500000,2026-06-01 10:05:12,+15550100,+15550199,7,user,Ana Diaz,` +
			"200,200,4.99,0.5,true,4.25,5,\"Great help\r\nQuick\",",
		want: Leg{CallID: 201, ConversationID: 200, Direction: "inbound", Status: StatusCompleted, AgentID: 7,
			AgentName: "Ana D.", StartedMs: msAt("2026-06-01T14:00:05.25Z"), Day: june1,
			DurationMs: 299_400, TotalDuration: 306_750, RangMs: msAt("2026-06-01T14:00:06Z"),
			ConnectedMs: msAt("2026-06-01T14:00:12.5Z"), EndedMs: msAt("2026-06-01T14:05:12Z"),
			FirstRangMs: msAt("2026-06-01T14:00:06Z"), HoldMs: 30_000},
		recorded: true, mos: "4.25", csat: "5", comments: "Great help|Quick", external: "+15550100", contact: "Kim Park",
	}, {
		name: "abandoned entry leg",
		row: `300,2026-06-01 11:00:00,America/New_York,inbound,"incoming,missed,abandoned",,,,2026-06-01 11:00:02,,` +
			`2026-06-01 11:00:20,+15550101,+15550199,11,department,Support,,,0,0,false,,,,`,
		want: Leg{CallID: 300, ConversationID: 300, IsEntryLeg: true, Direction: "inbound", Status: StatusMissed,
			StartedMs: msAt("2026-06-01T15:00:00Z"), Day: june1, TotalDuration: 20_000,
			EndedMs: msAt("2026-06-01T15:00:20Z"), QueuedMs: msAt("2026-06-01T15:00:02Z")},
		external: "+15550101",
	}, {
		name: "voicemail",
		row: `400,2026-06-01 12:00:00,America/New_York,inbound,"incoming,voicemail",,2026-06-01 12:00:01,,,,` +
			`2026-06-01 12:01:30,+15550102,+15550199,11,department,Support,400,,0,0,false,,,,`,
		want: Leg{CallID: 400, ConversationID: 400, IsEntryLeg: true, Direction: "inbound", Status: StatusVoicemail,
			StartedMs: msAt("2026-06-01T16:00:00Z"), Day: june1, TotalDuration: 90_000,
			RangMs: msAt("2026-06-01T16:00:01Z"), EndedMs: msAt("2026-06-01T16:01:30Z"), HasVoicemail: true},
		external: "+15550102",
	}, {
		name: "outbound cancelled",
		row: `500,2026-06-01 13:00:00.100000,America/New_York,outbound,"outgoing,cancelled",Lee Moss,2026-06-01 13:00:01,` +
			`2026-06-01 13:00:01,,,2026-06-01 13:00:30,+15550103,+15550188,8,user,Bo Li,,500,0,0,false,,,,`,
		want: Leg{CallID: 500, ConversationID: 500, IsEntryLeg: true, Direction: "outbound", Status: StatusCancelled,
			AgentID: 8, AgentName: "Bo Li", StartedMs: msAt("2026-06-01T17:00:00.1Z"), Day: june1,
			TotalDuration: 29_900, RangMs: msAt("2026-06-01T17:00:01Z"), EndedMs: msAt("2026-06-01T17:00:30Z"),
			FirstRangMs: msAt("2026-06-01T17:00:01Z")},
		external: "+15550103", contact: "Lee Moss",
	}, {
		name: "transferred leg",
		row: `601,2026-06-01 14:00:00,America/New_York,inbound,"incoming,answered",,2026-06-01 14:00:01,,,` +
			`2026-06-01 14:00:04,2026-06-01 14:02:00,+15550104,+15550199,7,user,Ana Diaz,600,,1.93,0,false,3.9,,,Bo Li`,
		want: Leg{CallID: 601, ConversationID: 600, Direction: "inbound", Status: StatusCompleted, AgentID: 7,
			AgentName: "Ana D.", StartedMs: msAt("2026-06-01T18:00:00Z"), Day: june1, DurationMs: 115_800,
			TotalDuration: 120_000, RangMs: msAt("2026-06-01T18:00:01Z"), ConnectedMs: msAt("2026-06-01T18:00:04Z"),
			EndedMs: msAt("2026-06-01T18:02:00Z")},
		transferred: true, mos: "3.9", external: "+15550104",
	}, {
		// Clocks go back at 02:00 EDT on 1 November: 01:20 happens twice.
		// Connected at the first 01:00:30 (EDT) and talking 79.5 minutes,
		// it ended at the second 01:20 (EST). It started on 1 November in
		// UTC and in New York, but on 31 October in Chicago.
		name: "across the DST change",
		row: `701,2026-11-01 00:59:00,America/New_York,inbound,"incoming,answered",,2026-11-01 00:59:01,,,` +
			`2026-11-01 01:00:30,2026-11-01 01:20:00,+15550105,+15550199,9,user,Cy Ng,700,,79.5,0,false,,,,`,
		want: Leg{CallID: 701, ConversationID: 700, Direction: "inbound", Status: StatusCompleted, AgentID: 9,
			AgentName: "Cy Ng", StartedMs: msAt("2026-11-01T04:59:00Z"), Day: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC),
			DurationMs: 4_770_000, TotalDuration: 4_860_000, RangMs: msAt("2026-11-01T04:59:01Z"),
			ConnectedMs: msAt("2026-11-01T05:00:30Z"), EndedMs: msAt("2026-11-01T06:20:00Z")},
		external: "+15550105",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := records.Parse(strings.NewReader(exportHeader+tc.row+"\r\n"), time.UTC)
			if err != nil || len(recs.Rows) != 1 || recs.Rows[0].Unplaced {
				t.Fatalf("rows %+v, bad %+v, err %v; want one placed row", recs.Rows, recs.Bad, err)
			}
			rec := recs.Rows[0]
			got := ExportLeg(dept, &rec, chicago, names)
			c := got.Call
			want := tc.want
			want.Target, want.Source, want.Read, want.Call = dept, SourceExport, time.UnixMilli(want.StartedMs), c
			if !got.Read.Equal(want.Read) {
				t.Errorf("read at %s, want %s", got.Read, want.Read)
			}
			got.Read = want.Read
			if got != want {
				t.Errorf("leg\n got %+v\nwant %+v", got, want)
			}
			mos := ""
			if c.MOSScore != nil {
				mos = strconv.FormatFloat(float64(*c.MOSScore), 'f', -1, 64)
			}
			if c.IsTransferred != tc.transferred || c.WasRecorded != tc.recorded || mos != tc.mos ||
				c.CSATScore != tc.csat || strings.Join(c.CSATComments, "|") != tc.comments ||
				c.ExternalNumber != tc.external || c.Contact.Name != tc.contact {
				t.Errorf("call: transferred %v, recorded %v, mos %q, csat %q %q, external %q, contact %q",
					c.IsTransferred, c.WasRecorded, mos, c.CSATScore, c.CSATComments, c.ExternalNumber, c.Contact.Name)
			}
			var raw map[string]any
			if err := json.Unmarshal(c.Raw, &raw); err != nil || raw["source"] != "export" || raw["call_id"] != rec.CallID.String() {
				t.Errorf("raw %s (%v): want a JSON object of the row", c.Raw, err)
			}
		})
	}
}

// The raw copy is the row as read, and changes when the row does.
func TestExportLegRawIsTheRow(t *testing.T) {
	row := func(talk string) records.Record {
		csv := "call_id,date_started,date_connected,date_ended,direction,categories,talk_duration,target_id,target_type\n" +
			`101,2026-06-01 10:00:00.250000,2026-06-01 10:02:30,2026-06-01 10:05:00,inbound,"incoming,answered",` + talk + ",7,user\n"
		recs, err := records.Parse(strings.NewReader(csv), time.UTC)
		if err != nil || len(recs.Rows) != 1 {
			t.Fatalf("%+v %v", recs, err)
		}
		return recs.Rows[0]
	}
	a, b := row("2.5"), row("2.4")
	la, lb := ExportLeg(dialpad.Target{Type: "user", ID: 7}, &a, time.UTC, nil), ExportLeg(dialpad.Target{Type: "user", ID: 7}, &b, time.UTC, nil)
	want := `{"source":"export","call_id":"101","direction":"inbound","categories":["incoming","answered"],` +
		`"date_started":"1780308000250","date_connected":"1780308150000","date_ended":"1780308300000",` +
		`"talk_duration_ms":150000,"target_id":"7","target_type":"user","was_recorded":false}`
	if string(la.Call.Raw) != want {
		t.Errorf("raw\n got %s\nwant %s", la.Call.Raw, want)
	}
	if string(la.Call.Raw) == string(lb.Call.Raw) {
		t.Error("two rows with other talk times have the same raw copy")
	}
}
