package config

import (
	"context"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A staffing what-if reads its goals with no token, no targets and no
// warehouse settings; a flag wins over the environment, which wins over
// .env; a bad goal is named.
func TestGoalsNeedNothingElse(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse([]string{"--staffing-shrinkage", "25"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KPI_SERVICE_LEVEL_GOAL": "90", "STAFFING_SHRINKAGE": "10", "ETL_TIMEZONE": "Mars/Olympus"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	g, err := LoadGoals(context.Background(), fs, getenv, map[string]string{"KPI_SERVICE_LEVEL_THRESHOLD": "20s", "KPI_SERVICE_LEVEL_GOAL": "70"})
	if err != nil {
		t.Fatal(err)
	}
	want := Goals{ServiceLevel: 20 * time.Second, ServiceLevelGoal: 90, StaffingShrinkage: 25, StaffingMaxOccupancy: 85}
	if *g != want {
		t.Errorf("goals %+v, want %+v", *g, want)
	}
	for _, bad := range []struct{ env, value string }{
		{"KPI_SERVICE_LEVEL_GOAL", "0"}, {"KPI_SERVICE_LEVEL_GOAL", "high"}, {"KPI_SERVICE_LEVEL_THRESHOLD", "0s"},
		{"STAFFING_SHRINKAGE", "100"}, {"STAFFING_MAX_OCCUPANCY", "101"},
	} {
		getenv := func(k string) (string, bool) { return bad.value, k == bad.env }
		if _, err := LoadGoals(context.Background(), nil, getenv, nil); err == nil || !strings.HasPrefix(err.Error(), bad.env+":") {
			t.Errorf("%s=%s: %v, want an error naming it", bad.env, bad.value, err)
		}
	}
}

// Goals and Env read the same variables with the same defaults.
func TestGoalsAreEnvs(t *testing.T) {
	g := reflect.TypeOf(Goals{})
	for i := 0; i < g.NumField(); i++ {
		f := g.Field(i)
		e, ok := reflect.TypeOf(Env{}).FieldByName(f.Name)
		if !ok || e.Tag.Get("env") != f.Tag.Get("env") || e.Type != f.Type {
			t.Errorf("Goals.%s (%s, %q) is not Env's", f.Name, f.Type, f.Tag.Get("env"))
		}
	}
}
