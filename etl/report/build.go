package report

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

// builder reads the sections of one report.
type builder struct {
	conn                        driver.Conn
	loc                         *time.Location
	period                      Period
	overview, health, workforce *expand.Dashboard
	reasons                     *expand.Dashboard
	from, to                    time.Time     // the dashboards' range
	step                        time.Duration // of the series
	interval                    time.Duration // of the Workforce dashboard's series: 15, 30 or 60 minutes
}

// open opens d for target t over the report's range, with the variables
// of set as it says.
func (b *builder) open(ctx context.Context, d *expand.Dashboard, t dialpad.Target, set map[string]string) (*view, error) {
	return open(ctx, b.conn, d, t, b.loc.String(), b.from, b.to, int64(b.step/time.Second), set)
}

func (b *builder) section(ctx context.Context, t dialpad.Target) (Section, error) {
	s := Section{Target: t}
	v, err := b.open(ctx, b.overview, t, nil)
	if err != nil {
		return s, err
	}
	s.Name = v.label
	for _, title := range cardPanels {
		st, err := b.stat(ctx, v, title)
		if err != nil {
			return s, err
		}
		s.Cards = append(s.Cards, st)
	}
	for _, title := range kpiPanels {
		st, err := b.stat(ctx, v, title)
		if err != nil {
			return s, err
		}
		s.KPIs = append(s.KPIs, st)
	}
	for _, title := range trendPanels {
		se, err := b.series(ctx, v, title, b.step, b.buckets())
		if err != nil {
			return s, err
		}
		s.Trends = append(s.Trends, se)
	}
	for _, tb := range []struct {
		title string
		dst   *Table
	}{{busiestPanel, &s.Busiest}, {agentsPanel, &s.Agents}, {callBacksPanel, &s.CallBacks}} {
		if *tb.dst, err = b.table(ctx, v, tb.title); err != nil {
			return s, err
		}
	}
	if err := b.workforceOf(ctx, t, &s); err != nil {
		return s, err
	}
	if err := b.reasonsOf(ctx, t, &s); err != nil {
		return s, err
	}
	if s.Health, err = b.loadHealth(ctx, t); err != nil {
		return s, err
	}
	return s, nil
}

// workforceOf reads the Workforce dashboard's calls offered and answered
// per interval and its agents' time into s, with the dashboard's
// interval variable at the report's interval.
func (b *builder) workforceOf(ctx context.Context, t dialpad.Target, s *Section) error {
	minutes := strconv.Itoa(int(b.interval / time.Minute))
	v, err := b.open(ctx, b.workforce, t, map[string]string{"interval": minutes})
	if err != nil {
		return err
	}
	if s.Intervals, err = b.series(ctx, v, intervalsPanel, b.interval, b.every(b.interval)); err != nil {
		return err
	}
	if s.AgentTime, err = b.table(ctx, v, agentTimePanel); err != nil {
		return err
	}
	// A week's report or longer (shown per hour) looks at the week after.
	if b.interval == time.Hour && b.period.Days() >= 7 {
		s.Staffing, err = b.table(ctx, v, staffingPanel)
		s.Staffing.Title = "Next week's staffing"
	}
	return err
}

// reasonsOf reads the Reasons & satisfaction dashboard's CSAT, reasons
// and CSAT by agent into s.
func (b *builder) reasonsOf(ctx context.Context, t dialpad.Target, s *Section) error {
	v, err := b.open(ctx, b.reasons, t, nil)
	if err != nil {
		return err
	}
	for _, title := range satisfactionPanels {
		st, err := b.stat(ctx, v, title)
		if err != nil {
			return err
		}
		s.Satisfaction = append(s.Satisfaction, st)
	}
	if s.Reasons, err = b.table(ctx, v, reasonsPanel); err != nil {
		return err
	}
	s.AgentCSAT, err = b.table(ctx, v, agentCSATPanel)
	return err
}

// stat reads a stat panel: its last row's visible fields.
func (b *builder) stat(ctx context.Context, v *view, title string) (Stat, error) {
	p, f, err := v.panel(ctx, title)
	if err != nil {
		return Stat{}, err
	}
	st := Stat{Title: title}
	for j, name := range f.cols {
		fd := fieldOf(p, name)
		if fd.hidden {
			continue
		}
		var raw any
		if n := len(f.rows); n > 0 {
			raw = f.rows[n-1][j]
		}
		text := fd.show(raw, f.types[j], b.loc)
		if raw == nil && len(st.Fields) > 0 {
			text = "-" // the panel's noValue speaks of its figure
		}
		st.Fields = append(st.Fields, Value{Name: name, Raw: raw, Text: text})
	}
	return st, nil
}

// table reads a table panel's visible columns.
func (b *builder) table(ctx context.Context, v *view, title string) (Table, error) {
	p, f, err := v.panel(ctx, title)
	if err != nil {
		return Table{}, err
	}
	return b.tableOf(p, f, func(int) bool { return true }), nil
}

// tableOf is f as panel p shows it, the rows keep chooses.
func (b *builder) tableOf(p expand.Panel, f frame, keep func(row int) bool) Table {
	t := Table{Title: p.Title}
	var cols []int
	var fields []field
	for j, name := range f.cols {
		if fd := fieldOf(p, name); !fd.hidden {
			t.Columns = append(t.Columns, name)
			cols, fields = append(cols, j), append(fields, fd)
		}
	}
	for i, row := range f.rows {
		if !keep(i) {
			continue
		}
		out := make([]Value, len(cols))
		for k, j := range cols {
			out[k] = Value{Name: f.cols[j], Raw: row[j], Text: fields[k].show(row[j], f.types[j], b.loc)}
		}
		t.Rows = append(t.Rows, out)
	}
	return t
}

// series reads a time series panel into buckets of step: its "time"
// column places a row, each other column is a line.
func (b *builder) series(ctx context.Context, v *view, title string, step time.Duration, buckets []time.Time) (Series, error) {
	p, f, err := v.panel(ctx, title)
	if err != nil {
		return Series{}, err
	}
	se := Series{Title: title, Unit: p.FieldConfig.Defaults.Unit, Step: step}
	at := map[int64]int{} // bucket start (Unix) -> row
	for i := range f.rows {
		if t, ok := f.time(i, "time"); ok {
			at[t.Unix()] = i
		}
	}
	seen := map[int64]bool{}
	for _, t := range buckets {
		se.Times, seen[t.Unix()] = append(se.Times, t), true
	}
	for u := range at { // a row off the buckets is shown, not dropped
		if !seen[u] {
			se.Times = append(se.Times, time.Unix(u, 0).In(b.loc))
		}
	}
	sort.Slice(se.Times, func(i, j int) bool { return se.Times[i].Before(se.Times[j]) })
	for j, name := range f.cols {
		fd := fieldOf(p, name)
		if name == "time" || fd.hidden {
			continue
		}
		l := Line{Name: name}
		for _, t := range se.Times {
			val := Value{Name: name, Text: fd.noValue}
			if i, ok := at[t.Unix()]; ok {
				val.Raw = f.rows[i][j]
				val.Text = fd.show(val.Raw, f.types[j], b.loc)
			}
			l.Points = append(l.Points, val)
		}
		se.Lines = append(se.Lines, l)
	}
	return se, nil
}

// buckets are the starts of the period's days, or hours, in the zone.
func (b *builder) buckets() []time.Time {
	if b.step == time.Hour {
		return b.every(time.Hour)
	}
	var out []time.Time
	for d := range b.period.Days() {
		out = append(out, time.Date(b.from.Year(), b.from.Month(), b.from.Day()+d, 0, 0, 0, 0, b.loc))
	}
	return out
}

// every is the starts of the period's intervals of step (an hour or
// less), from its first midnight: each hour of the zone, and its parts.
func (b *builder) every(step time.Duration) []time.Time {
	var out []time.Time
	for t := b.from; !t.After(b.to); t = t.Add(step) {
		out = append(out, t)
	}
	return out
}

// loadHealth reads the "ETL health" dashboard for target t: the
// incremental load's mark, the period's days loaded and not, and those
// that do not match Dialpad's records export.
func (b *builder) loadHealth(ctx context.Context, t dialpad.Target) (Health, error) {
	h := Health{Days: b.period.Days()}
	v, err := b.open(ctx, b.health, t, nil)
	if err != nil {
		return h, err
	}
	p, f, err := v.panel(ctx, loadPanel)
	if err != nil {
		return h, err
	}
	h.Load = b.tableOf(p, f, func(i int) bool { return f.text(i, "Target") == t.String() })
	for i := range f.rows {
		if f.text(i, "Target") == t.String() {
			h.LoadedUpTo, _ = f.time(i, "Loaded up to")
		}
	}
	// A day is loaded when a load that succeeded covered it: a backfill,
	// a nightly re-load, or the incremental loads up to their mark.
	p, f, err = v.panel(ctx, daysPanel)
	if err != nil {
		return h, err
	}
	mine := func(i int) bool { return f.text(i, "Target") == t.String() }
	h.Loaded = b.tableOf(p, f, mine)
	loaded := map[string]bool{}
	for i := range f.rows {
		if n, _ := f.number(i, "Loaded"); mine(i) && n == 1 {
			if day, ok := f.time(i, "Day"); ok {
				loaded[day.Format(time.DateOnly)] = true
			}
		}
	}
	// Complete once no day is missing after the first one loaded: days at
	// the period's start that no load covered (before the warehouse's
	// start, ETL_START) will not come, and are only flagged.
	seen := false
	h.Complete = true
	for d := range b.period.Days() {
		day := b.period.From.AddDate(0, 0, d)
		if loaded[day.Format(time.DateOnly)] {
			seen = true
			continue
		}
		h.Missing = append(h.Missing, day)
		if seen {
			h.Complete = false
		}
	}
	h.Complete = h.Complete && seen
	p, f, err = v.panel(ctx, reconcilePanel)
	if err != nil {
		return h, err
	}
	for i := range f.rows {
		if mine(i) {
			h.Reconciled++
		}
	}
	h.NotMatching = b.tableOf(p, f, func(i int) bool { return mine(i) && f.text(i, "Status") != "match" })
	return h, nil
}
