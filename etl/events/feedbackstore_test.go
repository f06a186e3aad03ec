package events_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"
)

// On ClickHouse: the events after a call leave one row per leg and kind
// in call_feedback, read with FINAL: the survey answer told last (a
// later one replaces the earlier, one arriving late changes nothing),
// with its comments as sent, dated by the leg's start; the
// dispositions sorted, each once.
func TestFeedbackRowsAreReadableWithFinalAndTheLatestWins(t *testing.T) {
	// The leg started at 14:00 UTC on 2 June 2026; it is 16:00.
	start := time.Date(2026, 6, 2, 14, 0, 0, 0, time.UTC)
	g := newRigIn(t, time.UTC, func() time.Time { return start.Add(2 * time.Hour) })
	ms := func(s int) int64 { return start.Add(time.Duration(s) * time.Second).UnixMilli() }
	ana := map[string]any{"id": 11, "type": "user", "name": "Ana"}
	leg := func(state string, s int, more map[string]any) string {
		f := map[string]any{"target": ana, "entry_point_call_id": 1001, "date_started": ms(0), "date_connected": ms(10),
			"date_ended": ms(130)}
		for k, v := range more {
			f[k] = v
		}
		return sign(t, event(1002, state, ms(s), f))
	}
	hostile := `it's "fine" \ '); DROP TABLE calls; --`
	for _, body := range []string{
		leg("csat", 200, map[string]any{"csat_score": "2", "csat_transcriptions": []string{"slow"}}),
		leg("csat", 400, map[string]any{"csat_score": "5", "csat_transcriptions": []string{"Great", hostile}}),
		leg("csat", 300, map[string]any{"csat_score": "1"}),
		leg("dispositions", 250, map[string]any{"dispositions": []any{"Refund", map[string]any{"name": "Billing"}, "Refund"}}),
	} {
		if code, text := g.post(t, body); code != http.StatusOK {
			t.Fatalf("%d %q", code, text)
		}
	}
	if n := g.count(t, "SELECT count() FROM call_feedback FINAL"); n != 2 {
		t.Errorf("call_feedback FINAL has %d rows, want 2 (csat and disposition of one leg)", n)
	}
	var score, source, extra string
	var comments []string
	var startedAt, told time.Time
	if err := g.conn.QueryRow(context.Background(), `SELECT score, comments, toString(source), extra, started_at, at
		FROM call_feedback FINAL WHERE target_type = 'department' AND target_id = 700 AND call_id = 1002 AND kind = 'csat'`).
		Scan(&score, &comments, &source, &extra, &startedAt, &told); err != nil {
		t.Fatal(err)
	}
	if score != "5" || !slices.Equal(comments, []string{"Great", hostile}) || source != "event" || extra != "{}" ||
		!startedAt.Equal(start) || !told.Equal(start.Add(400*time.Second)) {
		t.Errorf("csat: %q %q source %s extra %s started %v told %v; want 5, the last comments, event, {}, %v, %v",
			score, comments, source, extra, startedAt, told, start, start.Add(400*time.Second))
	}
	var names []string
	if err := g.conn.QueryRow(context.Background(), `SELECT names FROM call_feedback FINAL
		WHERE call_id = 1002 AND kind = 'disposition'`).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"Billing", "Refund"}) {
		t.Errorf("dispositions %q, want Billing, Refund", names)
	}
}
