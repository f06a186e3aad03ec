package events

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Storage keeps what events tell in the warehouse: every call event
// (call_events), the legs' live states (live_calls), when each target's
// call events last arrived (target_events) and the agents' status
// intervals (agent_status), and reads the operators the loads listed.
// It is safe for concurrent use.
type Storage struct {
	db *db.DB
}

// NewStorage is the storage of events in the warehouse d.
func NewStorage(d *db.DB) *Storage { return &Storage{db: d} }

// ReceivedCall is a call event as it arrived.
type ReceivedCall struct {
	Event    *wire.CallEvent
	Received time.Time
}

// WriteCallEvents stores call events in call_events, in one insert. A
// repeated delivery has the key of its first, so it leaves one row.
func (s *Storage) WriteCallEvents(ctx context.Context, evs []ReceivedCall) error {
	if len(evs) == 0 {
		return nil
	}
	return s.db.Send(ctx, "call_events", `INSERT INTO call_events (call_id, state, event_ms, event_at, conversation_id,
		direction, started_ms, leg_target_type, leg_target_id, entry_point_target_type, entry_point_target_id,
		queued_ms, first_rang_ms, hold_ms, received_at, received_ms, payload, payload_hash, version)`,
		func(b driver.Batch) error {
			for _, r := range evs {
				e := r.Event
				ms := int64(e.EventTimestamp)
				if err := b.Append(uint64(e.CallID), e.State, ms, time.UnixMilli(ms).UTC(),
					uint64(transform.ConversationID(&e.Call)), e.Direction, int64(e.DateStarted),
					e.Target.Type, uint64(max(e.Target.ID, 0)), e.EntryPointTarget.Type, uint64(max(e.EntryPointTarget.ID, 0)),
					max(int64(e.DateQueued), 0), max(int64(e.DateFirstRang), 0), uint64(math.Round(max(float64(e.HoldTime), 0))),
					r.Received.UTC(), r.Received.UnixMilli(), string(e.Raw), db.Hash(e.Raw), db.Version(r.Received)); err != nil {
					return fmt.Errorf("call event of leg %d: %w", e.CallID, err)
				}
			}
			return nil
		})
}

// LiveCall is a leg's state as its latest event tells, under one target.
type LiveCall struct {
	Target  dialpad.Target
	Event   *wire.CallEvent
	Agent   string    // the agent's display name, when the leg is an agent's
	Expires time.Time // after it the leg no longer counts as live
}

// stateOrder breaks ties between events of one leg at the same
// millisecond: later states of a call come later.
var stateOrder = map[string]uint64{"calling": 1, "ringing": 2, "queued": 3, "connected": 4, "hold": 5}

// liveVersion orders a leg's live rows by event time, then state, so the
// row of its latest event wins whatever the order of arrival.
func liveVersion(e *wire.CallEvent) uint64 {
	rank := stateOrder[e.State]
	if wire.IsFinal(e.State) {
		rank = 15
	}
	return uint64(max(int64(e.EventTimestamp), 0))<<4 | rank
}

// WriteLiveCalls records the legs' latest states in live_calls.
func (s *Storage) WriteLiveCalls(ctx context.Context, rows []LiveCall) error {
	if len(rows) == 0 {
		return nil
	}
	return s.db.Send(ctx, "live_calls", `INSERT INTO live_calls (target_type, target_id, call_id, conversation_id,
		is_entry_leg, direction, state, ended, started_at, waiting_since, connected_at, agent_id, agent_name,
		contact_name, external_number, event_at, expires_at, version)`,
		func(b driver.Batch) error {
			for _, r := range rows {
				e := r.Event
				conv := transform.ConversationID(&e.Call)
				waiting := int64(e.DateQueued)
				if waiting <= 0 {
					waiting = int64(e.DateStarted)
				}
				var agent uint64
				if e.Target.Type == "user" && e.Target.ID > 0 {
					agent = uint64(e.Target.ID)
					if r.Agent == "" {
						r.Agent = e.Target.Name
					}
				}
				if err := b.Append(r.Target.Type, uint64(r.Target.ID), uint64(e.CallID), uint64(conv),
					db.Flag(conv == e.CallID), e.Direction, e.State, db.Flag(wire.IsFinal(e.State)),
					time.UnixMilli(int64(e.DateStarted)).UTC(), time.UnixMilli(waiting).UTC(),
					db.OptTime(int64(e.DateConnected)), agent, r.Agent, e.Contact.Name, e.ExternalNumber,
					time.UnixMilli(int64(e.EventTimestamp)).UTC(), r.Expires.UTC(), liveVersion(e)); err != nil {
					return fmt.Errorf("live state of leg %d: %w", e.CallID, err)
				}
			}
			return nil
		})
}

// TargetSeen is when call events of a target last arrived, in a group.
type TargetSeen struct {
	Target   dialpad.Target
	Received time.Time
}

// WriteTargetsSeen records in target_events when the targets' call
// events last arrived.
func (s *Storage) WriteTargetsSeen(ctx context.Context, rows []TargetSeen) error {
	if len(rows) == 0 {
		return nil
	}
	return s.db.Send(ctx, "target_events", `INSERT INTO target_events (target_type, target_id, received_at, version)`,
		func(b driver.Batch) error {
			for _, r := range rows {
				if err := b.Append(r.Target.Type, uint64(r.Target.ID), r.Received.UTC(), db.Version(r.Received)); err != nil {
					return fmt.Errorf("events seen of %s: %w", r.Target, err)
				}
			}
			return nil
		})
}

// DropLiveDays drops the live states of legs that started before day
// (UTC): they ended, or expired, long ago. On a cluster, every shard
// drops its own.
func (s *Storage) DropLiveDays(ctx context.Context, before time.Time) error {
	return s.db.EachShard(ctx, func(sh *db.DB) error { return (&Storage{sh}).dropLiveDays(ctx, before) })
}

func (s *Storage) dropLiveDays(ctx context.Context, before time.Time) error {
	parts, err := s.db.Ints(ctx, "SELECT DISTINCT toYYYYMMDD(started_at) FROM live_calls")
	if err != nil {
		return err
	}
	limit := before.UTC().Year()*10000 + int(before.UTC().Month())*100 + before.UTC().Day()
	for _, p := range parts {
		if p < limit {
			if err := s.db.Exec(ctx, "ALTER TABLE live_calls DROP PARTITION "+strconv.Itoa(p)); err != nil {
				return fmt.Errorf("drop the live states of %d: %w", p, err)
			}
		}
	}
	return nil
}

// DropEventMonths drops the call events of the months that ended before
// before (call_events is partitioned by month of the event). On a
// cluster, every shard drops its own.
func (s *Storage) DropEventMonths(ctx context.Context, before time.Time) error {
	return s.db.EachShard(ctx, func(sh *db.DB) error { return (&Storage{sh}).dropEventMonths(ctx, before) })
}

func (s *Storage) dropEventMonths(ctx context.Context, before time.Time) error {
	months, err := s.db.Ints(ctx, "SELECT DISTINCT toYYYYMM(event_at) FROM call_events")
	if err != nil {
		return err
	}
	b := before.UTC()
	limit := b.Year()*100 + int(b.Month()) // the month before holds the last that ended
	for _, m := range months {
		if m < limit {
			if err := s.db.Exec(ctx, "ALTER TABLE call_events DROP PARTITION "+strconv.Itoa(m)); err != nil {
				return fmt.Errorf("drop the call events of %d: %w", m, err)
			}
		}
	}
	return nil
}

// ReceivedAgent is an agent status event as it arrived.
type ReceivedAgent struct {
	Event    *wire.AgentStatusEvent
	Received time.Time
}

// agentStatusColumns are the columns of agent_status, in the order
// agentInterval appends them.
const agentStatusColumns = `agent_id, agent_name, status, on_duty, call_center_ids, reason,
	started_ms, started_at, ended_ms, ended_at, event_ms, version`

// agentInterval is a row of agent_status.
type agentInterval struct {
	agent          uint64
	name, status   string
	onDuty         uint8
	callCenters    []uint64
	reason         string
	started, ended int64
	event          int64
	version        uint64
}

func (a *agentInterval) append(b driver.Batch) error {
	return b.Append(a.agent, a.name, a.status, a.onDuty, a.callCenters, a.reason,
		a.started, time.UnixMilli(a.started).UTC(), a.ended, db.OptTime(a.ended), a.event, a.version)
}

// agentLookback bounds how far before an agent's earliest new change the
// interval it ends is looked for: an agent back after longer keeps the
// old interval open (the latest start still says the current status).
const agentLookback = 92 * 24 * time.Hour

// Changes are the agents that evs change the status of, each with its
// earliest change (epoch ms): where its time must be counted again.
func Changes(evs []ReceivedAgent) map[uint64]int64 {
	out := map[uint64]int64{}
	for _, r := range evs {
		id, at := uint64(r.Event.Target.ID), changedAt(r.Event)
		if was, ok := out[id]; !ok || at < was {
			out[id] = at
		}
	}
	return out
}

// changedAt is when an agent's status changed: its date, else its event
// time.
func changedAt(e *wire.AgentStatusEvent) int64 {
	if started := int64(e.Date); started > 0 {
		return started
	}
	return int64(e.EventTimestamp)
}

// WriteAgentStatus records agents' status changes as intervals of
// agent_status: each change starts one, and ends the agent's interval
// before it, found among the stored ones however the events arrived
// (late, repeated or out of order). A change is dated by its date (when
// the status changed), else by its event time.
func (s *Storage) WriteAgentStatus(ctx context.Context, evs []ReceivedAgent) error {
	if len(evs) == 0 {
		return nil
	}
	err := s.db.Send(ctx, "agent_status", "INSERT INTO agent_status ("+agentStatusColumns+")", func(b driver.Batch) error {
		for _, r := range evs {
			e := r.Event
			started := changedAt(e)
			ccs := make([]uint64, 0, len(e.CallCenterIDs))
			for _, id := range e.CallCenterIDs {
				ccs = append(ccs, uint64(max(id, 0)))
			}
			a := agentInterval{agent: uint64(e.Target.ID), name: e.Target.Name, status: e.OnDutyStatus,
				onDuty: db.Flag(len(ccs) > 0), callCenters: ccs, reason: e.OnDutyStatusReason, started: started,
				event: int64(e.EventTimestamp), version: db.Version(r.Received)}
			if err := a.append(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.linkAgentIntervals(ctx, Changes(evs))
}

// linkAgentIntervals sets the end of every interval of the agents from
// the one before their earliest new change on: the start of the next.
func (s *Storage) linkAgentIntervals(ctx context.Context, earliest map[uint64]int64) error {
	ids := make([]string, 0, len(earliest))
	from := int64(1 << 62)
	for id, at := range earliest {
		ids = append(ids, strconv.FormatUint(id, 10))
		from = min(from, at)
	}
	// The intervals from the earliest new change on, and each agent's
	// last one before it (within agentLookback), which the change may
	// end.
	in := `agent_id IN (` + strings.Join(ids, ",") + `)`
	all, err := s.agentIntervals(ctx, `SELECT `+agentStatusColumns+` FROM agent_status FINAL
		WHERE `+in+` AND started_ms >= ?`, from)
	if err != nil {
		return err
	}
	before, err := s.agentIntervals(ctx, `SELECT `+agentStatusColumns+` FROM agent_status FINAL
		WHERE `+in+` AND started_ms < ? AND started_at >= toDateTime(?)
		ORDER BY agent_id, started_ms DESC LIMIT 1 BY agent_id`, from, (from-agentLookback.Milliseconds())/1000)
	if err != nil {
		return err
	}
	all = append(all, before...)
	sort.Slice(all, func(i, k int) bool {
		if all[i].agent != all[k].agent {
			return all[i].agent < all[k].agent
		}
		return all[i].started < all[k].started
	})
	version := db.Version(time.Now())
	var fix []agentInterval
	for i := range all {
		end := int64(0)
		if i+1 < len(all) && all[i+1].agent == all[i].agent {
			end = all[i+1].started
		}
		if all[i].ended != end {
			a := all[i]
			a.ended, a.version = end, version
			fix = append(fix, a)
		}
	}
	if len(fix) == 0 {
		return nil
	}
	return s.db.Send(ctx, "agent_status", "INSERT INTO agent_status ("+agentStatusColumns+")", func(b driver.Batch) error {
		for i := range fix {
			if err := fix[i].append(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// agentIntervals reads rows of agent_status (agentStatusColumns) by q.
func (s *Storage) agentIntervals(ctx context.Context, q string, args ...any) ([]agentInterval, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read agent status intervals: %w", err)
	}
	defer rows.Close()
	var out []agentInterval
	for rows.Next() {
		var a agentInterval
		var startedAt time.Time
		var endedAt *time.Time
		if err := rows.Scan(&a.agent, &a.name, &a.status, &a.onDuty, &a.callCenters, &a.reason,
			&a.started, &startedAt, &a.ended, &endedAt, &a.event, &a.version); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Operator is a user who is an operator of a target.
type Operator struct {
	Target dialpad.Target
	Name   string
}

// Operators reads the user operators of every target, by user id, as the
// loads last listed them.
func (s *Storage) Operators(ctx context.Context) (map[int64][]Operator, error) {
	rows, err := s.db.Query(ctx, `SELECT agent_id, toString(target_type), target_id, display_name
		FROM agents FINAL WHERE kind = 'user'`)
	if err != nil {
		return nil, fmt.Errorf("read the operators: %w", err)
	}
	defer rows.Close()
	out := map[int64][]Operator{}
	for rows.Next() {
		var agent, id uint64
		var typ, name string
		if err := rows.Scan(&agent, &typ, &id, &name); err != nil {
			return nil, err
		}
		out[int64(agent)] = append(out[int64(agent)], Operator{dialpad.Target{Type: typ, ID: int64(id)}, name})
	}
	return out, rows.Err()
}

// LatestStatuses reads each agent's latest status that started within
// agentLookback before now, and the latest event time (ms) the warehouse
// holds of any agent (0: none).
func (s *Storage) LatestStatuses(ctx context.Context, now time.Time) (map[uint64]LatestStatus, int64, error) {
	rows, err := s.db.Query(ctx, `SELECT agent_id, max(started_ms), argMax(status, started_ms) FROM agent_status
		WHERE started_at >= toDateTime(?) GROUP BY agent_id`, now.Add(-agentLookback).Unix())
	if err != nil {
		return nil, 0, fmt.Errorf("read the agents' latest statuses: %w", err)
	}
	defer rows.Close()
	out := map[uint64]LatestStatus{}
	for rows.Next() {
		var id uint64
		var l LatestStatus
		if err := rows.Scan(&id, &l.Start, &l.Status); err != nil {
			return nil, 0, err
		}
		out[id] = l
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var heard int64
	if err := s.db.QueryRow(ctx, `SELECT max(event_ms) FROM agent_status WHERE started_at >= toDateTime(?)`,
		now.Add(-agentLookback).Unix()).Scan(&heard); err != nil {
		return nil, 0, fmt.Errorf("read the latest agent event: %w", err)
	}
	return out, heard, nil
}
