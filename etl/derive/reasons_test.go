package derive_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/handbuilt"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

// Every column of reasons and satisfaction, worked out by hand from
// docs/counting.md, on both engines; and the Go reckoning agrees.
func TestReasonsAndSatisfactionOfHandBuiltCalls(t *testing.T) {
	ctx := context.Background()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	s := chtest.NewTwin(t).Migrated(warehouse.Options{Location: chicago})
	handbuilt.WriteFeedback(t, s, handbuilt.ReasonFeedback)
	calls := handbuilt.ReasonCalls()
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
		CSATAgent            uint64
	}
	rows, err := s.DB().Query(ctx, `SELECT conversation_id, labels, dispositions, csat_score, csat, csat_comments,
		pcsat_score, mos_legs, low_mos_legs, worst_mos, agent_rang, abandoned_before_agent, missed_by_agents, csat_agent_id
		FROM conversations FINAL ORDER BY conversation_id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []conv
	for rows.Next() {
		var c conv
		if err := rows.Scan(&c.ID, &c.Labels, &c.Dispositions, &c.Score, &c.CSAT, &c.Comments, &c.PCSAT, &c.MOSLegs,
			&c.LowMOS, &c.Worst, &c.Rang, &c.Before, &c.Missed, &c.CSATAgent); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	rows.Close()
	none := []string{}
	want := []conv{
		{11001, []string{"billing", "refund"}, []string{"Refund issued"}, "5", 5, []string{`<script>alert('x')</script>`}, "4", 2, 1, 3.1, 1, 0, 0, ben},
		{12001, none, none, "", 0, none, "", 0, 0, 0, 0, 1, 0, 0},
		{13001, []string{"sales"}, none, "", 0, none, "", 0, 0, 0, 1, 0, 1, 0},
		{14001, none, []string{"Billing question", "Follow-up needed"}, "N/A", 0, []string{`'; DROP TABLE calls; --`}, "", 1, 0, 3.5, 1, 0, 0, ana},
		{15001, none, none, "", 0, none, "", 0, 0, 0, 0, 0, 0, 0},
		{16001, none, none, "4", 4, none, "", 1, 1, 2.9, 1, 0, 0, ana},
		{17001, []string{"billing"}, []string{"Billing question"}, "3", 3, none, "", 1, 0, 4.4, 1, 0, 0, ben},
		{18001, none, none, "5", 5, none, "", 2, 1, 3.49, 1, 0, 0, cy},
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
	// Each conversation is credited to the agent whose leg has its CSAT,
	// else to who answered: P and V to Ben, S to Ana (her leg has the
	// event's N/A), W to Cy (his 5, not Ana's 4: the caller spoke to him
	// last). Handle times: P 100 s, S 50 s, V 60 s, W 150 s (Ana and Cy's
	// talk).
	wantReasons := []reason{
		{"all", "", 0, 3, 0, 0, 0, 0, 0},
		{"all", "", ana, 1, 1, 50000, 0, 0, 0},
		{"all", "", ben, 2, 2, 160000, 2, 8, 1},
		{"all", "", cy, 1, 1, 150000, 1, 5, 1},
		{"label", "", 0, 2, 0, 0, 0, 0, 0},
		{"label", "", ana, 1, 1, 50000, 0, 0, 0},
		{"label", "", cy, 1, 1, 150000, 1, 5, 1},
		{"label", "billing", ben, 2, 2, 160000, 2, 8, 1},
		{"label", "refund", ben, 1, 1, 100000, 1, 5, 1},
		{"label", "sales", 0, 1, 0, 0, 0, 0, 0},
		{"disposition", "", 0, 3, 0, 0, 0, 0, 0},
		{"disposition", "", cy, 1, 1, 150000, 1, 5, 1},
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
	for _, r := range handbuilt.ReasonFeedback {
		k := transformtest.FeedbackKey{Target: r.Target, CallID: r.CallID}
		f := fb[k]
		switch {
		case r.Version < 2:
			continue
		case r.Kind == "csat":
			f.CSAT, f.Comments = r.Score, r.Comments
		case r.Kind == "pcsat":
			f.PCSAT = r.Score
		case r.Kind == "disposition":
			f.Dispositions = slices.Clone(r.Names)
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
