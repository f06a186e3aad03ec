package main

import (
	"context"
	"maps"
	"testing"
)

// A command's start records the alert rules' thresholds in etl_settings,
// where Grafana's provisioned rules read them, as the settings say.
func TestStartRecordsTheAlertSettings(t *testing.T) {
	f := newPastFixture(t, 41, 1, nil, nil)
	env := f.with("ALERT_MIN_OFFERED=15", "ALERT_ABANDONMENT_MAX=7.5", "ALERT_LONGEST_WAIT=3m", "ETL_HEALTH_MAX_AGE=90m",
		"KPI_SERVICE_LEVEL_GOAL=85")
	if code, out := f.runOut(t, env, f.backfill("--target", f.targets[0].String())...); code != 0 {
		t.Fatalf("backfill exited %d:\n%s", code, lastLines(out, 10))
	}
	rows, err := f.conn(t).Query(context.Background(), "SELECT name, argMax(value, version) FROM etl_settings GROUP BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		got[name] = value
	}
	want := map[string]string{"alert_min_offered": "15", "alert_abandonment_max": "7.5", "alert_longest_wait_s": "180",
		"etl_health_max_age_s": "5400", "kpi_service_level_goal": "85"}
	maps.DeleteFunc(got, func(name, _ string) bool { _, ok := want[name]; return !ok })
	if !maps.Equal(got, want) {
		t.Errorf("etl_settings holds %v, want %v", got, want)
	}
}
