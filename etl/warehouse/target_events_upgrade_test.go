package warehouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// An upgrade from 015 seeds target_events from the live states kept,
// each target's newest event time, so that events that stopped before
// the upgrade are alerted on: on both engines.
func TestUpgradeFrom015SeedsWhenEventsLastArrived(t *testing.T) {
	ctx := context.Background()
	s := chtest.NewTwin(t).Store(warehouse.Options{Location: time.UTC}, warehouse.WithClock(dayAfter))
	if _, err := warehouse.MigrateUpTo(s, ctx, 15); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{
		`'callcenter', 7, 1, '2026-06-05 17:58:00'`,
		`'callcenter', 7, 2, '2026-06-05 18:02:30'`,
		`'department', 9, 3, '2026-06-06 09:00:00'`,
	} {
		if err := s.DB().Exec(ctx, `INSERT INTO live_calls (target_type, target_id, call_id, event_at, started_at, version)
			SELECT `+row+`, toDateTime('2026-06-05 17:50:00', 'UTC'), 1`); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := s.Migrate(ctx)
	if want := migrationsAfter(t, 15); err != nil || !slices.Equal(applied, want) {
		t.Fatalf("upgrade from 015 applied %v, %v; want %v", applied, err, want)
	}
	var got string
	if err := s.DB().QueryRow(ctx, `SELECT arrayStringConcat(groupArray(concat(target, ' ', toString(last))), ', ')
		FROM (SELECT concat(toString(target_type), ':', toString(target_id)) AS target, max(received_at) AS last
			FROM target_events GROUP BY target ORDER BY target)`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "callcenter:7 2026-06-05 18:02:30, department:9 2026-06-06 09:00:00"; got != want {
		t.Errorf("target_events after the upgrade: %s; want %s", got, want)
	}
}
