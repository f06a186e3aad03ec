package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// The nightly run of schedule, against the simulator, loads the call
// centers' dispositions exports after its re-load: their rows reach
// call_feedback (source export) and /metrics counts the exports loaded.
func TestTheNightlyRunLoadsTheDispositions(t *testing.T) {
	f := newFixture(t, 53, 2, nil, nil)
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	p := f.spawn(t, f.with("ETL_HTTP_ADDR="+addr, "ETL_HOURLY_SCHEDULE=0 0 1 1 *", "ETL_NIGHTLY_SCHEDULE=@every 5s",
		"ETL_NIGHTLY_LOOKBACK=96h", "RECONCILE_DAYS=0"), "schedule")
	conn := f.conn(t)
	ctx := context.Background()
	var rows uint64
	testkit.Eventually(t, 2*time.Minute, "dispositions from the export in call_feedback", func() bool {
		err := conn.QueryRow(ctx, `SELECT count() FROM call_feedback FINAL
			WHERE kind = 'disposition' AND source = 'export' AND target_type = 'callcenter'`).Scan(&rows)
		return err == nil && rows > 0
	})
	var body string
	testkit.Eventually(t, 30*time.Second, "the exports counted on /metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, `dialpad_etl_dispositions_exports_total{status="loaded",target="callcenter:`)
	})
	if strings.Contains(body, `status="failed"`) {
		t.Errorf("a dispositions export failed:\n%s", grepLines(body, "dialpad_etl_dispositions_"))
	}
	t.Logf("%d legs' dispositions from the exports", rows)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("schedule exited %d:\n%s", code, lastLines(p.out.String(), 20))
	}
	f.checkNoSecret(t, body)
}

// grepLines are the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The dispositions command loads the exports of the days asked for:
// a line per call center and department, and each leg's dispositions in
// call_feedback are those the simulator's dispositions event tells of
// it.
func TestTheDispositionsCommandLoadsTheExportsOfItsDays(t *testing.T) {
	f := newFixture(t, 54, 2, nil, nil)
	if code, out := f.runOut(t, f.env, f.backfill()...); code != 0 {
		t.Fatalf("backfill exited %d:\n%s", code, out)
	}
	// The day before the traffic's end: over, whenever the test runs.
	last := f.end.Truncate(24*time.Hour).AddDate(0, 0, -1)
	code, out := f.runOut(t, f.env, "dispositions", "--from", f.from(), "--to", last.Format(time.DateOnly))
	if code != 0 {
		t.Fatalf("dispositions exited %d:\n%s", code, out)
	}
	for _, tg := range f.targets {
		if tg.Type != "callcenter" && tg.Type != "department" {
			continue
		}
		if !strings.Contains(out, tg.String()) {
			t.Errorf("no line for %s:\n%s", tg, out)
		}
	}
	told := map[uint64][]string{}
	for _, e := range f.sim.Events(f.start, f.end.Add(24*time.Hour)) {
		if e.State != "dispositions" {
			continue
		}
		ev, err := wire.DecodeEvent(e.Claims)
		if err != nil {
			t.Fatal(err)
		}
		told[uint64(e.CallID)] = slices.Compact(slices.Sorted(slices.Values([]string(ev.Call.Dispositions))))
	}
	rows, err := f.conn(t).Query(context.Background(), `SELECT call_id, names FROM call_feedback FINAL
		WHERE kind = 'disposition' AND source = 'export'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id uint64
		var names []string
		if err := rows.Scan(&id, &names); err != nil {
			t.Fatal(err)
		}
		n++
		if want, ok := told[id]; !ok || !slices.Equal(names, want) {
			t.Errorf("leg %d: the export gave %q; its dispositions event %q (found %v)", id, names, want, ok)
		}
	}
	if n == 0 {
		t.Errorf("no dispositions stored from the exports:\n%s", out)
	}
}
