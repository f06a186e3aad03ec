package main

import (
	"context"
	"fmt"
	"log"
	"time"
)

// history loads a year of three busy groups, unthrottled, and its call
// center's agent statuses (historyAgents), then times what should not
// grow with it: an hourly run on top of the year, beside the same run on
// a fresh database, and every dashboard over 14 and 365 days; then a
// rebuild of the year's derived tables.
func (b *bench) history(ctx context.Context, t *table) error {
	const days = 365
	c := simConfig{start: b.end.AddDate(0, 0, -days), end: b.end, callsPerDay: callsPerDay(b.opt.historyLegs, days),
		rateLimit: -1, pageSize: 1000}
	sim, err := b.startSimulator(ctx, c)
	if err != nil {
		return err
	}
	defer sim.stop()
	if b.opt.reuse {
		if r, err := b.runTotals(ctx, "bench_history"); err == nil && r.rows > 0 {
			log.Printf("history: timing the dashboards of the year loaded before (%s legs)", thousands(float64(r.rows)))
			return b.historyDashboards(ctx, t, r.rows)
		}
	}
	// The year up to its last day; the hourly runs then read that day.
	lastDay := b.end.AddDate(0, 0, -1)
	year := c
	year.end = lastDay
	log.Printf("history: backfilling a year, %s legs, pages of 1,000, no limit", thousands(float64(sim.legs)))
	r, err := b.backfill(ctx, sim, year, "bench_history", "DIALPAD_RATE_LIMIT=1000000")
	if err != nil {
		return err
	}
	t.add(row{what: "History: backfill of a year of three busy groups, no limit, no latency, pages of 1,000: peak RSS of the process (VmHWM)",
		measured: fmt.Sprintf("%.0f MB (%s legs in %.0f s, %s legs/s)", mb(r.maxRSS), thousands(float64(r.runs.legs)), r.wall.Seconds(),
			thousands(float64(r.runs.legs)/r.wall.Seconds())),
		target: "< 150 MB", met: mb(r.maxRSS) < 150})

	// The hourly run: from the mark less an hour's lookback to now, over
	// the year, and the same range on a fresh database.
	onYear, err := b.job(ctx, sim, "bench_history", []string{"run"}, "DIALPAD_RATE_LIMIT=1000000", "ETL_LOOKBACK=1h")
	if err != nil {
		return err
	}
	fresh, err := b.job(ctx, sim, "bench_history_fresh", []string{"run"}, "DIALPAD_RATE_LIMIT=1000000", "ETL_LOOKBACK=1h",
		"ETL_START="+lastDay.Add(-time.Hour).Format(time.RFC3339))
	if err != nil {
		return err
	}
	if onYear.runs.legs != fresh.runs.legs {
		return fmt.Errorf("history: the hourly run read %d legs over the year and %d on a fresh database", onYear.runs.legs, fresh.runs.legs)
	}
	ratio := onYear.wall.Seconds() / fresh.wall.Seconds()
	t.add(row{what: "History: an hourly run (dialpad-etl run, the last day and an hour of lookback, no limit) on top of the year, beside the same run on a fresh database",
		measured: fmt.Sprintf("%.1f s over the year, %.1f s on a fresh database (%.2f×; %s legs each)",
			onYear.wall.Seconds(), fresh.wall.Seconds(), ratio, thousands(float64(fresh.runs.legs))),
		target: "within 2× of the fresh database", met: ratio <= 2})

	// The agents' statuses of the year, counted into their time, for the
	// Workforce dashboard and the scorecard.
	ay, err := b.historyAgents(ctx, c, "bench_history")
	if err != nil {
		return err
	}
	t.add(row{what: "History: the year's agent status changes written into agent_status (events.Storage, groups of 100,000), then counted by derive's RebuildAgents",
		measured: fmt.Sprintf("%s changes of %d agents written in %.0f s; counted in %.0f s into %s intervals and %s agent days",
			thousands(float64(ay.statuses)), ay.agents, ay.write.Seconds(), ay.count.Seconds(),
			thousands(float64(ay.intervals)), thousands(float64(ay.days))),
		target: "< 5 min to count", met: ay.count < 5*time.Minute})

	if err := b.historyDashboards(ctx, t, r.runs.rows); err != nil {
		return err
	}

	// A rebuild of every derived table and KPI from the year's legs: what
	// the upgrade to migration 007 does before the job loads again.
	rebuilt, err := b.job(ctx, sim, "bench_history", []string{"rebuild"})
	if err != nil {
		return err
	}
	t.add(row{what: "History: dialpad-etl rebuild of the year (agent days, daily counts, conversations with their KPI flags, target days: what the upgrade to 007 does; and the agents' time)",
		measured: fmt.Sprintf("%.0f s for %s legs", rebuilt.wall.Seconds(), thousands(float64(r.runs.legs))),
		target:   "< 5 min", met: rebuilt.wall < 5*time.Minute})
	return nil
}

// historyDashboards times every dashboard over the last 14 and 365 days
// of the year of rows legs, at All and at one value.
func (b *bench) historyDashboards(ctx context.Context, t *table, rows uint64) error {
	for _, span := range []struct {
		days   int
		target time.Duration
	}{{14, 300 * time.Millisecond}, {365, time.Second}} {
		from := b.end.AddDate(0, 0, -span.days)
		atAll, err := b.timeDashboards(ctx, "bench_history", from, b.end, true)
		if err != nil {
			return err
		}
		atOne, err := b.timeDashboards(ctx, "bench_history", from, b.end, false)
		if err != nil {
			return err
		}
		for i := range atAll {
			a, o := atAll[i], atOne[i]
			t.add(row{what: fmt.Sprintf("History: dashboard %q over the last %d days of the year (%s legs): slowest panel or variable query, median of %d runs, on ClickHouse %s",
				a.title, span.days, thousands(float64(rows)), panelRuns, t.machine.clickhouse),
				measured: fmt.Sprintf("variables at All: %.0f ms (%q); at one value: %.0f ms (%q)",
					ms(a.slowest.took), a.slowest.title, ms(o.slowest.took), o.slowest.title),
				target: fmt.Sprintf("< %.0f ms", ms(span.target)), met: max(a.slowest.took, o.slowest.took) < span.target})
		}
	}
	return nil
}
