// Package expand reads the provisioned dashboards and expands their SQL
// exactly as Grafana and the ClickHouse data source plugin (4.x) do before
// ClickHouse sees it, so that tests and benchmarks run each panel's query
// as the server would receive it.
//
// It imports nothing of this module.
package expand

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Dashboard is the part of Grafana's dashboard model that the tests and
// the benchmarks read.
type Dashboard struct {
	File        string     `json:"-"` // its file name, e.g. overview.json
	UID         string     `json:"uid"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Timezone    string     `json:"timezone"`
	Refresh     string     `json:"refresh"` // auto-refresh interval, e.g. 10s
	Time        TimeRange  `json:"time"`
	Panels      []Panel    `json:"panels"`
	Links       []DashLink `json:"links"`
	Templating  struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Timepicker struct {
		QuickRanges []QuickRange `json:"quick_ranges"`
	} `json:"timepicker"`
}

type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type QuickRange struct {
	Display string `json:"display"`
	From    string `json:"from"`
	To      string `json:"to"`
}

type Panel struct {
	ID              int              `json:"id"`
	Type            string           `json:"type"`
	Title           string           `json:"title"`
	Description     string           `json:"description"`
	GridPos         *GridPos         `json:"gridPos"`
	Datasource      *DSRef           `json:"datasource"`
	Targets         []QueryTarget    `json:"targets"`
	FieldConfig     FieldConfig      `json:"fieldConfig"`
	Transformations []Transformation `json:"transformations"`
	Panels          []Panel          `json:"panels"` // of a collapsed row
}

type GridPos struct {
	H, W, X, Y int
}

type DSRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type QueryTarget struct {
	RefID      string `json:"refId"`
	Datasource *DSRef `json:"datasource"`
	EditorType string `json:"editorType"`
	RawSQL     string `json:"rawSql"`
	Format     *int   `json:"format"`
	Hide       bool   `json:"hide"`
}

// Formats of a query target.
const (
	FormatTimeSeries = 0
	FormatTable      = 1
)

type FieldConfig struct {
	Defaults struct {
		Unit     string     `json:"unit"`
		Decimals *int       `json:"decimals"` // nil: Grafana picks
		NoValue  string     `json:"noValue"`  // shown instead of a value when there is none
		Links    []DataLink `json:"links"`
	} `json:"defaults"`
	Overrides []Override `json:"overrides"`
}

type Override struct {
	Matcher struct {
		ID      string `json:"id"`
		Options any    `json:"options"`
	} `json:"matcher"`
	Properties []struct {
		ID    string          `json:"id"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
}

type Transformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

type DataLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

type DashLink struct {
	Title       string `json:"title"`
	Type        string `json:"type"`
	URL         string `json:"url"`
	KeepTime    bool   `json:"keepTime"`
	IncludeVars bool   `json:"includeVars"`
}

type Variable struct {
	Name        string          `json:"name"`
	Label       string          `json:"label"`
	Description string          `json:"description"`
	Type        string          `json:"type"`
	Datasource  *DSRef          `json:"datasource"`
	Query       json.RawMessage `json:"query"`
	Multi       bool            `json:"multi"`
	IncludeAll  bool            `json:"includeAll"`
	AllValue    string          `json:"allValue"`
	// AllowCustomValue is Grafana's default true when absent.
	AllowCustomValue *bool `json:"allowCustomValue"`
	Current          struct {
		Text  any `json:"text"`
		Value any `json:"value"`
	} `json:"current"`
}

// SQL returns the variable's query: the rawSql of a query variable, the
// comma-separated values of a custom one, the default of a textbox.
func (v Variable) SQL() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var q struct {
		RawSQL string `json:"rawSql"`
	}
	json.Unmarshal(v.Query, &q)
	return q.RawSQL
}

// CustomValues returns the values of a custom variable ("a,b" or
// "text : value" pairs).
func (v Variable) CustomValues() []string {
	var out []string
	for _, part := range strings.Split(v.SQL(), ",") {
		part = strings.TrimSpace(part)
		if _, val, ok := strings.Cut(part, " : "); ok {
			part = strings.TrimSpace(val)
		}
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Leaves returns the panels that show data: every panel but rows,
// including the panels inside collapsed rows.
func (d *Dashboard) Leaves() []Panel {
	var out []Panel
	for _, p := range d.Panels {
		if p.Type == "row" {
			out = append(out, p.Panels...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// Query is one query a view of the dashboard runs: a panel's visible
// target, or a query variable's list ("variable <name>").
type Query struct {
	Title  string
	RawSQL string
}

// Queries are the queries every view of the dashboard runs: each data
// panel's targets that are shown and hold SQL, then each query
// variable's.
func (d *Dashboard) Queries() []Query {
	var out []Query
	for _, p := range d.Leaves() {
		for _, q := range p.Targets {
			if !q.Hide && strings.TrimSpace(q.RawSQL) != "" {
				out = append(out, Query{Title: p.Title, RawSQL: q.RawSQL})
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			out = append(out, Query{Title: "variable " + v.Name, RawSQL: v.SQL()})
		}
	}
	return out
}

// AllPanels returns every panel, rows and the panels inside them included.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

func (d *Dashboard) Variable(name string) (Variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// Load parses the dashboards of fsys that match pattern (e.g.
// "dashboards/*.json"), sorted by file name.
func Load(fsys fs.FS, pattern string) ([]*Dashboard, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no dashboards match %s", pattern)
	}
	sort.Strings(names)
	var out []*Dashboard
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		d := &Dashboard{File: path.Base(name)}
		if err := json.Unmarshal(raw, d); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, d)
	}
	return out, nil
}
