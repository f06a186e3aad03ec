package derive_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/handbuilt"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

// reasonCalls are department 100's calls of Tuesday 2026-01-20 (10:00 in
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
func reasonCalls() []wire.Call {
	ms := handbuilt.Ms
	mos := func(v float64) *wire.Float { f := wire.Float(v); return &f }
	agent, dept := handbuilt.Agent, handbuilt.DeptParty
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

// feedbackRow is a row of call_feedback.
type feedbackRow struct {
	target  dialpad.Target
	callID  uint64
	kind    string
	score   string
	comment []string
	names   []string
	version uint64
}

// reasonFeedback is what events and exports told of the legs; the older
// disposition of V and another target's row must not count.
var reasonFeedback = []feedbackRow{
	{target: dept, callID: 11003, kind: "pcsat", score: "4", version: 2},
	{target: dept, callID: 11003, kind: "disposition", names: []string{"Refund issued"}, version: 2},
	{target: dialpad.Target{Type: "callcenter", ID: 7}, callID: 11003, kind: "disposition", names: []string{"Another target's"}, version: 2},
	{target: dept, callID: 14002, kind: "csat", score: "N/A", comment: []string{`'; DROP TABLE calls; --`}, version: 2},
	{target: dept, callID: 14002, kind: "disposition", names: []string{"Billing question", "Follow-up needed"}, version: 2},
	{target: dept, callID: 17002, kind: "csat", score: "1", version: 2},
	{target: dept, callID: 17002, kind: "disposition", names: []string{"Wrong number"}, version: 1},
	{target: dept, callID: 17002, kind: "disposition", names: []string{"Billing question"}, version: 2},
}

func writeFeedback(t *testing.T, s *warehouse.Store, rows []feedbackRow) {
	t.Helper()
	for _, r := range rows {
		comment, names := r.comment, r.names
		if comment == nil {
			comment = []string{}
		}
		if names == nil {
			names = []string{}
		}
		if err := s.DB().InsertRow(context.Background(), "call_feedback", `INSERT INTO call_feedback (target_type, target_id,
			call_id, kind, started_at, score, comments, names, source, extra, at, version)`,
			r.target.Type, uint64(r.target.ID), r.callID, r.kind, time.Date(2026, 1, 20, 16, 0, 0, 0, time.UTC),
			r.score, comment, names, "event", "", time.Date(2026, 1, 20, 23, 30, 0, 0, time.UTC), r.version); err != nil {
			t.Fatal(err)
		}
	}
}

// Every column of reasons and satisfaction, worked out by hand from
// docs/counting.md, on both engines; and the Go reckoning agrees.
func TestReasonsAndSatisfactionOfHandBuiltCalls(t *testing.T) {
	ctx := context.Background()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	s := chtest.NewTwin(t).Migrated(warehouse.Options{Location: chicago})
	writeFeedback(t, s, reasonFeedback)
	calls := reasonCalls()
	load(t, s, calls)

	type conv struct {
		ID                   uint64
		Labels, Dispositions []string
		Score                string
		CSAT                 uint8
		Comments             []string
		PCSAT                string
		MOSLegs, LowMOS      uint32
		Worst                float64
		Rang, Before, Missed uint8
	}
	rows, err := s.DB().Query(ctx, `SELECT conversation_id, labels, dispositions, csat_score, csat, csat_comments,
		pcsat_score, mos_legs, low_mos_legs, worst_mos, agent_rang, abandoned_before_agent, missed_by_agents
		FROM conversations FINAL ORDER BY conversation_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []conv
	for rows.Next() {
		var c conv
		if err := rows.Scan(&c.ID, &c.Labels, &c.Dispositions, &c.Score, &c.CSAT, &c.Comments, &c.PCSAT, &c.MOSLegs,
			&c.LowMOS, &c.Worst, &c.Rang, &c.Before, &c.Missed); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	rows.Close()
	none := []string{}
	want := []conv{
		{11001, []string{"billing", "refund"}, []string{"Refund issued"}, "5", 5, []string{`<script>alert('x')</script>`}, "4", 2, 1, 3.1, 1, 0, 0},
		{12001, none, none, "", 0, none, "", 0, 0, 0, 0, 1, 0},
		{13001, []string{"sales"}, none, "", 0, none, "", 0, 0, 0, 1, 0, 1},
		{14001, none, []string{"Billing question", "Follow-up needed"}, "N/A", 0, []string{`'; DROP TABLE calls; --`}, "", 1, 0, 3.5, 1, 0, 0},
		{15001, none, none, "", 0, none, "", 0, 0, 0, 0, 0, 0},
		{16001, none, none, "4", 4, none, "", 1, 1, 2.9, 1, 0, 0},
		{17001, []string{"billing"}, []string{"Billing question"}, "3", 3, none, "", 1, 0, 4.4, 1, 0, 0},
		{18001, none, none, "5", 5, none, "", 2, 1, 3.49, 1, 0, 0},
	}
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("conversations' reasons and satisfaction:\n got %+v\nwant %+v", got, want)
	}

	var sat [8]uint32
	if err := s.DB().QueryRow(ctx, `SELECT abandoned_before_agent, missed_by_agents, voicemail, csat_responses, csat_total,
		csat_satisfied, mos_legs, low_mos_legs FROM target_daily FINAL WHERE day = '2026-01-20'`).Scan(
		&sat[0], &sat[1], &sat[2], &sat[3], &sat[4], &sat[5], &sat[6], &sat[7]); err != nil {
		t.Fatal(err)
	}
	// Q abandoned before an agent rang, R missed by Cy, T voicemail; P, V
	// and W scored 5, 3 and 5 (S's N/A is no score, U is outbound); seven
	// connected legs with a MOS, three below 3.5 (3.1, 2.9, 3.49).
	if want := [8]uint32{1, 1, 1, 3, 13, 2, 7, 3}; sat != want {
		t.Errorf("target_daily: abandoned, missed, voicemail, CSAT responses, total, satisfied, MOS legs, low: got %v, want %v", sat, want)
	}

	mosOf := map[uint64][2]uint32{}
	rows, err = s.DB().Query(ctx, `SELECT agent_id, mos_legs, low_mos_legs FROM agent_daily FINAL WHERE day = '2026-01-20'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uint64
		var m [2]uint32
		if err := rows.Scan(&id, &m[0], &m[1]); err != nil {
			t.Fatal(err)
		}
		mosOf[id] = m
	}
	rows.Close()
	// Ana: 3.5, 2.9, 3.49 connected (her missed leg of P has none); Ben
	// 4.2, 4.4; Cy 4.0 (the 1.0 of a leg that never connected is not a line).
	if want := map[uint64][2]uint32{ana: {3, 2}, ben: {2, 0}, cy: {1, 0}}; fmt.Sprint(mosOf) != fmt.Sprint(want) {
		t.Errorf("agent_daily MOS legs and low: got %v, want %v", mosOf, want)
	}

	type reason struct {
		Kind, Reason                string
		Agent                       uint64
		Convs, Answered             uint32
		HandleMs                    uint64
		Responses, Total, Satisfied uint32
	}
	rows, err = s.DB().Query(ctx, `SELECT toString(kind), reason, agent_id, conversations, answered, handle_ms,
		csat_responses, csat_total, csat_satisfied FROM reasons_daily FINAL WHERE day = '2026-01-20'
		ORDER BY kind, reason, agent_id`)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []reason
	for rows.Next() {
		var r reason
		if err := rows.Scan(&r.Kind, &r.Reason, &r.Agent, &r.Convs, &r.Answered, &r.HandleMs, &r.Responses, &r.Total, &r.Satisfied); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, r)
	}
	rows.Close()
	// Handle times: P 100 s (Ben), S 50 s (Ana), V 60 s (Ben), W 150 s
	// (Ana and Cy's talk, answered by Ana).
	wantReasons := []reason{
		{"all", "", 0, 3, 0, 0, 0, 0, 0},
		{"all", "", ana, 2, 2, 200000, 1, 5, 1},
		{"all", "", ben, 2, 2, 160000, 2, 8, 1},
		{"label", "", 0, 2, 0, 0, 0, 0, 0},
		{"label", "", ana, 2, 2, 200000, 1, 5, 1},
		{"label", "billing", ben, 2, 2, 160000, 2, 8, 1},
		{"label", "refund", ben, 1, 1, 100000, 1, 5, 1},
		{"label", "sales", 0, 1, 0, 0, 0, 0, 0},
		{"disposition", "", 0, 3, 0, 0, 0, 0, 0},
		{"disposition", "", ana, 1, 1, 150000, 1, 5, 1},
		{"disposition", "Billing question", ana, 1, 1, 50000, 0, 0, 0},
		{"disposition", "Billing question", ben, 1, 1, 60000, 1, 3, 0},
		{"disposition", "Follow-up needed", ana, 1, 1, 50000, 0, 0, 0},
		{"disposition", "Refund issued", ben, 1, 1, 100000, 1, 5, 1},
	}
	if fmt.Sprint(reasons) != fmt.Sprint(wantReasons) {
		t.Errorf("reasons_daily:\n got %v\nwant %v", reasons, wantReasons)
	}

	// The Go reckoning of the same legs and feedback.
	var legs []transform.Leg
	for i := range calls {
		legs = append(legs, transform.NewLeg(dept, &calls[i], chicago, nil))
	}
	fb := map[transformtest.FeedbackKey]transformtest.Feedback{}
	for _, r := range reasonFeedback {
		k := transformtest.FeedbackKey{Target: r.target, CallID: r.callID}
		f := fb[k]
		switch {
		case r.version < 2:
			continue
		case r.kind == "csat":
			f.CSAT, f.Comments = r.score, r.comment
		case r.kind == "pcsat":
			f.PCSAT = r.score
		case r.kind == "disposition":
			f.Dispositions = slices.Clone(r.names)
		}
		fb[k] = f
	}
	ref := transformtest.Seconds(transformtest.ConversationsWith(legs, chicago, fb))
	stored, err := transformtest.StoredConversations(ctx, s.DB())
	if err != nil {
		t.Fatal(err)
	}
	if diff := transformtest.FirstDiff(stored, ref); diff != "" {
		t.Errorf("conversations differ from the Go reckoning: %s", diff)
	}
	gotReasons, err := transformtest.StoredReasons(ctx, s.DB())
	if err != nil {
		t.Fatal(err)
	}
	if diff := transformtest.FirstDiff(gotReasons, transformtest.Reasons(ref)); diff != "" {
		t.Errorf("reasons_daily differs from the Go reckoning: %s", diff)
	}
	gotSat, err := transformtest.StoredSatisfaction(ctx, s.DB())
	if err != nil {
		t.Fatal(err)
	}
	if diff := transformtest.FirstDiff(gotSat, transformtest.Satisfaction(ref)); diff != "" {
		t.Errorf("target_daily's satisfaction differs from the Go reckoning: %s", diff)
	}
	gotDays, err := transformtest.StoredAgentDays(ctx, s.DB())
	if err != nil {
		t.Fatal(err)
	}
	if diff := transformtest.FirstDiff(gotDays, transformtest.AgentDays(legs)); diff != "" {
		t.Errorf("agent_daily differs from the Go reckoning: %s", diff)
	}
}
