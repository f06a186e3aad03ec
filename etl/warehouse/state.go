package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// HighWater returns target's incremental high-water mark: every call that
// started before it, and had ended when its window was read, has been
// loaded (a call still running then comes with a later load, which starts
// a lookback before the mark). ok is false when nothing was loaded.
func (s *Store) HighWater(ctx context.Context, target dialpad.Target) (mark time.Time, ok bool, err error) {
	rows, err := s.db.Query(ctx, `SELECT high_water FROM etl_state FINAL
		WHERE target_type = ? AND target_id = ?`, target.Type, uint64(target.ID))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read high-water mark of %s: %w", target, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&mark); err != nil {
			return time.Time{}, false, err
		}
		ok = true
	}
	return mark.UTC(), ok, rows.Err()
}

// AdvanceHighWater records mark for target. The highest mark ever written
// wins, so this never moves a mark backwards.
func (s *Store) AdvanceHighWater(ctx context.Context, target dialpad.Target, mark time.Time) error {
	err := s.db.InsertRow(ctx, "etl_state", `INSERT INTO etl_state (target_type, target_id, high_water, updated_at, version)`,
		target.Type, uint64(target.ID), mark.UTC(), time.Now().UTC(), uint64(mark.Unix()))
	if err != nil {
		return fmt.Errorf("write high-water mark of %s: %w", target, err)
	}
	return nil
}

// MarkWindowLoaded records that every call of target starting in w was
// loaded after all of them had ended, from the call list or an export
// (etl_windows.source), so a backfill need not fetch it again.
func (s *Store) MarkWindowLoaded(ctx context.Context, target dialpad.Target, w dialpad.Window, legs int, from transform.Source) error {
	now := time.Now().UTC()
	source := "list"
	if from == transform.SourceExport {
		source = "export"
	}
	err := s.db.InsertRow(ctx, "etl_windows", `INSERT INTO etl_windows (target_type, target_id, window_from, window_to, legs, loaded_at, version, source)`,
		target.Type, uint64(target.ID), w.From.UTC(), w.To.UTC(), uint64(legs), now, db.Version(now), source)
	if err != nil {
		return fmt.Errorf("record loaded window %s of %s: %w", w, target, err)
	}
	return nil
}

// LoadedWindows returns the windows of target recorded as loaded that lie
// within w.
func (s *Store) LoadedWindows(ctx context.Context, target dialpad.Target, w dialpad.Window) (map[dialpad.Window]bool, error) {
	rows, err := s.db.Query(ctx, `SELECT window_from, window_to FROM etl_windows FINAL
		WHERE target_type = ? AND target_id = ? AND window_from >= ? AND window_to <= ?`,
		target.Type, uint64(target.ID), w.From.UTC(), w.To.UTC())
	if err != nil {
		return nil, fmt.Errorf("read loaded windows of %s: %w", target, err)
	}
	defer rows.Close()
	out := map[dialpad.Window]bool{}
	for rows.Next() {
		var lw dialpad.Window
		if err := rows.Scan(&lw.From, &lw.To); err != nil {
			return nil, err
		}
		out[dialpad.Window{From: lw.From.UTC(), To: lw.To.UTC()}] = true
	}
	return out, rows.Err()
}

// Run is one run of the job for one target: a row of etl_runs.
type Run struct {
	ID          string
	Target      dialpad.Target
	Kind        string // incremental, backfill or nightly
	Window      dialpad.Window
	Started     time.Time
	Finished    time.Time
	Status      string // succeeded, failed or cancelled
	Windows     int
	Pages       int64
	Requests    int64
	Retries     int64
	RateLimited int64
	Legs        int64 // read and written
	LegsChanged int64 // of Legs, those new or changed since their stored copy
	Rejected    int64
	Error       string
	Host        string
}

// RecordRun writes run to etl_runs.
func (s *Store) RecordRun(ctx context.Context, r Run) error {
	err := s.db.InsertRow(ctx, "etl_runs", `INSERT INTO etl_runs (run_id, target_type, target_id, kind, window_from, window_to,
		started_at, finished_at, status, windows, pages, requests, retries, rate_limited, legs, legs_changed, rejected, error, host)`,
		r.ID, r.Target.Type, uint64(r.Target.ID), r.Kind, r.Window.From.UTC(), r.Window.To.UTC(),
		r.Started.UTC(), r.Finished.UTC(), r.Status, uint32(r.Windows), uint32(r.Pages), uint32(r.Requests),
		uint32(r.Retries), uint32(r.RateLimited), uint64(r.Legs), uint64(r.LegsChanged), uint32(r.Rejected), r.Error, r.Host)
	if err != nil {
		return fmt.Errorf("record run %s of %s: %w", r.ID, r.Target, err)
	}
	return nil
}

// Agent is an operator of a target: a row of agents.
type Agent struct {
	ID           int64
	Kind         string // user or room
	DisplayName  string
	FirstName    string
	LastName     string
	Emails       []string
	PhoneNumbers []string
	Role         string
	State        string
}

// WriteAgents records the operators of target as seen now.
func (s *Store) WriteAgents(ctx context.Context, target dialpad.Target, agents []Agent) error {
	if len(agents) == 0 {
		return nil
	}
	now := time.Now().UTC()
	version := db.Version(now)
	return s.db.Send(ctx, "agents", `INSERT INTO agents (target_type, target_id, agent_id, kind, display_name,
		first_name, last_name, emails, phone_numbers, role, state, seen_at, version)`,
		func(b driver.Batch) error {
			for _, a := range agents {
				if err := b.Append(target.Type, uint64(target.ID), uint64(a.ID), a.Kind, a.DisplayName, a.FirstName,
					a.LastName, nonNil(a.Emails), nonNil(a.PhoneNumbers), a.Role, a.State, now, version); err != nil {
					return err
				}
			}
			return nil
		})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
