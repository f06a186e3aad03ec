package main

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Call Centre Helper's worked example as a what-if: 100 calls in 30
// minutes at 180 s are 10 erlangs; 80 % within 20 s needs 14 agents (13
// answer 79.6 %), 20 on the schedule at 30 % shrinkage (14/0.7). Each
// figure checked against a 50-digit evaluation of the defining sum:
// n=11: P(wait) 0.682118, SL 0.389614, ASA 122.78 s; n=12: 0.449388,
// 0.640158, 40.44 s; n=13: 0.285270, 0.795595, 17.12 s; n=14: 0.174132,
// 0.888350, 7.84 s; n=15: 0.102042, 0.941453, 3.67 s; n=16: 0.057340,
// 0.970560, 1.72 s; occupancy 10/n.
func TestStaffingWhatIf(t *testing.T) {
	t.Setenv("STAFFING_SHRINKAGE", "30")
	t.Setenv("STAFFING_MAX_OCCUPANCY", "85")
	var out, errs bytes.Buffer
	args := []string{"staffing", "--calls", "100", "--handle-time", "180s", "--interval", "30m", "--threshold", "20s", "--goal", "80"}
	if code := dispatch(context.Background(), args, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	want := `100 calls per 30 min at 180 s handle time = 10.00 erlangs; goal 80 % answered within 20 s, occupancy at most 85 %
Erlang C assumes that no caller abandons: where callers hang up, real waits are a little shorter.

  agents  P(wait) %  service level %      ASA  occupancy %
      11       68.2             39.0  122.8 s         90.9
      12       44.9             64.0   40.4 s         83.3
      13       28.5             79.6   17.1 s         76.9
      14       17.4             88.8    7.8 s         71.4  <- required
      15       10.2             94.1    3.7 s         66.7
      16        5.7             97.1    1.7 s         62.5

required: 14 agents
scheduled: 20 agents (shrinkage 30 %)
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	// The README and docs/commands.md show the same what-if.
	for _, doc := range []string{"../../README.md", "../../docs/commands.md"} {
		page, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(page), strings.Join(args, " ")+"\n"+want) {
			t.Errorf("%s does not show this what-if's output as it is", doc)
		}
	}
}

// The settings give the defaults, a flag wins over them, and a what-if
// needs neither Dialpad's token nor the targets.
func TestStaffingWhatIfSettings(t *testing.T) {
	t.Setenv("DIALPAD_API_TOKEN", "")
	t.Setenv("DIALPAD_TARGETS", "")
	t.Setenv("KPI_SERVICE_LEVEL_THRESHOLD", "20s")
	t.Setenv("KPI_SERVICE_LEVEL_GOAL", "80")
	t.Setenv("STAFFING_SHRINKAGE", "20")
	t.Setenv("STAFFING_MAX_OCCUPANCY", "85")
	for _, c := range []struct {
		args []string
		want []string
	}{
		// 14 required; 14/0.8 = 17.5: 18 scheduled.
		{nil, []string{"within 20 s", "required: 14 agents", "scheduled: 18 agents (shrinkage 20 %)"}},
		// At 75 % occupancy at most, 14 agents (71.4 %) still do.
		{[]string{"--max-occupancy", "75"}, []string{"occupancy at most 75 %", "required: 14 agents"}},
		// At 70 % the cap binds: 10/0.7 = 14.3, so 15 agents.
		{[]string{"--max-occupancy", "70"}, []string{"required: 15 agents", "scheduled: 19 agents"}},
		// 90 % within 20 s: 14 answer 88.8 %, 15 answer 94.1 %.
		{[]string{"--goal", "90", "--shrinkage", "0"}, []string{"goal 90 %", "required: 15 agents", "scheduled: 15 agents (shrinkage 0 %)"}},
	} {
		var out, errs bytes.Buffer
		args := append([]string{"staffing", "--calls", "100", "--handle-time", "3m", "--interval", "30m"}, c.args...)
		if code := dispatch(context.Background(), args, &out, &errs); code != 0 {
			t.Errorf("%q: exit %d: %s", c.args, code, errs.String())
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%q: no %q in\n%s", c.args, w, out.String())
			}
		}
	}
}

// A bad flag is named, with exit code 2, and nothing is printed to stdout.
func TestStaffingBadFlags(t *testing.T) {
	base := []string{"staffing", "--calls", "100", "--handle-time", "180s", "--interval", "30m"}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"staffing", "--calls", "many"}, `invalid value "many" for flag -calls`},
		{[]string{"staffing", "--calls", "0", "--handle-time", "180s", "--interval", "30m"}, "--calls 0: want the calls of one interval, above 0"},
		{[]string{"staffing", "--calls", "100", "--interval", "30m"}, "--handle-time 0s: want the average handle time"},
		{[]string{"staffing", "--calls", "100", "--handle-time", "180s"}, "--interval: give the interval"},
		{append(base[:5:5], "--interval", "20m"), "--interval 20m0s: want 15m, 30m or 60m"},
		{append(base, "--goal", "120"), "--goal 120: want a percentage above 0, at most 100"},
		{append(base, "--shrinkage", "100"), "--shrinkage 100: want a percentage from 0, below 100"},
		{append(base, "--max-occupancy", "0"), "--max-occupancy 0: want a percentage above 0, at most 100"},
		{append(base, "--threshold", "-1s"), "--threshold -1s: want 0s or more"},
		{[]string{"staffing", "--handle-time", "180s"}, "--handle-time is for a what-if: give --calls too"},
	} {
		var out, errs bytes.Buffer
		if code := dispatch(context.Background(), c.args, &out, &errs); code != 2 || !strings.Contains(errs.String(), c.says) || out.Len() > 0 {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want 2 and %q", c.args, code, errs.String(), out.String(), c.says)
		}
	}
}

// After a backfill of the last week and more, 'staffing' prints each
// target's agents to schedule per hour and weekday of the next 7 days:
// for each hour, the most the staffing table's forecast has for its
// quarter hours on that weekday, and no hour that needs no one.
func TestStaffingForecastAfterABackfill(t *testing.T) {
	f := newFixture(t, 71, 6, nil, nil)
	if code := f.run(t, f.env, f.backfill()...); code != 0 {
		t.Fatalf("backfill exited %d", code)
	}
	code, out := f.runOut(t, f.env, "staffing")
	if code != 0 {
		t.Fatalf("staffing exited %d:\n%s", code, out)
	}
	// The week the binary printed (the 7 days after its today, in the
	// fixture's zone, UTC), as its headings name it.
	week := regexp.MustCompile(`agents to schedule in the next 7 days \((\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)\)`).FindStringSubmatch(out)
	if week == nil {
		t.Fatalf("no week named in:\n%s", out)
	}
	ctx := context.Background()
	conn := f.conn(t)
	days := []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	for _, tg := range f.targets {
		rows, err := conn.Query(ctx, `SELECT interval_start, scheduled FROM staffing FINAL
			WHERE target_type = ? AND target_id = ? AND forecast = 1 AND day >= toDate(?) AND day <= toDate(?)`,
			tg.Type, uint64(tg.ID), week[1], week[2])
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{} // hour -> agents per weekday
		most := map[string]map[string]uint32{}
		for rows.Next() {
			var start time.Time
			var n uint32
			if err := rows.Scan(&start, &n); err != nil {
				t.Fatal(err)
			}
			hour, day := start.UTC().Format("15:00"), start.UTC().Weekday().String()[:3]
			if most[hour] == nil {
				most[hour] = map[string]uint32{}
			}
			most[hour][day] = max(most[hour][day], n)
		}
		rows.Close()
		for hour, byDay := range most {
			busy := false
			for _, d := range days {
				want[hour] = append(want[hour], strconv.Itoa(int(byDay[d])))
				busy = busy || byDay[d] > 0
			}
			if !busy {
				delete(want, hour)
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s: the backfill made no forecast of the next 7 days", tg)
		}
		// The target's block: its heading, the columns, a line per hour.
		head := strings.Index(out, "("+tg.String()+"): agents to schedule in the next 7 days ("+week[1]+" to "+week[2]+"), per hour")
		if head < 0 {
			t.Fatalf("no heading for %s in:\n%s", tg, out)
		}
		lines := strings.Split(out[head:], "\n")
		if got := strings.Fields(lines[1]); strings.Join(got, " ") != "Time "+strings.Join(days, " ") {
			t.Errorf("%s: columns %q", tg, lines[1])
		}
		got := map[string][]string{}
		for _, l := range lines[2:] {
			fs := strings.Fields(l)
			if len(fs) != 8 || !strings.Contains(fs[0], ":") {
				break
			}
			got[fs[0]] = fs[1:]
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: printed %v; the staffing table has %v", tg, got, want)
		}
	}
}
