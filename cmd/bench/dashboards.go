package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The dashboards as far as their queries go.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		RawSQL string `json:"rawSql"`
		Hide   bool   `json:"hide"`
	} `json:"targets"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// sql is a variable's query: a string, or a target object with rawSql.
func (v variable) sql() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var q struct {
		RawSQL string `json:"rawSql"`
		Query  string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &q)
	return q.RawSQL + q.Query
}

const panelRuns = 5 // timed runs of each panel query, after one to warm up

// dashboards times every panel query of every dashboard over the last 14
// days of the large data set, every variable at All (or, without an All,
// the biggest target, UTC and the first value), and reports each
// dashboard's slowest panel by its median time.
func (b *bench) dashboards(ctx context.Context, t *table) error {
	if b.large == nil {
		return fmt.Errorf("dashboards: no large data set was loaded")
	}
	files, err := filepath.Glob(filepath.Join(b.opt.dashboards, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("dashboards: none in %s (%v)", b.opt.dashboards, err)
	}
	conn, err := b.ch.Open(b.large.database)
	if err != nil {
		return err
	}
	defer conn.Close()
	var biggest string
	if err := conn.QueryRow(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)) AS t
		FROM calls GROUP BY t ORDER BY count() DESC LIMIT 1`).Scan(&biggest); err != nil {
		return err
	}
	e := expansion{from: b.end.AddDate(0, 0, -14), to: b.end, intervalS: 14 * 24 * 3600 / 1000 / 60 * 60}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var d dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		e.vars = map[string]selection{}
		if err := resolveVariables(ctx, conn, &e, d, biggest); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		log.Printf("dashboards: timing %s", d.Title)
		slowest, queries, err := timePanels(ctx, conn, &e, d.Panels)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		t.add(row{what: fmt.Sprintf("Dashboard %q: slowest panel query, median of %d runs, last 14 days of the %s-leg data, variables at All",
			d.Title, panelRuns, thousands(float64(b.large.runs.rows))),
			measured: fmt.Sprintf("%.0f ms (%q; %d queries)", ms(slowest.took), slowest.title, queries),
			target:   "< 300 ms", met: slowest.took < 300*time.Millisecond})
	}
	return nil
}

type timing struct {
	title string
	took  time.Duration
}

func timePanels(ctx context.Context, conn driver.Conn, e *expansion, panels []panel) (slowest timing, queries int, err error) {
	for _, p := range panels {
		s, n, err := timePanels(ctx, conn, e, p.Panels)
		if err != nil {
			return slowest, queries, err
		}
		queries += n
		if s.took > slowest.took {
			slowest = s
		}
		for _, q := range p.Targets {
			if q.Hide || strings.TrimSpace(q.RawSQL) == "" {
				continue
			}
			sql, err := e.expand(q.RawSQL)
			if err != nil {
				return slowest, queries, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			var runs []time.Duration
			for i := 0; i <= panelRuns; i++ {
				began := time.Now()
				if _, err := query(ctx, conn, sql); err != nil {
					return slowest, queries, fmt.Errorf("panel %q: %w\n%s", p.Title, err, sql)
				}
				if i > 0 {
					runs = append(runs, time.Since(began))
				}
			}
			slices.Sort(runs)
			queries++
			if med := runs[len(runs)/2]; med > slowest.took {
				slowest = timing{p.Title, med}
			}
		}
	}
	return slowest, queries, nil
}

// resolveVariables sets d's variables the way the benchmark views it.
func resolveVariables(ctx context.Context, conn driver.Conn, e *expansion, d dashboard, biggest string) error {
	for _, v := range d.Templating.List {
		var values []string
		switch v.Type {
		case "textbox":
			e.vars[v.Name] = selection{values: []string{""}}
			continue
		case "constant":
			e.vars[v.Name] = selection{values: []string{v.sql()}}
			continue
		case "custom":
			for _, s := range strings.Split(v.sql(), ",") {
				values = append(values, strings.TrimSpace(s))
			}
		case "query":
			sql, err := e.expand(v.sql())
			if err != nil {
				return fmt.Errorf("variable %s: %w", v.Name, err)
			}
			rows, err := query(ctx, conn, sql)
			if err != nil {
				return fmt.Errorf("variable %s: %w", v.Name, err)
			}
			values = rows
		default:
			continue
		}
		if len(values) == 0 {
			return fmt.Errorf("variable %s has no values", v.Name)
		}
		sel := selection{values: values, multi: v.Multi, allValue: v.AllValue}
		switch {
		case v.IncludeAll:
			sel.all = true
		case slices.Contains(values, biggest):
			sel.values = []string{biggest}
		case slices.Contains(values, "UTC"):
			sel.values = []string{"UTC"}
		default:
			sel.values = values[:1]
		}
		e.vars[v.Name] = sel
	}
	return nil
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
