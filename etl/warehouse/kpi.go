package warehouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// The contact-center KPIs, defined here once (and in the README's
// "Contact-center KPIs"). Every one is of inbound conversations, per
// target and reporting-zone day of the conversation's start:
//
//   - short abandoned: not answered, and the entry leg (else the earliest
//     leg) lasted at most KPIThresholds.ShortAbandon, ring time included;
//   - abandoned: not answered (outcome missed or voicemail), not short;
//   - answered in threshold: answered with wait_ms at most
//     KPIThresholds.ServiceLevel. wait_ms runs from the conversation's
//     start, or, where events gave them, from the earliest queue start or
//     first ring of its legs, to the first connection;
//   - handle time: talk_ms plus the agents' hold_ms (events), of answered
//     conversations;
//   - transferred: more than one agent leg connected, or a leg marked
//     is_transferred;
//   - repeat contact: the same external number called the target again
//     (an inbound conversation) within RepeatWindow after the start;
//   - recovered: abandoned, and the number had an answered conversation
//     with the target (either direction) that started within
//     RecoveryWindow after; recovery_ms is the time between the starts.
//
// service level = answered in threshold / (inbound - short abandoned);
// abandonment rate = abandoned / (inbound - short abandoned); average
// speed of answer = wait / answered; average handle time = handle /
// answered; repeat-contact rate = repeat contacts / inbound.
const (
	RepeatWindow   = 7 * 24 * time.Hour
	RecoveryWindow = 24 * time.Hour
)

// KPIThresholds are the settings the KPIs are judged by, recorded with
// every conversation and target day they produced.
type KPIThresholds struct {
	ShortAbandon time.Duration // KPI_SHORT_ABANDON
	ServiceLevel time.Duration // KPI_SERVICE_LEVEL_THRESHOLD
}

// DefaultKPIThresholds are Dialpad's own defaults.
var DefaultKPIThresholds = KPIThresholds{ShortAbandon: 5 * time.Second, ServiceLevel: 60 * time.Second}

// The KPI columns of conversations, computed with the others from the
// legs (see computeConversations, whose aliases they use); the two
// arguments are the thresholds in ms. The repeat and recovery flags,
// which depend on other conversations, are left 0 there and set by
// computeFlags.
const conversationKPIs = `
	if(countIf(is_entry_leg = 1) > 0, argMinIf(external_number, started_ms, is_entry_leg = 1), argMin(external_number, started_ms)),
	toUInt8(c_direction = 'inbound' AND c_answered = 0 AND if(countIf(is_entry_leg = 1) > 0,
		argMinIf(total_duration_ms, started_ms, is_entry_leg = 1), argMin(total_duration_ms, started_ms)) <= c_short_ms) AS c_short,
	toUInt8(c_direction = 'inbound' AND c_answered = 0 AND c_short = 0),
	toUInt8(c_direction = 'inbound' AND c_answered = 1 AND c_wait <= c_level_ms),
	if(c_answered = 1, c_talk + c_hold, toUInt64(0)),
	toUInt8(countIf(agent_id != 0 AND connected_ms > 0) > 1 OR max(is_transferred) = 1),
	toUInt8(0), toUInt8(0), toUInt64(0),
	toUInt32(?) AS c_short_ms, toUInt32(?) AS c_level_ms`

// computeFlags computes the repeat and recovery flags of the month's
// conversations from those of the same numbers that start up to
// RepeatWindow after them (%[3]s bounds the days read). Each number's
// conversations, whole (%[1]s: the tuple of the kept columns; %[2]s
// those columns taken out of the tuple c), are sorted by start, then id:
// a conversation's next inbound one is the inbound one after as many
// inbound ones as the sorted list holds up to it, and likewise its next
// answered one, so that the work grows with the calls, not their square.
// A conversation without a number is a number of its own. (The table is
// read once: on 18.16 a statement that reads it a second time can wait
// forever behind another target's partition replacement.)
const computeFlags = `INSERT INTO conversations_stage (%[4]s, repeat_contact, recovered, recovery_ms)
SELECT %[2]s,
    toUInt8(tupleElement(c, 3) = 1 AND seen_in < length(ins)
        AND tupleElement(ins[seen_in + 1], 2) - tupleElement(c, 2) <= ?) AS f_repeat,
    toUInt8(tupleElement(c, 5) = 1 AND seen_answered < length(answers)
        AND tupleElement(answers[seen_answered + 1], 2) - tupleElement(c, 2) <= ?) AS f_recovered,
    if(f_recovered = 1, toUInt64(tupleElement(answers[seen_answered + 1], 2) - tupleElement(c, 2)) * 1000, toUInt64(0))
FROM
(
    SELECT if(external_number = '', concat('#', toString(conversation_id)), external_number) AS number,
        arraySort(x -> (tupleElement(x, 2), tupleElement(x, 1)),
            groupArray(tuple(conversation_id, toUInt32(started_at), toUInt8(direction = 'inbound'), answered, abandoned,
                toYYYYMM(day) = ?, %[1]s))) AS cs,
        arrayFilter(x -> tupleElement(x, 3) = 1, cs) AS ins,
        arrayFilter(x -> tupleElement(x, 4) = 1, cs) AS answers,
        arrayCumSum(arrayMap(x -> toUInt32(tupleElement(x, 3)), cs)) AS ins_so_far,
        arrayCumSum(arrayMap(x -> toUInt32(tupleElement(x, 4)), cs)) AS answers_so_far
    FROM conversations FINAL
    WHERE target_type = ? AND target_id = ? AND %[3]s
    GROUP BY number
) AS numbers
ARRAY JOIN cs AS c, ins_so_far AS seen_in, answers_so_far AS seen_answered
WHERE tupleElement(c, 6) = 1`

// flagsFixed is how many fields computeFlags's tuples have before the
// kept columns.
const flagsFixed = 6

const targetDayColumns = `target_type, target_id, day, day_start, day_end, inbound, outbound, answered,
	abandoned, short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms, transferred,
	repeat_contacts, recovered, total_recovery_ms, short_abandon_ms, service_level_ms, version`

// computeTargetDays sums the month's conversations per day.
const computeTargetDays = `INSERT INTO target_daily_stage (` + targetDayColumns + `)
SELECT target_type, target_id, day, toDateTime(concat(toString(day), ' 00:00:00'), ?),
	toDateTime(concat(toString(day + 1), ' 00:00:00'), ?),
	toUInt32(countIf(direction = 'inbound')),
	toUInt32(countIf(direction = 'outbound')),
	toUInt32(countIf(direction = 'inbound' AND answered = 1)),
	toUInt32(sum(abandoned)),
	toUInt32(sum(short_abandoned)),
	toUInt32(sum(answered_in_threshold)),
	sumIf(wait_ms, direction = 'inbound' AND answered = 1),
	sumIf(handle_ms, direction = 'inbound' AND answered = 1),
	toUInt32(countIf(direction = 'inbound' AND transferred = 1)),
	toUInt32(sum(repeat_contact)),
	toUInt32(sum(recovered)),
	sum(recovery_ms),
	max(short_abandon_ms),
	max(service_level_ms),
	toUInt64(?)
FROM conversations FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ?
GROUP BY target_type, target_id, day`

// kpiColumns are conversations' columns but the flags computeFlags sets.
func kpiColumns() []string {
	var out []string
	for _, c := range splitColumns(conversationColumns) {
		switch c {
		case "repeat_contact", "recovered", "recovery_ms":
			continue
		}
		out = append(out, c)
	}
	return out
}

// flagsQuery is computeFlags for the days near (a condition on day).
func flagsQuery(near string) string {
	cols := kpiColumns()
	out := make([]string, len(cols))
	for i := range cols {
		out[i] = fmt.Sprintf("tupleElement(c, %d)", flagsFixed+1+i)
	}
	list := strings.Join(cols, ", ")
	return fmt.Sprintf(computeFlags, list, strings.Join(out, ", "), near, list)
}

// recomputeKPIs sets the repeat and recovery flags of target's
// conversations in month, then sums its target days. Call it once the
// conversations of the month and of the days after it (up to
// RepeatWindow) are computed.
func (s *Store) recomputeKPIs(ctx context.Context, target dialpad.Target, month int) error {
	id := uint64(target.ID)
	first := time.Date(month/100, time.Month(month%100), 1, 0, 0, 0, 0, time.UTC)
	// The month's days, and those a repeat of its last day can start on.
	near := fmt.Sprintf("day >= toDate('%s') AND day <= toDate('%s')",
		first.Format(time.DateOnly), first.AddDate(0, 1, int(RepeatWindow/(24*time.Hour))+1).Format(time.DateOnly))
	err := s.replaceMonth(ctx, "conversations", target, month, func() error {
		return s.conn.Exec(ctx, flagsQuery(near), uint32(RepeatWindow/time.Second), uint32(RecoveryWindow/time.Second),
			month, target.Type, id)
	})
	if err != nil {
		return fmt.Errorf("recompute repeats and recoveries of %s in %d: %w", target, month, err)
	}
	zone := s.opt.Location.String()
	err = s.replaceMonth(ctx, "target_daily", target, month, func() error {
		return s.conn.Exec(ctx, computeTargetDays, zone, zone, Version(time.Now()), target.Type, id, month)
	})
	if err != nil {
		return fmt.Errorf("recompute target days of %s in %d: %w", target, month, err)
	}
	return nil
}

// kpiMonths are the months whose flags and target days a change of the
// conversations of days can change: those of the days and of the days
// before them that a repeat can reach back to (one more for a local day
// that is longer than 24 hours).
func kpiMonths(days daySet) []int {
	out := daySet{}
	for d := range days {
		for k := 0; k <= int(RepeatWindow/(24*time.Hour))+1; k++ {
			out[d.AddDate(0, 0, -k)] = true
		}
	}
	return out.months()
}

// The names in etl_settings of the KPI settings; the dashboards read the
// goal, the service level's target line.
const (
	shortAbandonSetting = "kpi_short_abandon_ms"
	serviceLevelSetting = "kpi_service_level_ms"
	goalSetting         = "kpi_service_level_goal"
)

// RecordKPISettings records the store's thresholds and goal (the
// service level's target, a percentage) in etl_settings, and warns when
// stored target days were judged by other thresholds: only the days
// recomputed since show the new ones until 'dialpad-etl rebuild' runs.
func (s *Store) RecordKPISettings(ctx context.Context, goal float64) error {
	var other uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM target_daily FINAL WHERE short_abandon_ms != ? OR service_level_ms != ?",
		uint32(s.kpi.ShortAbandon.Milliseconds()), uint32(s.kpi.ServiceLevel.Milliseconds())).Scan(&other); err != nil {
		return fmt.Errorf("read the KPI thresholds of target_daily: %w", err)
	}
	if other > 0 {
		s.log.Warn("some target days were counted with other KPI thresholds; run 'dialpad-etl rebuild' to count every day "+
			"with these", "target_days", other, "short_abandon", s.kpi.ShortAbandon, "service_level_threshold", s.kpi.ServiceLevel)
	}
	now := time.Now().UTC()
	for _, kv := range [][2]string{
		{shortAbandonSetting, strconv.FormatInt(s.kpi.ShortAbandon.Milliseconds(), 10)},
		{serviceLevelSetting, strconv.FormatInt(s.kpi.ServiceLevel.Milliseconds(), 10)},
		{goalSetting, strconv.FormatFloat(goal, 'f', -1, 64)},
	} {
		if err := s.insertRow(ctx, "etl_settings", "INSERT INTO etl_settings (name, value, updated_at, version)",
			kv[0], kv[1], now, Version(now)); err != nil {
			return fmt.Errorf("record the KPI settings: %w", err)
		}
	}
	return nil
}
