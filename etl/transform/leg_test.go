package transform

import (
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func TestStatusIsExclusiveAndCoversEveryLeg(t *testing.T) {
	vm := []wire.Recording{{RecordingType: "voicemail"}}
	cases := []struct {
		name string
		call wire.Call
		want string
	}{
		{"connected inbound", wire.Call{Direction: "inbound", DateConnected: 5}, StatusCompleted},
		{"connected outbound with a voicemail link", wire.Call{Direction: "outbound", DateConnected: 5, VoicemailLink: "x"}, StatusCompleted},
		{"inbound with voicemail link", wire.Call{Direction: "inbound", VoicemailLink: "x"}, StatusVoicemail},
		{"inbound with voicemail recording", wire.Call{Direction: "inbound", Recordings: vm}, StatusVoicemail},
		{"inbound in state voicemail", wire.Call{Direction: "inbound", State: "voicemail"}, StatusVoicemail},
		{"outbound with voicemail recording", wire.Call{Direction: "outbound", Recordings: vm}, StatusVoicemail},
		{"inbound rung, not answered", wire.Call{Direction: "inbound", DateRang: 3, State: "hangup"}, StatusMissed},
		{"inbound in state missed", wire.Call{Direction: "inbound", State: "missed"}, StatusMissed},
		{"outbound never connected", wire.Call{Direction: "outbound", State: "hangup"}, StatusCancelled},
		{"a call recording is not a voicemail", wire.Call{Direction: "inbound", Recordings: []wire.Recording{{RecordingType: "call"}}}, StatusMissed},
	}
	for _, c := range cases {
		if got := Status(&c.call); got != c.want {
			t.Errorf("%s: status %s, want %s", c.name, got, c.want)
		}
	}
}

func TestConversationIDPrefersEntryThenMaster(t *testing.T) {
	cases := []struct {
		call wire.Call
		want wire.ID
	}{
		{wire.Call{CallID: 3, EntryPointCallID: 1, MasterCallID: 2}, 1},
		{wire.Call{CallID: 3, MasterCallID: 2}, 2},
		{wire.Call{CallID: 3}, 3},
		{wire.Call{CallID: 3, EntryPointCallID: 0, MasterCallID: 0}, 3},
	}
	for _, c := range cases {
		if got := ConversationID(&c.call); got != c.want {
			t.Errorf("%+v: conversation %d, want %d", c.call, got, c.want)
		}
	}
}

func TestDayIsTheReportingZoneDate(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	chicago, _ := time.LoadLocation("America/Chicago")
	at := time.Date(2026, 1, 15, 5, 59, 59, 0, time.UTC).UnixMilli() // 23:59:59 on the 14th in Chicago
	cases := []struct {
		loc  *time.Location
		want string
	}{{time.UTC, "2026-01-15"}, {chicago, "2026-01-14"}, {tokyo, "2026-01-15"}}
	for _, c := range cases {
		if got := Day(at, c.loc).Format(time.DateOnly); got != c.want {
			t.Errorf("%s: day %s, want %s", c.loc, got, c.want)
		}
	}
}

func TestNewLegTakesAgentNamesFromOperatorsThenTheLeg(t *testing.T) {
	c := wire.Call{CallID: 9, Direction: "inbound", Target: wire.Party{ID: 7, Type: "user", Name: "Leg Name"}, Duration: 1500.6}
	names := func(id int64) (string, bool) { return "Operator Name", id == 7 }
	l := NewLeg(dialpad.Target{Type: "department", ID: 1}, &c, time.UTC, names)
	if l.AgentID != 7 || l.AgentName != "Operator Name" || l.DurationMs != 1501 || !l.IsEntryLeg {
		t.Errorf("leg = agent %d %q, duration %d, entry %v", l.AgentID, l.AgentName, l.DurationMs, l.IsEntryLeg)
	}
	if l := NewLeg(dialpad.Target{Type: "department", ID: 1}, &c, time.UTC, nil); l.AgentName != "Leg Name" {
		t.Errorf("without operators, agent name %q, want the leg's target name", l.AgentName)
	}
	c.Target = wire.Party{ID: 1, Type: "department", Name: "Sales"}
	if l := NewLeg(dialpad.Target{Type: "department", ID: 1}, &c, time.UTC, names); l.AgentID != 0 || l.AgentName != "" {
		t.Errorf("a department leg has agent %d %q, want none", l.AgentID, l.AgentName)
	}
}
