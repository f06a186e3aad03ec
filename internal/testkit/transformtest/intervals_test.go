package transformtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Conversations with their flags set by hand, counted into intervals:
// the figures below are worked out from docs/counting.md ("Intervals").
func TestTargetIntervalsCountInboundConversationsPerQuarterHour(t *testing.T) {
	dept := dialpad.Target{Type: "department", ID: 1}
	at := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	convs := []Conversation{
		// 14:59:59 and 14:45:00 share the 14:45 interval: one answered in
		// the threshold, one abandoned.
		{Target: dept, ID: 1, Direction: "inbound", StartedMs: at("2026-01-15T14:59:59Z"), Day: "2026-01-15",
			Answered: true, AnsweredInThreshold: true, WaitMs: 20000, HandleMs: 90000},
		{Target: dept, ID: 2, Direction: "inbound", StartedMs: at("2026-01-15T14:45:00Z"), Day: "2026-01-15", Abandoned: true},
		// 15:00:00 starts the next one: answered after the threshold.
		{Target: dept, ID: 3, Direction: "inbound", StartedMs: at("2026-01-15T15:00:00Z"), Day: "2026-01-15",
			Answered: true, WaitMs: 61000, HandleMs: 30000},
		// Outbound: never counted.
		{Target: dept, ID: 4, Direction: "outbound", StartedMs: at("2026-01-15T15:01:00Z"), Day: "2026-01-15",
			Answered: true, WaitMs: 5000, HandleMs: 10000},
		// 05:59 UTC is 23:59 of the 14th in Chicago: the interval's day is
		// the conversation's, not the UTC date.
		{Target: dept, ID: 5, Direction: "inbound", StartedMs: at("2026-01-15T05:59:00Z"), Day: "2026-01-14", ShortAbandoned: true},
	}
	quarter := func(s string) time.Time { return time.UnixMilli(at(s)).UTC() }
	want := []TargetInterval{
		{Target: dept, Day: "2026-01-14", Start: quarter("2026-01-15T05:45:00Z"), Offered: 1, ShortAbandoned: 1},
		{Target: dept, Day: "2026-01-15", Start: quarter("2026-01-15T14:45:00Z"), Offered: 2, Answered: 1, Abandoned: 1,
			AnsweredInThreshold: 1, TotalWaitMs: 20000, TotalHandleMs: 90000},
		{Target: dept, Day: "2026-01-15", Start: quarter("2026-01-15T15:00:00Z"), Offered: 1, Answered: 1,
			TotalWaitMs: 61000, TotalHandleMs: 30000},
	}
	got := TargetIntervals(convs)
	if diff := FirstDiff(got, want); diff != "" {
		t.Errorf("intervals: %s", diff)
	}

	// Their day totals against target days: the 15th agrees; the 16th has
	// outbound calls only (no interval, all zero); the 14th's row was
	// counted without its short abandon; the 13th has no row.
	days := []TargetInterval{
		{Target: dept, Day: "2026-01-14", Offered: 1},
		{Target: dept, Day: "2026-01-15", Offered: 3, Answered: 2, Abandoned: 1, AnsweredInThreshold: 1,
			TotalWaitMs: 81000, TotalHandleMs: 120000},
		{Target: dept, Day: "2026-01-16"},
	}
	stray := TargetInterval{Target: dept, Day: "2026-01-13", Start: quarter("2026-01-13T10:00:00Z"), Offered: 1}
	wantDiffs := []string{
		"department:1 2026-01-13: intervals of 1 inbound conversations on a day that target_daily does not have",
		"department:1 2026-01-14 short_abandoned: the intervals sum to 1, target_daily has 0",
	}
	if d := DayTotalDiffs(days, append(got, stray)); fmt.Sprint(d) != fmt.Sprint(wantDiffs) {
		t.Errorf("day totals:\n got %s\nwant %s", strings.Join(d, "\n     "), strings.Join(wantDiffs, "\n     "))
	}
	// A day without inbound conversations whose row counts one.
	days[2].Offered = 1
	if d := DayTotalDiffs(days[1:], got[1:]); len(d) != 1 || !strings.Contains(d[0], "2026-01-16 offered: the intervals sum to 0") {
		t.Errorf("a day without intervals whose row counts one inbound conversation: %v", d)
	}
}
