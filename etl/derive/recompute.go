// Package derive computes the tables derived from the legs, inside
// ClickHouse: agent days, daily counts, customer conversations with their
// KPI columns, target days and the repeat and recovery flags
// (recompute.go, kpi.go), target intervals, the agents' time per interval
// from their statuses (agenttime.go, agents.go), and counts every day
// again when the reporting zone changes (zone.go). The rules are those of
// docs/counting.md.
//
// It imports dialpad, schema and the warehouse's connection (package db);
// the load and the event receiver call Recompute through an interface of
// their own.
package derive

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Deriver computes the derived tables of one warehouse. It is safe for
// concurrent use.
type Deriver struct {
	db       *db.DB
	root     *db.DB // the warehouse's connection: on a cluster, db may be a shard's
	kpi      Thresholds
	staffing Staffing
	now      func() time.Time // where the staffing's past ends; versions are of time.Now
	months   *sync.Map        // target/month -> *sync.Mutex: see monthLock
	agents   *sync.Mutex      // RecountAgents
}

// New is the deriver of the warehouse d, judging the KPIs by kpi and
// staffing the intervals by plan.
func New(d *db.DB, kpi Thresholds, plan Staffing) *Deriver {
	return &Deriver{db: d, root: d, kpi: kpi, staffing: plan, now: time.Now, months: &sync.Map{}, agents: &sync.Mutex{}}
}

// WithClock is d with now as its clock: what a rebuild counts the
// agents' current statuses until, and where the staffing's past ends.
func (d *Deriver) WithClock(now func() time.Time) *Deriver {
	c := *d
	c.now = now
	return &c
}

// on is d on sh, a replica of a shard (db.DB's OnShard), sharing d's
// locks.
func (d *Deriver) on(sh *db.DB) *Deriver {
	c := *d
	c.db = sh
	return &c
}

// The aggregates of the call model, computed by the server from the
// deduplicated legs (calls FINAL). A recompute replaces whole partitions
// (target and month of the day): the month's rows go into a staging
// table, which then replaces the month's partition. The rows of the days
// the recompute does not touch are copied from the partition as they are;
// those of the touched days are computed again from their legs. So it
// reads only the legs its days can hold, however long the history, and
// running it again, or after a re-load, leaves exactly the rows a
// computation from scratch would: a key that no longer has legs is gone.
// The rules are those of docs/counting.md.
//
// One assumption bounds what a day can touch: the legs of one
// conversation start within a day of each other.

const agentDayColumns = `target_type, target_id, day, agent_id, agent_name,
	total_calls, inbound_calls, outbound_calls, completed_calls, missed_calls,
	voicemail_calls, cancelled_calls, total_duration_ms, avg_duration_ms, version, hold_ms, transferred_calls,
	mos_legs, low_mos_legs`

// keepAgentDays copies the month's agent days that are not of the touched
// {days}.
const keepAgentDays = `INSERT INTO agent_daily_stage (` + agentDayColumns + `)
SELECT ` + agentDayColumns + ` FROM agent_daily FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ? AND day NOT IN ({days})`

// computeAgentDays computes the agent days of the touched {days}; {starts}
// is the span of start times their legs lie in.
const computeAgentDays = `INSERT INTO agent_daily_stage (` + agentDayColumns + `)
SELECT target_type, target_id, day, agent_id,
	argMax(agent_name, started_ms),
	toUInt32(count()),
	toUInt32(countIf(direction = 'inbound')),
	toUInt32(countIf(direction = 'outbound')),
	toUInt32(countIf(status = 'completed')) AS n_completed,
	toUInt32(countIf(direction = 'inbound' AND status IN ('missed', 'voicemail'))),
	toUInt32(countIf(status = 'voicemail')),
	toUInt32(countIf(status = 'cancelled')),
	sum(duration_ms) AS sum_duration,
	toUInt64(intDivOrZero(sum_duration, n_completed)),
	toUInt64(?),
	sum(hold_ms),
	toUInt32(countIf(is_transferred = 1)),
	toUInt32(countIf(connected_ms > 0 AND isNotNull(mos_score))),
	toUInt32(countIf(connected_ms > 0 AND isNotNull(mos_score) AND ifNull(mos_score, 0) < ` + lowMOS + `))
FROM calls FINAL
WHERE target_type = ? AND target_id = ? AND agent_id != 0 AND {starts} AND day IN ({days})
GROUP BY target_type, target_id, day, agent_id`

const dailyColumns = `target_type, target_id, day, day_start, day_end, agent_id, direction, status, legs, duration_ms, version`

// keepDaily copies the month's daily counts that are not of the touched
// {days}.
const keepDaily = `INSERT INTO calls_daily_stage (` + dailyColumns + `)
SELECT ` + dailyColumns + ` FROM calls_daily FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ? AND day NOT IN ({days})`

// computeDaily counts the legs of the touched {days} ({starts} bounds
// their starts). The day's bounds are its midnights in the reporting zone.
const computeDaily = `INSERT INTO calls_daily_stage (` + dailyColumns + `)
SELECT target_type, target_id, day, toDateTime(concat(toString(day), ' 00:00:00'), ?),
	toDateTime(concat(toString(day + 1), ' 00:00:00'), ?),
	agent_id, direction, status, toUInt32(count()), sum(duration_ms), toUInt64(?)
FROM calls FINAL
WHERE target_type = ? AND target_id = ? AND {starts} AND day IN ({days})
GROUP BY target_type, target_id, day, agent_id, direction, status`

// nameTarget records the target, named by the entry legs of the touched
// {days} ({starts} bounds their starts), if they have one.
const nameTarget = `INSERT INTO targets (target_type, target_id, name, updated_at, version)
SELECT target_type, target_id,
	argMaxIf(leg_target_name, started_ms, is_entry_leg = 1 AND leg_target_type = toString(target_type) AND leg_target_id = target_id) AS t_name,
	now(), if(t_name = '', toUInt64(0), toUInt64(?))
FROM calls
WHERE target_type = ? AND target_id = ? AND {starts} AND day IN ({days})
GROUP BY target_type, target_id`

const conversationColumns = `target_type, target_id, conversation_id,
	direction, started_at, day, answered, answered_by, answered_by_name, outcome,
	wait_ms, talk_ms, legs, contact_name, contact_phone, version,
	queued_ms, first_rang_ms, hold_ms,
	external_number, short_abandoned, abandoned, answered_in_threshold, handle_ms, transferred,
	repeat_contact, recovered, recovery_ms, short_abandon_ms, service_level_ms,
	labels, dispositions, csat_score, csat, csat_comments, pcsat_score, mos_legs, low_mos_legs, worst_mos,
	agent_rang, abandoned_before_agent, missed_by_agents, csat_agent_id, csat_agent_name`

// touchedConversations are the conversations a recompute computes again:
// those with a leg on a touched day ({days}; {starts} bounds their
// starts), and those stored with a day {beside} one, which may have lost a
// leg to another conversation. Legs are read without FINAL, so the
// conversation of an older copy of a leg is among them too.
const touchedConversations = `(conversation_id IN (SELECT conversation_id FROM calls
	WHERE target_type = ? AND target_id = ? AND {starts} AND day IN ({days}))
OR conversation_id IN (SELECT conversation_id FROM conversations
	WHERE target_type = ? AND target_id = ? AND day IN ({beside})))`

// keepConversations copies the month's conversations that the recompute
// does not touch: those without a leg on a touched day ({days}; {starts}
// bounds their starts) and not on a day {beside} one. It is
// touchedConversations with the stored day read from the row itself: on
// 18.16 a statement that reads conversations a second time can wait
// forever behind another target's partition replacement.
const keepConversations = `INSERT INTO conversations_stage (` + conversationColumns + `)
SELECT ` + conversationColumns + ` FROM conversations FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ?
	AND NOT (conversation_id IN (SELECT conversation_id FROM calls
		WHERE target_type = ? AND target_id = ? AND {starts} AND day IN ({days}))
	OR day IN ({beside}))`

// computeConversations computes the {touched} conversations that belong
// to the month, from all their legs ({starts} bounds their starts) and
// what call_feedback holds of them. A conversation belongs to the month
// of its first leg's day. The wait runs from the earliest queue start or
// first ring that events gave, else from the start. Its arguments: the
// version, the KPI thresholds (in conversationKPIs), the target (of the
// legs, then of the feedback), and the month.
const computeConversations = `INSERT INTO conversations_stage (` + conversationColumns + `)
SELECT target_type, target_id, conversation_id,
	if(countIf(is_entry_leg = 1) > 0, argMinIf(toString(direction), started_ms, is_entry_leg = 1), argMin(toString(direction), started_ms)) AS c_direction,
	min(started_at),
	argMin(day, started_ms) AS c_day,
	toUInt8(countIf(connected_ms > 0) > 0) AS c_answered,
	argMinIf(agent_id, connected_ms, connected_ms > 0 AND agent_id != 0),
	argMinIf(agent_name, connected_ms, connected_ms > 0 AND agent_id != 0),
	multiIf(c_answered = 1, 'answered', max(has_voicemail) = 1, 'voicemail', c_direction = 'inbound', 'missed', 'cancelled') AS c_outcome,
	if(c_answered = 1, toUInt64(greatest(minIf(connected_ms, connected_ms > 0) - multiIf(
		c_queued > 0 AND c_rang > 0, least(c_queued, c_rang), c_queued > 0, c_queued, c_rang > 0, c_rang, min(started_ms)), 0)), toUInt64(0)) AS c_wait,
	if(countIf(agent_id != 0) > 0, sumIf(duration_ms, agent_id != 0), sumIf(duration_ms, is_entry_leg = 1)) AS c_talk,
	toUInt32(count()),
	argMin(contact_name, started_ms),
	argMin(contact_phone, started_ms),
	toUInt64(?),
	minIf(queued_ms, queued_ms > 0) AS c_queued,
	minIf(first_rang_ms, first_rang_ms > 0) AS c_rang,
	if(countIf(agent_id != 0) > 0, sumIf(hold_ms, agent_id != 0), sumIf(hold_ms, is_entry_leg = 1)) AS c_hold,` + conversationKPIs + `,` + conversationReasons + `
FROM
(
    SELECT ` + conversationLegColumns + `,
        if(csat_score != '', csat_score, f_csat) AS l_csat,
        if(notEmpty(csat_comments), csat_comments, f_comments) AS l_comments,
        toUInt8(l_csat != '' OR notEmpty(l_comments)) AS l_surveyed,
        f_pcsat AS l_pcsat, f_dispositions AS l_dispositions
    FROM
    (
        SELECT ` + conversationLegColumns + `, csat_score, csat_comments FROM calls FINAL
        WHERE target_type = ? AND target_id = ? AND {starts} AND {touched}
    ) AS legs
    ANY LEFT JOIN
    (
        SELECT call_id,
            argMaxIf(score, version, kind = 'csat') AS f_csat,
            argMaxIf(comments, version, kind = 'csat') AS f_comments,
            argMaxIf(score, version, kind = 'pcsat') AS f_pcsat,
            argMaxIf(names, version, kind = 'disposition') AS f_dispositions
        FROM call_feedback FINAL
        WHERE target_type = ? AND target_id = ? AND {feedback}
        GROUP BY call_id
    ) AS feedback USING call_id
)
GROUP BY target_type, target_id, conversation_id
HAVING toYYYYMM(c_day) = ?`

// conversationLegColumns are the columns of calls a conversation is computed
// from (computeConversations), besides the CSAT's.
const conversationLegColumns = `target_type, target_id, call_id, conversation_id, is_entry_leg, direction, started_at, started_ms, day,
	connected_ms, agent_id, agent_name, has_voicemail, duration_ms, total_duration_ms, contact_name, contact_phone,
	queued_ms, first_rang_ms, hold_ms, external_number, is_transferred, labels, mos_score`

// conversationReasons are the columns of why the customer called and how
// it went (docs/counting.md, "Reasons and satisfaction"), computed with
// the others (computeConversations, whose aliases they use). A leg's CSAT
// score and comments are each the list's, else the csat event's (l_csat,
// l_comments); the conversation's are those of its last connected agent
// leg that has either (whose agent it records), else of its entry leg.
// Its predicted CSAT likewise. A MOS below lowMOS is poor.
const conversationReasons = `
	arraySort(groupUniqArrayArray(labels)),
	arraySort(groupUniqArrayArray(l_dispositions)),
	if(countIf(agent_id != 0 AND l_surveyed = 1) > 0,
		argMaxIf(l_csat, connected_ms, agent_id != 0 AND l_surveyed = 1),
		argMinIf(l_csat, started_ms, is_entry_leg = 1 AND l_surveyed = 1)) AS c_csat,
	toUInt8(if(c_csat IN ('1', '2', '3', '4', '5'), toUInt8OrZero(c_csat), 0)),
	if(countIf(agent_id != 0 AND l_surveyed = 1) > 0,
		argMaxIf(l_comments, connected_ms, agent_id != 0 AND l_surveyed = 1),
		argMinIf(l_comments, started_ms, is_entry_leg = 1 AND l_surveyed = 1)),
	if(countIf(agent_id != 0 AND l_pcsat != '') > 0,
		argMaxIf(l_pcsat, connected_ms, agent_id != 0 AND l_pcsat != ''),
		argMinIf(l_pcsat, started_ms, is_entry_leg = 1 AND l_pcsat != '')),
	toUInt32(countIf(connected_ms > 0 AND isNotNull(mos_score))),
	toUInt32(countIf(connected_ms > 0 AND isNotNull(mos_score) AND ifNull(mos_score, 0) < ` + lowMOS + `)),
	toFloat64(minIf(ifNull(mos_score, 0), connected_ms > 0 AND isNotNull(mos_score))),
	toUInt8(countIf(agent_id != 0) > 0) AS c_agent_rang,
	toUInt8(c_direction = 'inbound' AND c_outcome = 'missed' AND c_agent_rang = 0),
	toUInt8(c_direction = 'inbound' AND c_outcome = 'missed' AND c_agent_rang = 1),
	if(countIf(agent_id != 0 AND l_surveyed = 1) > 0, argMaxIf(agent_id, connected_ms, agent_id != 0 AND l_surveyed = 1), toUInt64(0)),
	if(countIf(agent_id != 0 AND l_surveyed = 1) > 0, argMaxIf(agent_name, connected_ms, agent_id != 0 AND l_surveyed = 1), '')`

// lowMOS is the MOS below which a connected leg's line counts as poor.
const lowMOS = "3.5"

const targetIntervalColumns = `target_type, target_id, interval_start, day, offered, answered, abandoned,
	short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms, version`

// keepTargetIntervals copies the month's target intervals that are not of
// the {days} whose conversations a recompute may change.
const keepTargetIntervals = `INSERT INTO target_intervals_stage (` + targetIntervalColumns + `)
SELECT ` + targetIntervalColumns + ` FROM target_intervals FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ? AND day NOT IN ({days})`

// computeTargetIntervals counts the inbound conversations of the {days}
// (in the month) per 15-minute interval of their start, with target_daily's
// columns and definitions (computeTargetDays): none of them depends on the
// repeat and recovery flags, which are set later.
const computeTargetIntervals = `INSERT INTO target_intervals_stage (` + targetIntervalColumns + `)
SELECT target_type, target_id, toStartOfFifteenMinutes(started_at) AS i_start, day,
	toUInt32(count()),
	toUInt32(countIf(answered = 1)),
	toUInt32(sum(abandoned)),
	toUInt32(sum(short_abandoned)),
	toUInt32(sum(answered_in_threshold)),
	sumIf(wait_ms, answered = 1),
	sumIf(handle_ms, answered = 1),
	toUInt64(?)
FROM conversations FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ? AND day IN ({days}) AND direction = 'inbound'
GROUP BY target_type, target_id, day, i_start`

const reasonColumns = `target_type, target_id, day, kind, reason, agent_id, agent_name, conversations, answered,
	handle_ms, csat_responses, csat_total, csat_satisfied, version`

// keepReasons copies the month's reasons that are not of the {days} whose
// conversations a recompute may change.
const keepReasons = `INSERT INTO reasons_daily_stage (` + reasonColumns + `)
SELECT ` + reasonColumns + ` FROM reasons_daily FINAL
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ? AND day NOT IN ({days})`

// computeReasons counts the inbound conversations of the {days} (in the
// month) per agent credited with them (the one whose leg has the CSAT,
// else the one who answered): all of them (kind all), per label and per
// disposition (reason empty for none); a conversation counts under each of
// its labels. {reason} is the kind's array of reasons.
const computeReasons = `INSERT INTO reasons_daily_stage (` + reasonColumns + `)
SELECT target_type, target_id, day, ?, r_reason,
	if(csat_agent_id != 0, csat_agent_id, answered_by) AS r_agent,
	any(if(csat_agent_id != 0, csat_agent_name, answered_by_name)),
	toUInt32(count()),
	toUInt32(countIf(answered = 1)),
	sumIf(handle_ms, answered = 1),
	toUInt32(countIf(answered = 1 AND csat > 0)),
	toUInt32(sumIf(csat, answered = 1)),
	toUInt32(countIf(answered = 1 AND csat >= 4)),
	toUInt64(?)
FROM conversations FINAL
ARRAY JOIN {reason} AS r_reason
WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ? AND day IN ({days}) AND direction = 'inbound'
GROUP BY target_type, target_id, day, r_reason, r_agent`

// reasonKinds are the kinds of reasons_daily, each with its array of
// reasons of a conversation.
var reasonKinds = []struct{ kind, reasons string }{
	{"all", "['']"},
	{"label", "if(empty(labels), [''], labels)"},
	{"disposition", "if(empty(dispositions), [''], dispositions)"},
}

// Recompute rebuilds target's agent days and daily counts of days, and
// every conversation with a leg on one of them or stored with a day beside
// one, then the repeat and recovery flags and target days of the months
// those conversations can change (see kpiMonths), and records the
// target's name. Call it after
// legs of those days are written. It reads the legs of those days and the
// two days around them, and the aggregates of their months.
//
// On a cluster it runs on a replica of the target's shard (db.DB.OnShard).
func (d *Deriver) Recompute(ctx context.Context, target dialpad.Target, days []time.Time) error {
	return d.db.OnShard(ctx, target, func(sh *db.DB) error { return d.on(sh).recompute(ctx, target, days) })
}

func (d *Deriver) recompute(ctx context.Context, target dialpad.Target, days []time.Time) error {
	touched := newDaySet(days)
	if len(touched) == 0 {
		return nil
	}
	for _, m := range touched.months() {
		if err := d.recomputeDays(ctx, target, m, touched.inMonth(m)); err != nil {
			return err
		}
	}
	for _, m := range touched.widen().months() {
		if err := d.recomputeConversations(ctx, target, m, touched); err != nil {
			return err
		}
	}
	for _, m := range kpiMonths(touched.widen()) {
		if err := d.recomputeKPIs(ctx, target, m); err != nil {
			return err
		}
	}
	return d.staffTouched(ctx, target, touched.widen())
}

// rebuildLegMonth recomputes every agent day, daily count and
// conversation of target in month (YYYYMM, of the day column) from the
// legs and replaces what the tables held for it. The month's KPIs, which
// also read the conversations of the days after it, are recomputed once
// every month is (RebuildAggregates).
func (d *Deriver) rebuildLegMonth(ctx context.Context, target dialpad.Target, month int) error {
	all := monthDays(month)
	if err := d.recomputeDays(ctx, target, month, all); err != nil {
		return err
	}
	return d.recomputeConversations(ctx, target, month, all)
}

// monthDays are the days of month (YYYYMM).
func monthDays(month int) daySet {
	first := time.Date(month/100, time.Month(month%100), 1, 0, 0, 0, 0, time.UTC)
	var days []time.Time
	for d := first; d.Month() == first.Month(); d = d.AddDate(0, 0, 1) {
		days = append(days, d)
	}
	return newDaySet(days)
}

// recomputeDays rebuilds the agent days and daily counts of days (all in
// month) and names the target.
func (d *Deriver) recomputeDays(ctx context.Context, target dialpad.Target, month int, days daySet) error {
	q := recomputeSQL{target: target, month: month, days: days, version: db.Version(time.Now())}
	err := d.replaceMonth(ctx, "agent_daily", target, month, func() error {
		if err := d.exec(ctx, q.keepAgentDays()); err != nil {
			return err
		}
		return d.exec(ctx, q.computeAgentDays())
	})
	if err != nil {
		return fmt.Errorf("recompute agent days of %s in %d: %w", target, month, err)
	}
	err = d.replaceMonth(ctx, "calls_daily", target, month, func() error {
		if err := d.exec(ctx, q.keepDaily()); err != nil {
			return err
		}
		return d.exec(ctx, q.computeDaily(d.db.Location()))
	})
	if err != nil {
		return fmt.Errorf("recompute daily counts of %s in %d: %w", target, month, err)
	}
	if err := d.exec(ctx, q.nameTarget()); err != nil {
		return fmt.Errorf("record target %s: %w", target, err)
	}
	return nil
}

func (d *Deriver) recomputeConversations(ctx context.Context, target dialpad.Target, month int, days daySet) error {
	q := recomputeSQL{target: target, month: month, days: days, version: db.Version(time.Now())}
	err := d.replaceMonth(ctx, "conversations", target, month, func() error {
		if err := d.exec(ctx, q.keepConversations()); err != nil {
			return err
		}
		return d.exec(ctx, q.computeConversations(d.kpi))
	})
	if err != nil {
		return fmt.Errorf("recompute conversations of %s in %d: %w", target, month, err)
	}
	// The conversations that changed lie on the days beside the touched
	// ones (a conversation's legs start within a day of each other).
	err = d.replaceMonth(ctx, "target_intervals", target, month, func() error {
		if err := d.exec(ctx, q.keepTargetIntervals()); err != nil {
			return err
		}
		return d.exec(ctx, q.computeTargetIntervals())
	})
	if err != nil {
		return fmt.Errorf("recompute target intervals of %s in %d: %w", target, month, err)
	}
	err = d.replaceMonth(ctx, "reasons_daily", target, month, func() error {
		if err := d.exec(ctx, q.keepReasons()); err != nil {
			return err
		}
		for _, k := range reasonKinds {
			if err := d.exec(ctx, q.computeReasons(k.kind, k.reasons)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recompute reasons of %s in %d: %w", target, month, err)
	}
	return nil
}

// recomputeSQL are the statements of a recompute of target's days, all in
// month, each with its arguments.
type recomputeSQL struct {
	target  dialpad.Target
	month   int
	days    daySet
	version uint64
}

// touched are the pieces that name the touched days and bound the starts
// of their legs.
func (q recomputeSQL) touched() map[string]stmt {
	return map[string]stmt{"days": text(q.days.list()), "starts": text(q.days.starts(1, 2))}
}

func (q recomputeSQL) keepAgentDays() stmt {
	return sqlOf(keepAgentDays, map[string]stmt{"days": text(q.days.list())}, q.target.Type, uint64(q.target.ID), q.month)
}

func (q recomputeSQL) computeAgentDays() stmt {
	return sqlOf(computeAgentDays, q.touched(), q.version, q.target.Type, uint64(q.target.ID))
}

func (q recomputeSQL) keepDaily() stmt {
	return sqlOf(keepDaily, map[string]stmt{"days": text(q.days.list())}, q.target.Type, uint64(q.target.ID), q.month)
}

// computeDaily bounds each day by its midnights in zone.
func (q recomputeSQL) computeDaily(zone *time.Location) stmt {
	return sqlOf(computeDaily, q.touched(), zone.String(), zone.String(), q.version, q.target.Type, uint64(q.target.ID))
}

func (q recomputeSQL) nameTarget() stmt {
	return sqlOf(nameTarget, q.touched(), q.version, q.target.Type, uint64(q.target.ID))
}

// intervals are the pieces that name the days whose target intervals a
// recompute of the conversations computes again: the touched days and
// those beside them.
func (q recomputeSQL) intervals() map[string]stmt {
	return map[string]stmt{"days": text(q.days.widen().list())}
}

func (q recomputeSQL) keepTargetIntervals() stmt {
	return sqlOf(keepTargetIntervals, q.intervals(), q.target.Type, uint64(q.target.ID), q.month)
}

func (q recomputeSQL) computeTargetIntervals() stmt {
	return sqlOf(computeTargetIntervals, q.intervals(), q.version, q.target.Type, uint64(q.target.ID), q.month)
}

func (q recomputeSQL) keepReasons() stmt {
	return sqlOf(keepReasons, q.intervals(), q.target.Type, uint64(q.target.ID), q.month)
}

// computeReasons counts the reasons of kind, whose array of a
// conversation is the SQL expression reasons.
func (q recomputeSQL) computeReasons(kind, reasons string) stmt {
	parts := q.intervals()
	parts["reason"] = text(reasons)
	return sqlOf(computeReasons, parts, kind, q.version, q.target.Type, uint64(q.target.ID), q.month)
}

// conversations are the pieces that name the touched days, bound the
// starts of their legs and name the days beside them.
func (q recomputeSQL) conversations() map[string]stmt {
	p := q.touched()
	p["beside"] = text(q.days.widen().list())
	return p
}

func (q recomputeSQL) keepConversations() stmt {
	id := uint64(q.target.ID)
	return sqlOf(keepConversations, q.conversations(), q.target.Type, id, q.month, q.target.Type, id)
}

// computeConversations judges the KPIs by kpi. A conversation stored a
// day after the last touched day starts up to two and a half days after
// that day's UTC midnight, and its legs within a day of its start.
func (q recomputeSQL) computeConversations(kpi Thresholds) stmt {
	id := uint64(q.target.ID)
	parts := map[string]stmt{
		"starts":   text(q.days.starts(2, 4)),
		"feedback": text(q.days.starts(2, 4)),
		"touched":  sqlOf(touchedConversations, q.conversations(), q.target.Type, id, q.target.Type, id),
	}
	return sqlOf(computeConversations, parts, q.version, kpi.ShortAbandon.Milliseconds(), kpi.ServiceLevel.Milliseconds(),
		q.target.Type, id, q.target.Type, id, q.month)
}

// daySet is a set of days (midnight UTC of a reporting-zone date, as in
// the day columns).
type daySet map[time.Time]bool

func newDaySet(days []time.Time) daySet {
	s := daySet{}
	for _, d := range days {
		s[d.UTC().Truncate(24*time.Hour)] = true
	}
	return s
}

func (s daySet) sorted() []time.Time {
	out := make([]time.Time, 0, len(s))
	for d := range s {
		out = append(out, d)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Before(out[k]) })
	return out
}

// widen is s with the day before and after each of its days.
func (s daySet) widen() daySet {
	w := daySet{}
	for d := range s {
		w[d.AddDate(0, 0, -1)], w[d], w[d.AddDate(0, 0, 1)] = true, true, true
	}
	return w
}

func (s daySet) months() []int {
	seen := map[int]bool{}
	var out []int
	for _, d := range s.sorted() {
		if m := yearMonth(d); !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

func (s daySet) inMonth(month int) daySet {
	out := daySet{}
	for d := range s {
		if yearMonth(d) == month {
			out[d] = true
		}
	}
	return out
}

// list is the days as a list of SQL Date literals.
func (s daySet) list() string {
	var b strings.Builder
	for i, d := range s.sorted() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("toDate('" + d.Format(time.DateOnly) + "')")
	}
	return b.String()
}

// starts bounds started_at from before days before the first day to
// after days after the last: the legs of a day, in any zone, start
// within 14 hours before its UTC midnight and 12 after its end.
func (s daySet) starts(before, after int) string {
	days := s.sorted()
	return fmt.Sprintf("started_at >= toDateTime(%d) AND started_at < toDateTime(%d)",
		days[0].AddDate(0, 0, -before).Unix(), days[len(days)-1].AddDate(0, 0, after).Unix())
}

// splitColumns splits a list of columns such as conversationColumns.
func splitColumns(list string) []string {
	var out []string
	for _, c := range strings.Split(list, ",") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// yearMonth is d's month as ClickHouse's toYYYYMM gives it, e.g. 202601.
func yearMonth(d time.Time) int { return d.Year()*100 + int(d.Month()) }

// replaceMonth fills table's staging partition of target and month with
// fill, then swaps it in for the table's partition, or drops the table's
// when fill wrote nothing (current releases refuse to replace a partition
// from an empty one). Replacements of one target-month wait for each
// other; across processes the target's lease keeps them apart.
func (d *Deriver) replaceMonth(ctx context.Context, table string, target dialpad.Target, month int, fill func() error) error {
	mu := d.monthLock(target, month)
	mu.Lock()
	defer mu.Unlock()
	part := []any{target.Type, uint64(target.ID), month}
	stage := table + "_stage"
	if err := d.db.Exec(ctx, "ALTER TABLE "+stage+" DROP PARTITION (?, ?, ?)", part...); err != nil {
		return err
	}
	if err := fill(); err != nil {
		return err
	}
	var n uint64
	if err := d.db.QueryRow(ctx, "SELECT count() FROM "+stage+
		" WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ?", part...).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return d.db.Exec(ctx, "ALTER TABLE "+table+" DROP PARTITION (?, ?, ?)", part...)
	}
	if err := d.db.Exec(ctx, "ALTER TABLE "+table+" REPLACE PARTITION (?, ?, ?) FROM "+stage, part...); err != nil {
		return err
	}
	return d.db.Exec(ctx, "ALTER TABLE "+stage+" DROP PARTITION (?, ?, ?)", part...)
}

// monthLock is the lock of one target-month's partitions.
func (d *Deriver) monthLock(target dialpad.Target, month int) *sync.Mutex {
	mu, _ := d.months.LoadOrStore(fmt.Sprintf("%s/%d", target, month), &sync.Mutex{})
	return mu.(*sync.Mutex)
}
