// Package report builds a summary of a period for managers who do not
// open Grafana: per target, the "Department overview" dashboard's cards
// and KPIs, its trends per day (per hour over a day), busiest hours,
// agent leaderboard and callers to call back, the "Workforce"
// dashboard's calls offered and answered per interval and its agents'
// time, the "Reasons & satisfaction" dashboard's CSAT, its reasons and
// CSAT per agent, and the load's health from the "ETL health" dashboard; as
// self-contained HTML with its charts as PNG images, and as plain text.
//
// Every figure is a provisioned panel's own query (grafana.Files, found
// by dashboard uid and panel title), expanded as Grafana and the
// ClickHouse plugin would send it for that dashboard with the period as
// its time range, the target and the reporting zone picked, and every
// other variable at its default. A report and the dashboards therefore
// cannot disagree: change a panel and the report follows. Values are
// written by the panels' units (see format.go).
//
// It imports dialpad and grafana (the dashboards and their expansion),
// and reads the warehouse through the connection it is given.
package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Options say what to report on.
type Options struct {
	Conn     driver.Conn      // the warehouse's connection (warehouse.Store.DB())
	Targets  []dialpad.Target // a section each, in this order
	Location *time.Location   // the reporting zone: ETL_TIMEZONE, the dashboards' tz variable
	Period   Period
	Now      func() time.Time // nil: time.Now
}

// Report is what Build read: a section per target.
type Report struct {
	Period   Period
	Location *time.Location
	Built    time.Time // when it was read
	Sections []Section
}

// Section is one target's part of a report.
type Section struct {
	Target    dialpad.Target
	Name      string   // as the dashboards' target picker shows it, e.g. "Sales (department:123)"
	Cards     []Stat   // the overview's department cards
	KPIs      []Stat   // its contact-center KPIs
	Trends    []Series // its time series, a point per day (per hour over up to 4 days)
	Busiest   Table    // calls per weekday and hour
	Agents    Table    // the agent leaderboard
	CallBacks Table    // callers whose latest call in the period was abandoned, newest first
	Intervals Series   // calls offered and answered per interval (see IntervalOf)
	AgentTime Table    // the agents' time in each status, occupancy and utilization
	// Staffing is the agents to schedule per hour and weekday in the 7
	// days after the period, as forecast (reports of a week or longer).
	Staffing Table
	// Satisfaction is the Reasons & satisfaction dashboard's CSAT average,
	// response rate, satisfied share and responses.
	Satisfaction []Stat
	Reasons      Table // its reasons (labels and dispositions), most conversations first
	AgentCSAT    Table // its CSAT by agent, best average first
	Health       Health
}

// Stat is a stat panel: its title and the numbers it shows, the figure
// first, then any shown beside it (a goal, a time to recovery).
type Stat struct {
	Title  string
	Fields []Value
}

// Value is one value a panel shows: what its query returned and the text
// the panel shows for it.
type Value struct {
	Name string // its field's (column's) name
	Raw  any    // a float64, time.Time or string; nil for none (NULL, or no row)
	Text string
}

// Number is the value as a number, false when it is none or not a number.
func (v Value) Number() (float64, bool) {
	n, ok := v.Raw.(float64)
	return n, ok
}

// Series is a time series panel over the period's buckets.
type Series struct {
	Title string
	Unit  string        // the panel's, e.g. short or percentunit
	Step  time.Duration // time.Hour, or 24 hours: a day in the reporting zone; an interval's length
	Times []time.Time   // every bucket's start, in the reporting zone
	Lines []Line        // a value per bucket each; none where the query returned no row
}

// Line is one field of a series.
type Line struct {
	Name   string
	Points []Value
}

// Table is a table panel's visible columns and its rows.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]Value
}

// Cell returns the value of column name in row i (none when absent).
func (t Table) Cell(i int, name string) Value {
	for j, c := range t.Columns {
		if c == name && i < len(t.Rows) {
			return t.Rows[i][j]
		}
	}
	return Value{Name: name}
}

// Health is what the "ETL health" dashboard says of the target's load.
type Health struct {
	Load       Table     // "Last successful load per target": the target's row
	LoadedUpTo time.Time // its incremental high-water mark (zero: the incremental load has not run)
	// Loaded is "Days loaded per target": the target's rows, one per day
	// of the period (none when no load of it succeeded), whether loads
	// covered the whole day and which kinds did (Day, Loaded, Loaded by).
	Loaded Table
	// Missing are the period's days that no load which succeeded covers
	// wholly (dates: midnight UTC), oldest first.
	Missing []time.Time
	// Complete: every day of the period is loaded from the first one
	// loaded on (the e-mailed report waits for it).
	Complete    bool
	Days        int   // days in the period
	Reconciled  int   // of them, compared with Dialpad's records export
	NotMatching Table // "Ours vs Dialpad's, per day": the period's days whose latest comparison is not a match
}

// The panels a report reads, by title.
var (
	cardPanels = []string{"Inbound calls", "Outbound calls", "Missed calls", "Total calls"}
	kpiPanels  = []string{"Answered rate", "Average wait", "Average talk time", "Service level", "Abandonment rate",
		"Average speed of answer", "Average handle time", "Repeat-contact rate", "Abandoned callers recovered"}
	trendPanels        = []string{"Calls by direction", "Service level and abandonment"}
	satisfactionPanels = []string{"CSAT average", "CSAT response rate", "Satisfied share", "CSAT responses"}
)

const (
	busiestPanel   = "Busiest hours (calls per weekday and hour)"
	agentsPanel    = "Agent leaderboard"
	callBacksPanel = "Callers to call back"
	loadPanel      = "Last successful load per target"
	daysPanel      = "Days loaded per target"
	reconcilePanel = "Ours vs Dialpad's, per day"
	intervalsPanel = "Offered and answered per interval"
	agentTimePanel = "Agent time"
	staffingPanel  = "Agents to schedule in the 7 days after the range"
	reasonsPanel   = "Reasons"
	agentCSATPanel = "CSAT by agent"
)

// IntervalOf is the interval a report of days shows the Workforce
// dashboard's figures per (its interval variable): quarter hours for a
// day, half hours up to 3 days, hours beyond.
func IntervalOf(days int) time.Duration {
	switch {
	case days <= 1:
		return 15 * time.Minute
	case days <= 3:
		return 30 * time.Minute
	}
	return time.Hour
}

// Build reads the report: for each target, the panels' queries over the
// period in the reporting zone.
func Build(ctx context.Context, opt Options) (*Report, error) {
	switch {
	case opt.Conn == nil:
		return nil, errors.New("report: no ClickHouse connection")
	case opt.Location == nil:
		return nil, errors.New("report: no reporting zone")
	case opt.Location.String() == "Local" || opt.Location.String() == "":
		return nil, errors.New("report: the reporting zone must be named (ETL_TIMEZONE), as the dashboards' tz variable is")
	case len(opt.Targets) == 0:
		return nil, errors.New("report: no targets")
	}
	if err := opt.Period.Validate(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	boards, err := dashboards(OverviewUID, HealthUID, WorkforceUID, ReasonsUID)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := &Report{Period: opt.Period, Location: opt.Location, Built: now()}
	b := builder{conn: opt.Conn, loc: opt.Location, period: opt.Period, overview: boards[OverviewUID], health: boards[HealthUID],
		workforce: boards[WorkforceUID], reasons: boards[ReasonsUID], interval: IntervalOf(opt.Period.Days())}
	b.from, b.to = opt.Period.Range(opt.Location)
	// The overview's series are per day over more than 4 days, per hour
	// otherwise (their SQL decides, from $__fromTime and $__toTime);
	// $__interval_s is a bucket too.
	b.step = time.Hour
	if b.to.Unix()-b.from.Unix() > 4*86400 {
		b.step = 24 * time.Hour
	}
	for _, t := range opt.Targets {
		s, err := b.section(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("report of %s, %s: %w", t, opt.Period, err)
		}
		r.Sections = append(r.Sections, s)
	}
	return r, nil
}

// Staffing is, for each of targets, the Workforce dashboard's agents to
// schedule per hour and weekday in the 7 days after the reporting-zone
// day of end (the next 7 days, with end now), and the target's name as
// the dashboards show it.
func Staffing(ctx context.Context, conn driver.Conn, loc *time.Location, targets []dialpad.Target, end time.Time) ([]string, []Table, error) {
	boards, err := dashboards(WorkforceUID)
	if err != nil {
		return nil, nil, fmt.Errorf("staffing: %w", err)
	}
	b := builder{conn: conn, loc: loc, workforce: boards[WorkforceUID], from: end.Add(-7 * 24 * time.Hour), to: end,
		step: time.Hour, interval: time.Hour}
	var names []string
	var tables []Table
	for _, t := range targets {
		v, err := b.open(ctx, b.workforce, t, map[string]string{"interval": "60"})
		if err != nil {
			return nil, nil, fmt.Errorf("staffing of %s: %w", t, err)
		}
		tb, err := b.table(ctx, v, staffingPanel)
		if err != nil {
			return nil, nil, fmt.Errorf("staffing of %s: %w", t, err)
		}
		names, tables = append(names, v.label), append(tables, tb)
	}
	return names, tables, nil
}

// Subject is the report's title, e.g. "Dialpad weekly report, 2026-11-23
// to 2026-11-29".
func (r *Report) Subject() string {
	kind := r.Period.adjective()
	if kind != "" {
		kind += " "
	}
	return "Dialpad " + kind + "report, " + r.Period.String()
}
