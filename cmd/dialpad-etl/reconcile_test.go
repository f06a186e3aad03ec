package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// The reconcile command over the binary: days loaded whole match
// Dialpad's export; legs deleted from the warehouse are reported (exit 1)
// when re-loads are off, and re-loaded (exit 0) when they are on; the
// export's signed link never sees the token, nor does anything printed
// or stored.
func TestReconcileCommand(t *testing.T) {
	f := newPastFixture(t, 31, 2, nil, func(c *simulator.Config) { c.ExportDelay = 200 * time.Millisecond })
	var mu sync.Mutex
	var downloads []string
	hook := func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sim/exports/") {
			mu.Lock()
			downloads = append(downloads, fmt.Sprintf("%s %v", r.URL, r.Header))
			mu.Unlock()
		}
	}
	f.hook.Store(&hook)
	if code := f.run(t, f.env, f.backfill()...); code != 0 {
		t.Fatalf("backfill exited %d", code)
	}
	// Dialpad counts the export's days back from its today: the
	// simulator's clock is now, as the binary's. The days are the fixed
	// ones before the traffic's last.
	f.setClock(time.Now())
	lastDay := f.end.AddDate(0, 0, -1).Format(time.DateOnly)
	const days = 2
	code, out := f.runOut(t, f.env, "reconcile", "--from", f.from(), "--to", lastDay)
	if code != 0 || strings.Count(out, " match ") != days*len(f.targets) {
		t.Fatalf("reconcile exited %d; want 0 and %d days matching:\n%s", code, days*len(f.targets), out)
	}

	// Three legs of the last day go missing.
	ctx := context.Background()
	conn := f.conn(t)
	tg := f.targets[0]
	var ids []uint64
	rows, err := conn.Query(ctx, `SELECT call_id FROM calls FINAL WHERE target_type = ? AND target_id = ? AND day = toDate(?)
		ORDER BY call_id LIMIT 3`, tg.Type, uint64(tg.ID), lastDay)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 3 {
		t.Fatalf("the last day has %d legs of %s; the test needs 3", len(ids), tg)
	}
	list := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ids)), ","), "[]")
	if err := conn.Exec(ctx, "ALTER TABLE calls DELETE WHERE call_id IN ("+list+")"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "the legs are deleted", func() bool {
		var n uint64
		_ = conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0").Scan(&n)
		return n == 0
	})

	code, out = f.runOut(t, f.with("RECONCILE_MAX_RELOAD_DAYS=0"), "reconcile", "--from", f.from(), "--to", lastDay)
	want := tg.String()
	if code != 1 || !strings.Contains(out, "3 only in Dialpad's, 0 only in ours") || !strings.Contains(out, "1 of ") {
		t.Errorf("reconcile without re-loads exited %d; want 1, with %s's day short of 3 legs:\n%s", code, want, out)
	}
	code, out = f.runOut(t, f.env, "reconcile", "--from", f.from(), "--to", lastDay)
	if code != 0 || !strings.Contains(out, "(3 legs found by loading the day again)") {
		t.Errorf("reconcile with re-loads exited %d; want 0, with the 3 legs re-loaded:\n%s", code, out)
	}
	var back uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM calls FINAL WHERE call_id IN ("+list+")").Scan(&back); err != nil || back != 3 {
		t.Errorf("%d of the 3 deleted legs are back (%v)", back, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(downloads) < 3*len(f.targets) {
		t.Errorf("%d export downloads; want one per target and run", len(downloads))
	}
	for _, d := range downloads {
		if strings.Contains(d, secretToken) || strings.Contains(d, "Authorization") {
			t.Errorf("an export's download carried the token: %s", d)
		}
	}
	if st := f.sim.Stats(); st.ExportDownloadsRefused != 0 {
		t.Errorf("the simulator refused %d downloads for carrying credentials", st.ExportDownloadsRefused)
	}
	var stored uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM reconciliation_diffs
		WHERE position(ours, ?) > 0 OR position(dialpad, ?) > 0`, secretToken, secretToken).Scan(&stored); err != nil || stored != 0 {
		t.Errorf("the token is in %d reconciliation differences (%v)", stored, err)
	}
	f.checkNoSecret(t)
}

// A differing day's line has each side's inbound entry legs by class;
// a matching day's line is as short as before.
func TestReconcileOutputShowsTheClassesOfADifferingDay(t *testing.T) {
	tg := dialpad.Target{Type: "department", ID: 1}
	day := time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	var out strings.Builder
	err := printReconciliation([]reconcile.Result{{Target: tg, Days: []reconcile.Reconciled{
		{Day: day.AddDate(0, 0, -1), Status: reconcile.StatusMatch, OurLegs: 3, DialpadLegs: 3, OurConvs: 2, DialpadConvs: 2,
			OurCategories: reconcile.Categories{Answered: 2}, DialpadCategories: reconcile.Categories{Answered: 2}},
		{Day: day, Status: reconcile.StatusDiffer, OurLegs: 9, DialpadLegs: 9, OurConvs: 5, DialpadConvs: 5, Disagreeing: 1,
			OurCategories:     reconcile.Categories{Answered: 3, Voicemail: 1, Missed: 1},
			DialpadCategories: reconcile.Categories{Answered: 3, Voicemail: 1, Abandoned: 1}},
	}}}, &out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 days") {
		t.Errorf("error %v; want 1 of 2 days not agreeing", err)
	}
	want := "department:1           2026-06-01  match   ours 3 legs, 2 conversations; Dialpad's 3 legs, 2 conversations\n" +
		"department:1           2026-06-02  differ  ours 9 legs, 5 conversations; Dialpad's 9 legs, 5 conversations: " +
		"0 only in Dialpad's, 0 only in ours, 1 disagreeing, 0 unreadable; entry legs ours: 3 answered, 1 voicemail, " +
		"0 abandoned, 1 missed; Dialpad's: 3 answered, 1 voicemail, 1 abandoned, 0 missed\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
