package dashgen

import (
	"fmt"
	"strconv"
	"strings"
)

// The Workforce dashboard's pieces, and the agent time the scorecard
// shares with it. The job counts the time (derive/agenttime.go,
// docs/counting.md's "Intervals" and "Agent time") per 15-minute interval;
// the dashboards only add it up: target_intervals and agent_duty_intervals
// rolled up to the interval size picked, agent_intervals per agent.

// intervalSize is the interval size picked (the interval variable), in
// minutes: 15, 30 or 60. The variable reaches the SQL only
// percent-encoded inside quotes, compared with the sizes offered, so no
// value set in a URL can change the query; one not offered counts as 15.
const intervalSize = "multiIf('${interval:percentencode}' = '30', 30, '${interval:percentencode}' = '60', 60, 15)"

// bucket is the start of the rolled-up interval that holds col (a UTC
// quarter hour): intervals of the size picked from each hour of the
// reporting zone (every zone's hour starts at a UTC quarter hour).
func bucket(col string) string {
	return strings.NewReplacer("$c", col, "$n", intervalSize).Replace(
		"toDateTime(toUInt32(toStartOfHour($c, '${tz}')) + intDiv(toMinute($c, '${tz}'), $n) * $n * 60, 'UTC')")
}

// The range in epoch ms, and now, as agent_status keeps its times.
const (
	fromMs = "toInt64(toUInt32($__fromTime)) * 1000"
	toMs   = "toInt64(toUInt32($__toTime)) * 1000"
	nowMs  = "toInt64(toUInt32(now())) * 1000"
)

const (
	// isCallCenter holds on a call center's dashboard: only call centers
	// have agents on duty (agent_duty_intervals); on another target's,
	// on-duty figures have no value.
	isCallCenter = "splitByChar(':', '${target}')[1] = 'callcenter'"
	// statusName is an agent_status status as agent_intervals counts it
	// (derive.AgentInterval.add): occupied-end and wrapup-end are
	// available, and a status without a name of the model (the job's own
	// unknown among them) is unknown.
	statusName = "multiIf(status IN ('available', 'occupied-end', 'wrapup-end'), 'available',\n" +
		"            status IN ('busy', 'occupied', 'wrapup', 'unavailable'), status, 'unknown')"
	// statusLookback bounds how long before the range a status that lasts
	// into it may have started, as the job bounds it (derive's and the
	// event receiver's 92 days): it lets a read skip older partitions.
	statusLookback = "92 * 86400"
)

// Long ranges read the agents' time per day. The job sums each agent's
// intervals per reporting-zone day whenever it writes them
// (agent_time_daily, agent_duty_daily; derive.DailyTime), and each row
// carries the instants its day begins and ends, as calls_daily's do: a
// sum over a range adds up the days wholly inside it (wholeDays) and the
// intervals of the range outside those days, at most a day at each end.
// A day inside the span of whole days without an agent's row holds no
// time of that agent.

// outsideDaily keeps the rows whose col (an interval_start) lies outside
// the whole days of the range that table (a daily table) holds rows of
// where cond: all of them when it holds none. Such a row of the range
// lies in a partial day at one of its ends, less than 25 hours from
// them (a whole day without rows has no intervals either): the bounds
// in constants let ClickHouse read only the ends.
func outsideDaily(col, table, cond string) string {
	return fmt.Sprintf("(%[1]s < $__fromTime + 90000 OR %[1]s > $__toTime - 90000)\n"+
		"      AND NOT (%[1]s >= (SELECT min(day_start) FROM %[2]s FINAL WHERE %[3]s)\n"+
		"      AND %[1]s < (SELECT max(day_end) FROM %[2]s FINAL WHERE %[3]s))", col, table, cond)
}

var (
	// outsideTimeDays keeps the agent_intervals rows outside the whole
	// days of agent_time_daily (any agent's: the bounds of a day are
	// everyone's).
	outsideTimeDays = outsideDaily("interval_start", "agent_time_daily", wholeDays)
	// outsideDutyDays keeps the target's agent_duty_intervals rows
	// outside the whole days of its agent_duty_daily.
	outsideDutyDays = outsideDaily("interval_start", "agent_duty_daily", oneTarget+" AND "+wholeDays)
	// workforceAgents keeps the rows of the target's agents: its user
	// operators (as the load lists them in agents) and the agents on duty
	// for it during the range (listed or not): agent_duty_daily over the
	// range's whole days, agent_duty_intervals over the rest.
	workforceAgents = "agent_id IN (\n" +
		"    SELECT agent_id FROM agents FINAL WHERE " + oneTarget + " AND kind = 'user'\n" +
		"    UNION ALL\n" +
		"    SELECT agent_id FROM agent_duty_intervals FINAL WHERE " + oneTarget + "\n" +
		"      AND interval_start >= $__fromTime AND interval_start <= $__toTime AND on_duty_ms > 0\n" +
		"      AND " + outsideDutyDays + "\n" +
		"    UNION ALL\n" +
		"    SELECT agent_id FROM agent_duty_daily FINAL WHERE " + oneTarget + " AND " + wholeDays + " AND on_duty_ms > 0)"
)

// intervalBuckets is a subquery of the target's figures per rolled-up
// interval (time): its inbound conversations' sums from target_intervals
// (offered, answered, short_abandoned, answered_in_threshold,
// total_wait_ms) and its agents' on-duty ms (on_duty_ms, summed per
// quarter hour first: an agent's row each). Only whole rolled-up
// intervals that overlap the range are kept.
var intervalBuckets = fmt.Sprintf(`(
    SELECT %[1]s AS time, sum(offered) AS offered, sum(answered) AS answered, sum(short_abandoned) AS short_abandoned,
        sum(answered_in_threshold) AS answered_in_threshold, sum(total_wait_ms) AS total_wait_ms, sum(on_duty_ms) AS on_duty_ms
    FROM
    (
        SELECT interval_start,
            toUInt64(offered) AS offered, toUInt64(answered) AS answered, toUInt64(short_abandoned) AS short_abandoned,
            toUInt64(answered_in_threshold) AS answered_in_threshold, toUInt64(total_wait_ms) AS total_wait_ms, toUInt64(0) AS on_duty_ms
        FROM target_intervals FINAL
        WHERE %[2]s AND %[3]s
          AND interval_start >= $__fromTime - 3600 AND interval_start <= $__toTime
        UNION ALL
        SELECT interval_start,
            toUInt64(0) AS offered, toUInt64(0) AS answered, toUInt64(0) AS short_abandoned,
            toUInt64(0) AS answered_in_threshold, toUInt64(0) AS total_wait_ms, toUInt64(sum(on_duty_ms)) AS on_duty_ms
        FROM agent_duty_intervals FINAL
        WHERE %[2]s
          AND interval_start >= $__fromTime - 3600 AND interval_start <= $__toTime
        GROUP BY interval_start
    ) AS quarter_hours
    GROUP BY time
    HAVING time + %[4]s * 60 > $__fromTime AND time <= $__toTime
) AS intervals`, bucket("interval_start"), oneTarget, nearDays, intervalSize)

// staffed is the average number of the target's agents on duty in an
// interval of intervalBuckets: on-duty ms / the interval's length.
var staffed = fmt.Sprintf("if(%s, on_duty_ms / (%s * 60000), NULL)", isCallCenter, intervalSize)

// timelineDays is the longest range the state timeline is drawn for: a
// month of status changes is about as many as a screen shows, and reading
// a year's would take seconds.
const timelineDays = 31

// statusTimeline is each agent of the target with its statuses over the
// range (of up to timelineDays), as Grafana's state timeline reads them:
// a row where a status starts (time, agent_key, Agent, Status), and a row
// without a status where one ends before the next begins (a gap, or now
// for the current one). A status lasts from its start until the agent's
// next starts or it ended, the current one until now; a status shorter
// than a second leaves no row. The statuses that start in the range are
// read whole (FINAL); of those before it only each agent's latest, the
// one the range starts in, by its start and status, which a later
// version never changes (so without FINAL, and the lookback costs two
// columns): its next status ends it.
var statusTimeline = strings.NewReplacer("$from", fromMs, "$to", toMs, "$now", nowMs, "$agents", workforceAgents,
	"$status", statusName, "$lookback", statusLookback, "$maxDays", strconv.Itoa(timelineDays)).Replace(`SELECT toDateTime(intDiv(tupleElement(p, 1), 1000), 'UTC') AS time, toString(agent_id) AS agent_key, Agent,
    nullIf(tupleElement(p, 2), '') AS Status
FROM
(
    SELECT agent_id, Agent,
        arrayJoin(arrayConcat(
            arrayFilter((x, s, e) -> intDiv(greatest(s, $from), 1000) < intDiv(e, 1000) AND e > $from,
                arrayMap((s, st) -> tuple(greatest(s, $from), st), starts, states), starts, ends),
            arrayFilter((x, e, nx) -> intDiv(e, 1000) < intDiv(nx, 1000) AND e > $from AND e < $to,
                arrayMap(e -> tuple(e, ''), ends), ends, nexts))) AS p
    FROM
    (
        SELECT agent_id, argMax(agent_name, started_ms) AS Agent,
            arraySort(groupArray(tuple(started_ms, if(ended_ms = 0 OR ended_ms > $now, $now, ended_ms), state))) AS spans,
            arrayMap(x -> tupleElement(x, 1), spans) AS starts,
            arrayMap(x -> tupleElement(x, 3), spans) AS states,
            arrayPushBack(arrayPopFront(starts), toInt64(9223372036854775807)) AS nexts,
            arrayMap((x, nx) -> least(tupleElement(x, 2), nx), spans, nexts) AS ends
        FROM
        (
            SELECT agent_id, agent_name, started_ms, ended_ms,
                $status AS state
            FROM agent_status FINAL
            WHERE $agents
              AND started_at >= $__fromTime AND started_at <= $__toTime
              AND dateDiff('second', $__fromTime, $__toTime) <= $maxDays * 86400
            UNION ALL
            SELECT agent_id, argMax(agent_name, started_ms), max(started_ms), toInt64(0),
                argMax($status, started_ms)
            FROM agent_status
            WHERE $agents
              AND started_at >= $__fromTime - $lookback AND started_at < $__fromTime
              AND dateDiff('second', $__fromTime, $__toTime) <= $maxDays * 86400
            GROUP BY agent_id
        ) AS statuses
        GROUP BY agent_id
    ) AS per_agent
)
ORDER BY Agent, agent_key, time`)

// rangeDays keeps the rows of the reporting-zone days the range touches
// (a table with a day column, counted in the job's zone).
const rangeDays = "day >= toDate($__fromTime, '${tz}') AND day <= toDate($__toTime, '${tz}')"

// hoursMinutes writes ms as h:mm.
func hoursMinutes(ms string) string {
	return strings.NewReplacer("$ms", ms).Replace(
		"concat(toString(intDiv($ms, 3600000)), ':', substring(toString(100 + intDiv($ms % 3600000, 60000)), 2, 2))")
}

// agentTime is the Workforce dashboard's table: per agent of the target
// with time counted in the range, the ms in each status over the
// intervals that start in the range and the off-duty time per reason;
// over the whole days the range touches (agent_daily's days), the
// handle time with after-call work. The range's whole days are read from
// agent_time_daily and agent_duty_daily, the intervals outside them from
// agent_intervals and agent_duty_intervals; the days the range touches
// (for the after-call work) from agent_time_daily. The rows are read
// once, every agent's (few: the days and the ends), and only the
// target's agents kept at the end, so that its list is read once: each
// row joined with its off-duty reasons (a row per reason; the other
// figures counted on the first), summed per agent and reason, then per
// agent. (No lambda refers to a column it does not take as an
// argument: ClickHouse 18.16 leaves such a column out of the subquery
// that should give it. The reasons stay arrays, not sumMap's keys:
// 18.16's sumMap takes no String keys.)
var agentTime = strings.NewReplacer("$agents", workforceAgents, "$days", rangeDays, "$cc", isCallCenter,
	"$whole", wholeDays, "$outsideDuty", outsideDutyDays, "$outside", outsideTimeDays,
	"$hm", hoursMinutes("tupleElement(x, 2)"), "$one", oneTarget,
	"$occupancy", ratio("(occupied_ms + wrapup_ms)", "(occupied_ms + wrapup_ms + available_ms)"),
	"$utilization", ratio("(occupied_ms + wrapup_ms)", "on_duty_ms"),
	"$handle", ratio("(talk_hold_ms + day_wrapup_ms) / 1000", "connected")).Replace(
	`SELECT toString(agent_id) AS agent_key, Agent,
    if($cc, on_duty_ms / 1000, NULL) AS ` + "`On duty`" + `,
    available_ms / 1000 AS Available, occupied_ms / 1000 AS Occupied, wrapup_ms / 1000 AS ` + "`Wrap-up`" + `, busy_ms / 1000 AS Busy,
    unavailable_ms / 1000 AS ` + "`Off duty`" + `, reasons AS ` + "`Off duty by reason`" + `, unknown_ms / 1000 AS Unknown,
    $occupancy AS Occupancy,
    if($cc, $utilization, NULL) AS Utilization,
    $handle AS ` + "`Handle time with after-call work`" + `
FROM
(
    SELECT agent_id, Agent, available_ms, busy_ms, occupied_ms, wrapup_ms, unavailable_ms, unknown_ms, reasons, day_wrapup_ms,
        on_duty_ms, connected, talk_hold_ms
    FROM
    (
        SELECT agent_id, Agent, available_ms, busy_ms, occupied_ms, wrapup_ms, unavailable_ms, unknown_ms, reasons, day_wrapup_ms,
            on_duty_ms
        FROM
        (
            SELECT agent_id, argMax(name, last_at) AS Agent,
                sum(available) AS available_ms, sum(busy) AS busy_ms, sum(occupied) AS occupied_ms, sum(wrapup) AS wrapup_ms,
                sum(unavailable) AS unavailable_ms, sum(unknown) AS unknown_ms, sum(day_wrapup) AS day_wrapup_ms,
                arrayStringConcat(arrayMap(x -> concat(if(tupleElement(x, 1) = '', 'no reason', tupleElement(x, 1)), ' ', $hm),
                    arraySort(groupArrayIf(tuple(reason, reason_total), reason_total > 0))), ', ') AS reasons
            FROM
            (
                SELECT agent_id, reason, argMax(agent_name, at) AS name, max(at) AS last_at,
                    sumIf(available_ms, in_range AND n <= 1) AS available, sumIf(busy_ms, in_range AND n <= 1) AS busy,
                    sumIf(occupied_ms, in_range AND n <= 1) AS occupied, sumIf(wrapup_ms, in_range AND n <= 1) AS wrapup,
                    sumIf(unavailable_ms, in_range AND n <= 1) AS unavailable, sumIf(unknown_ms, in_range AND n <= 1) AS unknown,
                    sumIf(wrapup_ms, in_days AND n <= 1) AS day_wrapup, sumIf(reason_ms, in_range) AS reason_total,
                    countIf(in_range) AS intervals
                FROM
                (
                    SELECT agent_id, agent_name, interval_start AS at,
                        toUInt64(available_ms) AS available_ms, toUInt64(busy_ms) AS busy_ms, toUInt64(occupied_ms) AS occupied_ms,
                        toUInt64(wrapup_ms) AS wrapup_ms, toUInt64(unavailable_ms) AS unavailable_ms, toUInt64(unknown_ms) AS unknown_ms,
                        unavailable_reasons, arrayMap(x -> toUInt64(x), unavailable_reason_ms) AS reason_ms_list,
                        toUInt8(1) AS in_range, toUInt8(0) AS in_days
                    FROM agent_intervals FINAL
                    WHERE $__timeFilter(interval_start)
                      AND $outside
                    UNION ALL
                    SELECT agent_id, agent_name, day_start AS at, available_ms, busy_ms, occupied_ms, wrapup_ms, unavailable_ms,
                        unknown_ms, unavailable_reasons, unavailable_reason_ms AS reason_ms_list,
                        toUInt8(day_start >= $__fromTime AND day_end <= $__toTime + 1) AS in_range, toUInt8($days) AS in_days
                    FROM agent_time_daily FINAL
                    WHERE ($days) OR ($whole)
                ) AS quarter_hours
                LEFT ARRAY JOIN unavailable_reasons AS reason, reason_ms_list AS reason_ms, arrayEnumerate(unavailable_reasons) AS n
                GROUP BY agent_id, reason
            ) AS per_reason
            GROUP BY agent_id
            HAVING sum(intervals) > 0 AND $agents
        ) AS states
        ANY LEFT JOIN
        (
            SELECT agent_id, sum(duty_ms) AS on_duty_ms
            FROM
            (
                SELECT agent_id, toUInt64(on_duty_ms) AS duty_ms
                FROM agent_duty_intervals FINAL
                WHERE $one AND $__timeFilter(interval_start) AND $outsideDuty
                UNION ALL
                SELECT agent_id, on_duty_ms AS duty_ms
                FROM agent_duty_daily FINAL
                WHERE $one AND $whole
            ) AS duty_rows
            GROUP BY agent_id
        ) AS duty USING agent_id
    ) AS with_duty
    ANY LEFT JOIN
    (
        SELECT agent_id, sum(completed_calls) AS connected, sum(total_duration_ms) + sum(hold_ms) AS talk_hold_ms
        FROM agent_daily FINAL
        WHERE $one AND $days
        GROUP BY agent_id
    ) AS daily USING agent_id
) AS per_agent
ORDER BY Agent, agent_key`)

// agentDayTime is a subquery of the time of the target's agents (those
// of its agent days) over the reporting-zone days the range touches, as
// the scorecard counts its other figures: per agent, has_time (1),
// worked_ms (occupied and wrap-up), available_ms and wrapup_ms. The
// days are whole: agent_time_daily's sums.
var agentDayTime = fmt.Sprintf(`(
        SELECT agent_id, toUInt8(1) AS has_time, sum(occupied) + sum(wrapup) AS worked_ms,
            sum(available) AS available_ms, sum(wrapup) AS wrapup_ms
        FROM
        (
            SELECT agent_id, occupied_ms AS occupied, wrapup_ms AS wrapup, available_ms AS available
            FROM agent_time_daily FINAL
            WHERE agent_id IN (SELECT agent_id FROM agent_daily FINAL WHERE %[1]s AND %[2]s)
              AND %[2]s
        ) AS days
        GROUP BY agent_id
        ) AS agent_time`, oneTarget, rangeDays)

// The staffing (derive/staffing.go, docs/counting.md's "Staffing"): the
// job writes per 15-minute interval what it needed (forecast = 0) and its
// forecast (forecast = 1); the dashboard rolls them up.

// needBuckets is a subquery of the target's staffing per rolled-up
// interval (time): the average of its quarter hours' required and
// scheduled agents (the staffed agents are an average too), and its
// agents' on-duty ms. Only whole rolled-up intervals that overlap the
// range are kept.
var needBuckets = fmt.Sprintf(`(
    SELECT %[1]s AS time, sum(required) / (%[4]s / 15) AS required, sum(scheduled) / (%[4]s / 15) AS scheduled,
        sum(on_duty_ms) AS on_duty_ms
    FROM
    (
        SELECT interval_start, toUInt64(required) AS required, toUInt64(scheduled) AS scheduled, toUInt64(0) AS on_duty_ms
        FROM staffing FINAL
        WHERE %[2]s AND %[3]s AND forecast = 0
          AND interval_start >= $__fromTime - 3600 AND interval_start <= $__toTime
        UNION ALL
        SELECT interval_start, toUInt64(0) AS required, toUInt64(0) AS scheduled, toUInt64(sum(on_duty_ms)) AS on_duty_ms
        FROM agent_duty_intervals FINAL
        WHERE %[2]s
          AND interval_start >= $__fromTime - 3600 AND interval_start <= $__toTime
        GROUP BY interval_start
    ) AS quarter_hours
    GROUP BY time
    HAVING time + %[4]s * 60 > $__fromTime AND time <= $__toTime
) AS needs`, bucket("interval_start"), oneTarget, nearDays, intervalSize)

// short is how many agents an interval of needBuckets lacked: required
// less staffed, where positive; no value outside call centers.
var short = fmt.Sprintf("if(%s, greatest(required - on_duty_ms / (%s * 60000), 0), NULL)", isCallCenter, intervalSize)

// weekAfter is the forecast of the 7 days after the range's last day,
// per time of day (rolled up to the interval size picked, on the
// reporting zone's clock) and weekday: the most agents to schedule in any
// quarter hour of it. Times that need no one on any day are left out.
var weekAfter = strings.NewReplacer("$bucket", bucket("interval_start"), "$target", oneTarget).Replace(
	`SELECT substring(toString(toDateTime($bucket, '${tz}')), 12, 5) AS Time,
    maxIf(scheduled, toDayOfWeek(day) = 1) AS Mon, maxIf(scheduled, toDayOfWeek(day) = 2) AS Tue,
    maxIf(scheduled, toDayOfWeek(day) = 3) AS Wed, maxIf(scheduled, toDayOfWeek(day) = 4) AS Thu,
    maxIf(scheduled, toDayOfWeek(day) = 5) AS Fri, maxIf(scheduled, toDayOfWeek(day) = 6) AS Sat,
    maxIf(scheduled, toDayOfWeek(day) = 7) AS Sun
FROM staffing FINAL
WHERE $target AND forecast = 1
  AND day > toDate($__toTime, '${tz}') AND day <= toDate($__toTime, '${tz}') + 7
  AND interval_start > $__toTime - 86400 AND interval_start < $__toTime + 9 * 86400
GROUP BY Time
HAVING max(scheduled) > 0
ORDER BY Time`)

// forecastError is, per weekday of the range's days, how far the
// forecast of offered calls was from what came: the mean absolute
// percentage error over the intervals that had calls, and over the days.
// Only intervals that have begun (with a row of what they needed) and
// whose forecast had weeks to go by count.
var forecastError = strings.NewReplacer("$target", oneTarget).Replace(
	`SELECT ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][wd] AS Weekday,
    count() AS Days,
    if(sum(ape_n) > 0, sum(ape_sum) / sum(ape_n), NULL) AS ` + "`Error per interval`" + `,
    avgIf(abs(f_day - a_day) / a_day, a_day > 0) AS ` + "`Error per day`" + `
FROM
(
    SELECT i_day, toDayOfWeek(i_day) AS wd, sum(f) AS f_day, sum(a) AS a_day,
        sumIf(abs(f - a) / a, a > 0) AS ape_sum, countIf(a > 0) AS ape_n
    FROM
    (
        SELECT interval_start, any(day) AS i_day, sumIf(offered, forecast = 1) AS f, sumIf(offered, forecast = 0) AS a,
            maxIf(weeks, forecast = 1) AS w, countIf(forecast = 0) AS begun
        FROM staffing FINAL
        WHERE $target AND day >= toDate($__fromTime, '${tz}') AND day <= toDate($__toTime, '${tz}')
          AND interval_start > $__fromTime - 86400 AND interval_start < $__toTime + 86400
        GROUP BY interval_start
        HAVING w > 0 AND begun = 1
    ) AS intervals
    GROUP BY i_day
    HAVING a_day > 0
) AS days
GROUP BY wd
ORDER BY wd`)
