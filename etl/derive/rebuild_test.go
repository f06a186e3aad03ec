package derive_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/handbuilt"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

// After loads, re-loads that link a leg to another conversation or move a
// conversation's start into the month before, and changes of zone, the
// derived tables hold exactly what the call model computes from the legs
// as last read: no row outlives its legs.
func TestDerivedRowsEqualARecomputeFromScratch(t *testing.T) {
	ctx := context.Background()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	twin := chtest.NewTwin(t)
	utc := twin.Migrated(warehouse.Options{Location: time.UTC})
	if err := utc.Derived().CheckZone(ctx); err != nil {
		t.Fatalf("a new warehouse: %v", err)
	}
	covered := map[string]bool{}    // what the stages' intervals covered (checkIntervals)
	latest := map[int64]wire.Call{} // the last read of each leg
	var order []int64
	read := func(s *warehouse.Store, calls ...wire.Call) {
		t.Helper()
		for _, c := range calls {
			if _, ok := latest[int64(c.CallID)]; !ok {
				order = append(order, int64(c.CallID))
			}
			latest[int64(c.CallID)] = c
		}
		load(t, s, calls)
	}
	check := func(stage string, loc *time.Location) {
		t.Helper()
		var legs []transform.Leg
		for _, id := range order {
			c := latest[id]
			legs = append(legs, transform.NewLeg(dept, &c, loc, nil))
		}
		gotDays, err := transformtest.StoredAgentDays(ctx, utc.DB())
		if err != nil {
			t.Fatal(err)
		}
		if diff := transformtest.FirstDiff(gotDays, transformtest.AgentDays(legs)); diff != "" {
			t.Errorf("%s: agent_daily is not a recompute from scratch: %s", stage, diff)
		}
		gotConvs, err := transformtest.StoredConversations(ctx, utc.DB())
		if err != nil {
			t.Fatal(err)
		}
		if diff := transformtest.FirstDiff(gotConvs, transformtest.Seconds(transformtest.Conversations(legs, loc))); diff != "" {
			t.Errorf("%s: conversations is not a recompute from scratch: %s", stage, diff)
		}
		days, scratch := targetDays(t, utc.DB(), targetDayQuery), targetDays(t, utc.DB(), fromScratch)
		if diff := transformtest.FirstDiff(days, scratch); diff != "" || len(days) == 0 {
			t.Errorf("%s: target_daily is not a sum of conversations from scratch: %s", stage, diff)
		}
		checkIntervals(t, stage, utc.DB(), transformtest.Conversations(legs, loc), loc, covered)
	}

	read(utc, handBuiltLegs()...)
	check("first load", time.UTC)

	// A leg read first with only master_call_id, later with
	// entry_point_call_id: it moves from conversation 9001 to 9000.
	relinked := wire.Call{CallID: 9002, Direction: "inbound", Target: handbuilt.Agent(ana), MasterCallID: 9001,
		DateStarted: ms("2026-01-20T10:00:00.000Z"), DateConnected: ms("2026-01-20T10:00:05.000Z"), Duration: 40000}
	read(utc, relinked)
	relinked.EntryPointCallID = 9000
	read(utc, relinked)
	check("a leg linked to another conversation", time.UTC)

	// An agent leg on the 1st of February whose entry leg, read later,
	// started on the 31st of January: the conversation moves a month back.
	read(utc, wire.Call{CallID: 8002, Direction: "inbound", Target: handbuilt.Agent(ben), EntryPointCallID: 8001,
		EntryPointTarget: deptParty, DateStarted: ms("2026-02-01T00:00:10.000Z")})
	read(utc, wire.Call{CallID: 8001, Direction: "inbound", Target: deptParty, DateStarted: ms("2026-01-31T23:59:50.000Z")})
	check("a conversation whose start moved to the month before", time.UTC)

	// The KPI fixture's legs (their ids moved clear of the others'); then
	// B's entry leg read again with N5's number: A is no longer a repeat,
	// and I (N5, two days before) is.
	var kpiCalls []wire.Call
	for _, l := range kpiFixture() {
		c := l.call
		c.CallID += 100000
		if c.EntryPointCallID != 0 {
			c.EntryPointCallID += 100000
		}
		kpiCalls = append(kpiCalls, c)
	}
	read(utc, kpiCalls...)
	check("the KPI fixture", time.UTC)
	b := latest[101101]
	b.ExternalNumber = n5
	read(utc, b)
	check("a repeat whose number changed", time.UTC)

	// The zone changes: the job refuses to load until the days are
	// counted again, which needs nothing but ClickHouse.
	inChicago := twin.Store(warehouse.Options{Location: chicago})
	var ze *derive.ZoneError
	err = inChicago.Derived().CheckZone(ctx)
	if !errors.As(err, &ze) || ze.Recorded != "UTC" || !strings.Contains(err.Error(), "ETL_TIMEZONE") || !strings.Contains(err.Error(), "dialpad-etl rebuild") {
		t.Fatalf("zone changed to Chicago: %v, want an error naming ETL_TIMEZONE, UTC and dialpad-etl rebuild", err)
	}
	// A rebuild that stops part-way leaves neither zone loadable.
	stopped, cancel := context.WithCancel(ctx)
	if err := inChicago.Derived().Rebuild(stopped, func(derive.RebuildStep) { cancel() }); err == nil {
		t.Fatal("a rebuild cancelled after its first step succeeded")
	}
	for _, s := range []*warehouse.Store{utc, inChicago} {
		if err := s.Derived().CheckZone(ctx); !errors.As(err, &ze) || ze.Interrupted != "America/Chicago" || !strings.Contains(err.Error(), "again") {
			t.Errorf("%s after an interrupted rebuild: %v, want a refusal saying to rebuild again", s.DB().Location(), err)
		}
	}
	var steps []derive.RebuildStep
	if err := inChicago.Derived().Rebuild(ctx, func(s derive.RebuildStep) { steps = append(steps, s) }); err != nil {
		t.Fatal(err)
	}
	if len(steps) == 0 || steps[len(steps)-1].Done != steps[len(steps)-1].Total || steps[len(steps)-1].Stage != "aggregates" {
		t.Errorf("rebuild reported %+v, want steps ending with the last aggregate", steps)
	}
	check("rebuilt in America/Chicago", chicago)
	if err := inChicago.Derived().CheckZone(ctx); err != nil {
		t.Errorf("after the rebuild: %v", err)
	}
	if err := utc.Derived().CheckZone(ctx); !errors.As(err, &ze) || ze.Recorded != "America/Chicago" {
		t.Errorf("UTC after a rebuild in Chicago: %v, want a ZoneError naming America/Chicago", err)
	}

	// And back, with a load in between that re-reads a leg.
	read(inChicago, latest[1003])
	if err := utc.Derived().Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("rebuilt in UTC again", time.UTC)
	var legs uint64
	if err := utc.DB().QueryRow(ctx, "SELECT count() FROM calls FINAL").Scan(&legs); err != nil || int(legs) != len(order) {
		t.Errorf("calls FINAL holds %d legs, %v; want %d: a rebuild adds no leg", legs, err, len(order))
	}
	for _, c := range []string{"two intervals of a day", "a day without inbound conversations",
		"the last interval before midnight in UTC", "the last interval before midnight in America/Chicago"} {
		if !covered[c] {
			t.Errorf("no stage's intervals had %s: the fixtures no longer test it", c)
		}
	}
}

// checkIntervals checks target_intervals at a stage of
// TestDerivedRowsEqualARecomputeFromScratch: it holds what the reference
// conversations (convs, reckoned in Go from the legs, not read back) give,
// and each day's intervals sum to the day's target_daily row. It notes in
// covered the cases the stage's intervals hold.
func checkIntervals(t *testing.T, stage string, conn driver.Conn, convs []transformtest.Conversation, loc *time.Location,
	covered map[string]bool) {
	t.Helper()
	ctx := context.Background()
	want := transformtest.TargetIntervals(convs)
	got, err := transformtest.StoredTargetIntervals(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if diff := transformtest.FirstDiff(got, want); diff != "" || len(got) == 0 {
		t.Errorf("%s: target_intervals is not the reference's count of the conversations: %s", stage, diff)
	}
	days, err := transformtest.StoredTargetDayTotals(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range transformtest.DayTotalDiffs(days, got) {
		t.Errorf("%s: %s", stage, d)
	}
	perDay := map[string]int{}
	for _, iv := range want {
		perDay[iv.Day]++
		if perDay[iv.Day] == 2 {
			covered["two intervals of a day"] = true
		}
		// The interval ends at the reporting zone's midnight: its start
		// is on the day, its end on the next.
		end := iv.Start.Add(transformtest.IntervalLength).In(loc)
		if iv.Start.In(loc).Format(time.DateOnly) == iv.Day && end.Format(time.DateOnly) != iv.Day && end.Format("15:04") == "00:00" {
			covered["the last interval before midnight in "+loc.String()] = true
		}
	}
	for _, d := range days {
		if d.Offered == 0 {
			covered["a day without inbound conversations"] = true
		}
	}
}

// A warehouse from before the zone was recorded: its zone is recorded if
// every day fits it, and refused otherwise.
func TestZoneOfAnOlderWarehouse(t *testing.T) {
	ctx := context.Background()
	chicago, _ := time.LoadLocation("America/Chicago")
	twin := chtest.NewTwin(t)
	s := twin.Migrated(warehouse.Options{Location: chicago})
	load(t, s, handBuiltLegs()) // legs, and no zone on record
	var ze *derive.ZoneError
	if err := twin.Store(warehouse.Options{Location: time.UTC}).Derived().CheckZone(ctx); !errors.As(err, &ze) || ze.Recorded != "" {
		t.Errorf("UTC over Chicago's days: %v, want a ZoneError", err)
	}
	if err := s.Derived().CheckZone(ctx); err != nil {
		t.Errorf("Chicago over Chicago's days: %v", err)
	}
	if zone, ok, err := s.Derived().RecordedZone(ctx); err != nil || !ok || zone != "America/Chicago" {
		t.Errorf("recorded %q, %v, %v; want America/Chicago", zone, ok, err)
	}
}
