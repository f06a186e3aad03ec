package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
)

// backfill --via export over real HTTP: every leg of the days the truth
// has, from one export per target, source 'export'; status names the
// days as loaded from an export; a second run asks for nothing; a list
// read with --force replaces every leg, none twice. The token is
// nowhere.
func TestBackfillViaExportCommand(t *testing.T) {
	f := newPastFixture(t, 33, 3, nil, func(c *simulator.Config) { c.ExportDelay = 200 * time.Millisecond })
	var exports atomic.Int64
	hook := func(r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v2/stats" {
			exports.Add(1)
		}
	}
	f.hook.Store(&hook)
	// Dialpad counts the export's days back from its today: the
	// simulator's clock is now, as the binary's.
	f.setClock(time.Now())
	// The whole days of the traffic: all but its last, which ends in the
	// afternoon.
	lastDay := f.end.Truncate(24*time.Hour).AddDate(0, 0, -1)
	code, out := f.runOut(t, f.env, "backfill", "--via", "export", "--from", f.from(), "--to", lastDay.Format(time.DateOnly))
	if code != 0 || exports.Load() != int64(len(f.targets)) {
		t.Fatalf("backfill --via export exited %d after %d exports; want 0 and one per target (%d):\n%s",
			code, exports.Load(), len(f.targets), lastLines(out, 20))
	}

	// The truth's legs that started in those days, per target.
	want := map[string]int{}
	for _, l := range f.want(t) {
		if !time.UnixMilli(l.StartedMs).Before(f.start) && time.UnixMilli(l.StartedMs).Before(lastDay.AddDate(0, 0, 1)) {
			want[l.Target.String()]++
		}
	}
	ctx := context.Background()
	conn := f.conn(t)
	count := func(where string) map[string]int {
		t.Helper()
		got := map[string]int{}
		rows, err := conn.Query(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)), toUInt64(count())
			FROM calls FINAL WHERE `+where+` GROUP BY target_type, target_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var tg string
			var n uint64
			if err := rows.Scan(&tg, &n); err != nil {
				t.Fatal(err)
			}
			got[tg] = int(n)
		}
		return got
	}
	got := count("source = 'export'")
	for _, tg := range f.targets {
		if got[tg.String()] != want[tg.String()] || want[tg.String()] == 0 {
			t.Errorf("%s: %d legs from the export; want the %d the simulator made in those days", tg, got[tg.String()], want[tg.String()])
		}
	}
	if others := count("source != 'export'"); len(others) != 0 {
		t.Errorf("legs from elsewhere: %v", others)
	}

	code, out = f.runOut(t, f.env, "status")
	if code != 0 || !strings.Contains(out, "export)") {
		t.Errorf("status exited %d; want the days loaded from an export named so:\n%s", code, out)
	}
	if code, out = f.runOut(t, f.env, "backfill", "--via", "export", "--from", f.from(), "--to", lastDay.Format(time.DateOnly)); code != 0 ||
		exports.Load() != int64(len(f.targets)) {
		t.Errorf("a second backfill --via export exited %d, %d exports in all; want 0 and none more:\n%s", code, exports.Load(), lastLines(out, 20))
	}
	if code, out = f.runOut(t, f.env, "backfill", "--via", "list", "--force", "--from", f.from(), "--to", lastDay.Format(time.DateOnly)); code != 0 {
		t.Fatalf("backfill --via list --force exited %d:\n%s", code, lastLines(out, 20))
	}
	if left := count("source = 'export'"); len(left) != 0 {
		t.Errorf("after the list read, legs still from the export: %v", left)
	}
	got = count("day >= toDate('" + f.from() + "') AND day <= toDate('" + lastDay.Format(time.DateOnly) + "')")
	for _, tg := range f.targets {
		if got[tg.String()] != want[tg.String()] {
			t.Errorf("%s: %d legs after the list read; want %d, each once", tg, got[tg.String()], want[tg.String()])
		}
	}
	code, out = f.runOut(t, f.env, "backfill", "--via", "sideways", "--from", f.from())
	if code != 2 || !strings.Contains(out, `--via "sideways"`) {
		t.Errorf("backfill --via sideways exited %d; want 2, naming it:\n%s", code, lastLines(out, 5))
	}
	f.checkNoSecret(t)
}
