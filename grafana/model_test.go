package grafana

import (
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The part of Grafana's dashboard model the tests read.
type dashboard struct {
	file        string
	UID         string     `json:"uid"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Timezone    string     `json:"timezone"`
	Time        timeRange  `json:"time"`
	Panels      []panel    `json:"panels"`
	Links       []dashLink `json:"links"`
	Templating  struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Timepicker struct {
		QuickRanges []quickRange `json:"quick_ranges"`
	} `json:"timepicker"`
}

type timeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type quickRange struct {
	Display string `json:"display"`
	From    string `json:"from"`
	To      string `json:"to"`
}

type panel struct {
	ID              int              `json:"id"`
	Type            string           `json:"type"`
	Title           string           `json:"title"`
	Description     string           `json:"description"`
	GridPos         *gridPos         `json:"gridPos"`
	Datasource      *dsRef           `json:"datasource"`
	Targets         []queryTarget    `json:"targets"`
	FieldConfig     fieldConfig      `json:"fieldConfig"`
	Transformations []transformation `json:"transformations"`
	Panels          []panel          `json:"panels"` // of a collapsed row
}

type gridPos struct {
	H, W, X, Y int
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type queryTarget struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	EditorType string `json:"editorType"`
	RawSQL     string `json:"rawSql"`
	Format     *int   `json:"format"`
}

// Formats of a query target.
const (
	formatTimeSeries = 0
	formatTable      = 1
)

type fieldConfig struct {
	Defaults struct {
		Links []dataLink `json:"links"`
	} `json:"defaults"`
	Overrides []override `json:"overrides"`
}

type override struct {
	Matcher struct {
		ID      string `json:"id"`
		Options any    `json:"options"`
	} `json:"matcher"`
	Properties []struct {
		ID    string          `json:"id"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
}

type transformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

type dataLink struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

type dashLink struct {
	Title       string `json:"title"`
	Type        string `json:"type"`
	URL         string `json:"url"`
	KeepTime    bool   `json:"keepTime"`
	IncludeVars bool   `json:"includeVars"`
}

type variable struct {
	Name        string          `json:"name"`
	Label       string          `json:"label"`
	Description string          `json:"description"`
	Type        string          `json:"type"`
	Datasource  *dsRef          `json:"datasource"`
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
func (v variable) SQL() string {
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

// customValues returns the values of a custom variable ("a,b" or
// "text : value" pairs).
func (v variable) customValues() []string {
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

// leaves returns the panels that show data: every panel but rows,
// including the panels inside collapsed rows.
func (d *dashboard) leaves() []panel {
	var out []panel
	for _, p := range d.Panels {
		if p.Type == "row" {
			out = append(out, p.Panels...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// allPanels returns every panel, rows and the panels inside them included.
func (d *dashboard) allPanels() []panel {
	var out []panel
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

func (d *dashboard) variable(name string) (variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}

// loadDashboards parses every embedded dashboard, sorted by file name.
func loadDashboards(t testing.TB) []*dashboard {
	t.Helper()
	names, err := fs.Glob(Files, "dashboards/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no dashboards embedded: %v", err)
	}
	sort.Strings(names)
	var out []*dashboard
	for _, name := range names {
		raw, err := fs.ReadFile(Files, name)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: path.Base(name)}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, d)
	}
	return out
}

// dashboardByUID returns the dashboard with uid.
func dashboardByUID(t testing.TB, uid string) *dashboard {
	t.Helper()
	for _, d := range loadDashboards(t) {
		if d.UID == uid {
			return d
		}
	}
	t.Fatalf("no dashboard with uid %q", uid)
	return nil
}

// provisionedUID reads the data source uid from the provisioning YAML.
func provisionedUID(t testing.TB) string {
	t.Helper()
	raw, err := fs.ReadFile(Files, "provisioning/datasources/clickhouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+uid:\s*"?([A-Za-z0-9_-]+)"?\s*$`).FindAllStringSubmatch(string(raw), -1)
	if len(m) != 1 {
		t.Fatalf("provisioning/datasources/clickhouse.yaml: want exactly one data source uid, found %d", len(m))
	}
	return m[0][1]
}
