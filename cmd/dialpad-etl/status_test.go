package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// A backfill that begins after ETL_START cannot move the incremental
// high-water mark over the days before it: status lists what it loaded
// rather than "nothing loaded yet", and shows a gap between two
// backfills as not loaded.
func TestStatusListsBackfilledDays(t *testing.T) {
	f := newPastFixture(t, 41, 3, nil, nil)
	day := func(n int) string { return f.start.AddDate(0, 0, n).Format(time.DateOnly) }
	to := f.end.Add(time.Hour).Format(time.RFC3339)
	// ETL_START is the fixture's first day: these begin a day and two
	// days after it, the second target's leaving its second day out.
	if code, out := f.runOut(t, f.env, "backfill", "--from", day(1), "--to", to, "--target", f.targets[0].String()); code != 0 {
		t.Fatalf("backfill exited %d:\n%s", code, lastLines(out, 10))
	}
	for _, span := range [][2]string{{day(1), day(1)}, {day(3), to}} {
		if code, out := f.runOut(t, f.env, "backfill", "--from", span[0], "--to", span[1], "--target", f.targets[1].String()); code != 0 {
			t.Fatalf("backfill exited %d:\n%s", code, lastLines(out, 10))
		}
	}
	code, out := f.runOut(t, f.env, "status")
	if code != 0 {
		t.Fatalf("status exited %d:\n%s", code, out)
	}
	t.Logf("status:\n%s", out)
	sections := map[string]string{}
	for _, tg := range f.targets[:2] {
		i := strings.Index(out, tg.String()+"\n")
		if i < 0 {
			t.Fatalf("status does not list %s:\n%s", tg, out)
		}
		sections[tg.String()] = out[i:]
		if j := strings.Index(out[i+1:], "\n"+f.targets[2].String()); tg == f.targets[1] && j >= 0 {
			sections[tg.String()] = out[i : i+1+j]
		}
	}
	first := sections[f.targets[0].String()]
	first = first[:strings.Index(first, f.targets[1].String())]
	end := f.end.Add(time.Hour).UTC().Format(time.RFC3339)
	for _, want := range []string{
		`\n  loaded\s+` + day(1) + `T00:00:00Z to ` + end + `\s+\(backfill\)\n`,
		`\n  high-water mark\s+none: the incremental load \(schedule, run\) has not run yet\n`,
	} {
		if !regexp.MustCompile(want).MatchString(first) {
			t.Errorf("status of %s lacks %s:\n%s", f.targets[0], want, first)
		}
	}
	if strings.Contains(first, "nothing loaded yet") || strings.Contains(first, "not loaded") {
		t.Errorf("status of %s says something is not loaded:\n%s", f.targets[0], first)
	}
	second := sections[f.targets[1].String()]
	if want := `\n  not loaded\s+` + day(2) + `T00:00:00Z to ` + day(3) + `T00:00:00Z\s`; !regexp.MustCompile(want).MatchString(second) {
		t.Errorf("status of %s does not show the gap %s:\n%s", f.targets[1], want, second)
	}
}
