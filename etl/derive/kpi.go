package derive

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// The contact-center KPIs, defined here once (and in docs/counting.md,
// "Contact-center KPIs"). Every one is of inbound conversations, per
// target and reporting-zone day of the conversation's start:
//
//   - short abandoned: not answered, and the entry leg (else the earliest
//     leg) lasted at most Thresholds.ShortAbandon, ring time included;
//   - abandoned: not answered (outcome missed or voicemail), not short;
//   - answered in threshold: answered with wait_ms at most
//     Thresholds.ServiceLevel. wait_ms runs from the conversation's
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

// Thresholds are the settings the KPIs are judged by, recorded with
// every conversation and target day they produced.
type Thresholds struct {
	ShortAbandon time.Duration // KPI_SHORT_ABANDON
	ServiceLevel time.Duration // KPI_SERVICE_LEVEL_THRESHOLD
}

// DefaultThresholds are the job's defaults (KPI_SHORT_ABANDON 5 s,
// KPI_SERVICE_LEVEL_THRESHOLD 60 s); Dialpad does not publish its
// Analytics' default threshold.
var DefaultThresholds = Thresholds{ShortAbandon: 5 * time.Second, ServiceLevel: 60 * time.Second}

// The KPI columns of conversations, computed with the others from the
// legs (see computeConversations, whose aliases they use); the two
// arguments are the thresholds in ms. The repeat and recovery flags,
// which depend on other conversations, are left 0 there and set by
// recomputeKPIs.
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

// listCallers reads what the flags depend on, of the target's
// conversations with a number on the days {near}: the month's, and those
// a repeat of its last day can start on.
const listCallers = `SELECT external_number, conversation_id, toUInt32(started_at), toUInt8(direction = 'inbound'),
	answered, abandoned, toUInt8(toYYYYMM(day) = ?)
FROM conversations FINAL
WHERE target_type = ? AND target_id = ? AND external_number != '' AND {near}`

// applyFlags copies the month's conversations with the flags that
// conversation_flags_stage holds for them ({cols}: the other columns).
// Each table is read once: on 18.16 a statement that reads a table a
// second time can wait forever behind another target's partition
// replacement.
const applyFlags = `INSERT INTO conversations_stage ({cols}, repeat_contact, recovered, recovery_ms)
SELECT {cols}, f_repeat, f_recovered, f_recovery_ms
FROM
(
    SELECT * FROM conversations FINAL
    WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ?
) AS month
ANY LEFT JOIN
(
    SELECT conversation_id, repeat_contact AS f_repeat, recovered AS f_recovered, recovery_ms AS f_recovery_ms
    FROM conversation_flags_stage
    WHERE target_type = ? AND target_id = ? AND month = ?
) AS flags USING conversation_id`

// caller is one conversation of a number, as the flags need it.
type caller struct {
	id                         uint64
	start                      uint32 // seconds, as conversations stores it
	inbound, answered, abandon bool
	inMonth                    bool
	repeat, recovered          bool
	recoveryMs                 uint64
}

// flagCallers sets the repeat and recovery flags of one number's
// conversations: a conversation's next inbound and next answered ones,
// in the order of start then id, are found in one pass from the last.
func flagCallers(cs []caller) {
	sort.Slice(cs, func(i, k int) bool {
		if cs[i].start != cs[k].start {
			return cs[i].start < cs[k].start
		}
		return cs[i].id < cs[k].id
	})
	nextInbound, nextAnswered := -1, -1
	for i := len(cs) - 1; i >= 0; i-- {
		c := &cs[i]
		if c.inbound && nextInbound >= 0 && int64(cs[nextInbound].start)-int64(c.start) <= int64(RepeatWindow/time.Second) {
			c.repeat = true
		}
		if c.abandon && nextAnswered >= 0 {
			if d := int64(cs[nextAnswered].start) - int64(c.start); d <= int64(RecoveryWindow/time.Second) {
				c.recovered, c.recoveryMs = true, uint64(d)*1000
			}
		}
		if c.inbound {
			nextInbound = i
		}
		if c.answered {
			nextAnswered = i
		}
	}
}

const targetDayColumns = `target_type, target_id, day, day_start, day_end, inbound, outbound, answered,
	abandoned, short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms, transferred,
	repeat_contacts, recovered, total_recovery_ms, short_abandon_ms, service_level_ms, version,
	abandoned_before_agent, missed_by_agents, voicemail, csat_responses, csat_total, csat_satisfied, mos_legs, low_mos_legs`

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
	toUInt64(?),
	toUInt32(sum(abandoned_before_agent)),
	toUInt32(sum(missed_by_agents)),
	toUInt32(countIf(direction = 'inbound' AND outcome = 'voicemail')),
	toUInt32(countIf(direction = 'inbound' AND answered = 1 AND csat > 0)),
	toUInt32(sumIf(csat, direction = 'inbound' AND answered = 1)),
	toUInt32(countIf(direction = 'inbound' AND answered = 1 AND csat >= 4)),
	toUInt32(sum(mos_legs)),
	toUInt32(sum(low_mos_legs))
FROM conversations FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ?
GROUP BY target_type, target_id, day`

// kpiColumns are conversations' columns but the flags recomputeKPIs sets.
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

// recomputeKPIs sets the repeat and recovery flags of target's
// conversations in month, then sums its target days. Call it once the
// conversations of the month and of the days after it (up to
// RepeatWindow) are computed.
func (d *Deriver) recomputeKPIs(ctx context.Context, target dialpad.Target, month int) error {
	id := uint64(target.ID)
	first := time.Date(month/100, time.Month(month%100), 1, 0, 0, 0, 0, time.UTC)
	// The month's days, and those a repeat of its last day can start on.
	near := text(fmt.Sprintf("day >= toDate('%s') AND day <= toDate('%s')",
		first.Format(time.DateOnly), first.AddDate(0, 1, int(RepeatWindow/(24*time.Hour))+1).Format(time.DateOnly)))
	cols := map[string]stmt{"cols": text(strings.Join(kpiColumns(), ", "))}
	err := d.replaceMonth(ctx, "conversations", target, month, func() error {
		if err := d.stageFlags(ctx, target, month, near); err != nil {
			return err
		}
		return d.exec(ctx, sqlOf(applyFlags, cols, target.Type, id, month, target.Type, id, month))
	})
	if err != nil {
		return fmt.Errorf("recompute repeats and recoveries of %s in %d: %w", target, month, err)
	}
	zone := d.db.Location().String()
	err = d.replaceMonth(ctx, "target_daily", target, month, func() error {
		return d.db.Exec(ctx, computeTargetDays, zone, zone, db.Version(time.Now()), target.Type, id, month)
	})
	if err != nil {
		return fmt.Errorf("recompute target days of %s in %d: %w", target, month, err)
	}
	return nil
}

// stageFlags fills target's partition of conversation_flags_stage for
// month with the flags of the month's conversations that have a number
// and a flag set, from the conversations of the days near. Call it under
// the month's lock (replaceMonth's fill); the target's lease keeps two
// processes apart.
func (d *Deriver) stageFlags(ctx context.Context, target dialpad.Target, month int, near stmt) error {
	id := uint64(target.ID)
	q := sqlOf(listCallers, map[string]stmt{"near": near}, month, target.Type, id)
	rows, err := d.db.Query(ctx, q.sql, q.args...)
	if err != nil {
		return err
	}
	byNumber := map[string][]caller{}
	for rows.Next() {
		var number string
		var c caller
		var inbound, answered, abandoned, inMonth uint8
		if err := rows.Scan(&number, &c.id, &c.start, &inbound, &answered, &abandoned, &inMonth); err != nil {
			rows.Close()
			return err
		}
		c.inbound, c.answered, c.abandon, c.inMonth = inbound == 1, answered == 1, abandoned == 1, inMonth == 1
		byNumber[number] = append(byNumber[number], c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := d.db.Exec(ctx, "ALTER TABLE conversation_flags_stage DROP PARTITION (?, ?, ?)", target.Type, id, month); err != nil {
		return err
	}
	return d.db.Send(ctx, "conversation_flags_stage", `INSERT INTO conversation_flags_stage
		(target_type, target_id, month, conversation_id, repeat_contact, recovered, recovery_ms)`, func(b driver.Batch) error {
		for _, cs := range byNumber {
			flagCallers(cs)
			for _, c := range cs {
				if !c.inMonth || !c.repeat && !c.recovered {
					continue
				}
				if err := b.Append(target.Type, id, uint32(month), c.id, db.Flag(c.repeat), db.Flag(c.recovered), c.recoveryMs); err != nil {
					return err
				}
			}
		}
		return nil
	})
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
func (d *Deriver) RecordKPISettings(ctx context.Context, goal float64) error {
	var other uint64
	if err := d.db.QueryRow(ctx, "SELECT count() FROM target_daily FINAL WHERE short_abandon_ms != ? OR service_level_ms != ?",
		uint32(d.kpi.ShortAbandon.Milliseconds()), uint32(d.kpi.ServiceLevel.Milliseconds())).Scan(&other); err != nil {
		return fmt.Errorf("read the KPI thresholds of target_daily: %w", err)
	}
	if other > 0 {
		d.db.Log().Warn("some target days were counted with other KPI thresholds; run 'dialpad-etl rebuild' to count every day "+
			"with these", "target_days", other, "short_abandon", d.kpi.ShortAbandon, "service_level_threshold", d.kpi.ServiceLevel)
	}
	now := time.Now().UTC()
	for _, kv := range [][2]string{
		{shortAbandonSetting, strconv.FormatInt(d.kpi.ShortAbandon.Milliseconds(), 10)},
		{serviceLevelSetting, strconv.FormatInt(d.kpi.ServiceLevel.Milliseconds(), 10)},
		{goalSetting, strconv.FormatFloat(goal, 'f', -1, 64)},
	} {
		if err := d.db.InsertRow(ctx, "etl_settings", "INSERT INTO etl_settings (name, value, updated_at, version)",
			kv[0], kv[1], now, db.Version(now)); err != nil {
			return fmt.Errorf("record the KPI settings: %w", err)
		}
	}
	return nil
}
