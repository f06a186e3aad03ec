package grafana

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

// result is what a query returned.
type result struct {
	cols  []string
	types []string
	rows  [][]any
}

func (r result) has(col string) bool { return slices.Contains(r.cols, col) }

// number returns the value of col in row i as a float.
func (r result) number(i int, col string) (float64, bool) {
	j := slices.Index(r.cols, col)
	if j < 0 || i >= len(r.rows) {
		return 0, false
	}
	return toFloat(r.rows[i][j])
}

func toFloat(v any) (float64, bool) {
	rv := reflect.Indirect(reflect.ValueOf(v))
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

func isNumeric(typ string) bool {
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	return regexp.MustCompile(`^(U?Int\d+|Float\d+)$`).MatchString(typ)
}

func query(ctx context.Context, conn driver.Conn, sql string) (result, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var r result
	for _, ct := range rows.ColumnTypes() {
		r.cols = append(r.cols, ct.Name())
		r.types = append(r.types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		dest := make([]any, len(r.cols))
		for i, ct := range rows.ColumnTypes() {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return r, err
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = reflect.ValueOf(d).Elem().Interface()
		}
		r.rows = append(r.rows, row)
	}
	return r, rows.Err()
}

// span is a dashboard time range.
type span struct {
	name     string
	from, to time.Time
}

func (s span) intervalS() int64 {
	// About 1,000 points, rounded to whole minutes, as Grafana would pick.
	n := int64(s.to.Sub(s.from).Seconds()) / 1000
	return max(60, n/60*60)
}

// mode is a way of setting the variables.
type mode struct {
	name       string
	multiAll   bool   // multi-value variables: All, else their first value
	search     string // the search box
	searchOnly bool   // only for dashboards with a search box
}

// queryVars sets d's variables for target, the way Grafana would: a query
// variable's values come from running its own query.
func (f *fixture) queryVars(t *testing.T, ctx context.Context, d *dashboard, target dialpad.Target, s span, m mode) *expansion {
	t.Helper()
	e := &expansion{From: s.from, To: s.to, IntervalS: s.intervalS(), Vars: map[string]selection{}, Defs: map[string]variable{}}
	for _, v := range d.Templating.List {
		e.Defs[v.Name] = v
		var values []string
		switch v.Type {
		case "textbox":
			e.Vars[v.Name] = selection{Values: []string{m.search}}
			continue
		case "constant":
			e.Vars[v.Name] = selection{Values: []string{v.SQL()}}
			continue
		case "custom":
			values = v.CustomValues()
		case "query":
			sql, err := e.Expand(v.SQL())
			if err != nil {
				t.Fatalf("variable %s: %v", v.Name, err)
			}
			res, err := f.query(t, ctx, "variable "+v.Name, sql)
			if err != nil {
				t.Fatalf("variable %s: %v\n%s", v.Name, err, sql)
			}
			if len(res.cols) < 1 || len(res.cols) > 2 {
				t.Fatalf("variable %s returns %d columns, want value[, text]", v.Name, len(res.cols))
			}
			for _, row := range res.rows {
				values = append(values, fmt.Sprint(row[0]))
			}
		}
		if len(values) == 0 {
			t.Fatalf("variable %s has no values", v.Name)
		}
		switch {
		case v.Name == "tz":
			if !slices.Contains(values, reportingZone) {
				t.Fatalf("tz variable does not offer %s", reportingZone)
			}
			e.Vars[v.Name] = selection{Values: []string{reportingZone}}
		case v.Name == "target":
			if !slices.Contains(values, target.String()) {
				t.Fatalf("target variable offers %v, not %s", values, target)
			}
			if v.Multi && m.multiAll {
				e.Vars[v.Name] = selection{All: true, Values: values}
			} else {
				e.Vars[v.Name] = selection{Values: []string{target.String()}}
			}
		case v.Multi && m.multiAll:
			if !v.IncludeAll {
				t.Fatalf("multi-value variable %s has no All", v.Name)
			}
			e.Vars[v.Name] = selection{All: true, Values: values}
		default:
			e.Vars[v.Name] = selection{Values: values[:1]}
		}
	}
	return e
}

// requiredColumns returns the fields the panel's config refers to by name:
// field overrides, data links and transformations.
func requiredColumns(p panel) []string {
	var out []string
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID == "byName" {
			if s, ok := o.Matcher.Options.(string); ok {
				out = append(out, s)
			}
		}
	}
	for _, l := range panelLinks(p) {
		for _, m := range regexp.MustCompile(`\$\{__data\.fields\.([^}:]+)\}`).FindAllStringSubmatch(l.URL+" "+l.Title, -1) {
			out = append(out, strings.Trim(m[1], `"[]`))
		}
	}
	for _, tr := range p.Transformations {
		for _, key := range []string{"renameByName", "indexByName", "excludeByName"} {
			if m, ok := tr.Options[key].(map[string]any); ok {
				for name := range m {
					out = append(out, name)
				}
			}
		}
		if tr.ID == "partitionByValues" { // the fields whose values split the frame
			if names, ok := tr.Options["fields"].([]any); ok {
				for _, n := range names {
					if s, ok := n.(string); ok {
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

// mayBeEmpty are panels that return no rows for some ranges by design.
var mayBeEmpty = map[string]bool{
	"Calls per hour (ranges up to 4 days)": true,
	// Empty with webhooks or an unbroken connection; its rows are pinned by
	// TestReconciliationPanels.
	"Time without the websocket": true,
}

func TestPanelQueriesRunOnLoadedData(t *testing.T) {
	f := loadFixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	spans := []span{
		{"14 days", f.start, now.Add(time.Hour)},
		{"last day", f.end.Add(-24 * time.Hour), f.end.Add(-time.Second)},
		{"odd window", f.start.Add(3*24*time.Hour + 5*time.Hour + 17*time.Minute + 23*time.Second), f.start.Add(9*24*time.Hour + 2*time.Hour)},
	}
	term := searchTerm(t, f.legs[f.targets[0]])
	modes := []mode{
		{name: "all"},
		{name: "one value each", search: term},
		{name: "search", multiAll: true, search: term, searchOnly: true},
		{name: "quote in search", multiAll: true, search: "O'Br", searchOnly: true},
	}
	modes[0].multiAll = true

	var slowest time.Duration
	var slowestWhat string
	queries := 0
	for _, d := range loadDashboards(t) {
		for _, s := range spans {
			for _, m := range modes {
				if m.searchOnly && !hasVariable(d, "search") {
					continue
				}
				e := f.queryVars(t, ctx, d, f.targets[0], s, m)
				for _, p := range d.Leaves() {
					for _, q := range p.Targets {
						what := fmt.Sprintf("%s / %q / %s / %s", d.UID, p.Title, s.name, m.name)
						sql, err := e.Expand(q.RawSQL)
						if err != nil {
							t.Errorf("%s: %v", what, err)
							continue
						}
						began := time.Now()
						res, err := f.query(t, ctx, what, sql)
						if took := time.Since(began); took > slowest {
							slowest, slowestWhat = took, what
						}
						queries++
						if err != nil {
							t.Errorf("%s: %v\n%s", what, err, sql)
							continue
						}
						checkResult(t, what, p, *q.Format, res, m.name == "all" && s.name == "14 days")
					}
				}
			}
		}
	}
	t.Logf("%d panel queries; slowest %s (%s)", queries, slowest.Round(time.Millisecond), slowestWhat)

	t.Run("overview cards count conversations", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-overview")
		for _, target := range f.targets {
			for _, s := range spans {
				want := referenceCards(f.legs[target], f.loc, s)
				if want["Total calls"] == 0 {
					t.Fatalf("%s, %s: no conversations in the reference", target, s.name)
				}
				e := f.queryVars(t, ctx, d, target, s, mode{name: "all", multiAll: true})
				for title, n := range want {
					got := singleValue(t, ctx, f, e, d, title)
					if got != float64(n) {
						t.Errorf("%s, %s: %q shows %v, the call model counts %d", target, s.name, title, got, n)
					}
				}
			}
		}
	})

	// The reasons and satisfaction of the simulated company (labels,
	// CSAT, MOS, Dialpad's abandoned and missed) are the call model's own
	// reckoning of its legs, every target and day.
	t.Run("reasons and satisfaction are the call model's", func(t *testing.T) {
		var legs []transform.Leg
		for _, target := range f.targets {
			legs = append(legs, transformtest.Dedup(f.legs[target])...)
		}
		convs := transformtest.Seconds(transformtest.Conversations(legs, f.loc))
		reasons, err := transformtest.StoredReasons(ctx, f.native)
		if err != nil {
			t.Fatal(err)
		}
		if diff := transformtest.FirstDiff(reasons, transformtest.Reasons(convs)); diff != "" || len(reasons) == 0 {
			t.Errorf("reasons_daily is not the call model's (%d rows): %s", len(reasons), diff)
		}
		sat, err := transformtest.StoredSatisfaction(ctx, f.native)
		if err != nil {
			t.Fatal(err)
		}
		if diff := transformtest.FirstDiff(sat, transformtest.Satisfaction(convs)); diff != "" {
			t.Errorf("target_daily's reasons and satisfaction are not the call model's: %s", diff)
		}
	})

	// The KPIs add up target_daily over the range's whole days and the
	// conversations at its ends: together they must be the KPIs of the
	// conversations that started in the range, as the call model's own
	// reckoning flags them.
	t.Run("overview KPIs are the conversations' flags summed", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-overview")
		for _, target := range f.targets {
			convs := transformtest.Conversations(transformtest.Dedup(f.legs[target]), f.loc)
			for _, s := range spans {
				want := referenceKPIs(convs, s)
				e := f.queryVars(t, ctx, d, target, s, mode{name: "all", multiAll: true})
				for title, w := range want {
					res := panelResult(t, ctx, f, e, d, title)
					got, ok := res.number(0, res.cols[0])
					if math.IsNaN(w) { // nothing to divide by: the panel shows no value
						if ok {
							t.Errorf("%s, %s: %q shows %v; want no value (nothing to divide by)", target, s.name, title, got)
						}
						continue
					}
					if !ok || math.Abs(got-w) > 1e-9*max(1, w) {
						t.Errorf("%s, %s: %q shows %v, the conversations' flags give %v", target, s.name, title, got, w)
					}
				}
				calls := 0
				for _, c := range convs {
					if inSpan(c.StartedMs, s) && c.Direction == "inbound" {
						calls++
					}
				}
				if calls == 0 || s.name == "14 days" && (want["Repeat-contact rate"] == 0 || want["Abandoned callers recovered"] == 0) {
					t.Errorf("%s, %s: the fixture has %d inbound calls, KPIs %v: too few to test repeats and recoveries", target, s.name, calls, want)
				}
				var recovered, recoverySec float64
				for _, c := range convs {
					if inSpan(c.StartedMs, s) && c.Recovered {
						recovered++
						recoverySec += float64(c.RecoveryMs) / 1000
					}
				}
				if res := panelResult(t, ctx, f, e, d, "Abandoned callers recovered"); recovered > 0 {
					if got, ok := res.number(0, "Time to recovery"); !ok || math.Abs(got-recoverySec/recovered) > 1e-6 {
						t.Errorf("%s, %s: time to recovery %v, the flags give %v", target, s.name, got, recoverySec/recovered)
					}
				}
				if s.name == "14 days" {
					res := panelResult(t, ctx, f, e, d, "Service level")
					if g, ok := res.number(0, "Goal"); !ok || g != 0.8 {
						t.Errorf("%s: the service level's goal shows %v, want the default 80%%", target, g)
					}
				}
				res := panelResult(t, ctx, f, e, d, "Callers to call back")
				var got []string
				for i := range res.rows {
					got = append(got, fmt.Sprint(res.rows[i][slices.Index(res.cols, "Number")]))
				}
				if wantNumbers := referenceCallBacks(convs, s); !slices.Equal(got, wantNumbers) || len(got) == 0 && s.name == "14 days" {
					t.Errorf("%s, %s: callers to call back %v, want %v", target, s.name, got, wantNumbers)
				}
			}
		}
	})

	t.Run("workforce figures are the hand-worked ones", func(t *testing.T) { testWorkforce(t, ctx, f) })

	t.Run("days are counted in the tz variable", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-overview")
		target, s := f.targets[0], spans[0]
		e := f.queryVars(t, ctx, d, target, s, mode{name: "all", multiAll: true})
		res := panelResult(t, ctx, f, e, d, "Calls by direction")
		want := map[string]int{}
		for _, c := range transformtest.Conversations(transformtest.Dedup(f.legs[target]), f.loc) {
			if inSpan(c.StartedMs, s) {
				want[c.Day]++
			}
		}
		got := map[string]int{}
		for i, row := range res.rows {
			ts, ok := row[slices.Index(res.cols, "time")].(time.Time)
			local := ts.In(f.loc)
			if !ok || local.Hour() != 0 || local.Minute() != 0 {
				t.Fatalf("bucket %v is not a midnight in %s", row[0], reportingZone)
			}
			in, _ := res.number(i, "inbound")
			out, _ := res.number(i, "outbound")
			got[local.Format(time.DateOnly)] = int(in + out)
		}
		if len(got) < 14 || !reflect.DeepEqual(got, want) {
			t.Errorf("calls per day %v, the call model's days in %s give %v", got, reportingZone, want)
		}
	})

	t.Run("leaderboard sums the agents' legs", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-overview")
		for _, target := range f.targets {
			s := spans[2]
			e := f.queryVars(t, ctx, d, target, s, mode{name: "all", multiAll: true})
			res := panelResult(t, ctx, f, e, d, "Agent leaderboard")
			var got float64
			for i := range res.rows {
				n, _ := res.number(i, "Total")
				got += n
			}
			fromDay := transform.Day(s.from.UnixMilli(), f.loc).Format(time.DateOnly)
			toDay := transform.Day(s.to.UnixMilli(), f.loc).Format(time.DateOnly)
			want := 0
			for _, a := range transformtest.AgentDays(transformtest.Dedup(f.legs[target])) {
				if a.Day >= fromDay && a.Day <= toDay {
					want += a.Total
				}
			}
			if got != float64(want) || want == 0 {
				t.Errorf("%s: the leaderboard's totals add up to %v, the agents' legs on %s..%s are %d", target, got, fromDay, toDay, want)
			}
		}
	})

	// Over whole days the counts come from calls_daily, over the rest of
	// the range from the legs: together they must be the legs' own counts,
	// whatever the range and the reporting zone's midnights.
	t.Run("call explorer counts and lists the legs", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-calls")
		for _, target := range f.targets {
			legs := transformtest.Dedup(f.legs[target])
			for _, s := range spans {
				var in []transform.Leg
				want := map[string]float64{}
				for _, l := range legs {
					if !inSpan(l.StartedMs, s) {
						continue
					}
					in = append(in, l)
					want["Calls found"]++
					want["Total talk time"] += float64(l.DurationMs) / 1000
					if l.Status == "completed" {
						want["Completed"]++
					} else {
						want["Not connected"]++
					}
				}
				e := f.queryVars(t, ctx, d, target, s, mode{name: "all", multiAll: true})
				for title, n := range want {
					if got := singleValue(t, ctx, f, e, d, title); math.Abs(got-n) > 1e-6*max(1, n) {
						t.Errorf("%s, %s: %q shows %v, the legs give %v", target, s.name, title, got, n)
					}
				}
				// The list: the newest 2,000 legs, newest first.
				sort.Slice(in, func(i, k int) bool {
					a, b := in[i], in[k]
					if a.StartedMs/1000 != b.StartedMs/1000 {
						return a.StartedMs/1000 > b.StartedMs/1000
					}
					return a.CallID > b.CallID
				})
				in = in[:min(len(in), 2000)]
				res := panelResult(t, ctx, f, e, d, "Calls")
				col := slices.Index(res.cols, "Call id")
				if len(res.rows) != len(in) || col < 0 {
					t.Errorf("%s, %s: the list shows %d legs, want %d", target, s.name, len(res.rows), len(in))
					continue
				}
				for i, l := range in {
					if got := fmt.Sprint(reflect.Indirect(reflect.ValueOf(res.rows[i][col]))); got != strconv.FormatUint(l.CallID, 10) {
						t.Errorf("%s, %s: row %d of the list is leg %s, want %d", target, s.name, i+1, got, l.CallID)
						break
					}
				}
			}
		}
	})

	t.Run("agent counts equal the agent's legs", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-agent")
		target := f.targets[0]
		for _, s := range spans {
			e := f.queryVars(t, ctx, d, target, s, mode{name: "all", multiAll: true}) // the first agent
			agent, err := strconv.ParseUint(e.Vars["agent"].Values[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{}
			n := 0
			for _, l := range transformtest.Dedup(f.legs[target]) {
				if l.AgentID == agent && inSpan(l.StartedMs, s) {
					want[strings.ToUpper(l.Direction[:1])+l.Direction[1:]]++
					want[strings.ToUpper(l.Status[:1])+l.Status[1:]]++
					n++
				}
			}
			if n == 0 {
				t.Fatalf("%s: agent %d has no legs in the reference", s.name, agent)
			}
			for _, title := range []string{"Direction", "Status"} {
				res := panelResult(t, ctx, f, e, d, title)
				for _, col := range res.cols {
					if got, _ := res.number(0, col); got != want[col] {
						t.Errorf("%s: %s %s shows %v, the agent's legs give %v", s.name, title, col, got, want[col])
					}
				}
			}
			list := panelResult(t, ctx, f, e, d, "Calls of the agent")
			if len(list.rows) != min(n, 1000) {
				t.Errorf("%s: the agent's list shows %d legs, want %d", s.name, len(list.rows), min(n, 1000))
			}
		}
	})

	t.Run("search text is only ever text", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-calls")
		target, s := f.targets[0], spans[0]
		for _, term := range []string{`\`, `\') > 0 OR 1=1) /*`, `' OR 1=1 --`, `%27%5C`, `O'Brien`, "日本", `a\'b`, term + `\`} {
			e := f.queryVars(t, ctx, d, target, s, mode{name: "search", multiAll: true, search: term})
			for _, p := range d.Leaves() {
				for _, q := range p.Targets {
					sql, err := e.Expand(q.RawSQL)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := f.query(t, ctx, p.Title, sql); err != nil {
						t.Errorf("search %q breaks %q: %v", term, p.Title, err)
					}
				}
			}
			got := singleValue(t, ctx, f, e, d, "Calls found")
			want := 0
			for _, l := range transformtest.Dedup(f.legs[target]) {
				if inSpan(l.StartedMs, s) && matchesSearch(l, term) {
					want++
				}
			}
			if got != float64(want) {
				t.Errorf("search %q: %v calls found, want %d: the text must match as text", term, got, want)
			}
		}
	})

	t.Run("search finds names and numbers", func(t *testing.T) {
		d := dashboardByUID(t, "dialpad-calls")
		target := f.targets[0]
		s := spans[0]
		for _, term := range []string{term, strings.ToUpper(term), phoneTerm(t, f.legs[target])} {
			e := f.queryVars(t, ctx, d, target, s, mode{name: "search", multiAll: true, search: term})
			got := singleValue(t, ctx, f, e, d, "Calls found")
			want := 0
			for _, l := range transformtest.Dedup(f.legs[target]) {
				if inSpan(l.StartedMs, s) && matchesSearch(l, term) {
					want++
				}
			}
			if got != float64(want) || want == 0 {
				t.Errorf("search %q: %v calls found, want %d", term, got, want)
			}
		}
	})
}

func hasVariable(d *dashboard, name string) bool {
	_, ok := d.Variable(name)
	return ok
}

func checkResult(t *testing.T, what string, p panel, format int, res result, wantRows bool) {
	t.Helper()
	for _, col := range requiredColumns(p) {
		if !res.has(col) {
			t.Errorf("%s: the panel refers to field %q, the query returns %v", what, col, res.cols)
		}
	}
	numeric := 0
	for _, typ := range res.types {
		if isNumeric(typ) {
			numeric++
		}
	}
	switch {
	case format == formatTimeSeries:
		hasTime := false
		for _, typ := range res.types {
			hasTime = hasTime || strings.HasPrefix(typ, "DateTime")
		}
		if !hasTime || numeric == 0 {
			t.Errorf("%s: a time series needs a DateTime and a number column, got %v %v", what, res.cols, res.types)
		}
	case p.Type == "stat" || p.Type == "piechart":
		if len(res.rows) != 1 || numeric != len(res.cols) {
			t.Errorf("%s: want one row of numbers, got %d rows of %v", what, len(res.rows), res.types)
		}
	}
	if wantRows && len(res.rows) == 0 && !mayBeEmpty[p.Title] {
		t.Errorf("%s: no rows over the whole loaded range", what)
	}
}

// panelResult runs the query of the panel titled title.
func panelResult(t *testing.T, ctx context.Context, f *fixture, e *expansion, d *dashboard, title string) result {
	t.Helper()
	for _, p := range d.Leaves() {
		if p.Title != title {
			continue
		}
		sql, err := e.Expand(p.Targets[0].RawSQL)
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.query(t, ctx, title, sql)
		if err != nil {
			t.Fatalf("%s: %v", title, err)
		}
		return res
	}
	t.Fatalf("%s has no panel %q", d.UID, title)
	return result{}
}

// singleValue returns the one number a stat panel shows.
func singleValue(t *testing.T, ctx context.Context, f *fixture, e *expansion, d *dashboard, title string) float64 {
	t.Helper()
	res := panelResult(t, ctx, f, e, d, title)
	if len(res.rows) != 1 || len(res.cols) != 1 {
		t.Fatalf("%q: want one value, got %d rows of %v", title, len(res.rows), res.cols)
	}
	v, ok := res.number(0, res.cols[0])
	if !ok {
		t.Fatalf("%q: %v is not a number", title, res.rows[0][0])
	}
	return v
}

func inSpan(ms int64, s span) bool {
	sec := ms / 1000 // started_at is a DateTime: whole seconds
	return sec >= s.from.Unix() && sec <= s.to.Unix()
}

// referenceCards counts the department cards from the call model's own
// reckoning of the legs: conversations that started in s.
func referenceCards(legs []transform.Leg, loc *time.Location, s span) map[string]int {
	out := map[string]int{"Inbound calls": 0, "Outbound calls": 0, "Missed calls": 0, "Total calls": 0}
	for _, c := range transformtest.Conversations(transformtest.Dedup(legs), loc) {
		if !inSpan(c.StartedMs, s) {
			continue
		}
		out["Total calls"]++
		switch c.Direction {
		case "inbound":
			out["Inbound calls"]++
			if c.Outcome == "missed" || c.Outcome == "voicemail" {
				out["Missed calls"]++
			}
		case "outbound":
			out["Outbound calls"]++
		}
	}
	return out
}

// searchTerm picks part of a customer's surname, lower case.
func searchTerm(t *testing.T, legs []transform.Leg) string {
	for _, l := range legs {
		parts := strings.Fields(l.Call.Contact.Name)
		if len(parts) >= 2 && len(parts[len(parts)-1]) >= 5 {
			return strings.ToLower(parts[len(parts)-1][:4])
		}
	}
	t.Fatal("no contact with a surname to search for")
	return ""
}

// phoneTerm picks digits of a customer's number, written with punctuation.
func phoneTerm(t *testing.T, legs []transform.Leg) string {
	for _, l := range legs {
		p := l.Call.Contact.Phone
		if strings.HasPrefix(p, "+1") && len(p) == 12 {
			return "(" + p[2:5] + ") " + p[5:8]
		}
	}
	t.Fatal("no contact with a +1 number to search for")
	return ""
}

// matchesSearch is the call explorer's search in Go: part of the contact's
// name or number or of the agent's name, in any case; a term of 3 or more
// digits also matches the number's digits.
func matchesSearch(l transform.Leg, term string) bool {
	lower := strings.ToLower(term)
	c := l.Call
	if strings.Contains(strings.ToLower(c.Contact.Name), lower) || strings.Contains(strings.ToLower(l.AgentName), lower) ||
		strings.Contains(c.Contact.Phone, term) {
		return true
	}
	digits := regexp.MustCompile(`[^0-9]`).ReplaceAllString(term, "")
	return len(digits) >= 3 && strings.Contains(regexp.MustCompile(`[^0-9]`).ReplaceAllString(c.Contact.Phone, ""), digits)
}

// referenceKPIs are the overview's KPI figures over the conversations that
// started in s, from their flags (docs/counting.md, "Contact-center KPIs").
func referenceKPIs(convs []transformtest.Conversation, s span) map[string]float64 {
	var inbound, short, inThreshold, abandoned, answered, repeats, recovered float64
	var wait, handle float64
	for _, c := range convs {
		if !inSpan(c.StartedMs, s) || c.Direction != "inbound" {
			continue
		}
		inbound++
		if c.ShortAbandoned {
			short++
		}
		if c.Abandoned {
			abandoned++
		}
		if c.Recovered {
			recovered++
		}
		if c.AnsweredInThreshold {
			inThreshold++
		}
		if c.RepeatContact {
			repeats++
		}
		if c.Answered {
			answered++
			wait += float64(c.WaitMs) / 1000
			handle += float64(c.HandleMs) / 1000
		}
	}
	return map[string]float64{
		"Service level":               inThreshold / (inbound - short),
		"Abandonment rate":            abandoned / (inbound - short),
		"Average speed of answer":     wait / answered,
		"Average handle time":         handle / answered,
		"Repeat-contact rate":         repeats / inbound,
		"Abandoned callers recovered": recovered / abandoned,
	}
}

// referenceCallBacks are the numbers whose latest call in s was abandoned
// and who had no answered call since, newest first.
func referenceCallBacks(convs []transformtest.Conversation, s span) []string {
	type caller struct {
		number                    string
		lastAbandoned, lastAnswer int64
	}
	by := map[string]*caller{}
	for _, c := range convs {
		sec := c.StartedMs / 1000
		if c.ExternalNumber == "" || sec < s.from.Unix() {
			continue
		}
		k := by[c.ExternalNumber]
		if k == nil {
			k = &caller{number: c.ExternalNumber}
			by[c.ExternalNumber] = k
		}
		if c.Abandoned && inSpan(c.StartedMs, s) {
			k.lastAbandoned = max(k.lastAbandoned, sec)
		}
		if c.Answered {
			k.lastAnswer = max(k.lastAnswer, sec)
		}
	}
	var list []*caller
	for _, k := range by {
		if k.lastAbandoned > 0 && k.lastAbandoned > k.lastAnswer {
			list = append(list, k)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].lastAbandoned != list[j].lastAbandoned {
			return list[i].lastAbandoned > list[j].lastAbandoned
		}
		return list[i].number < list[j].number
	})
	var out []string
	for _, k := range list[:min(len(list), 500)] {
		out = append(out, k.number)
	}
	return out
}
