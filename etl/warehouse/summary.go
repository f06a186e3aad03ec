package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// The figures the status and report commands print, read with the same
// rules as the dashboards' cards and leaderboard.

// Counted are the tables whose rows Counts counts.
var Counted = []string{"calls", "conversations", "agent_daily", "rejected_calls"}

// Counts returns the number of rows of target in each table of Counted.
func (s *Store) Counts(ctx context.Context, target dialpad.Target) (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, table := range Counted {
		var n uint64
		q := "SELECT count() FROM " + table + " FINAL WHERE target_type = ? AND target_id = ?"
		if err := s.db.QueryRow(ctx, q, target.Type, uint64(target.ID)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s of %s: %w", table, target, err)
		}
		out[table] = n
	}
	return out, nil
}

// RecentRuns returns the last n runs of target, newest first, with their
// start, kind, status, counts and error.
func (s *Store) RecentRuns(ctx context.Context, target dialpad.Target, n int) ([]Run, error) {
	rows, err := s.db.Query(ctx, `SELECT started_at, toString(kind), toString(status), legs, rejected, requests, error
		FROM etl_runs WHERE target_type = ? AND target_id = ? ORDER BY started_at DESC LIMIT ?`,
		target.Type, uint64(target.ID), n)
	if err != nil {
		return nil, fmt.Errorf("read runs of %s: %w", target, err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r := Run{Target: target}
		var legs uint64
		var rejected, requests uint32
		if err := rows.Scan(&r.Started, &r.Kind, &r.Status, &legs, &rejected, &requests, &r.Error); err != nil {
			return nil, err
		}
		r.Legs, r.Rejected, r.Requests = int64(legs), int64(rejected), int64(requests)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Cards are the department cards of a range of days: customer
// conversations, never legs.
type Cards struct {
	Inbound, Outbound, Missed, Total uint64
}

// Cards counts target's conversations that started on the days from
// first to last (reporting-zone days, included).
func (s *Store) Cards(ctx context.Context, target dialpad.Target, first, last time.Time) (Cards, error) {
	var c Cards
	err := s.db.QueryRow(ctx, `SELECT countIf(direction = 'inbound'), countIf(direction = 'outbound'),
		countIf(direction = 'inbound' AND outcome IN ('missed', 'voicemail')), count()
		FROM conversations FINAL
		WHERE target_type = ? AND target_id = ? AND day >= toDate(?) AND day <= toDate(?)`,
		target.Type, uint64(target.ID), first.Format(time.DateOnly), last.Format(time.DateOnly)).
		Scan(&c.Inbound, &c.Outbound, &c.Missed, &c.Total)
	if err != nil {
		return Cards{}, fmt.Errorf("read the cards of %s: %w", target, err)
	}
	return c, nil
}

// AgentTotal is one agent's legs over a range of days.
type AgentTotal struct {
	Name              string
	Total, Completed  uint64
	Inbound, Outbound uint64
	DurationMs        uint64 // of the completed legs
}

// AgentActivity sums target's agent days from first to last, busiest
// agent first.
func (s *Store) AgentActivity(ctx context.Context, target dialpad.Target, first, last time.Time) ([]AgentTotal, error) {
	rows, err := s.db.Query(ctx, `SELECT argMax(agent_name, day), sum(total_calls) AS n, sum(completed_calls),
		sum(inbound_calls), sum(outbound_calls), sum(total_duration_ms)
		FROM agent_daily FINAL
		WHERE target_type = ? AND target_id = ? AND day >= toDate(?) AND day <= toDate(?)
		GROUP BY agent_id ORDER BY n DESC, agent_id`,
		target.Type, uint64(target.ID), first.Format(time.DateOnly), last.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("read agent activity of %s: %w", target, err)
	}
	defer rows.Close()
	var out []AgentTotal
	for rows.Next() {
		var a AgentTotal
		if err := rows.Scan(&a.Name, &a.Total, &a.Completed, &a.Inbound, &a.Outbound, &a.DurationMs); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
