package derive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/staffing"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Staffing says how the staffing table is made (docs/counting.md,
// "Staffing"). Model.Interval is staffing.Length.
type Staffing struct {
	Model   staffing.Model
	Weeks   int         // STAFFING_WEEKS
	Exclude []time.Time // STAFFING_EXCLUDE_DAYS: their dates count
}

// DefaultStaffing are the settings' defaults.
var DefaultStaffing = Staffing{
	Model: staffing.Model{Interval: staffing.Length, Threshold: DefaultThresholds.ServiceLevel, Goal: 0.8,
		MaxOccupancy: 0.85, Shrinkage: 0.3},
	Weeks: 8,
}

// staffingAhead is how many days from today the nightly run forecasts;
// staffingBack how many days before today it makes again (the days the
// nightly load re-reads, and whose agents' after-call work may have come
// late).
const staffingAhead, staffingBack = 14, 7

// staffingHistory is how many days before today a rebuild makes the
// staffing of: a year and a month, enough for the forecast's error over a
// year, and a rebuild of years of history stays quick.
const staffingHistory = 400

func (d *Deriver) planner(today time.Time) staffing.Planner {
	return staffing.Planner{Model: d.staffing.Model, Weeks: d.staffing.Weeks, Exclude: d.staffing.Exclude, Today: today,
		Zone: d.db.Location()}
}

// PlanStaffing makes the staffing of targets again as of now: what the
// days from the day of from (or the last staffingBack days, if later or
// zero) to today needed, and the forecast of those days and of the next
// staffingAhead. The nightly run calls it with no from, a backfill with
// the first day it loaded (of the last staffingHistory days). A target
// that fails does not keep the others from theirs.
func (d *Deriver) PlanStaffing(ctx context.Context, targets []dialpad.Target, from, now time.Time) error {
	today := dayOf(now.UnixMilli(), d.db.Location())
	back := today.AddDate(0, 0, -staffingBack)
	if from.IsZero() || !dayOf(from.UnixMilli(), d.db.Location()).Before(back) {
		from = back
	} else {
		from = later(dayOf(from.UnixMilli(), d.db.Location()), today.AddDate(0, 0, -staffingHistory))
	}
	var errs []error
	for _, t := range targets {
		err := d.db.OnShard(ctx, t, func(sh *db.DB) error {
			return d.on(sh).staff(ctx, t, from, today.AddDate(0, 0, staffingAhead-1), now)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RebuildStaffing makes every target's staffing again as of the
// deriver's clock, in place of what the table held: the need and the
// forecast of every day since the target's first interval (of the last
// staffingHistory days), and the
// forecast of the next staffingAhead days.
func (d *Deriver) RebuildStaffing(ctx context.Context) error {
	now := d.now()
	if err := d.db.EachShard(ctx, func(sh *db.DB) error {
		parts, err := sh.Ints(ctx, "SELECT DISTINCT toYYYYMM(day) FROM staffing")
		if err != nil {
			return err
		}
		for _, p := range parts {
			if err := sh.Exec(ctx, "ALTER TABLE staffing DROP PARTITION "+strconv.Itoa(p)); err != nil {
				return fmt.Errorf("drop staffing of %d: %w", p, err)
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("rebuild staffing: %w", err)
	}
	targets, err := d.StoredTargets(ctx)
	if err != nil {
		return fmt.Errorf("rebuild staffing: %w", err)
	}
	today := dayOf(now.UnixMilli(), d.db.Location())
	for _, t := range targets {
		err := d.db.OnShard(ctx, t, func(sh *db.DB) error {
			var first time.Time
			if err := sh.QueryRow(ctx, `SELECT min(day) FROM target_intervals WHERE target_type = ? AND target_id = ?`,
				t.Type, uint64(t.ID)).Scan(&first); err != nil {
				return err
			}
			if first.IsZero() || first.Year() < 2000 || first.After(today) {
				first = today
			}
			first = later(first, today.AddDate(0, 0, -staffingHistory))
			return d.on(sh).staff(ctx, t, first, today.AddDate(0, 0, staffingAhead-1), now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// staffTouched makes again what the days needed, from the target's
// intervals as a recompute just left them.
func (d *Deriver) staffTouched(ctx context.Context, target dialpad.Target, days daySet) error {
	sorted := days.sorted()
	if len(sorted) == 0 {
		return nil
	}
	now := d.now()
	p := d.planner(dayOf(now.UnixMilli(), d.db.Location()))
	first, last := sorted[0], sorted[len(sorted)-1]
	history, err := d.targetIntervals(ctx, target, first.AddDate(0, 0, -7*p.Weeks), last)
	if err != nil {
		return fmt.Errorf("staffing of %s: %w", target, err)
	}
	return d.writeStaffing(ctx, target, p.Actual(history, sorted, now))
}

// staff writes target's needs from from to today (those that have begun
// by now) and its forecasts from from to last.
func (d *Deriver) staff(ctx context.Context, target dialpad.Target, from, last time.Time, now time.Time) error {
	today := dayOf(now.UnixMilli(), d.db.Location())
	p := d.planner(today)
	history, err := d.targetIntervals(ctx, target, from.AddDate(0, 0, -7*p.Weeks), today)
	if err != nil {
		return fmt.Errorf("staffing of %s: %w", target, err)
	}
	needs := p.Actual(history, staffing.Days(from, today), now)
	needs = append(needs, p.Forecast(history, staffing.Days(from, last))...)
	return d.writeStaffing(ctx, target, needs)
}

// targetIntervals reads target's intervals of the days from first to
// last, their handle time with the agents' after-call work: each day's
// after-call work spread evenly over its answered calls.
func (d *Deriver) targetIntervals(ctx context.Context, target dialpad.Target, first, last time.Time) ([]staffing.Interval, error) {
	acw, err := d.afterCallWork(ctx, target, first, last)
	if err != nil {
		return nil, err
	}
	rows, err := d.db.Query(ctx, `SELECT interval_start, day, offered, answered, total_handle_ms
		FROM target_intervals FINAL
		WHERE target_type = ? AND target_id = ? AND day >= toDate(?) AND day <= toDate(?)`, target.Type, uint64(target.ID),
		first.Format(time.DateOnly), last.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []staffing.Interval
	answered := map[string]float64{}
	for rows.Next() {
		var iv staffing.Interval
		var offered, ans uint32
		var handle uint64
		if err := rows.Scan(&iv.Start, &iv.Day, &offered, &ans, &handle); err != nil {
			return nil, err
		}
		iv.Offered, iv.Answered, iv.HandleMs = float64(offered), float64(ans), float64(handle)
		answered[iv.Day.Format(time.DateOnly)] += iv.Answered
		out = append(out, iv)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		day := out[i].Day.Format(time.DateOnly)
		if n := answered[day]; n > 0 {
			out[i].HandleMs += out[i].Answered * acw[day] / n
		}
	}
	return out, nil
}

// afterCallWork is, per day (YYYY-MM-DD) from first to last, the wrap-up
// ms of the agents on duty for target (a call center) that day. An agent
// on duty for several call centers gives each the share of its wrap-up
// that its on-duty time for it is of all its on-duty time that day.
// Other targets have no agents' statuses: none. Read across the shards
// (the agents' time lies by agent).
func (d *Deriver) afterCallWork(ctx context.Context, target dialpad.Target, first, last time.Time) (map[string]float64, error) {
	out := map[string]float64{}
	if target.Type != "callcenter" {
		return out, nil
	}
	f, l := first.Format(time.DateOnly), last.Format(time.DateOnly)
	rows, err := d.root.Query(ctx, afterCallWork, target.Type, uint64(target.ID), f, l, f, l)
	if err != nil {
		return nil, fmt.Errorf("after-call work: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var day time.Time
		var ms float64
		if err := rows.Scan(&day, &ms); err != nil {
			return nil, err
		}
		out[day.Format(time.DateOnly)] = ms
	}
	return out, rows.Err()
}

// afterCallWork reads each day's wrap-up ms of the target's agents (see
// Deriver.afterCallWork), from the agents' daily sums.
const afterCallWork = `SELECT day, sum(wrapup_ms * share)
FROM
(
    SELECT agent_id, day, sumIf(on_duty_ms, target_type = ? AND target_id = ?) / sum(on_duty_ms) AS share
    FROM agent_duty_daily FINAL
    WHERE day >= toDate(?) AND day <= toDate(?) AND on_duty_ms > 0
    GROUP BY agent_id, day
    HAVING share > 0
) AS duty
ALL INNER JOIN
(
    SELECT agent_id, day, wrapup_ms
    FROM agent_time_daily FINAL
    WHERE day >= toDate(?) AND day <= toDate(?) AND wrapup_ms > 0
) AS wrapup USING (agent_id, day)
GROUP BY day`

// writeStaffing writes needs as target's rows of staffing.
func (d *Deriver) writeStaffing(ctx context.Context, target dialpad.Target, needs []staffing.Need) error {
	if len(needs) == 0 {
		return nil
	}
	version := db.Version(time.Now())
	err := d.db.Send(ctx, "staffing", `INSERT INTO staffing (target_type, target_id, interval_start, day, forecast,
		offered, handle_ms, erlangs, required, scheduled, weeks, version)`, func(b driver.Batch) error {
		for _, n := range needs {
			var forecast uint8
			if n.Forecast {
				forecast = 1
			}
			if err := b.Append(target.Type, uint64(target.ID), n.Start, n.Day, forecast, n.Offered,
				uint64(n.Handle.Milliseconds()), n.Erlangs, uint32(n.Required), uint32(n.Scheduled), uint8(n.Weeks), version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write staffing of %s: %w", target, err)
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
