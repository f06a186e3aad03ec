// Package handbuilt holds the hand-built legs of the call model's tests:
// department 100's calls of 14 and 15 January 2026, reported in
// America/Chicago (UTC-6 in January). Every figure the tests expect of
// them was worked out by hand from the call model (docs/counting.md), not
// read back from the code. Only tests import it.
package handbuilt

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// The hand-built legs of department 100, reported in America/Chicago
// (UTC-6 in January). Every expected figure below was worked out by hand
// from the call model, not read back from the code.
var Dept = dialpad.Target{Type: "department", ID: 100}

// The agents of the hand-built legs.
const (
	Ana = 501
	Ben = 502
	Cy  = 503
)

// Ms is a time of the form 2006-01-02T15:04:05.000Z in Unix ms.
func Ms(s string) wire.Millis {
	t, err := time.Parse("2006-01-02T15:04:05.000Z", s)
	if err != nil {
		panic(err)
	}
	return wire.Millis(t.UnixMilli())
}

// Agent is the party of agent id.
func Agent(id int64) wire.Party {
	return wire.Party{ID: wire.ID(id), Type: "user", Name: map[int64]string{Ana: "Ana", Ben: "Ben", Cy: "Cy"}[id]}
}

// DeptParty is the department as a call's target.
var DeptParty = wire.Party{ID: 100, Type: "department", Name: "Sales"}

// Legs covers every status, a transfer, a voicemail, a call across
// midnight in Chicago, master-call linking, and (leg 3001) an entry leg that
// arrives in a later load than its agent leg.
func Legs() []wire.Call {
	return []wire.Call{
		// A: inbound, Ana rang and missed, Ben answered and transferred to Cy.
		{CallID: 1001, Direction: "inbound", Target: DeptParty, DateStarted: Ms("2026-01-14T21:00:00.000Z"),
			DateConnected: Ms("2026-01-14T21:00:05.000Z"), Duration: 300000, State: "hangup"},
		{CallID: 1002, Direction: "inbound", Target: Agent(Ana), EntryPointCallID: 1001, EntryPointTarget: DeptParty,
			DateStarted: Ms("2026-01-14T21:00:01.000Z"), DateRang: Ms("2026-01-14T21:00:01.000Z")},
		{CallID: 1003, Direction: "inbound", Target: Agent(Ben), EntryPointCallID: 1001, EntryPointTarget: DeptParty,
			DateStarted: Ms("2026-01-14T21:00:01.500Z"), DateConnected: Ms("2026-01-14T21:00:05.000Z"), Duration: 120000.4,
			IsTransferred: true, Labels: []string{"first"}},
		{CallID: 1004, Direction: "inbound", Target: Agent(Cy), EntryPointCallID: 1001, EntryPointTarget: DeptParty,
			DateStarted: Ms("2026-01-14T21:02:10.000Z"), DateConnected: Ms("2026-01-14T21:02:12.000Z"), Duration: 180000},
		// B: inbound at 23:59:59.5 Chicago (05:59:59.5 UTC on the 15th), to voicemail; Ana rang after midnight.
		{CallID: 2001, Direction: "inbound", Target: DeptParty, DateStarted: Ms("2026-01-15T05:59:59.500Z"),
			VoicemailLink: "https://example.invalid/vm/2001"},
		{CallID: 2002, Direction: "inbound", Target: Agent(Ana), EntryPointCallID: 2001, EntryPointTarget: DeptParty,
			DateStarted: Ms("2026-01-15T06:00:00.500Z")},
		// C: inbound, missed, no voicemail.
		{CallID: 3001, Direction: "inbound", Target: DeptParty, DateStarted: Ms("2026-01-15T15:59:59.000Z")},
		{CallID: 3002, Direction: "inbound", Target: Agent(Ben), EntryPointCallID: 3001, EntryPointTarget: DeptParty,
			DateStarted: Ms("2026-01-15T16:00:01.000Z")},
		// D: outbound by Ana, connected after 8 s.
		{CallID: 4001, Direction: "outbound", Target: Agent(Ana), DateStarted: Ms("2026-01-15T17:00:00.000Z"),
			DateConnected: Ms("2026-01-15T17:00:08.000Z"), Duration: 60000},
		// E: outbound by Cy, never connected.
		{CallID: 5001, Direction: "outbound", Target: Agent(Cy), DateStarted: Ms("2026-01-15T18:00:00.000Z")},
		// F: inbound linked by master_call_id only, answered by Ben.
		{CallID: 6001, Direction: "inbound", Target: DeptParty, DateStarted: Ms("2026-01-15T19:00:00.000Z")},
		{CallID: 6002, Direction: "inbound", Target: Agent(Ben), MasterCallID: 6001, DateStarted: Ms("2026-01-15T19:00:02.000Z"),
			DateConnected: Ms("2026-01-15T19:00:10.000Z"), Duration: 30000},
		// G: outbound by Cy that left a voicemail.
		{CallID: 7001, Direction: "outbound", Target: Agent(Cy), DateStarted: Ms("2026-01-15T20:00:00.000Z"),
			Recordings: []wire.Recording{{ID: "r1", RecordingType: "voicemail"}}},
	}
}

// Load writes calls as legs of Dept and recomputes their days.
func Load(t *testing.T, s *warehouse.Store, calls []wire.Call) {
	t.Helper()
	LoadWith(t, s, calls, nil)
}

// LoadWith is Load, with what events told of leg i set by told (when not
// nil).
func LoadWith(t *testing.T, s *warehouse.Store, calls []wire.Call, told func(i int, l *transform.Leg)) {
	t.Helper()
	ctx := context.Background()
	var legs []transform.Leg
	var days []time.Time
	for i := range calls {
		calls[i].Raw = []byte(fmt.Sprintf(`{"call_id":"%d"}`, calls[i].CallID))
		l := transform.NewLeg(Dept, &calls[i], s.DB().Location(), nil)
		if told != nil {
			told(i, &l)
		}
		legs = append(legs, l)
		days = append(days, l.Day)
	}
	if _, err := s.WriteLegs(ctx, legs); err != nil {
		t.Fatal(err)
	}
	if err := s.Derived().Recompute(ctx, Dept, days); err != nil {
		t.Fatal(err)
	}
}
