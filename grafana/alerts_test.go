package grafana

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/alerting"
	"github.com/grafana/grafana-foundation-sdk/go/cog"

	"github.com/dialpad-etl/dialpad-etl/grafana/dashgen"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

const alertsPath = "provisioning/alerting/" + dashgen.AlertsFile

// wantAlerts are the rules docs/alerts.md describes, by uid.
var wantAlerts = []string{"dialpad-service-level", "dialpad-abandonment", "dialpad-longest-wait", "dialpad-nobody-available",
	"dialpad-load-stale", "dialpad-events-silent", "dialpad-reconcile-differ", "dialpad-report-failed"}

func loadAlerts(t testing.TB) *expand.AlertFile {
	t.Helper()
	f, err := expand.LoadAlerts(Files, alertsPath)
	if err != nil {
		t.Fatalf("the embedded alert rules: %v", err)
	}
	return f
}

// alertRule returns the provisioned rule with uid.
func alertRule(t testing.TB, uid string) expand.Rule {
	t.Helper()
	for _, g := range loadAlerts(t).Groups {
		for _, r := range g.Rules {
			if r.UID == uid {
				return r
			}
		}
	}
	t.Fatalf("no alert rule with uid %q", uid)
	return expand.Rule{}
}

// The provisioned alert rules are what dashgen builds.
func TestAlertsAreGenerated(t *testing.T) {
	dashboards, err := dashgen.Build()
	if err != nil {
		t.Fatal(err)
	}
	want, err := dashgen.BuildAlerts(dashboards)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(Files, alertsPath)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s is not what dashgen builds (%v): run go generate ./grafana", alertsPath, err)
	}
}

// Each group of the file, with what Grafana adds from the group to each
// rule (its folder, org and group), decodes strictly into the foundation
// SDK's alerting types, Grafana's own model of rule groups; its states
// are among the SDK's.
func TestAlertsDecodeIntoGrafanasTypes(t *testing.T) {
	raw, err := fs.ReadFile(Files, alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		APIVersion int `json:"apiVersion"`
		Groups     []struct {
			OrgID    int64             `json:"orgId"`
			Name     string            `json:"name"`
			Folder   string            `json:"folder"`
			Interval string            `json:"interval"`
			Rules    []json.RawMessage `json:"rules"`
		} `json:"groups"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	if file.APIVersion != 1 || len(file.Groups) == 0 {
		t.Fatalf("apiVersion %d, %d groups; want 1 and some", file.APIVersion, len(file.Groups))
	}
	for _, g := range file.Groups {
		interval, err := time.ParseDuration(g.Interval)
		if err != nil || interval < time.Minute || g.Folder != "Dialpad" || g.OrgID != 1 {
			t.Errorf("group %q: interval %q (%v), folder %q, org %d; want at least 1m, Dialpad, 1", g.Name, g.Interval, err, g.Folder, g.OrgID)
		}
		var rules []json.RawMessage
		for _, r := range g.Rules {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatal(err)
			}
			m["folderUID"], m["orgID"], m["ruleGroup"] = "dialpad", g.OrgID, g.Name
			b, _ := json.Marshal(m)
			rules = append(rules, b)
		}
		group, _ := json.Marshal(map[string]any{"title": g.Name, "folderUid": "dialpad",
			"interval": int64(interval / time.Second), "rules": rules})
		var sdk alerting.RuleGroup
		if err := sdkError(sdk.UnmarshalJSONStrict(group)); err != nil {
			t.Errorf("group %q does not decode into alerting.RuleGroup: %v", g.Name, err)
			continue
		}
		for _, r := range sdk.Rules {
			if !slices.Contains([]alerting.RuleNoDataState{alerting.RuleNoDataStateOK, alerting.RuleNoDataStateAlerting,
				alerting.RuleNoDataStateNoData, alerting.RuleNoDataStateKeepLast}, r.NoDataState) {
				t.Errorf("%s: noDataState %q is not one of Grafana's", r.Title, r.NoDataState)
			}
			if !slices.Contains([]alerting.RuleExecErrState{alerting.RuleExecErrStateOK, alerting.RuleExecErrStateAlerting,
				alerting.RuleExecErrStateError, alerting.RuleExecErrStateKeepLast}, r.ExecErrState) {
				t.Errorf("%s: execErrState %q is not one of Grafana's", r.Title, r.ExecErrState)
			}
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", r.Title, r.For, err)
			}
		}
	}
}

// sdkError is err, or nil for the SDK's empty list of errors (which its
// strict decoders return, typed, when all went well).
func sdkError(err error) error {
	var list cog.BuildErrors
	if errors.As(err, &list) && len(list) == 0 {
		return nil
	}
	return err
}

// Every rule is well-formed: a unique uid; its condition an expression
// over its queries; SQL for the provisioned data source, expressions for
// __expr__; labels severity, team and target (a column of its query, or
// a fixed one) with nothing Grafana would read as an environment variable
// (it expands $NAME in labels); a summary and description; a link to a
// panel that exists; a quiet night is no alert.
func TestAlertsAreWellFormed(t *testing.T) {
	f := loadAlerts(t)
	panels := map[string]map[string]bool{}
	for _, d := range loadDashboards(t) {
		panels[d.UID] = map[string]bool{}
		for _, p := range d.AllPanels() {
			panels[d.UID][strconv.Itoa(p.ID)] = true
		}
	}
	uids := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			t.Run(r.UID, func(t *testing.T) {
				if r.UID == "" || uids[r.UID] || len(r.UID) > 40 {
					t.Errorf("uid %q is empty, not unique or longer than Grafana's 40 characters", r.UID)
				}
				uids[r.UID] = true
				checkRuleQueries(t, r)
				if r.NoDataState != "OK" {
					t.Errorf("noDataState %q: a quiet night or a closed call center returns no row, which is not an alert", r.NoDataState)
				}
				if !slices.Contains([]string{"warning", "critical"}, r.Labels["severity"]) || r.Labels["team"] == "" {
					t.Errorf("labels %v: want severity warning or critical, and a team", r.Labels)
				}
				a, _ := r.Query("A")
				if _, fixed := r.Labels["target"]; !fixed && !regexp.MustCompile(`\bAS target\b`).MatchString(a.Model.RawSQL) {
					t.Error("neither a target label nor a target column")
				}
				for k, v := range r.Labels {
					if strings.Contains(k+v, "$") {
						t.Errorf("label %s=%q: Grafana's provisioning would expand its $", k, v)
					}
				}
				if !strings.Contains(r.Annotations["summary"], "$values.A.Value") || r.Annotations["description"] == "" {
					t.Errorf("annotations %v: want a summary that gives the figure, and a description", r.Annotations)
				}
				if !strings.Contains(r.Annotations["summary"], "$labels.target") && !strings.Contains(r.Annotations["summary"], "$labels.report") {
					t.Errorf("summary %q names no target", r.Annotations["summary"])
				}
				dash, panel := r.Annotations["__dashboardUid__"], r.Annotations["__panelId__"]
				if !panels[dash][panel] {
					t.Errorf("links to panel %q of dashboard %q, which does not exist", panel, dash)
				}
			})
		}
	}
	for _, uid := range wantAlerts {
		if !uids[uid] {
			t.Errorf("no alert rule %s", uid)
		}
	}
}

// checkRuleQueries checks the queries of r: SQL queries (A, and B where
// the threshold is a setting) go to the provisioned ClickHouse data
// source as tables, expressions to __expr__, and the condition compares A
// with B or a constant.
func checkRuleQueries(t *testing.T, r expand.Rule) {
	t.Helper()
	uid := provisionedUID(t)
	refs := map[string]bool{}
	for _, q := range r.Data {
		refs[q.RefID] = true
		if q.Model.RefID != q.RefID {
			t.Errorf("query %s: model refId %q", q.RefID, q.Model.RefID)
		}
		switch q.DatasourceUID {
		case uid:
			if q.Model.Datasource == nil || q.Model.Datasource.UID != uid || q.Model.Datasource.Type != DatasourceType ||
				q.Model.Format == nil || *q.Model.Format != expand.FormatTable || q.Model.RawSQL == "" {
				t.Errorf("query %s: want SQL of a table for %s", q.RefID, uid)
			}
			if q.RelativeTimeRange.From <= q.RelativeTimeRange.To {
				t.Errorf("query %s: relative time range %+v is empty", q.RefID, q.RelativeTimeRange)
			}
		case "__expr__":
			if q.Model.Datasource == nil || q.Model.Datasource.UID != "__expr__" || q.Model.Type != "math" {
				t.Errorf("expression %s: want a math expression of __expr__", q.RefID)
			}
		default:
			t.Errorf("query %s: data source %q is neither %s nor __expr__", q.RefID, q.DatasourceUID, uid)
		}
	}
	c, ok := r.Query(r.Condition)
	if !ok || c.DatasourceUID != "__expr__" {
		t.Fatalf("condition %q is not an expression of the rule", r.Condition)
	}
	m := comparison.FindStringSubmatch(c.Model.Expression)
	if m == nil || !refs["A"] || (m[2] == "$B") != refs["B"] {
		t.Errorf("condition %q: want $A < or > $B (the setting) or a constant", c.Model.Expression)
	}
}

// comparison is a condition's expression: $A compared with $B or a
// constant.
var comparison = regexp.MustCompile(`^\$A ([<>]) (\$B|\d+(?:\.\d+)?)$`)
