package derive

import (
	"context"
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
	Exclude []time.Time // STAFFING_EXCLUDE_DAYS, as a day column holds them
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

func (d *Deriver) planner() staffing.Planner {
	ex := map[time.Time]bool{}
	for _, day := range d.staffing.Exclude {
		y, m, dd := day.Date()
		ex[time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)] = true
	}
	return staffing.Planner{Model: d.staffing.Model, Weeks: d.staffing.Weeks, Exclude: ex, Zone: d.db.Location()}
}

// PlanStaffing makes the staffing of targets again as of now: what the
// last staffingBack days needed, and the forecast of those days and of
// the next staffingAhead. The nightly run calls it.
func (d *Deriver) PlanStaffing(ctx context.Context, targets []dialpad.Target, now time.Time) error {
	today := dayOf(now.UnixMilli(), d.db.Location())
	from := today.AddDate(0, 0, -staffingBack)
	for _, t := range targets {
		err := d.db.OnShard(ctx, t, func(sh *db.DB) error {
			return d.on(sh).staff(ctx, t, from, from, today.AddDate(0, 0, staffingAhead-1), now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// RebuildStaffing makes every target's staffing again, in place of what
// the table held: the need and the forecast of every day since the
// target's first interval, and the forecast of the next staffingAhead
// days.
func (d *Deriver) RebuildStaffing(ctx context.Context, now time.Time) error {
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
			return d.on(sh).staff(ctx, t, first, first, today.AddDate(0, 0, staffingAhead-1), now)
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
	first, last := sorted[0], sorted[len(sorted)-1]
	history, err := d.targetIntervals(ctx, target, first, last)
	if err != nil {
		return fmt.Errorf("staffing of %s: %w", target, err)
	}
	needs := d.planner().Actual(history, sorted, d.now())
	return d.writeStaffing(ctx, target, needs)
}

// staff writes target's needs from actualFrom to today (those that have
// begun by now) and its forecasts from forecastFrom to last.
func (d *Deriver) staff(ctx context.Context, target dialpad.Target, actualFrom, forecastFrom, last time.Time, now time.Time) error {
	p := d.planner()
	today := dayOf(now.UnixMilli(), d.db.Location())
	history, err := d.targetIntervals(ctx, target, forecastFrom.AddDate(0, 0, -7*p.Weeks), today)
	if err != nil {
		return fmt.Errorf("staffing of %s: %w", target, err)
	}
	needs := p.Actual(history, staffing.Days(actualFrom, today), now)
	needs = append(needs, p.Forecast(history, staffing.Days(forecastFrom, last))...)
	return d.writeStaffing(ctx, target, needs)
}

// targetIntervals reads target's intervals of the days from first to
// last, each with the after-call work of its agents.
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
	for rows.Next() {
		var iv staffing.Interval
		var offered, answered uint32
		var handle uint64
		if err := rows.Scan(&iv.Start, &iv.Day, &offered, &answered, &handle); err != nil {
			return nil, err
		}
		iv.Offered, iv.Answered = float64(offered), float64(answered)
		iv.HandleMs = float64(handle) + acw[iv.Start.Unix()]
		out = append(out, iv)
	}
	return out, rows.Err()
}

// afterCallWork is, per interval start (Unix seconds) of the days from
// first to last, the wrap-up ms of the agents on duty for target (a call
// center) in that interval. An agent on duty for several call centers at
// once gives each the share of its wrap-up that its on-duty time for it
// is of all its on-duty time in the interval. Other targets have no
// agents' statuses: none.
func (d *Deriver) afterCallWork(ctx context.Context, target dialpad.Target, first, last time.Time) (map[int64]float64, error) {
	out := map[int64]float64{}
	if target.Type != "callcenter" {
		return out, nil
	}
	f, l := first.Format(time.DateOnly), last.Format(time.DateOnly)
	rows, err := d.db.Query(ctx, afterCallWork, target.Type, uint64(target.ID), f, l, f, l)
	if err != nil {
		return nil, fmt.Errorf("after-call work: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var start time.Time
		var ms float64
		if err := rows.Scan(&start, &ms); err != nil {
			return nil, err
		}
		out[start.Unix()] = ms
	}
	return out, rows.Err()
}

// afterCallWork reads each interval's wrap-up ms of the target's agents
// (see Deriver.afterCallWork).
const afterCallWork = `SELECT interval_start, sum(wrapup_ms * share)
FROM
(
    SELECT agent_id, interval_start, sumIf(on_duty_ms, target_type = ? AND target_id = ?) / sum(on_duty_ms) AS share
    FROM agent_duty_intervals FINAL
    WHERE day >= toDate(?) AND day <= toDate(?) AND on_duty_ms > 0
    GROUP BY agent_id, interval_start
    HAVING share > 0
) AS duty
ALL INNER JOIN
(
    SELECT agent_id, interval_start, wrapup_ms
    FROM agent_intervals FINAL
    WHERE day >= toDate(?) AND day <= toDate(?) AND wrapup_ms > 0
) AS wrapup USING (agent_id, interval_start)
GROUP BY interval_start`

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
