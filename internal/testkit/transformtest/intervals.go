package transformtest

import (
	"fmt"
	"sort"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// IntervalLength is the length of an interval (docs/counting.md,
// "Intervals"): they start at UTC quarter hours.
const IntervalLength = 15 * time.Minute

// TargetInterval is the inbound conversations of one target that started
// in one interval, counted as the target's day counts them; as a day's
// total (DayTotals, StoredTargetDayTotals) Start is the zero time.
type TargetInterval struct {
	Target dialpad.Target
	Day    string    // YYYY-MM-DD in the reporting zone: the conversations' day
	Start  time.Time // the UTC quarter hour the conversations started in
	// Offered is the inbound conversations (target_daily's inbound).
	Offered, Answered, Abandoned, ShortAbandoned, AnsweredInThreshold int
	// Of the answered conversations.
	TotalWaitMs, TotalHandleMs uint64
}

// TargetIntervals counts the inbound conversations per target, day and
// interval of their start, by their own KPI flags, sorted by target, day
// and start. Every interval it returns has at least one conversation.
func TargetIntervals(convs []Conversation) []TargetInterval {
	type key struct {
		target dialpad.Target
		day    string
		start  time.Time
	}
	at := map[key]*TargetInterval{}
	for _, c := range convs {
		if c.Direction != "inbound" {
			continue
		}
		k := key{c.Target, c.Day, time.UnixMilli(c.StartedMs).UTC().Truncate(IntervalLength)}
		iv := at[k]
		if iv == nil {
			iv = &TargetInterval{Target: k.target, Day: k.day, Start: k.start}
			at[k] = iv
		}
		iv.add(c)
	}
	out := make([]TargetInterval, 0, len(at))
	for _, iv := range at {
		out = append(out, *iv)
	}
	sortIntervals(out)
	return out
}

// add counts c, an inbound conversation, in iv.
func (iv *TargetInterval) add(c Conversation) {
	iv.Offered++
	if c.Answered {
		iv.Answered++
		iv.TotalWaitMs += c.WaitMs
		iv.TotalHandleMs += c.HandleMs
	}
	if c.Abandoned {
		iv.Abandoned++
	}
	if c.ShortAbandoned {
		iv.ShortAbandoned++
	}
	if c.AnsweredInThreshold {
		iv.AnsweredInThreshold++
	}
}

// DayTotals sums intervals per target and day, sorted by target and day:
// what target_daily holds of the same columns, for the days that have
// inbound conversations.
func DayTotals(intervals []TargetInterval) []TargetInterval {
	type key struct {
		target dialpad.Target
		day    string
	}
	at := map[key]*TargetInterval{}
	for _, iv := range intervals {
		k := key{iv.Target, iv.Day}
		d := at[k]
		if d == nil {
			d = &TargetInterval{Target: k.target, Day: k.day}
			at[k] = d
		}
		d.Offered += iv.Offered
		d.Answered += iv.Answered
		d.Abandoned += iv.Abandoned
		d.ShortAbandoned += iv.ShortAbandoned
		d.AnsweredInThreshold += iv.AnsweredInThreshold
		d.TotalWaitMs += iv.TotalWaitMs
		d.TotalHandleMs += iv.TotalHandleMs
	}
	out := make([]TargetInterval, 0, len(at))
	for _, d := range at {
		out = append(out, *d)
	}
	sortIntervals(out)
	return out
}

// DayTotalDiffs compares target days (StoredTargetDayTotals, one per day
// target_daily holds) with the day totals of intervals, column by column,
// and describes each disagreement. A day's intervals sum to its row; a
// day without inbound conversations (a day of outbound calls only) has no
// interval, so its sums are 0 and so must its row's columns be; and no
// interval lies on a day that target_daily does not have.
func DayTotalDiffs(days, intervals []TargetInterval) []string {
	type key struct {
		target dialpad.Target
		day    string
	}
	sums := map[key]TargetInterval{}
	for _, d := range DayTotals(intervals) {
		sums[key{d.Target, d.Day}] = d
	}
	var out []string
	for _, d := range days {
		k := key{d.Target, d.Day}
		got := sums[k] // zero: the day has no interval
		delete(sums, k)
		want := d.columns()
		for i, c := range got.columns() {
			if c.value != want[i].value {
				out = append(out, fmt.Sprintf("%s %s %s: the intervals sum to %d, target_daily has %d",
					d.Target, d.Day, c.name, c.value, want[i].value))
			}
		}
	}
	for _, d := range sums {
		out = append(out, fmt.Sprintf("%s %s: intervals of %d inbound conversations on a day that target_daily does not have",
			d.Target, d.Day, d.Offered))
	}
	sort.Strings(out)
	return out
}

type column struct {
	name  string
	value uint64
}

// columns are iv's counts, named as target_intervals names them.
func (iv TargetInterval) columns() []column {
	return []column{
		{"offered", uint64(iv.Offered)},
		{"answered", uint64(iv.Answered)},
		{"abandoned", uint64(iv.Abandoned)},
		{"short_abandoned", uint64(iv.ShortAbandoned)},
		{"answered_in_threshold", uint64(iv.AnsweredInThreshold)},
		{"total_wait_ms", iv.TotalWaitMs},
		{"total_handle_ms", iv.TotalHandleMs},
	}
}

func sortIntervals(ivs []TargetInterval) {
	sort.Slice(ivs, func(i, j int) bool {
		a, b := ivs[i], ivs[j]
		if a.Target != b.Target {
			return a.Target.String() < b.Target.String()
		}
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		return a.Start.Before(b.Start)
	})
}
