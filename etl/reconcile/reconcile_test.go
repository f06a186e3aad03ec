package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const token = "tok-SECRET-reconcile"

// world is a simulated Dialpad over HTTP whose clock stands early on the
// day after its traffic, a warehouse on both engines with that traffic
// loaded, and a reconciler of them.
type world struct {
	sim        *simulator.Sim
	store      *warehouse.Store
	twin       *chtest.Twin
	job        *load.Job
	targets    []dialpad.Target // those loaded and reconciled
	rec        *reconcile.Reconciler
	loc        *time.Location
	first      time.Time // the first and last day of traffic (dates)
	last       time.Time
	downloads  atomic.Int64
	mu         sync.Mutex
	downloadTo []string // what each download request carried: its URL and headers
}

// newWorld simulates the days from first to last in zone and loads them,
// its clock standing at 06:00 the day after.
func newWorld(t *testing.T, zone string, first, last time.Time, mod func(*simulator.Config)) *world {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
	return newWorldAt(t, loc, first, end, end.Add(6*time.Hour), "", mod)
}

// newWorldAt simulates the calls that start from first's midnight in loc
// until end, and loads those of the targets of type only (all when
// empty), with the clocks of the simulator, the client and the job
// standing at now, and the reconciler's starting there.
func newWorldAt(t *testing.T, loc *time.Location, first, end, now time.Time, only string, mod func(*simulator.Config)) *world {
	t.Helper()
	last := end.Add(-time.Nanosecond).In(loc)
	w := &world{loc: loc, first: first, last: time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC)}
	cfg := simulator.Config{Seed: 7, Start: time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc), End: end,
		CallsPerDay: 30, Token: token, ExportDelay: 150 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	countDownloads := func(sim http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/_sim/exports/") {
				w.downloads.Add(1)
				w.mu.Lock()
				w.downloadTo = append(w.downloadTo, fmt.Sprintf("%s %v", r.URL, r.Header))
				w.mu.Unlock()
			}
			sim.ServeHTTP(rw, r)
		})
	}
	tw := testkit.NewWorld(t, testkit.Options{Sim: cfg, Zone: loc.String(), Now: now, TargetType: only, Serve: countDownloads,
		Client: []dialpad.Option{dialpad.WithExportPolling(20*time.Millisecond, 3*time.Second)}})
	w.sim, w.store, w.twin, w.job, w.targets = tw.Sim, tw.Store, tw.Twin, tw.Job, tw.Targets
	// The reconciler's clock runs on from now, so that a later run is
	// later (each day's latest comparison is the one shown).
	began := time.Now()
	w.rec = &reconcile.Reconciler{Exports: tw.Client, Store: reconcile.NewStorage(w.store.DB()), Loads: w.job, Targets: w.targets, Location: loc,
		Now: func() time.Time { return now.Add(time.Since(began)) }}
	return w
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// truth is the simulator's legs of target t that started on day (a date
// in the world's zone), by call id.
func (w *world) truth(t *testing.T, tg dialpad.Target, day time.Time) map[uint64]bool {
	t.Helper()
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, w.loc)
	out := map[uint64]bool{}
	for _, raw := range w.sim.Legs(tg, from, from.AddDate(0, 0, 1)) {
		var c wire.Call
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		out[uint64(c.CallID)] = true
	}
	return out
}

// run reconciles every day of the world and returns the days by target
// and date.
func (w *world) run(t *testing.T) map[string]reconcile.Reconciled {
	t.Helper()
	out := map[string]reconcile.Reconciled{}
	for _, res := range w.rec.Run(context.Background(), w.first, w.last) {
		for _, d := range res.Days {
			out[res.Target.String()+" "+d.Day.Format(time.DateOnly)] = d
		}
		if res.Err != nil {
			t.Logf("%s: %v", res.Target, res.Err)
		}
	}
	return out
}

// diffs reads reconciliation_diffs of the latest run of each day: kind
// and call id, sorted.
func (w *world) diffs(t *testing.T) []string {
	t.Helper()
	rows, err := w.store.DB().Query(context.Background(), `SELECT toString(kind), call_id FROM reconciliation_diffs
		WHERE (target_type, target_id, day, run_id) IN
			(SELECT target_type, target_id, day, argMax(run_id, checked_ms) FROM reconciliation GROUP BY target_type, target_id, day)
		ORDER BY kind, call_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kind string
		var id uint64
		if err := rows.Scan(&kind, &id); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d", kind, id))
	}
	return out
}

// deleteLegs removes legs from calls and waits until they are gone.
func (w *world) deleteLegs(t *testing.T, ids []uint64) {
	t.Helper()
	list := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ids)), ","), "[]")
	w.mutate(t, "calls", "ALTER TABLE calls DELETE WHERE call_id IN ("+list+")")
}

// mutate runs the mutation alter of table and waits until it is done.
func (w *world) mutate(t *testing.T, table, alter string) {
	t.Helper()
	ctx := context.Background()
	if err := w.store.DB().Exec(ctx, alter); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, "the mutation of "+table, func() bool {
		var pending uint64
		if err := w.store.DB().QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = currentDatabase() AND table = ? AND is_done = 0`, table).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})
}

// storedCategories reads the latest reconciliation of tg's day: each
// side's entry legs by class, as stored.
func (w *world) storedCategories(t *testing.T, tg dialpad.Target, day time.Time) (ours, theirs reconcile.Categories) {
	t.Helper()
	var c [8]uint32
	if err := w.store.DB().QueryRow(context.Background(), `SELECT argMax(our_answered, checked_ms), argMax(our_voicemail, checked_ms),
			argMax(our_abandoned, checked_ms), argMax(our_missed, checked_ms), argMax(dialpad_answered, checked_ms),
			argMax(dialpad_voicemail, checked_ms), argMax(dialpad_abandoned, checked_ms), argMax(dialpad_missed, checked_ms)
		FROM reconciliation WHERE target_type = ? AND target_id = ? AND day = toDate(?)`,
		tg.Type, uint64(tg.ID), day.Format(time.DateOnly)).Scan(&c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7]); err != nil {
		t.Fatal(err)
	}
	return reconcile.Categories{Answered: int(c[0]), Voicemail: int(c[1]), Abandoned: int(c[2]), Missed: int(c[3])},
		reconcile.Categories{Answered: int(c[4]), Voicemail: int(c[5]), Abandoned: int(c[6]), Missed: int(c[7])}
}

// checkNoTokenInDownloads checks that the export's signed link was
// fetched, and never with the token.
func (w *world) checkNoTokenInDownloads(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.downloadTo) == 0 {
		t.Fatal("no export was downloaded")
	}
	for _, req := range w.downloadTo {
		if strings.Contains(req, token) || strings.Contains(req, "Authorization") {
			t.Errorf("an export's download carried the token or an Authorization header: %s", req)
		}
	}
	if st := w.sim.Stats(); st.ExportDownloadsRefused != 0 || st.ExportDownloads == 0 {
		t.Errorf("the simulator served %d downloads and refused %d for credentials; want some, none refused",
			st.ExportDownloads, st.ExportDownloadsRefused)
	}
}

// Every leg loaded from the list is in Dialpad's export and agrees: each
// day is a match with the simulator's count of legs on both sides, and no
// leg is listed as a difference. Dialpad's categories of the inbound
// entry legs are our conversations' classes: each day's counts, as
// stored, agree, and the days have entry legs of every class. The
// download never saw the token.
func TestFullMatchReportsNoDifferences(t *testing.T) {
	w := newWorld(t, "UTC", date(2026, 6, 1), date(2026, 6, 3), nil)
	got := w.run(t)
	if len(got) != 3*len(w.sim.Targets()) {
		t.Fatalf("%d target-days reconciled, want %d", len(got), 3*len(w.sim.Targets()))
	}
	var all reconcile.Categories
	for _, tg := range w.sim.Targets() {
		for d := w.first; !d.After(w.last); d = d.AddDate(0, 0, 1) {
			r := got[tg.String()+" "+d.Format(time.DateOnly)]
			want := len(w.truth(t, tg, d))
			if r.Status != reconcile.StatusMatch || r.OurLegs != want || r.DialpadLegs != want ||
				r.OnlyDialpad+r.OnlyOurs+r.Disagreeing+r.Unreadable+r.Reloaded != 0 || want == 0 {
				t.Errorf("%s %s: %+v; want a match of the %d legs of the day", tg, d.Format(time.DateOnly), r, want)
			}
			if r.OurConvs == 0 || r.OurConvs != r.DialpadConvs || r.OurConvs > r.OurLegs {
				t.Errorf("%s %s: %d conversations ours, %d Dialpad's; want the same, at most one per leg",
					tg, d.Format(time.DateOnly), r.OurConvs, r.DialpadConvs)
			}
			ours, theirs := w.storedCategories(t, tg, d)
			if ours != r.OurCategories || theirs != r.DialpadCategories || ours != theirs || ours.Answered == 0 {
				t.Errorf("%s %s: entry legs by class stored as ours %+v, Dialpad's %+v (run: %+v, %+v); want the same, some answered",
					tg, d.Format(time.DateOnly), ours, theirs, r.OurCategories, r.DialpadCategories)
			}
			all.Answered, all.Voicemail = all.Answered+ours.Answered, all.Voicemail+ours.Voicemail
			all.Abandoned, all.Missed = all.Abandoned+ours.Abandoned, all.Missed+ours.Missed
		}
	}
	if all.Voicemail == 0 || all.Abandoned == 0 || all.Missed == 0 {
		t.Errorf("the days' entry legs by class: %+v; the test needs some of each", all)
	}
	if d := w.diffs(t); len(d) != 0 {
		t.Errorf("differences recorded for a full match: %v", d)
	}
	if n, err := reconcile.NewStorage(w.store.DB()).DaysOutOfAgreement(context.Background(), date(2000, 1, 1)); err != nil || sum(n) != 0 {
		t.Errorf("days out of agreement %v, %v; want none", n, err)
	}
	w.checkNoTokenInDownloads(t)
}

// Legs deleted from the warehouse are what the export shows we missed:
// without re-loads they are reported by call id; with them the day is
// loaded again, the legs are back and the day matches, with the legs
// recorded as re-loaded. The traffic runs a day past the days
// reconciled (a call late on 2 June rings its agents after midnight), and
// the metric counts from 2 June.
func TestMissingLegsAreFoundReloadedThenMatch(t *testing.T) {
	w := newWorld(t, "UTC", date(2026, 6, 1), date(2026, 6, 3), nil)
	w.last, w.rec.GaugeDays = date(2026, 6, 2), 2
	tg := w.sim.Targets()[0]
	day := date(2026, 6, 2)
	var gone []uint64
	for id := range w.truth(t, tg, day) {
		if len(gone) < 4 {
			gone = append(gone, id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	w.deleteLegs(t, gone)
	key := tg.String() + " 2026-06-02"

	reg := prometheus.NewRegistry()
	w.rec.Metrics = reconcile.NewMetrics(reg)
	loads := w.rec.Loads
	w.rec.Loads = nil // report only
	r := w.run(t)[key]
	if v := gauge(t, reg, "dialpad_etl_reconcile_days_out_of_agreement", tg.String()); v != 1 {
		t.Errorf("dialpad_etl_reconcile_days_out_of_agreement{target=%q} is %v; want 1", tg, v)
	}
	if r.Status != reconcile.StatusDiffer || r.OnlyDialpad != len(gone) || r.OurLegs != r.DialpadLegs-len(gone) {
		t.Errorf("report only: %+v; want differ with %d legs only in Dialpad's", r, len(gone))
	}
	var want []string
	for _, id := range gone {
		want = append(want, fmt.Sprintf("only_dialpad %d", id))
	}
	if got := w.diffs(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("differences %v; want the deleted legs %v", got, want)
	}
	if n, _ := reconcile.NewStorage(w.store.DB()).DaysOutOfAgreement(context.Background(), date(2000, 1, 1)); n[tg] != 1 {
		t.Errorf("days out of agreement %v; want 1 for %s", n, tg)
	}

	w.rec.Loads = loads
	r = w.run(t)[key]
	if r.Status != reconcile.StatusMatch || r.Reloaded != len(gone) || r.OnlyDialpad != 0 || r.OurLegs != r.DialpadLegs {
		t.Errorf("with re-loads: %+v; want a match after re-loading the %d legs", r, len(gone))
	}
	want = want[:0]
	for _, id := range gone {
		want = append(want, fmt.Sprintf("reloaded %d", id))
	}
	if got := w.diffs(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("differences %v; want the re-loaded legs %v", got, want)
	}
	if n, _ := reconcile.NewStorage(w.store.DB()).DaysOutOfAgreement(context.Background(), date(2000, 1, 1)); n[tg] != 0 {
		t.Errorf("days out of agreement %v after the re-load; want 0", n)
	}
	if v := gauge(t, reg, "dialpad_etl_reconcile_days_out_of_agreement", tg.String()); v != 0 {
		t.Errorf("dialpad_etl_reconcile_days_out_of_agreement{target=%q} is %v after the re-load; want 0", tg, v)
	}
	var back uint64
	list := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(gone)), ","), "[]")
	if err := w.store.DB().QueryRow(context.Background(), "SELECT count() FROM calls FINAL WHERE call_id IN ("+list+")").
		Scan(&back); err != nil || back != uint64(len(gone)) {
		t.Errorf("%d of the %d deleted legs are back in calls (%v)", back, len(gone), err)
	}
}

// A leg Dialpad's export does not have is reported as only ours, and a
// stored leg whose talk time disagrees is reported as such.
func TestLegsOnlyInOursAndDisagreeingAreReported(t *testing.T) {
	w := newWorld(t, "UTC", date(2026, 6, 1), date(2026, 6, 1), nil)
	tg := w.sim.Targets()[0]
	ctx := context.Background()
	raws := w.sim.Legs(tg, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC))
	var extra, longer wire.Call
	if err := json.Unmarshal(raws[0], &extra); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raws[1], &longer); err != nil {
		t.Fatal(err)
	}
	extra.CallID, extra.EntryPointCallID, extra.MasterCallID = 999_000_001, 0, 0
	longer.Duration += 90_000 // 90 s more talk than Dialpad says
	legs := []transform.Leg{transform.NewLeg(tg, &extra, time.UTC, nil), transform.NewLeg(tg, &longer, time.UTC, nil)}
	if _, err := w.store.WriteLegs(ctx, legs); err != nil {
		t.Fatal(err)
	}
	r := w.run(t)[tg.String()+" 2026-06-01"]
	if r.Status != reconcile.StatusDiffer || r.OnlyOurs != 1 || r.Disagreeing != 1 || r.OnlyDialpad != 0 ||
		r.OurLegs != r.DialpadLegs+1 {
		t.Errorf("%+v; want differ: 1 leg only in ours, 1 disagreeing", r)
	}
	want := []string{"only_ours 999000001", fmt.Sprintf("duration %d", longer.CallID)} // in the order of kind's values
	if got := w.diffs(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("differences %v; want %v", got, want)
	}
	var ours, theirs string
	if err := w.store.DB().QueryRow(ctx, "SELECT ours, dialpad FROM reconciliation_diffs WHERE kind = 'duration'").
		Scan(&ours, &theirs); err != nil {
		t.Fatal(err)
	}
	if ours == theirs || ours == "" || theirs == "" {
		t.Errorf("the disagreeing talk time reads ours %q, Dialpad's %q; want both, different", ours, theirs)
	}
}

// An inbound entry leg that our conversation classes otherwise than
// Dialpad's export (abandoned where it says missed, or missed where it
// says abandoned) makes its day differ: the day's counts of each side, as
// stored, show it, and the leg is listed with each side's class. The day
// before, whose legs are classed alike, is a match. The traffic runs a
// day longer than the days reconciled, so that the agent legs of a call
// late on 2 June, which ring after midnight, are loaded too.
func TestAnEntryLegClassedDifferentlyIsReported(t *testing.T) {
	w := newWorld(t, "UTC", date(2026, 6, 1), date(2026, 6, 3), nil)
	w.last = date(2026, 6, 2)
	tg := w.sim.Targets()[0]
	ctx := context.Background()
	// The first unanswered entry leg of 2 June without voicemail.
	var id uint64
	var abandoned uint8
	if err := w.store.DB().QueryRow(ctx, `SELECT conversation_id, abandoned_before_agent FROM conversations FINAL
		WHERE target_type = ? AND target_id = ? AND day = toDate('2026-06-02') AND direction = 'inbound'
			AND abandoned_before_agent + missed_by_agents = 1
			AND conversation_id IN (SELECT call_id FROM calls FINAL WHERE target_type = ? AND target_id = ? AND is_entry_leg = 1)
		ORDER BY conversation_id LIMIT 1`,
		tg.Type, uint64(tg.ID), tg.Type, uint64(tg.ID)).Scan(&id, &abandoned); err != nil {
		t.Fatalf("%s's unanswered entry legs of 2 June without voicemail: %v (the test needs one)", tg, err)
	}
	theirs, ours := "missed", "abandoned"
	if abandoned == 1 {
		theirs, ours = ours, theirs
	}
	w.mutate(t, "conversations", fmt.Sprintf(`ALTER TABLE conversations
		UPDATE abandoned_before_agent = %d, missed_by_agents = %d WHERE conversation_id = %d`, 1-abandoned, abandoned, id))

	got := w.run(t)
	before := got[tg.String()+" 2026-06-01"]
	if before.Status != reconcile.StatusMatch || before.OurCategories != before.DialpadCategories {
		t.Errorf("1 June: %+v; want a match, its entry legs classed alike", before)
	}
	r := got[tg.String()+" 2026-06-02"]
	want := r.DialpadCategories
	if abandoned == 1 {
		want.Abandoned, want.Missed = want.Abandoned-1, want.Missed+1
	} else {
		want.Abandoned, want.Missed = want.Abandoned+1, want.Missed-1
	}
	if r.Status != reconcile.StatusDiffer || r.Disagreeing != 1 || r.OnlyDialpad+r.OnlyOurs+r.Unreadable != 0 ||
		r.OurCategories != want {
		t.Errorf("2 June: %+v; want differ: 1 leg disagreeing, ours %+v", r, want)
	}
	if o, d := w.storedCategories(t, tg, date(2026, 6, 2)); o != r.OurCategories || d != r.DialpadCategories {
		t.Errorf("2 June stored: ours %+v, Dialpad's %+v; want %+v, %+v", o, d, r.OurCategories, r.DialpadCategories)
	}
	if got := w.diffs(t); strings.Join(got, ",") != fmt.Sprintf("category %d", id) {
		t.Errorf("differences %v; want the entry leg %d", got, id)
	}
	var o, d string
	if err := w.store.DB().QueryRow(ctx, "SELECT ours, dialpad FROM reconciliation_diffs WHERE kind = 'category'").
		Scan(&o, &d); err != nil || o != ours || d != theirs {
		t.Errorf("the entry leg's classes read ours %q, Dialpad's %q (%v); want %s, %s", o, d, err, ours, theirs)
	}
}

// In a zone with DST, the export's naive local times put every leg on
// its local day, on the 25-hour day the clocks went back too: every day
// matches, with the simulator's count of legs of that local day. The
// reporting zone is London, where the clocks go back at 02:00 on
// 2026-10-25, and the company is in Tokyo, where that hour is mid-morning:
// legs start in the hour that happens twice.
func TestNaiveLocalTimesAcrossADSTChange(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, "Europe/London", date(2026, 10, 24), date(2026, 10, 26), func(c *simulator.Config) {
		c.CallsPerDay, c.Location = 120, tokyo
	})
	// 01:00 to 02:00 in London, twice: 00:00Z to 02:00Z.
	repeated := 0
	for _, tg := range w.sim.Targets() {
		repeated += len(w.sim.Legs(tg, time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)))
	}
	if repeated < 3 {
		t.Fatalf("%d legs start in the repeated hour: the test needs some", repeated)
	}
	got := w.run(t)
	for _, tg := range w.sim.Targets() {
		for d := w.first; !d.After(w.last); d = d.AddDate(0, 0, 1) {
			r := got[tg.String()+" "+d.Format(time.DateOnly)]
			want := len(w.truth(t, tg, d))
			if r.Status != reconcile.StatusMatch || r.DialpadLegs != want || r.OurLegs != want {
				t.Errorf("%s %s: %+v; want a match of the %d legs of the local day", tg, d.Format(time.DateOnly), r, want)
			}
		}
	}
	if d := w.diffs(t); len(d) != 0 {
		t.Errorf("differences across the DST change: %v", d)
	}
	t.Logf("%d legs started in the repeated hour", repeated)
}

// noReload is a re-load that brings nothing back.
type noReload struct{ days *int }

func (n noReload) Backfill(context.Context, time.Time, time.Time, []dialpad.Target, bool) []load.Result {
	*n.days++
	return nil
}

// A difference that survives the re-load is shown: the day is loaded
// again, the legs are still missing, and the day differs with them
// listed.
func TestADifferenceThatSurvivesTheReloadIsShown(t *testing.T) {
	w := newWorld(t, "UTC", date(2026, 6, 1), date(2026, 6, 1), nil)
	tg := w.sim.Targets()[0]
	var gone []uint64
	for id := range w.truth(t, tg, date(2026, 6, 1)) {
		if len(gone) < 2 {
			gone = append(gone, id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	w.deleteLegs(t, gone)
	reloads := 0
	w.rec.Loads = noReload{&reloads}
	r := w.run(t)[tg.String()+" 2026-06-01"]
	if reloads != 1 || r.Status != reconcile.StatusDiffer || r.OnlyDialpad != 2 || r.Reloaded != 0 {
		t.Errorf("%d re-loads, day %+v; want 1 re-load, then differ with the 2 legs still only in Dialpad's", reloads, r)
	}
	want := []string{fmt.Sprintf("only_dialpad %d", gone[0]), fmt.Sprintf("only_dialpad %d", gone[1])}
	if got := w.diffs(t); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("differences %v; want %v", got, want)
	}
}

// An export Dialpad fails, and one that never finishes, leave their days
// unreconciled and say so: not a match, counted out of agreement, with
// our side still counted.
func TestFailedAndUnfinishedExportsAreReportedAsSuch(t *testing.T) {
	for _, c := range []struct {
		name   string
		faults simulator.Faults
		status reconcile.Status
		err    error
	}{
		{"failed", simulator.Faults{ExportFailRate: 1}, reconcile.StatusFailed, dialpad.ErrExportFailed},
		{"never finishing", simulator.Faults{ExportSlowRate: 1, ExportSlowDelay: 24 * time.Hour}, reconcile.StatusTimeout, dialpad.ErrExportTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, "UTC", date(2026, 6, 1), date(2026, 6, 2), func(cfg *simulator.Config) { cfg.Faults = c.faults })
			results := w.rec.Run(context.Background(), w.first, w.last)
			for _, res := range results {
				if !errors.Is(res.Err, c.err) {
					t.Errorf("%s: error %v; want %v", res.Target, res.Err, c.err)
				}
				for _, d := range res.Days {
					if d.Status != c.status || d.OurLegs == 0 || d.DialpadLegs != 0 || d.Error == "" {
						t.Errorf("%s %s: %+v; want status %s with our legs counted and the reason", res.Target,
							d.Day.Format(time.DateOnly), d, c.status)
					}
				}
			}
			n, err := reconcile.NewStorage(w.store.DB()).DaysOutOfAgreement(context.Background(), date(2000, 1, 1))
			if err != nil || sum(n) != 2*len(w.sim.Targets()) {
				t.Errorf("days out of agreement %v, %v; want every day of every target", n, err)
			}
		})
	}
}

// gauge reads the value of metric name of target from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name, target string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "target" && l.GetValue() == target {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{target=%q}", name, target)
	return 0
}

func sum(m map[dialpad.Target]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
