package warehouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// The aggregates of the call model, computed by the server from the
// deduplicated legs (calls FINAL). Each statement inserts a newer version
// of every key it covers, so running it again, or after a re-load, leaves
// one correct row per key. The rules are those of the README's "How calls
// are counted".

const recomputeAgentDays = `INSERT INTO agent_daily (target_type, target_id, day, agent_id, agent_name,
	total_calls, inbound_calls, outbound_calls, completed_calls, missed_calls,
	voicemail_calls, cancelled_calls, total_duration_ms, avg_duration_ms, version)
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
	toUInt64(?)
FROM calls FINAL
WHERE target_type = ? AND target_id = ? AND agent_id != 0 AND day IN (%[1]s) AND %[2]s
GROUP BY target_type, target_id, day, agent_id`

const recomputeConversations = `INSERT INTO conversations (target_type, target_id, conversation_id,
	direction, started_at, day, answered, answered_by, answered_by_name, outcome,
	wait_ms, talk_ms, legs, contact_name, contact_phone, version)
SELECT target_type, target_id, conversation_id,
	if(countIf(is_entry_leg = 1) > 0, argMinIf(toString(direction), started_ms, is_entry_leg = 1), argMin(toString(direction), started_ms)) AS c_direction,
	min(started_at) AS c_started,
	toDate(c_started, ?),
	toUInt8(countIf(connected_ms > 0) > 0) AS c_answered,
	argMinIf(agent_id, connected_ms, connected_ms > 0 AND agent_id != 0),
	argMinIf(agent_name, connected_ms, connected_ms > 0 AND agent_id != 0),
	multiIf(c_answered = 1, 'answered', max(has_voicemail) = 1, 'voicemail', c_direction = 'inbound', 'missed', 'cancelled'),
	if(c_answered = 1, toUInt64(greatest(minIf(connected_ms, connected_ms > 0) - min(started_ms), 0)), toUInt64(0)),
	if(countIf(agent_id != 0) > 0, sumIf(duration_ms, agent_id != 0), sumIf(duration_ms, is_entry_leg = 1)),
	toUInt32(count()),
	argMin(contact_name, started_ms),
	argMin(contact_phone, started_ms),
	toUInt64(?)
FROM calls FINAL
WHERE target_type = ? AND target_id = ? AND %[2]s AND conversation_id IN (%[1]s)
GROUP BY target_type, target_id, conversation_id`

// conversationsOnDays are the conversations with a leg on the days.
const conversationsOnDays = `SELECT conversation_id FROM calls
	WHERE target_type = ? AND target_id = ? AND day IN (%[1]s) AND %[2]s`

// conversationsSpan is when the legs of conversationsOnDays started.
const conversationsSpan = `SELECT toUInt32(min(started_at)), toUInt32(max(started_at)), count() FROM calls
WHERE target_type = ? AND target_id = ? AND conversation_id IN (%s)`

// Recompute rebuilds the agent days of target on days, and every
// conversation of target that has a leg on one of days, from the
// deduplicated legs. Call it after the legs of a window are written.
func (s *Store) Recompute(ctx context.Context, target dialpad.Target, days []time.Time) error {
	if len(days) == 0 {
		return nil
	}
	list := dayList(days)
	// The legs of the days started within these bounds (with a day to
	// spare): they let the server read only that part of the sorting key
	// (target, started_at) instead of every leg of the target.
	onDays := startedBetween(days, s.opt.Location)
	version := Version(time.Now())
	id := uint64(target.ID)
	if err := s.conn.Exec(ctx, fmt.Sprintf(recomputeAgentDays, list, onDays), version, target.Type, id); err != nil {
		return fmt.Errorf("recompute agent days of %s: %w", target, err)
	}
	// A conversation's legs may start on other days: bound the read by
	// the span of all the legs of the conversations concerned.
	convs := fmt.Sprintf(conversationsOnDays, list, onDays)
	var first, last uint32
	var n uint64
	if err := s.conn.QueryRow(ctx, fmt.Sprintf(conversationsSpan, convs), target.Type, id, target.Type, id).
		Scan(&first, &last, &n); err != nil {
		return fmt.Errorf("recompute conversations of %s: %w", target, err)
	}
	if n == 0 {
		return nil
	}
	span := fmt.Sprintf("started_at >= toDateTime(%d) AND started_at <= toDateTime(%d)", first, last)
	if err := s.conn.Exec(ctx, fmt.Sprintf(recomputeConversations, convs, span), s.opt.Location.String(), version,
		target.Type, id, target.Type, id); err != nil {
		return fmt.Errorf("recompute conversations of %s: %w", target, err)
	}
	return nil
}

// startedBetween is a condition on started_at that holds for every leg
// whose day (in loc) is one of days, with a day to spare each side.
func startedBetween(days []time.Time, loc *time.Location) string {
	first, last := days[0], days[0]
	for _, d := range days {
		if d.Before(first) {
			first = d
		}
		if d.After(last) {
			last = d
		}
	}
	from := time.Date(first.Year(), first.Month(), first.Day()-1, 0, 0, 0, 0, loc)
	to := time.Date(last.Year(), last.Month(), last.Day()+2, 0, 0, 0, 0, loc)
	return fmt.Sprintf("started_at >= toDateTime(%d) AND started_at < toDateTime(%d)", from.Unix(), to.Unix())
}

// dayList formats days as a sorted, distinct list of 'YYYY-MM-DD' literals,
// which a Date column compares with on every server version (a bound slice
// becomes an array, which 18.16 will not compare with a Date).
func dayList(days []time.Time) string {
	seen := map[string]bool{}
	var out []string
	for _, d := range days {
		s := "'" + d.Format(time.DateOnly) + "'"
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
