package warehouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// A warehouse of the release before (migrations up to 014) with a
// reconciliation recorded gets each side's entry legs by class and the
// difference kind category, on both engines: the recorded day and its
// leg read as before, with zeros for the classes, and a category
// difference can be written beside them.
func TestUpgradeFrom014KeepsTheReconciliation(t *testing.T) {
	ctx := context.Background()
	s := chtest.NewTwin(t).Store(warehouse.Options{Location: time.UTC}, warehouse.WithClock(dayAfter))
	if _, err := warehouse.MigrateUpTo(s, ctx, 14); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Exec(ctx, `INSERT INTO reconciliation (target_type, target_id, day, run_id, checked_at, checked_ms,
		status, our_legs, dialpad_legs, only_dialpad, reloaded)
		SELECT 'department', 1, toDate('2026-06-01'), 'r1', toDateTime('2026-06-02 06:00:00', 'UTC'), 1780380000000,
			'match', 12, 12, 0, 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Exec(ctx, `INSERT INTO reconciliation_diffs (target_type, target_id, day, run_id, checked_at, call_id, kind)
		SELECT 'department', 1, toDate('2026-06-01'), 'r1', toDateTime('2026-06-02 06:00:00', 'UTC'), 101, 'reloaded'`); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	if want := migrationsAfter(t, 14); err != nil || !slices.Equal(applied, want) {
		t.Fatalf("upgrade from 014 applied %v, %v; want %v", applied, err, want)
	}
	if err := s.DB().Exec(ctx, `INSERT INTO reconciliation_diffs (target_type, target_id, day, run_id, checked_at, call_id, kind,
		ours, dialpad)
		SELECT 'department', 1, toDate('2026-06-01'), 'r2', toDateTime('2026-06-03 06:00:00', 'UTC'), 102, 'category',
			'missed', 'abandoned'`); err != nil {
		t.Fatal(err)
	}
	var status string
	var legs, reloaded uint32
	var classes uint64
	if err := s.DB().QueryRow(ctx, `SELECT toString(status), our_legs, reloaded,
		our_answered + our_voicemail + our_abandoned + our_missed + dialpad_answered + dialpad_voicemail + dialpad_abandoned + dialpad_missed
		FROM reconciliation`).Scan(&status, &legs, &reloaded, &classes); err != nil {
		t.Fatal(err)
	}
	if status != "match" || legs != 12 || reloaded != 1 || classes != 0 {
		t.Errorf("the recorded day after the upgrade: %s, %d legs, %d re-loaded, %d entry legs by class; want match, 12, 1, 0",
			status, legs, reloaded, classes)
	}
	var kinds string
	if err := s.DB().QueryRow(ctx, `SELECT arrayStringConcat(groupArray(concat(toString(call_id), ' ', toString(kind))), ', ')
		FROM (SELECT call_id, kind FROM reconciliation_diffs ORDER BY call_id)`).Scan(&kinds); err != nil {
		t.Fatal(err)
	}
	if kinds != "101 reloaded, 102 category" {
		t.Errorf("the differences after the upgrade: %s; want 101 reloaded, 102 category", kinds)
	}
}
