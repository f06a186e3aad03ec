package main

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
)

// exportDelay is how long the simulator keeps each records export
// processing: Dialpad's take tens of seconds to a few minutes.
const exportDelay = 30 * time.Second

// listRate is Dialpad's limit of requests a second for a whole company,
// at which a load from the call list would really run.
const listRate = 20

// export loads a year of the simulated company's busiest target twice,
// each into a fresh database: from Dialpad's records export (backfill
// --via export: an export of up to 31 days a request, each processing
// exportDelay in the simulator) and from the call list (--via list, the
// default pages of 25, without a rate limit: a year at 20 requests/s
// would take hours). For each: the requests the simulator served, the
// process's wall time, legs/s and peak RSS. The simulator runs in this
// process, so that its own count of requests is read; its traffic ends
// at the start of today (UTC), so the job (on the real clock, in UTC)
// and it agree that the year is whole days before today.
func (b *bench) export(ctx context.Context, t *table) error {
	const days = 365
	start, end := b.end.AddDate(0, 0, -days), b.end
	target, perDay, err := busiestTarget(end, b.opt.exportLegs, days)
	if err != nil {
		return err
	}
	log.Printf("export: simulating a year of %s (--calls-per-day %d), exports processing %s", target, perDay, exportDelay)
	sim, err := simulator.New(simulator.Config{Seed: 1, Start: start, End: end, CallsPerDay: perDay, RateLimit: -1,
		ExportDelay: exportDelay, Now: func() time.Time { return end }})
	if err != nil {
		return err
	}
	truth := 0 // a month at a time: a year of legs' JSON is large
	for m := start; m.Before(end); m = m.AddDate(0, 1, 0) {
		next := m.AddDate(0, 1, 0)
		if next.After(end) {
			next = end
		}
		truth += len(sim.Legs(target, m, next))
	}
	api := httptest.NewServer(sim)
	defer api.Close()
	sp := &simProcess{url: api.URL, targets: target.String(), legs: truth}

	type measured struct {
		via               string
		run               *loadRun
		requests, exports int64 // served by the simulator: every request, and the exports asked for
		downloads         int64
	}
	var got []measured
	for _, via := range []string{"export", "list"} {
		database := "bench_export_" + via
		log.Printf("export: backfilling %s legs of %s by %s", thousands(float64(truth)), target, via)
		before := sim.Stats()
		r, err := b.job(ctx, sp, database, []string{"backfill", "--via", via, "--target", target.String(),
			"--from", start.Format(time.DateOnly), "--to", end.AddDate(0, 0, -1).Format(time.DateOnly)},
			"ETL_START="+start.Format(time.RFC3339), "DIALPAD_RATE_LIMIT=1000000")
		if err != nil {
			return err
		}
		after := sim.Stats()
		m := measured{via: via, run: r, exports: after.Exports - before.Exports, downloads: after.ExportDownloads - before.ExportDownloads}
		// The signed downloads are not under /api/v2/, so not in Requests.
		m.requests = after.Requests - before.Requests + m.downloads
		if r.runs.rows != uint64(truth) {
			t.notes = append(t.notes, fmt.Sprintf("error: export: the backfill by %s holds %d legs of %s, the simulator has %d", via, r.runs.rows, target, truth))
		}
		got = append(got, m)
	}
	ex, li := got[0], got[1]
	t.add(row{what: fmt.Sprintf("Export: backfill of a year (%s to %s) of the busiest simulated target (%s, %s legs) by the records export (--via export, ETL_CONCURRENCY=8 exports at once, each processing %s in the simulator)",
		start.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly), target, thousands(float64(truth)), exportDelay),
		measured: fmt.Sprintf("%s requests to the simulator (%d exports asked for, their polls, %d CSVs downloaded); %.0f s wall time (%.0f s from the first export's start to the last's end), %s legs/s; peak RSS %.0f MB",
			thousands(float64(ex.requests)), ex.exports, ex.downloads, ex.run.wall.Seconds(), ex.run.span.Seconds(),
			thousands(float64(ex.run.runs.rows)/ex.run.wall.Seconds()), mb(ex.run.maxRSS)),
		noTarget: true})
	atRate := time.Duration(float64(li.requests) / listRate * float64(time.Second))
	t.add(row{what: "Export: the same year by the call list (--via list, pages of 25), without a rate limit: Dialpad allows 20 requests/s for the whole company, so the time at 20/s is requests / 20, computed, not measured",
		measured: fmt.Sprintf("%s requests to the simulator; %.0f s wall time unlimited, %s legs/s (at 20 requests/s: %s s = %.1f h, %s legs/s); peak RSS %.0f MB",
			thousands(float64(li.requests)), li.run.wall.Seconds(), thousands(float64(li.run.runs.rows)/li.run.wall.Seconds()),
			thousands(atRate.Seconds()), atRate.Hours(), thousands(float64(li.run.runs.rows)/atRate.Seconds()), mb(li.run.maxRSS)),
		noTarget: true})
	return nil
}

// busiestTarget is the simulated company's target with the most legs, and
// the simulator's calls a day that give it about legs legs over days
// days up to end: found from a simulation of the 28 days before end at a
// known rate, since a target's legs grow in proportion.
func busiestTarget(end time.Time, legs, days int) (dialpad.Target, int, error) {
	const probe, probeDays = 200, 28
	start := end.AddDate(0, 0, -probeDays)
	sim, err := simulator.New(simulator.Config{Seed: 1, Start: start, End: end, CallsPerDay: probe, RateLimit: -1,
		Now: func() time.Time { return end }})
	if err != nil {
		return dialpad.Target{}, 0, err
	}
	var busiest dialpad.Target
	most := 0
	for _, tg := range sim.Targets() {
		if n := len(sim.Legs(tg, start, end)); n > most {
			busiest, most = tg, n
		}
	}
	if most == 0 {
		return busiest, 0, fmt.Errorf("export: the simulated company has no legs in the %d days before %s", probeDays, end.Format(time.DateOnly))
	}
	perDay := float64(probe) * float64(legs) / float64(days) / (float64(most) / probeDays)
	return busiest, max(1, int(perDay+0.5)), nil
}
