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
	g := newRig(t)
	ana := map[string]any{"id": 11, "type": "user", "name": "Ana"}
	leg := func(state string, ts float64, more map[string]any) string {
		f := map[string]any{"target": ana, "entry_point_call_id": 1001, "date_connected": at(10), "date_ended": at(130)}
		for k, v := range more {
			f[k] = v
		}
		return sign(t, event(1002, state, at(ts), f))
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
		startedAt.Unix() != at(0)/1000 || told.Unix() != at(400)/1000 {
		t.Errorf("csat: %q %q source %s extra %s started %v told %v; want 5, the last comments, event, {}, %v, %v",
			score, comments, source, extra, startedAt, told, time.UnixMilli(at(0)).UTC(), time.UnixMilli(at(400)).UTC())
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
