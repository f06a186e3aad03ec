package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

const panelRuns = 5 // timed runs of each panel query, after one to warm up

// workforceUID is the Workforce dashboard's uid.
const workforceUID = "dialpad-workforce"

// dashboards times every panel query of every dashboard over the last 14
// days of the large data set, every variable at All (or, without an All,
// the biggest target, UTC and the first value), and reports each
// dashboard's slowest panel by its median time.
func (b *bench) dashboards(ctx context.Context, t *table) error {
	if b.large == nil {
		return fmt.Errorf("dashboards: no large data set was loaded")
	}
	timings, err := b.timeDashboards(ctx, b.large.database, b.end.AddDate(0, 0, -14), b.end, true)
	if err != nil {
		return err
	}
	for _, d := range timings {
		t.add(row{what: fmt.Sprintf("Dashboard %q: slowest panel or variable query, median of %d runs, last 14 days of the %s-leg data, variables at All",
			d.title, panelRuns, thousands(float64(b.large.runs.rows))),
			measured: fmt.Sprintf("%.0f ms (%q; %d queries)", ms(d.slowest.took), d.slowest.title, d.queries),
			target:   "< 300 ms", met: d.slowest.took < 300*time.Millisecond})
	}
	return nil
}

// dashboardTiming is one dashboard's slowest panel.
type dashboardTiming struct {
	title   string
	slowest timing
	queries int
}

// timeDashboards times every panel and variable query of every dashboard
// over [from, to) of database, with the variables at All where they have one (all) or
// at one value, and returns each dashboard's slowest panel.
func (b *bench) timeDashboards(ctx context.Context, database string, from, to time.Time, all bool) ([]dashboardTiming, error) {
	dashboards, err := expand.Load(os.DirFS(b.opt.dashboards), "*.json")
	if err != nil {
		return nil, fmt.Errorf("dashboards in %s: %w", b.opt.dashboards, err)
	}
	conn, err := b.server(database).Open(database)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var biggest string
	if err := conn.QueryRow(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)) AS t
		FROM calls GROUP BY t ORDER BY count() DESC LIMIT 1`).Scan(&biggest); err != nil {
		return nil, err
	}
	// The Workforce dashboard is about one call center's agents: timed on
	// the busiest call center (the biggest target where there is none).
	center := biggest
	if err := conn.QueryRow(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)) AS t
		FROM calls WHERE target_type = 'callcenter' GROUP BY t ORDER BY count() DESC LIMIT 1`).Scan(&center); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var out []dashboardTiming
	for _, d := range dashboards {
		picked := biggest
		if d.UID == workforceUID {
			picked = center
		}
		// About 1,000 points over the range, in whole minutes, as Grafana
		// asks for a wide panel.
		interval := max(int64(to.Sub(from).Seconds())/1000/60*60, 60)
		e := &expand.Expansion{From: from, To: to, IntervalS: interval,
			Vars: map[string]expand.Selection{}, Defs: map[string]expand.Variable{}}
		if err := resolveVariables(ctx, conn, e, d, picked, all); err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		log.Printf("dashboards: timing %s over %s of %s", d.Title, to.Sub(from), database)
		// The variables' lists are queries that every view runs too.
		slowest, queries, err := timePanels(ctx, conn, e, d.Queries())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		out = append(out, dashboardTiming{title: d.Title, slowest: slowest, queries: queries})
	}
	return out, nil
}

type timing struct {
	title string
	took  time.Duration
}

func timePanels(ctx context.Context, conn driver.Conn, e *expand.Expansion, qs []expand.Query) (slowest timing, queries int, err error) {
	for _, q := range qs {
		sql, err := e.Expand(q.RawSQL)
		if err != nil {
			return slowest, queries, fmt.Errorf("panel %q: %w", q.Title, err)
		}
		var runs []time.Duration
		for i := 0; i <= panelRuns; i++ {
			began := time.Now()
			if _, err := query(ctx, conn, sql); err != nil {
				return slowest, queries, fmt.Errorf("panel %q: %w\n%s", q.Title, err, sql)
			}
			if i > 0 {
				runs = append(runs, time.Since(began))
			}
		}
		slices.Sort(runs)
		queries++
		if med := runs[len(runs)/2]; med > slowest.took {
			slowest = timing{q.Title, med}
		}
	}
	return slowest, queries, nil
}

// resolveVariables sets d's variables the way the benchmark views it:
// All where a variable has one and all is set, else the biggest target,
// UTC or the first value.
func resolveVariables(ctx context.Context, conn driver.Conn, e *expand.Expansion, d *expand.Dashboard, biggest string, all bool) error {
	values := func(sql string) ([]expand.Option, error) {
		rows, err := query(ctx, conn, sql)
		var out []expand.Option
		for _, r := range rows {
			out = append(out, expand.Option{Value: r, Text: r})
		}
		return out, err
	}
	return e.Resolve(d, values, func(v expand.Variable, offered []expand.Option) (expand.Selection, error) {
		values := expand.Values(offered)
		if len(values) == 0 {
			return expand.Selection{}, fmt.Errorf("has no values")
		}
		sel := expand.Selection{Values: values}
		switch {
		case v.IncludeAll && all:
			sel.All = true
		case slices.Contains(values, biggest):
			sel.Values = []string{biggest}
		case slices.Contains(values, "UTC"):
			sel.Values = []string{"UTC"}
		default:
			sel.Values = values[:1]
		}
		return sel, nil
	})
}

// query runs sql, reads every row, and returns the first column's values
// as text.
func query(ctx context.Context, conn driver.Conn, sql string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	dest := make([]any, len(types))
	for i, ct := range types {
		dest[i] = reflect.New(ct.ScanType()).Interface()
	}
	var first []string
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if len(dest) > 0 {
			first = append(first, fmt.Sprint(reflect.ValueOf(dest[0]).Elem().Interface()))
		}
	}
	sort.Strings(first)
	return first, rows.Err()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
