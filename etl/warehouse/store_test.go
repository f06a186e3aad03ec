package warehouse_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/handbuilt"
	"github.com/dialpad-etl/dialpad-etl/schema"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// open returns a migrated store on a fresh database in zone loc, whose
// every statement runs on ClickHouse 18.16 and on the current release.
func open(t *testing.T, loc *time.Location) *warehouse.Store {
	t.Helper()
	return chtest.Migrated(t, warehouse.Options{Location: loc})
}

func TestMigrateFromEmptyThenNoOp(t *testing.T) {
	ctx := context.Background()
	addr, db := chtest.Database(t)
	// The database is created when missing.
	db += "_new"
	s, err := warehouse.Open(ctx, warehouse.Options{Addr: addr, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer s.DB().Exec(ctx, "DROP DATABASE IF EXISTS "+db)

	migs, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(migs) || len(migs) == 0 {
		t.Fatalf("first migrate applied %v, want all %d files", applied, len(migs))
	}
	for _, table := range []string{"calls", "agent_daily", "conversations", "agents", "etl_runs", "etl_state", "rejected_calls", "etl_windows"} {
		var n uint64
		if err := s.DB().QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", db, table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: found %d, %v", table, n, err)
		}
	}
	again, err := s.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", again, err)
	}
	var recorded uint64
	if err := s.DB().QueryRow(ctx, "SELECT count() FROM schema_migrations").Scan(&recorded); err != nil || int(recorded) != len(migs) {
		t.Fatalf("schema_migrations has %d rows, %v; want %d", recorded, err, len(migs))
	}
}

func TestMigrateConcurrentProcessesApplyEachOnce(t *testing.T) {
	ctx := context.Background()
	addr, db := chtest.Database(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	total := make([]int, 4)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := warehouse.Open(ctx, warehouse.Options{Addr: addr, Database: db})
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			applied, err := s.Migrate(ctx)
			total[i], errs[i] = len(applied), err
		}(i)
	}
	wg.Wait()
	sum := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		sum += total[i]
	}
	migs, _ := schema.Migrations()
	if sum != len(migs) {
		t.Fatalf("the processes applied %d migrations between them, want each of %d once", sum, len(migs))
	}
}

func TestOpenNamesAddressAndFixWhenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := warehouse.Open(ctx, warehouse.Options{Addr: "127.0.0.1:1", Database: "dialpad", Password: "s3cret-pw"})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"127.0.0.1:1", "CLICKHOUSE_ADDR", "running"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cret-pw") {
		t.Errorf("error reveals the password: %q", msg)
	}
}

func TestOpenNamesCredentialsWhenRefused(t *testing.T) {
	addr, db := chtest.Database(t)
	_, err := warehouse.Open(context.Background(), warehouse.Options{Addr: addr, Database: db, Username: "nobody", Password: "s3cret-pw"})
	if err == nil {
		t.Fatal("Open as an unknown user succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "CLICKHOUSE_PASSWORD") || !strings.Contains(msg, "nobody") || strings.Contains(msg, "s3cret-pw") {
		t.Errorf("error %q should name the user and CLICKHOUSE_PASSWORD, never the password", msg)
	}
}

func TestOpenRejectsBadDatabaseName(t *testing.T) {
	_, err := warehouse.Open(context.Background(), warehouse.Options{Addr: "127.0.0.1:1", Database: "x; DROP"})
	if err == nil || !strings.Contains(err.Error(), "CLICKHOUSE_DATABASE") {
		t.Fatalf("got %v, want an error naming CLICKHOUSE_DATABASE", err)
	}
}

// A migration that stopped part-way (its record not written) runs again
// from its first statement, on both engines, keeping every row: here
// every migration at once, over loaded tables.
func TestMigrationsRunAgainAfterACrash(t *testing.T) {
	ctx := context.Background()
	s := open(t, time.UTC)
	handbuilt.Load(t, s, handbuilt.Legs())
	before := counts(t, s)
	if err := s.DB().Exec(ctx, "DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	migs, _ := schema.Migrations()
	if applied, err := s.Migrate(ctx); err != nil || len(applied) != len(migs) {
		t.Fatalf("migrate again applied %v, %v; want all %d", applied, err, len(migs))
	}
	if after := counts(t, s); after != before {
		t.Errorf("rows before %v, after %v", before, after)
	}
}

func counts(t *testing.T, s *warehouse.Store) [3]uint64 {
	t.Helper()
	var n [3]uint64
	for i, table := range []string{"calls", "agent_daily", "conversations"} {
		if err := s.DB().QueryRow(context.Background(), "SELECT count() FROM "+table+" FINAL").Scan(&n[i]); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// Two processes read the same leg; the one that read it first writes it
// last. The later read is what stays.
func TestTheLaterReadOfALegWinsWhateverTheOrderOfWrites(t *testing.T) {
	ctx := context.Background()
	s := open(t, time.UTC)
	read := func(at time.Time, label string) transform.Leg {
		c := wire.Call{CallID: 42, Direction: "inbound", Target: handbuilt.DeptParty, DateStarted: handbuilt.Ms("2026-01-15T10:00:00.000Z"),
			Labels: []string{label}, Raw: []byte(`{"call_id":"42"}`)}
		l := transform.NewLeg(handbuilt.Dept, &c, time.UTC, nil)
		l.Read = at
		return l
	}
	first := time.Date(2026, 1, 15, 11, 0, 0, 0, time.UTC)
	if _, err := s.WriteLegs(ctx, []transform.Leg{read(first.Add(time.Minute), "later read")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteLegs(ctx, []transform.Leg{read(first, "earlier read, written last")}); err != nil {
		t.Fatal(err)
	}
	var labels []string
	if err := s.DB().QueryRow(ctx, "SELECT labels FROM calls FINAL WHERE call_id = 42").Scan(&labels); err != nil {
		t.Fatal(err)
	}
	if len(labels) != 1 || labels[0] != "later read" {
		t.Errorf("leg 42 has labels %v, want those of the later read", labels)
	}
}

// A load tells the legs it read again as they were from those that are
// new or changed, so a re-read day does not look like new data.
func TestWriteLegsCountsNewOrChangedLegs(t *testing.T) {
	ctx := context.Background()
	s := open(t, time.UTC)
	legs := func(calls []wire.Call) []transform.Leg {
		var out []transform.Leg
		for i := range calls {
			calls[i].Raw = []byte(fmt.Sprintf(`{"call_id":"%d","labels":%q}`, calls[i].CallID, calls[i].Labels))
			out = append(out, transform.NewLeg(handbuilt.Dept, &calls[i], time.UTC, nil))
		}
		return out
	}
	calls := handbuilt.Legs()
	for _, step := range []struct {
		what string
		mod  func([]wire.Call)
		want int
	}{
		{"first read", func([]wire.Call) {}, 13},
		{"read again as they were", func([]wire.Call) {}, 0},
		{"one leg relabelled", func(c []wire.Call) { c[4].Labels = []string{"vip"} }, 1},
	} {
		step.mod(calls)
		n, err := s.WriteLegs(ctx, legs(calls))
		if err != nil || n != step.want {
			t.Errorf("%s: %d new or changed, %v; want %d", step.what, n, err, step.want)
		}
	}
}

// An older warehouse (schema 002) with legs in more than 100 target-months
// and a row no leg accounts for: the upgrade runs on both engines (a copy
// of the derived tables in one INSERT would exceed the current release's
// 100 partitions per insert), and the derived tables are then exactly the
// legs' (each leg here is its own conversation and agent day).
func TestUpgradeOfALargeOlderWarehouse(t *testing.T) {
	ctx := context.Background()
	s := chtest.NewTwin(t).Store(warehouse.Options{Location: time.UTC})
	if _, err := warehouse.MigrateUpTo(s, ctx, 2); err != nil {
		t.Fatal(err)
	}
	// 3 targets x 40 months, one inbound answered leg each.
	if err := s.DB().Exec(ctx, `INSERT INTO calls (target_type, target_id, call_id, conversation_id, is_entry_leg,
		direction, status, agent_id, agent_name, started_at, started_ms, day, duration_ms, connected_ms, version)
		SELECT 'department', 1 + number % 3, number + 1, number + 1, 1, 'inbound', 'completed', 500 + number % 3, 'Ana',
			toDateTime('2023-01-15 12:00:00', 'UTC') + toIntervalMonth(intDiv(number, 3)) AS at,
			toInt64(toUInt32(at)) * 1000, toDate(at), 60000, toInt64(toUInt32(at)) * 1000 + 5000, 1
		FROM numbers(120)`); err != nil {
		t.Fatal(err)
	}
	// The older release's agent days: each counted twice (a leg that moved
	// day), and one no leg accounts for.
	if err := s.DB().Exec(ctx, `INSERT INTO agent_daily (target_type, target_id, day, agent_id, agent_name, total_calls, version)
		SELECT 'department', 1 + number % 3, toDate(toDateTime('2023-01-15 12:00:00', 'UTC') + toIntervalMonth(intDiv(number, 3))),
			500 + number % 3, 'Ana', 2, 1
		FROM numbers(120)`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Exec(ctx, `INSERT INTO agent_daily (target_type, target_id, day, agent_id, agent_name, total_calls, version)
		SELECT 'department', 1, toDate('2022-06-01'), 501, 'Ghost', 3, 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	for _, c := range []struct {
		table string
		want  uint64
	}{{"agent_daily", 120}, {"conversations", 120}} {
		var rows, total uint64
		if err := s.DB().QueryRow(ctx, "SELECT count(), uniqExact(target_id, toYYYYMM(day)) FROM "+c.table+" FINAL").
			Scan(&rows, &total); err != nil {
			t.Fatal(err)
		}
		if rows != c.want || total != c.want {
			t.Errorf("%s after the upgrade: %d rows in %d target-months, want %d in %d", c.table, rows, total, c.want, c.want)
		}
	}
	var ghost, calls uint64
	if err := s.DB().QueryRow(ctx, "SELECT countIf(agent_name = 'Ghost'), sum(total_calls) FROM agent_daily FINAL").
		Scan(&ghost, &calls); err != nil || ghost != 0 || calls != 120 {
		t.Errorf("after the upgrade agent_daily counts %d calls (%d of them Ghost's), %v; want the 120 legs", calls, ghost, err)
	}
}

// A warehouse of an earlier release (migrations up to 006) gets 007's
// columns and target_daily, 010's interval tables, and then a rebuild of
// its derived tables: its conversations have KPI flags, its target days
// and intervals are filled in, and its agents' stored statuses are
// counted per interval. (A row no leg accounts for shows that the rebuild
// ran.)
func TestUpgradeFrom006RebuildsTheDerivedTables(t *testing.T) {
	ctx := context.Background()
	s := chtest.NewTwin(t).Store(warehouse.Options{Location: time.UTC}, warehouse.WithClock(dayAfter))
	if _, err := warehouse.MigrateUpTo(s, ctx, 6); err != nil {
		t.Fatal(err)
	}
	// The previous release's legs: one conversation, abandoned after 20 s.
	if err := s.DB().Exec(ctx, `INSERT INTO calls (target_type, target_id, call_id, conversation_id, is_entry_leg,
		direction, status, started_at, started_ms, day, total_duration_ms, external_number, version)
		SELECT 'department', 1, 10, 10, 1, 'inbound', 'missed', toDateTime('2026-06-01 12:00:00', 'UTC'),
			1780315200000, toDate('2026-06-01'), 20000, '+15550000001', 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Exec(ctx, `INSERT INTO agent_daily (target_type, target_id, day, agent_id, agent_name, total_calls, version)
		SELECT 'department', 1, toDate('2026-06-01'), 501, 'Ghost', 3, 1`); err != nil {
		t.Fatal(err)
	}
	// An agent available from 12:05 to 12:20.
	if err := s.DB().Exec(ctx, `INSERT INTO agent_status (agent_id, agent_name, status, on_duty, call_center_ids,
		started_ms, started_at, ended_ms, ended_at, version)
		SELECT 7, 'Bea', 'available', 1, [3], 1780315500000, toDateTime(1780315500), 1780316400000, toDateTime(1780316400), 1`); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	want := migrationsAfter(t, 6)
	if err != nil || !slices.Equal(applied, want) {
		t.Fatalf("upgrade from 006 applied %v, %v; want %v", applied, err, want)
	}
	var ghosts, abandoned, days, intervals, available, onDuty, dayAvailable, dayOnDuty uint64
	if err := s.DB().QueryRow(ctx, `SELECT (SELECT count() FROM agent_daily FINAL WHERE agent_name = 'Ghost'),
		(SELECT sum(abandoned) FROM conversations FINAL), (SELECT sum(abandoned) FROM target_daily FINAL),
		(SELECT sum(abandoned) FROM target_intervals FINAL WHERE interval_start = toDateTime('2026-06-01 12:00:00', 'UTC')),
		(SELECT sum(available_ms) FROM agent_intervals FINAL), (SELECT sum(on_duty_ms) FROM agent_duty_intervals FINAL WHERE target_id = 3),
		(SELECT sum(available_ms) FROM agent_time_daily FINAL WHERE day = toDate('2026-06-01')),
		(SELECT sum(on_duty_ms) FROM agent_duty_daily FINAL WHERE target_id = 3 AND day = toDate('2026-06-01'))`).
		Scan(&ghosts, &abandoned, &days, &intervals, &available, &onDuty, &dayAvailable, &dayOnDuty); err != nil {
		t.Fatal(err)
	}
	if ghosts != 0 || abandoned != 1 || days != 1 || intervals != 1 {
		t.Errorf("after the upgrade from 006: %d Ghost rows, %d abandoned conversations, %d abandoned in target_daily, "+
			"%d in its 12:00 interval; want 0, 1, 1 and 1 (the derived tables rebuilt)", ghosts, abandoned, days, intervals)
	}
	if available != 900_000 || onDuty != 900_000 || dayAvailable != 900_000 || dayOnDuty != 900_000 {
		t.Errorf("after the upgrade from 006: %d ms available and %d on duty in agent intervals, %d and %d in their day; "+
			"want 900000 each (12:05 to 12:20)", available, onDuty, dayAvailable, dayOnDuty)
	}
	checkStaffedNoon(t, s, "after the upgrade from 006")
}

// dayAfter is the clock of the upgrade tests: the day after their legs'
// and statuses of 1 June 2026.
func dayAfter() time.Time { return time.Date(2026, 6, 2, 12, 0, 0, 0, time.UTC) }

// migrationsAfter are the names of the schema's migrations after version.
func migrationsAfter(t *testing.T, version uint32) []string {
	t.Helper()
	migs, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range migs {
		if m.Version > version {
			out = append(out, m.Name)
		}
	}
	return out
}

// checkStaffedNoon checks that the staffing holds what 1 June 2026's
// 12:00 interval needed: its one call offered.
func checkStaffedNoon(t *testing.T, s *warehouse.Store, stage string) {
	t.Helper()
	var offered float64
	var n uint64
	if err := s.DB().QueryRow(context.Background(), `SELECT sum(offered), count() FROM staffing FINAL
		WHERE target_id = 1 AND forecast = 0 AND interval_start = toDateTime('2026-06-01 12:00:00', 'UTC')`).Scan(&offered, &n); err != nil {
		t.Fatal(err)
	}
	if offered != 1 || n != 1 {
		t.Errorf("%s: staffing's 12:00 interval has %v calls offered in %d rows; want 1 in 1", stage, offered, n)
	}
}

// A warehouse of an earlier release (migrations up to 010) gets its
// derived tables rebuilt from the legs with the reasons and satisfaction
// (014 changed their shape: a row no leg accounts for goes), and then the
// staffing table (011), filled from the rebuilt intervals.
func TestUpgradeFrom010RebuildsThenFillsTheStaffing(t *testing.T) {
	ctx := context.Background()
	s := chtest.NewTwin(t).Store(warehouse.Options{Location: time.UTC}, warehouse.WithClock(dayAfter))
	if _, err := warehouse.MigrateUpTo(s, ctx, 10); err != nil {
		t.Fatal(err)
	}
	// The earlier release's legs: one call labelled billing, abandoned
	// after 20 s before any agent rang.
	if err := s.DB().Exec(ctx, `INSERT INTO calls (target_type, target_id, call_id, conversation_id, is_entry_leg,
		direction, status, started_at, started_ms, day, total_duration_ms, external_number, labels, version)
		SELECT 'department', 1, 10, 10, 1, 'inbound', 'missed', toDateTime('2026-06-01 12:00:00', 'UTC'),
			1780315200000, toDate('2026-06-01'), 20000, '+15550000001', ['billing'], 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Exec(ctx, `INSERT INTO agent_daily (target_type, target_id, day, agent_id, agent_name, total_calls, version)
		SELECT 'department', 1, toDate('2026-06-01'), 501, 'Ghost', 3, 1`); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	if want := migrationsAfter(t, 10); err != nil || !slices.Equal(applied, want) {
		t.Fatalf("upgrade from 010 applied %v, %v; want %v", applied, err, want)
	}
	var ghosts, before, dayBefore, billing uint64
	if err := s.DB().QueryRow(ctx, `SELECT (SELECT count() FROM agent_daily FINAL WHERE agent_name = 'Ghost'),
		(SELECT sum(abandoned_before_agent) FROM conversations FINAL), (SELECT sum(abandoned_before_agent) FROM target_daily FINAL),
		(SELECT sum(conversations) FROM reasons_daily FINAL WHERE kind = 'label' AND reason = 'billing')`).
		Scan(&ghosts, &before, &dayBefore, &billing); err != nil {
		t.Fatal(err)
	}
	if ghosts != 0 || before != 1 || dayBefore != 1 || billing != 1 {
		t.Errorf("after the upgrade from 010: %d Ghost rows, %d conversations and %d in target_daily abandoned before an "+
			"agent rang, %d billing in reasons_daily; want 0, 1, 1 and 1 (the derived tables rebuilt)", ghosts, before, dayBefore, billing)
	}
	checkStaffedNoon(t, s, "after the upgrade from 010")
}
