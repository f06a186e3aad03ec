package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"
)

// budget backfills against a simulator limited to 20 requests/s with
// 300 ms added to every response, the job's own limit at 20/s: how much of
// the budget the job uses, and how often it overshoots (429).
func (b *bench) budget(ctx context.Context, t *table) error {
	const rate = 20
	// About 38,000 legs over 14 days: some 1,550 pages of 25, 75-80 s.
	c := simConfig{start: b.end.AddDate(0, 0, -14), end: b.end, callsPerDay: 400, rateLimit: rate, latency: 300 * time.Millisecond}
	sim, err := b.startSimulator(ctx, c)
	if err != nil {
		return err
	}
	defer sim.stop()
	log.Printf("budget: backfilling %s legs at %d requests/s, 300 ms latency", thousands(float64(sim.legs)), rate)
	r, err := b.backfill(ctx, sim, c, "bench_budget", fmt.Sprintf("DIALPAD_RATE_LIMIT=%d", rate))
	if err != nil {
		return err
	}
	perSec := float64(r.runs.requests) / r.span.Seconds()
	share := perSec / rate
	limited := float64(r.runs.rateLimited) / float64(max(r.runs.requests, 1))
	t.add(row{what: "Budget use: backfill of 14 days (42 windows of 3 targets, pages of 25), simulator and job both at 20 requests/s, +300 ms per response, ETL_CONCURRENCY=8",
		measured: fmt.Sprintf("%.1f requests/s = %.1f%% of the budget: %s requests in the %.1f s from the first window's start to the last's end (%.1f s for the whole process, %.1f requests/s)",
			perSec, 100*share, thousands(float64(r.runs.requests)), r.span.Seconds(), r.wall.Seconds(), float64(r.runs.requests)/r.wall.Seconds()),
		target: "≥ 90% of the budget", met: share >= 0.90})
	t.add(row{what: "Budget use: share of requests answered 429 (same run)",
		measured: fmt.Sprintf("%.2f%% (%d of %s; %d retries)", 100*limited, r.runs.rateLimited, thousands(float64(r.runs.requests)), r.runs.retries),
		target:   "≤ 1%", met: limited <= 0.01})
	// A load with few windows or few pages each must keep the budget busy
	// too: slicing, not the number of windows, is what fills it.
	return errors.Join(b.hourlyBudget(ctx, t, rate), b.shortBudget(ctx, t, rate))
}

// hourlyBudget is the budget use of the hourly "run" of one busy
// department: 24 hours, two windows split at UTC midnight, one target.
func (b *bench) hourlyBudget(ctx context.Context, t *table, rate float64) error {
	// The simulator lists calls that ended by the end of its range.
	end := time.Now().UTC().Truncate(time.Minute)
	c := simConfig{start: end.AddDate(0, 0, -2), end: end, callsPerDay: 1500, rateLimit: rate, latency: 300 * time.Millisecond}
	sim, err := b.startSimulator(ctx, c)
	if err != nil {
		return err
	}
	defer sim.stop()
	target, err := departments(sim.targets, 1)
	if err != nil {
		return err
	}
	log.Printf("budget: hourly run of %s at %.0f requests/s, 300 ms latency", target, rate)
	r, err := b.job(ctx, sim, "bench_budget_hourly", []string{"run"}, "DIALPAD_TARGETS="+target,
		fmt.Sprintf("DIALPAD_RATE_LIMIT=%g", rate), "ETL_START="+end.Add(-24*time.Hour).Format(time.RFC3339))
	if err != nil {
		return err
	}
	t.add(budgetRow("Budget use: hourly run of one busy department (dialpad-etl run, first load: the last 24 hours, 2 windows of 1 target, pages of 25), simulator and job both at 20 requests/s, +300 ms per response, ETL_CONCURRENCY=8", r, rate))
	return nil
}

// shortBudget is the budget use of a backfill whose windows hold a few
// pages each: 11 days of two small departments.
func (b *bench) shortBudget(ctx context.Context, t *table, rate float64) error {
	// Some 130-175 legs a day per department (fewer on weekends): 5-7
	// pages a window.
	c := simConfig{start: b.end.AddDate(0, 0, -11), end: b.end, callsPerDay: 80, rateLimit: rate, latency: 300 * time.Millisecond}
	sim, err := b.startSimulator(ctx, c)
	if err != nil {
		return err
	}
	defer sim.stop()
	targets, err := departments(sim.targets, 2)
	if err != nil {
		return err
	}
	log.Printf("budget: backfilling 11 days of %s at %.0f requests/s, 300 ms latency", targets, rate)
	r, err := b.backfill(ctx, sim, c, "bench_budget_short", "DIALPAD_TARGETS="+targets, fmt.Sprintf("DIALPAD_RATE_LIMIT=%g", rate))
	if err != nil {
		return err
	}
	t.add(budgetRow("Budget use: short backfill of 11 days of two small departments (22 windows of 2 targets, pages of 25), simulator and job both at 20 requests/s, +300 ms per response, ETL_CONCURRENCY=8", r, rate))
	return nil
}
