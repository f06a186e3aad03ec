package grafana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/grafana/dashgen"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

// The dashboards docs/dashboards.md describes, by uid.
var wantDashboards = map[string]string{
	"dialpad-overview":   "Department overview",
	"dialpad-agent":      "Agent activity",
	"dialpad-calls":      "Call explorer",
	"dialpad-etl-health": "ETL health",
	"dialpad-wallboard":  "Wallboard",
	"dialpad-scorecard":  "Agent scorecard",
	"dialpad-workforce":  "Workforce",
}

func TestDatasourceProvisioning(t *testing.T) {
	if uid := provisionedUID(t); uid != DatasourceUID {
		t.Fatalf("provisioned data source uid %q, want %q (DatasourceUID)", uid, DatasourceUID)
	}
	raw, _ := fs.ReadFile(Files, "provisioning/datasources/clickhouse.yaml")
	for _, want := range []string{
		"type: " + DatasourceType, "protocol: native", "host: ", "port: ", "username: ",
		"defaultDatabase: ", "secureJsonData:", "password: ${CLICKHOUSE_PASSWORD}",
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("clickhouse.yaml lacks %q", want)
		}
	}
	dash, err := fs.ReadFile(Files, "provisioning/dashboards/dialpad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type: file", "folder: Dialpad", "path: " + dashboardsMount} {
		if !strings.Contains(string(dash), want) {
			t.Errorf("dialpad.yaml lacks %q", want)
		}
	}
}

// dashboardsMount is where docker-compose.yml mounts grafana/dashboards and
// where the dashboards provider looks.
const dashboardsMount = "/var/lib/grafana/dashboards/dialpad"

func TestDashboardsAreWellFormed(t *testing.T) {
	dashes := loadDashboards(t)
	uids := map[string]bool{}
	for _, d := range dashes {
		if d.UID == "" || uids[d.UID] {
			t.Errorf("%s: uid %q is empty or not unique", d.File, d.UID)
		}
		uids[d.UID] = true
	}
	for uid, title := range wantDashboards {
		if !uids[uid] {
			t.Errorf("no dashboard with uid %s (%s)", uid, title)
		}
	}
	for _, d := range dashes {
		t.Run(d.UID, func(t *testing.T) {
			if want, ok := wantDashboards[d.UID]; ok && d.Title != want {
				t.Errorf("title %q, want %q", d.Title, want)
			}
			checkPanels(t, d)
			checkVariables(t, d)
			checkLinks(t, d, uids)
			checkQuickRanges(t, d)
		})
	}
}

func checkPanels(t *testing.T, d *dashboard) {
	ids := map[int]bool{}
	for _, p := range d.AllPanels() {
		if p.ID <= 0 || ids[p.ID] {
			t.Errorf("panel %q: id %d is missing or not unique", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Type == "text" {
			if p.Datasource != nil || len(p.Targets) > 0 {
				t.Errorf("text panel %q has a data source or a query", p.Title)
			}
			continue
		}
		if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: grid position %+v is missing or off the 24-column grid", p.Title, p.GridPos)
		}
		if !provisioned(p.Datasource) {
			t.Errorf("panel %q: data source %+v, want the provisioned %s", p.Title, p.Datasource, DatasourceUID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			if !provisioned(q.Datasource) || q.RefID == "" || q.EditorType != "sql" || strings.TrimSpace(q.RawSQL) == "" {
				t.Errorf("panel %q: query %q must be SQL on the provisioned data source with a refId", p.Title, q.RefID)
			}
			if q.Format == nil || (*q.Format != formatTimeSeries && *q.Format != formatTable) {
				t.Errorf("panel %q: query %q: format must be 0 (time series) or 1 (table)", p.Title, q.RefID)
			} else if (p.Type == "timeseries") != (*q.Format == formatTimeSeries) {
				t.Errorf("panel %q (%s): query format %d does not fit the panel", p.Title, p.Type, *q.Format)
			}
			for _, m := range readsTable.FindAllStringSubmatch(q.RawSQL, -1) {
				if m[2] == "" && !latestWithoutFinal[d.UID+"/"+p.Title] {
					t.Errorf("panel %q reads %s without FINAL", p.Title, m[1])
				}
			}
			if !strings.Contains(q.RawSQL, "${target}") && !strings.Contains(q.RawSQL, "$target") && !anyTarget[d.UID+"/"+p.Title] {
				t.Errorf("panel %q does not filter on the target variable", p.Title)
			}
		}
	}
}

// anyTarget are the panels that are not about one target, by dashboard
// uid and title: whether Dialpad's events arrive at all, the reports
// e-mailed (each holds every target) and the job's connection to the
// websocket.
var anyTarget = map[string]bool{
	"dialpad-wallboard/Last event received":         true,
	"dialpad-etl-health/E-mailed reports":           true,
	"dialpad-etl-health/Time without the websocket": true,
}

// readsTable finds reads of the ReplacingMergeTree tables, which must be
// read with FINAL (etl_runs is a plain MergeTree, where FINAL fails).
// call_events is read only for its newest received_at, which a repeated
// delivery does not change. The agents' time and the intervals are
// written over with newer versions as the job counts them again.
var readsTable = regexp.MustCompile(`FROM (calls|conversations|agent_daily|agents|rejected_calls|etl_state|etl_windows|live_calls|agent_status|` +
	`agent_intervals|agent_duty_intervals|agent_time_daily|agent_duty_daily|target_intervals|reasons_daily|call_feedback)\b(\s+FINAL)?`)

// latestWithoutFinal are the panels that also read, besides their FINAL
// reads, each agent's latest status before the range with argMax over
// started_ms and no FINAL: the versions of one status share its start and
// its state, so a row written over cannot change the answer, and FINAL
// would merge a year of statuses to find it.
var latestWithoutFinal = map[string]bool{
	"dialpad-workforce/Agent states": true,
}

func provisioned(ds *dsRef) bool {
	return ds != nil && ds.UID == DatasourceUID && ds.Type == DatasourceType
}

func checkVariables(t *testing.T, d *dashboard) {
	defined := map[string]bool{}
	for _, v := range d.Templating.List {
		if v.Name == "" || defined[v.Name] {
			t.Errorf("variable %q is unnamed or defined twice", v.Name)
		}
		// A variable may use the variables defined before it.
		for _, used := range expand.References(v.SQL()) {
			if !defined[used] {
				t.Errorf("variable %s uses $%s, which is not defined before it", v.Name, used)
			}
		}
		defined[v.Name] = true
		switch v.Type {
		case "query":
			if !provisioned(v.Datasource) || strings.TrimSpace(v.SQL()) == "" {
				t.Errorf("query variable %s needs SQL on the provisioned data source", v.Name)
			}
		case "custom":
			if len(v.CustomValues()) == 0 {
				t.Errorf("custom variable %s has no values", v.Name)
			}
		case "textbox", "constant":
		default:
			t.Errorf("variable %s: type %q is not one these dashboards use", v.Name, v.Type)
		}
	}
	if _, ok := d.Variable("target"); !ok {
		t.Error("no target variable")
	}
	tz, ok := d.Variable("tz")
	if !ok {
		t.Error("no tz variable (the reporting time zone)")
	} else if cur, _ := tz.Current.Value.(string); cur != "UTC" || !strings.Contains(tz.Description, "ETL_TIMEZONE") {
		t.Errorf("tz variable: default %v, want UTC, and a description that says to set it to ETL_TIMEZONE", tz.Current.Value)
	}
	var texts []string
	texts = append(texts, d.Title, d.Description)
	for _, p := range d.AllPanels() {
		texts = append(texts, p.Title, p.Description)
		for _, q := range p.Targets {
			texts = append(texts, q.RawSQL)
		}
		for _, l := range panelLinks(p) {
			texts = append(texts, l.Title, l.URL)
		}
	}
	for _, l := range d.Links {
		texts = append(texts, l.Title, l.URL)
	}
	for _, s := range texts {
		for _, used := range expand.References(s) {
			if !defined[used] {
				t.Errorf("$%s is used but not defined (in %.60q)", used, s)
			}
		}
	}
}

// panelLinks returns the data links of p: its defaults' and its
// overrides'.
func panelLinks(p panel) []dataLink {
	links := append([]dataLink(nil), p.FieldConfig.Defaults.Links...)
	for _, o := range p.FieldConfig.Overrides {
		for _, prop := range o.Properties {
			if prop.ID != "links" {
				continue
			}
			var ls []dataLink
			if err := json.Unmarshal(prop.Value, &ls); err == nil {
				links = append(links, ls...)
			}
		}
	}
	return links
}

var dashboardURL = regexp.MustCompile(`^/d/([A-Za-z0-9_-]+)(/[A-Za-z0-9_-]*)?(\?.*)?$`)

func checkLinks(t *testing.T, d *dashboard, uids map[string]bool) {
	linked := map[string]bool{}
	for _, l := range d.Links {
		m := dashboardURL.FindStringSubmatch(l.URL)
		switch {
		case l.Type != "link" || m == nil:
			t.Errorf("dashboard link %q: want a link to /d/<uid>, got %s %q", l.Title, l.Type, l.URL)
		case !uids[m[1]]:
			t.Errorf("dashboard link %q points at unknown uid %s", l.Title, m[1])
		case !l.KeepTime || !l.IncludeVars:
			t.Errorf("dashboard link %q must keep the time range and the variables", l.Title)
		}
		if m != nil {
			linked[m[1]] = true
		}
	}
	for uid := range uids {
		if uid != d.UID && !linked[uid] {
			t.Errorf("no link to dashboard %s", uid)
		}
	}
	for _, p := range d.Leaves() {
		for _, l := range panelLinks(p) {
			m := dashboardURL.FindStringSubmatch(l.URL)
			if m == nil || !uids[m[1]] {
				t.Errorf("panel %q: data link %q does not point at a dashboard here", p.Title, l.URL)
				continue
			}
			for _, keep := range []string{"${__url_time_range}", "${target:queryparam}", "${tz:queryparam}"} {
				if !strings.Contains(l.URL, keep) && !strings.Contains(l.URL, "${__all_variables}") {
					t.Errorf("panel %q: data link %q does not keep %s", p.Title, l.URL, keep)
				}
			}
		}
	}
}

func checkQuickRanges(t *testing.T, d *dashboard) {
	want := map[string][2]string{
		"Today":        {"now/d", "now/d"},
		"Last 3 days":  {"now-3d/d", "now/d"},
		"Last 7 days":  {"now-7d/d", "now/d"},
		"Last 14 days": {"now-14d/d", "now/d"},
	}
	got := map[string][2]string{}
	for _, r := range d.Timepicker.QuickRanges {
		got[r.Display] = [2]string{r.From, r.To}
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("quick range %q is %v, want %v", name, got[name], w)
		}
	}
}

// What a user types can never change the SQL around it: the only free
// text is a textbox, which reaches SQL only percent-encoded inside
// decodeURLComponent('...') (Grafana's sqlstring and singlequote formats
// leave a backslash, which ClickHouse reads as an escape), and no other
// variable takes a typed value.
func TestNoTypedTextReachesTheSQLRaw(t *testing.T) {
	safe := regexp.MustCompile(`decodeURLComponent\('\$\{(\w+):percentencode\}'\)`)
	for _, d := range loadDashboards(t) {
		boxes := map[string]bool{}
		for _, v := range d.Templating.List {
			switch v.Type {
			case "textbox":
				boxes[v.Name] = true
			case "query", "custom":
				if v.AllowCustomValue == nil || *v.AllowCustomValue {
					t.Errorf("%s: variable %s takes typed values (allowCustomValue is not false)", d.UID, v.Name)
				}
			}
		}
		for _, p := range d.Leaves() {
			for _, q := range p.Targets {
				rest := safe.ReplaceAllString(q.RawSQL, "")
				for box := range boxes {
					if regexp.MustCompile(`\$\{?` + box + `\b|\[\[` + box + `\b`).MatchString(rest) {
						t.Errorf("%s / %q: the textbox %s reaches the SQL other than as decodeURLComponent('${%s:percentencode}')", d.UID, p.Title, box, box)
					}
				}
			}
		}
	}
}

// The provisioned dashboards are what dashgen builds from its sources: a
// change made to the JSON by hand, or to a source without "go generate
// ./grafana", fails here.
func TestDashboardsAreGenerated(t *testing.T) {
	built, err := dashgen.Build()
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(Files, "dashboards/*.json")
	if len(names) != len(built) {
		t.Errorf("%d dashboards provisioned, dashgen builds %d", len(names), len(built))
	}
	for name, want := range built {
		got, err := fs.ReadFile(Files, "dashboards/"+name)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("dashboards/%s is not what dashgen builds (%v): run go generate ./grafana", name, err)
		}
	}
}

// Free text from Dialpad (labels, dispositions, CSAT comments, names) is
// shown as text: every panel is of a kind that draws its values as text
// (a text panel, whose Markdown is its own, has no query), and no table
// cell renders its value as Markdown, HTML, JSON, an image or a link.
func TestFreeTextIsShownAsText(t *testing.T) {
	panels := map[string]bool{"stat": true, "table": true, "timeseries": true, "piechart": true, "state-timeline": true, "text": true}
	cellTypes := map[string]bool{"auto": true, "color-text": true, "color-background": true}
	names, _ := fs.Glob(Files, "dashboards/*.json")
	for _, name := range names {
		raw, err := fs.ReadFile(Files, name)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		ps, _ := d["panels"].([]any)
		for _, p := range ps {
			p := p.(map[string]any)
			if typ := fmt.Sprint(p["type"]); !panels[typ] {
				t.Errorf("%s / %q: a %s panel; is its text escaped?", name, p["title"], typ)
			}
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if v["id"] == "custom.cellOptions" {
					if opts, ok := v["value"].(map[string]any); ok && !cellTypes[fmt.Sprint(opts["type"])] {
						t.Errorf("%s: a cell type %v", name, opts["type"])
					}
				}
				if opts, ok := v["cellOptions"].(map[string]any); ok && !cellTypes[fmt.Sprint(opts["type"])] {
					t.Errorf("%s: a cell type %v", name, opts["type"])
				}
				for _, x := range v {
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(d)
	}
}
