package warehouse

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// The aggregates of the call model, computed by the server from the
// deduplicated legs (calls FINAL), a whole target-month at a time: the
// month's rows go into a staging table, which then replaces the month's
// partition. So running it again, or after a re-load, leaves exactly the
// rows a computation from scratch would: a key that no longer has legs
// is gone. The rules are those of the README's "How calls are counted".

const rebuildAgentDays = `INSERT INTO agent_daily_stage (target_type, target_id, day, agent_id, agent_name,
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
WHERE target_type = ? AND target_id = ? AND agent_id != 0 AND toYYYYMM(day) = ? AND %s
GROUP BY target_type, target_id, day, agent_id`

// A conversation belongs to the month of its first leg's day; its legs
// may lie in the months around it.
const rebuildConversations = `INSERT INTO conversations_stage (target_type, target_id, conversation_id,
	direction, started_at, day, answered, answered_by, answered_by_name, outcome,
	wait_ms, talk_ms, legs, contact_name, contact_phone, version)
SELECT target_type, target_id, conversation_id,
	if(countIf(is_entry_leg = 1) > 0, argMinIf(toString(direction), started_ms, is_entry_leg = 1), argMin(toString(direction), started_ms)) AS c_direction,
	min(started_at),
	argMin(day, started_ms) AS c_day,
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
GROUP BY target_type, target_id, conversation_id
HAVING toYYYYMM(c_day) = ?`

// conversationsInMonth are the conversations with a leg in the month.
const conversationsInMonth = `SELECT conversation_id FROM calls
	WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ? AND %s`

// conversationsSpan is when the legs of conversationsInMonth started.
const conversationsSpan = `SELECT toUInt32(min(started_at)), toUInt32(max(started_at)), count() FROM calls
WHERE target_type = ? AND target_id = ? AND conversation_id IN (%s)`

// Recompute rebuilds the agent days and conversations of target in every
// month of days, and of the months beside them where a day is the first
// or last of its month (a conversation's start, and so its month, can
// move across). Call it after the legs of a window are written.
func (s *Store) Recompute(ctx context.Context, target dialpad.Target, days []time.Time) error {
	seen := map[int]bool{}
	var months []int
	for _, d := range days {
		for _, near := range []time.Time{d.AddDate(0, 0, -1), d, d.AddDate(0, 0, 1)} {
			if m := yearMonth(near); !seen[m] {
				seen[m] = true
				months = append(months, m)
			}
		}
	}
	sort.Ints(months)
	for _, m := range months {
		if err := s.RebuildMonth(ctx, target, m); err != nil {
			return err
		}
	}
	return nil
}

// yearMonth is d's month as ClickHouse's toYYYYMM gives it, e.g. 202601.
func yearMonth(d time.Time) int { return d.Year()*100 + int(d.Month()) }

// RebuildMonth recomputes target's agent days and conversations of month
// (YYYYMM, of the day column) from calls FINAL and replaces what the two
// tables held for it. Rebuilds of one target-month wait for each other;
// across processes the target's lease keeps them apart.
func (s *Store) RebuildMonth(ctx context.Context, target dialpad.Target, month int) error {
	mu := s.monthLock(target, month)
	mu.Lock()
	defer mu.Unlock()
	id := uint64(target.ID)
	version := Version(time.Now())
	// The legs of the month's days started within a day of the month (in
	// any zone): the bound lets the server read only that part of the
	// sorting key (target, started_at).
	first := time.Date(month/100, time.Month(month%100), 1, 0, 0, 0, 0, time.UTC)
	inMonth := fmt.Sprintf("started_at >= toDateTime(%d) AND started_at < toDateTime(%d)",
		first.AddDate(0, 0, -2).Unix(), first.AddDate(0, 1, 2).Unix())
	err := s.replaceMonth(ctx, "agent_daily", target, month, func() error {
		return s.conn.Exec(ctx, fmt.Sprintf(rebuildAgentDays, inMonth), version, target.Type, id, month)
	})
	if err != nil {
		return fmt.Errorf("recompute agent days of %s in %d: %w", target, month, err)
	}
	err = s.replaceMonth(ctx, "conversations", target, month, func() error {
		convs := fmt.Sprintf(conversationsInMonth, inMonth)
		var lo, hi uint32
		var n uint64
		if err := s.conn.QueryRow(ctx, fmt.Sprintf(conversationsSpan, convs), target.Type, id, target.Type, id, month).
			Scan(&lo, &hi, &n); err != nil || n == 0 {
			return err
		}
		span := fmt.Sprintf("started_at >= toDateTime(%d) AND started_at <= toDateTime(%d)", lo, hi)
		return s.conn.Exec(ctx, fmt.Sprintf(rebuildConversations, convs, span), version,
			target.Type, id, target.Type, id, month, month)
	})
	if err != nil {
		return fmt.Errorf("recompute conversations of %s in %d: %w", target, month, err)
	}
	return nil
}

// replaceMonth fills table's staging partition of target and month with
// fill, then swaps it in for the table's partition, or drops the table's
// when fill wrote nothing (current releases refuse to replace a partition
// from an empty one).
func (s *Store) replaceMonth(ctx context.Context, table string, target dialpad.Target, month int, fill func() error) error {
	part := []any{target.Type, uint64(target.ID), month}
	stage := table + "_stage"
	if err := s.conn.Exec(ctx, "ALTER TABLE "+stage+" DROP PARTITION (?, ?, ?)", part...); err != nil {
		return err
	}
	if err := fill(); err != nil {
		return err
	}
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+stage+
		" WHERE target_type = ? AND target_id = ? AND toYYYYMM(day) = ?", part...).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return s.conn.Exec(ctx, "ALTER TABLE "+table+" DROP PARTITION (?, ?, ?)", part...)
	}
	if err := s.conn.Exec(ctx, "ALTER TABLE "+table+" REPLACE PARTITION (?, ?, ?) FROM "+stage, part...); err != nil {
		return err
	}
	return s.conn.Exec(ctx, "ALTER TABLE "+stage+" DROP PARTITION (?, ?, ?)", part...)
}

// monthLock is the lock of one target-month's rebuild.
func (s *Store) monthLock(target dialpad.Target, month int) *sync.Mutex {
	mu, _ := s.months.LoadOrStore(fmt.Sprintf("%s/%d", target, month), &sync.Mutex{})
	return mu.(*sync.Mutex)
}
