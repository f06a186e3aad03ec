package derive

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
	"github.com/dialpad-etl/dialpad-etl/schema"
)

// Every day column (calls, agent_daily, conversations) is a day of one
// reporting zone, recorded in etl_settings. A store whose Location is
// another zone must not load: its days would mix with the recorded ones.
// Rebuild counts the stored rows' days again in the store's zone, inside
// ClickHouse, without Dialpad.

const zoneSetting = "timezone"

// ZoneError is a store whose zone is not the one the warehouse's days were
// counted in.
type ZoneError struct {
	Configured string
	Recorded   string // "" when no zone was recorded and the days fit another
	// Interrupted is the zone of a rebuild that stopped part-way: some
	// days are of it, some of the zone before.
	Interrupted string
}

// rebuilding is what etl_settings holds while a rebuild runs.
const rebuilding = "rebuilding to "

func (e *ZoneError) Error() string {
	if e.Interrupted != "" {
		return fmt.Sprintf("ETL_TIMEZONE is %s, but a rebuild to %s stopped part-way and left the days of two zones: "+
			"run 'dialpad-etl rebuild' again (it reads nothing from Dialpad)", e.Configured, e.Interrupted)
	}
	was := "another zone"
	if e.Recorded != "" {
		was = e.Recorded
	}
	msg := fmt.Sprintf("ETL_TIMEZONE is %s, but the warehouse's days were counted in %s: run 'dialpad-etl rebuild' "+
		"to count them again in %s (it reads nothing from Dialpad)", e.Configured, was, e.Configured)
	if e.Recorded != "" {
		msg += ", or set ETL_TIMEZONE=" + e.Recorded
	}
	return msg
}

// RecordedZone is the zone the warehouse's days were counted in; ok is
// false when none is recorded.
func (d *Deriver) RecordedZone(ctx context.Context) (zone string, ok bool, err error) {
	if err := d.db.SyncGlobal(ctx, "etl_settings"); err != nil {
		return "", false, err
	}
	rows, err := d.db.Query(ctx, "SELECT value FROM etl_settings FINAL WHERE name = ?", zoneSetting)
	if err != nil {
		return "", false, fmt.Errorf("read the recorded time zone: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&zone); err != nil {
			return "", false, err
		}
		ok = true
	}
	return zone, ok, rows.Err()
}

// CheckZone returns a *ZoneError when the store's zone is not the
// recorded one. With none recorded (a new warehouse, or one from before
// the zone was recorded), it records the store's zone if every stored
// leg's day is a day of it, and returns a *ZoneError otherwise.
func (d *Deriver) CheckZone(ctx context.Context) error {
	zone := d.db.Location().String()
	recorded, ok, err := d.RecordedZone(ctx)
	switch {
	case err != nil:
		return err
	case ok && recorded == zone:
		return nil
	case ok && strings.HasPrefix(recorded, rebuilding):
		return &ZoneError{Configured: zone, Interrupted: strings.TrimPrefix(recorded, rebuilding)}
	case ok:
		return &ZoneError{Configured: zone, Recorded: recorded}
	}
	var other uint64
	if err := d.db.QueryRow(ctx, "SELECT count() FROM calls WHERE day != toDate(started_at, ?)", zone).Scan(&other); err != nil {
		return fmt.Errorf("check the days of calls against %s: %w", zone, err)
	}
	if other > 0 {
		return &ZoneError{Configured: zone}
	}
	return d.recordZone(ctx, zone)
}

func (d *Deriver) recordZone(ctx context.Context, zone string) error {
	now := time.Now().UTC()
	err := d.db.InsertRow(ctx, "etl_settings", "INSERT INTO etl_settings (name, value, updated_at, version)",
		zoneSetting, zone, now, db.Version(now))
	if err != nil {
		return fmt.Errorf("record the time zone: %w", err)
	}
	return nil
}

// RebuildStep is how far Rebuild has come: Done of Total steps of its
// stage, the legs' days ("calls") or the derived tables ("aggregates").
type RebuildStep struct {
	Stage       string
	Done, Total int
	What        string // the step just done: "202601" or "department:123 202601"
}

// Rebuild counts every stored leg's day again in the store's zone, then
// rebuilds every target-month of agent days and conversations from the
// legs (dropping those left with none), and records the zone. It reads
// nothing from Dialpad, and may run again after it stopped part-way. No
// load may run meanwhile: the caller holds every target's lease.
func (d *Deriver) Rebuild(ctx context.Context, progress func(RebuildStep)) error {
	zone := d.db.Location().String()
	// Until it ends, loads in either zone are refused.
	if err := d.recordZone(ctx, rebuilding+zone); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	report := func(stage string, done, total int, what string) {
		if progress != nil {
			progress(RebuildStep{Stage: stage, Done: done, Total: total, What: what})
		}
	}
	// The legs: a newer version of each leg whose day is not one of zone,
	// a partition (month of started_at) at a time. (No alias in the list:
	// an alias "day" would be what the WHERE clause compares.)
	months, err := d.db.Ints(ctx, "SELECT DISTINCT toYYYYMM(started_at) FROM calls")
	if err != nil {
		return fmt.Errorf("rebuild: list the months of calls: %w", err)
	}
	var cols []string
	for _, c := range schema.CallColumns {
		switch c {
		case "day":
			cols = append(cols, "{day}") // the day in zone
		case "version":
			cols = append(cols, "version + 1")
		default:
			cols = append(cols, c)
		}
	}
	recount := "INSERT INTO calls (" + strings.Join(schema.CallColumns, ", ") + ") SELECT " + strings.Join(cols, ", ") +
		" FROM calls FINAL WHERE toYYYYMM(started_at) = ? AND day != toDate(started_at, ?)"
	day := map[string]stmt{"day": sqlOf("toDate(started_at, ?)", nil, zone)}
	for i, m := range months {
		if err := d.exec(ctx, sqlOf(recount, day, m, zone)); err != nil {
			return fmt.Errorf("rebuild: count the days of calls started in %d in %s: %w", m, zone, err)
		}
		report("calls", i+1, len(months), strconv.Itoa(m))
	}
	if err := d.RebuildAggregates(ctx, func(done, total int, what string) { report("aggregates", done, total, what) }); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	// The staffing reads the intervals and the agents' time just rebuilt.
	if err := d.RebuildStaffing(ctx); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	return d.recordZone(ctx, zone)
}

// RebuildAggregates rebuilds every target-month that the legs have, or
// that the derived tables still hold, reporting each step to progress
// (which may be nil).
func (d *Deriver) RebuildAggregates(ctx context.Context, progress func(done, total int, what string)) error {
	parts, err := d.derivedMonths(ctx)
	if err != nil {
		return err
	}
	// Every month's legs first, then every month's KPIs, which read the
	// conversations of the days after the month too: each is computed once.
	for i, p := range parts {
		if err := d.db.OnShard(ctx, p.target, func(sh *db.DB) error { return d.on(sh).rebuildLegMonth(ctx, p.target, p.month) }); err != nil {
			return err
		}
		if progress != nil {
			progress(i+1, 2*len(parts), fmt.Sprintf("%s %d", p.target, p.month))
		}
	}
	for i, p := range parts {
		if err := d.db.OnShard(ctx, p.target, func(sh *db.DB) error { return d.on(sh).recomputeKPIs(ctx, p.target, p.month) }); err != nil {
			return err
		}
		if progress != nil {
			progress(len(parts)+i+1, 2*len(parts), fmt.Sprintf("%s %d KPIs", p.target, p.month))
		}
	}
	if len(parts) > 0 {
		d.db.Log().Info("agent days and conversations rebuilt from the legs", "target_months", len(parts))
	}
	// The agents' intervals carry days of the zone too.
	return d.RebuildAgents(ctx, d.now())
}

type targetMonth struct {
	target dialpad.Target
	month  int
}

// StoredTargets are the targets that calls holds legs of.
func (d *Deriver) StoredTargets(ctx context.Context) ([]dialpad.Target, error) {
	parts, err := d.derivedMonths(ctx)
	if err != nil {
		return nil, err
	}
	var out []dialpad.Target
	for _, p := range parts {
		if len(out) == 0 || out[len(out)-1] != p.target {
			out = append(out, p.target)
		}
	}
	return out, nil
}

// derivedMonths are the target-months that the legs or the derived
// tables have, sorted.
func (d *Deriver) derivedMonths(ctx context.Context) ([]targetMonth, error) {
	seen := map[targetMonth]bool{}
	var out []targetMonth
	for _, table := range []string{"calls", "agent_daily", "conversations", "calls_daily", "target_daily", "target_intervals", "reasons_daily"} {
		rows, err := d.db.Query(ctx, "SELECT DISTINCT toString(target_type), target_id, toYYYYMM(day) FROM "+table)
		if err != nil {
			return nil, fmt.Errorf("list the months of %s: %w", table, err)
		}
		for rows.Next() {
			var tm targetMonth
			var id uint64
			var m uint32
			if err := rows.Scan(&tm.target.Type, &id, &m); err != nil {
				rows.Close()
				return nil, err
			}
			tm.target.ID, tm.month = int64(id), int(m)
			if !seen[tm] {
				seen[tm] = true
				out = append(out, tm)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].target != out[j].target {
			return out[i].target.String() < out[j].target.String()
		}
		return out[i].month < out[j].month
	})
	return out, nil
}
