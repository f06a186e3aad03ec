package grafana

import (
	"io/fs"
	"regexp"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

// The dashboard model and the expansion of a panel's SQL are package
// expand's; the tests call its types by these names.
type (
	dashboard = expand.Dashboard
	panel     = expand.Panel
	variable  = expand.Variable
	expansion = expand.Expansion
	selection = expand.Selection
	dsRef     = expand.DSRef
	dataLink  = expand.DataLink
)

const (
	formatTimeSeries = expand.FormatTimeSeries
	formatTable      = expand.FormatTable
)

// loadDashboards parses every embedded dashboard, sorted by file name.
func loadDashboards(t testing.TB) []*dashboard {
	t.Helper()
	out, err := expand.Load(Files, "dashboards/*.json")
	if err != nil {
		t.Fatalf("the embedded dashboards: %v", err)
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
