package grafana

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// reportingZone is the job's ETL_TIMEZONE in these tests and the
// dashboards' tz: not UTC, so that a panel grouping by UTC days shows.
const reportingZone = "America/Chicago"

// fixture is a warehouse loaded with 14 days of a simulated company, the
// same rows on ClickHouse 18.16 and on the current release.
type fixture struct {
	store      *warehouse.Store
	twin       *chtest.Twin
	native     driver.Conn // to 18.16 alone
	loc        *time.Location
	start, end time.Time // the simulated traffic: [start, end)
	targets    []dialpad.Target
	legs       map[dialpad.Target][]transform.Leg
}

// newFixture is an empty warehouse on both engines, migrated, reporting
// in reportingZone.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	loc, err := time.LoadLocation(reportingZone)
	if err != nil {
		t.Fatal(err)
	}
	twin := chtest.NewTwin(t)
	store := twin.Migrated(warehouse.Options{Location: loc})
	return &fixture{store: store, twin: twin, native: chtest.Conn(t, twin.Database), loc: loc}
}

// loadFixture loads the simulator's legs for every group through the
// decoder, the transform and the warehouse, as the job does, and records a
// few runs, high-water marks, rejected items and a reconciliation with
// Dialpad's export for the health dashboard.
func loadFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	// Relative to today, so that the runs and rejected items written now
	// fall in the health dashboard's ranges. The company keeps New York's
	// hours (the simulator's default); the dashboards show Chicago's days.
	end := time.Now().UTC().Truncate(24 * time.Hour)
	start := end.Add(-14 * 24 * time.Hour)
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	w := testkit.NewWorld(t, testkit.Options{Sim: simulator.Config{Seed: 1, Start: start, End: end, Location: newYork},
		Zone: reportingZone, ServiceLevelGoal: 80, Direct: true})
	store := w.Store
	f := &fixture{store: store, twin: w.Twin, native: chtest.Conn(t, w.Twin.Database), loc: w.Location, start: start, end: end,
		targets: w.Targets, legs: w.Legs}
	for _, target := range f.targets {
		legs := f.legs[target]
		now := time.Now().UTC()
		run := warehouse.Run{ID: "run-" + target.String(), Target: target, Kind: "backfill",
			Window: dialpad.Window{From: start, To: end}, Started: now.Add(-2 * time.Minute), Finished: now.Add(-time.Minute),
			Status: "succeeded", Windows: 14, Pages: int64(len(legs)/25 + 1), Requests: int64(len(legs)/25 + 3),
			Retries: 2, RateLimited: 1, Legs: int64(len(legs)), LegsChanged: int64(len(legs) / 2), Rejected: 1, Host: "test"}
		if err := store.RecordRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if err := store.AdvanceHighWater(ctx, target, end); err != nil {
			t.Fatal(err)
		}
		if err := store.WriteRejected(ctx, []warehouse.Rejected{{Target: target, Reason: "no call_id",
			Raw: []byte(`{"direction":"inbound","date_started":"x"}`), RunID: run.ID}}); err != nil {
			t.Fatal(err)
		}
		reconcileFixture(t, ctx, store, target, legs, now)
	}
	failed := warehouse.Run{ID: "run-failed", Target: f.targets[0], Kind: "incremental",
		Window: dialpad.Window{From: end, To: end.Add(time.Hour)}, Started: time.Now().UTC().Add(-30 * time.Second),
		Finished: time.Now().UTC(), Status: "failed", Requests: 5, Retries: 4, RateLimited: 4,
		Error: "list calls for " + f.targets[0].String() + ": page 1: 429 Too Many Requests", Host: "test"}
	if err := store.RecordRun(ctx, failed); err != nil {
		t.Fatal(err)
	}
	// The staffing of the loaded targets, as the nightly run makes it
	// (before the hand-worked call center, whose staffing is written by
	// hand).
	if err := store.Derived().RebuildStaffing(ctx); err != nil {
		t.Fatal(err)
	}
	// The Workforce dashboard's hand-worked call center and agents.
	workforceFixture(t, ctx, f)
	// A weekly report, sent at the second attempt.
	week := end.Truncate(24*time.Hour).AddDate(0, 0, -7)
	for i, status := range []string{"failed", "sent"} {
		if err := sends.NewStorage(store.DB()).RecordReportSend(ctx, sends.ReportSend{Kind: "weekly", From: week, To: week.AddDate(0, 0, 6),
			Attempt: i + 1, Status: status, Recipients: "manager@example.com", At: end.Add(-time.Duration(2-i) * time.Minute),
			Error: map[string]string{"failed": "451 try again later"}[status], Host: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// reconcileFixture records a reconciliation of target's days with
// Dialpad's export, checked at checked: every day matches but the last,
// where Dialpad's export lacks one of our legs.
func reconcileFixture(t *testing.T, ctx context.Context, store *warehouse.Store, target dialpad.Target, legs []transform.Leg, checked time.Time) {
	t.Helper()
	perDay := map[time.Time][]transform.Leg{}
	for _, l := range transformtest.Dedup(legs) {
		perDay[l.Day] = append(perDay[l.Day], l)
	}
	var days []reconcile.Reconciled
	for d, ls := range perDay {
		convs := map[uint64]bool{}
		for _, l := range ls {
			convs[l.ConversationID] = true
		}
		days = append(days, reconcile.Reconciled{Target: target, Day: d, RunID: "reconcile-" + target.String(), CheckedAt: checked,
			Status: "match", OurLegs: len(ls), DialpadLegs: len(ls), OurConvs: len(convs), DialpadConvs: len(convs),
			ExportID: "export-" + target.String(), ExportedAt: checked.Add(-time.Minute)})
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Day.Before(days[j].Day) })
	last := &days[len(days)-1]
	l := perDay[last.Day][0]
	last.Status, last.DialpadLegs, last.OnlyOurs = "differ", last.DialpadLegs-1, 1
	diffs := []reconcile.Difference{{Day: last.Day, CallID: l.CallID, Kind: "only_ours", Ours: l.Direction}}
	if err := reconcile.NewStorage(store.DB()).WriteReconciliation(ctx, days, diffs); err != nil {
		t.Fatal(err)
	}
}

// query runs sql as the plugin sends it: on 18.16, whose typed result it
// returns, and on the current release, which must accept it and return
// the same columns and rows (t fails, naming the query and both answers).
func (f *fixture) query(t *testing.T, ctx context.Context, what, sql string) (result, error) {
	t.Helper()
	if err := f.twin.Compare(ctx, sql); err != nil {
		t.Errorf("%s: %v", what, err)
	}
	return query(ctx, f.native, sql)
}
