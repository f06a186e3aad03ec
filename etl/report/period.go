package report

import (
	"fmt"
	"time"
)

// Period is a report's days: From and To are dates (midnight UTC of the
// first and last day, both included) in the reporting zone.
type Period struct {
	Kind     string // "day", "week", "month" or "custom"
	From, To time.Time
}

// Kinds of period that LastPeriod knows.
var Kinds = []string{"day", "week", "month"}

// LastPeriod is the last complete period of kind before now's day in
// loc: day = yesterday; week = the Monday-to-Sunday week before the
// current one; month = the previous calendar month.
func LastPeriod(kind string, now time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		return Period{}, fmt.Errorf("last %s: no reporting zone", kind)
	}
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch kind {
	case "day":
		day := today.AddDate(0, 0, -1)
		return Period{Kind: kind, From: day, To: day}, nil
	case "week":
		monday := today.AddDate(0, 0, -(int(today.Weekday())+6)%7)
		return Period{Kind: kind, From: monday.AddDate(0, 0, -7), To: monday.AddDate(0, 0, -1)}, nil
	case "month":
		first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return Period{Kind: kind, From: first.AddDate(0, -1, 0), To: first.AddDate(0, 0, -1)}, nil
	}
	return Period{}, fmt.Errorf("period %q: want day, week or month", kind)
}

// Custom is the period of the days from first to last, both included
// (their dates are taken, whatever their zone).
func Custom(first, last time.Time) Period {
	date := func(t time.Time) time.Time {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return Period{Kind: "custom", From: date(first), To: date(last)}
}

// String is the period's days: "2026-11-29", or "2026-11-23 to
// 2026-11-29".
func (p Period) String() string {
	if p.From.Equal(p.To) {
		return p.From.Format(time.DateOnly)
	}
	return p.From.Format(time.DateOnly) + " to " + p.To.Format(time.DateOnly)
}

// Days is how many days the period has.
func (p Period) Days() int {
	return int(p.To.Sub(p.From).Hours()/24+0.5) + 1
}

// Validate checks that the period's kind is known and that it runs from
// a date to a later or equal one.
func (p Period) Validate() error {
	switch p.Kind {
	case "day", "week", "month", "custom":
	default:
		return fmt.Errorf("period kind %q: want day, week, month or custom", p.Kind)
	}
	for _, t := range []time.Time{p.From, p.To} {
		if t.Location() != time.UTC || t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
			return fmt.Errorf("period %s: From and To must be dates (midnight UTC), got %s", p, t.Format(time.RFC3339Nano))
		}
	}
	if p.To.Before(p.From) {
		return fmt.Errorf("period %s: its last day is before its first", p)
	}
	return nil
}

// Range is the period as the dashboards' time picker gives it in loc:
// from the first day's midnight to the last second before the midnight
// after the last day. (Grafana ends a range of whole days at 23:59:59.999,
// "now/d", and the plugin sends its whole seconds, so $__toTime is
// 23:59:59; the panels count a day from target_daily when it ends by
// $__toTime + 1.)
func (p Period) Range(loc *time.Location) (from, to time.Time) {
	from = time.Date(p.From.Year(), p.From.Month(), p.From.Day(), 0, 0, 0, 0, loc)
	end := time.Date(p.To.Year(), p.To.Month(), p.To.Day()+1, 0, 0, 0, 0, loc)
	return from, end.Add(-time.Second)
}

// adjective names a report of the period's kind.
func (p Period) adjective() string {
	switch p.Kind {
	case "day":
		return "daily"
	case "week":
		return "weekly"
	case "month":
		return "monthly"
	}
	return ""
}
