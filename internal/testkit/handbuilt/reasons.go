package handbuilt

import (
	"context"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// ReasonCalls are department 100's calls of Tuesday 2026-01-20 (10:00 in
// Chicago on), with labels, CSAT and MOS as the list gives them:
//
//	P  inbound: Ana rang, Ben answered; labels billing (entry) and billing,
//	   refund (Ben); Ben's CSAT 5 with a hostile comment; MOS 3.1 entry, 4.2 Ben
//	Q  inbound, no agent rang, 30 s: Dialpad's abandoned
//	R  inbound, Cy rang and missed (MOS 1.0 on the unconnected leg); label sales
//	S  inbound, Ana answered; entry CSAT 2 but Ana's leg has the csat event's N/A
//	T  inbound to voicemail, no agent rang
//	U  outbound by Ana, CSAT 4, MOS 2.9
//	V  inbound, Ben answered; list CSAT 3 (the event's 1 loses); label billing
//	W  inbound, Ana answered then Cy: Ana's CSAT 4, Cy's (connected later) 5;
//	   entry 1; MOS 3.49 Ana, 4.0 Cy
func ReasonCalls() []wire.Call {
	ms := Ms
	mos := func(v float64) *wire.Float { f := wire.Float(v); return &f }
	agent, dept := Agent, DeptParty
	ana, ben, cy := int64(Ana), int64(Ben), int64(Cy)
	leg := func(id, entry int64, target wire.Party, start string, connectAfter, talk float64) wire.Call {
		c := wire.Call{CallID: wire.ID(id), Direction: "inbound", Target: target, DateStarted: ms(start),
			TotalDuration: wire.Float(talk + connectAfter), Duration: wire.Float(talk), State: "hangup"}
		if entry != 0 {
			c.EntryPointCallID, c.EntryPointTarget = wire.ID(entry), dept
		}
		if connectAfter > 0 {
			c.DateConnected = c.DateStarted + wire.Millis(connectAfter)
		}
		return c
	}
	p1 := leg(11001, 0, dept, "2026-01-20T16:00:00.000Z", 5000, 100000)
	p1.Labels, p1.MOSScore = []string{"billing"}, mos(3.1)
	p2 := leg(11002, 11001, agent(ana), "2026-01-20T16:00:01.000Z", 0, 0)
	p3 := leg(11003, 11001, agent(ben), "2026-01-20T16:00:02.000Z", 3000, 100000)
	p3.Labels, p3.CSATScore, p3.MOSScore = []string{"billing", "refund"}, "5", mos(4.2)
	p3.CSATComments = []string{`<script>alert('x')</script>`}
	q1 := leg(12001, 0, dept, "2026-01-20T17:00:00.000Z", 0, 0)
	q1.TotalDuration = 30000
	r1 := leg(13001, 0, dept, "2026-01-20T18:00:00.000Z", 0, 0)
	r1.TotalDuration, r1.Labels = 40000, []string{"sales"}
	r2 := leg(13002, 13001, agent(cy), "2026-01-20T18:00:01.000Z", 0, 0)
	r2.MOSScore = mos(1.0)
	s1 := leg(14001, 0, dept, "2026-01-20T19:00:00.000Z", 4000, 50000)
	s1.CSATScore = "2"
	s2 := leg(14002, 14001, agent(ana), "2026-01-20T19:00:01.000Z", 3000, 50000)
	s2.MOSScore = mos(3.5)
	t1 := leg(15001, 0, dept, "2026-01-20T20:00:00.000Z", 0, 0)
	t1.TotalDuration, t1.VoicemailLink = 60000, "https://example.invalid/vm/15001"
	u1 := leg(16001, 0, agent(ana), "2026-01-20T21:00:00.000Z", 8000, 60000)
	u1.Direction, u1.CSATScore, u1.MOSScore = "outbound", "4", mos(2.9)
	v1 := leg(17001, 0, dept, "2026-01-20T22:00:00.000Z", 6000, 60000)
	v2 := leg(17002, 17001, agent(ben), "2026-01-20T22:00:01.000Z", 5000, 60000)
	v2.Labels, v2.CSATScore, v2.MOSScore = []string{"billing"}, "3", mos(4.4)
	w1 := leg(18001, 0, dept, "2026-01-20T23:00:00.000Z", 2000, 150000)
	w1.CSATScore = "1"
	w2 := leg(18002, 18001, agent(ana), "2026-01-20T23:00:01.000Z", 1000, 70000)
	w2.CSATScore, w2.MOSScore = "4", mos(3.49)
	w3 := leg(18003, 18001, agent(cy), "2026-01-20T23:01:20.000Z", 1000, 80000)
	w3.CSATScore, w3.MOSScore = "5", mos(4.0)
	return []wire.Call{p1, p2, p3, q1, r1, r2, s1, s2, t1, u1, v1, v2, w1, w2, w3}
}

// Feedback is a row of call_feedback.
type Feedback struct {
	Target   dialpad.Target
	CallID   uint64
	Kind     string // csat, pcsat or disposition
	Score    string
	Comments []string
	Names    []string
	Version  uint64
}

// ReasonFeedback is what events and exports told of ReasonCalls' legs;
// the older disposition of V and another target's row must not count.
var ReasonFeedback = []Feedback{
	{Target: Dept, CallID: 11003, Kind: "pcsat", Score: "4", Version: 2},
	{Target: Dept, CallID: 11003, Kind: "disposition", Names: []string{"Refund issued"}, Version: 2},
	{Target: dialpad.Target{Type: "callcenter", ID: 7}, CallID: 11003, Kind: "disposition", Names: []string{"Another target's"}, Version: 2},
	{Target: Dept, CallID: 14002, Kind: "csat", Score: "N/A", Comments: []string{`'; DROP TABLE calls; --`}, Version: 2},
	{Target: Dept, CallID: 14002, Kind: "disposition", Names: []string{"Billing question", "Follow-up needed"}, Version: 2},
	{Target: Dept, CallID: 17002, Kind: "csat", Score: "1", Version: 2},
	{Target: Dept, CallID: 17002, Kind: "disposition", Names: []string{"Wrong number"}, Version: 1},
	{Target: Dept, CallID: 17002, Kind: "disposition", Names: []string{"Billing question"}, Version: 2},
}

// WriteFeedback writes rows into call_feedback, as started at the first
// of ReasonCalls.
func WriteFeedback(t *testing.T, s *warehouse.Store, rows []Feedback) {
	t.Helper()
	for _, r := range rows {
		comments, names := r.Comments, r.Names
		if comments == nil {
			comments = []string{}
		}
		if names == nil {
			names = []string{}
		}
		if err := s.DB().InsertRow(context.Background(), "call_feedback", `INSERT INTO call_feedback (target_type, target_id,
			call_id, kind, started_at, score, comments, names, source, extra, at, version)`,
			r.Target.Type, uint64(r.Target.ID), r.CallID, r.Kind, time.Date(2026, 1, 20, 16, 0, 0, 0, time.UTC),
			r.Score, comments, names, "event", "", time.Date(2026, 1, 20, 23, 30, 0, 0, time.UTC), r.Version); err != nil {
			t.Fatal(err)
		}
	}
}
