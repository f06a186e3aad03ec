package derive_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/handbuilt"
)

// The hand-built legs (package handbuilt), reported in America/Chicago.
const ana, ben, cy = handbuilt.Ana, handbuilt.Ben, handbuilt.Cy

var (
	dept           = handbuilt.Dept
	deptParty      = handbuilt.DeptParty
	ms             = handbuilt.Ms
	handBuiltLegs  = handbuilt.Legs
	load, loadWith = handbuilt.Load, handbuilt.LoadWith
)

type agentDay struct {
	Day                                                     string
	Agent                                                   uint64
	Name                                                    string
	Total, In, Out, Completed, Missed, Voicemail, Cancelled uint32
	TotalMs, AvgMs                                          uint64
}

type conversation struct {
	ID         uint64
	Direction  string
	Started    string
	Day        string
	Answered   uint8
	AnsweredBy uint64
	Outcome    string
	WaitMs     uint64
	TalkMs     uint64
	Legs       uint32
}

func agentDays(t *testing.T, s *warehouse.Store) []agentDay {
	t.Helper()
	rows, err := s.DB().Query(context.Background(), `SELECT toString(day), agent_id, agent_name, total_calls, inbound_calls,
		outbound_calls, completed_calls, missed_calls, voicemail_calls, cancelled_calls, total_duration_ms, avg_duration_ms
		FROM agent_daily FINAL ORDER BY day, agent_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []agentDay
	for rows.Next() {
		var r agentDay
		if err := rows.Scan(&r.Day, &r.Agent, &r.Name, &r.Total, &r.In, &r.Out, &r.Completed, &r.Missed, &r.Voicemail,
			&r.Cancelled, &r.TotalMs, &r.AvgMs); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func conversations(t *testing.T, s *warehouse.Store) []conversation {
	t.Helper()
	rows, err := s.DB().Query(context.Background(), `SELECT conversation_id, toString(direction), toString(started_at),
		toString(day), answered, answered_by, toString(outcome), wait_ms, talk_ms, legs
		FROM conversations FINAL ORDER BY conversation_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []conversation
	for rows.Next() {
		var r conversation
		if err := rows.Scan(&r.ID, &r.Direction, &r.Started, &r.Day, &r.Answered, &r.AnsweredBy, &r.Outcome,
			&r.WaitMs, &r.TalkMs, &r.Legs); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestCallModelOnHandBuiltLegs(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	s := chtest.Migrated(t, warehouse.Options{Location: chicago})
	ctx := context.Background()

	// First load: everything but C's entry leg, which Dialpad lists later.
	var first []wire.Call
	for _, c := range handBuiltLegs() {
		if c.CallID != 3001 {
			first = append(first, c)
		}
	}
	load(t, s, first)
	for _, c := range conversations(t, s) {
		if c.ID == 3001 && (c.Started != "2026-01-15 16:00:01" || c.Legs != 1) {
			t.Errorf("before its entry leg, conversation 3001 = %+v; want started at its agent leg, 1 leg", c)
		}
	}

	// Second load: the whole window, with a label changed since; then the
	// same batch once more, as after a send that may or may not have landed.
	all := handBuiltLegs()
	all[2].Labels = []string{"second"}
	load(t, s, all)
	load(t, s, handBuiltLegs()[:0])
	again := handBuiltLegs()
	again[2].Labels = []string{"second"}
	load(t, s, again)

	var legs, distinct uint64
	if err := s.DB().QueryRow(ctx, "SELECT count(), uniqExact(call_id) FROM calls FINAL").Scan(&legs, &distinct); err != nil {
		t.Fatal(err)
	}
	if legs != 13 || distinct != 13 {
		t.Fatalf("calls FINAL has %d rows of %d legs, want 13 of 13", legs, distinct)
	}
	var labels []string
	if err := s.DB().QueryRow(ctx, "SELECT labels FROM calls FINAL WHERE call_id = 1003").Scan(&labels); err != nil {
		t.Fatal(err)
	}
	if len(labels) != 1 || labels[0] != "second" {
		t.Errorf("leg 1003 labels = %v, want the latest load's [second]", labels)
	}

	wantStatus := map[uint64]string{1001: "completed", 1002: "missed", 1003: "completed", 1004: "completed",
		2001: "voicemail", 2002: "missed", 3001: "missed", 3002: "missed", 4001: "completed", 5001: "cancelled",
		6001: "missed", 6002: "completed", 7001: "voicemail"}
	wantDay := map[uint64]string{1001: "2026-01-14", 1002: "2026-01-14", 1003: "2026-01-14", 1004: "2026-01-14",
		2001: "2026-01-14", 2002: "2026-01-15"}
	rows, err := s.DB().Query(ctx, "SELECT call_id, toString(status), toString(day), conversation_id, is_entry_leg, agent_id FROM calls FINAL")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, conv, agentID uint64
		var status, day string
		var entry uint8
		if err := rows.Scan(&id, &status, &day, &conv, &entry, &agentID); err != nil {
			t.Fatal(err)
		}
		if status != wantStatus[id] {
			t.Errorf("leg %d status %s, want %s", id, status, wantStatus[id])
		}
		if d, ok := wantDay[id]; ok && day != d {
			t.Errorf("leg %d day %s, want %s (Chicago)", id, day, d)
		}
		wantConv := id / 1000 * 1000
		wantConv++
		if conv != wantConv || (entry == 1) != (id == wantConv) {
			t.Errorf("leg %d: conversation %d entry %d, want conversation %d", id, conv, entry, wantConv)
		}
		if (agentID != 0) != map[uint64]bool{1002: true, 1003: true, 1004: true, 2002: true, 3002: true, 4001: true, 5001: true, 6002: true, 7001: true}[id] {
			t.Errorf("leg %d agent %d: only legs whose target is a user have an agent", id, agentID)
		}
	}
	rows.Close()

	wantDays := []agentDay{
		{"2026-01-14", ana, "Ana", 1, 1, 0, 0, 1, 0, 0, 0, 0},
		{"2026-01-14", ben, "Ben", 1, 1, 0, 1, 0, 0, 0, 120000, 120000},
		{"2026-01-14", cy, "Cy", 1, 1, 0, 1, 0, 0, 0, 180000, 180000},
		{"2026-01-15", ana, "Ana", 2, 1, 1, 1, 1, 0, 0, 60000, 60000},
		{"2026-01-15", ben, "Ben", 2, 2, 0, 1, 1, 0, 0, 30000, 30000},
		{"2026-01-15", cy, "Cy", 2, 0, 2, 0, 0, 1, 1, 0, 0},
	}
	gotDays := agentDays(t, s)
	if fmt.Sprint(gotDays) != fmt.Sprint(wantDays) {
		t.Errorf("agent_daily:\n got %+v\nwant %+v", gotDays, wantDays)
	}

	wantConvs := []conversation{
		{1001, "inbound", "2026-01-14 21:00:00", "2026-01-14", 1, ben, "answered", 5000, 300000, 4},
		{2001, "inbound", "2026-01-15 05:59:59", "2026-01-14", 0, 0, "voicemail", 0, 0, 2},
		{3001, "inbound", "2026-01-15 15:59:59", "2026-01-15", 0, 0, "missed", 0, 0, 2},
		{4001, "outbound", "2026-01-15 17:00:00", "2026-01-15", 1, ana, "answered", 8000, 60000, 1},
		{5001, "outbound", "2026-01-15 18:00:00", "2026-01-15", 0, 0, "cancelled", 0, 0, 1},
		{6001, "inbound", "2026-01-15 19:00:00", "2026-01-15", 1, ben, "answered", 10000, 30000, 2},
		{7001, "outbound", "2026-01-15 20:00:00", "2026-01-15", 0, 0, "voicemail", 0, 0, 1},
	}
	gotConvs := conversations(t, s)
	if fmt.Sprint(gotConvs) != fmt.Sprint(wantConvs) {
		t.Errorf("conversations:\n got %+v\nwant %+v", gotConvs, wantConvs)
	}

	// The department cards: conversations, never legs.
	var in, out, missed, total uint64
	if err := s.DB().QueryRow(ctx, `SELECT countIf(direction = 'inbound'), countIf(direction = 'outbound'),
		countIf(direction = 'inbound' AND outcome IN ('missed', 'voicemail')), count() FROM conversations FINAL`).Scan(&in, &out, &missed, &total); err != nil {
		t.Fatal(err)
	}
	if in != 4 || out != 3 || missed != 2 || total != 7 {
		t.Errorf("cards inbound %d outbound %d missed %d total %d; want 4 3 2 7", in, out, missed, total)
	}
}

func TestHighWaterNeverMovesBackwards(t *testing.T) {
	s := chtest.Migrated(t, warehouse.Options{Location: time.UTC})
	ctx := context.Background()
	if _, ok, err := s.HighWater(ctx, dept); err != nil || ok {
		t.Fatalf("fresh target has a mark (ok=%v, err=%v)", ok, err)
	}
	later := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, m := range []time.Time{later.Add(-time.Hour), later, later.Add(-48 * time.Hour)} {
		if err := s.AdvanceHighWater(ctx, dept, m); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := s.HighWater(ctx, dept)
	if err != nil || !ok || !got.Equal(later) {
		t.Fatalf("mark = %v (ok=%v, err=%v), want the highest written, %v", got, ok, err, later)
	}
}
