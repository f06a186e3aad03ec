package main

import (
	"slices"
	"testing"
	"time"
)

// The statements of a recompute pass are told apart by what they write
// and read: the copy of the month's conversations is not their
// computation from the legs, nor the copy with the flags.
func TestStatementKind(t *testing.T) {
	for q, want := range map[string]string{
		"INSERT INTO conversations_stage (a, b)\nSELECT a, b FROM conversations FINAL\nWHERE x AND NOT (conversation_id IN (SELECT conversation_id FROM calls\n WHERE y))":                                  "INSERT INTO conversations_stage ← conversations, calls",
		"INSERT INTO conversations_stage (a)\nSELECT a\nFROM calls FINAL\nWHERE (conversation_id IN (SELECT conversation_id FROM calls) OR conversation_id IN (SELECT conversation_id FROM conversations))": "INSERT INTO conversations_stage ← calls, conversations",
		"INSERT INTO conversations_stage (a) SELECT a FROM\n(\n SELECT * FROM conversations FINAL\n) AS month\nANY LEFT JOIN\n(\n SELECT c FROM conversation_flags_stage\n) AS flags USING c":               "INSERT INTO conversations_stage ← conversations, conversation_flags_stage",
		"ALTER TABLE conversations REPLACE PARTITION ('callcenter', 1, 202611) FROM conversations_stage":                                                                                                    "ALTER TABLE conversations REPLACE PARTITION ← conversations_stage",
		"ALTER TABLE agent_daily_stage DROP PARTITION ('callcenter', 1, 202611)":                                                                                                                            "ALTER TABLE agent_daily_stage DROP PARTITION",
		"INSERT INTO conversation_flags_stage\n\t\t(target_type, target_id) VALUES":                                                                                                                         "INSERT INTO conversation_flags_stage",
		"SELECT count() FROM agent_daily_stage WHERE target_type = 'callcenter'":                                                                                                                            "SELECT ← agent_daily_stage",
		"  select 1": "select",
		"(SELECT 1)": "?",
	} {
		if got := statementKind(q); got != want {
			t.Errorf("statementKind(%.40q) = %q, want %q", q, got, want)
		}
	}
}

func TestQuantileIsTheNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := quantile(ds, q); got != want {
			t.Errorf("quantile(1..100 ms, %g) = %s, want %s", q, got, want)
		}
	}
	if got := quantile([]time.Duration{3 * time.Second}, 0.99); got != 3*time.Second {
		t.Errorf("the p99 of one pass = %s, want it", got)
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("the median of nothing = %s, want 0", got)
	}
}

func TestMetricValueReadsTheUnlabelledSample(t *testing.T) {
	exposition := "# TYPE x histogram\n" +
		`dialpad_etl_events_recompute_duration_seconds_bucket{le="5"} 3` + "\n" +
		"dialpad_etl_events_recompute_duration_seconds_sum 7.25\n" +
		"dialpad_etl_events_recompute_duration_seconds_count 3\n"
	if v, ok := metricValue(exposition, recomputeMetric+"_sum"); !ok || v != 7.25 {
		t.Errorf("sum: %g, %v; want 7.25", v, ok)
	}
	if v, ok := metricValue(exposition, recomputeMetric+"_count"); !ok || v != 3 {
		t.Errorf("count: %g, %v; want 3", v, ok)
	}
	if _, ok := metricValue(exposition, recomputeMetric); ok {
		t.Errorf("found the histogram's own name, which has no unlabelled sample")
	}
}

// A leg's lag runs from its final event's receipt to the first reading
// of its conversation that counts as many legs as had been received by
// then; a leg no reading counted is missing.
func TestLagsRunToTheReadingThatCountsTheLeg(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	w := &recomputeWatch{seen: map[uint64][]counted{
		1: {{at: at(4), legs: 1}, {at: at(9), legs: 3}},
		2: {{at: at(6), legs: 1}},
	}}
	lags, missing := w.lags([]receipt{
		{conversation: 1, received: at(3)}, // the second received: 2 legs first counted at 9 s
		{conversation: 1, received: at(0)}, // the first: 1 leg counted at 4 s
		{conversation: 1, received: at(5)}, // the third: 3 legs at 9 s
		{conversation: 2, received: at(1)}, // counted at 6 s
		{conversation: 2, received: at(2)}, // its second leg: never counted
		{conversation: 3, received: at(2)}, // a conversation never read
	})
	slices.Sort(lags)
	want := []time.Duration{4 * time.Second, 4 * time.Second, 5 * time.Second, 6 * time.Second}
	if !slices.Equal(lags, want) || missing != 2 {
		t.Errorf("lags %v, %d missing; want %v, 2 missing", lags, missing, want)
	}
}
