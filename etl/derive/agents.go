package derive

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// The agents' time per interval (agenttime.go), counted by the job from
// agent_status and written over the stored rows of the same keys with a
// newer version: agent_intervals and agent_duty_intervals are read with
// FINAL.

// statusLookback bounds how far back an agent's status before the
// recounted time is looked for, as the event receiver bounds the status a
// change ends.
const statusLookback = 92 * 24 * time.Hour

const statusColumns = `agent_id, agent_name, status, reason, call_center_ids, started_ms, ended_ms`

// RecountAgents counts again the time of the agents in from (agent id ->
// epoch ms), each from the interval that holds its ms until now, and
// writes it to agent_intervals and agent_duty_intervals, and the days it
// touched to agent_time_daily and agent_duty_daily. Call it after
// statuses from those times on were stored, and every so often for the
// agents' current statuses (RecountCurrent). Recounts of one process wait
// for each other, so that the last one read is the one kept.
func (d *Deriver) RecountAgents(ctx context.Context, from map[uint64]int64, now time.Time) error {
	if len(from) == 0 {
		return nil
	}
	d.agents.Lock()
	defer d.agents.Unlock()
	version := db.Version(time.Now())
	ids := make([]uint64, 0, len(from))
	for id := range from {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, k int) bool { return ids[i] < ids[k] })
	for len(ids) > 0 {
		n := min(len(ids), 500)
		if err := d.recountAgents(ctx, ids[:n], from, now.UnixMilli(), version); err != nil {
			return fmt.Errorf("count the time of %d agents: %w", n, err)
		}
		ids = ids[n:]
	}
	return nil
}

func (d *Deriver) recountAgents(ctx context.Context, ids []uint64, from map[uint64]int64, now int64, version uint64) error {
	// Each agent's time is counted from the start of the day of its
	// change, so that the day's sums are whole; only the intervals from
	// the change on are written again.
	zone := d.db.Location()
	lo := int64(1 << 62)
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatUint(id, 10)
		lo = min(lo, dayStart(from[id], zone))
	}
	in := "agent_id IN (" + strings.Join(list, ",") + ")"
	// The statuses from the earliest recounted interval on, and each
	// agent's last one before it (only key columns in WHERE: on 18.16 a
	// condition on another column can see a replaced row under FINAL).
	spans, err := d.statusSpans(ctx, `SELECT `+statusColumns+` FROM agent_status FINAL
		WHERE `+in+` AND started_ms >= ? ORDER BY agent_id, started_ms`, lo)
	if err != nil {
		return err
	}
	before, err := d.statusSpans(ctx, `SELECT `+statusColumns+` FROM agent_status FINAL
		WHERE `+in+` AND started_ms < ? AND started_at >= toDateTime(?)
		ORDER BY agent_id, started_ms DESC LIMIT 1 BY agent_id`, lo, (lo-statusLookback.Milliseconds())/1000)
	if err != nil {
		return err
	}
	byAgent := map[uint64][]StatusSpan{}
	for _, s := range append(before, spans...) {
		byAgent[s.Agent] = append(byAgent[s.Agent], s)
	}
	var t agentTime
	for _, id := range ids {
		// An agent's own recount may start later than lo: its statuses
		// that ended before that start change nothing.
		start, changed := dayStart(from[id], zone), floorInterval(from[id])
		var mine []StatusSpan
		for _, s := range byAgent[id] {
			if s.End == 0 || s.End >= start {
				mine = append(mine, s)
			}
		}
		sort.Slice(mine, func(i, k int) bool { return mine[i].Start < mine[k].Start })
		a, du := CountAgentTime(mine, start, now, zone)
		ad, dd := DailyTime(a, du, zone)
		t.days, t.dutyDays = append(t.days, ad...), append(t.dutyDays, dd...)
		for _, x := range a {
			if x.Start >= changed {
				t.intervals = append(t.intervals, x)
			}
		}
		for _, x := range du {
			if x.Start >= changed {
				t.duty = append(t.duty, x)
			}
		}
	}
	return d.writeAgentTime(ctx, t, version)
}

// agentTime are the rows of the four tables of agent time a count
// writes.
type agentTime struct {
	intervals []AgentInterval
	duty      []DutyInterval
	days      []AgentDay
	dutyDays  []DutyDay
}

// agentTimeTables are the tables of agent time, as the job writes them.
var agentTimeTables = []string{"agent_intervals", "agent_duty_intervals", "agent_time_daily", "agent_duty_daily"}

// statusSpans reads statuses of agent_status (statusColumns) by q.
func (d *Deriver) statusSpans(ctx context.Context, q string, args ...any) ([]StatusSpan, error) {
	rows, err := d.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read agent statuses: %w", err)
	}
	defer rows.Close()
	var out []StatusSpan
	for rows.Next() {
		var s StatusSpan
		if err := rows.Scan(&s.Agent, &s.Name, &s.Status, &s.Reason, &s.CallCenters, &s.Start, &s.End); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// writeAgentTime writes the rows of t with version.
func (d *Deriver) writeAgentTime(ctx context.Context, t agentTime, version uint64) error {
	agents, duty := t.intervals, t.duty
	if len(agents) > 0 {
		err := d.db.Send(ctx, "agent_intervals", `INSERT INTO agent_intervals (agent_id, agent_name, interval_start, day,
			available_ms, busy_ms, occupied_ms, wrapup_ms, unavailable_ms, unknown_ms,
			unavailable_reasons, unavailable_reason_ms, version)`, func(b driver.Batch) error {
			for _, a := range agents {
				reasons, ms := a.Reasons, a.ReasonMs
				if reasons == nil {
					reasons, ms = []string{}, []uint32{}
				}
				if err := b.Append(a.Agent, a.Name, time.UnixMilli(a.Start).UTC(), a.Day, a.Available, a.Busy, a.Occupied,
					a.Wrapup, a.Unavailable, a.Unknown, reasons, ms, version); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(duty) > 0 {
		err := d.db.Send(ctx, "agent_duty_intervals", `INSERT INTO agent_duty_intervals (target_type, target_id, agent_id,
			interval_start, day, on_duty_ms, version)`, func(b driver.Batch) error {
			for _, u := range duty {
				if err := b.Append("callcenter", u.CallCenter, u.Agent, time.UnixMilli(u.Start).UTC(), u.Day, u.OnDuty, version); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(t.days) > 0 {
		err := d.db.Send(ctx, "agent_time_daily", `INSERT INTO agent_time_daily (agent_id, agent_name, day, day_start, day_end,
			available_ms, busy_ms, occupied_ms, wrapup_ms, unavailable_ms, unknown_ms,
			unavailable_reasons, unavailable_reason_ms, version)`, func(b driver.Batch) error {
			for _, a := range t.days {
				reasons, ms := a.Reasons, a.ReasonMs
				if reasons == nil {
					reasons, ms = []string{}, []uint64{}
				}
				if err := b.Append(a.Agent, a.Name, a.Day, a.Start, a.End, a.Available, a.Busy, a.Occupied, a.Wrapup,
					a.Unavailable, a.Unknown, reasons, ms, version); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(t.dutyDays) == 0 {
		return nil
	}
	return d.db.Send(ctx, "agent_duty_daily", `INSERT INTO agent_duty_daily (target_type, target_id, agent_id, day,
		day_start, day_end, on_duty_ms, version)`, func(b driver.Batch) error {
		for _, u := range t.dutyDays {
			if err := b.Append("callcenter", u.CallCenter, u.Agent, u.Day, u.Start, u.End, u.OnDuty, version); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecountCurrent counts again the time of every agent's current status
// (whose latest status started within statusLookback) from since, or
// from its start when that is later, until now: what passing time adds.
// Since zero (a process's first count) counts from the latest status's
// start or from two days before now, whichever is earlier: what a
// process that stopped left uncounted.
func (d *Deriver) RecountCurrent(ctx context.Context, since, now time.Time) error {
	rows, err := d.db.Query(ctx, `SELECT agent_id, max(started_ms) FROM agent_status
		WHERE started_at >= toDateTime(?) GROUP BY agent_id`, now.Add(-statusLookback).Unix())
	if err != nil {
		return fmt.Errorf("read the agents' current statuses: %w", err)
	}
	from := map[uint64]int64{}
	for rows.Next() {
		var id uint64
		var started int64
		if err := rows.Scan(&id, &started); err != nil {
			rows.Close()
			return err
		}
		if since.IsZero() {
			from[id] = min(started, now.Add(-48*time.Hour).UnixMilli())
		} else {
			from[id] = max(started, since.UnixMilli())
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return d.RecountAgents(ctx, from, now)
}

// RebuildAgents counts every agent's time again from all of agent_status,
// until now, in place of what the tables of agent time held: after the reporting zone changed (their day columns) or the
// tables were made.
func (d *Deriver) RebuildAgents(ctx context.Context, now time.Time) error {
	d.agents.Lock()
	defer d.agents.Unlock()
	if err := d.db.EachShard(ctx, func(sh *db.DB) error {
		for _, table := range agentTimeTables {
			col := "interval_start"
			if strings.HasSuffix(table, "_daily") {
				col = "day"
			}
			parts, err := sh.Ints(ctx, "SELECT DISTINCT toYYYYMM("+col+") FROM "+table)
			if err != nil {
				return err
			}
			for _, p := range parts {
				if err := sh.Exec(ctx, "ALTER TABLE "+table+" DROP PARTITION "+strconv.Itoa(p)); err != nil {
					return fmt.Errorf("drop %s of %d: %w", table, p, err)
				}
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("rebuild the agents' time: %w", err)
	}
	ids, err := d.statusAgents(ctx)
	if err != nil {
		return fmt.Errorf("rebuild the agents' time: %w", err)
	}
	version := db.Version(time.Now())
	for _, id := range ids {
		spans, err := d.statusSpans(ctx, `SELECT `+statusColumns+` FROM agent_status FINAL
			WHERE agent_id = ? ORDER BY started_ms`, id)
		if err != nil {
			return fmt.Errorf("rebuild the time of agent %d: %w", id, err)
		}
		if len(spans) == 0 {
			continue
		}
		// Written into emptied tables: no 0 rows needed. A current status
		// is counted until statusLookback after its start at most, as
		// RecountCurrent counts it.
		end := min(now.UnixMilli(), spans[len(spans)-1].Start+statusLookback.Milliseconds())
		agents, duty := CountAgentTime(spans, spans[0].Start, end, d.db.Location())
		days, dutyDays := DailyTime(agents, duty, d.db.Location())
		t := agentTime{intervals: agents, days: days}
		for _, u := range duty {
			if u.OnDuty > 0 {
				t.duty = append(t.duty, u)
			}
		}
		for _, u := range dutyDays {
			if u.OnDuty > 0 {
				t.dutyDays = append(t.dutyDays, u)
			}
		}
		if err := d.writeAgentTime(ctx, t, version); err != nil {
			return fmt.Errorf("rebuild the time of agent %d: %w", id, err)
		}
	}
	return nil
}

// statusAgents are the agents that agent_status holds statuses of.
func (d *Deriver) statusAgents(ctx context.Context) ([]uint64, error) {
	rows, err := d.db.Query(ctx, "SELECT DISTINCT agent_id FROM agent_status ORDER BY agent_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []uint64
	for rows.Next() {
		var id uint64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
