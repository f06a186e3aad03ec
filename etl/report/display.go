package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// This file is what the HTML and the text parts both show, so that they
// carry the same figures.

// maxCallBacks is how many callers to call back a report lists.
const maxCallBacks = 25

// busiestSlots is how many of the busiest hours a report names.
const busiestSlots = 5

// maxReasons is how many reasons (labels and dispositions) a report
// lists, and reasonColumns are the columns it shows of them.
const maxReasons = 10

var reasonColumns = []string{"Kind", "Reason", "Conversations", "Answered share", "CSAT average", "Satisfied share", "CSAT responses"}

// noStaffing is what a report says in place of an empty staffing
// forecast.
const noStaffing = "No forecast: the job makes it each night from the calls of past weeks (docs/counting.md, \"Staffing\")."

// noAgentTime is what a report says in place of an empty agent time
// table.
const noAgentTime = "No agent time in the period: the agents' status comes from Dialpad's agent-status events " +
	"(call-center agents; DIALPAD_WEBHOOK_SECRET and dialpad-etl webhooks setup)."

// Slot is one weekday's hour of the busiest-hours table.
type Slot struct {
	Weekday string
	Hour    int
	Calls   Value
}

// BusiestHours returns the n hours with the most calls, most first (ties
// in the table's order: weekday, then hour); hours without calls are left
// out.
func (s *Section) BusiestHours(n int) []Slot {
	var out []Slot
	for i := range s.Busiest.Rows {
		for h := range 24 {
			v := s.Busiest.Cell(i, fmt.Sprintf("%02d", h))
			if c, ok := v.Number(); ok && c > 0 {
				out = append(out, Slot{Weekday: s.Busiest.Cell(i, "Weekday").Text, Hour: h, Calls: v})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, _ := out[i].Calls.Number()
		b, _ := out[j].Calls.Number()
		return a > b
	})
	return out[:min(n, len(out))]
}

// String is the slot's hour, e.g. "Tue 10:00-11:00".
func (s Slot) String() string {
	return fmt.Sprintf("%s %02d:00-%02d:00", s.Weekday, s.Hour, (s.Hour+1)%24)
}

// trendTable is the series side by side: a row per bucket that has a
// value, a column per line (the goal left out: it is constant and shown
// with the service level).
type trendTable struct {
	Columns []string
	Rows    []trendRow
}

type trendRow struct {
	Label  string // the bucket: "Mon 2026-11-23" or "14:00"
	Values []Value
}

func (s *Section) trendTable() trendTable {
	var t trendTable
	type col struct{ series, line int }
	var cols []col
	for i, se := range s.Trends {
		for j, l := range se.Lines {
			if l.Name != "Goal" {
				t.Columns = append(t.Columns, heading(l.Name))
				cols = append(cols, col{i, j})
			}
		}
	}
	if len(s.Trends) == 0 {
		return t
	}
	first := s.Trends[0]
	for b, at := range first.Times {
		r := trendRow{Label: at.Format("Mon 2006-01-02")}
		if first.Step == time.Hour {
			r.Label = at.Format("15:04")
		}
		any := false
		for _, c := range cols {
			v := Value{}
			if se := s.Trends[c.series]; b < len(se.Times) && se.Times[b].Equal(at) {
				v = se.Lines[c.line].Points[b]
			}
			if v.Raw != nil {
				any = true
			}
			if v.Text == "" {
				v.Text = "-"
			}
			r.Values = append(r.Values, v)
		}
		if any || first.Step != time.Hour {
			t.Rows = append(t.Rows, r)
		}
	}
	return t
}

// heading is a field name as a column heading: "inbound" -> "Inbound".
func heading(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// callBacks is the first maxCallBacks callers to call back, and how many
// there are in all.
func (s *Section) callBacks() (Table, int) {
	t := s.CallBacks
	n := len(t.Rows)
	t.Rows = t.Rows[:min(n, maxCallBacks)]
	return t, n
}

// topReasons is the first maxReasons reasons, in reasonColumns, and how
// many there are in all.
func (s *Section) topReasons() (Table, int) {
	t := onlyColumns(s.Reasons, reasonColumns)
	n := len(t.Rows)
	t.Rows = t.Rows[:min(n, maxReasons)]
	return t, n
}

// onlyColumns is t with the columns of names that it has, in that order.
func onlyColumns(t Table, names []string) Table {
	out := Table{Title: t.Title}
	var keep []int
	for _, name := range names {
		if j := slices.Index(t.Columns, name); j >= 0 {
			out.Columns = append(out.Columns, name)
			keep = append(keep, j)
		}
	}
	for _, row := range t.Rows {
		r := make([]Value, len(keep))
		for k, j := range keep {
			r[k] = row[j]
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// withoutColumn is t without the column name.
func withoutColumn(t Table, name string) Table {
	out := Table{Title: t.Title}
	var keep []int
	for j, c := range t.Columns {
		if c != name {
			out.Columns = append(out.Columns, c)
			keep = append(keep, j)
		}
	}
	for _, row := range t.Rows {
		r := make([]Value, len(keep))
		for k, j := range keep {
			r[k] = row[j]
		}
		out.Rows = append(out.Rows, r)
	}
	return out
}

// healthLines say how complete the section's data is: the days loaded
// and by which loads, those missing, how far the incremental load has
// come, and how the period's days compare with Dialpad's records. warn
// marks the lines that need a look: days missing, days that differ.
func (s *Section) healthLines(loc *time.Location) (lines []string, warn []bool) {
	h := s.Health
	add := func(w bool, format string, a ...any) {
		lines, warn = append(lines, fmt.Sprintf(format, a...)), append(warn, w)
	}
	spans := s.loadedSpans()
	switch {
	case len(spans) == 0 && (h.LoadedUpTo.IsZero() || h.LoadedUpTo.Unix() <= 0):
		add(true, "Not loaded yet: no successful load of %s is recorded.", s.Target)
	case len(spans) == 0:
		add(true, "No day of the period is loaded: calls of every day are missing from this report.")
	case len(h.Missing) == 0:
		add(false, "Loaded: every day of the period (%s).", strings.Join(spans, "; "))
	default:
		add(false, "Loaded: %s.", strings.Join(spans, "; "))
	}
	if len(h.Missing) > 0 && len(spans) > 0 {
		add(true, "Not loaded: %s; calls of %s are missing from this report (a load failed or never ran: see the ETL health dashboard, and dialpad-etl backfill).",
			dayRanges(h.Missing), map[bool]string{true: "this day", false: "these days"}[len(h.Missing) == 1])
	}
	if h.LoadedUpTo.IsZero() || h.LoadedUpTo.Unix() <= 0 {
		if len(spans) > 0 {
			add(false, "The incremental load (dialpad-etl schedule) has not run yet: the days above were backfilled.")
		}
	} else {
		add(false, "Incremental load: every call that started before %s (%s) is loaded.", instant(h.LoadedUpTo, loc), loc)
		if last := h.Load.Cell(0, "Last success"); last.Raw != nil {
			add(false, "Last successful load: %s (%s ago).", last.Text, h.Load.Cell(0, "Age").Text)
		}
	}
	bad := len(h.NotMatching.Rows)
	switch {
	case h.Reconciled == 0:
		add(false, "No day of the period has been compared with Dialpad's records export yet.")
	case bad == 0:
		add(false, "Compared with Dialpad's records export: %d of %d days, all match.", h.Reconciled, h.Days)
	default:
		add(true, "Compared with Dialpad's records export: %d of %d days; %d %s not match:", h.Reconciled, h.Days, bad,
			map[bool]string{true: "does", false: "do"}[bad == 1])
	}
	return lines, warn
}

// loadedSpans are the period's loaded days as runs of consecutive days
// loaded by the same kinds of load, e.g. "2026-11-30 to 2026-12-04 by
// backfill".
func (s *Section) loadedSpans() []string {
	t := s.Health.Loaded
	var out []string
	var first, last time.Time
	var by string
	flush := func() {
		if !first.IsZero() {
			out = append(out, dayRange(first, last)+" by "+by)
		}
		first = time.Time{}
	}
	for i := range t.Rows {
		day, ok := t.Cell(i, "Day").Raw.(time.Time)
		if n, _ := t.Cell(i, "Loaded").Number(); !ok || n != 1 {
			flush()
			continue
		}
		kinds := t.Cell(i, "Loaded by").Text
		if first.IsZero() || kinds != by || day.Sub(last) > 36*time.Hour {
			flush()
			first, by = day, kinds
		}
		last = day
	}
	flush()
	return out
}

// dayRange is "2026-11-30", or "2026-11-30 to 2026-12-04".
func dayRange(first, last time.Time) string {
	if first.Format(time.DateOnly) == last.Format(time.DateOnly) {
		return first.Format(time.DateOnly)
	}
	return first.Format(time.DateOnly) + " to " + last.Format(time.DateOnly)
}

// dayRanges writes days (ascending dates) as ranges of consecutive days,
// e.g. "2026-12-01, 2026-12-03 to 2026-12-04".
func dayRanges(days []time.Time) string {
	var parts []string
	for i := 0; i < len(days); {
		j := i
		for j+1 < len(days) && days[j+1].Sub(days[j]) <= 36*time.Hour {
			j++
		}
		parts = append(parts, dayRange(days[i], days[j]))
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
