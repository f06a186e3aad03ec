// Command write writes the dashboards that dashgen builds into the folder
// named by its first argument (default "dashboards", as "go generate
// ./grafana" runs it from grafana/), and removes any other dashboard
// there; and the alert rules into the folder named by its second
// (default "provisioning/alerting").
//
// It imports grafana/dashgen only.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dialpad-etl/dialpad-etl/grafana/dashgen"
)

func main() {
	dir, alerting := "dashboards", filepath.Join("provisioning", "alerting")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if len(os.Args) > 2 {
		alerting = os.Args[2]
	}
	if err := write(dir, alerting); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}

func write(dir, alerting string) error {
	built, err := dashgen.Build()
	if err != nil {
		return err
	}
	alerts, err := dashgen.BuildAlerts(built)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(alerting, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(alerting, dashgen.AlertsFile), alerts, 0o644); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if _, ok := built[filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for name, b := range built {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
