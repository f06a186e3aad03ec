package dashgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The provisioned alert rules (provisioning/alerting/dialpad.json), in
// Grafana's file provisioning format (apiVersion 1). Each rule's query A
// returns one row per target: a target column (type:id), which Grafana
// makes the alert's label, and one number; a target without a row (a
// quiet queue, a closed call center, too few calls) has no alert, and a
// rule none of whose targets has a row is OK (noDataState). Query B, where
// there is one, is the rule's threshold, read from etl_settings, where the
// job records its settings at each start (no row before it first ran: the
// rule stays quiet). Expression C compares the two and is the condition.
//
// The rules run in Grafana's backend, where no template variable exists:
// their SQL uses only the plugin's macros, and "now" is $__toTime, the
// end of the rule's relative time range (which the tests fix).

// AlertsFile is the provisioned alert rules' file name, under
// provisioning/alerting.
const AlertsFile = "dialpad.json"

// alertTarget is a row's target, the alerts' target label.
const alertTarget = "concat(toString(target_type), ':', toString(target_id)) AS target"

// setting is the query of the number the job records in etl_settings as
// name: one row, or none before the job first recorded it.
func setting(name, alias string) string {
	return fmt.Sprintf("SELECT toFloat64OrZero(argMax(value, version)) AS %s\nFROM etl_settings\nWHERE name = '%s'\nHAVING count() > 0", alias, name)
}

// offered is the conversations' offered calls: inbound, short abandons
// left out (the denominator of service level and abandonment).
const offered = "(toInt64(countIf(direction = 'inbound')) - toInt64(sum(short_abandoned)))"

// lastHalfHour is a figure of each target's conversations that started
// in the rule's range (the last 30 minutes), for targets with at least
// ALERT_MIN_OFFERED offered calls in it whose call events arrive (one in
// the range): without events the range is only filled by the hourly
// load, and a figure of part of it would fire and clear every hour.
func lastHalfHour(figure string) string {
	return fmt.Sprintf(`SELECT %s,
    %s
FROM conversations FINAL
WHERE day >= toDate($__fromTime, 'UTC') - 1 AND day <= toDate($__toTime, 'UTC') + 1
  AND $__timeFilter(started_at)
GROUP BY target_type, target_id
HAVING %s >= greatest((SELECT toFloat64OrZero(argMax(value, version)) FROM etl_settings WHERE name = 'alert_min_offered'), 1)
  AND target IN (SELECT concat(toString(target_type), ':', toString(target_id)) FROM live_calls
    WHERE started_at >= $__toTime - 2 * 86400 AND event_at >= $__fromTime)`,
		alertTarget, figure, offered)
}

// The rules' queries.
var (
	// serviceLevelSQL is the service level of the last 30 minutes, in
	// percent: answered within KPI_SERVICE_LEVEL_THRESHOLD / offered.
	serviceLevelSQL = lastHalfHour("100 * sum(answered_in_threshold) / " + offered + " AS service_level")
	// abandonmentSQL is the abandonment of the last 30 minutes, in
	// percent: abandoned (not short) / offered.
	abandonmentSQL = lastHalfHour("100 * sum(abandoned) / " + offered + " AS abandonment")

	// waitingNow keeps the live_calls rows of inbound callers waiting now
	// (not yet connected anywhere), while call events arrive (the
	// wallboard's definition, with now at $__toTime).
	waitingNow = `started_at >= $__toTime - 2 * 86400 AND ended = 0 AND expires_at > $__toTime
      AND is_entry_leg = 1 AND direction = 'inbound' AND state IN ('calling', 'ringing', 'queued')
      AND conversation_id NOT IN (SELECT conversation_id FROM live_calls FINAL
          WHERE started_at >= $__toTime - 2 * 86400 AND ended = 0 AND expires_at > $__toTime AND state IN ('connected', 'hold'))
      AND (SELECT max(received_at) FROM call_events WHERE event_at >= $__toTime - 86400) >= $__toTime - 900`

	// freshPolls is each polled call center's latest poll of the last
	// day, when it is not stale (the wallboard's definition: three
	// polling intervals, at least two minutes), with columns.
	freshPolls = func(columns string) string {
		return `SELECT target_type, target_id, ` + columns + `
    FROM callcenter_status
    WHERE polled_at >= $__toTime - 86400 AND polled_at <= $__toTime
    GROUP BY target_type, target_id
    HAVING max(polled_at) >= $__toTime - toUInt32(greatest(3 * argMax(interval_s, polled_ms), 120))`
	}

	// longestWaitSQL is the longest current wait per target, in seconds:
	// of the callers waiting now (events) and of Dialpad's latest status
	// (polls), the longer.
	longestWaitSQL = `SELECT ` + alertTarget + `, toFloat64(max(wait_s)) AS longest_wait_s
FROM
(
    SELECT target_type, target_id, toInt64(greatest(max(dateDiff('second', waiting_since, $__toTime)), 0)) AS wait_s
    FROM live_calls FINAL
    WHERE ` + waitingNow + `
    GROUP BY target_type, target_id
    UNION ALL
    ` + freshPolls("toInt64(argMax(longest_call_wait_s, polled_ms)) AS wait_s") + `
) AS waits
GROUP BY target_type, target_id`

	// unstaffedSQL is, per call center, the callers waiting while none
	// of its agents is available, else 0: from Dialpad's latest status
	// (polls: calls pending, capacity 0) and from the events (callers
	// waiting now, and none of the call center's agents available and on
	// duty for it, of those whose status events arrive), the larger.
	unstaffedSQL = `SELECT ` + alertTarget + `, toFloat64(max(unstaffed)) AS waiting_unstaffed
FROM
(
    SELECT target_type, target_id, toUInt64(if(available = 0, waiting, 0)) AS unstaffed
    FROM
    (
        ` + indent(freshPolls("argMax(pending, polled_ms) AS waiting, argMax(capacity, polled_ms) AS available")) + `
    ) AS poll
    UNION ALL
    SELECT target_type, target_id, toUInt64(if(available = 0, waiting, 0)) AS unstaffed
    FROM
    (
        SELECT target_type, target_id, count() AS waiting
        FROM live_calls FINAL
        WHERE target_type = 'callcenter' AND ` + indent(waitingNow) + `
        GROUP BY target_type, target_id
    ) AS waiting_now
    ANY INNER JOIN
    (
        SELECT target_type, target_id,
            countIf(status_now = 'available' AND duty_now = 1 AND has(centers_now, target_id)) AS available
        FROM
        (
            SELECT target_type, target_id, agent_id
            FROM agents FINAL
            WHERE target_type = 'callcenter' AND kind = 'user'
        ) AS members
        ANY INNER JOIN
        (
            SELECT agent_id, argMax(status, started_ms) AS status_now, argMax(on_duty, started_ms) AS duty_now,
                argMax(call_center_ids, started_ms) AS centers_now
            FROM agent_status FINAL
            WHERE ended_ms = 0
            GROUP BY agent_id
        ) AS statuses USING (agent_id)
        GROUP BY target_type, target_id
    ) AS staffed USING (target_type, target_id)
) AS unstaffed_now
GROUP BY target_type, target_id`

	// staleLoadSQL is the seconds since each target's last successful
	// load (since 1970 when none in 35 days), for the targets the job
	// still runs.
	staleLoadSQL = `SELECT ` + alertTarget + `,
    toFloat64(dateDiff('second', maxIf(finished_at, status = 'succeeded'), $__toTime)) AS since_success_s
FROM etl_runs
WHERE started_at >= $__toTime - 35 * 86400 AND started_at <= $__toTime
GROUP BY target_type, target_id
HAVING ` + stillRun

	// eventsSilentSQL is the seconds since each target's call events
	// last arrived, for the targets whose events arrived in the last 35
	// days, that the job still runs, and for which calls were due since:
	// at least forecastDue by the staffing forecast of the last day (the
	// calls it expects in the intervals since, in part for the parts of
	// intervals; unless Dialpad's latest status says the call center is
	// closed), or at least loadedDue inbound calls of the last 7 days
	// that the loads brought and that started more than a minute after
	// it.
	eventsSilentSQL = `SELECT ` + alertTarget + `, toFloat64(dateDiff('second', any(last_received), $__toTime)) AS silent_s
FROM
(
    SELECT target_type, target_id, last_received,
        offered * greatest(toInt64(least(toUInt32(interval_start) + 900, toUInt32($__toTime))) - toInt64(greatest(toUInt32(interval_start), toUInt32(last_received))), 0) / 900 AS due,
        toUInt64(0) AS came
    FROM
    (
        ` + indent(indent(lastReceived)) + `
    ) AS seen
    ALL INNER JOIN
    (
        SELECT target_type, target_id, interval_start, offered
        FROM staffing FINAL
        WHERE forecast = 1 AND day >= toDate($__toTime, 'UTC') - 2 AND day <= toDate($__toTime, 'UTC') + 1
          AND interval_start > $__toTime - 86400 - 900 AND interval_start < $__toTime
    ) AS forecast USING (target_type, target_id)
    WHERE concat(toString(target_type), ':', toString(target_id)) NOT IN
    (
        SELECT concat(toString(target_type), ':', toString(target_id))
        FROM
        (
            ` + indent(indent(freshPolls("argMax(is_open, polled_ms) AS open_now"))) + `
        ) AS poll
        WHERE open_now = 0
    )
    UNION ALL
    SELECT target_type, target_id, last_received, toFloat64(0) AS due, toUInt64(1) AS came
    FROM
    (
        ` + indent(indent(lastReceived)) + `
    ) AS seen
    ALL INNER JOIN
    (
        SELECT target_type, target_id, started_at
        FROM conversations FINAL
        WHERE day >= toDate($__toTime, 'UTC') - 8 AND day <= toDate($__toTime, 'UTC') + 1
          AND started_at > $__toTime - 7 * 86400 AND started_at <= $__toTime AND direction = 'inbound'
    ) AS loaded USING (target_type, target_id)
    WHERE started_at > last_received + 60
) AS calls_since
GROUP BY target_type, target_id
HAVING (sum(due) >= ` + strconv.Itoa(forecastDue) + ` OR sum(came) >= ` + strconv.Itoa(loadedDue) + `)
  AND ` + stillRun

	// disagreeingDaysSQL is, per target, the days of the last 35 whose
	// latest reconciliation with Dialpad's export found a difference, of
	// those still reconciled (checked in the last two days): a difference
	// that lasts past RECONCILE_DAYS is recorded, not alerted on for weeks.
	disagreeingDaysSQL = `SELECT ` + alertTarget + `, toFloat64(countIf(latest = 'differ' AND last_checked >= $__toTime - 2 * 86400)) AS days_differ
FROM
(
    SELECT target_type, target_id, day, toString(argMax(status, checked_ms)) AS latest, max(checked_at) AS last_checked
    FROM reconciliation
    WHERE day >= toDate($__toTime, 'UTC') - 35 AND checked_at <= $__toTime
    GROUP BY target_type, target_id, day
) AS days
GROUP BY target_type, target_id`

	// failedReportsSQL is, per kind of report, the periods whose latest
	// attempt, in the last day, failed.
	failedReportsSQL = `SELECT toString(kind) AS report, toFloat64(countIf(latest = 'failed')) AS failed
FROM
(
    SELECT kind, period_from, toString(argMax(status, at)) AS latest
    FROM report_sends
    WHERE at >= $__toTime - 35 * 86400 AND at <= $__toTime
    GROUP BY kind, period_from
    HAVING max(at) >= $__toTime - 86400
) AS periods
GROUP BY kind`
)

// indent is s, a piece of a query, with its lines after the first
// indented one level more.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

// How many calls must have been due since a target's call events last
// arrived for its silence to be an alert. By the forecast: a gap between
// calls is this long by chance once in 22,000 gaps (e^-10), and on a day
// 30 % quieter than forecast once in 1,100 (e^-7); fewer would alert a
// queue of a few calls a minute every few days. By the calls loaded,
// which Dialpad listed and no event told of: a few are evidence.
const (
	forecastDue = 10
	loadedDue   = 3
)

// lastReceived is, per target whose call events arrived in the last 35
// days, when they last did (last_received).
const lastReceived = `SELECT target_type, target_id, max(received_at) AS last_received
FROM target_events
WHERE received_at >= $__toTime - 35 * 86400 AND received_at <= $__toTime
GROUP BY target_type, target_id`

// stillRun keeps, in a HAVING, the targets (in a column target) the job
// still runs: those with a run no more than a day before the newest run
// of any target. A target taken out of DIALPAD_TARGETS drops out a day
// later; a job that stopped keeps all its targets.
const stillRun = `target IN
(
    SELECT concat(toString(target_type), ':', toString(target_id))
    FROM etl_runs
    WHERE started_at >= $__toTime - 35 * 86400 AND started_at <= $__toTime
    GROUP BY target_type, target_id
    HAVING max(started_at) >= (SELECT max(started_at) FROM etl_runs WHERE started_at >= $__toTime - 35 * 86400 AND started_at <= $__toTime) - 86400
)`

// eventsSilentS is how long a target open by its calls may go without a
// call event before its rule fires.
const eventsSilentS = 900

// alertRule is one provisioned rule: its query A, its threshold (query
// B of an etl_settings name, or a constant) and the comparison of A to
// it, and the dashboard panel it links to (by dashboard uid and panel
// title).
type alertRule struct {
	uid, title, group string
	sql               string
	rangeS            int64   // the relative time range: the last rangeS seconds
	setting           string  // etl_settings name of the threshold, or ""
	constant          float64 // the threshold when setting is ""
	op                string  // "<" or ">": A op threshold fires
	pending           string  // for
	severity, team    string
	target            string // a static target label, for a rule without a target column
	dashboard, panel  string
	summary, desc     string
}

// alertRules are the rules, in the file's order.
var alertRules = []alertRule{
	{uid: "dialpad-service-level", title: "Service level below goal", group: callsGroup, sql: serviceLevelSQL, rangeS: 1800,
		setting: "kpi_service_level_goal", op: "<", pending: "5m", severity: "warning", team: "manager",
		dashboard: "dialpad-overview", panel: "Service level",
		summary: `Service level of {{ $labels.target }} is {{ printf "%.1f" $values.A.Value }} % over the last 30 minutes, below the goal of {{ $values.B.Value }} %`,
		desc: "Calls answered within KPI_SERVICE_LEVEL_THRESHOLD / offered calls (inbound, short abandons left out) that started in the last 30 minutes, " +
			"for a target with at least ALERT_MIN_OFFERED offered calls in them whose call events arrive."},
	{uid: "dialpad-abandonment", title: "Abandonment above maximum", group: callsGroup, sql: abandonmentSQL, rangeS: 1800,
		setting: "alert_abandonment_max", op: ">", pending: "5m", severity: "warning", team: "manager",
		dashboard: "dialpad-overview", panel: "Abandonment rate",
		summary: `Abandonment of {{ $labels.target }} is {{ printf "%.1f" $values.A.Value }} % over the last 30 minutes, above ALERT_ABANDONMENT_MAX ({{ $values.B.Value }} %)`,
		desc: "Abandoned calls (unanswered, not short) / offered calls that started in the last 30 minutes, " +
			"for a target with at least ALERT_MIN_OFFERED offered calls in them whose call events arrive."},
	{uid: "dialpad-longest-wait", title: "Caller waiting too long", group: callsGroup, sql: longestWaitSQL, rangeS: 600,
		setting: "alert_longest_wait_s", op: ">", pending: "0s", severity: "critical", team: "manager",
		dashboard: "dialpad-wallboard", panel: "Longest wait",
		summary: `A caller of {{ $labels.target }} has waited {{ $values.A.Value }} s, longer than ALERT_LONGEST_WAIT ({{ $values.B.Value }} s)`,
		desc: "The longest wait of the callers waiting now: from Dialpad's call events (while they arrive) or its polled call-center status " +
			"(while fresh), whichever the target has, the longer of the two."},
	{uid: "dialpad-nobody-available", title: "Callers waiting, no agent available", group: callsGroup, sql: unstaffedSQL, rangeS: 600,
		constant: 0, op: ">", pending: "1m", severity: "critical", team: "manager",
		dashboard: "dialpad-wallboard", panel: "Dialpad: agents available",
		summary: `{{ $values.A.Value }} callers wait in {{ $labels.target }} while none of its agents is available`,
		desc: "Dialpad's polled status of the call center (CALLCENTER_STATUS_INTERVAL): calls pending and no available capacity, in its latest poll that is not stale; " +
			"or, from Dialpad's events, callers waiting now while none of its agents whose status events arrive is available and on duty for it."},
	{uid: "dialpad-load-stale", title: "No successful load", group: dataGroup, sql: staleLoadSQL, rangeS: 600,
		setting: "etl_health_max_age_s", op: ">", pending: "0s", severity: "critical", team: "operator",
		dashboard: "dialpad-etl-health", panel: "Last successful load per target",
		summary: `{{ $labels.target }} has had no successful load for {{ humanizeDuration $values.A.Value }}, longer than ETL_HEALTH_MAX_AGE`,
		desc: "The job's runs (etl_runs): the last one of the target that succeeded is older than ETL_HEALTH_MAX_AGE " +
			"(or none did in 35 days). /healthz answers 503 for the same reason."},
	{uid: "dialpad-events-silent", title: "No call events while open", group: dataGroup, sql: eventsSilentSQL, rangeS: 600,
		constant: eventsSilentS, op: ">", pending: "0s", severity: "warning", team: "operator",
		dashboard: "dialpad-wallboard", panel: "Last event received",
		summary: `No call event of {{ $labels.target }} for {{ humanizeDuration $values.A.Value }}, while calls were due`,
		desc: "The target's call events arrived in the last 35 days, but none for 15 minutes while calls were due: at least " + strconv.Itoa(forecastDue) +
			" by the staffing forecast (the same weekday and time of day of past weeks, in ETL_TIMEZONE), unless Dialpad's polled status says the call center is closed, " +
			"or at least " + strconv.Itoa(loadedDue) + " inbound calls the loads brought since. The webhook or the event receiver may be down, and the wallboard's live figures show no value."},
	{uid: "dialpad-reconcile-differ", title: "Days out of agreement with Dialpad", group: dataGroup, sql: disagreeingDaysSQL, rangeS: 600,
		constant: 0, op: ">", pending: "0s", severity: "warning", team: "operator",
		dashboard: "dialpad-etl-health", panel: "Days out of agreement with Dialpad",
		summary: `{{ $values.A.Value }} days of {{ $labels.target }} differ from Dialpad's export`,
		desc: "Days of the last 35, still reconciled (checked in the last two days), whose latest reconciliation with Dialpad's records export " +
			"found legs that differ (docs/reconciliation.md)."},
	{uid: "dialpad-report-failed", title: "E-mailed report failed", group: dataGroup, sql: failedReportsSQL, rangeS: 600,
		constant: 0, op: ">", pending: "0s", severity: "warning", team: "operator", target: "all",
		dashboard: "dialpad-etl-health", panel: "E-mailed reports",
		summary: `The {{ $labels.report }} report failed: {{ $values.A.Value }} periods whose last attempt, in the last day, failed`,
		desc:    "report_sends: the latest attempt to e-mail the report of a period failed (docs/reports.md)."},
}

// The rule groups: the calls' rules run every minute, the data's every
// five.
const (
	callsGroup = "Dialpad calls"
	dataGroup  = "Dialpad data"
)

var groupIntervals = map[string]string{callsGroup: "1m", dataGroup: "5m"}

// BuildAlerts returns the provisioned alert rules' file, whose links to
// panels resolve in dashboards (as Build returns them).
func BuildAlerts(dashboards map[string][]byte) ([]byte, error) {
	panels := map[string]map[string]int{} // dashboard uid -> panel title -> id
	for name, b := range dashboards {
		var d struct {
			UID    string      `json:"uid"`
			Panels []jsonPanel `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		panels[d.UID] = map[string]int{}
		for _, p := range d.Panels {
			for _, q := range append([]jsonPanel{p}, p.Panels...) {
				panels[d.UID][q.Title] = q.ID
			}
		}
	}
	type group struct {
		OrgID    int               `json:"orgId"`
		Name     string            `json:"name"`
		Folder   string            `json:"folder"`
		Interval string            `json:"interval"`
		Rules    []provisionedRule `json:"rules"`
	}
	var groups []*group
	byName := map[string]*group{}
	for _, r := range alertRules {
		id, ok := panels[r.dashboard][r.panel]
		if !ok {
			return nil, fmt.Errorf("alert %s: no panel %q on dashboard %s", r.uid, r.panel, r.dashboard)
		}
		g := byName[r.group]
		if g == nil {
			g = &group{OrgID: 1, Name: r.group, Folder: "Dialpad", Interval: groupIntervals[r.group]}
			byName[r.group] = g
			groups = append(groups, g)
		}
		g.Rules = append(g.Rules, r.provisioned(id))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"apiVersion": 1, "groups": groups}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type jsonPanel struct {
	ID     int         `json:"id"`
	Title  string      `json:"title"`
	Panels []jsonPanel `json:"panels"`
}

// The file's rule and query, as Grafana's provisioning reads them (in
// this order, for readers).
type (
	provisionedRule struct {
		UID          string            `json:"uid"`
		Title        string            `json:"title"`
		Condition    string            `json:"condition"`
		Data         []provisionedData `json:"data"`
		NoDataState  string            `json:"noDataState"`
		ExecErrState string            `json:"execErrState"`
		For          string            `json:"for"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		IsPaused     bool              `json:"isPaused"`
	}
	provisionedData struct {
		RefID             string           `json:"refId"`
		DatasourceUID     string           `json:"datasourceUid"`
		RelativeTimeRange map[string]int64 `json:"relativeTimeRange"`
		Model             any              `json:"model"`
	}
	sqlModel struct {
		RefID      string            `json:"refId"`
		Datasource map[string]string `json:"datasource"`
		EditorType string            `json:"editorType"`
		QueryType  string            `json:"queryType"`
		Format     int               `json:"format"`
		RawSQL     string            `json:"rawSql"`
	}
	mathModel struct {
		RefID      string            `json:"refId"`
		Datasource map[string]string `json:"datasource"`
		Type       string            `json:"type"`
		Expression string            `json:"expression"`
	}
)

// provisioned is the rule as the file holds it, linked to panel id.
func (r alertRule) provisioned(panelID int) provisionedRule {
	sqlQuery := func(ref, sql string) provisionedData {
		return provisionedData{RefID: ref, DatasourceUID: datasourceUID,
			RelativeTimeRange: map[string]int64{"from": r.rangeS, "to": 0},
			Model: sqlModel{RefID: ref, Datasource: map[string]string{"type": datasourceType, "uid": datasourceUID},
				EditorType: "sql", QueryType: "table", Format: 1, RawSQL: sql}}
	}
	data := []provisionedData{sqlQuery("A", r.sql)}
	threshold := strconv.FormatFloat(r.constant, 'f', -1, 64)
	if r.setting != "" {
		data = append(data, sqlQuery("B", setting(r.setting, "threshold")))
		threshold = "$B"
	}
	data = append(data, provisionedData{RefID: "C", DatasourceUID: "__expr__",
		RelativeTimeRange: map[string]int64{"from": 0, "to": 0},
		Model: mathModel{RefID: "C", Datasource: map[string]string{"type": "__expr__", "uid": "__expr__"},
			Type: "math", Expression: "$A " + r.op + " " + threshold}})
	labels := map[string]string{"severity": r.severity, "team": r.team}
	if r.target != "" {
		labels["target"] = r.target
	}
	return provisionedRule{UID: r.uid, Title: r.title, Condition: "C", Data: data, NoDataState: "OK", ExecErrState: "Error",
		For: r.pending, Labels: labels, Annotations: map[string]string{
			"summary":          r.summary,
			"description":      r.desc,
			"__dashboardUid__": r.dashboard,
			"__panelId__":      strconv.Itoa(panelID),
		}}
}

// The provisioned data source, as the dashboards name it.
const (
	datasourceUID  = "dialpad-clickhouse"
	datasourceType = "grafana-clickhouse-datasource"
)
