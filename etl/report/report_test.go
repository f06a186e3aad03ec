package report_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/report"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

// The overview's stat panels a report shows, as the dashboard titles them.
var statPanels = []string{"Inbound calls", "Outbound calls", "Missed calls", "Total calls", "Answered rate", "Average wait",
	"Average talk time", "Service level", "Abandonment rate", "Average speed of answer", "Average handle time",
	"Repeat-contact rate", "Abandoned callers recovered"}

// TestReports builds reports over one loaded world (loading it takes the
// most time).
func TestReports(t *testing.T) {
	w := newWorld(t)
	t.Run("a week shows the dashboards' figures", func(t *testing.T) { testWeek(t, w) })
	t.Run("a day is per hour", func(t *testing.T) { testDay(t, w) })
	t.Run("a period past the load says so", func(t *testing.T) { testPastTheLoad(t, w) })
}

func testWeek(t *testing.T, w *world) {
	ctx := context.Background()
	p, err := report.LastPeriod("week", w.Now, w.Location)
	if err != nil {
		t.Fatal(err)
	}
	opt := report.Options{Conn: w.Store.DB(), Targets: w.Targets, Location: w.Location, Period: p, Now: func() time.Time { return w.Now }}
	r, err := report.Build(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Timed on 18.16 alone: the twin runs every statement on both engines.
	opt.Conn = chtest.Conn(t, w.Twin.Database)
	began := time.Now()
	if _, err := report.Build(ctx, opt); err != nil {
		t.Fatal(err)
	}
	t.Logf("Build of a week of %d targets on ClickHouse 18.16: %s", len(w.Targets), time.Since(began).Round(time.Millisecond))

	// The dashboards' range of Monday 3 to Sunday 9 March in Chicago, as
	// Grafana's time picker gives it (now/d ends at 23:59:59).
	from := time.Date(2025, 3, 3, 0, 0, 0, 0, w.Location)
	to := time.Date(2025, 3, 10, 0, 0, 0, 0, w.Location).Add(-time.Second)
	if len(r.Sections) != len(w.Targets) {
		t.Fatalf("%d sections, want one per target (%d)", len(r.Sections), len(w.Targets))
	}
	for i, s := range r.Sections {
		tg := w.Targets[i]
		if s.Target != tg || !strings.Contains(s.Name, tg.String()) {
			t.Errorf("section %d is %s %q, want %s", i, s.Target, s.Name, tg)
		}
		t.Run(tg.String(), func(t *testing.T) {
			checkStatsAreThePanels(t, w, s, from, to)
			checkTablesAreThePanels(t, w, s, from, to)
			checkAgainstTheCallModel(t, w, s)
			checkWorkforce(t, w, s, from, to)
			checkStaffing(t, w, s)
			checkReasonsAreThePanels(t, w, s, from, to)
			checkHealth(t, w, s, i == 0)
		})
	}
	text := r.Text()
	for _, s := range r.Sections {
		c, err := w.Store.Cards(ctx, s.Target, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"== " + s.Name + " ==", fmt.Sprintf("Inbound calls: %s   Outbound calls: %s   Missed calls: %s   Total calls: %s",
			grouped(c.Inbound), grouped(c.Outbound), grouped(c.Missed), grouped(c.Total))} {
			if !strings.Contains(text, want) {
				t.Errorf("the text lacks %q:\n%s", want, text)
			}
		}
	}
	if !strings.Contains(text, "\nNext week's staffing (agents to schedule, busiest quarter hour)\n") {
		t.Errorf("the text lacks next week's staffing:\n%s", text)
	}
	if !strings.HasPrefix(text, "Dialpad weekly report, 2025-03-03 to 2025-03-09\n") {
		t.Errorf("the text starts %q", text[:min(len(text), 80)])
	}
	html, images, err := r.HTML(report.DataURI)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `src="data:image/png;base64,`); len(images) != 0 || n != 4*len(r.Sections) {
		t.Errorf("DataURI mode: %d images returned, %d inline; want none returned, 4 per target inline", len(images), n)
	}
	t.Logf("HTML of a week of %d targets: %d bytes; text: %d bytes", len(r.Sections), len(html), len(text))
	if dir := os.Getenv("REPORT_DUMP"); dir != "" { // to look at the page, the text and the charts
		os.WriteFile(dir+"/week.html", html, 0o644)
		os.WriteFile(dir+"/week.txt", []byte(text), 0o644)
		_, imgs, _ := r.HTML(report.ContentID)
		for _, im := range imgs {
			os.WriteFile(dir+"/"+im.ContentID+".png", im.PNG, 0o644)
		}
	}
}

// checkStatsAreThePanels compares every card and KPI with the panel's
// query, run here apart from the package.
func checkStatsAreThePanels(t *testing.T, w *world, s report.Section, from, to time.Time) {
	t.Helper()
	stats := append(append([]report.Stat{}, s.Cards...), s.KPIs...)
	var titles []string
	for _, st := range stats {
		titles = append(titles, st.Title)
	}
	if !slices.Equal(titles, statPanels) {
		t.Fatalf("the report shows %q, want the overview's %q", titles, statPanels)
	}
	for _, st := range stats {
		cols, rows := w.panelQuery(t, "dialpad-overview", st.Title, s.Target, from, to)
		if len(rows) != 1 || len(st.Fields) != len(cols) {
			t.Errorf("%q: the panel returns %d rows of %v, the report shows %d fields", st.Title, len(rows), cols, len(st.Fields))
			continue
		}
		for j, f := range st.Fields {
			if f.Name != cols[j] || !reflect.DeepEqual(f.Raw, rows[0][j]) {
				t.Errorf("%q: the report shows %s = %v (%q), the panel %s = %v", st.Title, f.Name, f.Raw, f.Text, cols[j], rows[0][j])
			}
		}
	}
	sl := stat(t, s, "Service level")
	if len(sl.Fields) != 2 || sl.Fields[1].Name != "Goal" || sl.Fields[1].Raw != 0.8 || sl.Fields[1].Text != "80.0%" {
		t.Errorf("the service level's goal is %+v, want 80.0%% (RecordKPISettings)", sl.Fields)
	}
}

// checkTablesAreThePanels compares the agent table, the callers to call
// back and the trend with the panels' queries.
func checkTablesAreThePanels(t *testing.T, w *world, s report.Section, from, to time.Time) {
	t.Helper()
	cols, rows := w.panelQuery(t, "dialpad-overview", "Agent leaderboard", s.Target, from, to)
	if len(rows) < 3 || len(s.Agents.Rows) != len(rows) {
		t.Fatalf("the leaderboard has %d agents, the report %d", len(rows), len(s.Agents.Rows))
	}
	shown := slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return c == "agent_key" }) // hidden on the dashboard
	if !slices.Equal(s.Agents.Columns, shown) {
		t.Errorf("agent columns %q, want the panel's visible %q", s.Agents.Columns, shown)
	}
	for i, row := range rows {
		for j, c := range cols {
			if c == "agent_key" {
				continue
			}
			if got := s.Agents.Cell(i, c); !reflect.DeepEqual(got.Raw, row[j]) {
				t.Errorf("agent row %d: %s = %v, the panel %s", i+1, c, got.Raw, fmtRow(cols, row))
			}
		}
	}
	cols, rows = w.panelQuery(t, "dialpad-overview", "Callers to call back", s.Target, from, to)
	var want, got []string
	for _, row := range rows {
		want = append(want, fmt.Sprint(row[slices.Index(cols, "Number")]))
	}
	for i := range s.CallBacks.Rows {
		got = append(got, s.CallBacks.Cell(i, "Number").Text)
	}
	if !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("callers to call back %q, the panel %q (the fixture must have some)", got, want)
	}
	cols, rows = w.panelQuery(t, "dialpad-overview", "Calls by direction", s.Target, from, to)
	tr := s.Trends[0]
	if tr.Title != "Calls by direction" || tr.Step != 24*time.Hour || len(tr.Times) != 7 {
		t.Fatalf("trend %q: step %s, %d buckets; want a bucket per day of the week", tr.Title, tr.Step, len(tr.Times))
	}
	for _, row := range rows {
		at := row[slices.Index(cols, "time")].(time.Time)
		k := slices.IndexFunc(tr.Times, at.Equal)
		if k < 0 {
			t.Errorf("the panel's bucket %s is not in the report's %v", at, tr.Times)
			continue
		}
		for _, l := range tr.Lines {
			if v := l.Points[k].Raw; v != row[slices.Index(cols, l.Name)] {
				t.Errorf("%s on %s: %v, the panel %s", l.Name, at.In(w.Location), v, fmtRow(cols, row))
			}
		}
	}
}

// checkReasonsAreThePanels compares the CSAT, the reasons and the CSAT by
// agent with the Reasons & satisfaction dashboard's panels.
func checkReasonsAreThePanels(t *testing.T, w *world, s report.Section, from, to time.Time) {
	t.Helper()
	var titles []string
	for _, st := range s.Satisfaction {
		titles = append(titles, st.Title)
		cols, rows := w.panelQuery(t, "dialpad-reasons", st.Title, s.Target, from, to)
		if len(rows) != 1 || len(st.Fields) != 1 || !reflect.DeepEqual(st.Fields[0].Raw, rows[0][0]) {
			t.Errorf("%q: the report shows %+v, the panel %v %v", st.Title, st.Fields, cols, rows)
		}
	}
	if want := []string{"CSAT average", "CSAT response rate", "Satisfied share", "CSAT responses"}; !slices.Equal(titles, want) {
		t.Errorf("the report's satisfaction is %q, want %q", titles, want)
	}
	if n, _ := stat(t, s, "CSAT responses").Fields[0].Number(); n == 0 {
		t.Error("no CSAT responses in the week: the simulated company must have some")
	}
	for _, tb := range []report.Table{s.Reasons, s.AgentCSAT} {
		cols, rows := w.panelQuery(t, "dialpad-reasons", tb.Title, s.Target, from, to)
		if len(rows) == 0 || len(tb.Rows) != len(rows) {
			t.Errorf("%q: the report has %d rows, the panel %d (the week must have some)", tb.Title, len(tb.Rows), len(rows))
			continue
		}
		for i, row := range rows {
			for j, c := range cols {
				if c == "agent_key" { // hidden on the dashboard
					continue
				}
				if got := tb.Cell(i, c); !reflect.DeepEqual(got.Raw, row[j]) {
					t.Errorf("%q row %d: %s = %v, the panel %s", tb.Title, i+1, c, got.Raw, fmtRow(cols, row))
				}
			}
		}
	}
}

// checkAgainstTheCallModel checks the figures against the call model's
// own reckoning of the simulated legs (transformtest), and the cards
// against the warehouse's summary.
func checkAgainstTheCallModel(t *testing.T, w *world, s report.Section) {
	t.Helper()
	convs := transformtest.Conversations(transformtest.Dedup(w.Legs[s.Target]), w.Location)
	week := func(day string) bool { return day >= "2025-03-03" && day <= "2025-03-09" }
	var inbound, outbound, missed, total, answered, short, inThreshold, abandoned float64
	perDay := map[string][2]float64{}
	grid := map[string]float64{}
	for _, c := range convs {
		if !week(c.Day) {
			continue
		}
		total++
		d := perDay[c.Day]
		local := time.UnixMilli(c.StartedMs).In(w.Location)
		grid[fmt.Sprintf("%s %02d", local.Format("Mon"), local.Hour())]++
		if c.Direction == "outbound" {
			outbound++
			d[1]++
		} else {
			inbound++
			d[0]++
			if c.Outcome == "missed" || c.Outcome == "voicemail" {
				missed++
			}
			if c.Answered {
				answered++
			}
			if c.ShortAbandoned {
				short++
			}
			if c.Abandoned {
				abandoned++
			}
			if c.AnsweredInThreshold {
				inThreshold++
			}
		}
		perDay[c.Day] = d
	}
	for title, want := range map[string]float64{"Inbound calls": inbound, "Outbound calls": outbound, "Missed calls": missed,
		"Total calls": total, "Answered rate": answered / inbound, "Service level": inThreshold / (inbound - short),
		"Abandonment rate": abandoned / (inbound - short)} {
		got, ok := stat(t, s, title).Fields[0].Number()
		if !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("%q is %v, the call model's conversations give %v", title, got, want)
		}
	}
	from, last := time.Date(2025, 3, 3, 0, 0, 0, 0, w.Location), time.Date(2025, 3, 9, 0, 0, 0, 0, w.Location)
	cards, err := w.Store.Cards(context.Background(), s.Target, from, last)
	if err != nil {
		t.Fatal(err)
	}
	for title, want := range map[string]uint64{"Inbound calls": cards.Inbound, "Outbound calls": cards.Outbound,
		"Missed calls": cards.Missed, "Total calls": cards.Total} {
		if got := stat(t, s, title).Fields[0]; got.Raw != float64(want) || got.Text != grouped(want) {
			t.Errorf("%q shows %v (%q), the warehouse's cards %d", title, got.Raw, got.Text, want)
		}
	}
	tr := s.Trends[0]
	for k, at := range tr.Times {
		day := at.Format(time.DateOnly)
		in, _ := tr.Lines[0].Points[k].Number()
		out, _ := tr.Lines[1].Points[k].Number()
		if want := perDay[day]; in != want[0] || out != want[1] || at.Hour() != 0 {
			t.Errorf("%s: %v inbound and %v outbound, the call model %v (buckets start at midnight in %s)", at, in, out, want, zone)
		}
	}
	var sum float64
	for i := range s.Busiest.Rows {
		day := s.Busiest.Cell(i, "Weekday").Text
		for h := range 24 {
			n, _ := s.Busiest.Cell(i, fmt.Sprintf("%02d", h)).Number()
			if want := grid[fmt.Sprintf("%s %02d", day, h)]; n != want {
				t.Errorf("busiest hours, %s %02d:00: %v calls, the call model %v", day, h, n, want)
			}
			sum += n
		}
	}
	days := map[string]bool{}
	for k := range grid {
		days[k[:3]] = true
	}
	if sum != total || len(s.Busiest.Rows) != len(days) {
		t.Errorf("the busiest hours hold %v calls on %d weekdays, want %v on %d", sum, len(s.Busiest.Rows), total, len(days))
	}
	if top := s.BusiestHours(1); len(top) != 1 || top[0].Calls.Raw != maxOf(grid) {
		t.Errorf("the busiest hour is %v, the call model's busiest has %v calls", top, maxOf(grid))
	}

	// The leaderboard: each agent's legs of the week.
	byAgent := map[uint64][4]int{}
	for _, a := range transformtest.AgentDays(transformtest.Dedup(w.Legs[s.Target])) {
		if week(a.Day) {
			v := byAgent[a.AgentID]
			byAgent[a.AgentID] = [4]int{v[0] + a.Total, v[1] + a.Inbound, v[2] + a.Outbound, v[3] + a.Missed}
		}
	}
	var want, got []string
	for _, v := range byAgent {
		want = append(want, fmt.Sprint(v))
	}
	for i := range s.Agents.Rows {
		var v [4]int
		for k, c := range []string{"Total", "Inbound", "Outbound", "Missed"} {
			n, _ := s.Agents.Cell(i, c).Number()
			v[k] = int(n)
		}
		got = append(got, fmt.Sprint(v))
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("agents' [total inbound outbound missed] %v, the agents' legs %v", got, want)
	}
}

// checkWorkforce checks the calls per interval and the agent time
// against the Workforce dashboard's panels, and against the call model
// and the agents' hand-worked statuses (see agentStatuses).
func checkWorkforce(t *testing.T, w *world, s report.Section, from, to time.Time) {
	t.Helper()
	// A week is shown per hour: 167 of them, the Sunday being an hour
	// short.
	iv := s.Intervals
	if iv.Title != "Offered and answered per interval" || iv.Step != time.Hour || len(iv.Times) != 7*24-1 {
		t.Fatalf("intervals %q: step %s, %d buckets; want the week's 167 hours", iv.Title, iv.Step, len(iv.Times))
	}
	cols, rows := w.panelQueryWith(t, "dialpad-workforce", iv.Title, s.Target, from, to, map[string]string{"interval": "60"})
	for _, row := range rows {
		at := row[slices.Index(cols, "time")].(time.Time)
		k := slices.IndexFunc(iv.Times, at.Equal)
		if k < 0 {
			t.Errorf("the panel's interval %s is not in the report's", at)
			continue
		}
		for _, l := range iv.Lines {
			if v := l.Points[k].Raw; v != row[slices.Index(cols, l.Name)] {
				t.Errorf("%s at %s: %v, the panel %s", l.Name, at.In(w.Location), v, fmtRow(cols, row))
			}
		}
	}
	var offered, inbound float64
	for _, p := range iv.Lines[0].Points {
		n, _ := p.Number()
		offered += n
	}
	for _, c := range transformtest.Conversations(transformtest.Dedup(w.Legs[s.Target]), w.Location) {
		if c.Day >= "2025-03-03" && c.Day <= "2025-03-09" && c.Direction == "inbound" {
			inbound++
		}
	}
	if iv.Lines[0].Name != "Offered" || offered != inbound || inbound == 0 {
		t.Errorf("%s: %v offered over the intervals, the call model has %v inbound calls in the week", iv.Lines[0].Name, offered, inbound)
	}

	cols, rows = w.panelQueryWith(t, "dialpad-workforce", "Agent time", s.Target, from, to, map[string]string{"interval": "60"})
	at := s.AgentTime
	if len(at.Rows) != len(rows) {
		t.Fatalf("the agent time has %d agents, the panel %d", len(at.Rows), len(rows))
	}
	for i, row := range rows {
		for j, c := range cols {
			if c == "agent_key" {
				continue
			}
			if got := at.Cell(i, c); !reflect.DeepEqual(got.Raw, row[j]) {
				t.Errorf("agent time row %d: %s = %v, the panel %s", i+1, c, got.Raw, fmtRow(cols, row))
			}
		}
	}
	if s.Target.Type != "callcenter" {
		if len(at.Rows) != 0 {
			t.Errorf("%s: %d agents with time, want none (the status events are the call center's)", s.Target, len(at.Rows))
		}
		return
	}
	// Rae: 30 minutes on a call and 10 in wrap-up, 80 available; Sol
	// available 30, busy 30.
	if len(at.Rows) != 2 || at.Cell(0, "Agent").Text != "Rae" || at.Cell(1, "Agent").Text != "Sol" {
		t.Fatalf("agents with time %v, want Rae and Sol", at.Rows)
	}
	for i, want := range []map[string]float64{
		{"Occupancy": 40.0 / 120, "Utilization": 40.0 / 120, "Occupied": 1800, "Wrap-up": 600, "Available": 4800, "Unknown": 0},
		{"Occupancy": 0, "Utilization": 0, "Busy": 1800, "Available": 1800, "On duty": 3600, "Unknown": 0},
	} {
		for col, n := range want {
			if got, ok := at.Cell(i, col).Number(); !ok || math.Abs(got-n) > 1e-9 {
				t.Errorf("%s: %s is %v, want %v", at.Cell(i, "Agent").Text, col, at.Cell(i, col).Raw, n)
			}
		}
	}
	if got := at.Cell(0, "Occupancy").Text; got != "33.3%" {
		t.Errorf("Rae's occupancy is written %q, want 33.3%% (the panel's unit)", got)
	}
}

// checkHealth checks the load's health: loaded to the end of the
// traffic, 6 of the week's 7 days compared, and the day that differs.
func checkHealth(t *testing.T, w *world, s report.Section, differs bool) {
	t.Helper()
	h := s.Health
	if want := time.Date(2025, 3, 12, 0, 0, 0, 0, w.Location); !h.LoadedUpTo.Equal(want) || !h.Complete {
		t.Errorf("loaded up to %s (complete %v), want %s: the backfill's end", h.LoadedUpTo, h.Complete, want)
	}
	if len(h.Missing) != 0 {
		t.Errorf("days not loaded %v, want none: the backfill covered the week", h.Missing)
	}
	if h.Days != 7 || h.Reconciled != 6 {
		t.Errorf("%d of %d days reconciled, want 6 of 7", h.Reconciled, h.Days)
	}
	switch {
	case !differs && len(h.NotMatching.Rows) != 0:
		t.Errorf("days not matching %v, want none", h.NotMatching.Rows)
	case differs && (len(h.NotMatching.Rows) != 1 || h.NotMatching.Cell(0, "Day").Text != "2025-03-05" ||
		h.NotMatching.Cell(0, "Status").Text != "differ" || h.NotMatching.Cell(0, "Only in Dialpad's").Raw != 2.0 ||
		h.NotMatching.Cell(0, "Our legs").Raw != 55.0 || h.NotMatching.Cell(0, "Dialpad's legs").Raw != 57.0):
		t.Errorf("days not matching %v, want 2025-03-05 with 2 legs only in Dialpad's (55 ours, 57 theirs)", h.NotMatching.Rows)
	}
}

func testDay(t *testing.T, w *world) {
	// Sunday 9 March 2025: clocks go forward in Chicago, the day has 23 hours.
	p := report.Period{Kind: "day", From: time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 9, 0, 0, 0, 0, time.UTC)}
	r, err := report.Build(context.Background(), report.Options{Conn: w.Store.DB(), Targets: w.Targets[:1], Location: w.Location, Period: p})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Sections[0]
	perHour := map[int64]float64{}
	var total float64
	for _, c := range transformtest.Conversations(transformtest.Dedup(w.Legs[s.Target]), w.Location) {
		if c.Day == "2025-03-09" {
			at := time.UnixMilli(c.StartedMs)
			perHour[at.Truncate(time.Hour).Unix()]++
			total++
		}
	}
	tr := s.Trends[0]
	if tr.Step != time.Hour || len(tr.Times) != 23 || total == 0 {
		t.Fatalf("step %s, %d buckets, %v calls; want 23 hours with calls", tr.Step, len(tr.Times), total)
	}
	for k, at := range tr.Times {
		in, _ := tr.Lines[0].Points[k].Number()
		out, _ := tr.Lines[1].Points[k].Number()
		if want := perHour[at.Unix()]; in+out != want {
			t.Errorf("%s: %v calls, the call model %v", at, in+out, want)
		}
	}
	if got, _ := stat(t, s, "Total calls").Fields[0].Number(); got != total {
		t.Errorf("total calls %v, want %v", got, total)
	}
	// A day's intervals are quarter hours: 92 of them in 23 hours.
	if iv := s.Intervals; iv.Step != 15*time.Minute || len(iv.Times) != 92 {
		t.Errorf("intervals of the day: step %s, %d buckets; want 92 quarter hours", iv.Step, len(iv.Times))
	}
	if !strings.HasPrefix(r.Subject(), "Dialpad daily report, 2025-03-09") || !strings.Contains(r.Text(), "\nPer hour\n") {
		t.Errorf("subject %q; the text must list the hours", r.Subject())
	}
}

func testPastTheLoad(t *testing.T, w *world) {
	p := report.Custom(time.Date(2025, 3, 10, 0, 0, 0, 0, w.Location), time.Date(2025, 3, 12, 0, 0, 0, 0, w.Location))
	r, err := report.Build(context.Background(), report.Options{Conn: w.Store.DB(), Targets: w.Targets[:1], Location: w.Location, Period: p})
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Sections[0].Health; h.Complete || h.Reconciled != 0 || h.Days != 3 || len(h.Missing) != 1 {
		t.Errorf("health %+v: a period past the load is not complete (its last day is missing), and none of its days were compared", h)
	}
	text := r.Text()
	for _, want := range []string{"  Loaded: 2025-03-10 to 2025-03-11 by backfill.",
		"! Not loaded: 2025-03-12; calls of this day are missing from this report",
		"  Incremental load: every call that started before 2025-03-12 00:00:00 (America/Chicago) is loaded.",
		"No day of the period has been compared with Dialpad's records export yet."} {
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q:\n%s", want, text)
		}
	}
	if _, err := report.Build(context.Background(), report.Options{Conn: w.Store.DB(), Targets: w.Targets, Location: time.Local, Period: p}); err == nil {
		t.Error("a reporting zone without a name must be refused: the dashboards' tz variable takes names")
	}
}

func stat(t *testing.T, s report.Section, title string) report.Stat {
	t.Helper()
	for _, st := range append(append(append([]report.Stat{}, s.Cards...), s.KPIs...), s.Satisfaction...) {
		if st.Title == title {
			return st
		}
	}
	t.Fatalf("%s: no stat %q", s.Target, title)
	return report.Stat{}
}

// grouped writes n with thousands separators, as the report writes counts.
func grouped(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func maxOf(m map[string]float64) float64 {
	var out float64
	for _, v := range m {
		out = max(out, v)
	}
	return out
}

// checkStaffing checks the week's report's next week's staffing against
// the staffing table: per hour of Chicago's clock and weekday of 10 to 16
// March, the most agents to schedule in its quarter hours, and the hours
// that need no one left out.
func checkStaffing(t *testing.T, w *world, s report.Section) {
	t.Helper()
	rows, err := w.Store.DB().Query(context.Background(), `SELECT interval_start, scheduled FROM staffing FINAL
		WHERE target_type = ? AND target_id = ? AND forecast = 1 AND day >= toDate('2025-03-10') AND day <= toDate('2025-03-16')`,
		s.Target.Type, uint64(s.Target.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[string]map[string]float64{} // hour -> weekday -> agents
	for rows.Next() {
		var start time.Time
		var n uint32
		if err := rows.Scan(&start, &n); err != nil {
			t.Fatal(err)
		}
		local := start.In(w.Location)
		hour, day := local.Format("15:00"), local.Weekday().String()[:3]
		if want[hour] == nil {
			want[hour] = map[string]float64{}
		}
		want[hour][day] = max(want[hour][day], float64(n))
	}
	for hour, days := range want {
		busy := false
		for _, n := range days {
			busy = busy || n > 0
		}
		if !busy {
			delete(want, hour)
		}
	}
	if s.Staffing.Title != "Next week's staffing" || len(want) == 0 || len(s.Staffing.Rows) != len(want) {
		t.Fatalf("next week's staffing %q has %d hours; want %d (and some)", s.Staffing.Title, len(s.Staffing.Rows), len(want))
	}
	for i := range s.Staffing.Rows {
		hour := s.Staffing.Cell(i, "Time").Text
		for _, day := range []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"} {
			got, ok := s.Staffing.Cell(i, day).Raw.(float64)
			if !ok || got != want[hour][day] {
				t.Errorf("%s %s: %v agents; want %v", day, hour, s.Staffing.Cell(i, day).Raw, want[hour][day])
			}
		}
	}
}
