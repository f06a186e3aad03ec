// Package dashgen builds the provisioned dashboards (grafana/dashboards)
// and alert rules (grafana/provisioning/alerting; alerts.go) from their
// sources (src/*.json.tmpl, Go templates of the JSON), in
// which every piece that several panels or dashboards share is written
// once, here: the filters on the target variable, the search box's
// clause, and the template variables.
// "go generate ./grafana" writes the files; a test fails when the
// checked-in ones are not what Build makes.
//
// A source is a dashboard's JSON with {{oneTarget}}, {{someTargets}},
// {{search}}, the pieces of whole-day counts (wholeDays, noSearch,
// nearDays, outsideWholeDays, newestDays), those of the wallboard's
// live and today's figures (lastEvent, eventsFlowing, live, agentsNow,
// today), those of Dialpad's polled call-center status (latestPoll,
// pollFresh, pollAge; callcenter.go), those of the Workforce dashboard (intervalBuckets, staffed,
// statusTimeline, agentTime; workforce.go) and those of reasons and
// satisfaction (rangeDays, dayTime, lowMOS, csatAverage, csatSatisfied,
// csatRate, unanswered, agentCSAT; reasons.go) inside its SQL, and {{variable "name"}} in place of each
// template variable ({{variable "name" | hidden}}: kept for the links,
// not shown). The output keeps the source's order of keys, two
// spaces a level.
//
// It imports nothing of this module.
package dashgen

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/template"
)

//go:embed src/*.json.tmpl
var sources embed.FS

// The SQL that the panels share.
const (
	// oneTarget keeps the rows of the one target picked (target=type:id).
	oneTarget = "target_type = splitByChar(':', '${target}')[1] AND target_id = toUInt64(splitByChar(':', '${target}')[2])"
	// someTargets keeps the rows of the targets picked, or all of them.
	someTargets = "$__conditionalAll(concat(toString(target_type), ':', toString(target_id)) IN (${target}), $target)"
	// searched is what was typed into the search box, as a string: it
	// reaches ClickHouse percent-encoded, so that no input can leave the
	// literal (Grafana's sqlstring leaves backslashes as they are).
	searched = "decodeURLComponent('${search:percentencode}')"
)

// Long ranges read the legs only at their ends. calls_daily counts the
// legs of each day (in the job's reporting zone, which the dashboards do
// not know: each row carries the instants its day begins and ends), so a
// count over a range adds up the days wholly inside it and counts the legs
// of the range outside those days, at most a day at each end.
const (
	// nearDays keeps the rows whose day (in any zone) can hold a start in
	// the range, so that a table partitioned by month of day reads only
	// the months of the range.
	nearDays = "day >= toDate($__fromTime, 'UTC') - 1 AND day <= toDate($__toTime, 'UTC') + 1"
	// wholeDays keeps the calls_daily rows of the days inside the range.
	wholeDays = nearDays + " AND day_start >= $__fromTime AND day_end <= $__toTime + 1"
	// noSearch holds while the search box is empty: calls_daily cannot
	// tell which legs a search matches.
	noSearch = "decodeURLComponent('${search:percentencode}') = ''"
)

// outsideWholeDays keeps the legs outside the whole days of the range
// that calls_daily holds (all of them when searched and the search box
// has text).
func outsideWholeDays(searched bool) string {
	cond := oneTarget + " AND " + wholeDays
	if searched {
		cond += " AND " + noSearch
	}
	return fmt.Sprintf("NOT (started_at >= (SELECT min(day_start) FROM calls_daily WHERE %[1]s)\n"+
		"      AND started_at < (SELECT max(day_end) FROM calls_daily WHERE %[1]s))", cond)
}

// newestDays keeps the legs of the newest whole days of the range that
// hold at least n legs matching filters (a condition on calls_daily's
// columns), or every leg of the range when the days hold fewer: a list of
// the newest n legs then reads only those days.
func newestDays(n int, searched bool, filters string) string {
	cond := oneTarget + " AND " + wholeDays + " AND " + filters
	if searched {
		cond += " AND " + noSearch
	}
	return fmt.Sprintf(`started_at >= (
    SELECT if(i = 0, toDateTime(0), tupleElement(days[i], 1))
    FROM
    (
        SELECT arrayReverseSort(groupArray((day_start, n))) AS days,
            arrayFirstIndex(c -> c >= %d, arrayCumSum(arrayMap(d -> tupleElement(d, 2), days))) AS i
        FROM
        (
            SELECT day_start, toUInt64(sum(legs)) AS n
            FROM calls_daily FINAL
            WHERE %s
            GROUP BY day_start
        ) AS daily
    ) AS newest
  )`, n, cond)
}

// The wallboard's pieces. Its live figures read what the event receiver
// writes (live_calls, agent_status), and only while call events arrive:
// without them (webhooks not set up, or the receiver down) they show no
// value, never a zero that looks like a quiet queue.
const (
	// lastEvent is when the newest call event arrived (1970-01-01 when
	// none did in the last day: the bound on event_at lets the query read
	// the newest partitions only). It needs no FINAL: a repeated delivery
	// does not change the maximum.
	lastEvent = "(SELECT max(received_at) FROM call_events WHERE event_at >= now() - 86400)"
	// eventsFlowing holds while a call event arrived in the last 15
	// minutes.
	eventsFlowing = lastEvent + " >= now() - 900"
	// live keeps the legs that are live now: not ended and not expired.
	// The bound on started_at (constant per leg) reads only the newest
	// days' partitions; no call lasts two days.
	live = "started_at >= now() - 2 * 86400 AND ended = 0 AND expires_at > now()"
	// targetAgents keeps the rows of the target's agents: its user
	// operators.
	targetAgents = "agent_id IN (SELECT agent_id FROM agents FINAL WHERE " + oneTarget + " AND kind = 'user')"
	// agentsNow is the target's agents with their current status
	// (status_now), unavailable when off duty: on duty for no call
	// center or, on a call center's wallboard, not for this one.
	agentsNow = "\n(\n    SELECT agent_id, argMax(if(on_duty = 0\n" +
		"        OR (splitByChar(':', '${target}')[1] = 'callcenter' AND NOT has(call_center_ids, toUInt64(splitByChar(':', '${target}')[2]))),\n" +
		"        'unavailable', status), started_ms) AS status_now\n" +
		"    FROM agent_status FINAL\n    WHERE ended_ms = 0\n      AND " + targetAgents + "\n    GROUP BY agent_id\n) AS agents_now"
	// today keeps the rows of today in the job's reporting zone, which
	// the dashboards do not know: calls_daily's day whose day_start and
	// day_end hold now (none before today's first call: nothing is kept).
	// The bounds in UTC days read only the newest partitions.
	today = "day >= toDate(now(), 'UTC') - 1 AND day <= toDate(now(), 'UTC') + 1\n" +
		"  AND day IN (SELECT day FROM calls_daily WHERE " + oneTarget + "\n" +
		"    AND day >= toDate(now(), 'UTC') - 1 AND day <= toDate(now(), 'UTC') + 1\n" +
		"    AND day_start <= now() AND day_end > now())"
)

// The contact-center KPIs' pieces. The flags are computed by the job
// (derive/kpi.go, docs/counting.md's "Contact-center KPIs"); the dashboards
// only add them up: target_daily for the whole days of a range (in the
// job's zone, like calls_daily), conversations for the rest of it.
const (
	// kpiColumns are the figures kpiTotals and kpiBuckets give, summed.
	kpiColumns = "inbound, answered, abandoned, short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms, " +
		"transferred, repeat_contacts, recovered, total_recovery_ms"
	// kpiOfConversation is a conversation's part in each of kpiColumns,
	// as target_daily counts it.
	kpiOfConversation = "toUInt32(direction = 'inbound') AS inbound, toUInt32(direction = 'inbound' AND answered = 1) AS answered,\n" +
		"        toUInt32(abandoned) AS abandoned, toUInt32(short_abandoned) AS short_abandoned,\n" +
		"        toUInt32(answered_in_threshold) AS answered_in_threshold,\n" +
		"        if(direction = 'inbound' AND answered = 1, wait_ms, toUInt64(0)) AS total_wait_ms,\n" +
		"        if(direction = 'inbound' AND answered = 1, handle_ms, toUInt64(0)) AS total_handle_ms,\n" +
		"        toUInt32(direction = 'inbound' AND transferred = 1) AS transferred, toUInt32(repeat_contact) AS repeat_contacts,\n" +
		"        toUInt32(recovered) AS recovered, recovery_ms AS total_recovery_ms"
	// goal is the service level's target (KPI_SERVICE_LEVEL_GOAL, as a
	// share), which the job records; no value before it first ran.
	goal = "(SELECT nullIf(toFloat64OrZero(argMax(value, version)), 0) / 100 FROM etl_settings WHERE name = 'kpi_service_level_goal')"
)

// kpiTotals is a subquery of the range's conversations' KPI figures
// (kpiColumns), for sums over the range.
var kpiTotals = rangeRows(kpiColumns, kpiOfConversation, "kpi")

// rangeRows is a subquery, named alias, of columns (target_daily's) over
// the range: target_daily's rows of the whole days inside it, and for the
// rest of it each conversation's part (ofConversation, the same columns
// as target_daily counts them), to be summed.
func rangeRows(columns, ofConversation, alias string) string {
	return fmt.Sprintf(`(
    SELECT %[1]s
    FROM target_daily FINAL
    WHERE %[2]s AND %[3]s
    UNION ALL
    SELECT %[4]s
    FROM conversations FINAL
    WHERE %[2]s AND %[5]s AND $__timeFilter(started_at)
      AND NOT (started_at >= (SELECT min(day_start) FROM target_daily WHERE %[2]s AND %[3]s)
      AND started_at < (SELECT max(day_end) FROM target_daily WHERE %[2]s AND %[3]s))
) AS %[6]s`, columns, oneTarget, wholeDays, ofConversation, nearDays, alias)
}

// kpiBuckets is a subquery of the KPI figures (kpiColumns) per interval
// (time): per day of target_daily (the days the range touches) for
// ranges over 4 days, else per hour of the conversations.
var kpiBuckets = fmt.Sprintf(`(
    SELECT day_start AS time, %[1]s
    FROM target_daily FINAL
    WHERE %[2]s AND %[3]s AND day_end > $__fromTime AND day_start <= $__toTime
      AND dateDiff('second', $__fromTime, $__toTime) > 4 * 86400
    UNION ALL
    SELECT toDateTime(toUInt32(toStartOfHour(started_at, '${tz}')), 'UTC') AS time, %[4]s
    FROM conversations FINAL
    WHERE %[2]s AND %[3]s AND $__timeFilter(started_at)
      AND dateDiff('second', $__fromTime, $__toTime) <= 4 * 86400
) AS buckets`, kpiColumns, oneTarget, nearDays, kpiOfConversation)

// ratio is num / den, or no value when den is 0.
func ratio(num, den string) string {
	return fmt.Sprintf("if(%[2]s > 0, %[1]s / %[2]s, NULL)", num, den)
}

// The agent scorecard's score, set here once: the weighted sum of three
// parts, each from 0 to 1, times 100. The dashboard shows the formula
// (scoreFormula) beside the scores.
var scoreParts = []struct {
	alias  string // of the part, in the scorecard's query
	weight float64
	text   string
}{
	{"part_answer", 0.5, "**answer rate**: the agent's inbound legs answered / inbound legs that rang the agent (1 when none rang)"},
	{"part_handle", 0.3, "**handle time**: the team's median average handle time / the agent's, at most 1 (1 when the agent answered none)"},
	{"part_transfer", 0.2, "**transfers**: 1 − the agent's transferred legs / legs answered, at least 0 (1 when the agent answered none)"},
}

// score is the score's SQL over the parts' aliases.
func score() string {
	var terms []string
	for _, p := range scoreParts {
		terms = append(terms, fmt.Sprintf("%g * %s", p.weight, p.alias))
	}
	return "round(100 * (" + strings.Join(terms, " + ") + "), 1)"
}

// scoreFormula is the score's formula in Markdown, for the dashboard.
func scoreFormula() string {
	var terms, parts []string
	for _, p := range scoreParts {
		name := strings.SplitN(strings.TrimPrefix(p.text, "**"), "**", 2)[0]
		terms = append(terms, fmt.Sprintf("%g × %s", p.weight, name))
		parts = append(parts, "- "+p.text)
	}
	return "**Score** = 100 × (" + strings.Join(terms, " + ") + ")\n\n" + strings.Join(parts, "\n") +
		"\n\nThe team is the agents in the table; each median is over the agents the figure applies to. " +
		"Missed while on duty (inbound legs the agent did not answer while Dialpad's agent status said on duty), occupancy " +
		"((occupied + wrap-up) / (occupied + wrap-up + available)) and after-call work (time in wrap-up) are shown, not scored: " +
		"they need the agent status events (`dialpad-etl webhooks setup`). So is CSAT: the average survey score (1 to 5) of the " +
		"inbound conversations the agent answered, its responses, and the share of 4 or 5."
}

// median is the median of sorted, an SQL array sorted ascending (no
// value when it is empty).
func median(sorted string) string {
	return strings.NewReplacer("$a", sorted).Replace("if(length($a) = 0, NULL, if(length($a) % 2 = 1, " +
		"$a[intDiv(length($a), 2) + 1], ($a[intDiv(length($a), 2)] + $a[intDiv(length($a), 2) + 1]) / 2))")
}

// search matches part of a contact's name or number or of an agent's
// name, in any case; three or more digits also match a number however it
// is written.
var search = strings.NewReplacer("$s", searched).Replace(`(positionCaseInsensitiveUTF8(contact_name, $s) > 0
    OR positionCaseInsensitiveUTF8(agent_name, $s) > 0
    OR position(contact_phone, $s) > 0
    OR (length(replaceRegexpAll($s, '[^0-9]', '')) >= 3
        AND position(replaceRegexpAll(contact_phone, '[^0-9]', ''), replaceRegexpAll($s, '[^0-9]', '')) > 0))`)

// variables are the dashboards' template variables, by the name a source
// uses: target picks one target, targets any of them (ETL health); agent
// one agent, and agents (see anyOf) any; interval the size of the
// Workforce dashboard's intervals (see intervalSize).
var variables = map[string]string{
	"tz": `{
	  "name": "tz",
	  "label": "Time zone",
	  "description": "The reporting time zone: every day and hour on this dashboard is counted in it. Set it to the job's ETL_TIMEZONE (the agent tables' days are stored in that zone); to add a zone, edit this variable's list in the dashboard JSON.",
	  "type": "custom",
	  "query": "UTC,America/New_York,America/Chicago,America/Denver,America/Phoenix,America/Los_Angeles,Europe/London,Europe/Berlin,Asia/Kolkata,Australia/Sydney",
	  "multi": false,
	  "includeAll": false,
	  "hide": 0,
	  "skipUrlSync": false,
	  "current": {
	    "text": "UTC",
	    "value": "UTC"
	  },
	  "options": [
	    {
	      "text": "UTC",
	      "value": "UTC",
	      "selected": true
	    },
	    {
	      "text": "America/New_York",
	      "value": "America/New_York",
	      "selected": false
	    },
	    {
	      "text": "America/Chicago",
	      "value": "America/Chicago",
	      "selected": false
	    },
	    {
	      "text": "America/Denver",
	      "value": "America/Denver",
	      "selected": false
	    },
	    {
	      "text": "America/Phoenix",
	      "value": "America/Phoenix",
	      "selected": false
	    },
	    {
	      "text": "America/Los_Angeles",
	      "value": "America/Los_Angeles",
	      "selected": false
	    },
	    {
	      "text": "Europe/London",
	      "value": "Europe/London",
	      "selected": false
	    },
	    {
	      "text": "Europe/Berlin",
	      "value": "Europe/Berlin",
	      "selected": false
	    },
	    {
	      "text": "Asia/Kolkata",
	      "value": "Asia/Kolkata",
	      "selected": false
	    },
	    {
	      "text": "Australia/Sydney",
	      "value": "Australia/Sydney",
	      "selected": false
	    }
	  ],
	  "allowCustomValue": false
	}`,
	"target": `{
	  "name": "target",
	  "label": "Department / call center",
	  "description": "What the job pulls (DIALPAD_TARGETS): a department, call center, office or user. Every figure is for this one target.",
	  "type": "query",
	  "datasource": {
	    "type": "grafana-clickhouse-datasource",
	    "uid": "dialpad-clickhouse"
	  },
	  "query": {
	    "refId": "var-target",
	    "queryType": "sql",
	    "editorType": "sql",
	    "rawSql": "SELECT concat(toString(target_type), ':', toString(target_id)) AS t, if(name = '', t, concat(name, ' (', t, ')')) AS label\nFROM targets FINAL\nORDER BY t"
	  },
	  "definition": "SELECT concat(toString(target_type), ':', toString(target_id)) AS t, if(name = '', t, concat(name, ' (', t, ')')) AS label\nFROM targets FINAL\nORDER BY t",
	  "refresh": 1,
	  "sort": 0,
	  "regex": "",
	  "hide": 0,
	  "skipUrlSync": false,
	  "multi": false,
	  "includeAll": false,
	  "options": [],
	  "current": {},
	  "allowCustomValue": false
	}`,
	"targets": `{
	  "name": "target",
	  "label": "Target",
	  "description": "Targets the job has run for (DIALPAD_TARGETS).",
	  "type": "query",
	  "datasource": {
	    "type": "grafana-clickhouse-datasource",
	    "uid": "dialpad-clickhouse"
	  },
	  "query": {
	    "refId": "var-target",
	    "queryType": "sql",
	    "editorType": "sql",
	    "rawSql": "SELECT DISTINCT concat(toString(target_type), ':', toString(target_id)) AS t\nFROM etl_runs\nORDER BY t"
	  },
	  "definition": "SELECT DISTINCT concat(toString(target_type), ':', toString(target_id)) AS t\nFROM etl_runs\nORDER BY t",
	  "refresh": 1,
	  "sort": 0,
	  "regex": "",
	  "hide": 0,
	  "skipUrlSync": false,
	  "multi": true,
	  "includeAll": true,
	  "options": [],
	  "current": {
	    "text": [
	      "All"
	    ],
	    "value": [
	      "$__all"
	    ]
	  },
	  "allowCustomValue": false
	}`,
	"agent": `{
	  "name": "agent",
	  "label": "Agent",
	  "description": "Agents who had calls of this target (ever).",
	  "type": "query",
	  "datasource": {
	    "type": "grafana-clickhouse-datasource",
	    "uid": "dialpad-clickhouse"
	  },
	  "query": {
	    "refId": "var-agent",
	    "queryType": "sql",
	    "editorType": "sql",
	    "rawSql": "SELECT toString(agent_id), argMax(agent_name, day) AS name\nFROM agent_daily FINAL\nWHERE {{oneTarget}}\nGROUP BY agent_id\nORDER BY name"
	  },
	  "definition": "SELECT toString(agent_id), argMax(agent_name, day) AS name\nFROM agent_daily FINAL\nWHERE {{oneTarget}}\nGROUP BY agent_id\nORDER BY name",
	  "refresh": 1,
	  "sort": 0,
	  "regex": "",
	  "hide": 0,
	  "skipUrlSync": false,
	  "multi": false,
	  "includeAll": false,
	  "options": [],
	  "current": {},
	  "allowCustomValue": false
	}`,
	"interval": `{
	  "name": "interval",
	  "label": "Interval",
	  "description": "The length of the intervals the figures are counted in. The job counts quarter hours; 30 and 60 minutes add them up from each hour of the reporting zone (tz).",
	  "type": "custom",
	  "query": "15 minutes : 15,30 minutes : 30,60 minutes : 60",
	  "multi": false,
	  "includeAll": false,
	  "hide": 0,
	  "skipUrlSync": false,
	  "current": {
	    "text": "15 minutes",
	    "value": "15"
	  },
	  "options": [
	    {
	      "text": "15 minutes",
	      "value": "15",
	      "selected": true
	    },
	    {
	      "text": "30 minutes",
	      "value": "30",
	      "selected": false
	    },
	    {
	      "text": "60 minutes",
	      "value": "60",
	      "selected": false
	    }
	  ],
	  "allowCustomValue": false
	}`,
	"direction": `{
	  "name": "direction",
	  "label": "Direction",
	  "description": "Inbound or outbound calls.",
	  "type": "custom",
	  "query": "inbound,outbound",
	  "multi": true,
	  "includeAll": true,
	  "hide": 0,
	  "skipUrlSync": false,
	  "current": {
	    "text": [
	      "All"
	    ],
	    "value": [
	      "$__all"
	    ]
	  },
	  "options": [
	    {
	      "text": "All",
	      "value": "$__all",
	      "selected": true
	    },
	    {
	      "text": "inbound",
	      "value": "inbound",
	      "selected": false
	    },
	    {
	      "text": "outbound",
	      "value": "outbound",
	      "selected": false
	    }
	  ],
	  "allowCustomValue": false
	}`,
	"status": `{
	  "name": "status",
	  "label": "Status",
	  "description": "completed: connected; missed: inbound, not connected, no voicemail; voicemail: not connected, a voicemail was left; cancelled: outbound, never connected.",
	  "type": "custom",
	  "query": "completed,missed,voicemail,cancelled",
	  "multi": true,
	  "includeAll": true,
	  "hide": 0,
	  "skipUrlSync": false,
	  "current": {
	    "text": [
	      "All"
	    ],
	    "value": [
	      "$__all"
	    ]
	  },
	  "options": [
	    {
	      "text": "All",
	      "value": "$__all",
	      "selected": true
	    },
	    {
	      "text": "completed",
	      "value": "completed",
	      "selected": false
	    },
	    {
	      "text": "missed",
	      "value": "missed",
	      "selected": false
	    },
	    {
	      "text": "voicemail",
	      "value": "voicemail",
	      "selected": false
	    },
	    {
	      "text": "cancelled",
	      "value": "cancelled",
	      "selected": false
	    }
	  ],
	  "allowCustomValue": false
	}`,
	"search": `{
	  "name": "search",
	  "label": "Search",
	  "type": "textbox",
	  "query": "",
	  "current": {
	    "text": "",
	    "value": ""
	  },
	  "options": [
	    {
	      "selected": true,
	      "text": "",
	      "value": ""
	    }
	  ],
	  "hide": 0,
	  "skipUrlSync": false,
	  "description": "Part of a contact's name or number, or of an agent's name (any case). Digits match a number whatever its punctuation."
	}`,
}

// Build returns every dashboard, by file name, as it is to be provisioned.
func Build() (map[string][]byte, error) {
	names, err := fs.Glob(sources, "src/*.json.tmpl")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := map[string][]byte{}
	for _, name := range names {
		src, err := fs.ReadFile(sources, name)
		if err != nil {
			return nil, err
		}
		b, err := build(name, string(src))
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(path.Base(name), ".tmpl")] = b
	}
	return out, nil
}

func build(name, src string) ([]byte, error) {
	text, err := expand(name, src)
	if err != nil {
		return nil, err
	}
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, []byte(text)); err != nil {
		return nil, fmt.Errorf("%s: not JSON once built: %w", name, err)
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	indented.WriteByte('\n')
	return indented.Bytes(), nil
}

// expand fills in the shared pieces. The SQL ones are spelled as the
// inside of a JSON string; a variable is a whole JSON object.
func expand(name, src string) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"oneTarget":        func() string { return inString(oneTarget) },
		"someTargets":      func() string { return inString(someTargets) },
		"search":           func() string { return inString(search) },
		"wholeDays":        func() string { return inString(wholeDays) },
		"noSearch":         func() string { return inString(noSearch) },
		"nearDays":         func() string { return inString(nearDays) },
		"outsideWholeDays": func(searched bool) string { return inString(outsideWholeDays(searched)) },
		"lastEvent":        func() string { return inString(lastEvent) },
		"eventsFlowing":    func() string { return inString(eventsFlowing) },
		"live":             func() string { return inString(live) },
		"agentsNow":        func() string { return inString(agentsNow) },
		"today":            func() string { return inString(today) },
		"targetAgents":     func() string { return inString(targetAgents) },
		"kpiTotals":        func() string { return inString(kpiTotals) },
		"kpiBuckets":       func() string { return inString(kpiBuckets) },
		"goal":             func() string { return inString(goal) },
		"ratio":            func(num, den string) string { return inString(ratio(num, den)) },
		"score":            func() string { return inString(score()) },
		"scoreFormula":     func() string { return inString(scoreFormula()) },
		"median":           func(sorted string) string { return inString(median(sorted)) },
		"intervalBuckets":  func() string { return inString(intervalBuckets) },
		"staffed":          func() string { return inString(staffed) },
		"needBuckets":      func() string { return inString(needBuckets) },
		"short":            func() string { return inString(short) },
		"weekAfter":        func() string { return inString(weekAfter) },
		"forecastError":    func() string { return inString(forecastError) },
		"statusTimeline":   func() string { return inString(statusTimeline) },
		"agentTime":        func() string { return inString(agentTime) },
		"agentDayTime":     func() string { return inString(agentDayTime) },
		"latestPoll":       func() string { return inString(latestPoll) },
		"pollFresh":        func() string { return inString(pollFresh) },
		"pollAge":          func() string { return inString(pollAge) },
		"rangeDays":        func() string { return inString(rangeDays) },
		"dayTime":          func() string { return inString(dayTime) },
		"lowMOS":           func() string { return inString(lowMOS) },
		"csatAverage":      func() string { return inString(csatAverage) },
		"csatSatisfied":    func() string { return inString(csatSatisfied) },
		"csatRate":         func() string { return inString(csatRate) },
		"unanswered":       func() string { return inString(unanswered) },
		"agentCSAT":        func() string { return inString(agentCSAT) },
		"hidden":           hidden,
		"newestDays": func(n int, searched bool, filters string) string {
			return inString(newestDays(n, searched, filters))
		},
		"variable": func(v string) (string, error) {
			def, ok := variables[v]
			if v == "agents" {
				def, ok = anyOf(variables["agent"])
			}
			if !ok {
				return "", fmt.Errorf("no variable %q", v)
			}
			return expand(name+": variable "+v, def)
		},
	}).Parse(src)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return "", err
	}
	return b.String(), nil
}

// hidden is the variable def that the dashboard keeps, for its links and
// URL, without showing it.
func hidden(def string) (string, error) {
	var v map[string]any
	if err := json.Unmarshal([]byte(def), &v); err != nil {
		return "", err
	}
	v["hide"] = 2
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// anyOf is the variable def that picks any number of its values, All by
// default.
func anyOf(def string) (string, bool) {
	var v map[string]any
	if err := json.Unmarshal([]byte(def), &v); err != nil {
		return "", false
	}
	v["multi"], v["includeAll"] = true, true
	v["current"] = map[string]any{"text": []string{"All"}, "value": []string{"$__all"}}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", false
	}
	return b.String(), true
}

// inString is s as it stands between the quotes of a JSON string.
func inString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	out := strings.TrimSpace(b.String())
	return out[1 : len(out)-1]
}
