package transformtest

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// StoredAgentDays reads agent_daily FINAL in the order of AgentDays.
func StoredAgentDays(ctx context.Context, conn driver.Conn) ([]AgentDay, error) {
	r, err := conn.Query(ctx, `SELECT toString(target_type), target_id, toString(day), agent_id, total_calls, inbound_calls,
		outbound_calls, completed_calls, missed_calls, voicemail_calls, cancelled_calls, total_duration_ms, avg_duration_ms,
		mos_legs, low_mos_legs
		FROM agent_daily FINAL ORDER BY concat(toString(target_type), ':', toString(target_id)), day, agent_id`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []AgentDay
	for r.Next() {
		var d AgentDay
		var id uint64
		var total, in, outb, completed, missed, vm, cancelled, mosLegs, lowMOS uint32
		if err := r.Scan(&d.Target.Type, &id, &d.Day, &d.AgentID, &total, &in, &outb, &completed, &missed, &vm, &cancelled,
			&d.TotalDurationMs, &d.AvgDurationMs, &mosLegs, &lowMOS); err != nil {
			return nil, err
		}
		d.MOSLegs, d.LowMOSLegs = int(mosLegs), int(lowMOS)
		d.Target.ID = int64(id)
		d.Total, d.Inbound, d.Outbound, d.Completed = int(total), int(in), int(outb), int(completed)
		d.Missed, d.Voicemail, d.Cancelled = int(missed), int(vm), int(cancelled)
		out = append(out, d)
	}
	return out, r.Err()
}

// StoredConversations reads conversations FINAL in the order of
// Conversations. StartedMs is whole seconds, as stored: compare with
// Seconds of the reference.
func StoredConversations(ctx context.Context, conn driver.Conn) ([]Conversation, error) {
	r, err := conn.Query(ctx, `SELECT toString(target_type), target_id, conversation_id, toString(direction),
		toInt64(toUInt32(started_at)), toString(day), answered, answered_by, toString(outcome), wait_ms, talk_ms, legs,
		external_number, short_abandoned, abandoned, answered_in_threshold, handle_ms, transferred, repeat_contact,
		recovered, recovery_ms, labels, dispositions, csat_score, csat, csat_comments, pcsat_score, mos_legs,
		low_mos_legs, worst_mos, agent_rang, abandoned_before_agent, missed_by_agents, csat_agent_id
		FROM conversations FINAL ORDER BY concat(toString(target_type), ':', toString(target_id)), conversation_id`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Conversation
	for r.Next() {
		var c Conversation
		var id uint64
		var answered, short, abandoned, inThreshold, transferred, repeat, recovered uint8
		var legs, mosLegs, lowMOS uint32
		var rang, before, missed uint8
		if err := r.Scan(&c.Target.Type, &id, &c.ID, &c.Direction, &c.StartedMs, &c.Day, &answered, &c.AnsweredBy,
			&c.Outcome, &c.WaitMs, &c.TalkMs, &legs, &c.ExternalNumber, &short, &abandoned, &inThreshold, &c.HandleMs,
			&transferred, &repeat, &recovered, &c.RecoveryMs, &c.Labels, &c.Dispositions, &c.CSATScore, &c.CSAT,
			&c.CSATComments, &c.PCSATScore, &mosLegs, &lowMOS, &c.WorstMOS, &rang, &before, &missed, &c.CSATAgent); err != nil {
			return nil, err
		}
		c.MOSLegs, c.LowMOSLegs = int(mosLegs), int(lowMOS)
		c.AgentRang, c.AbandonedBeforeAgent, c.MissedByAgents = rang == 1, before == 1, missed == 1
		c.Target.ID, c.Answered, c.Legs = int64(id), answered == 1, int(legs)
		c.ShortAbandoned, c.Abandoned, c.AnsweredInThreshold = short == 1, abandoned == 1, inThreshold == 1
		c.Transferred, c.RepeatContact, c.Recovered = transferred == 1, repeat == 1, recovered == 1
		c.StartedMs *= 1000
		out = append(out, c)
	}
	return out, r.Err()
}

// Seconds truncates the conversations' starts to whole seconds, as the
// conversations table stores them.
func Seconds(convs []Conversation) []Conversation {
	for i := range convs {
		convs[i].StartedMs = convs[i].StartedMs / 1000 * 1000
	}
	return convs
}

// FirstDiff describes the first row where got and want differ, or their
// lengths; "" when they are equal.
func FirstDiff[T any](got, want []T) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		if g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i]); g != w {
			return fmt.Sprintf("row %d:\n got %s\nwant %s", i, g, w)
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	return ""
}

// StoredTargetIntervals reads target_intervals FINAL in the order of
// TargetIntervals.
func StoredTargetIntervals(ctx context.Context, conn driver.Conn) ([]TargetInterval, error) {
	r, err := conn.Query(ctx, `SELECT toString(target_type), target_id, toString(day), interval_start, offered, answered,
		abandoned, short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms
		FROM target_intervals FINAL ORDER BY concat(toString(target_type), ':', toString(target_id)), day, interval_start`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []TargetInterval
	for r.Next() {
		var iv TargetInterval
		var id uint64
		var offered, answered, abandoned, short, inThreshold uint32
		if err := r.Scan(&iv.Target.Type, &id, &iv.Day, &iv.Start, &offered, &answered, &abandoned, &short, &inThreshold,
			&iv.TotalWaitMs, &iv.TotalHandleMs); err != nil {
			return nil, err
		}
		iv.Target.ID, iv.Start = int64(id), iv.Start.UTC()
		iv.Offered, iv.Answered, iv.Abandoned = int(offered), int(answered), int(abandoned)
		iv.ShortAbandoned, iv.AnsweredInThreshold = int(short), int(inThreshold)
		out = append(out, iv)
	}
	return out, r.Err()
}

// StoredTargetDayTotals reads target_daily FINAL's columns that
// target_intervals has too (offered is inbound), one per target and day
// it holds, days without inbound conversations included, in the order of
// DayTotals.
func StoredTargetDayTotals(ctx context.Context, conn driver.Conn) ([]TargetInterval, error) {
	r, err := conn.Query(ctx, `SELECT toString(target_type), target_id, toString(day), inbound, answered,
		abandoned, short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms
		FROM target_daily FINAL ORDER BY concat(toString(target_type), ':', toString(target_id)), day`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []TargetInterval
	for r.Next() {
		var d TargetInterval
		var id uint64
		var inbound, answered, abandoned, short, inThreshold uint32
		if err := r.Scan(&d.Target.Type, &id, &d.Day, &inbound, &answered, &abandoned, &short, &inThreshold,
			&d.TotalWaitMs, &d.TotalHandleMs); err != nil {
			return nil, err
		}
		d.Target.ID = int64(id)
		d.Offered, d.Answered, d.Abandoned = int(inbound), int(answered), int(abandoned)
		d.ShortAbandoned, d.AnsweredInThreshold = int(short), int(inThreshold)
		out = append(out, d)
	}
	return out, r.Err()
}

// StoredReasons reads reasons_daily FINAL in the order of Reasons.
func StoredReasons(ctx context.Context, conn driver.Conn) ([]Reason, error) {
	r, err := conn.Query(ctx, `SELECT toString(target_type), target_id, toString(day), toString(kind), reason, agent_id,
		conversations, answered, handle_ms, csat_responses, csat_total, csat_satisfied
		FROM reasons_daily FINAL ORDER BY concat(toString(target_type), ':', toString(target_id)), day, kind, reason, agent_id`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Reason
	for r.Next() {
		var x Reason
		var id uint64
		var convs, answered, responses, total, satisfied uint32
		if err := r.Scan(&x.Target.Type, &id, &x.Day, &x.Kind, &x.Reason, &x.AgentID, &convs, &answered, &x.HandleMs,
			&responses, &total, &satisfied); err != nil {
			return nil, err
		}
		x.Target.ID = int64(id)
		x.Conversations, x.Answered = int(convs), int(answered)
		x.CSATResponses, x.CSATTotal, x.CSATSatisfied = int(responses), int(total), int(satisfied)
		out = append(out, x)
	}
	return out, r.Err()
}

// StoredSatisfaction reads target_daily FINAL's columns of reasons and
// satisfaction in the order of Satisfaction.
func StoredSatisfaction(ctx context.Context, conn driver.Conn) ([]DaySatisfaction, error) {
	r, err := conn.Query(ctx, `SELECT toString(target_type), target_id, toString(day), abandoned_before_agent,
		missed_by_agents, voicemail, csat_responses, csat_total, csat_satisfied, mos_legs, low_mos_legs
		FROM target_daily FINAL ORDER BY concat(toString(target_type), ':', toString(target_id)), day`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []DaySatisfaction
	for r.Next() {
		var d DaySatisfaction
		var id uint64
		var v [8]uint32
		if err := r.Scan(&d.Target.Type, &id, &d.Day, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
			return nil, err
		}
		d.Target.ID = int64(id)
		d.AbandonedBeforeAgent, d.MissedByAgents, d.Voicemail = int(v[0]), int(v[1]), int(v[2])
		d.CSATResponses, d.CSATTotal, d.CSATSatisfied = int(v[3]), int(v[4]), int(v[5])
		d.MOSLegs, d.LowMOSLegs = int(v[6]), int(v[7])
		out = append(out, d)
	}
	return out, r.Err()
}
