// Package grafana holds the Grafana side of dialpad-etl: the provisioning
// of the ClickHouse data source and of the dashboards folder, the
// dashboards themselves (JSON, one file per dashboard, built by dashgen:
// edit grafana/dashgen/src and run "go generate ./grafana"), and the
// alert rules (provisioning/alerting/dialpad.json, built by dashgen from
// alerts.go).
// docker-compose.yml mounts the folders into the grafana service; Files
// gives them to Go code and tests.
//
// Every panel queries the data source whose uid is DatasourceUID, in SQL
// that runs on ClickHouse 18.16 as well as on current releases, with only
// the plugin macros both understand ($__timeFilter, $__fromTime,
// $__toTime, $__dateFilter, $__interval_s, $__conditionalAll). Days and
// hours are counted in the dashboards' tz variable, which must equal the
// job's ETL_TIMEZONE. The wallboard's "today" is the job's own day (from
// calls_daily), and its live figures read the tables of Dialpad's events,
// only while events arrive.
//
// It imports nothing of this module.
package grafana

import "embed"

// The dashboards and the alert rules are built from dashgen's sources,
// where what panels share is written once:
//
//go:generate go run ./dashgen/write

// Files holds dashboards/*.json, provisioning/** (alerting/dialpad.json
// among them) and clickhouse/*.xml
// (Grafana's read-only ClickHouse user).
//
//go:embed dashboards/*.json provisioning clickhouse/*.xml
var Files embed.FS

// DatasourceUID is the uid of the provisioned ClickHouse data source, which
// every panel and variable refers to.
const DatasourceUID = "dialpad-clickhouse"

// DatasourceType is the id of Grafana's ClickHouse data source plugin.
const DatasourceType = "grafana-clickhouse-datasource"
